"""``/care/thanks/{member}``: the thank-you composer (care roles only).

Shows the draft of a period in the chosen tone and language (query
parameters ``period``, ``tone``, ``language``), the episodes it names, and
a text box holding it.  The care user edits it, sends it through whatever
channel they use with the member, and logs what was sent: ``POST`` records
the edited text as a ``thanks`` care action with the draft's episodes and
messages as evidence (recomputed here, never taken from the form).  A
second form logs the other care actions (a call, a rest, a rotation, a
gift).  Every write is audited (``log_care``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from anchorwatch.store.care import care_history
from anchorwatch.web.care_views import (
    MAX_NOTE,
    OTHER_ACTIONS,
    Composer,
    Refused,
    composer,
    log_other,
    log_thanks,
    text_of,
)
from anchorwatch.web.pages import CarePageDep, Page
from anchorwatch.web.queries_care import member_name
from anchorwatch.web.views import views_of

router = APIRouter(include_in_schema=False)


def _query(view: Composer, **more: Any) -> str:
    params = {"period": view.period or "", "tone": view.tone, "language": view.language, **more}
    return urlencode({k: v for k, v in params.items() if v})


def _here(view: Composer, **more: Any) -> str:
    return f"/care/thanks/{quote(view.member, safe='')}?{_query(view, **more)}"


def _render(
    page: Page,
    view: Composer,
    *,
    text: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    store = views_of(page.request).store
    logged = page.request.query_params.get("logged")
    history = list(reversed(care_history(store, view.member)))
    return page.render(
        "pages/care_thanks.html",
        status_code=status_code,
        view=view,
        text=text if text is not None else (view.draft.text if view.draft else ""),
        error=error,
        logged=logged if logged and logged.isdigit() else None,
        history=history,
        actions=OTHER_ACTIONS,
        max_chars=MAX_NOTE,
        link=lambda **more: _here(view, **more),
    )


def _composer(page: Page, member: str, source: dict[str, Any]) -> Composer | None:
    store = views_of(page.request).store
    name = member_name(store, member)
    if name is None:
        return None
    return composer(
        store,
        member,
        name,
        period=str(source.get("period") or "") or None,
        tone=str(source.get("tone") or "") or None,
        language=str(source.get("language") or "") or None,
    )


@router.get("/care/thanks/{member}", response_class=HTMLResponse)
def thanks_page(member: str, page: CarePageDep) -> HTMLResponse:
    view = _composer(page, member, dict(page.request.query_params))
    if view is None:
        return page.render("pages/not_found.html", status_code=404)
    return _render(page, view)


@router.post("/care/thanks/{member}", response_model=None)
async def log_sent_thanks(member: str, page: CarePageDep) -> Response:
    form = await page.form()
    view = _composer(page, member, form)
    if view is None:
        return page.render("pages/not_found.html", status_code=404)
    text = text_of(form, "text")
    if view.draft is None:
        return _render(page, view, text=text, status_code=409)
    try:
        cid = log_thanks(views_of(page.request).store, page.user.name, view.draft, text)
    except Refused as exc:
        return _render(page, view, text=text, error=exc.text(page.locale), status_code=400)
    views_of(page.request).cache.clear()  # recognition lowers the risk: recompute
    return RedirectResponse(_here(view, logged=cid) + "#history", status_code=303)


@router.post("/care/log/{member}", response_model=None)
async def log_other_care(member: str, page: CarePageDep) -> Response:
    form = await page.form()
    view = _composer(page, member, form)
    if view is None:
        return page.render("pages/not_found.html", status_code=404)
    try:
        cid = log_other(
            views_of(page.request).store,
            page.user.name,
            member,
            str(form.get("action") or ""),
            text_of(form, "note"),
        )
    except Refused as exc:
        return _render(page, view, error=exc.text(page.locale), status_code=400)
    views_of(page.request).cache.clear()
    return RedirectResponse(_here(view, logged=cid) + "#history", status_code=303)
