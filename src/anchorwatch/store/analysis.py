"""Analysis results read back as frames for reports (FAQ, buffer effect, ledger).

The I/O edge of ``anchorwatch.episodes.faq``, ``anchorwatch.episodes.buffer``
and ``anchorwatch.members.ledger``: plain SELECTs into frames of the schemas
those modules declare, no analysis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Text, cast, func, select

from anchorwatch.episodes.buffer import INPUT_SCHEMA
from anchorwatch.episodes.faq import ANSWER_SCHEMA, QUESTION_SCHEMA
from anchorwatch.members.burnout import CARE_SCHEMA
from anchorwatch.members.ledger import ACT_SCHEMA, AIMED_SCHEMA, MESSAGE_SCHEMA, METRIC_SCHEMA
from anchorwatch.store import Store, schema
from anchorwatch.store.retention import removed_text, spam_surrogate

Schema = dict[str, Any]


def read_frame(conn: Connection, stmt: Any, frame_schema: Schema) -> pl.DataFrame:
    """The rows of ``stmt`` as a frame with the given column types."""
    return pl.DataFrame(conn.execute(stmt).all(), schema=frame_schema, orient="row")


def _frame(
    store: Store,
    stmt: Any,
    frame_schema: Schema,
    rows: Callable[[Iterable[Any]], Iterable[tuple[Any, ...]]] | None = None,
) -> pl.DataFrame:
    """``read_frame`` on a fresh connection; ``rows`` reshapes the result rows first."""
    with store.engine.connect() as conn:
        if rows is None:
            return read_frame(conn, stmt, frame_schema)
        data = list(rows(conn.execute(stmt)))
    return pl.DataFrame(data, schema=frame_schema, orient="row")


def question_frame(store: Store) -> pl.DataFrame:
    """One row per newcomer-question episode (``faq.QUESTION_SCHEMA``)."""
    e, m = schema.episodes, schema.messages
    stmt = (
        select(
            e.c.id,
            e.c.question_cluster,
            e.c.started_at,
            m.c.text,
            e.c.outcome,
            e.c.times_asked_before,
            m.c.text_removed_at,
        )
        .join(m, m.c.id == e.c.question)
        .where(e.c.kind == "newcomer_question", e.c.question_cluster.is_not(None))
    )
    gone = removed_text()

    def rows(result: Iterable[Any]) -> Iterable[tuple[Any, ...]]:
        for eid, cluster, at, text, outcome, before, removed in result:
            shown = gone if removed is not None else text
            yield eid, cluster, at, shown, bool((outcome or {}).get("answered")), before

    return _frame(store, stmt, QUESTION_SCHEMA, rows)


def answer_frame(store: Store) -> pl.DataFrame:
    """One row per answer act to a newcomer question (``faq.ANSWER_SCHEMA``)."""
    e, a = schema.episodes, schema.episode_acts
    stmt = (
        select(a.c.member, e.c.id, e.c.question_cluster, e.c.times_asked_before, a.c.at)
        .join(e, e.c.id == a.c.episode)
        .where(
            e.c.kind == "newcomer_question",
            a.c.act == "newcomer_answer",
            e.c.question_cluster.is_not(None),
        )
    )
    return _frame(store, stmt, ANSWER_SCHEMA)


def complaint_responses(store: Store) -> pl.DataFrame:
    """First official or empathy responses to complaints (``buffer.INPUT_SCHEMA``)."""
    e, c = schema.episodes, schema.conversations
    stmt = (
        select(e.c.id, c.c.channel, e.c.started_at, e.c.response)
        .outerjoin(c, c.c.id == e.c.conversation)
        .where(e.c.kind == "complaint", e.c.response.is_not(None))
    )

    def rows(result: Iterable[Any]) -> Iterable[tuple[Any, ...]]:
        for eid, channel, started, resp in result:
            if resp:
                yield (
                    eid,
                    channel or "",
                    started.strftime("%Y-%m"),
                    resp["responder"],
                    resp["sentiment_before"],
                    resp["sentiment_after"],
                )

    return _frame(store, stmt, INPUT_SCHEMA, rows)


def ledger_acts(store: Store) -> pl.DataFrame:
    """Attributed acts with their episode's outcome (``members.ledger.ACT_SCHEMA``)."""
    e, a, m, c = schema.episodes, schema.episode_acts, schema.messages, schema.conversations
    stmt = (
        select(
            a.c.member,
            a.c.message,
            a.c.at,
            a.c.act,
            e.c.id,
            e.c.kind,
            c.c.channel,
            a.c.latency_s,
            e.c.outcome,
            e.c.times_asked_before,
            m.c.text,
            m.c.text_removed_at,
            m.c.text_facts,
        )
        .join(e, e.c.id == a.c.episode)
        .join(m, m.c.id == a.c.message)
        .join(c, c.c.id == m.c.conversation)
    )

    def rows(result: Iterable[Any]) -> Iterable[tuple[Any, ...]]:
        for (
            member,
            message,
            at,
            act,
            eid,
            kind,
            channel,
            latency,
            outcome,
            before,
            text,
            removed,
            facts,
        ) in result:
            if removed is not None:
                # The reply-spam rule compares the removed text's fingerprint.
                text = spam_surrogate(facts)
            out = outcome or {}
            converted = (
                bool(out.get("details_given") or out.get("moved_to_channel"))
                if kind == "complaint"
                else None
            )
            yield (
                member,
                message,
                at,
                act,
                eid,
                kind,
                channel,
                latency,
                out.get("attacks_stopped"),
                converted,
                out.get("returned_30d"),
                before,
                text,
            )

    return _frame(store, stmt, ACT_SCHEMA, rows)


def ledger_aimed(store: Store) -> pl.DataFrame:
    """Gratitude, attacks and bias accusations aimed at a member (``AIMED_SCHEMA``).

    The target is the author of the message replied to, else each member the
    message @mentions by display name.
    """
    from anchorwatch.episodes.batch import mentions

    m, s, mem = schema.messages, schema.message_signals, schema.members
    parent = m.alias("parent")
    stmt = (
        select(
            m.c.id,
            m.c.author,
            m.c.sent_at,
            m.c.text,
            s.c.labels,
            parent.c.author,
            m.c.text_removed_at,
            m.c.text_facts,
        )
        .join(s, s.c.message == m.c.id)
        .outerjoin(parent, parent.c.id == m.c.reply_to)
    )
    wanted = {"gratitude", "personal_attack", "bias_accusation"}
    rows = []
    with store.engine.connect() as conn:
        names = {name: mid for mid, name in conn.execute(select(mem.c.id, mem.c.name)) if name}
        for mid, author, at, text, labels, parent_author, removed, facts in conn.execute(stmt):
            hit = wanted & set(labels or ())
            if not hit:
                continue
            # A removed text's @mentions were kept beside it (store.retention).
            named = (facts or {}).get("mentions", []) if removed is not None else mentions(text)
            targets = {parent_author} if parent_author else {names.get(n) for n in named}
            for target in targets - {None, author}:
                rows.append(
                    (
                        target,
                        author,
                        mid,
                        at,
                        "gratitude" in hit,
                        "personal_attack" in hit,
                        "bias_accusation" in hit,
                    )
                )
    return pl.DataFrame(rows, schema=AIMED_SCHEMA, orient="row")


def ledger_messages(store: Store) -> pl.DataFrame:
    """Every message with its channel, length and signal labels (``MESSAGE_SCHEMA``).

    Labels travel as JSON text and are decoded by Polars in one pass; a
    message not analysed yet has none.
    """
    m, s, c = schema.messages, schema.message_signals, schema.conversations
    stmt = (
        select(
            m.c.author,
            m.c.id,
            m.c.sent_at,
            m.c.sent_offset,
            c.c.channel,
            # A removed text's length was kept beside it (store.retention).
            func.coalesce(m.c.text_chars, func.length(m.c.text)),
            cast(s.c.labels, Text),
        )
        .join(c, c.c.id == m.c.conversation)
        .outerjoin(s, s.c.message == m.c.id)
    )
    raw = {**MESSAGE_SCHEMA, "labels": pl.String()}
    with store.engine.connect() as conn:
        frame = read_frame(conn, stmt, raw)
    return frame.with_columns(
        pl.col("labels").fill_null("[]").str.json_decode(pl.List(pl.String())).alias("labels")
    )


def ledger_metrics(store: Store) -> pl.DataFrame:
    """Monthly content metrics (``METRIC_SCHEMA``)."""
    mt = schema.metrics
    stmt = select(mt.c.member, mt.c.period, mt.c.reads, mt.c.plays, mt.c.leads)
    return _frame(store, stmt, METRIC_SCHEMA)


def care_frame(store: Store) -> pl.DataFrame:
    """The care log (``members.burnout.CARE_SCHEMA``)."""
    ca = schema.care_actions

    def rows(result: Iterable[Any]) -> Iterable[tuple[Any, ...]]:
        for member, at, action, extra in result:
            award = (extra or {}).get("award") or {}
            year = award.get("year") if isinstance(award, dict) else None
            yield member, at, action, int(year) if isinstance(year, int) else None

    return _frame(store, select(ca.c.member, ca.c.at, ca.c.action, ca.c.extra), CARE_SCHEMA, rows)


def thanks_events(store: Store, member: str, start: datetime, end: datetime) -> pl.DataFrame:
    """The episodes ``member`` acted in between ``start`` and ``end`` (UTC), with
    their outcome, the conversation's title and the subject's first message
    (``care.thanks.EVENT_SCHEMA``)."""
    from anchorwatch.care.thanks import EVENT_SCHEMA

    e, a, m, c = schema.episodes, schema.episode_acts, schema.messages, schema.conversations
    stmt = (
        select(
            e.c.id,
            e.c.kind,
            e.c.started_at,
            e.c.conversation,
            c.c.title,
            c.c.stream,
            e.c.messages,
            e.c.subject,
            e.c.outcome,
            a.c.act,
            a.c.message,
        )
        .join(a, a.c.episode == e.c.id)
        .outerjoin(c, c.c.id == e.c.conversation)
        .where(a.c.member == member, a.c.at >= start, a.c.at < end)
        .order_by(e.c.started_at, e.c.id, a.c.at)
    )
    episodes: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        for (
            eid,
            kind,
            started,
            conv,
            title,
            stream,
            msgs,
            subject,
            outcome,
            act,
            mid,
        ) in conn.execute(stmt):
            ep = episodes.setdefault(
                eid,
                {
                    "episode": eid,
                    "kind": kind,
                    "started_at": started,
                    "conversation": conv,
                    "title": title,
                    "stream": bool(stream),
                    "ids": list(msgs or []),
                    "subject": subject,
                    "outcome": outcome or {},
                    "acts": [],
                    "messages": [],
                },
            )
            ep["acts"].append(act)
            if mid not in ep["messages"]:
                ep["messages"].append(mid)
        # The subject's first message in each episode: what it was about.
        wanted = {i for ep in episodes.values() for i in ep["ids"]}
        texts: dict[str, tuple[str, str]] = {}
        ids = sorted(wanted)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for mid, author, text in conn.execute(
                select(m.c.id, m.c.author, m.c.text).where(
                    m.c.id.in_(chunk), m.c.text_removed_at.is_(None)
                )
            ):
                texts[mid] = (author, text)
    rows = []
    for ep in episodes.values():
        first = next(
            (texts[i][1] for i in ep["ids"] if i in texts and texts[i][0] == ep["subject"]), None
        )
        out = ep["outcome"]
        rows.append(
            {
                "episode": ep["episode"],
                "kind": ep["kind"],
                "started_at": ep["started_at"],
                "conversation": ep["conversation"],
                "title": ep["title"],
                "stream": ep["stream"],
                "subject_text": first,
                "acts": ep["acts"],
                "messages": ep["messages"],
                **{
                    k: out.get(k)
                    for k in (
                        "attacks_stopped",
                        "agreement",
                        "details_given",
                        "moved_to_channel",
                        "sentiment_first",
                        "sentiment_last",
                        "thanked",
                        "returned_30d",
                        "welcomed",
                        "first_post",
                    )
                },
            }
        )
    return pl.DataFrame(rows, schema=EVENT_SCHEMA)
