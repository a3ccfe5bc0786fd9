"""Demo data: a year of a fictional car-owner community, with its ground truth.

``anchorwatch demo-data OUT.jsonl --messages N --seed S --truth PATH`` calls
:func:`generate_community`.  The community belongs to the fictional brand
澜舟汽车; its WeChat groups and app forum boards carry the emotional labour
anchorwatch is built to find, and the truth file says where it is.
"""

from anchorwatch.demo.community import DemoSummary, generate_community

__all__ = ["DemoSummary", "generate_community"]
