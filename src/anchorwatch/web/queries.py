"""Small reads for the evidence pages: one episode with its messages and the
spans behind each act, one message in its conversation, one member's
timeline.  Plain SELECTs on indexed columns, so a page stays fast on a
million messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from anchorwatch.store import Store, schema


@dataclass
class Shown:
    """A message as a page shows it: its text cut into plain and marked pieces."""

    id: str
    author: str
    name: str
    at: datetime
    text: str
    reply_to: str | None
    pieces: list[tuple[str, bool]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    acts: list[str] = field(default_factory=list)
    #: The text was dropped by the retention policy (docs/privacy.md).
    removed: bool = False


def pieces(text: str, spans: list[list[int]] | list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut at ``spans`` (character ranges): ``[(piece, marked), ...]``.

    The page escapes every piece itself; marking never builds HTML from
    member text.
    """
    ranges = sorted((max(0, int(a)), min(len(text), int(b))) for a, b in spans if int(b) > int(a))
    merged: list[tuple[int, int]] = []
    for a, b in ranges:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    out: list[tuple[str, bool]] = []
    pos = 0
    for a, b in merged:
        if a > pos:
            out.append((text[pos:a], False))
        out.append((text[a:b], True))
        pos = b
    if pos < len(text):
        out.append((text[pos:], False))
    return out or [(text, False)]


def _names(conn: Any, ids: set[str]) -> dict[str, str]:
    m = schema.members
    if not ids:
        return {}
    rows = conn.execute(select(m.c.id, m.c.name).where(m.c.id.in_(sorted(ids))))
    return {mid: name or mid for mid, name in rows}


def _shown(conn: Any, ids: list[str], marks: dict[str, list[list[int]]]) -> list[Shown]:
    m, s = schema.messages, schema.message_signals
    if not ids:
        return []
    rows = conn.execute(
        select(
            m.c.id,
            m.c.author,
            m.c.sent_at,
            m.c.text,
            m.c.reply_to,
            m.c.text_removed_at,
            s.c.labels,
            s.c.evidence,
        )
        .outerjoin(s, s.c.message == m.c.id)
        .where(m.c.id.in_(ids))
    ).all()
    names = _names(conn, {r.author for r in rows})
    by_id = {}
    for r in rows:
        spans = marks.get(r.id)
        if spans is None:
            # Without an act to point at, mark every labelled span of the message.
            spans = [sp for label_spans in (r.evidence or {}).values() for sp in label_spans]
        by_id[r.id] = Shown(
            r.id,
            r.author,
            names.get(r.author, r.author),
            r.sent_at,
            r.text,
            r.reply_to,
            pieces(r.text, spans),
            list(r.labels or []),
            removed=r.text_removed_at is not None,
        )
    return sorted((by_id[i] for i in ids if i in by_id), key=lambda x: (x.at, x.id))


def episode_detail(store: Store, episode: str) -> dict[str, Any] | None:
    """The episode, its acts and its messages with each act's spans marked."""
    e, a = schema.episodes, schema.episode_acts
    with store.engine.connect() as conn:
        row = conn.execute(select(e).where(e.c.id == episode)).first()
        if row is None:
            return None
        acts = conn.execute(
            select(a).where(a.c.episode == episode).order_by(a.c.at, a.c.message)
        ).all()
        marks: dict[str, list[list[int]]] = {}
        act_names: dict[str, list[str]] = {}
        for act in acts:
            marks.setdefault(act.message, []).extend(act.evidence or [])
            act_names.setdefault(act.message, []).append(act.act)
        ids = list(dict.fromkeys([*(row.messages or []), *marks]))
        shown = _shown(conn, ids, marks)
        for msg in shown:
            msg.acts = act_names.get(msg.id, [])
        names = _names(conn, {row.subject, *(x.member for x in acts)})
        conv = conn.execute(
            select(schema.conversations).where(schema.conversations.c.id == row.conversation)
        ).first()
    return {
        "id": row.id,
        "kind": row.kind,
        "subject": row.subject,
        "subject_name": names.get(row.subject, row.subject),
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "outcome": dict(row.outcome or {}),
        "conversation": row.conversation,
        "conversation_title": conv.title if conv else None,
        "channel": conv.channel if conv else None,
        "acts": [
            {
                "message": x.message,
                "member": x.member,
                "name": names.get(x.member, x.member),
                "act": x.act,
                "score": x.score,
                "latency_s": x.latency_s,
            }
            for x in acts
        ],
        "messages": shown,
    }


def message_in_context(store: Store, message: str, around: int = 6) -> dict[str, Any] | None:
    """A message with the ``around`` messages before and after it in its
    thread (chat streams) or conversation, its labelled spans marked."""
    m, t = schema.messages, schema.message_threads
    with store.engine.connect() as conn:
        row = conn.execute(select(m).where(m.c.id == message)).first()
        if row is None:
            return None
        thread = conn.execute(select(t.c.thread).where(t.c.message == message)).scalar()
        if thread is not None:
            scope = select(t.c.message).where(t.c.thread == thread)
            base = select(m.c.id, m.c.sent_at).where(m.c.id.in_(scope))
        else:
            base = select(m.c.id, m.c.sent_at).where(m.c.conversation == row.conversation)
        before = conn.execute(
            base.where(
                or_(
                    m.c.sent_at < row.sent_at,
                    and_(m.c.sent_at == row.sent_at, m.c.id < row.id),
                )
            )
            .order_by(m.c.sent_at.desc(), m.c.id.desc())
            .limit(around)
        ).all()
        after = conn.execute(
            base.where(
                or_(
                    m.c.sent_at > row.sent_at,
                    and_(m.c.sent_at == row.sent_at, m.c.id > row.id),
                )
            )
            .order_by(m.c.sent_at, m.c.id)
            .limit(around)
        ).all()
        ids = [r.id for r in reversed(before)] + [row.id] + [r.id for r in after]
        shown = _shown(conn, ids, {})
        conv = conn.execute(
            select(schema.conversations).where(schema.conversations.c.id == row.conversation)
        ).first()
    return {
        "id": row.id,
        "conversation": row.conversation,
        "conversation_title": conv.title if conv else None,
        "channel": conv.channel if conv else None,
        "thread": thread,
        "messages": shown,
    }


def member_timeline(store: Store, member: str, limit: int = 60) -> list[dict[str, Any]]:
    """The latest episodes the member acted in: when, what kind, what they
    did, what came of it, and the message to open."""
    e, a = schema.episodes, schema.episode_acts
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(e.c.id, e.c.kind, e.c.started_at, e.c.outcome, e.c.subject, a.c.act, a.c.message)
            .join(a, a.c.episode == e.c.id)
            .where(a.c.member == member)
            .order_by(e.c.started_at.desc(), e.c.id, a.c.at)
            .limit(limit * 3)
        ).all()
        names = _names(conn, {r.subject for r in rows})
    items: dict[str, dict[str, Any]] = {}
    for r in rows:
        item = items.setdefault(
            r.id,
            {
                "episode": r.id,
                "kind": r.kind,
                "at": r.started_at,
                "subject": r.subject,
                "subject_name": names.get(r.subject, r.subject),
                "outcome": dict(r.outcome or {}),
                "acts": [],
                "message": r.message,
            },
        )
        if r.act not in item["acts"]:
            item["acts"].append(r.act)
    return list(items.values())[:limit]


def member_profile(store: Store, member: str) -> dict[str, Any] | None:
    m = schema.members
    with store.engine.connect() as conn:
        row = conn.execute(select(m).where(m.c.id == member)).first()
    if row is None:
        return None
    return {"id": row.id, "name": row.name or row.id, "role": row.role, "joined_at": row.joined_at}
