"""Messages waiting to be written, and the scene that scripts them.

An episode builder plays a *scene*: it posts drafts one after another on a
clock, in one conversation, with their ground-truth labels.  Drafts get their
message ids only when the writer emits them in time order, so ``reply_to`` is
a reference to the earlier draft, resolved at write time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Final

from anchorwatch.demo.personas import DAY, Member
from anchorwatch.demo.text import Voice
from anchorwatch.signals.labels import ACTS, CONTEXTS

# The labels of DESIGN 1.1, from config/labels.yaml: the truth file uses exactly these.
ACT_LABELS: Final = ACTS
CONTEXT_LABELS: Final = CONTEXTS
LABELS: Final = ACT_LABELS + CONTEXT_LABELS
_ACTS: Final = frozenset(ACT_LABELS)
END: Final = 365 * DAY


@dataclass(slots=True, eq=False)
class Conv:
    """A conversation: a whole WeChat group (``stream``) or one forum thread."""

    id: str
    channel: str
    title: str | None
    started: int
    stream: bool


@dataclass(slots=True, eq=False)
class Episode:
    """A scripted episode and its ground truth (DESIGN 3.3)."""

    id: str
    kind: str
    conv: Conv
    subject: Member
    variant: str
    cluster: str | None = None
    drafts: list[Draft] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)
    pending: int = 0
    times_asked_before: int | None = None


@dataclass(slots=True, eq=False)
class Draft:
    """One message to be written, with what the truth file says about it."""

    t: int
    conv: Conv
    author: Member
    text: str
    reply_to: Draft | None = None
    labels: tuple[str, ...] = ()
    target: Member | None = None
    thread: str | None = None
    episode: Episode | None = None
    tags: tuple[str, ...] = ()
    sentiment: float | None = None
    id: str = ""

    @property
    def acts(self) -> tuple[str, ...]:
        return tuple(label for label in self.labels if label in _ACTS)


@dataclass(slots=True)
class Batch:
    """What one builder produced: new records and messages to schedule."""

    drafts: list[Draft] = field(default_factory=list)
    reactions: list[tuple[int, Draft, Member, str]] = field(default_factory=list)
    convs: list[Conv] = field(default_factory=list)
    joins: list[tuple[int, Member, str, Episode | None]] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)

    def extend(self, other: Batch) -> None:
        self.drafts.extend(other.drafts)
        self.reactions.extend(other.reactions)
        self.convs.extend(other.convs)
        self.joins.extend(other.joins)
        self.members.extend(other.members)
        self.episodes.extend(other.episodes)


class Ids:
    """Sequential ids for conversations, episodes and threads (build order)."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.conv = 0
        self.episode = 0
        self.thread = 0

    def next_conv(self) -> str:
        self.conv += 1
        return f"t{self.conv:0{self.width}d}"

    def next_episode(self) -> str:
        self.episode += 1
        return f"e{self.episode:0{self.width}d}"

    def next_thread(self) -> str:
        self.thread += 1
        return f"th{self.thread:0{self.width}d}"


class Scene:
    """A clock and a conversation on which a builder posts drafts in order."""

    def __init__(
        self,
        rng: random.Random,
        voice: Voice,
        batch: Batch,
        conv: Conv,
        t: int,
        thread: str | None = None,
        episode: Episode | None = None,
    ) -> None:
        self.rng = rng
        self.voice = voice
        self.batch = batch
        self.conv = conv
        self.t = t
        self.thread = thread
        self.episode = episode
        self.opener: Draft | None = None
        self.posted: list[Draft] = []
        self._reacted: set[tuple[Draft, Member, str]] = set()  # membership tests only

    def post(
        self,
        author: Member,
        text: str,
        *,
        gap: tuple[int, int] = (20, 240),
        reply: Draft | None = None,
        quote: float = 0.15,
        labels: tuple[str, ...] = (),
        target: Member | None = None,
        tags: tuple[str, ...] = (),
        sentiment: float | None = None,
        at: int | None = None,
    ) -> Draft:
        """Post ``text`` after a random gap (or ``at``); ``reply`` is who it answers.

        In a forum thread every message after the opener replies to something
        (``reply`` or the opener); in a chat stream only quote replies carry
        ``reply_to`` (probability ``quote``), and some replies start with an
        @mention instead.
        """
        rng = self.rng
        t = at if at is not None else self.t + rng.randint(*gap)
        if reply is not None and t <= reply.t:
            t = reply.t + rng.randint(5, 60)
        if t <= self.t and self.posted:
            t = self.t + 1
        self.t = t
        reply_to: Draft | None
        if self.conv.stream:
            reply_to = reply if reply is not None and rng.random() < quote else None
            if (
                reply is not None
                and reply_to is None
                and reply.author is not author
                and "@" not in text
                and rng.random() < 0.25
            ):
                text = f"@{reply.author.name} {text}"
        else:
            reply_to = reply if reply is not None else self.opener
        d = Draft(
            t=t,
            conv=self.conv,
            author=author,
            text=text,
            reply_to=reply_to,
            labels=labels,
            target=target,
            thread=self.thread if self.conv.stream else None,
            episode=self.episode,
            tags=tags,
            sentiment=sentiment,
        )
        if self.opener is None:
            self.opener = d
        self.posted.append(d)
        self.batch.drafts.append(d)
        if self.episode is not None:
            self.episode.drafts.append(d)
        return d

    def react(
        self, draft: Draft, member: Member, kind: str, delay: tuple[int, int] = (30, 7200)
    ) -> None:
        if member is draft.author or (draft, member, kind) in self._reacted:
            return
        self._reacted.add((draft, member, kind))
        self.batch.reactions.append((draft.t + self.rng.randint(*delay), draft, member, kind))

    def wait(self, low: int, high: int) -> None:
        self.t += self.rng.randint(low, high)
