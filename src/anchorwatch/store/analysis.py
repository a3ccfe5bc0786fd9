"""Analysis results read back as frames for reports (FAQ, buffer effect).

The I/O edge of ``anchorwatch.episodes.faq`` and
``anchorwatch.episodes.buffer``: plain SELECTs, no analysis.
"""

from __future__ import annotations

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
