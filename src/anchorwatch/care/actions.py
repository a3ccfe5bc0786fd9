"""The kinds of care action the brand logs (DESIGN 1.4)."""

from __future__ import annotations

#: ``thanks``: a 1:1 thank-you sent; ``call``: a 1:1 call or chat; ``rest``: a
#: rest suggested; ``rotate``: duties rotated to others; ``award``: an award
#: given; ``gift``: a reward or gift sent; ``other``: anything else.
CARE_ACTIONS = ("thanks", "call", "rest", "rotate", "award", "gift", "other")
