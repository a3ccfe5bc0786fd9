"""Validate and land what an adapter yields: good rows in, bad rows reported.

The loader reads a :class:`~anchorwatch.ingest.base.Source` in batches, turns
each canonical dictionary into a typed record (:func:`anchorwatch.records.parse_record`),
writes the batch in one transaction and moves on, so memory stays bounded
whatever the file size.  Each batch is committed: a run killed half-way has
landed a prefix, and running it again lands the rest (every write is keyed).

A row that fails goes to the rejects file with its source line and reason; it
never stops the import.  A message whose ``reply_to`` (or a reaction whose
message) is not known yet is held back until the end of the file, because
exports are not always in order; only then is it rejected if its target never
appeared.

>>> from anchorwatch.store import open_store
>>> from anchorwatch.ingest.base import RawRow
>>> class Rows:
...     name, format, total, position = "inline", "jsonl", None, 0
...     def __iter__(self):
...         yield RawRow(1, {"type": "message", "id": "m1", "conversation": "t1",
...                          "author": "u1", "sent_at": "2026-03-01T10:00:00+08:00",
...                          "text": "提车一周，车机偶尔黑屏"})
...         yield RawRow(2, {"type": "message", "id": "m2", "conversation": "t1",
...                          "author": "u2", "sent_at": "2026-03-01T10:01:00+08:00"})
>>> summary = import_source(open_store("sqlite://"), Rows())
>>> summary.new["messages"], summary.rejected, summary.rejects[0].line
(1, 1, 2)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import Connection, insert, update

from anchorwatch.ingest.base import RawRow, Source
from anchorwatch.records import (
    DEFAULT_TIMEZONE,
    MAX_TEXT_CHARS,
    Conversation,
    Join,
    Member,
    Message,
    Metric,
    Reaction,
    RecordError,
    parse_record,
    resolve_timezone,
)
from anchorwatch.store import Store, schema, utc_now, writer
from anchorwatch.store.erased import ErasedList, erased_list, is_tombstone

BATCH_ROWS = 5_000
#: Rejects kept in memory for the summary; all of them go to the rejects file.
REJECTS_SHOWN = 50
COUNTED_TABLES = ("members", "conversations", "messages", "joins", "reactions", "metrics")


@dataclass(slots=True)
class Reject:
    """A source row that did not land, with where it was and why."""

    line: int
    code: str
    reason: str
    raw: str | None


@dataclass
class ImportSummary:
    """What one import did.  ``new`` counts rows added per table."""

    source: str
    format: str
    read: int = 0
    rejected: int = 0
    erased: int = 0
    #: Source rows that are not text messages (images, stickers...), by kind.
    skipped: dict[str, int] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    rejects_path: Path | None = None
    seconds: float = 0.0

    @property
    def landed(self) -> int:
        """Rows read that are now in the store (new or already there)."""
        return self.read - self.rejected - self.erased

    @property
    def unchanged(self) -> int:
        return max(self.landed - sum(self.new.values()), 0)

    @property
    def exit_code(self) -> int:
        """DESIGN 3.3: 0 clean, 3 some rows rejected, 1 nothing could be imported."""
        if self.rejected and self.landed == 0:
            return 1
        return 3 if self.rejected else 0


class RejectsWriter:
    """Writes rejected rows as JSONL, opening the file only if one is needed."""

    def __init__(self, path: Path | None, locale: str | None = None) -> None:
        self.path = path
        self.locale = locale
        self._fh: IO[bytes] | None = None

    def write(self, reject: Reject) -> None:
        if self.path is None:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("wb")
        row = {"line": reject.line, "code": reject.code, "reason": reject.reason}
        row["raw"] = reject.raw
        self._fh.write(orjson.dumps(row) + b"\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


@dataclass
class _Pending:
    """Rows waiting for their reply or reaction target to appear."""

    messages: list[tuple[RawRow, Message]] = field(default_factory=list)
    reactions: list[tuple[RawRow, Reaction]] = field(default_factory=list)


@dataclass
class _Batch:
    members: list[Member] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)
    messages: list[tuple[RawRow, Message]] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)
    reactions: list[tuple[RawRow, Reaction]] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.members)
            + len(self.conversations)
            + len(self.messages)
            + len(self.joins)
            + len(self.reactions)
            + len(self.metrics)
        )


class Loader:
    """Lands one source into a store.  Use :func:`import_source`."""

    def __init__(
        self,
        store: Store,
        *,
        timezone: tzinfo,
        max_text_chars: int,
        rejects: RejectsWriter,
        summary: ImportSummary,
        erased: ErasedList | Callable[[str], bool] | None = None,
        locale: str | None = None,
    ) -> None:
        self.store = store
        self.timezone = timezone
        self.max_text_chars = max_text_chars
        self.rejects = rejects
        self.summary = summary
        self.erased_list: ErasedList | None = None
        self.is_erased: Callable[[str], bool] | None = None
        if isinstance(erased, ErasedList):
            # An empty list (nothing ever erased) costs nothing per row.
            if erased:
                self.erased_list, self.is_erased = erased, erased.member
        else:
            self.is_erased = erased
        self.locale = locale
        self.pending = _Pending()

    # -- rejects --------------------------------------------------------------
    def reject(self, row: RawRow, error: RecordError) -> None:
        raw = row.raw
        if raw is None and row.data is not None:
            raw = orjson.dumps(row.data, default=str).decode("utf-8")
        rej = Reject(row.line, error.code, error.reason(self.locale), raw)
        self.summary.rejected += 1
        if len(self.summary.rejects) < REJECTS_SHOWN:
            self.summary.rejects.append(rej)
        self.rejects.write(rej)

    # -- batching -------------------------------------------------------------
    def add(self, row: RawRow, batch: _Batch) -> None:
        self.summary.read += 1
        if row.error is not None:
            self.reject(row, row.error)
            return
        data, removed = _retained(row.data)
        try:
            rec = parse_record(data, default_tz=self.timezone, max_text_chars=self.max_text_chars)
        except RecordError as exc:
            self.reject(row, exc)
            return
        if removed and isinstance(rec, Message):
            rec.text = ""  # a message whose text the retention policy removed
        if self.is_erased is not None and _touches_erased(rec, self.is_erased):
            self.summary.erased += 1
            return
        if self.erased_list is not None and not _apply_erased(rec, self.erased_list):
            self.summary.erased += 1
            return
        if isinstance(rec, Message):
            batch.messages.append((row, rec))
        elif isinstance(rec, Member):
            batch.members.append(rec)
        elif isinstance(rec, Conversation):
            batch.conversations.append(rec)
        elif isinstance(rec, Join):
            batch.joins.append(rec)
        elif isinstance(rec, Reaction):
            batch.reactions.append((row, rec))
        else:
            batch.metrics.append(rec)

    def flush(self, batch: _Batch) -> None:
        if not len(batch):
            return
        with self.store.engine.begin() as conn:
            messages = self._resolve_messages(conn, batch.messages)
            reactions = self._resolve_reactions(conn, batch.reactions, messages)
            self._write(conn, batch, messages, reactions)

    def _write(
        self,
        conn: Connection,
        batch: _Batch,
        messages: list[Message],
        reactions: list[Reaction],
    ) -> None:
        implied_members = [m.author for m in messages]
        implied_members += [j.member for j in batch.joins]
        implied_members += [r.member for r in reactions]
        implied_members += [m.member for m in batch.metrics]
        writer.write_members(conn, batch.members, implied_members)
        writer.write_conversations(conn, batch.conversations, [m.conversation for m in messages])
        writer.write_messages(conn, messages)
        writer.write_joins(conn, batch.joins)
        writer.write_reactions(conn, reactions)
        writer.write_metrics(conn, batch.metrics)

    def _resolve_messages(
        self, conn: Connection, rows: list[tuple[RawRow, Message]]
    ) -> list[Message]:
        """Messages ready to land; those with unknown reply targets wait."""
        in_batch = {m.id for _, m in rows}
        targets = {m.reply_to for _, m in rows if m.reply_to and m.reply_to not in in_batch}
        known = in_batch | writer.existing_ids(conn, schema.messages, "id", targets)
        ready: list[Message] = []
        for row, msg in rows:
            if msg.reply_to is None or msg.reply_to in known or is_tombstone(msg.reply_to):
                ready.append(msg)
            else:
                self.pending.messages.append((row, msg))
        return ready

    def _resolve_reactions(
        self,
        conn: Connection,
        rows: list[tuple[RawRow, Reaction]],
        messages: list[Message],
    ) -> list[Reaction]:
        in_batch = {m.id for m in messages}
        targets = {r.message for _, r in rows if r.message not in in_batch}
        known = in_batch | writer.existing_ids(conn, schema.messages, "id", targets)
        ready: list[Reaction] = []
        for row, reaction in rows:
            if reaction.message in known:
                ready.append(reaction)
            else:
                self.pending.reactions.append((row, reaction))
        return ready

    def finish(self) -> None:
        """Land held-back rows whose targets appeared later; reject the rest."""
        waiting = self.pending.messages
        while waiting:
            with self.store.engine.begin() as conn:
                stored = writer.existing_ids(
                    conn, schema.messages, "id", {m.reply_to for _, m in waiting if m.reply_to}
                )
                ready = [(r, m) for r, m in waiting if m.reply_to in stored]
                if not ready:
                    break
                self._write(conn, _Batch(), [m for _, m in ready], [])
                landed = {m.id for _, m in ready}
                waiting = [(r, m) for r, m in waiting if m.id not in landed]
                # Chains (a reply to a held-back reply) resolve on the next pass.
        for row, msg in waiting:
            self.reject(row, RecordError("unknown_reply_target", target=msg.reply_to))
        if self.pending.reactions:
            with self.store.engine.begin() as conn:
                stored = writer.existing_ids(
                    conn, schema.messages, "id", {r.message for _, r in self.pending.reactions}
                )
                ready_reactions = [r for _, r in self.pending.reactions if r.message in stored]
                self._write(conn, _Batch(), [], ready_reactions)
            for row, reaction in self.pending.reactions:
                if reaction.message not in stored:
                    self.reject(row, RecordError("unknown_message", target=reaction.message))
        self.pending = _Pending()


def _touches_erased(rec: Any, is_erased: Callable[[str], bool]) -> bool:
    if isinstance(rec, Message):
        return is_erased(rec.author)
    if isinstance(rec, Member):
        return is_erased(rec.id)
    if isinstance(rec, Join | Reaction | Metric):
        return is_erased(rec.member)
    return False


def _apply_erased(rec: Any, erased: ErasedList) -> bool:
    """Keep ``rec`` (made safe) or skip it (``False``) by the erased list.

    Rows of an erased member, and reactions to an erased message, are
    skipped; a conversation only an erased member wrote in is skipped; one
    they started lands without its title; a reply to an erased message lands
    pointing at its tombstone, without the quote of the erased text.
    """
    if isinstance(rec, Message):
        if erased.message(rec.id):
            return False
        if rec.reply_to is not None and erased.message(rec.reply_to):
            rec.reply_to = erased.tombstone(rec.reply_to)
            rec.extra.pop("quote", None)
    elif isinstance(rec, Reaction):
        return not erased.message(rec.message)
    elif isinstance(rec, Conversation):
        if erased.conversation(rec.id):
            return False
        if erased.title(rec.id):
            rec.title = None
    return True


def _retained(data: Any) -> tuple[Any, bool]:
    """A message exported after the retention policy removed its text
    (``text`` empty, ``text_removed_at`` set) lands as such, not as a reject."""
    if (
        isinstance(data, dict)
        and data.get("type") == "message"
        and data.get("text_removed_at")
        and data.get("text") == ""
    ):
        return {**data, "text": "-"}, True
    return data, False


def default_rejects_path(source_path: Path) -> Path:
    """``FILE.rejects.jsonl`` beside the input, or in the current directory when
    the input's folder is read-only (an export on a mounted share)."""
    import os

    name = source_path.name + ".rejects.jsonl"
    folder = source_path.parent
    return folder / name if os.access(folder, os.W_OK) else Path.cwd() / name


def import_source(
    store: Store,
    source: Source,
    *,
    rejects_path: Path | None = None,
    timezone: str | tzinfo = DEFAULT_TIMEZONE,
    max_text_chars: int = MAX_TEXT_CHARS,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[int], None] | None = None,
    erased: ErasedList | Callable[[str], bool] | None = None,
    locale: str | None = None,
) -> ImportSummary:
    """Import every row of ``source`` into ``store``.

    Parameters
    ----------
    store:
        An open, migrated store.
    source:
        Any adapter (``anchorwatch.ingest.open_source``).
    rejects_path:
        Where rejected rows go as JSONL (``line``, ``code``, ``reason``,
        ``raw``); ``None`` keeps only the first few in the summary.
    timezone:
        Time zone of times written without an offset.
    batch_rows:
        Rows per transaction; bounds memory.
    progress:
        Called with the source position (bytes) after each batch.
    erased:
        What was erased (DESIGN 3.5); default the store's own erased list
        (``anchorwatch.store.erased.erased_list``), so that no import brings
        an erased member back.  A predicate on member ids also works.  Rows of
        erased members (and reactions to their messages, conversations only
        they wrote in) are skipped and counted as ``erased``; replies to
        their messages land pointing at a tombstone.

    Returns
    -------
    ImportSummary
        Counts read, new per table, unchanged, rejected (with reasons), erased.
    """
    tz = resolve_timezone(timezone) if isinstance(timezone, str) else timezone
    if erased is None:
        erased = erased_list(store)
    summary = ImportSummary(source=source.name, format=source.format, rejects_path=rejects_path)
    before = store.counts()
    started = time.perf_counter()
    run_id = _start_run(store, source)
    rejects = RejectsWriter(rejects_path, locale)
    loader = Loader(
        store,
        timezone=tz,
        max_text_chars=max_text_chars,
        rejects=rejects,
        summary=summary,
        erased=erased,
        locale=locale,
    )
    try:
        batch = _Batch()
        for row in source:
            loader.add(row, batch)
            if len(batch) >= batch_rows:
                loader.flush(batch)
                batch = _Batch()
                if progress:
                    progress(source.position)
        loader.flush(batch)
        loader.finish()
        if progress:
            progress(source.position)
    finally:
        rejects.close()
    summary.skipped = dict(sorted(getattr(source, "skipped", {}).items()))
    after = store.counts()
    summary.new = {t: after[t] - before[t] for t in COUNTED_TABLES}
    summary.seconds = time.perf_counter() - started
    if summary.rejected == 0:
        summary.rejects_path = None
    _finish_run(store, run_id, summary)
    return summary


def _start_run(store: Store, source: Source) -> int:
    with store.engine.begin() as conn:
        result = conn.execute(
            insert(schema.imports).values(
                source=str(getattr(source, "path", source.name)),
                format=source.format,
                started_at=utc_now(),
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def _finish_run(store: Store, run_id: int, summary: ImportSummary) -> None:
    counts = {
        "read": summary.read,
        "rejected": summary.rejected,
        "erased": summary.erased,
        "skipped": summary.skipped,
        "unchanged": summary.unchanged,
        "new": summary.new,
    }
    with store.engine.begin() as conn:
        conn.execute(
            update(schema.imports)
            .where(schema.imports.c.id == run_id)
            .values(finished_at=utc_now(), counts=counts)
        )


def iter_rows(rows: Iterable[dict[str, Any]]) -> Iterable[RawRow]:
    """Number plain canonical dictionaries as source lines (for Python callers)."""
    for i, data in enumerate(rows, start=1):
        yield RawRow(i, data=data)
