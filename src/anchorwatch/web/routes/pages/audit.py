"""``/audit``: the audit log — who viewed a member's risk or venting
messages, logged care, signed in, changed settings or erased a member (admins
only).  Names and times, never the data itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from anchorwatch.store.audit import audit_entries
from anchorwatch.web.pages import Page, page_roles
from anchorwatch.web.views import views_of

router = APIRouter(include_in_schema=False)

AdminPage = Annotated[Page, Depends(page_roles("admin"))]


@router.get("/audit", response_class=HTMLResponse)
def audit_page(page: AdminPage) -> HTMLResponse:
    member = page.request.query_params.get("member") or None
    entries = audit_entries(views_of(page.request).store, member, limit=500)
    return page.render("pages/audit.html", entries=entries, member=member)
