"""What every HTML page shares: the signed-in user, the locale, the CSRF
token, role checks and rendering with the app layout.

Pages use the browser session (``web.security``); the JSON API uses bearer
tokens (``web.deps``).  Roles are checked here, in dependencies, never inside
a handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from anchorwatch.store.users import CARE_ROLES, User
from anchorwatch.web.deps import StoreDep
from anchorwatch.web.security import csrf_ok, session_of
from anchorwatch.web.templating import render

LANG_COOKIE = "aw_lang"

#: Navigation: (path, i18n key, roles allowed; empty = every signed-in user).
NAV: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/", "web.nav.overview", ()),
    ("/anchors", "web.nav.anchors", ()),
    ("/watchlist", "web.nav.watchlist", CARE_ROLES),
    ("/care", "web.nav.care", CARE_ROLES),
    ("/awards", "web.nav.awards", ("admin", "operator", "care")),
    ("/import", "web.nav.import", ("admin", "operator")),
    ("/settings", "web.nav.settings", ("admin",)),
    ("/audit", "web.nav.audit", ("admin",)),
)


class LoginRequired(Exception):
    """No live session: the app answers with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageForbidden(Exception):
    """The signed-in user's role may not open this page (403)."""


def page_locale(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return "en" if lang == "en" else "zh-CN"


@dataclass(frozen=True)
class Page:
    """The request's signed-in user, locale and CSRF token."""

    user: User
    locale: str
    csrf: str
    request: Request

    def t(self, key: str, **params: Any) -> str:
        from anchorwatch.i18n import t

        return t(key, self.locale, **params)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        nav = [(p, k) for p, k, roles in NAV if not roles or self.user.role in roles]
        html = render(
            template,
            self.locale,
            user=self.user,
            csrf=self.csrf,
            nav=nav,
            path=self.request.url.path,
            **context,
        )
        return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)

    def render_cached(
        self, template: str, key: str, context: Callable[[], dict[str, Any]]
    ) -> HTMLResponse:
        """Like :meth:`render`, with the page's ``title`` and ``main`` blocks
        rendered once per state of the store and ``key`` (which must name
        everything the blocks depend on: locale, role visibility, query) and
        wrapped in the layout per request.  The blocks must not use the
        user, the CSRF token or anything else of the request."""
        from markupsafe import Markup

        from anchorwatch.web.templating import render_blocks

        cache = self.request.app.state.views
        title, main = cache.get(
            f"html:{self.locale}:{key}",
            lambda: render_blocks(template, self.locale, **context()),
            bounded=True,
        )
        return self.render("_app.html", cached_title=Markup(title), cached_main=Markup(main))

    async def form(self) -> dict[str, Any]:
        """The posted form, after checking its CSRF token (403 otherwise)."""
        data = dict(await self.request.form())
        if not csrf_ok(self.csrf, str(data.get("csrf") or "")):
            raise PageForbidden()
        return data

    def check_csrf_header(self) -> None:
        if not csrf_ok(self.csrf, self.request.headers.get("x-csrf-token")):
            raise PageForbidden()


#: Every page: no caching of personal data, no framing, no sniffing, and a
#: content security policy that allows only the app's own scripts and styles.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
}


def current_page(request: Request, store: StoreDep) -> Page:
    found = session_of(store, request)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(target, safe="/?=&"))
    user, csrf = found
    return Page(user, page_locale(request), csrf, request)


PageDep = Annotated[Page, Depends(current_page)]


def page_roles(*roles: str) -> Callable[[Page], Page]:
    """A page dependency admitting only ``roles``."""

    def check(page: PageDep) -> Page:
        if page.user.role not in roles:
            raise PageForbidden()
        return page

    return check


CarePageDep = Annotated[Page, Depends(page_roles(*CARE_ROLES))]
