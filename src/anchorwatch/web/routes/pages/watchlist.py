"""``/watchlist``: watched members at medium or high burnout risk, with their
drivers and suggested care action (care roles only; every view audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from anchorwatch.members.burnout import drivers_of
from anchorwatch.store.audit import audit
from anchorwatch.web.pages import CarePageDep
from anchorwatch.web.views import views_of

router = APIRouter(include_in_schema=False)


@router.get("/watchlist", response_class=HTMLResponse)
def watchlist_page(page: CarePageDep) -> HTMLResponse:
    views = views_of(page.request)
    risk, evidence = views.watchlist()
    audit(views.store, page.user.name, "view_watchlist", None, {"members": risk.height})

    def context() -> dict[str, Any]:
        names = views.frames().names
        rows = [
            {
                "member": row["member"],
                "name": names.get(row["member"], row["member"]),
                "risk": int(row["burnout_risk"]),
                "level": row["level"],
                "dimension": row["dimension"],
                "care_action": row["care_action"],
                "drivers": drivers_of(row, evidence.get(row["member"], {}))[:3],
            }
            for row in (risk.iter_rows(named=True) if risk.height else [])
        ]
        return {"rows": rows}

    return page.render_cached("pages/watchlist.html", "watchlist", context)
