"""Batch writes of canonical records: insert-or-ignore and upsert, both engines.

Every write is keyed by the record's natural key, so landing the same batch
twice changes nothing (idempotent import) and a run killed half-way can simply
be run again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

from anchorwatch.records import Conversation, Join, Member, Message, Metric, Reaction
from anchorwatch.store import schema

#: SQLite allows 32,766 bound parameters per statement; stay well below.
LOOKUP_CHUNK = 900


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows whose key is not there yet; leave existing rows untouched."""
    if rows:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(), list(rows))


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    coalesce: Sequence[str] = (),
    replace: Sequence[str] = (),
) -> None:
    """Insert rows, or update existing ones.

    Columns in ``coalesce`` keep their stored value when the new one is NULL
    (a later partial record never blanks a known name); columns in ``replace``
    take the new value.
    """
    if not rows:
        return
    stmt = _insert(conn, table)
    updates: dict[str, Any] = {c: func.coalesce(stmt.excluded[c], table.c[c]) for c in coalesce}
    updates.update({c: stmt.excluded[c] for c in replace})
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates), list(rows))


def existing_ids(conn: Connection, table: Table, column: str, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` are already stored in ``table.column``."""
    wanted = list(dict.fromkeys(ids))
    found: set[str] = set()
    col = table.c[column]
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        found.update(conn.execute(select(col).where(col.in_(chunk))).scalars())
    return found


def _extra(extra: dict[str, Any]) -> dict[str, Any] | None:
    return extra or None


def member_row(rec: Member) -> dict[str, Any]:
    return {
        "id": rec.id,
        "name": rec.name,
        "joined_at": rec.joined_at.utc if rec.joined_at else None,
        "joined_offset": rec.joined_at.offset_min if rec.joined_at else None,
        "role": rec.role,
        "extra": _extra(rec.extra),
    }


def conversation_row(rec: Conversation) -> dict[str, Any]:
    return {
        "id": rec.id,
        "channel": rec.channel,
        "title": rec.title,
        "started_at": rec.started_at.utc if rec.started_at else None,
        "started_offset": rec.started_at.offset_min if rec.started_at else None,
        "stream": rec.stream,
        "extra": _extra(rec.extra),
    }


#: What an export writes beside an emptied text (``store.retention``).
RETAINED_FIELDS = ("text_removed_at", "text_chars", "text_facts")


def message_row(rec: Message) -> dict[str, Any]:
    row = {
        "id": rec.id,
        "conversation": rec.conversation,
        "author": rec.author,
        "reply_to": rec.reply_to,
        "sent_at": rec.sent_at.utc,
        "sent_offset": rec.sent_at.offset_min,
        "text": rec.text,
        "extra": _extra(rec.extra),
        "text_removed_at": None,
        "text_chars": None,
        "text_facts": None,
    }
    if rec.text == "" and rec.extra.get("text_removed_at"):
        # A message exported after the retention policy removed its text.
        extra = dict(rec.extra)
        removed = datetime.fromisoformat(str(extra.pop("text_removed_at")).replace("Z", "+00:00"))
        if removed.tzinfo is not None:
            removed = removed.astimezone(UTC).replace(tzinfo=None)
        chars = extra.pop("text_chars", None)
        facts = extra.pop("text_facts", None)
        row.update(
            extra=_extra(extra),
            text_removed_at=removed,
            text_chars=chars if isinstance(chars, int) else None,
            text_facts=facts if isinstance(facts, dict) else None,
        )
    return row


def join_row(rec: Join) -> dict[str, Any]:
    return {
        "member": rec.member,
        "channel": rec.channel,
        "at": rec.at.utc,
        "at_offset": rec.at.offset_min,
        "extra": _extra(rec.extra),
    }


def reaction_row(rec: Reaction) -> dict[str, Any]:
    return {
        "message": rec.message,
        "member": rec.member,
        "kind": rec.kind,
        "at": rec.at.utc if rec.at else None,
        "at_offset": rec.at.offset_min if rec.at else None,
        "extra": _extra(rec.extra),
    }


def metric_row(rec: Metric) -> dict[str, Any]:
    return {
        "member": rec.member,
        "period": rec.period,
        "reads": rec.reads,
        "plays": rec.plays,
        "leads": rec.leads,
        "extra": _extra(rec.extra),
    }


def write_members(conn: Connection, recs: Sequence[Member], implied: Iterable[str]) -> None:
    """Upsert explicit member records; create bare rows for ids seen only as authors."""
    explicit = {r.id: member_row(r) for r in recs}
    upsert(
        conn,
        schema.members,
        list(explicit.values()),
        keys=["id"],
        coalesce=["name", "joined_at", "joined_offset", "role", "extra"],
    )
    bare = [{"id": mid} for mid in dict.fromkeys(implied) if mid not in explicit]
    insert_ignore(conn, schema.members, bare)


def write_conversations(
    conn: Connection, recs: Sequence[Conversation], implied: Iterable[str]
) -> None:
    explicit = {r.id: conversation_row(r) for r in recs}
    upsert(
        conn,
        schema.conversations,
        list(explicit.values()),
        keys=["id"],
        coalesce=["channel", "title", "started_at", "started_offset", "extra"],
        replace=["stream"],
    )
    bare = [{"id": cid, "stream": False} for cid in dict.fromkeys(implied) if cid not in explicit]
    insert_ignore(conn, schema.conversations, bare)


def write_messages(conn: Connection, recs: Sequence[Message]) -> None:
    insert_ignore(conn, schema.messages, [message_row(r) for r in recs])


def write_joins(conn: Connection, recs: Sequence[Join]) -> None:
    insert_ignore(conn, schema.joins, [join_row(r) for r in recs])


def write_reactions(conn: Connection, recs: Sequence[Reaction]) -> None:
    insert_ignore(conn, schema.reactions, [reaction_row(r) for r in recs])


def write_metrics(conn: Connection, recs: Sequence[Metric]) -> None:
    rows = {(r.member, r.period): metric_row(r) for r in recs}
    upsert(
        conn,
        schema.metrics,
        list(rows.values()),
        keys=["member", "period"],
        replace=["reads", "plays", "leads", "extra"],
    )
