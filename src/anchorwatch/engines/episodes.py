"""In-process engine: the episodes and outcomes stage of `anchorwatch analyze`.

Incremental and resumable by construction:

- a message is new to this stage while it has no ``message_threads`` row
  (and it is only taken once the signals stage has scored it);
- each unit of work (a group of forum threads, or a time slice of a chat
  stream) writes the thread rows of its new messages and replaces the
  episodes of the threads they touched, in one transaction.  A run killed
  half-way leaves whole units behind and the next run starts with the rest;
  a run over unchanged data finds nothing new and writes nothing;
- the cross-conversation outcomes (came back within 7 / 30 days, repeated
  question clusters) are recomputed over the stored episodes and written only
  where they changed.

All analysis lives in ``anchorwatch.episodes`` as pure functions; this module
reads the store, calls them and writes the results.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import polars as pl
from sqlalchemy import Connection, bindparam, delete, func, select, update

from anchorwatch.episodes.batch import LABEL_INDEX, JoinEvent, MessageBatch
from anchorwatch.episodes.config import EpisodesConfig, episodes_config
from anchorwatch.episodes.detect import Episode, episode_id, thread_episodes
from anchorwatch.episodes.newcomers import (
    first_post_arrivals,
    join_key,
    member_start,
    newcomer_flags,
)
from anchorwatch.episodes.outcomes import returned_within, valence
from anchorwatch.episodes.questions import cluster_questions
from anchorwatch.episodes.threads import assign_threads
from anchorwatch.records import STAFF_ROLES
from anchorwatch.signals.labels import LABELS
from anchorwatch.store import Store, schema, writer
from anchorwatch.store.analysis import read_frame
from anchorwatch.store.erasure import REFRESH_KEY

FORUM_GROUP = 400
STREAM_SLICE = 20_000


class Embed(Protocol):
    def embed(self, texts: Sequence[str | None]) -> np.ndarray: ...


@dataclass
class EpisodesRun:
    """What one episodes pass did."""

    messages: int = 0
    conversations: int = 0
    episodes_written: int = 0
    returned_updated: int = 0
    questions_embedded: int = 0
    clusters_updated: int = 0
    recomputed_all: bool = False
    seconds: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)


_AT = pl.Datetime("us")


def _epoch(col: str) -> pl.Expr:
    return pl.col(col).dt.epoch("s").alias(col)


def _to_dt(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC).replace(tzinfo=None)


@dataclass
class _Community:
    """Community-wide facts every conversation's episodes need."""

    newcomer: dict[str, bool]
    arrivals: dict[str, str]
    names: dict[str, str]
    official: set[str]
    stream_channel: dict[str, str]  # conversation -> channel, chat streams only
    joins_by_channel: dict[str, list[JoinEvent]]


def _community(conn: Connection, cfg: EpisodesConfig) -> _Community:
    m, mem, j, c = schema.messages, schema.members, schema.joins, schema.conversations
    msgs = read_frame(
        conn,
        select(m.c.id, m.c.author, m.c.conversation, m.c.sent_at),
        {"id": pl.String, "author": pl.String, "conversation": pl.String, "sent_at": _AT},
    ).with_columns(_epoch("sent_at").alias("t"))
    members = read_frame(
        conn,
        select(mem.c.id, mem.c.name, mem.c.role, mem.c.joined_at),
        {"id": pl.String, "name": pl.String, "role": pl.String, "joined_at": _AT},
    ).with_columns(_epoch("joined_at").alias("joined_t"))
    joins = read_frame(
        conn,
        select(j.c.member, j.c.channel, j.c.at),
        {"member": pl.String, "channel": pl.String, "at": _AT},
    ).with_columns(_epoch("at").alias("t"))
    convs = conn.execute(select(c.c.id, c.c.channel, c.c.stream)).all()
    stream_channel = {cid: ch or cid for cid, ch, stream in convs if stream}
    conv_channel = pl.DataFrame(
        [(cid, ch or cid) for cid, ch, _ in convs],
        schema={"conversation": pl.String, "channel": pl.String},
        orient="row",
    )
    first = int(msgs["t"].min()) if msgs.height else 0  # type: ignore[arg-type]
    starts = member_start(msgs, members, joins, first + cfg.warmup_s)
    flags = newcomer_flags(msgs.select("id", "author", "t"), starts, cfg)
    channels = msgs.select("id", "conversation").join(conv_channel, on="conversation")
    arrivals = first_post_arrivals(
        flags,
        starts,
        joins,
        channels.select("id", "channel"),
        set(stream_channel.values()),
        cfg,
    )
    names: dict[str, str] = {}
    for mid, name in members.select("id", "name").iter_rows():
        names.setdefault(mid, mid)
        if name:
            names.setdefault(name, mid)
    by_channel: dict[str, list[JoinEvent]] = defaultdict(list)
    name_of = dict(members.select("id", "name").iter_rows())
    for member, channel, t in joins.select("member", "channel", "t").iter_rows():
        key = join_key(member, channel, int(t))
        by_channel[channel].append(JoinEvent(key, member, name_of.get(member), int(t)))
    return _Community(
        newcomer=dict(flags.select("id", "newcomer").iter_rows()),
        arrivals=arrivals,
        names=names,
        official={
            mid for mid, role in members.select("id", "role").iter_rows() if role in STAFF_ROLES
        },
        stream_channel=stream_channel,
        joins_by_channel=dict(by_channel),
    )


_HEAD = (
    schema.messages.c.id,
    schema.messages.c.conversation,
    schema.messages.c.author,
    schema.messages.c.reply_to,
    schema.messages.c.sent_at,
    schema.messages.c.text,
    schema.message_signals.c.labels,
    schema.message_signals.c.evidence,
)
_P0 = len(_HEAD)  # where the label probabilities start in a loaded row
_COLUMNS = (
    *_HEAD,
    *(schema.message_signals.c[f"p_{label}"] for label in LABELS),
    schema.message_threads.c.thread,
)


def _load(conn: Connection, where: Any) -> list[Any]:
    m, s, mt = schema.messages, schema.message_signals, schema.message_threads
    stmt = (
        select(*_COLUMNS)
        .join(s, s.c.message == m.c.id)
        .outerjoin(mt, mt.c.message == m.c.id)
        .where(where)
        .order_by(m.c.conversation, m.c.sent_at, m.c.id)
    )
    return list(conn.execute(stmt))


def _batch(conv: str, stream: bool, rows: list[Any], com: _Community) -> MessageBatch:
    n = len(rows)
    labels = np.zeros((n, len(LABELS)), dtype=bool)
    scores = np.zeros((n, len(LABELS)), dtype=np.float32)
    for r, row in enumerate(rows):
        for name in row[6] or ():
            k = LABEL_INDEX.get(name)
            if k is not None:
                labels[r, k] = True
        scores[r] = row[_P0 : _P0 + len(LABELS)]
    authors = [row[2] for row in rows]
    return MessageBatch(
        conversation=conv,
        stream=stream,
        id=[row[0] for row in rows],
        author=authors,
        reply_to=[row[3] for row in rows],
        t=np.array([int(row[4].replace(tzinfo=UTC).timestamp()) for row in rows], np.int64),
        text=[row[5] for row in rows],
        labels=labels,
        scores=scores,
        evidence=[row[7] or {} for row in rows],
        newcomer=np.array([com.newcomer.get(row[0], False) for row in rows], dtype=bool),
        official=np.array([a in com.official for a in authors], dtype=bool),
        thread=[row[-1] for row in rows],
    )


def _episode_rows(
    eps: Iterable[Episode], version: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of ``episodes`` and ``episode_acts`` for a batch of episodes."""
    rows, acts = [], []
    for ep in eps:
        rows.append(
            {
                "id": ep.id,
                "kind": ep.kind,
                "conversation": ep.conversation,
                "thread": ep.thread,
                "subject": ep.subject,
                "anchor": ep.anchor,
                "started_at": _to_dt(ep.started_t),
                "ended_at": _to_dt(ep.ended_t),
                "messages": ep.messages,
                "outcome": ep.outcome,
                "question": ep.question,
                "question_cluster": None,
                "times_asked_before": None,
                "response": ep.response,
                "version": version,
            }
        )
        for a in ep.acts:
            acts.append(
                {
                    "episode": ep.id,
                    "message": a["message"],
                    "act": a["act"],
                    "member": a["member"],
                    "served": a["served"],
                    "at": _to_dt(a["at"]),
                    "score": a["score"],
                    "latency_s": a["latency_s"],
                    "evidence": a["evidence"],
                }
            )
    return rows, acts


def _chunks(items: Sequence[Any], n: int = writer.LOOKUP_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), n):
        yield items[start : start + n]


def _replace(
    conn: Connection,
    threads: Iterable[str],
    eps: list[Episode],
    new_threads: list[dict[str, Any]],
    version: str,
) -> None:
    """One unit of work: thread rows of new messages, episodes of touched threads.

    Episodes opened by a message whose text the retention policy removed are
    frozen: they stay as they were stored (they cannot be detected again
    without the text), and a detection anchored on such a message is dropped.
    """
    e, ea = schema.episodes, schema.episode_acts
    touched = sorted(set(threads))
    ids = [ep.id for ep in eps]
    frozen: set[str] = set()
    for part in _chunks(touched):
        old = list(conn.execute(select(e.c.id).where(e.c.thread.in_(part))).scalars())
        ids.extend(old)
        frozen.update(conn.execute(_frozen().where(e.c.thread.in_(part))).scalars())
    removed = _removed(conn, [ep.anchor for ep in eps])
    eps = [ep for ep in eps if ep.id not in frozen and ep.anchor not in removed]
    ids = sorted(set(ids) - frozen)
    for part in _chunks(ids):
        conn.execute(delete(ea).where(ea.c.episode.in_(part)))
        conn.execute(delete(e).where(e.c.id.in_(part)))
    rows, acts = _episode_rows(eps, version)
    if rows:
        conn.execute(e.insert(), rows)
    if acts:
        writer.insert_ignore(conn, ea, acts)
    writer.insert_ignore(conn, schema.message_threads, new_threads)


def _frozen() -> Any:
    """Ids of episodes opened by a message whose text was removed (a SELECT)."""
    e, m = schema.episodes, schema.messages
    return select(e.c.id).join(m, m.c.id == e.c.anchor).where(m.c.text_removed_at.is_not(None))


def _removed(conn: Connection, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are messages whose text the retention policy removed."""
    m = schema.messages
    found: set[str] = set()
    wanted = sorted(set(ids))
    for part in _chunks(wanted):
        found.update(
            conn.execute(
                select(m.c.id).where(m.c.id.in_(part), m.c.text_removed_at.is_not(None))
            ).scalars()
        )
    return found


def _thread_groups(batch: MessageBatch, wanted: set[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, th in enumerate(batch.thread):
        if th in wanted:
            groups[th].append(i)
    return groups


def _detect(
    batch: MessageBatch,
    threads: set[str],
    joins: dict[str, JoinEvent],
    com: _Community,
    cfg: EpisodesConfig,
) -> list[Episode]:
    val = batch.cached("valence", lambda: valence(batch, cfg))
    groups = _thread_groups(batch, threads)
    out: list[Episode] = []
    for th in sorted(threads):
        idx = groups.get(th, [])
        join = joins.get(th)
        if not idx and join is None:
            continue
        out.extend(thread_episodes(batch, idx, th, cfg, val, join=join, arrivals=com.arrivals))
    return out


def _forum_unit(
    conn: Connection, convs: list[str], com: _Community, cfg: EpisodesConfig
) -> tuple[int, list[Episode]]:
    rows = _load(conn, schema.messages.c.conversation.in_(convs))
    by_conv: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_conv[row[1]].append(row)
    eps: list[Episode] = []
    new_threads: list[dict[str, Any]] = []
    for conv in convs:
        conv_rows = by_conv.get(conv, [])
        if not conv_rows:
            continue
        batch = _batch(conv, False, conv_rows, com)
        fresh = [i for i, th in enumerate(batch.thread) if th is None]
        batch.thread = [conv] * len(batch)
        eps.extend(_detect(batch, {conv}, {}, com, cfg))
        new_threads.extend(
            {"message": batch.id[i], "conversation": conv, "thread": conv} for i in fresh
        )
    _replace(conn, convs, eps, new_threads, cfg.version)
    return len(new_threads), eps


def _stream_units(
    store: Store, conv: str, com: _Community, cfg: EpisodesConfig
) -> Iterable[tuple[int, list[Episode]]]:
    """Analyse one chat stream in time slices, each committed on its own."""
    with store.engine.connect() as conn:
        rows = _load(conn, schema.messages.c.conversation == conv)
        done_anchors = set(
            conn.execute(
                select(schema.episodes.c.anchor).where(
                    schema.episodes.c.conversation == conv, schema.episodes.c.kind == "arrival"
                )
            ).scalars()
        )
    batch = _batch(conv, True, rows, com)
    channel = com.stream_channel[conv]
    all_joins = com.joins_by_channel.get(channel, [])
    pending = [j for j in all_joins if j.key not in done_anchors]
    fresh = [i for i, th in enumerate(batch.thread) if th is None]
    w = cfg.threads
    starts = list(range(0, len(fresh), STREAM_SLICE)) or [0]
    prev_hi_t = -(2**62)
    for s in starts:
        part = fresh[s : s + STREAM_SLICE]
        if part:
            lo_t = int(batch.t[part[0]]) - w.horizon_s
            hi = part[-1] + 1
            lo = int(np.searchsorted(batch.t, lo_t, side="left"))
        else:
            lo, hi = 0, 0
            lo_t = -(2**62)
        hi_t = int(batch.t[hi - 1]) if hi else 2**62
        # Every join lands in some slice: those before the first slice's
        # window in the first, those after the last message in the last.
        first_slice, last_slice = s == starts[0], s == starts[-1]
        joins_here = [
            j
            for j in all_joins
            if (first_slice or j.t >= min(lo_t, prev_hi_t + 1)) and (last_slice or j.t <= hi_t)
        ]
        prev_hi_t = hi_t

        if part:
            sub = _slice(batch, lo, hi)
            assigned = assign_threads(sub, joins_here, com.names, w)
            batch.thread[lo:hi] = assigned
        touched: set[str] = {th for i in part if (th := batch.thread[i]) is not None}
        jmap = {f"{conv}#{j.key}": j for j in joins_here}
        touched |= {f"{conv}#{j.key}" for j in pending if j in joins_here}
        eps = _detect(batch, touched, jmap, com, cfg)
        new_threads = [
            {"message": batch.id[i], "conversation": conv, "thread": batch.thread[i]} for i in part
        ]
        with store.engine.begin() as conn:
            _replace(conn, touched, eps, new_threads, cfg.version)
        yield len(part), eps


def _slice(batch: MessageBatch, lo: int, hi: int) -> MessageBatch:
    return MessageBatch(
        conversation=batch.conversation,
        stream=batch.stream,
        id=batch.id[lo:hi],
        author=batch.author[lo:hi],
        reply_to=batch.reply_to[lo:hi],
        t=batch.t[lo:hi],
        text=batch.text[lo:hi],
        labels=batch.labels[lo:hi],
        scores=batch.scores[lo:hi],
        evidence=batch.evidence[lo:hi],
        newcomer=batch.newcomer[lo:hi],
        official=batch.official[lo:hi],
        thread=list(batch.thread[lo:hi]),
    )


def _check_version(store: Store, cfg: EpisodesConfig) -> bool:
    """Start over when the stored episodes were made with other settings."""
    st = schema.analysis_state
    with store.engine.begin() as conn:
        stored = conn.execute(select(st.c.value).where(st.c.key == "episodes")).scalar()
        if stored == {"version": cfg.version}:
            return False
        # What rests on text the retention policy removed cannot be recomputed:
        # those messages keep their threads, the episodes they opened stay.
        ea, e, mt, m = (
            schema.episode_acts,
            schema.episodes,
            schema.message_threads,
            schema.messages,
        )
        removed = select(m.c.id).where(m.c.text_removed_at.is_not(None))
        conn.execute(delete(ea).where(ea.c.episode.not_in(_frozen())))
        conn.execute(delete(e).where(e.c.id.not_in(_frozen())))
        conn.execute(delete(mt).where(mt.c.message.not_in(removed)))
        writer.upsert(
            conn,
            st,
            [{"key": "episodes", "value": {"version": cfg.version}}],
            keys=["key"],
            replace=["value"],
        )
        return stored is not None


def _todo(conn: Connection) -> dict[str, int]:
    m, s, mt = schema.messages, schema.message_signals, schema.message_threads
    stmt = (
        select(m.c.conversation, func.count())
        .join(s, s.c.message == m.c.id)
        .outerjoin(mt, mt.c.message == m.c.id)
        .where(mt.c.message.is_(None))
        .group_by(m.c.conversation)
    )
    return {conv: int(n) for conv, n in conn.execute(stmt)}


def _joins_settled(conn: Connection) -> bool:
    """Every join record already has its arrival episode (one per join)."""
    e = schema.episodes
    joins = conn.execute(select(func.count()).select_from(schema.joins)).scalar_one()
    arrivals = conn.execute(
        select(func.count()).where(e.c.kind == "arrival", e.c.anchor.like("join:%"))
    ).scalar_one()
    return bool(joins == arrivals)


def run_episodes(
    store: Store,
    cfg: EpisodesConfig | None = None,
    *,
    embedder: Embed | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EpisodesRun:
    """Bring the episodes of ``store`` up to date with its scored messages.

    ``embedder`` encodes newcomer questions for the repeated-question clusters
    (default: the shipped e5 encoder).  ``progress(done, total)`` counts
    messages.
    """
    cfg = cfg or episodes_config()
    run = EpisodesRun()
    started = time.perf_counter()
    run.recomputed_all = _check_version(store, cfg)
    with store.engine.connect() as conn:
        todo = _todo(conn)
        refresh = _refresh_pending(conn)
        if not todo and _joins_settled(conn) and not refresh:
            run.seconds = time.perf_counter() - started
            return run  # nothing new since the last run: nothing to read or write
        com = _community(conn, cfg)
        arrival_anchors = set(
            conn.execute(
                select(schema.episodes.c.anchor).where(schema.episodes.c.kind == "arrival")
            ).scalars()
        )
    for channel, joins in com.joins_by_channel.items():
        streams = [c for c, ch in com.stream_channel.items() if ch == channel]
        if streams and any(j.key not in arrival_anchors for j in joins):
            for conv in streams:
                todo.setdefault(conv, 0)
    total = sum(todo.values())
    done = 0

    def count(eps: list[Episode]) -> None:
        run.episodes_written += len(eps)
        for ep in eps:
            run.kinds[ep.kind] = run.kinds.get(ep.kind, 0) + 1

    forum = sorted(c for c in todo if c not in com.stream_channel)
    for part in _chunks(forum, FORUM_GROUP):
        with store.engine.begin() as conn:
            n, eps = _forum_unit(conn, list(part), com, cfg)
        done += n
        run.conversations += len(part)
        count(eps)
        if progress:
            progress(done, total)
    for conv in sorted(c for c in todo if c in com.stream_channel):
        run.conversations += 1
        for n, eps in _stream_units(store, conv, com, cfg):
            done += n
            count(eps)
            if progress:
                progress(done, total)
    run.messages = done
    _orphan_arrivals(store, com, cfg)
    run.returned_updated = _update_returned(store, cfg)
    run.questions_embedded, run.clusters_updated = _update_clusters(store, cfg, embedder)
    if refresh:
        with store.engine.begin() as conn:
            st = schema.analysis_state
            conn.execute(delete(st).where(st.c.key == REFRESH_KEY))
    run.seconds = time.perf_counter() - started
    return run


def _refresh_pending(conn: Connection) -> bool:
    """An erasure removed episodes and messages: the community-wide outcomes
    (came back, repeated questions) are recomputed even if no message is new."""
    st = schema.analysis_state
    return conn.execute(select(st.c.key).where(st.c.key == REFRESH_KEY)).first() is not None


def _orphan_arrivals(store: Store, com: _Community, cfg: EpisodesConfig) -> None:
    """Joins of forum channels nobody posted in yet: arrivals with no messages."""
    streams = set(com.stream_channel.values())
    with store.engine.begin() as conn:
        have = set(
            conn.execute(
                select(schema.episodes.c.anchor).where(schema.episodes.c.kind == "arrival")
            ).scalars()
        )
        eps = []
        for channel, joins in com.joins_by_channel.items():
            if channel in streams:
                continue
            for j in joins:
                if j.key not in have:
                    ep = Episode("arrival", j.member, j.key, None, None, j.t, j.t)
                    ep.outcome = {"welcomed": False, "first_post": False}
                    eps.append(ep)
        rows, _ = _episode_rows(eps, cfg.version)
        if rows:
            conn.execute(schema.episodes.insert(), rows)


def _update_returned(store: Store, cfg: EpisodesConfig) -> int:
    """``returned_7d`` / ``returned_30d``: the subject's next message anywhere."""
    e, m = schema.episodes, schema.messages
    with store.engine.connect() as conn:
        eps = list(
            conn.execute(
                select(e.c.id, e.c.subject, e.c.started_at, e.c.messages, e.c.outcome).where(
                    e.c.kind.in_(("newcomer_question", "arrival"))
                )
            )
        )
        if not eps:
            return 0
        subjects = sorted({r.subject for r in eps})
        times: dict[str, list[int]] = defaultdict(list)
        own: dict[str, int] = {}
        for part in _chunks(subjects):
            for mid, author, at in conn.execute(
                select(m.c.id, m.c.author, m.c.sent_at).where(m.c.author.in_(part))
            ):
                t = int(at.replace(tzinfo=UTC).timestamp())
                times[author].append(t)
                own[mid] = t
    ref = np.array(
        [
            max(
                [own[x] for x in (r.messages or []) if x in own],
                default=int(r.started_at.replace(tzinfo=UTC).timestamp()),
            )
            for r in eps
        ],
        dtype=np.int64,
    )
    sorted_times = {a: np.array(sorted(ts), dtype=np.int64) for a, ts in times.items()}
    per_ep = [sorted_times.get(r.subject, np.zeros(0, np.int64)) for r in eps]
    flags = {d: returned_within(ref, per_ep, d) for d in cfg.return_days}
    changed = []
    for k, r in enumerate(eps):
        outcome = dict(r.outcome or {})
        for d, col in flags.items():
            outcome[f"returned_{d}d"] = bool(col[k])
        if outcome != (r.outcome or {}):
            changed.append({"eid": r.id, "outcome": outcome})
    if changed:
        with store.engine.begin() as conn:
            conn.execute(update(e).where(e.c.id == bindparam("eid")), changed)
    return len(changed)


def _update_clusters(store: Store, cfg: EpisodesConfig, embedder: Embed | None) -> tuple[int, int]:
    """Cluster every newcomer question; store cluster ids and times asked before."""
    e, qv, m = schema.episodes, schema.question_vectors, schema.messages
    with store.engine.connect() as conn:
        qs = list(
            conn.execute(
                select(
                    e.c.id,
                    e.c.question,
                    e.c.started_at,
                    e.c.question_cluster,
                    e.c.times_asked_before,
                )
                .where(e.c.kind == "newcomer_question", e.c.question.is_not(None))
                .order_by(e.c.started_at, e.c.id)
            )
        )
        if not qs:
            return 0, 0
        stored = dict(conn.execute(select(qv.c.message, qv.c.vector)).all())
        # A question whose text was removed with its embedding keeps the
        # cluster it had; it cannot be encoded again.
        gone = _removed(conn, [r.question for r in qs if r.question not in stored])
        qs = [r for r in qs if r.question not in gone]
        if not qs:
            return 0, 0
        missing = [r.question for r in qs if r.question not in stored]
        texts: dict[str, str] = {}
        for part in _chunks(missing):
            texts.update(conn.execute(select(m.c.id, m.c.text).where(m.c.id.in_(part))).all())
    if missing:
        if embedder is None:
            from anchorwatch.signals.encoder import Embedder

            embedder = Embedder()
        vectors = embedder.embed([texts.get(q, "") for q in missing]).astype(np.float32)
        new_rows = [
            {"message": q, "vector": v.tobytes()} for q, v in zip(missing, vectors, strict=True)
        ]
        with store.engine.begin() as conn:
            writer.insert_ignore(conn, qv, new_rows)
        stored.update({r["message"]: r["vector"] for r in new_rows})
    mat = np.stack([np.frombuffer(stored[r.question], dtype=np.float32) for r in qs])
    order = np.array([int(r.started_at.replace(tzinfo=UTC).timestamp()) for r in qs], np.int64)
    known = np.array(
        [int(r.question_cluster[1:]) if r.question_cluster else -1 for r in qs], np.int64
    )
    res = cluster_questions(
        mat, order, threshold=cfg.question_similarity, k=cfg.question_neighbours, known=known
    )
    changed = []
    for k, r in enumerate(qs):
        cid = f"q{int(res.cluster[k]):05d}"
        before = int(res.asked_before[k])
        if cid != r.question_cluster or before != r.times_asked_before:
            changed.append({"eid": r.id, "question_cluster": cid, "times_asked_before": before})
    if changed:
        with store.engine.begin() as conn:
            conn.execute(update(e).where(e.c.id == bindparam("eid")), changed)
    return len(missing), len(changed)


__all__ = ["EpisodesRun", "episode_id", "run_episodes"]
