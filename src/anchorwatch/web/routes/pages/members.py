"""``/members/{id}``: one member's ledger, value, burnout risk and drivers
(care roles only, audited) and the evidence timeline."""

from __future__ import annotations

from typing import Any

import polars as pl
from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from anchorwatch.members.ledger import SUMMARY_COLUMNS
from anchorwatch.members.value import members_config
from anchorwatch.store.audit import audit
from anchorwatch.store.users import CARE_ROLES
from anchorwatch.web.pages import PageDep
from anchorwatch.web.queries import member_profile, member_timeline
from anchorwatch.web.views import views_of

router = APIRouter(include_in_schema=False)


@router.get("/members/{member}", response_class=HTMLResponse)
def member_page(member: str, page: PageDep) -> HTMLResponse:
    views = views_of(page.request)
    profile = member_profile(views.store, member)
    if profile is None:
        return page.render("pages/not_found.html", status_code=404)
    care = page.user.role in CARE_ROLES
    admin = page.user.role == "admin"
    asked = page.request.query_params.get("period")
    table = views.members("month")
    mine = table.rows.filter(pl.col("member") == member).sort("period")
    periods = mine["period"].to_list()
    period = asked if asked in periods else None
    if period is None:
        active = mine.filter((pl.col("messages") > 0) | (pl.col("episodes_served") > 0))
        period = (active["period"].to_list() or periods or [None])[-1]
    if care and period is not None:
        # Every view of a member's risk is audited, cached page or not.
        audit(views.store, page.user.name, "view_risk", member, {"period": period})

    def context() -> dict[str, Any]:
        row = mine.filter(pl.col("period") == period).row(0, named=True) if period else None
        cfg = members_config()
        parts = (
            [
                (col, row.get(f"value_{col}") or 0.0)
                for col in cfg.value_weights
                if (row.get(f"value_{col}") or 0.0) > 0
            ]
            if row
            else []
        )
        drivers: list[dict[str, Any]] = []
        if care and row is not None and period is not None:
            # A profile shows the evidence of whoever is opened, at risk or not.
            drivers = table.drivers(member, period, complete=True)
        frames = views.frames()
        return {
            "profile": profile,
            "period": period,
            "periods": periods[::-1],
            "row": row,
            "ledger_keys": SUMMARY_COLUMNS,
            "parts": sorted(parts, key=lambda p: -p[1]),
            "care": care,
            "admin": admin,
            "drivers": drivers,
            "findings": frames.findings.filter(pl.col("member") == member).to_dicts(),
            "timeline": member_timeline(views.store, member),
        }

    return page.render_cached(
        "pages/member.html", f"member:{member}:{period}:{care}:{admin}", context
    )
