"""Erasing a member (DESIGN 3.5): everything held about them, and no copy left.

:func:`erase_member` removes, in one transaction:

- the member's profile, messages, joins, reactions (theirs and to their
  messages), content metrics, care log entries and venting channels and
  messages;
- everything derived from their text or about them: the signals, threads and
  repeated-question embeddings of their messages, the episodes they are the
  subject of, every act they did or that served them, and their message ids
  wherever other records list them (care-log evidence, frozen episodes);
- the conversations only they wrote in, and the title of a forum thread they
  started (it was their text);

and rewrites what must stay: other members' replies to their messages point
at a tombstone (``erased:`` + 16 hex digits) and lose any quote of the erased
text, join records lose the member as inviter, audit entries name the member
only by the hash.  The threads those messages were in are reopened (their
episodes deleted, their thread rows dropped) and the replies to the erased
messages lose their signals (they were scored with the erased text as
context), so the analysis computes them again without the member: at once by
default, or at the next ``anchorwatch analyze``.  Ledger, value index, burnout
risk and awards are computed on demand from what is stored, so they follow.

The member id, their message ids and the conversations that were theirs are
kept only as salted hashes on the erased list (``store.erased``): a re-import
skips their rows and counts them as ``erased``.  Finally the database files
are compacted (:meth:`Store.compact`) so that no page of the database file,
the SQLite write-ahead log or a PostgreSQL table keeps the erased text.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, String, bindparam, cast, delete, func, or_, select, update

from anchorwatch.store import Store, StoreError, schema, writer
from anchorwatch.store.erased import (
    ErasedList,
    erased_list,
    erased_ref,
    remember,
    salted_hash,
    store_salt,
)

CHUNK = writer.LOOKUP_CHUNK
#: ``analysis_state`` key read by ``engines.episodes``: recompute the
#: community-wide outcomes at the next run even when no message is new.
REFRESH_KEY = "episodes_refresh"
#: ``analysis_state`` key: deleted text waits for :meth:`Store.compact`.
COMPACT_KEY = "compact_pending"
#: The tables an erasure changes (compacted afterwards on PostgreSQL).
TOUCHED_TABLES = (
    "members",
    "conversations",
    "messages",
    "joins",
    "reactions",
    "metrics",
    "message_signals",
    "message_threads",
    "episodes",
    "episode_acts",
    "question_vectors",
    "care_actions",
    "vent_channels",
    "vent_messages",
    "audit_log",
    "analysis_state",
    "erased",
)


class ErasureError(LookupError):
    """The member cannot be erased; ``code`` is an i18n key."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass
class ErasureReport:
    """What one erasure did.  Names the member only as ``erased:<hash>``.

    ``deleted`` counts rows deleted per table; ``tombstoned`` the other
    members' replies that now point at a tombstone; ``reopened`` the other
    members' messages whose thread and episodes are recomputed; ``rescored``
    the replies whose signals are recomputed.
    """

    member: str
    erased_at: datetime
    by: str
    deleted: dict[str, int] = field(default_factory=dict)
    tombstoned: int = 0
    titles_cleared: int = 0
    reopened: int = 0
    rescored: int = 0
    audit_rewritten: int = 0
    compacted: bool = False
    reanalysed: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "erased_at": self.erased_at.isoformat(timespec="seconds") + "Z",
            "by": self.by,
            "deleted": dict(self.deleted),
            "tombstoned": self.tombstoned,
            "titles_cleared": self.titles_cleared,
            "reopened": self.reopened,
            "rescored": self.rescored,
            "audit_rewritten": self.audit_rewritten,
            "compacted": self.compacted,
            "reanalysed": self.reanalysed,
            "seconds": round(self.seconds, 3),
        }


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _ids(conn: Connection, column: Any, where: Any) -> list[Any]:
    return list(conn.execute(select(column).where(where)).scalars())


def _in(conn: Connection, column: Any, key: Any, values: Sequence[Any], *extra: Any) -> list[Any]:
    """``column`` of the rows whose ``key`` is in ``values`` (chunked)."""
    out: list[Any] = []
    for part in _chunks(values):
        out.extend(conn.execute(select(column).where(key.in_(part), *extra)).scalars())
    return out


def _delete_in(conn: Connection, table: Any, key: Any, values: Sequence[Any]) -> int:
    n = 0
    for part in _chunks(values):
        n += int(conn.execute(delete(table).where(key.in_(part))).rowcount or 0)
    return n


def resolve_member(store: Store, member: str) -> str:
    """The id of a member given by id or unique display name.

    Raises :class:`ErasureError` (``error.already_erased`` for an id on the
    erased list, else ``error.no_member``).
    """
    mem = schema.members
    with store.engine.connect() as conn:
        if conn.execute(select(mem.c.id).where(mem.c.id == member)).first():
            return member
        named = _ids(conn, mem.c.id, mem.c.name == member)
    if len(named) == 1:
        return str(named[0])
    if erased_list(store).member(member):
        raise ErasureError("error.already_erased", member=member)
    raise ErasureError("error.no_member", member=member)


def erasure_preview(store: Store, member: str) -> dict[str, int]:
    """What :func:`erase_member` would delete, counted (the confirmation step)."""
    member = resolve_member(store, member)
    m, e, ea = schema.messages, schema.episodes, schema.episode_acts
    counts: dict[str, int] = {}

    def count(table: Any, where: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())

    with store.engine.connect() as conn:
        counts["messages"] = count(m, m.c.author == member)
        counts["episodes"] = count(e, e.c.subject == member)
        counts["acts"] = count(ea, or_(ea.c.member == member, ea.c.served == member))
        counts["joins"] = count(schema.joins, schema.joins.c.member == member)
        counts["reactions"] = count(schema.reactions, schema.reactions.c.member == member)
        counts["metrics"] = count(schema.metrics, schema.metrics.c.member == member)
        counts["care_actions"] = count(schema.care_actions, schema.care_actions.c.member == member)
        counts["vent_messages"] = count(
            schema.vent_messages, schema.vent_messages.c.member == member
        )
    return counts


def erase_member(
    store: Store,
    member: str,
    *,
    by: str,
    reanalyze: bool = True,
    compact: bool = True,
    detector: Any = None,
) -> ErasureReport:
    """Erase ``member`` (an id, or a unique display name) from ``store``.

    Parameters
    ----------
    by:
        Who erases (a staff user name): written to the audit log with the
        time and the member's hash, never the erased data.
    reanalyze:
        Recompute the reopened threads and the replies' signals now (the
        signals and episodes stages over what the erasure reopened); with
        ``False`` the next ``anchorwatch analyze`` does it.
    compact:
        Rewrite the database files afterwards (:meth:`Store.compact`); only
        a caller erasing many members in a row should defer it (and call
        ``store.compact(TOUCHED_TABLES)`` once at the end).
    detector:
        The signals detector for re-scoring (default: the configured one).

    Returns
    -------
    ErasureReport
        Counts of what was deleted and rewritten, by table.

    Examples
    --------
    >>> report = erase_member(store, "u0042", by="admin")  # doctest: +SKIP
    >>> report.member, report.deleted["messages"]           # doctest: +SKIP
    ('erased:3f1c…', 118)
    """
    from anchorwatch.store.audit import audit

    started = time.perf_counter()
    member = resolve_member(store, member)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with store.engine.begin() as conn:
        salt = store_salt(conn)
        report = ErasureReport(erased_ref(salted_hash(salt, member)), now, by)
        _erase(conn, member, salt, report)
        mark_compaction(conn, TOUCHED_TABLES)
    audit(
        store,
        by,
        "erase_member",
        member=report.member,
        detail={"hash": salted_hash(salt, member), "deleted": dict(report.deleted)},
    )
    if compact:
        try:
            compact_pending(store)
        except StoreError:
            raise ErasureError("error.erased_not_compacted", ref=report.member) from None
        report.compacted = True
    if reanalyze:
        reanalyse(store, detector)
        report.reanalysed = True
    report.seconds = time.perf_counter() - started
    return report


def mark_compaction(conn: Connection, tables: Iterable[str]) -> None:
    """Remember, in the transaction that deletes text, that the database files
    must be compacted, so a compaction that cannot run now is not forgotten."""
    st = schema.analysis_state
    pending = conn.execute(select(st.c.value).where(st.c.key == COMPACT_KEY)).scalar()
    known = list((pending or {}).get("tables") or [])
    value = {"tables": sorted(set(known) | set(tables))}
    writer.upsert(conn, st, [{"key": COMPACT_KEY, "value": value}], keys=["key"], replace=["value"])


def compact_pending(store: Store) -> bool:
    """Compact the database files if an erasure or a retention run left that
    to do (another process kept the SQLite file busy); returns whether it did.

    Raises :class:`~anchorwatch.store.StoreError` (``error.wal_busy``) while
    the file is still busy; the compaction then stays pending.
    """
    st = schema.analysis_state
    with store.engine.connect() as conn:
        pending = conn.execute(select(st.c.value).where(st.c.key == COMPACT_KEY)).scalar()
    if pending is None:
        return False
    with store.engine.begin() as conn:
        conn.execute(delete(st).where(st.c.key == COMPACT_KEY))
    try:
        store.compact(list(pending.get("tables") or []))
    except Exception:
        with store.engine.begin() as conn:
            mark_compaction(conn, pending.get("tables") or [])
        raise
    return True


def reanalyse(store: Store, detector: Any = None) -> None:
    """Run the signals and episodes stages over what an erasure reopened."""
    from anchorwatch.engines.episodes import run_episodes
    from anchorwatch.engines.local import run_signals

    if detector is None:
        from anchorwatch.signals.registry import get_detector

        detector = get_detector()
    run_signals(store, detector)
    encoder = getattr(detector, "encoder", detector)
    run_episodes(store, embedder=getattr(encoder, "embedder", None))


def _erase(conn: Connection, member: str, salt: bytes, report: ErasureReport) -> None:
    m, th, sig = schema.messages, schema.message_threads, schema.message_signals
    e, ea = schema.episodes, schema.episode_acts
    deleted = report.deleted
    name = conn.execute(select(schema.members.c.name).where(schema.members.c.id == member)).scalar()
    mine = _ids(conn, m.c.id, m.c.author == member)
    mine_set = set(mine)
    tomb = ErasedList(salt)

    # -- what the member's presence touched ---------------------------------------------
    replies = [
        r
        for part in _chunks(mine)
        for r in conn.execute(
            select(m.c.id, m.c.reply_to, m.c.extra, m.c.text_removed_at).where(
                m.c.reply_to.in_(part), m.c.author != member
            )
        )
    ]
    about = _ids(conn, e.c.id, e.c.subject == member)
    acted = _ids(conn, ea.c.episode, or_(ea.c.member == member, ea.c.served == member))
    threads = set(_in(conn, th.c.thread, th.c.message, mine + [r.id for r in replies]))
    threads.update(
        t for t in _in(conn, e.c.thread, e.c.id, sorted(set(about) | set(acted))) if t is not None
    )
    thread_list = sorted(threads)
    # Episodes opened by a text the retention policy removed cannot be
    # recomputed: unless they are about the member, they stay, without them.
    frozen: set[str] = set()
    for part in _chunks(thread_list):
        frozen.update(
            conn.execute(
                select(e.c.id)
                .join(m, m.c.id == e.c.anchor)
                .where(
                    e.c.thread.in_(part),
                    e.c.subject != member,
                    m.c.text_removed_at.is_not(None),
                )
            ).scalars()
        )
    reopen_eps = set(_in(conn, e.c.id, e.c.thread, thread_list)) - frozen
    gone_eps = sorted(reopen_eps | set(about))

    # -- derived records -----------------------------------------------------------------
    deleted["episode_acts"] = _delete_in(conn, ea, ea.c.episode, gone_eps)
    deleted["episode_acts"] += int(
        conn.execute(delete(ea).where(or_(ea.c.member == member, ea.c.served == member))).rowcount
        or 0
    )
    deleted["episode_acts"] += _delete_in(conn, ea, ea.c.message, mine)
    deleted["episodes"] = _delete_in(conn, e, e.c.id, gone_eps)
    _strip_frozen(conn, sorted(frozen), mine_set)
    # The other members' messages of the reopened threads are threaded again.
    others = _in(
        conn,
        th.c.message,
        th.c.thread,
        thread_list,
        ~th.c.message.in_(select(m.c.id).where(m.c.text_removed_at.is_not(None))),
    )
    others = [x for x in others if x not in mine_set]
    report.reopened = len(others)
    deleted["message_threads"] = _delete_in(conn, th, th.c.message, mine)
    _delete_in(conn, th, th.c.message, others)
    _rename_threads(conn, thread_list, member, mine_set, tomb)
    # Replies were scored with the erased text as their context: score again.
    rescore = [r.id for r in replies if r.text_removed_at is None]
    report.rescored = len(rescore)
    deleted["message_signals"] = _delete_in(conn, sig, sig.c.message, mine)
    _delete_in(conn, sig, sig.c.message, rescore)
    qv = schema.question_vectors
    deleted["question_vectors"] = _delete_in(conn, qv, qv.c.message, mine)

    # -- records of the member ---------------------------------------------------------
    r = schema.reactions
    deleted["reactions"] = int(conn.execute(delete(r).where(r.c.member == member)).rowcount or 0)
    deleted["reactions"] += _delete_in(conn, r, r.c.message, mine)
    j = schema.joins
    deleted["joins"] = int(conn.execute(delete(j).where(j.c.member == member)).rowcount or 0)
    if name:
        _scrub_inviter(conn, name)
    mt = schema.metrics
    deleted["metrics"] = int(conn.execute(delete(mt).where(mt.c.member == member)).rowcount or 0)
    ca = schema.care_actions
    deleted["care_actions"] = int(
        conn.execute(delete(ca).where(ca.c.member == member)).rowcount or 0
    )
    _scrub_care_evidence(conn, mine_set | set(about))
    vm, vc = schema.vent_messages, schema.vent_channels
    deleted["vent_messages"] = int(
        conn.execute(delete(vm).where(vm.c.member == member)).rowcount or 0
    )
    deleted["vent_channels"] = int(
        conn.execute(delete(vc).where(vc.c.member == member)).rowcount or 0
    )
    report.audit_rewritten = _rewrite_audit(conn, member, report.member)

    # -- other members' replies: a tombstone, no quote ------------------------------------
    if replies:
        conn.execute(
            update(m)
            .where(m.c.id == bindparam("mid"))
            .values(reply_to=bindparam("tomb"), extra=bindparam("new_extra")),
            [
                {
                    "mid": r.id,
                    "tomb": tomb.tombstone(r.reply_to),
                    "new_extra": _without(r.extra, "quote"),
                }
                for r in replies
            ],
        )
    report.tombstoned = len(replies)

    # -- conversations -----------------------------------------------------------------------
    convs = sorted(set(_in(conn, m.c.conversation, m.c.id, mine)))
    started_by_them = _started_by(conn, convs, member)
    deleted["messages"] = _delete_in(conn, m, m.c.id, mine)
    c = schema.conversations
    left: dict[str, int] = {}
    for part in _chunks(convs):
        for cid, n in conn.execute(
            select(m.c.conversation, func.count())
            .where(m.c.conversation.in_(part))
            .group_by(m.c.conversation)
        ):
            left[cid] = int(n)
    empty = [cid for cid in convs if not left.get(cid)]
    deleted["conversations"] = _delete_in(conn, c, c.c.id, empty)
    titled = [cid for cid in started_by_them if left.get(cid)]
    for part in _chunks(titled):
        conn.execute(update(c).where(c.c.id.in_(part)).values(title=None))
    report.titles_cleared = len(titled)
    deleted["members"] = int(
        conn.execute(delete(schema.members).where(schema.members.c.id == member)).rowcount or 0
    )

    # -- the erased list, and what the analysis must redo --------------------------------------
    remember(conn, salt, "member", [member])
    remember(conn, salt, "message", mine)
    remember(conn, salt, "conversation", empty)
    remember(conn, salt, "title", titled)
    writer.upsert(
        conn,
        schema.analysis_state,
        [{"key": REFRESH_KEY, "value": {"reason": "erasure"}}],
        keys=["key"],
        replace=["value"],
    )


def _without(extra: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    if not extra or key not in extra:
        return extra
    rest = {k: v for k, v in extra.items() if k != key}
    return rest or None


def _strip_frozen(conn: Connection, frozen: Sequence[str], mine: set[str]) -> None:
    """Frozen episodes stay, without the member's messages and responses."""
    e = schema.episodes
    for part in _chunks(frozen):
        for eid, msgs, response in conn.execute(
            select(e.c.id, e.c.messages, e.c.response).where(e.c.id.in_(part))
        ):
            kept = [x for x in msgs or [] if x not in mine]
            resp = None if response and response.get("message") in mine else response
            if kept != (msgs or []) or resp != response:
                conn.execute(update(e).where(e.c.id == eid).values(messages=kept, response=resp))


def _rename_threads(
    conn: Connection, threads: Sequence[str], member: str, mine: set[str], tomb: ErasedList
) -> None:
    """Threads that stay (frozen ones) must not be named after the member:
    a thread id holds the message that opened it, or the join key (with the
    member id) of the arrival that did."""
    th, e = schema.message_threads, schema.episodes
    renames: dict[str, str] = {}
    for tid in threads:
        conv, _, head = tid.partition("#")
        if head in mine:
            renames[tid] = f"{conv}#{tomb.tombstone(head)}"
        elif head.startswith(f"join:{member}:"):
            renames[tid] = f"{conv}#join:{tomb.tombstone(member)}:" + head[len(member) + 6 :]
    for old, new in renames.items():
        conn.execute(update(th).where(th.c.thread == old).values(thread=new))
        conn.execute(update(e).where(e.c.thread == old).values(thread=new))


def _started_by(conn: Connection, convs: Sequence[str], member: str) -> list[str]:
    """The forum threads (not chat streams) whose first message is the member's:
    their title is the member's text."""
    m, c = schema.messages, schema.conversations
    out = []
    for part in _chunks(convs):
        threads = conn.execute(
            select(c.c.id).where(c.c.id.in_(part), c.c.stream.is_(False), c.c.title.is_not(None))
        ).scalars()
        for cid in threads:
            first = conn.execute(
                select(m.c.author).where(m.c.conversation == cid).order_by(m.c.sent_at, m.c.id)
            ).first()
            if first is not None and first[0] == member:
                out.append(cid)
    return out


def _scrub_inviter(conn: Connection, name: str) -> None:
    """Join records that name the member as the one who invited someone."""
    j = schema.joins
    hits = conn.execute(
        select(j.c.id, j.c.extra).where(cast(j.c.extra, String).contains(name, autoescape=True))
    ).all()
    for jid, extra in hits:
        if isinstance(extra, dict) and extra.get("inviter_name") == name:
            conn.execute(
                update(j).where(j.c.id == jid).values(extra=_without(extra, "inviter_name"))
            )


def _scrub_care_evidence(conn: Connection, gone: set[str]) -> None:
    """Other members' care-log entries that cite the member's messages or
    episodes keep the entry, not the citation."""
    ca = schema.care_actions
    for cid, episode, extra in conn.execute(select(ca.c.id, ca.c.episode, ca.c.extra)).all():
        evidence = list((extra or {}).get("evidence") or [])
        kept = [x for x in evidence if x not in gone]
        if kept != evidence or episode in gone:
            conn.execute(
                update(ca)
                .where(ca.c.id == cid)
                .values(
                    extra={**(extra or {}), "evidence": kept},
                    episode=None if episode in gone else episode,
                )
            )


def _rewrite_audit(conn: Connection, member: str, ref: str) -> int:
    """Audit entries keep who did what and when; the member becomes ``ref``."""
    a = schema.audit_log
    rows = conn.execute(select(a.c.id, a.c.detail).where(a.c.member == member)).all()
    for aid, detail in rows:
        conn.execute(
            update(a).where(a.c.id == aid).values(member=ref, detail=_replace(detail, member, ref))
        )
    return len(rows)


def _replace(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    return new if value == old else value


__all__ = [
    "COMPACT_KEY",
    "REFRESH_KEY",
    "TOUCHED_TABLES",
    "ErasureError",
    "ErasureReport",
    "compact_pending",
    "erase_member",
    "erasure_preview",
    "mark_compaction",
    "reanalyse",
    "resolve_member",
]
