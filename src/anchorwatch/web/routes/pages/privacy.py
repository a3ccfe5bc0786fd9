"""A member's privacy operations in the web app (admins only, DESIGN 3.5):
``/members/{id}/export`` downloads everything held about the member (the copy
they may ask for), ``/members/{id}/erase`` erases them after a confirmation
step.  Both are written to the audit log by the store functions, naming who
and when — never the erased data."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from anchorwatch.store.erasure import ErasureError, erase_member, erasure_preview
from anchorwatch.store.member_export import export_member
from anchorwatch.web.pages import Page, page_roles
from anchorwatch.web.queries import member_profile
from anchorwatch.web.views import views_of

router = APIRouter(include_in_schema=False)

AdminPage = Annotated[Page, Depends(page_roles("admin"))]


@router.get("/members/{member}/export", response_model=None)
def export_page(member: str, page: AdminPage) -> Response:
    store = views_of(page.request).store
    try:
        doc = export_member(store, member, vault=page.request.app.state.vault, by=page.user.name)
    except ErasureError:
        return page.render("pages/not_found.html", status_code=404)
    return Response(
        orjson.dumps(doc, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="anchorwatch-member-{member}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/members/{member}/erase", response_class=HTMLResponse)
def erase_form(member: str, page: AdminPage) -> HTMLResponse:
    store = views_of(page.request).store
    profile = member_profile(store, member)
    if profile is None:
        return page.render("pages/not_found.html", status_code=404)
    return page.render("pages/erase.html", profile=profile, counts=erasure_preview(store, member))


@router.post("/members/{member}/erase", response_model=None)
async def erase(member: str, page: AdminPage) -> Response:
    form = await page.form()
    views = views_of(page.request)
    profile = member_profile(views.store, member)
    if profile is None:
        return page.render("pages/not_found.html", status_code=404)
    # The confirmation is the member's id typed again: a click alone must not
    # erase a person.
    if str(form.get("confirm") or "").strip() != member:
        return page.render(
            "pages/erase.html",
            profile=profile,
            counts=erasure_preview(views.store, member),
            mismatch=True,
            status_code=400,
        )
    try:
        report = erase_member(views.store, member, by=page.user.name)
    except ErasureError as exc:
        status = {"error.already_erased": 409, "error.erased_not_compacted": 503}.get(exc.code, 404)
        return page.render(
            "pages/erase_done.html", error=exc.code, params=exc.params, status_code=status
        )
    views.cache.clear()
    return RedirectResponse(f"/erased/{report.member.split(':', 1)[-1]}", status_code=303)


@router.get("/erased/{ref}", response_class=HTMLResponse)
def erased(ref: str, page: AdminPage) -> HTMLResponse:
    return page.render("pages/erase_done.html", ref=ref)
