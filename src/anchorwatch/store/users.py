"""Staff accounts and API tokens (DESIGN 3.4).

Passwords are kept as Argon2id hashes (``argon2-cffi``: salted, memory-hard,
the parameters inside the hash so they can be raised later); API tokens as
their SHA-256, so neither a password nor a usable token can be read back from
the database.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update

from anchorwatch.store import Store, schema, utc_now

ROLES = ("admin", "operator", "care", "analyst")
#: Roles that may see what DESIGN 3.4 puts under /api/v1/care/.
CARE_ROLES = ("admin", "care")

_HASHER = PasswordHasher()


class AccountError(ValueError):
    """A bad account operation; ``code`` is an i18n key."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    disabled: bool = False


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(store: Store, name: str, role: str, password: str | None = None) -> User:
    """Create an account; ``role`` is one of :data:`ROLES`."""
    if role not in ROLES:
        raise AccountError("error.bad_role", role=role, allowed=", ".join(ROLES))
    name = name.strip()
    if not name:
        raise AccountError("error.user_name")
    u = schema.users
    with store.engine.begin() as conn:
        if conn.execute(select(u.c.id).where(u.c.name == name)).first():
            raise AccountError("error.user_exists", name=name)
        uid = conn.execute(
            insert(u)
            .values(
                name=name,
                role=role,
                password_hash=hash_password(password) if password else None,
                created_at=utc_now(),
                disabled=False,
            )
            .returning(u.c.id)
        ).scalar_one()
    return User(int(uid), name, role)


def get_user(store: Store, name: str) -> User:
    u = schema.users
    with store.engine.connect() as conn:
        row = conn.execute(select(u).where(u.c.name == name)).first()
    if row is None:
        raise AccountError("error.no_user", name=name)
    return User(row.id, row.name, row.role, bool(row.disabled))


def list_users(store: Store) -> list[User]:
    u = schema.users
    with store.engine.connect() as conn:
        return [
            User(r.id, r.name, r.role, bool(r.disabled))
            for r in conn.execute(select(u).order_by(u.c.name))
        ]


def authenticate(store: Store, name: str, password: str) -> User | None:
    """The user when the password matches an enabled account, else ``None``."""
    u = schema.users
    with store.engine.connect() as conn:
        row = conn.execute(select(u).where(u.c.name == name)).first()
    if row is None or row.disabled or not check_password(password, row.password_hash):
        return None
    return User(row.id, row.name, row.role)


def create_token(store: Store, name: str) -> str:
    """A new API token for the account ``name``; only its hash is stored."""
    user = get_user(store, name)
    token = "aw_" + secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        conn.execute(
            insert(schema.api_tokens).values(
                user_id=user.id, token_hash=token_hash(token), created_at=utc_now()
            )
        )
    return token


def user_for_token(store: Store, token: str) -> User | None:
    """The enabled user a live token belongs to, else ``None``."""
    t, u = schema.api_tokens, schema.users
    with store.engine.begin() as conn:
        row = conn.execute(
            select(u.c.id, u.c.name, u.c.role, u.c.disabled, t.c.id.label("tid"))
            .join(t, t.c.user_id == u.c.id)
            .where(t.c.token_hash == token_hash(token), t.c.revoked_at.is_(None))
        ).first()
        if row is None or row.disabled:
            return None
        conn.execute(update(t).where(t.c.id == row.tid).values(last_used_at=utc_now()))
    return User(row.id, row.name, row.role)


def revoke_tokens(store: Store, name: str) -> int:
    """Revoke every live token of ``name``; returns how many."""
    user = get_user(store, name)
    t = schema.api_tokens
    with store.engine.begin() as conn:
        result = conn.execute(
            update(t)
            .where(t.c.user_id == user.id, t.c.revoked_at.is_(None))
            .values(revoked_at=utc_now())
        )
    return int(result.rowcount or 0)


def set_password(store: Store, name: str, password: str) -> None:
    """Replace the password of ``name``."""
    user = get_user(store, name)
    with store.engine.begin() as conn:
        conn.execute(
            update(schema.users)
            .where(schema.users.c.id == user.id)
            .values(password_hash=hash_password(password))
        )
