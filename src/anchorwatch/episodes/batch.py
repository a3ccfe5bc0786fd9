"""The columnar input of the episodes stage: one conversation's messages.

The engine reads messages with their signals from the store and hands the
stage a :class:`MessageBatch` (NumPy columns in time order); the stage never
touches the store.  Label columns follow ``signals.labels.LABELS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anchorwatch.signals.labels import LABELS

LABEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(LABELS)}

#: Acts that serve each kind of episode: an act is attributed to the latest
#: episode of a kind it serves, else to the latest episode of its thread.
SERVES: dict[str, tuple[str, ...]] = {
    "newcomer_question": ("newcomer_answer", "welcome", "guide_channel", "guide_details"),
    "arrival": ("welcome", "newcomer_answer"),
    "conflict": ("deescalate_humor", "deescalate_summary", "deescalate_redirect", "empathy"),
    "complaint": ("empathy", "guide_details", "guide_channel", "deescalate_redirect"),
}
HEAT = ("heated", "personal_attack", "offensive")
DEESCALATE = ("deescalate_humor", "deescalate_summary", "deescalate_redirect")

_MENTION = re.compile(r"@([^\s@,，:：;；。!！?？()（）]{1,40})")
_CJK = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[a-z]{3,}")


def mentions(text: str) -> list[str]:
    """The names a message @mentions, as written."""
    return _MENTION.findall(text)


def topic_tokens(text: str) -> frozenset[str]:
    """Character bigrams of the Chinese runs and lower-cased English words.

    Cheap and language-agnostic enough to tell "续航" talk from "充电桩" talk
    within a few hours of one chat group; @mentions are removed first so that a
    name does not look like a topic.
    """
    text = _MENTION.sub(" ", text)
    grams: set[str] = set()
    for run in _CJK.findall(text):
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    grams.update(_WORD.findall(text.lower()))
    return frozenset(grams)


@dataclass
class MessageBatch:
    """Messages of one conversation in time order, with their signals.

    ``labels`` is a boolean ``(n, len(LABELS))`` matrix of the labels the
    detector set, ``scores`` the matching probabilities.  ``newcomer`` says
    whether the author counted as a newcomer when they wrote it (computed by
    :func:`anchorwatch.episodes.newcomers.newcomer_flags`).  ``thread`` holds
    the thread already assigned (``None`` where the message is new).
    """

    conversation: str
    stream: bool
    id: list[str]
    author: list[str]
    reply_to: list[str | None]
    t: np.ndarray  # int64 epoch seconds, UTC
    text: list[str]
    labels: np.ndarray  # bool (n, L)
    scores: np.ndarray  # float32 (n, L)
    evidence: list[dict[str, Any]]
    newcomer: np.ndarray  # bool (n,)
    official: np.ndarray  # bool (n,): author role is official or operator
    thread: list[str | None] = field(default_factory=list)
    # Column-wise tests are computed once per batch, not once per thread.
    _cache: dict[Any, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.thread:
            self.thread = [None] * len(self.id)

    def __len__(self) -> int:
        return len(self.id)

    def has(self, label: str) -> np.ndarray:
        return self.labels[:, LABEL_INDEX[label]]

    def any_of(self, names: tuple[str, ...]) -> np.ndarray:
        hit = self._cache.get(names)
        if hit is None:
            cols = [LABEL_INDEX[n] for n in names]
            hit = self._cache[names] = np.asarray(self.labels[:, cols].any(axis=1))
        return hit

    def cached(self, key: str, make: Callable[[], np.ndarray]) -> np.ndarray:
        """A derived column, computed on first use."""
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = make()
        return hit


@dataclass(frozen=True)
class JoinEvent:
    """A member joining a channel; in a chat stream it opens an arrival thread."""

    key: str  # stable id of the join ("join:<member>:<epoch>")
    member: str
    name: str | None
    t: int
