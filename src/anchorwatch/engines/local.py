"""In-process engine: the signals stage of `anchorwatch analyze`.

Messages without a row in ``message_signals`` are read in key order (keyset
pagination: each batch starts after the last id of the previous one, so a
million-message store is read once), each with the text it replies to as
context, scored by the configured detector, and written in one transaction
per batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, case, func, select
from sqlalchemy.orm import aliased

from anchorwatch.signals import Detector
from anchorwatch.signals.stage import signal_rows
from anchorwatch.store import Store, schema, writer

BATCH_MESSAGES = 2_000


@dataclass
class SignalsRun:
    """What one signals pass did."""

    backend: str
    scored: int = 0
    already: int = 0
    escalated: int = 0
    seconds: float = 0.0
    fired: dict[str, int] = field(default_factory=dict)

    @property
    def messages_per_s(self) -> float:
        return self.scored / self.seconds if self.seconds else 0.0


def _unscored_batch(conn: Connection, after: str, limit: int) -> list[Any]:
    """Messages without signals after ``after``, with the text they reply to.

    A message whose text the retention policy removed is never scored (there
    is nothing to read), and a removed parent gives no context.
    """
    msg, sig = schema.messages, schema.message_signals
    parent = aliased(msg)
    context = case((parent.c.text_removed_at.is_(None), parent.c.text), else_=None)
    stmt = (
        select(msg.c.id, msg.c.text, context.label("context"))
        .outerjoin(sig, sig.c.message == msg.c.id)
        .outerjoin(parent, parent.c.id == msg.c.reply_to)
        .where(msg.c.id > after, sig.c.message.is_(None), msg.c.text_removed_at.is_(None))
        .order_by(msg.c.id)
        .limit(limit)
    )
    return list(conn.execute(stmt))


def run_signals(
    store: Store,
    detector: Detector,
    *,
    batch_messages: int = BATCH_MESSAGES,
    progress: Callable[[int, int], None] | None = None,
) -> SignalsRun:
    """Score every message of ``store`` that has no signals yet.

    ``progress(done, total)`` is called after each committed batch.
    """
    run = SignalsRun(backend=detector.name)
    with store.engine.connect() as conn:
        msg, sig = schema.messages, schema.message_signals
        run.already = int(conn.execute(select(func.count()).select_from(sig)).scalar_one())
        todo = int(
            conn.execute(
                select(func.count())
                .select_from(msg.outerjoin(sig, sig.c.message == msg.c.id))
                .where(sig.c.message.is_(None), msg.c.text_removed_at.is_(None))
            ).scalar_one()
        )
    started = time.perf_counter()
    after = ""
    while True:
        with store.engine.connect() as conn:
            batch = _unscored_batch(conn, after, batch_messages)
        if not batch:
            break
        rows, fired = signal_rows(
            detector,
            [r.id for r in batch],
            [r.text for r in batch],
            [r.context for r in batch],
        )
        with store.engine.begin() as conn:
            writer.insert_ignore(conn, schema.message_signals, rows)
        run.scored += len(rows)
        run.escalated += sum(1 for r in rows if r["stage"] not in (None, "lexical.v1"))
        for label, n in fired.items():
            run.fired[label] = run.fired.get(label, 0) + n
        after = batch[-1].id
        if progress:
            progress(run.scored, todo)
    run.seconds = time.perf_counter() - started
    return run
