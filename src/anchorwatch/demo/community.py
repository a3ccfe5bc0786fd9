"""The year of the demo community: the timeline and the two writers.

The year is played one day at a time.  Each day the scripted episodes that
start on it are built (their messages may reach into later days), then casual
chat tops the day up to the size asked for, then every record due before
midnight leaves a time-ordered heap for the data file, and its ground truth
for the truth file.  Only the episodes still running are held in memory, so a
million messages stream out in bounded memory.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path
from typing import IO, Any, Final

import orjson

from anchorwatch.demo.drafts import END, LABELS, Batch, Conv, Draft, Episode, Ids
from anchorwatch.demo.episodes import (
    World,
    announcement,
    chit_chat,
    complaint,
    conflict,
    creator_post,
    fatigue_vent,
    finish,
    month_of,
    newcomer_life,
)
from anchorwatch.demo.personas import ANCHORS, APP, DAY, Cast, CastSize, Member
from anchorwatch.demo.phrases import APP_BOARDS, WECHAT_GROUPS
from anchorwatch.demo.text import Voice

MIN_MESSAGES: Final = 1_000
MAX_MESSAGES: Final = 1_000_000
PROGRESS_EVERY: Final = 5_000

TZ: Final = timezone(timedelta(hours=8))
START: Final = datetime(2026, 1, 1, tzinfo=TZ)
_DAYS: Final = tuple((START + timedelta(days=i)).date().isoformat() for i in range(365))
_MONTH_END: Final = tuple(
    int((datetime(2026 + m // 12, m % 12 + 1, 1, tzinfo=TZ) - START).total_seconds())
    for m in range(1, 13)
)
# relative chat activity per hour of day (local time)
_HOUR_CUM: Final = tuple(
    accumulate((2, 1, 0.5, 0.3, 0.2, 0.3, 1, 3, 5, 5, 5, 5, 7, 6, 4, 4, 4, 5, 6, 7, 9, 10, 9, 6))
)
_CLS_MEMBER, _CLS_CONV, _CLS_JOIN, _CLS_MESSAGE, _CLS_REACTION = range(5)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What :func:`generate_community` wrote."""

    messages: int
    members: int
    conversations: int
    channels: int
    episodes: int
    reactions: int
    joins: int
    metrics: int


def iso(t: int) -> str:
    """ISO 8601 (+08:00) of a time in seconds from 2026-01-01 00:00 local."""
    if 0 <= t < END:
        d, r = divmod(t, DAY)
        h, r = divmod(r, 3600)
        m, s = divmod(r, 60)
        return f"{_DAYS[d]}T{h:02d}:{m:02d}:{s:02d}+08:00"
    return (START + timedelta(seconds=t)).isoformat()


def _dumps(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)


class _Writer:
    """Writes records in time order to the data file and their truth beside it."""

    def __init__(
        self,
        data: IO[bytes],
        truth: IO[bytes],
        msg_width: int,
        metric_rng: random.Random,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.data = data
        self.truth = truth
        self.msg_width = msg_width
        self.rng = metric_rng
        self.progress = progress
        self.messages = 0
        self.members: list[Member] = []
        self.conversations = 0
        self.reactions = 0
        self.joins = 0
        self.metrics = 0
        self.episodes = 0
        self.month = 0  # next month whose metrics are due
        self.asked: dict[str, int] = {}

    # -- records ------------------------------------------------------------------
    def member(self, m: Member) -> None:
        self.members.append(m)
        self.data.write(
            _dumps(
                {
                    "type": "member",
                    "id": m.id,
                    "name": m.name,
                    "joined_at": iso(m.joined),
                    "role": m.role,
                }
            )
        )
        self.truth.write(_dumps({"type": "persona", "member": m.id, "persona": m.persona}))

    def conversation(self, c: Conv) -> None:
        self.conversations += 1
        rec: dict[str, Any] = {"type": "conversation", "id": c.id, "channel": c.channel}
        if c.title:
            rec["title"] = c.title
        rec["started_at"] = iso(c.started)
        if c.stream:
            rec["stream"] = True
        self.data.write(_dumps(rec))

    def join(self, t: int, m: Member, channel: str, ep: Episode | None) -> None:
        self.joins += 1
        self.data.write(_dumps({"type": "join", "member": m.id, "channel": channel, "at": iso(t)}))
        if ep is not None:
            self._done(ep)

    def message(self, d: Draft) -> None:
        self.messages += 1
        n = self.messages
        d.id = mid = f"m{n:0{self.msg_width}d}"
        author = d.author
        self.data.write(
            _dumps(
                {
                    "type": "message",
                    "id": mid,
                    "conversation": d.conv.id,
                    "author": author.id,
                    "reply_to": d.reply_to.id if d.reply_to is not None else None,
                    "sent_at": iso(d.t),
                    "text": d.text,
                }
            )
        )
        if d.labels:
            labels = [label for label in LABELS if label in d.labels]
            rec: dict[str, Any] = {"type": "message_labels", "message": mid, "labels": labels}
            if d.target is not None:
                rec["target"] = d.target.id
            self.truth.write(_dumps(rec))
        if d.thread is not None:
            self.truth.write(_dumps({"type": "thread", "message": mid, "thread": d.thread}))
        author.last_t = d.t
        author.month_msgs[month_of(d.t) - 1] += 1
        ep = d.episode
        if ep is not None:
            if "question" in d.tags and ep.cluster is not None:
                ep.times_asked_before = self.asked.get(ep.cluster, 0)
                self.asked[ep.cluster] = ep.times_asked_before + 1
            self._done(ep)
        if self.progress is not None and n % PROGRESS_EVERY == 0:
            self.progress(n)

    def reaction(self, t: int, d: Draft, m: Member, kind: str) -> None:
        self.reactions += 1
        self.data.write(
            _dumps(
                {"type": "reaction", "message": d.id, "member": m.id, "kind": kind, "at": iso(t)}
            )
        )

    def _done(self, ep: Episode) -> None:
        ep.pending -= 1
        if ep.pending > 0:
            return
        self.episodes += 1
        rec: dict[str, Any] = {
            "type": "episode",
            "id": ep.id,
            "kind": ep.kind,
            "conversation": ep.conv.id,
            "subject": ep.subject.id,
            "messages": [d.id for d in ep.drafts],
            "acts": [
                {"message": d.id, "member": d.author.id, "act": act}
                for d in ep.drafts
                for act in d.acts
            ],
            "outcome": ep.outcome,
            "variant": ep.variant,
        }
        if ep.cluster is not None:
            rec["question_cluster"] = ep.cluster
            rec["times_asked_before"] = ep.times_asked_before
        threads = [d.thread for d in ep.drafts if d.thread is not None]
        if threads:
            rec["thread"] = threads[0]
        self.truth.write(_dumps(rec))
        ep.drafts = []  # free the drafts; the ids are written

    # -- monthly content metrics -------------------------------------------------
    def metrics_until(self, t: int) -> None:
        while self.month < 12 and t >= _MONTH_END[self.month]:
            self._month_metrics(self.month)
            self.month += 1

    def _month_metrics(self, mi: int) -> None:
        rng = self.rng
        period = f"2026-{mi + 1:02d}"
        month_end = _MONTH_END[mi]
        for m in self.members:
            if m.joined >= month_end:
                continue
            n = m.month_msgs[mi]
            p = m.persona
            if p == "creator":
                reads = int(rng.lognormvariate(math.log(15_000), 0.7)) + n * 200
                plays = int(rng.lognormvariate(math.log(8_000), 0.8)) if m.video else 0
                leads = rng.randint(1, 12)
            elif p == "official":
                reads, plays, leads = rng.randint(800, 4000), rng.randint(0, 500), rng.randint(0, 8)
            elif n == 0:
                continue
            elif p in ANCHORS:
                reads = n * rng.randint(3, 12) + rng.randint(0, 150)
                plays, leads = 0, int(rng.random() < 0.1)
            else:
                reads = n * rng.randint(2, 25)
                plays, leads = 0, int(rng.random() < 0.03)
            self.metrics += 1
            self.data.write(
                _dumps(
                    {
                        "type": "metric",
                        "member": m.id,
                        "period": period,
                        "reads": reads,
                        "plays": plays,
                        "leads": leads,
                    }
                )
            )

    # -- anchors ----------------------------------------------------------------------
    def anchors(self) -> None:
        for m in self.members:
            if m.persona not in ANCHORS:
                continue
            if m.onset is not None:
                self.truth.write(
                    _dumps(
                        {
                            "type": "burnout",
                            "member": m.id,
                            "onset": iso(m.onset),
                            "left_at": iso(m.last_t) if m.last_t >= 0 else None,
                        }
                    )
                )
            else:
                self.truth.write(_dumps({"type": "healthy_anchor", "member": m.id}))


class _Year:
    """Plans the year for a community of ``messages`` and plays it day by day."""

    def __init__(self, messages: int, seed: int, writer: _Writer) -> None:
        self.n = messages
        self.writer = writer
        cast_rng = random.Random(f"anchorwatch-demo:{seed}:cast")
        self.rng = rng = random.Random(f"anchorwatch-demo:{seed}:story")
        k = 2 if messages < 5_000 else 4 if messages < 60_000 else 8 if messages < 300_000 else 14
        self.groups = WECHAT_GROUPS[:k]
        self.cast = Cast(cast_rng, CastSize.for_messages(messages), self.groups)
        width = max(5, len(str(messages)))
        ids = Ids(width)
        streams = {
            g: Conv(ids.next_conv(), g, g.split(":", 1)[1], 0, stream=True) for g in self.groups
        }
        self.world = World(
            rng, Voice(random.Random(f"anchorwatch-demo:{seed}:text")), self.cast, ids, streams
        )
        self.heap: list[tuple[int, int, int, Any]] = []
        self.seq = 0
        self.created = 0
        base = [self._day_weight(d) for d in range(365)]
        self.target = [messages * c / sum(base) for c in accumulate(base)]
        s = messages / 30_000
        self.newcomers = self._spread(self.cast.size.newcomers, base, (3, 6, 9, 10, 12), 1.3)
        self.conflicts = self._spread(max(10, round(330 * s)), base, (), 1.0)
        self.complaints = self._spread(max(12, round(430 * s)), base, (1, 2, 4, 9, 12), 1.4)
        self.announcements = self._spread(max(4, round(60 * s)), base, (4, 9), 1.5)
        self.timed: list[list[tuple[int, Member, str]]] = [[] for _ in range(365)]
        self._plan_creators(max(4, round(40 * min(1.0, s**0.5))))
        self._plan_vents()
        self.today: dict[str, list[int]] = {}

    # -- planning --------------------------------------------------------------------
    @staticmethod
    def _day_weight(d: int) -> float:
        date = START + timedelta(days=d)
        w = 0.85 + 0.3 * d / 365  # the community grows over the year
        if date.weekday() >= 5:
            w *= 1.25
        if date.month == 2 and 14 <= date.day <= 22:  # 春节 2026
            w *= 0.7
        if date.month == 10 and date.day <= 7:  # 国庆
            w *= 0.85
        return w

    def _spread(
        self, count: int, base: list[float], months: tuple[int, ...], boost: float
    ) -> list[int]:
        """How many of ``count`` events start on each day."""
        weights = [
            w * (boost if (START + timedelta(days=d)).month in months else 1.0)
            for d, w in enumerate(base)
        ]
        per_day = [0] * 365
        for d in self.rng.choices(range(365), cum_weights=list(accumulate(weights)), k=count):
            per_day[d] += 1
        return per_day

    def _plan_creators(self, posts: int) -> None:
        rng = self.rng
        for m in self.cast.members:
            if m.persona != "creator":
                continue
            for _ in range(posts):
                self.timed[rng.randrange(365)].append((0, m, "creator"))

    def _plan_vents(self) -> None:
        rng = self.rng
        for m in self.cast.members:
            if m.persona not in ANCHORS:
                continue
            if m.onset is not None and m.leave is not None:
                for _ in range(rng.randint(2, 3)):
                    t = m.onset + int(rng.random() * (m.leave - m.onset - 3600))
                    self.timed[t // DAY].append((t, m, "vent"))
            elif rng.random() < 0.3:
                t = rng.randrange(END - DAY)
                self.timed[t // DAY].append((t, m, "vent"))

    # -- helpers ----------------------------------------------------------------------
    def _clock(self, day: int) -> int:
        x = self.rng.random() * _HOUR_CUM[-1]
        hour = bisect.bisect_right(_HOUR_CUM, x)
        return day * DAY + hour * 3600 + self.rng.randrange(3600)

    def _venue(self, p_stream: float) -> str:
        return self.cast.group_for() if self.rng.random() < p_stream else APP

    def _push(self, t: int, cls: int, payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, cls, self.seq, payload))

    def _schedule(self, b: Batch) -> None:
        for m in b.members:
            self._push(m.joined, _CLS_MEMBER, m)
        for c in b.convs:
            self._push(c.started, _CLS_CONV, c)
        for ep in b.episodes:
            ep.pending = len(ep.drafts)
        for t, m, channel, arrival in b.joins:
            if arrival is not None:
                arrival.pending += 1
            self._push(t, _CLS_JOIN, (m, channel, arrival))
        for d in b.drafts:
            self._push(d.t, _CLS_MESSAGE, d)
            if d.conv.stream and d.episode is not None:
                self.today.setdefault(d.conv.channel, []).append(d.t)
        for t, d, m, kind in b.reactions:
            self._push(t, _CLS_REACTION, (d, m, kind))
        self.created += len(b.drafts)

    def _flush(self, until: int) -> None:
        heap, w = self.heap, self.writer
        while heap and heap[0][0] < until:
            t, cls, _, payload = heapq.heappop(heap)
            w.metrics_until(t)
            if cls == _CLS_MESSAGE:
                w.message(payload)
            elif cls == _CLS_REACTION:
                w.reaction(t, *payload)
            elif cls == _CLS_JOIN:
                w.join(t, *payload)
            elif cls == _CLS_CONV:
                w.conversation(payload)
            else:
                w.member(payload)

    # -- the year ------------------------------------------------------------------
    def run(self) -> None:
        world = self.world
        for m in self.cast.members:
            self._push(m.joined, _CLS_MEMBER, m)
        for conv in world.streams.values():
            self._push(conv.started, _CLS_CONV, conv)
        for day in range(365):
            self.today = {}
            for _ in range(self.newcomers[day]):
                self._schedule(newcomer_life(world, self._clock(day)))
            scripted: list[Batch] = []
            for _ in range(self.conflicts[day]):
                scripted.append(conflict(world, self._venue(0.6), self._clock(day)))
            for _ in range(self.complaints[day]):
                scripted.append(complaint(world, self._venue(0.45), self._clock(day)))
            for _ in range(self.announcements[day]):
                official = self.cast.pick("official", APP, day * DAY)
                if official is not None:
                    scripted.append(announcement(world, official, self._clock(day)))
            for t, m, what in sorted(self.timed[day], key=lambda x: (x[0], x[1].id, x[2])):
                if what == "creator":
                    scripted.append(creator_post(world, m, self._clock(day)))
                elif m.activity(t) > 0:
                    scripted.append(fatigue_vent(world, m, t))
            for b in scripted:
                finish(b)
                self._schedule(b)
            self._chat(day)
            self._flush((day + 1) * DAY)
        self._flush(END + 30 * DAY)
        self.writer.metrics_until(END + 30 * DAY)
        self.writer.anchors()

    def _chat(self, day: int) -> None:
        """Top the day up with casual chat, near the day's episodes where possible."""
        rng, world = self.rng, self.world
        need = self.target[day] - self.created
        cap = 4 * self.n / 365 + 20
        b = Batch()
        made = 0
        tries = 0
        while need > made and made < cap and tries < 10_000:
            tries += 1
            venue = self._venue(0.65)
            near = self.today.get(venue)
            if near and rng.random() < 0.7:
                t = rng.choice(near) + rng.randint(-600, 1800)
                t = min(max(t, day * DAY), (day + 1) * DAY - 1)
            else:
                t = self._clock(day)
            added = chit_chat(world, b, venue, t)
            made += added
            if added and venue != APP:  # group chat comes in bursts: later threads join in
                self.today.setdefault(venue, []).append(t)
        finish(b)
        self._schedule(b)


def generate_community(
    out_path: Path,
    truth_path: Path,
    *,
    messages: int = 30_000,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Write a year of a fictional car-owner community as anchorwatch JSONL.

    The community of 澜舟汽车 (a fictional brand: 澜舟 S7, L9, M6) lives in
    owners' WeChat groups (chat streams, ``"stream": true``) and app forum
    boards (one conversation per thread) from 2026-01-01 to 2026-12-31.  Its
    members include patient mentors, peacemakers, welcomers, complainers,
    trolls, official customer service, lurkers, chatters, content creators and
    newcomers arriving all year; scripted episodes (newcomer questions that
    recur in many wordings, arguments, complaints, arrivals) run between
    casual chat, and some anchors slowly burn out.

    ``out_path`` receives the canonical records of DESIGN 3.1 (members,
    conversations, messages, joins, reactions, monthly metrics), one JSON
    object per line in time order.  ``truth_path`` receives the ground truth,
    which the analysis never reads: ``message_labels`` (act and context
    labels of DESIGN 1.1, with ``target`` for thanks, attacks and accusations
    aimed at a member), ``thread`` (the interleaved conversation of each chat
    stream message), ``episode`` (kind, subject, messages, acts, outcome,
    ``question_cluster``), ``persona``, ``burnout`` and ``healthy_anchor``.

    The same ``seed`` and ``messages`` give byte-identical files.  Memory
    stays bounded: records stream out as the simulated year advances.

    Parameters
    ----------
    out_path:
        The data file (JSONL) to write; overwritten.
    truth_path:
        The ground-truth file (JSONL); must differ from ``out_path``.
    messages:
        About how many messages to write (within a few percent), from 1,000
        to 1,000,000.
    seed:
        Seed of every random choice.
    progress:
        Called with the number of messages written so far, every 5,000
        messages and once at the end.

    Returns
    -------
    DemoSummary
        Counts of what was written.

    Raises
    ------
    ValueError
        If ``messages`` is out of range or both paths are the same file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> s = generate_community(d / "demo.jsonl", d / "truth.jsonl", messages=1_000, seed=7)
    >>> 900 <= s.messages <= 1_100, s.channels
    (True, 7)
    """
    if not MIN_MESSAGES <= messages <= MAX_MESSAGES:
        raise ValueError(
            f"messages must be between {MIN_MESSAGES:,} and {MAX_MESSAGES:,}, not {messages:,}"
        )
    out_path, truth_path = Path(out_path), Path(truth_path)
    if out_path.resolve() == truth_path.resolve():
        raise ValueError("the truth file must be a different file from the data file")
    msg_width = max(6, len(str(int(messages * 1.2))))
    with out_path.open("wb") as data, truth_path.open("wb") as truth:
        writer = _Writer(
            data,
            truth,
            msg_width,
            random.Random(f"anchorwatch-demo:{seed}:metrics"),
            progress,
        )
        year = _Year(messages, seed, writer)
        year.run()
    if progress is not None:
        progress(writer.messages)
    return DemoSummary(
        messages=writer.messages,
        members=len(writer.members),
        conversations=writer.conversations,
        channels=len(year.groups) + len(APP_BOARDS),
        episodes=writer.episodes,
        reactions=writer.reactions,
        joins=writer.joins,
        metrics=writer.metrics,
    )
