"""Signing in and out, and the language switch."""

from __future__ import annotations

import secrets
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from anchorwatch.store.audit import audit
from anchorwatch.store.users import authenticate
from anchorwatch.web.deps import StoreDep
from anchorwatch.web.pages import LANG_COOKIE, SECURITY_HEADERS, PageDep, page_locale
from anchorwatch.web.security import csrf_ok, end_session, is_https, start_session
from anchorwatch.web.templating import render

router = APIRouter(tags=["auth"], include_in_schema=False)

LOGIN_CSRF = "aw_login_csrf"


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no open redirect)."""
    path = unquote(target or "/")
    return path if path.startswith("/") and not path.startswith("//") else "/"


@router.get("/login", response_model=None)
def login_form(request: Request, next: str | None = None, failed: bool = False) -> Response:
    token = secrets.token_urlsafe(24)
    html = render(
        "login.html",
        page_locale(request),
        csrf=token,
        next=_safe_next(next),
        failed=failed,
    )
    response = HTMLResponse(html, headers=SECURITY_HEADERS)
    response.set_cookie(
        LOGIN_CSRF, token, httponly=True, samesite="strict", secure=is_https(request)
    )
    return response


@router.post("/login", response_model=None)
async def login(request: Request, store: StoreDep) -> Response:
    form = dict(await request.form())
    target = _safe_next(str(form.get("next") or "/"))
    if not csrf_ok(request.cookies.get(LOGIN_CSRF, ""), str(form.get("csrf") or "")):
        return RedirectResponse("/login?failed=1", status_code=303)
    user = authenticate(store, str(form.get("name") or ""), str(form.get("password") or ""))
    if user is None:
        return RedirectResponse(f"/login?failed=1&next={target}", status_code=303)
    response = RedirectResponse(target, status_code=303)
    start_session(store, user, response, request)
    response.delete_cookie(LOGIN_CSRF)
    audit(store, user.name, "login")
    return response


@router.post("/logout", response_model=None)
async def logout(page: PageDep, store: StoreDep) -> Response:
    await page.form()
    response = RedirectResponse("/login", status_code=303)
    end_session(store, page.request, response)
    return response


@router.get("/lang", response_model=None)
def switch_language(to: str = "zh-CN", next: str | None = None) -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, "en" if to == "en" else "zh-CN", samesite="lax")
    return response
