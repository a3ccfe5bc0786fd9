"""Reading the store back: canonical records (export) and the community overview.

Export order is fixed (members, conversations, messages by time, joins,
reactions, metrics; ties broken by key) so that import → export → import →
export gives byte-identical files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, String, cast, func, select
from sqlalchemy.sql import ColumnElement

from anchorwatch.records import (
    Conversation,
    Instant,
    Join,
    Member,
    Message,
    Metric,
    Reaction,
    Record,
    record_to_dict,
)
from anchorwatch.store import Store, schema

STREAM_CHUNK = 5_000


def _instant(at: datetime | None, offset: int | None) -> Instant | None:
    if at is None:
        return None
    return Instant(at, offset or 0)


def _stream(conn: Connection, stmt: Any) -> Iterator[Any]:
    result = conn.execution_options(yield_per=STREAM_CHUNK).execute(stmt)
    yield from result


def iter_records(
    store: Store, *, threads: bool = False, member: str | None = None
) -> Iterator[Record]:
    """Every stored canonical record, in export order, streamed.

    With ``threads``, messages of chat streams carry the ``thread`` the
    analysis assigned them (in ``extra``), once `anchorwatch analyze` has run.
    A message whose text the retention policy removed has an empty ``text``
    and carries ``text_removed_at``, ``text_chars`` and ``text_facts``; an
    import lands it as such.  With ``member``, only that member's own records:
    their profile, messages, joins, reactions and metrics (no conversations).
    """
    m, c, msg = schema.members, schema.conversations, schema.messages
    j, r, mt = schema.joins, schema.reactions, schema.metrics

    def mine(stmt: Any, column: Any) -> Any:
        return stmt if member is None else stmt.where(column == member)

    with store.engine.connect() as conn:
        for row in _stream(conn, mine(select(m).order_by(m.c.id), m.c.id)):
            yield Member(
                id=row.id,
                name=row.name,
                joined_at=_instant(row.joined_at, row.joined_offset),
                role=row.role,
                extra=row.extra or {},
            )
        for row in _stream(conn, select(c).order_by(c.c.id)) if member is None else ():
            yield Conversation(
                id=row.id,
                channel=row.channel,
                title=row.title,
                started_at=_instant(row.started_at, row.started_offset),
                stream=bool(row.stream),
                extra=row.extra or {},
            )
        th, conv = schema.message_threads, schema.conversations
        stmt = select(msg, th.c.thread, conv.c.stream).order_by(msg.c.sent_at, msg.c.id)
        stmt = stmt.outerjoin(th, th.c.message == msg.c.id).outerjoin(
            conv, conv.c.id == msg.c.conversation
        )
        for row in _stream(conn, mine(stmt, msg.c.author)):
            extra = row.extra or {}
            if threads and row.stream and row.thread is not None:
                extra = {**extra, "thread": row.thread}
            if row.text_removed_at is not None:
                # The retention policy removed the text: say so, with what was kept.
                extra = {
                    **extra,
                    "text_removed_at": _iso(row.text_removed_at),
                    "text_chars": row.text_chars,
                    "text_facts": row.text_facts,
                }
            yield Message(
                id=row.id,
                conversation=row.conversation,
                author=row.author,
                sent_at=Instant(row.sent_at, row.sent_offset),
                text=row.text,
                reply_to=row.reply_to,
                extra=extra,
            )
        joins = mine(select(j).order_by(j.c.at, j.c.member, j.c.channel), j.c.member)
        for row in _stream(conn, joins):
            at = _instant(row.at, row.at_offset)
            assert at is not None
            yield Join(member=row.member, channel=row.channel, at=at, extra=row.extra or {})
        reactions = mine(select(r).order_by(r.c.message, r.c.member, r.c.kind), r.c.member)
        for row in _stream(conn, reactions):
            yield Reaction(
                message=row.message,
                member=row.member,
                kind=row.kind,
                at=_instant(row.at, row.at_offset),
                extra=row.extra or {},
            )
        for row in _stream(conn, mine(select(mt).order_by(mt.c.member, mt.c.period), mt.c.member)):
            yield Metric(
                member=row.member,
                period=row.period,
                reads=row.reads,
                plays=row.plays,
                leads=row.leads,
                extra=row.extra or {},
            )


def export_records(store: Store, out: Path) -> int:
    """Write the canonical records of DESIGN 3.1 to ``out``; returns the count."""
    count = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        for rec in iter_records(store, threads=True):
            fh.write(orjson.dumps(record_to_dict(rec)) + b"\n")
            count += 1
    return count


def _iso(at: datetime | None) -> str | None:
    return at.replace(tzinfo=UTC).isoformat() if at is not None else None


def iter_episodes(store: Store) -> Iterator[dict[str, Any]]:
    """Episodes as DESIGN 3.3 ``episode`` objects, in time order, streamed."""
    e, ea = schema.episodes, schema.episode_acts
    with store.engine.connect() as conn:
        acts: dict[str, list[dict[str, Any]]] = {}
        stmt = select(ea).order_by(ea.c.episode, ea.c.at, ea.c.message, ea.c.act)
        for a in _stream(conn, stmt):
            acts.setdefault(a.episode, []).append(
                {
                    "message": a.message,
                    "member": a.member,
                    "act": a.act,
                    "score": a.score,
                    "evidence": a.evidence or [],
                    "served": a.served,
                    "latency_s": a.latency_s,
                }
            )
        for row in _stream(conn, select(e).order_by(e.c.started_at, e.c.id)):
            out: dict[str, Any] = {
                "type": "episode",
                "id": row.id,
                "kind": row.kind,
                "conversation": row.conversation,
                "subject": row.subject,
                "messages": row.messages,
                "acts": acts.get(row.id, []),
                "outcome": row.outcome,
            }
            if row.kind == "newcomer_question":
                out["question_cluster"] = row.question_cluster
                out["times_asked_before"] = row.times_asked_before
            out["thread"] = row.thread
            out["started_at"] = _iso(row.started_at)
            out["ended_at"] = _iso(row.ended_at)
            yield out


def export_episodes(store: Store, out: Path) -> int:
    """Write every episode (DESIGN 3.3) to ``out``; returns the count."""
    count = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        for obj in iter_episodes(store):
            fh.write(orjson.dumps(obj) + b"\n")
            count += 1
    return count


@dataclass
class ChannelStats:
    channel: str | None
    conversations: int
    messages: int
    authors: int


@dataclass
class CommunityStats:
    """The overview `anchorwatch stats` prints."""

    totals: dict[str, int]
    by_channel: list[ChannelStats] = field(default_factory=list)
    by_month: list[tuple[str, int]] = field(default_factory=list)
    by_role: list[tuple[str, int]] = field(default_factory=list)


def _local_month(conn: Connection) -> ColumnElement[Any]:
    """'YYYY-MM' of each message in the time zone it was written in."""
    msg = schema.messages
    if conn.dialect.name == "postgresql":
        local = msg.c.sent_at + func.make_interval(0, 0, 0, 0, 0, msg.c.sent_offset)
        return func.to_char(local, "YYYY-MM")
    modifier = cast(msg.c.sent_offset, String) + " minutes"
    return func.strftime("%Y-%m", msg.c.sent_at, modifier)


def community_stats(store: Store) -> CommunityStats:
    """Members, conversations and messages, by channel, month and role."""
    stats = CommunityStats(totals=store.counts())
    msg, conv, mem = schema.messages, schema.conversations, schema.members
    with store.engine.connect() as conn:
        per_conv = (
            select(
                msg.c.conversation,
                func.count().label("n"),
            )
            .group_by(msg.c.conversation)
            .subquery()
        )
        channel_rows = conn.execute(
            select(
                conv.c.channel,
                func.count(per_conv.c.conversation),
                func.coalesce(func.sum(per_conv.c.n), 0),
            )
            .select_from(per_conv.join(conv, conv.c.id == per_conv.c.conversation))
            .group_by(conv.c.channel)
        ).all()
        authors: dict[str | None, int] = dict(
            conn.execute(
                select(conv.c.channel, func.count(func.distinct(msg.c.author)))
                .select_from(msg.join(conv, conv.c.id == msg.c.conversation))
                .group_by(conv.c.channel)
            ).all()
        )
        stats.by_channel = sorted(
            (
                ChannelStats(ch, int(nconv), int(nmsg), int(authors.get(ch, 0)))
                for ch, nconv, nmsg in channel_rows
            ),
            key=lambda s: (-s.messages, s.channel or ""),
        )
        month = _local_month(conn).label("month")
        stats.by_month = [
            (str(mo), int(n))
            for mo, n in conn.execute(
                select(month, func.count()).select_from(msg).group_by(month).order_by(month)
            ).all()
        ]
        role = func.coalesce(mem.c.role, "member").label("role")
        stats.by_role = [
            (str(rl), int(n))
            for rl, n in conn.execute(
                select(role, func.count()).select_from(mem).group_by(role).order_by(role)
            ).all()
        ]
    return stats


def export_members(store: Store, out: Path, period: str = "month") -> int:
    """Write one ``member`` object per member and period (DESIGN 3.3); returns the count."""
    from anchorwatch.engines.members import load_member_frames, member_records, members_table

    frames = load_member_frames(store)
    records = member_records(members_table(frames, period)) if frames.messages.height else []
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        for record in records:
            fh.write(orjson.dumps(record) + b"\n")
    return len(records)
