"""Analysis results read back as frames for reports (FAQ, buffer effect, ledger).

The I/O edge of ``anchorwatch.episodes.faq`` and
``anchorwatch.episodes.buffer``: plain SELECTs, no analysis.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import select

from anchorwatch.store import Store, schema


def question_frame(store: Store) -> pl.DataFrame:
    """One row per newcomer-question episode (``faq.QUESTION_COLUMNS``)."""
    e, m = schema.episodes, schema.messages
    stmt = (
        select(
            e.c.id,
            e.c.question_cluster,
            e.c.started_at,
            m.c.text,
            e.c.outcome,
            e.c.times_asked_before,
        )
        .join(m, m.c.id == e.c.question)
        .where(e.c.kind == "newcomer_question", e.c.question_cluster.is_not(None))
    )
    with store.engine.connect() as conn:
        rows = [
            (r[0], r[1], r[2], r[3], bool((r[4] or {}).get("answered")), r[5])
            for r in conn.execute(stmt)
        ]
    return pl.DataFrame(
        rows,
        schema={
            "episode": pl.String,
            "cluster": pl.String,
            "asked_at": pl.Datetime("us"),
            "text": pl.String,
            "answered": pl.Boolean,
            "times_asked_before": pl.Int64,
        },
        orient="row",
    )


def answer_frame(store: Store) -> pl.DataFrame:
    """One row per answer act to a newcomer question (``faq.ANSWER_COLUMNS``)."""
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
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt)]
    return pl.DataFrame(
        rows,
        schema={
            "member": pl.String,
            "episode": pl.String,
            "cluster": pl.String,
            "times_asked_before": pl.Int64,
            "at": pl.Datetime("us"),
        },
        orient="row",
    )


def complaint_responses(store: Store) -> pl.DataFrame:
    """First official or empathy responses to complaints (``buffer.INPUT_COLUMNS``)."""
    e, c = schema.episodes, schema.conversations
    stmt = (
        select(e.c.id, c.c.channel, e.c.started_at, e.c.response)
        .outerjoin(c, c.c.id == e.c.conversation)
        .where(e.c.kind == "complaint", e.c.response.is_not(None))
    )
    rows = []
    with store.engine.connect() as conn:
        for eid, channel, started, resp in conn.execute(stmt):
            if not resp:
                continue
            rows.append(
                (
                    eid,
                    channel or "",
                    started.strftime("%Y-%m"),
                    resp["responder"],
                    resp["sentiment_before"],
                    resp["sentiment_after"],
                )
            )
    return pl.DataFrame(
        rows,
        schema={
            "episode": pl.String,
            "channel": pl.String,
            "month": pl.String,
            "responder": pl.String,
            "sentiment_before": pl.Float64,
            "sentiment_after": pl.Float64,
        },
        orient="row",
    )


def ledger_acts(store: Store) -> pl.DataFrame:
    """Attributed acts with their episode's outcome (``members.ledger.ACT_COLUMNS``)."""
    e, a = schema.episodes, schema.episode_acts
    stmt = select(
        a.c.member,
        a.c.at,
        a.c.act,
        e.c.id,
        e.c.kind,
        a.c.latency_s,
        e.c.outcome,
        e.c.times_asked_before,
    ).join(e, e.c.id == a.c.episode)
    rows = []
    with store.engine.connect() as conn:
        for member, at, act, eid, kind, latency, outcome, before in conn.execute(stmt):
            out = outcome or {}
            rows.append(
                (
                    member,
                    at,
                    act,
                    eid,
                    kind,
                    latency,
                    out.get("attacks_stopped"),
                    bool(out.get("details_given") or out.get("moved_to_channel"))
                    if kind == "complaint"
                    else None,
                    out.get("returned_30d"),
                    before,
                )
            )
    return pl.DataFrame(
        rows,
        schema={
            "member": pl.String,
            "at": pl.Datetime("us"),
            "act": pl.String,
            "episode": pl.String,
            "kind": pl.String,
            "latency_s": pl.Int64,
            "attacks_stopped": pl.Boolean,
            "converted": pl.Boolean,
            "returned_30d": pl.Boolean,
            "times_asked_before": pl.Int64,
        },
        orient="row",
    )


def ledger_aimed(store: Store) -> pl.DataFrame:
    """Gratitude, attacks and bias accusations aimed at a member (``AIMED_COLUMNS``).

    The target is the author of the message replied to, else each member the
    message @mentions by display name.
    """
    from anchorwatch.episodes.batch import mentions

    m, s, mem = schema.messages, schema.message_signals, schema.members
    parent = m.alias("parent")
    names = {name: mid for mid, name in _rows(store, select(mem.c.id, mem.c.name)) if name}
    stmt = (
        select(m.c.author, m.c.sent_at, m.c.text, s.c.labels, parent.c.author)
        .join(s, s.c.message == m.c.id)
        .outerjoin(parent, parent.c.id == m.c.reply_to)
    )
    rows = []
    wanted = {"gratitude", "personal_attack", "bias_accusation"}
    for author, at, text, labels, parent_author in _rows(store, stmt):
        hit = wanted & set(labels or ())
        if not hit:
            continue
        targets = {parent_author} if parent_author else {names.get(n) for n in mentions(text)}
        for target in targets - {None, author}:
            rows.append(
                (
                    target,
                    at,
                    "gratitude" in hit,
                    "personal_attack" in hit,
                    "bias_accusation" in hit,
                )
            )
    return pl.DataFrame(
        rows,
        schema={
            "target": pl.String,
            "at": pl.Datetime("us"),
            "gratitude": pl.Boolean,
            "personal_attack": pl.Boolean,
            "bias_accusation": pl.Boolean,
        },
        orient="row",
    )


def ledger_messages(store: Store) -> pl.DataFrame:
    """Every message's author and time (``MESSAGE_COLUMNS``)."""
    m = schema.messages
    rows = [tuple(r) for r in _rows(store, select(m.c.author, m.c.sent_at))]
    return pl.DataFrame(rows, schema={"member": pl.String, "at": pl.Datetime("us")}, orient="row")


def ledger_metrics(store: Store) -> pl.DataFrame:
    """Monthly content metrics (``METRIC_COLUMNS``)."""
    mt = schema.metrics
    stmt = select(mt.c.member, mt.c.period, mt.c.reads, mt.c.plays, mt.c.leads)
    rows = [tuple(r) for r in _rows(store, stmt)]
    return pl.DataFrame(
        rows,
        schema={
            "member": pl.String,
            "period": pl.String,
            "reads": pl.Int64,
            "plays": pl.Int64,
            "leads": pl.Int64,
        },
        orient="row",
    )


def _rows(store: Store, stmt: Any) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(stmt))
