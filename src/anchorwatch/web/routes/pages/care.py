"""``/care``: the care inbox (care roles only): the members who need care now,
with the suggested action and what drives their risk; the venting channels
assigned to the signed-in user and what awaits a reply; the latest care
actions.  Showing the risk is audited (``view_watchlist``)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from anchorwatch.store import utc_now
from anchorwatch.store.audit import audit
from anchorwatch.store.venting import care_channels
from anchorwatch.web.care_views import watch_rows
from anchorwatch.web.pages import CarePageDep
from anchorwatch.web.queries_care import (
    care_count_since,
    channel_states,
    member_names,
    recent_care,
)
from anchorwatch.web.views import views_of

router = APIRouter(include_in_schema=False)

#: How many care actions the inbox lists, and the window of its count.
RECENT_CARE = 15
CARE_WINDOW_DAYS = 30


@router.get("/care", response_class=HTMLResponse)
def care_inbox(page: CarePageDep) -> HTMLResponse:
    views = views_of(page.request)
    store = views.store
    watch = watch_rows(views)
    audit(store, page.user.name, "view_watchlist", None, {"page": "/care", "members": len(watch)})
    channels = channel_states(store, care_channels(store, page.user))
    recent = recent_care(store, RECENT_CARE)
    since = utc_now() - timedelta(days=CARE_WINDOW_DAYS)
    return page.render(
        "pages/care.html",
        watch=watch,
        channels=channels,
        recent=recent,
        names=member_names(store, [a.member for a in recent]),
        awaiting=sum(c.awaiting for c in channels if c.status == "open"),
        cared=care_count_since(store, since),
        window=CARE_WINDOW_DAYS,
        vault_ready=page.request.app.state.vault is not None,
    )
