"""The audit log: who viewed a member's burnout risk or venting messages, who
erased whom, who logged care.  Names the person and the member, never the
data itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from anchorwatch.store import Store, schema, utc_now

#: What is audited.
AUDITED = (
    "view_risk",
    "view_watchlist",
    "view_vents",
    "reply_vent",
    "log_care",
    "erase_member",
    "export_member",
    "login",
    "change_settings",
)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    user_name: str
    action: str
    member: str | None
    detail: dict[str, Any]


def audit(
    store: Store,
    user_name: str,
    action: str,
    member: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record one audited event (UTC now)."""
    if action not in AUDITED:
        raise ValueError(f"unknown audit action {action!r}")
    with store.engine.begin() as conn:
        conn.execute(
            insert(schema.audit_log).values(
                at=utc_now(),
                user_name=user_name,
                action=action,
                member=member,
                detail=detail or {},
            )
        )


def audit_entries(store: Store, member: str | None = None, limit: int = 200) -> list[AuditEntry]:
    """The latest entries, newest first (one member's, or all)."""
    a = schema.audit_log
    stmt = select(a).order_by(a.c.at.desc(), a.c.id.desc()).limit(limit)
    if member is not None:
        stmt = stmt.where(a.c.member == member)
    with store.engine.connect() as conn:
        return [
            AuditEntry(r.id, r.at, r.user_name, r.action, r.member, dict(r.detail or {}))
            for r in conn.execute(stmt)
        ]
