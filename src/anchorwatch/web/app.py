"""Build the FastAPI app over one store."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from anchorwatch import __version__
from anchorwatch.care.vault import Vault, VaultError
from anchorwatch.store import Store, open_store
from anchorwatch.web.settings import WebSettings


def create_app(
    store: Store | str | None = None,
    *,
    settings: WebSettings | None = None,
    vault: Vault | None = None,
) -> FastAPI:
    """The web app and the JSON API over ``store`` (a Store or a URL; default
    the ``ANCHORWATCH_DB`` store).

    The venting vault comes from ``vault`` or the settings' key file; without
    one the venting routes answer 503 and nothing is written.
    """
    from anchorwatch.web.pages import LoginRequired, PageForbidden, page_locale
    from anchorwatch.web.routes import (
        api_awards,
        api_care_pages,
        api_episodes,
        api_import,
        api_members,
        api_overview,
        auth,
        care,
        me,
        vent,
    )
    from anchorwatch.web.templating import render

    settings = settings or WebSettings.from_env(store if isinstance(store, str) else None)
    app = FastAPI(
        title="anchorwatch",
        version=__version__,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store if isinstance(store, Store) else open_store(settings.db)
    app.state.vault = vault
    from anchorwatch.web.cache import ViewCache

    app.state.views = ViewCache(app.state.store)
    app.state.vault_error = None
    if vault is None:
        try:
            app.state.vault = (
                Vault.load(Path(settings.key_file)) if settings.key_file else Vault.from_env({})
            )
        except VaultError as exc:
            app.state.vault_error = exc
    static = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={exc.next_path}", status_code=303)

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, exc: PageForbidden) -> HTMLResponse:
        html = render("forbidden.html", page_locale(request))
        return HTMLResponse(html, status_code=403)

    app.include_router(auth.router)
    app.include_router(me.router)
    app.include_router(care.router)
    app.include_router(api_care_pages.router)
    app.include_router(api_awards.router)
    app.include_router(vent.router)
    app.include_router(api_overview.router)
    app.include_router(api_members.router)
    app.include_router(api_episodes.router)
    app.include_router(api_import.router)
    for router in _page_routers():
        app.include_router(router)
    return app


def _page_routers() -> list[APIRouter]:
    """The HTML pages, one module per resource under ``web/routes/pages``."""
    import importlib
    import pkgutil

    from anchorwatch.web.routes import pages

    found: list[APIRouter] = []
    for info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{pages.__name__}.{info.name}")
        found.append(module.router)
    return found
