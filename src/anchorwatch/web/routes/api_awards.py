"""``/api/v1/awards``: the year's nominations as JSON (what ``/awards`` shows
and ``anchorwatch awards --json`` prints), and giving an award.

Admins, operators and care users only (like the page).  Burnout risk, its
level and the reasons of the reward suggestions are for care roles: others
get the nominations without them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from anchorwatch.care.awards import awards_config
from anchorwatch.engines.awards import latest_year
from anchorwatch.store.users import CARE_ROLES, User
from anchorwatch.web.care_views import (
    MAX_NOTE,
    Refused,
    award_report_for,
    find_nomination,
    give_award,
    report_dict,
)
from anchorwatch.web.deps import require_roles
from anchorwatch.web.queries_care import given_awards, message_years
from anchorwatch.web.views import views_of

AWARD_ROLES = ("admin", "operator", "care")
AwardsUserDep = Annotated[User, Depends(require_roles(*AWARD_ROLES))]

router = APIRouter(prefix="/api/v1", tags=["awards"])


@router.get("/awards")
def awards(
    request: Request,
    user: AwardsUserDep,
    year: int | None = None,
    category: str | None = None,
    locale: Annotated[str, Query(pattern="^(zh-CN|en)$")] = "zh-CN",
) -> dict[str, Any]:
    """``version``, ``rewards_version``, ``year``, ``nominations`` (each with
    its dossier, rewards and citation), ``elsewhere``, ``excluded`` and
    ``given`` (the awards of the year already in the care log).  ``year``
    defaults to the latest year with messages."""
    views = views_of(request)
    chosen = year if year is not None else latest_year(views.frames())
    if chosen is None or chosen not in message_years(views.store):
        raise HTTPException(404, detail="error.no_period")
    if category is not None and category not in awards_config().keys:
        raise HTTPException(
            422, detail=f"category must be one of {', '.join(awards_config().keys)}"
        )
    data = report_dict(award_report_for(views, chosen, locale), with_risk=user.role in CARE_ROLES)
    if category is not None:
        data["nominations"] = [n for n in data["nominations"] if n["category"] == category]
        data["elsewhere"] = [e for e in data["elsewhere"] if e["category"] == category]
    data["given"] = [g.as_dict() for g in given_awards(views.store, chosen)]
    return data


class Award(BaseModel):
    citation: str = Field(min_length=1, max_length=MAX_NOTE)
    reward: str | None = None


@router.post("/awards/{year}/{category}/{member}", status_code=201)
def give(
    year: int, category: str, member: str, body: Award, request: Request, user: AwardsUserDep
) -> dict[str, int]:
    """Give ``member`` the award of ``category`` in ``year`` with this
    citation (and reward): logged in the care log as an ``award`` action
    with the dossier's episodes as evidence.  404 when the member is not a
    nominee of that category (any more)."""
    views = views_of(request)
    if year not in message_years(views.store):
        raise HTTPException(404, detail="error.no_period")
    found = find_nomination(award_report_for(views, year, "zh-CN"), category, member)
    if found is None:
        raise HTTPException(404, detail="not a nominee of this category")
    try:
        cid = give_award(views.store, user.name, found, body.citation, body.reward)
    except Refused as exc:
        raise HTTPException(422, detail=exc.code) from None
    views.cache.clear()
    return {"id": cid}
