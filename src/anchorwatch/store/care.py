"""The care log in the store: what the brand did for a member, by whom, when,
and the evidence (episodes, messages) it refers to.  An audit trail: rows are
only added."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from anchorwatch.care.actions import CARE_ACTIONS
from anchorwatch.store import Store, schema


@dataclass(frozen=True)
class CareAction:
    id: int
    member: str
    at: datetime
    action: str
    staff: str | None
    episode: str | None
    note: str | None
    evidence: list[str]


def log_care_action(
    store: Store,
    member: str,
    action: str,
    *,
    at: datetime | None = None,
    staff: str | None = None,
    episode: str | None = None,
    note: str | None = None,
    evidence: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
) -> int:
    """Add one care action; returns its id.  ``at`` is UTC (default: now)."""
    if action not in CARE_ACTIONS:
        raise ValueError(f"unknown care action {action!r}; one of {', '.join(CARE_ACTIONS)}")
    at = at or datetime.now(UTC)
    # A time without a zone is UTC (as the CLI and the API document), never
    # the server's local time.
    when = at.replace(tzinfo=None) if at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)
    ca = schema.care_actions
    with store.engine.begin() as conn:
        known = conn.execute(select(schema.members.c.id).where(schema.members.c.id == member))
        if known.first() is None:
            raise KeyError(member)
        row = conn.execute(
            insert(ca)
            .values(
                member=member,
                at=when,
                action=action,
                staff=staff,
                episode=episode,
                note=note,
                extra={**(extra or {}), "evidence": list(evidence)},
            )
            .returning(ca.c.id)
        )
        return int(row.scalar_one())


def care_history(store: Store, member: str | None = None) -> list[CareAction]:
    """The care log, oldest first (one member's, or everyone's)."""
    ca = schema.care_actions
    stmt = select(ca).order_by(ca.c.at, ca.c.id)
    if member is not None:
        stmt = stmt.where(ca.c.member == member)
    with store.engine.connect() as conn:
        return [
            CareAction(
                r.id,
                r.member,
                r.at,
                r.action,
                r.staff,
                r.episode,
                r.note,
                list((r.extra or {}).get("evidence", [])),
            )
            for r in conn.execute(stmt)
        ]
