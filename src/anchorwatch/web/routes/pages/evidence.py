"""``/episodes/{id}`` and ``/messages/{id}``: the evidence behind every number,
opened down to the messages in their conversation with the spans that
triggered each act or label marked (every role)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from anchorwatch.web.pages import PageDep
from anchorwatch.web.queries import episode_detail, message_in_context
from anchorwatch.web.views import views_of

router = APIRouter(include_in_schema=False)


@router.get("/episodes/{episode}", response_class=HTMLResponse)
def episode_page(episode: str, page: PageDep) -> HTMLResponse:
    found = episode_detail(views_of(page.request).store, episode)
    if found is None:
        return page.render("pages/not_found.html", status_code=404)
    return page.render("pages/episode.html", ep=found)


@router.get("/messages/{message}", response_class=HTMLResponse)
def message_page(message: str, page: PageDep) -> HTMLResponse:
    found = message_in_context(views_of(page.request).store, message)
    if found is None:
        return page.render("pages/not_found.html", status_code=404)
    return page.render("pages/message.html", ctx=found, focus=message)
