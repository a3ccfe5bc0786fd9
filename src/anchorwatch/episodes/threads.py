"""Separate the interleaved conversations of a chat stream into threads.

A chat group has no threads: a newcomer's question, an argument and small talk
run through each other.  Each message, in time order, joins the active thread
it scores best with (its quoted message's thread outright; otherwise @mentions,
the author's own latest thread, shared topic words, recency and whether it does
what the thread asks for), or starts a new thread when nothing scores high
enough.  A join opens a thread of its own, so that welcomes find the newcomer.

The pass is sequential by nature (each decision depends on the earlier ones),
so it walks the messages once with small per-thread state; everything it reads
per message was computed column-wise beforehand.  Thread ids are named after
the event that opened them (``<conversation>#<message id>`` or
``<conversation>#<join key>``), so an incremental run that continues an earlier
one names the same threads the same way.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice

import numpy as np

from anchorwatch.episodes.batch import (
    DEESCALATE,
    HEAT,
    LABEL_INDEX,
    JoinEvent,
    MessageBatch,
    mentions,
    topic_tokens,
)
from anchorwatch.episodes.config import ThreadWeights

_RECENT_TEXTS = 6


@dataclass
class _Thread:
    id: str
    last_t: int
    last_i: int = -1
    tokens: deque[frozenset[str]] = field(default_factory=lambda: deque(maxlen=_RECENT_TEXTS))
    authors: set[str] = field(default_factory=set)
    mentioned: set[str] = field(default_factory=set)
    open_question: set[str] = field(default_factory=set)
    arrival: str | None = None
    arrival_t: int = 0
    heated: bool = False
    complaint: bool = False
    answered_by: set[str] = field(default_factory=set)

    def topic_overlap(self, tokens: frozenset[str]) -> float:
        if not tokens or not self.tokens:
            return 0.0
        seen: set[str] = set().union(*self.tokens)
        return len(tokens & seen) / len(tokens)


def _flags(batch: MessageBatch) -> dict[str, np.ndarray]:
    """Column-wise label tests the thread pass reads per message."""
    col = LABEL_INDEX
    lab = batch.labels
    return {
        "question": lab[:, col["newcomer_question"]] & batch.newcomer,
        "answer": lab[:, [col["newcomer_answer"], col["guide_details"]]].any(axis=1),
        "welcome": lab[:, col["welcome"]],
        "calming": lab[:, [col[a] for a in DEESCALATE]].any(axis=1),
        "heat": lab[:, [col[h] for h in HEAT]].any(axis=1),
        "care": lab[:, [col["empathy"], col["guide_details"], col["guide_channel"]]].any(axis=1),
        "complaint": lab[:, col["complaint"]] & ~batch.official,
        "gratitude": lab[:, col["gratitude"]],
    }


def assign_threads(
    batch: MessageBatch,
    joins: Sequence[JoinEvent],
    names: dict[str, str],
    weights: ThreadWeights,
) -> list[str]:
    """Thread id per message of a chat stream, keeping those already assigned.

    ``names`` maps display names to member ids (for @mentions).  Messages whose
    ``batch.thread`` is set keep it and only update the state, so a run that
    continues an earlier one sees the threads it left.
    """
    w = weights
    conv = batch.conversation
    flags = {k: v.tolist() for k, v in _flags(batch).items()}
    t = batch.t.tolist()
    tokens = [topic_tokens(x) for x in batch.text]
    mentioned = [[names[n] for n in mentions(x) if n in names] for x in batch.text]
    out: list[str] = list(batch.thread)  # type: ignore[arg-type]
    where: dict[str, str] = {}  # message id -> thread id, for quoted replies
    active: dict[str, _Thread] = {}
    latest: dict[str, str] = {}  # member -> the thread of their latest message
    half = np.log(2.0) / max(w.recency_half_life_s, 1.0)
    half_m = np.log(2.0) / w.recency_half_life_messages if w.recency_half_life_messages else 0.0
    join_order = sorted(joins, key=lambda j: (j.t, j.key))
    j = 0
    for i, mid in enumerate(batch.id):
        now = t[i]
        while j < len(join_order) and join_order[j].t <= now:
            ev = join_order[j]
            tid = f"{conv}#{ev.key}"
            th = _Thread(tid, ev.t, arrival=ev.member, arrival_t=ev.t)
            th.authors.add(ev.member)
            active[tid] = th
            latest[ev.member] = tid
            j += 1
        if len(active) > 64 or i % 256 == 0:
            active = {k: v for k, v in active.items() if now - v.last_t <= w.horizon_s}
        author = batch.author[i]
        chosen = out[i]
        if chosen is None:
            parent = batch.reply_to[i]
            if parent is not None and parent in where:
                chosen = where[parent]
            else:
                chosen = _best_thread(
                    i, now, author, tokens[i], mentioned[i], flags, active, latest, w, half, half_m
                )
            if chosen is None:
                chosen = f"{conv}#{mid}"
        out[i] = chosen
        where[mid] = chosen
        state = active.pop(chosen, None)  # re-inserted last: dicts keep recency order
        if state is None:
            state = _Thread(chosen, now)
        active[chosen] = state
        _update(state, i, now, author, tokens[i], mentioned[i], flags)
        latest[author] = chosen
    return out


def _best_thread(
    i: int,
    now: int,
    author: str,
    tokens: frozenset[str],
    mentioned: list[str],
    flags: dict[str, list[bool]],
    active: dict[str, _Thread],
    latest: dict[str, str],
    w: ThreadWeights,
    half: float,
    half_m: float,
) -> str | None:
    best, best_score = None, w.new_thread_below
    opener = flags["question"][i] or (flags["complaint"][i] and not flags["heat"][i])
    if opener and not mentioned:
        best_score += w.opener_penalty
    mentioned_threads = {latest[m] for m in mentioned if m in latest}
    # The most recently active threads, plus any the message is tied to by a
    # mention or its author: a busy group has many threads within the horizon,
    # but a reply to one that has gone quiet for dozens of messages has a tie.
    tied = [t for t in (*mentioned_threads, latest.get(author)) if t in active]
    recent = list(islice(reversed(active.keys()), w.max_candidates))
    for tid in dict.fromkeys(recent + tied):
        th = active[tid]
        age = now - th.last_t
        if age > w.horizon_s:
            continue
        fits = _fits(i, now, author, th, flags, w)
        # An arrival thread is for the newcomer and those who greet them.
        stranger = author != th.arrival and author not in th.authors
        if th.arrival is not None and th.id not in mentioned_threads and not fits and stranger:
            continue
        since = i - th.last_i if th.last_i >= 0 else 0
        score = w.recency * float(np.exp(-half * age - half_m * since))
        if th.id in mentioned_threads:
            score += w.mention
        if author in th.mentioned:
            score += w.mentioned_here
        if latest.get(author) == th.id:
            score += w.own_thread
        overlap = th.topic_overlap(tokens)
        score += w.topic * overlap
        if overlap == 0.0 and len(tokens) >= w.topic_min_tokens and score < w.recency + 0.01:
            # Something to say and nothing in common with the thread: a new topic.
            score -= w.topic_miss
        if fits:
            score += w.fits
        if score > best_score:
            best, best_score = th.id, score
    return best


def _fits(
    i: int, now: int, author: str, th: _Thread, flags: dict[str, list[bool]], w: ThreadWeights
) -> bool:
    """Does the message do what the thread is waiting for?"""
    if flags["answer"][i] and th.open_question and author not in th.open_question:
        return True
    if flags["welcome"][i] and th.arrival is not None and now - th.arrival_t <= w.welcome_s:
        return author != th.arrival
    if (flags["calming"][i] or flags["heat"][i]) and th.heated:
        return True
    # Care, more complaints, or pushback: what a complaint draws.
    if (flags["care"][i] or flags["complaint"][i] or flags["heat"][i]) and th.complaint:
        return True
    return bool(flags["gratitude"][i] and author in th.open_question | th.answered_by)


def _update(
    th: _Thread,
    i: int,
    now: int,
    author: str,
    tokens: frozenset[str],
    mentioned: list[str],
    flags: dict[str, list[bool]],
) -> None:
    th.last_t = now
    th.last_i = i
    if tokens:
        th.tokens.append(tokens)
    th.authors.add(author)
    th.mentioned.update(mentioned)
    if flags["question"][i]:
        th.open_question.add(author)
    elif flags["answer"][i] and th.open_question:
        th.answered_by.update(th.open_question)
        th.mentioned.update(th.open_question)
    if flags["heat"][i]:
        th.heated = True
    if flags["complaint"][i]:
        th.complaint = True
