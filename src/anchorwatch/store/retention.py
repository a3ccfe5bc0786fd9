"""The retention policy: drop old raw message text, keep what was derived.

Member text is personal data; a brand may keep it only as long as it needs it.
With ``retention.months`` set in ``privacy.yaml`` (off by default),
``anchorwatch retention apply`` empties the ``text`` of every message older
than that many months and keeps what the analysis derived from it: the
signals (scores and labels), threads, episodes and outcomes, and, beside the
emptied text, the few facts later stages still read (:func:`text_facts`): its
length (the curtness driver), the names its @mentions addressed (whom thanks
and attacks were aimed at), and a fingerprint of its normalised text (the
reply-spam rule).  ``anchorwatch analyze`` never needs the removed text
again: only messages the analysis has already been through lose their text,
and episodes opened by them are kept as they were (see
``engines.episodes``).  Wherever a person would read the text, they read
"text removed by retention policy".

>>> text_facts(["谢谢@老张 ，太感谢了", "hi"])[0]["mentions"]
['老张']
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import polars as pl
from sqlalchemy import bindparam, delete, func, select, update

from anchorwatch.config import read_settings
from anchorwatch.store import Store, schema, writer

PRIVACY_VERSION = "privacy.v1"
BATCH = 2_000
#: The reply-spam rule's normalisation (``members.gaming.spam_acts``):
#: lower-cased, without spaces, punctuation and symbols.
_SPAM_NORM = r"[\s\p{P}\p{S}]+"


class RetentionError(ValueError):
    """The policy cannot run; ``code`` is an i18n key."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class RetentionSettings:
    """``retention`` of ``privacy.yaml``: ``months`` (None: off) and whether
    the embeddings of removed questions stay."""

    months: int | None = None
    keep_question_vectors: bool = True


@cache
def privacy_settings() -> dict[str, Any]:
    """The packaged ``privacy.yaml``, or the file named by ``ANCHORWATCH_PRIVACY_CONFIG``."""
    data = read_settings("privacy.yaml", "ANCHORWATCH_PRIVACY_CONFIG")
    if data.get("version") != PRIVACY_VERSION:
        raise RetentionError("error.privacy_config", version=str(data.get("version")))
    return data


def retention_settings(data: dict[str, Any] | None = None) -> RetentionSettings:
    raw = (data or privacy_settings()).get("retention") or {}
    months = raw.get("months")
    if months is not None and (not isinstance(months, int) or months < 1):
        raise RetentionError("error.retention_months", value=str(months))
    return RetentionSettings(months, bool(raw.get("keep_question_vectors", True)))


def months_before(now: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the last day
    of that month when it is shorter).

    >>> months_before(datetime(2026, 3, 31, 12), 1)
    datetime.datetime(2026, 2, 28, 12, 0)
    """
    index = now.year * 12 + now.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    nxt = datetime(year + (month == 12), month % 12 + 1, 1)
    last_day = (nxt - datetime(year, month, 1)).days
    return now.replace(year=year, month=month, day=min(now.day, last_day))


def text_facts(texts: list[str]) -> list[dict[str, Any]]:
    """What the analysis still reads once a text is gone: the names it
    @mentions and a fingerprint (SHA-256 of the text as the reply-spam rule
    normalises it)."""
    from anchorwatch.episodes.batch import mentions

    norm = pl.Series(texts, dtype=pl.String).str.to_lowercase().str.replace_all(_SPAM_NORM, "")
    return [
        {"mentions": mentions(text), "fingerprint": hashlib.sha256(n.encode()).hexdigest()}
        for text, n in zip(texts, norm.to_list(), strict=True)
    ]


#: Starts the stand-in of a removed text in the ledger's act frame: a
#: private-use character, which the reply-spam normalisation keeps and no
#: member's text begins with.
SURROGATE_PREFIX = "\ue000"


def spam_surrogate(facts: dict[str, Any] | None) -> str:
    """What the reply-spam rule compares for a removed text: its fingerprint,
    behind :data:`SURROGATE_PREFIX` (it normalises to itself).  The members
    stage blanks it again once the rule has run, so no one ever reads it."""
    return SURROGATE_PREFIX + str((facts or {}).get("fingerprint") or "")


@dataclass
class RetentionReport:
    """What one run did: texts removed, messages left for ``analyze`` first."""

    months: int
    cutoff: datetime
    removed: int = 0
    already: int = 0
    waiting: int = 0
    vectors_deleted: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "months": self.months,
            "cutoff": self.cutoff.isoformat(timespec="seconds") + "Z",
            "removed": self.removed,
            "already": self.already,
            "waiting": self.waiting,
            "vectors_deleted": self.vectors_deleted,
            "seconds": round(self.seconds, 3),
        }


def apply_retention(
    store: Store,
    months: int | None = None,
    *,
    now: datetime | None = None,
    settings: RetentionSettings | None = None,
    dry_run: bool = False,
) -> RetentionReport:
    """Remove the text of messages sent before ``now`` minus ``months``.

    Parameters
    ----------
    months:
        Overrides ``retention.months`` of ``privacy.yaml``; with neither, the
        policy is off and :class:`RetentionError` says so.
    now:
        UTC "now" (naive or aware); default the current time.
    dry_run:
        Count what would be removed; change nothing.

    Only messages the analysis has been through (they have signals and a
    thread) lose their text; the others are counted as ``waiting`` until
    ``anchorwatch analyze`` has read them once.  The database files are
    compacted afterwards (:meth:`Store.compact`), so no copy of the removed
    text stays in them.

    Examples
    --------
    >>> report = apply_retention(store, 24)   # doctest: +SKIP
    >>> report.removed, report.waiting         # doctest: +SKIP
    (812344, 0)
    """
    settings = settings or retention_settings()
    months = months if months is not None else settings.months
    if months is None:
        raise RetentionError("error.retention_off")
    if months < 1:
        raise RetentionError("error.retention_months", value=str(months))
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    report = RetentionReport(months, months_before(now, months))
    m, s, th = schema.messages, schema.message_signals, schema.message_threads
    old = m.c.sent_at < report.cutoff
    analysed = s.c.message.is_not(None) & th.c.message.is_not(None)
    base = (
        select(func.count())
        .select_from(m.outerjoin(s, s.c.message == m.c.id).outerjoin(th, th.c.message == m.c.id))
        .where(old)
    )
    with store.engine.connect() as conn:
        removed = m.c.text_removed_at.is_not(None)
        report.already = int(conn.execute(base.where(removed)).scalar_one())
        report.waiting = int(
            conn.execute(base.where(m.c.text_removed_at.is_(None), ~analysed)).scalar_one()
        )
    if dry_run:
        report.removed = int(_count_due(store, report.cutoff))
        report.seconds = time.perf_counter() - started
        return report
    from anchorwatch.store.erasure import compact_pending, mark_compaction

    after = ""
    stamp = now.replace(microsecond=0)
    while True:
        with store.engine.begin() as conn:
            rows = conn.execute(
                select(m.c.id, m.c.text, m.c.extra)
                .join(s, s.c.message == m.c.id)
                .join(th, th.c.message == m.c.id)
                .where(old, m.c.text_removed_at.is_(None), m.c.id > after)
                .order_by(m.c.id)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            facts = text_facts([r.text for r in rows])
            mark_compaction(conn, ["messages", "question_vectors"])
            conn.execute(
                update(m)
                .where(m.c.id == bindparam("mid"))
                .values(
                    text="",
                    text_removed_at=stamp,
                    text_chars=bindparam("chars"),
                    text_facts=bindparam("facts"),
                    extra=bindparam("new_extra"),
                ),
                [
                    {
                        "mid": r.id,
                        "chars": len(r.text),
                        "facts": f,
                        # A quoted reply keeps the quoted text in ``extra``: it goes too.
                        "new_extra": _without_quote(r.extra),
                    }
                    for r, f in zip(rows, facts, strict=True)
                ],
            )
            if not settings.keep_question_vectors:
                qv = schema.question_vectors
                ids = [r.id for r in rows]
                for part in range(0, len(ids), writer.LOOKUP_CHUNK):
                    done = conn.execute(
                        delete(qv).where(qv.c.message.in_(ids[part : part + writer.LOOKUP_CHUNK]))
                    )
                    report.vectors_deleted += int(done.rowcount or 0)
        report.removed += len(rows)
        after = rows[-1].id
    # Also finishes a compaction an earlier run could not do.
    compact_pending(store)
    report.seconds = time.perf_counter() - started
    return report


def _count_due(store: Store, cutoff: datetime) -> int:
    m, s, th = schema.messages, schema.message_signals, schema.message_threads
    stmt = (
        select(func.count())
        .select_from(m.join(s, s.c.message == m.c.id).join(th, th.c.message == m.c.id))
        .where(m.c.sent_at < cutoff, m.c.text_removed_at.is_(None))
    )
    with store.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def _without_quote(extra: dict[str, Any] | None) -> dict[str, Any] | None:
    if not extra or "quote" not in extra:
        return extra
    rest = {k: v for k, v in extra.items() if k != "quote"}
    return rest or None


def removed_text(locale: str | None = None) -> str:
    """What a person reads where a removed text would be."""
    from anchorwatch.i18n import t

    return t("privacy.text_removed", locale=locale)


__all__ = [
    "SURROGATE_PREFIX",
    "RetentionError",
    "RetentionReport",
    "RetentionSettings",
    "apply_retention",
    "months_before",
    "privacy_settings",
    "removed_text",
    "retention_settings",
    "spam_surrogate",
    "text_facts",
]
