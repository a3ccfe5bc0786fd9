"""Episodes inside a thread: who asked, who complained, who fought, who arrived.

A thread (a forum thread, or one conversation the thread pass separated out
of a chat stream) is read once in time order.  Messages open episodes
("anchors"):

- ``arrival``: a join that opened the thread, or a member's first post;
- ``newcomer_question``: a question labelled ``newcomer_question`` from a
  member who is a newcomer when they ask (follow-ups of the same asker stay in
  their episode);
- ``complaint``: the first complaint of the thread from a member who is not
  brand staff; later complainers are the complaint spreading;
- ``conflict``: the first heated or attacking message that is followed,
  within the episode's life, by enough heat from at least two members.

An episode stays open until the thread is quiet for ``life_hours``.  Each
message belongs to the open episodes (to the newest one of a kind, except the
subject's own messages, which stay with their episode), and each act to the
newest open episode it serves, else to the newest open episode at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anchorwatch.episodes.batch import HEAT, LABEL_INDEX, SERVES, JoinEvent, MessageBatch
from anchorwatch.episodes.config import EpisodesConfig
from anchorwatch.episodes.outcomes import (
    arrival_outcome,
    complaint_outcome,
    conflict_outcome,
    newcomer_outcome,
)
from anchorwatch.signals.labels import ACTS

KINDS = ("newcomer_question", "conflict", "complaint", "arrival")
_ACT_COLUMNS = [LABEL_INDEX[a] for a in ACTS]


def episode_id(kind: str, anchor: str) -> str:
    """Stable id: the same situation gets the same id in every run."""
    digest = hashlib.blake2b(f"{kind}\x1f{anchor}".encode(), digest_size=8).hexdigest()
    return f"ep_{digest}"


@dataclass
class Episode:
    """One situation and what came of it (DESIGN 3.3 ``episode``)."""

    kind: str
    subject: str
    anchor: str  # the message id or join key that opened it
    conversation: str | None
    thread: str | None
    started_t: int
    ended_t: int = 0
    messages: list[str] = field(default_factory=list)
    acts: list[dict[str, Any]] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)
    question: str | None = None  # newcomer question: the question's message id
    response: dict[str, Any] | None = None  # complaint: first official/empathy reply

    @property
    def id(self) -> str:
        return episode_id(self.kind, self.anchor)


@dataclass
class _Open:
    ep: Episode
    pos: int  # position in the thread where it opened (-1: before the first message)
    idx: list[int] = field(default_factory=list)
    parties: set[str] = field(default_factory=set)  # conflict: who posted heat


def thread_episodes(
    batch: MessageBatch,
    idx: Sequence[int],
    thread: str | None,
    cfg: EpisodesConfig,
    valence: np.ndarray,
    *,
    join: JoinEvent | None = None,
    arrivals: dict[str, str] | None = None,
) -> list[Episode]:
    """The episodes of one thread.

    ``idx`` are the thread's messages (indices into ``batch``) in time order;
    ``join`` is the join that opened the thread, if any; ``arrivals`` maps the
    ids of members' first posts to the key of the arrival they make.
    """
    arrivals = arrivals or {}
    conv = batch.conversation
    heat = batch.any_of(HEAT)
    question = _questions(batch, idx, cfg)
    complaint = batch.cached("complaint", lambda: batch.has("complaint") & ~batch.official)
    opened: list[_Open] = []
    closed: list[_Open] = []
    if join is not None:
        opened.append(_Open(Episode("arrival", join.member, join.key, conv, thread, join.t), -1))
    last_t = join.t if join is not None else None
    for k, i in enumerate(idx):
        now = int(batch.t[i])
        if last_t is not None and now - last_t > cfg.life_s:
            closed.extend(opened)
            opened = []
        last_t = now
        author = batch.author[i]
        kinds_open = {(o.ep.kind, o.ep.subject) for o in opened}
        new: list[Episode] = []
        mid = batch.id[i]
        if mid in arrivals and ("arrival", author) not in kinds_open:
            new.append(Episode("arrival", author, arrivals[mid], conv, thread, now))
        if i in question and ("newcomer_question", author) not in kinds_open:
            ep = Episode("newcomer_question", author, mid, conv, thread, now, question=mid)
            new.append(ep)
        # A newcomer's question that sounds upset is still their question.
        quiet = not any(o.ep.kind in ("complaint", "conflict") for o in opened)
        if complaint[i] and i not in question and quiet:
            new.append(Episode("complaint", author, mid, conv, thread, now))
        seeded: list[_Open] = []
        no_conflict = not any(o.ep.kind == "conflict" for o in opened)
        if heat[i] and no_conflict:
            burst = _heat_burst(batch, idx, k, cfg)
            if _is_quarrel(batch, burst, cfg):
                parties = {batch.author[j] for j in burst}
                seeded.append(_conflict_start(batch, idx, k, parties, conv, thread, cfg))
        for ep in new:
            opened.append(_Open(ep, k))
        opened.extend(seeded)
        for o in opened:
            if _belongs(o, opened, author):
                o.idx.append(i)
        _attribute_acts(batch, i, author, opened)
    closed.extend(opened)
    for o in closed:
        _settle(batch, o, cfg, valence)
    return [o.ep for o in closed if _engaged(batch, o, cfg, closed)]


def _questions(batch: MessageBatch, idx: Sequence[int], cfg: EpisodesConfig) -> set[int]:
    """Newcomers' questions among ``idx``: labelled, or reading as one that opens talk.

    The detector knows naive questions about the community; a newcomer's
    question about the car ("零下20度掉电30%正常吗") may not look naive to it,
    but a newcomer asking it, unprompted, is the situation this episode is.
    """
    base = batch.cached(
        "question", lambda: batch.has("newcomer_question") & batch.newcomer & ~batch.official
    )
    nq = LABEL_INDEX["newcomer_question"]
    out: set[int] = set()
    for i in idx:
        if not batch.newcomer[i] or batch.official[i]:
            continue
        text = batch.text[i]
        asks = any(p.search(text) for p in cfg.question_cues)
        if (base[i] and (asks or not cfg.question_needs_form)) or (
            asks
            and not batch.reply_to[i]
            and "@" not in text
            and batch.scores[i, nq] >= cfg.question_score_floor
        ):
            out.add(i)
    return out


def _engaged(batch: MessageBatch, o: _Open, cfg: EpisodesConfig, others: list[_Open]) -> bool:
    """A complaint nobody took up and the complainer did not press is small talk."""
    ep = o.ep
    if ep.kind != "complaint" or not cfg.complaint_needs_engagement:
        return True
    care = {a["act"] for a in ep.acts} & {"empathy", "guide_details", "guide_channel"}
    if "empathy" in care or ep.response is not None:
        return True
    if any(c.ep.kind == "conflict" and ep.subject in c.parties for c in others):
        return False  # an opening claim that became a quarrel: the conflict is the situation
    if care:
        return True
    comp = LABEL_INDEX["complaint"]
    own = [i for i in o.idx if batch.author[i] == ep.subject]
    pressed = any(batch.labels[i, comp] for i in own[1:])
    # An unmistakable vent that opens its thread is a complaint even if ignored.
    opener = bool(o.idx) and o.pos == 0 and batch.scores[o.idx[0], comp] >= cfg.complaint_alone
    return pressed or opener or ep.outcome["spread"] >= cfg.complaint_min_spread


def _heat_burst(batch: MessageBatch, idx: Sequence[int], k: int, cfg: EpisodesConfig) -> list[int]:
    """The heated messages of the burst that starts at position ``k``.

    A quarrel is a burst: each heated message follows the previous one within
    ``conflict_gap_minutes``; heat hours later is another matter.
    """
    heat = batch.any_of(HEAT)
    out: list[int] = []
    prev = int(batch.t[idx[k]])
    for i in idx[k:]:
        if int(batch.t[i]) - prev > cfg.conflict_gap_s:
            break
        if heat[i]:
            out.append(i)
            prev = int(batch.t[i])
    return out


def _is_quarrel(batch: MessageBatch, burst: list[int], cfg: EpisodesConfig) -> bool:
    """Enough heat in the burst, from at least two members, with enough attacks."""
    hostile = batch.any_of(("personal_attack", "offensive"))
    return (
        len(burst) >= cfg.conflict_min_heat
        and len({batch.author[i] for i in burst}) >= 2
        and sum(int(hostile[i]) for i in burst) >= cfg.conflict_min_hostile
    )


def _conflict_start(
    batch: MessageBatch,
    idx: Sequence[int],
    k: int,
    parties: set[str],
    conv: str,
    thread: str | None,
    cfg: EpisodesConfig,
) -> _Open:
    """A conflict starts where its parties started talking.

    The first party is the author of the earliest message by one of the
    parties (those who post heat in the burst) in the stretch of the thread
    that leads into the first heated message without a pause longer than
    ``conflict_gap_minutes``: the one who made the claim that drew the heat.
    Other members' messages in that stretch are passed over (a busy group
    interleaves them).
    """
    i = idx[k]
    start = None
    prev_t = int(batch.t[i])
    for j in reversed(idx[:k]):
        if prev_t - int(batch.t[j]) > cfg.conflict_gap_s:
            break
        prev_t = int(batch.t[j])
        if batch.author[j] in parties:
            start = j
    first = start if start is not None else i
    ep = Episode(
        "conflict", batch.author[first], batch.id[first], conv, thread, int(batch.t[first])
    )
    o = _Open(ep, k, parties=parties)
    if start is not None:
        o.idx.extend(j for j in idx[:k] if j >= start)
    return o


def _belongs(o: _Open, opened: list[_Open], author: str) -> bool:
    if author == o.ep.subject:
        return True
    newest = max((p.pos for p in opened if p.ep.kind == o.ep.kind), default=o.pos)
    return o.pos == newest


def _attribute_acts(batch: MessageBatch, i: int, author: str, opened: list[_Open]) -> None:
    acts = [ACTS[c] for c, col in enumerate(_ACT_COLUMNS) if batch.labels[i, col]]
    if not acts or not opened:
        return
    for act in acts:
        home: _Open | None = None
        for o in reversed(opened):
            if o.ep.subject == author or (o.idx and o.idx[-1] != i):
                continue
            if act in SERVES[o.ep.kind]:
                home = o
                break
        if home is None:
            home = next(
                (o for o in reversed(opened) if o.ep.subject != author and o.idx[-1:] == [i]),
                None,
            )
        if home is None:
            continue
        col = LABEL_INDEX[act]
        served = home.ep.subject
        before = [j for j in home.idx if batch.author[j] == served and j < i]
        since = int(batch.t[before[-1]]) if before else home.ep.started_t
        home.ep.acts.append(
            {
                "message": batch.id[i],
                "member": author,
                "act": act,
                "at": int(batch.t[i]),
                "score": round(float(batch.scores[i, col]), 3),
                "evidence": (batch.evidence[i] or {}).get(act, []),
                "served": served,
                "latency_s": max(0, int(batch.t[i]) - since),
            }
        )


def _settle(batch: MessageBatch, o: _Open, cfg: EpisodesConfig, valence: np.ndarray) -> None:
    ep, idx = o.ep, o.idx
    ep.messages = [batch.id[i] for i in idx]
    ep.ended_t = int(batch.t[idx[-1]]) if idx else ep.started_t
    if ep.kind == "newcomer_question":
        ep.outcome = newcomer_outcome(batch, idx, ep.subject) if idx else {}
    elif ep.kind == "arrival":
        ep.outcome = arrival_outcome(batch, idx, ep.subject)
    elif ep.kind == "complaint":
        ep.outcome, ep.response = complaint_outcome(batch, idx, ep.subject, valence, cfg)
    else:
        ep.outcome = conflict_outcome(batch, idx, cfg)
