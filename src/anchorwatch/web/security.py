"""Browser sessions and CSRF protection.

A session cookie holds 256 random bits; the database keeps only their
SHA-256, the user, a per-session CSRF token and the expiry.  The cookie is
HttpOnly and SameSite=Lax, and Secure whenever the request came over HTTPS
(directly or through a proxy that says so), so an intranet served over plain
HTTP still works while an HTTPS deployment never leaks it.  Every form carries
the CSRF token in a hidden ``csrf`` field (scripts send ``X-CSRF-Token``);
a POST without the session's token is refused with 403.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from fastapi import Request, Response
from sqlalchemy import delete, insert, select

from anchorwatch.store import Store, schema, utc_now
from anchorwatch.store.users import User, token_hash

COOKIE = "aw_session"
SESSION_HOURS = 12


def start_session(store: Store, user: User, response: Response, request: Request) -> str:
    """Open a session for ``user`` and set its cookie; returns the CSRF token."""
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utc_now()
    with store.engine.begin() as conn:
        conn.execute(delete(schema.web_sessions).where(schema.web_sessions.c.expires_at < now))
        conn.execute(
            insert(schema.web_sessions).values(
                id_hash=token_hash(sid),
                user_id=user.id,
                csrf=csrf,
                created_at=now,
                expires_at=now + timedelta(hours=SESSION_HOURS),
            )
        )
    response.set_cookie(
        COOKIE,
        sid,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )
    return csrf


def is_https(request: Request) -> bool:
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto.split(",")[0].strip().lower() == "https"


def session_of(store: Store, request: Request) -> tuple[User, str] | None:
    """``(user, csrf)`` of the request's live session, else ``None``."""
    sid = request.cookies.get(COOKIE)
    if not sid:
        return None
    s, u = schema.web_sessions, schema.users
    with store.engine.connect() as conn:
        row = conn.execute(
            select(u.c.id, u.c.name, u.c.role, u.c.disabled, s.c.csrf, s.c.expires_at)
            .join(s, s.c.user_id == u.c.id)
            .where(s.c.id_hash == token_hash(sid))
        ).first()
    if row is None or row.disabled or row.expires_at <= utc_now():
        return None
    return User(row.id, row.name, row.role), row.csrf


def end_session(store: Store, request: Request, response: Response) -> None:
    sid = request.cookies.get(COOKIE)
    if sid:
        with store.engine.begin() as conn:
            conn.execute(
                delete(schema.web_sessions).where(schema.web_sessions.c.id_hash == token_hash(sid))
            )
    response.delete_cookie(COOKIE, path="/")


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected, given or "")
