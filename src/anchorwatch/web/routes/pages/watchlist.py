"""``/watchlist``: watched members at medium or high burnout risk, with their
drivers and suggested care action (care roles only; every view audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from anchorwatch.members.burnout import watchlist_records
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
        return {"rows": watchlist_records(risk, evidence, views.frames().names, 3)}

    return page.render_cached("pages/watchlist.html", "watchlist", context)
