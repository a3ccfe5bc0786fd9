"""The cast of the demo community: who its members are and how they behave.

Each member has a *persona* (mentor, peacemaker, welcomer, complainer, troll,
official, lurker, chatter, creator, newcomer), a writing style, the venues
(WeChat groups, the app forum) where they are active, and an activity weight.
Some anchors (mentors, peacemakers, welcomers) are scripted to burn out:
from ``onset`` their activity falls, and at ``leave`` they fall silent.

Times are whole seconds from 2026-01-01 00:00 (+08:00); members who joined
before the year have negative ``joined``.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Final

from anchorwatch.demo.phrases import (
    CREATOR_NAMES,
    EN_NAMES,
    GIVEN,
    NICKS,
    OFFICIAL_NAMES,
    OPERATOR_NAMES,
    SURNAMES,
    ZH,
)

DAY: Final = 86_400
APP: Final = "app"  # the venue of every app forum board

PERSONAS: Final = (
    "mentor",
    "peacemaker",
    "welcomer",
    "complainer",
    "troll",
    "official",
    "lurker",
    "chatter",
    "creator",
    "newcomer",
)
ANCHORS: Final = ("mentor", "peacemaker", "welcomer")


@dataclass(slots=True, eq=False)
class Member:
    """One member of the community and the state the generator keeps about them."""

    id: str
    name: str
    persona: str
    role: str
    joined: int
    english: bool = False
    trad: bool = False
    emoji: float = 0.2
    typo: float = 0.03
    ending: float = 0.3
    weight: float = 1.0
    venues: tuple[str, ...] = ()
    onset: int | None = None
    leave: int | None = None
    video: bool = False
    last_t: int = -1
    month_msgs: list[int] = field(default_factory=lambda: [0] * 12)

    @property
    def burns_out(self) -> bool:
        return self.onset is not None

    def activity(self, t: int) -> float:
        """How active the member is at ``t`` relative to their own normal (0..1)."""
        if self.onset is None or self.leave is None or t < self.onset:
            return 1.0
        if t >= self.leave:
            return 0.0
        return math.exp(-3.0 * (t - self.onset) / (self.leave - self.onset))

    def strain(self, t: int) -> float:
        """Pressure on an anchor who will burn out: from a month before onset, rising.

        Bias accusations and attacks are drivers of burnout, so they come
        before and during the decline.
        """
        if self.onset is None or t < self.onset - 30 * DAY:
            return 0.0
        return 0.5 + 0.5 * self.decline(t)

    def decline(self, t: int) -> float:
        """How far into burnout the member is at ``t`` (0 before onset, 1 at leave)."""
        if self.onset is None or self.leave is None or t < self.onset:
            return 0.0
        return min(1.0, (t - self.onset) / (self.leave - self.onset))


@dataclass(slots=True)
class _Pool:
    members: list[Member]
    cum: list[float]
    dynamic: bool


class Names:
    """Nicknames as they appear in Chinese car-owner groups, mostly unique."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: dict[str, int] = {}

    def _raw(self, english: bool) -> str:
        c = self.rng.choice
        if english:
            return c(
                (
                    c(EN_NAMES),
                    f"{c(EN_NAMES)} {c('ZWLCHYJ')}.",
                    f"{c(EN_NAMES)}_{c(('S7', 'L9', 'M6', 'SH', 'BJ', 'SZ'))}",
                )
            )
        s, g, nick = c(SURNAMES), c(GIVEN), c(NICKS)
        city, model = c(ZH["city"]), c(("S7", "L9", "M6"))
        return c(
            (
                f"老{s}",
                f"{s}哥",
                f"{s}姐",
                f"小{s}",
                f"阿{g}",
                f"{city}-{model}-{s}{g}",
                f"{city}{model}{s}{g}",
                f"{model}车主·{nick}",
                nick,
                f"{nick}{self.rng.randint(1, 2026)}",
                f"{s}{g}{c(GIVEN)}",
                f"{nick}@{city}",
                f"{city}老{s}",
                f"{s}{g}-{model}",
            )
        )

    def make(self, english: bool = False, template: str | None = None) -> str:
        if template is not None:
            name = template.format(given=self.rng.choice(GIVEN), surname=self.rng.choice(SURNAMES))
        else:
            name = self._raw(english)
        n = self.used.get(name, 0)
        self.used[name] = n + 1
        if n:
            name = f"{name}{n + 1}" if english else f"{name}_{n + 1}"
        return name


@dataclass(frozen=True, slots=True)
class CastSize:
    """How many members of each persona a community of ``messages`` has."""

    counts: dict[str, int]
    newcomers: int

    @classmethod
    def for_messages(cls, messages: int) -> CastSize:
        s = messages / 30_000

        def n(base: float, least: int) -> int:
            return max(least, round(base * s))

        counts = {
            "mentor": n(8, 3),
            "peacemaker": n(5, 2),
            "welcomer": n(5, 2),
            "complainer": n(25, 4),
            "troll": n(10, 3),
            "official": max(2, round(3 * s**0.5)),
            "lurker": n(150, 8),
            "chatter": n(150, 10),
            "creator": n(8, 2),
        }
        return cls(counts=counts, newcomers=n(600, 16))

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + self.newcomers


class Cast:
    """All members, and weighted pickers per (persona, venue).

    ``pick`` takes the time of the message being written, so that a member who
    has burnt out is no longer chosen and a declining one is chosen less.
    """

    def __init__(self, rng: random.Random, size: CastSize, groups: tuple[str, ...]) -> None:
        self.rng = rng
        self.size = size
        self.groups = groups
        self.venues: tuple[str, ...] = (*groups, APP)
        self.names = Names(rng)
        self.members: list[Member] = []
        self.id_width = max(4, len(str(size.total)))
        g = len(groups)
        self._group_cum = list(accumulate(1.0 / (i + 1) ** 0.5 for i in range(g)))
        for persona in PERSONAS[:-1]:
            self._create(persona, size.counts[persona])
        self._schedule_burnout()
        self._pools: dict[tuple[str, str], _Pool] = {}
        self._build_pools()

    # -- creation ---------------------------------------------------------------
    def next_id(self) -> str:
        return f"u{len(self.members) + 1:0{self.id_width}d}"

    def group_for(self) -> str:
        """A WeChat group, bigger groups (the first ones) more likely."""
        x = self.rng.random() * self._group_cum[-1]
        return self.groups[bisect.bisect_right(self._group_cum, x)]

    def _create(self, persona: str, count: int) -> None:
        rng = self.rng
        for i in range(count):
            english = persona in ("chatter", "lurker") and rng.random() < 0.04
            if (persona == "mentor" and i == 5) or (persona == "chatter" and i == 4):
                english = True  # a bilingual mentor, and an expat who chats in English
            template = None
            role = "member"
            if persona == "official":
                role = "operator" if i == 1 else "official"
                template = rng.choice(OPERATOR_NAMES if role == "operator" else OFFICIAL_NAMES)
            elif persona == "creator":
                role = "koc"
                template = rng.choice(CREATOR_NAMES)
            elif persona == "mentor" and rng.random() < 0.25:
                role = "koc"
            name = self.names.make(english, template)
            joined = -rng.randint(5, 900) * DAY - rng.randint(0, DAY - 1)
            m = Member(
                id=self.next_id(),
                name=name,
                persona=persona,
                role=role,
                joined=joined,
                english=english,
                trad=not english
                and (rng.random() < 0.04 or (persona == "chatter" and i in (2, 7))),
                emoji=rng.choice((0.03, 0.1, 0.2, 0.35, 0.5)),
                typo=rng.choice((0.0, 0.02, 0.05, 0.12)),
                ending=rng.choice((0.1, 0.3, 0.5)),
                weight=self._weight(persona),
                venues=self._venues(persona, i),
                video=persona == "creator" and rng.random() < 0.5,
            )
            if persona == "official":
                m.emoji, m.typo, m.ending, m.trad = 0.0, 0.0, 0.0, False
            self.members.append(m)

    def _weight(self, persona: str) -> float:
        rng = self.rng
        if persona in ANCHORS:
            return rng.uniform(2.0, 5.0)
        if persona == "lurker":
            return 0.05
        if persona in ("chatter", "complainer"):
            return rng.lognormvariate(0.0, 0.8)
        return rng.uniform(0.8, 1.6)

    def _venues(self, persona: str, i: int) -> tuple[str, ...]:
        rng = self.rng
        if persona == "official":
            own = [g for k, g in enumerate(self.groups) if k % 2 == i % 2 or len(self.groups) < 3]
            return (*own, APP)
        if persona in ANCHORS:
            # the first anchors of each persona cover every venue between them
            venues = [self.venues[i % len(self.venues)]]
            for _ in range(rng.randint(1, 2)):
                v = self.group_for() if rng.random() < 0.5 else APP  # the app is the busiest
                if v not in venues:
                    venues.append(v)
            return tuple(venues)
        venues = []
        if rng.random() < 0.8:
            venues.append(self.group_for())
            if rng.random() < 0.2:
                other = self.group_for()
                if other not in venues:
                    venues.append(other)
        if not venues or rng.random() < 0.7 or persona == "creator":
            venues.append(APP)
        return tuple(venues)

    def _schedule_burnout(self) -> None:
        """About a third of the anchors burn out, never the first of each persona."""
        rng = self.rng
        for persona in ANCHORS:
            group = [m for m in self.members if m.persona == persona]
            k = max(1 if persona != "welcomer" else 0, round(0.35 * len(group)))
            k = min(k, len(group) - 1)
            # the first member of each persona stays healthy so every venue keeps an anchor
            candidates = group[1:]
            for m in rng.sample(candidates, k):
                onset_day = rng.randint(40, 190)
                leave_day = min(onset_day + rng.randint(60, 130), 330)
                m.onset = onset_day * DAY + rng.randint(0, DAY - 1)
                m.leave = leave_day * DAY + rng.randint(0, DAY - 1)
                m.weight = rng.uniform(6.0, 9.0)  # burnout hits the most engaged first
                extra = (APP, self.group_for())
                m.venues = (*m.venues, *(v for v in dict.fromkeys(extra) if v not in m.venues))

    def add_newcomer(self, joined: int) -> Member:
        rng = self.rng
        english = rng.random() < 0.05
        m = Member(
            id=self.next_id(),
            name=self.names.make(english),
            persona="newcomer",
            role="member",
            joined=joined,
            english=english,
            trad=not english and rng.random() < 0.04,
            emoji=rng.choice((0.05, 0.15, 0.3, 0.5)),
            typo=rng.choice((0.0, 0.03, 0.08)),
            ending=rng.choice((0.2, 0.4)),
        )
        self.members.append(m)
        return m

    # -- picking -----------------------------------------------------------------
    def _build_pools(self) -> None:
        keyed: dict[tuple[str, str], list[Member]] = {}
        for m in self.members:
            for v in m.venues:
                keyed.setdefault((m.persona, v), []).append(m)
        for key, members in keyed.items():
            dynamic = key[0] in ANCHORS
            cum = list(accumulate(m.weight for m in members))
            self._pools[key] = _Pool(members, cum, dynamic)

    def pick(
        self,
        persona: str,
        venue: str,
        t: int,
        exclude: tuple[Member, ...] = (),
        chinese: bool = False,
    ) -> Member | None:
        """A member of ``persona`` active in ``venue`` at ``t``, or None.

        Members are drawn by their weight; an anchor who is burning out is
        then available only with probability :meth:`Member.activity`, so that
        when anchors decline their work is left undone rather than silently
        taken over.
        """
        pool = self._pools.get((persona, venue))
        if pool is None:
            return None
        rng = self.rng
        cum = pool.cum
        total = cum[-1]
        away: list[Member] = []
        for _ in range(8):
            m = pool.members[bisect.bisect_right(cum, rng.random() * total)]
            if m in exclude or m in away or (chinese and m.english):
                continue
            if pool.dynamic and m.onset is not None and rng.random() >= m.activity(t):
                away.append(m)  # not around this time; someone else may step in
                continue
            return m
        return None

    def pick_mix(
        self,
        mix: tuple[tuple[str, float], ...],
        venue: str,
        t: int,
        exclude: tuple[Member, ...] = (),
        chinese: bool = False,
    ) -> Member | None:
        """Pick a persona from ``mix`` (weights), then a member of it; falls back in order."""
        rng = self.rng
        total = sum(w for _, w in mix)
        x = rng.random() * total
        order: list[str] = []
        for persona, w in mix:
            x -= w
            if x < 0 and not order:
                order.append(persona)
        order.extend(p for p, _ in mix if p not in order)
        for persona in order:
            m = self.pick(persona, venue, t, exclude, chinese)
            if m is not None:
                return m
        return None

    def anchors(self) -> list[Member]:
        return [m for m in self.members if m.persona in ANCHORS]
