"""The settings of the episodes stage, read from ``config/episodes.yaml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from anchorwatch.config import read_settings


@dataclass(frozen=True)
class ThreadWeights:
    """How a chat-stream message scores against an active thread."""

    horizon_s: int
    max_candidates: int
    new_thread_below: float
    recency: float
    recency_half_life_s: float
    recency_half_life_messages: float
    mention: float
    own_thread: float
    mentioned_here: float
    topic: float
    topic_miss: float
    topic_min_tokens: int
    fits: float
    opener_penalty: float
    welcome_s: int


@dataclass(frozen=True)
class EpisodesConfig:
    """Everything the episodes stage reads (one versioned file)."""

    version: str
    newcomer_tenure_s: int
    newcomer_max_prior: int
    warmup_s: int
    threads: ThreadWeights
    conflict_min_heat: int
    conflict_min_hostile: int
    conflict_gap_s: int
    complaint_needs_engagement: bool
    complaint_alone: float
    complaint_min_spread: int
    question_score_floor: float
    question_needs_form: bool
    question_cues: tuple[re.Pattern[str], ...]
    life_s: int
    arrival_s: int
    valence_positive: tuple[str, ...]
    valence_negative: tuple[str, ...]
    channel_cues: re.Pattern[str]
    details_patterns: tuple[re.Pattern[str], ...]
    details_min: int
    agreement_cues: re.Pattern[str]
    question_similarity: float
    question_neighbours: int
    return_days: tuple[int, ...]


def _alternation(words: list[Any]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(str(w)) for w in words), re.IGNORECASE)


def parse_config(raw: dict[str, Any]) -> EpisodesConfig:
    n, th, ep, out = raw["newcomer"], raw["threads"], raw["episodes"], raw["outcomes"]
    hour, day = 3600, 86400
    return EpisodesConfig(
        version=str(raw["version"]),
        newcomer_tenure_s=int(n["max_tenure_days"]) * day,
        newcomer_max_prior=int(n["max_prior_messages"]),
        warmup_s=int(n["history_warmup_days"]) * day,
        threads=ThreadWeights(
            horizon_s=int(float(th["horizon_hours"]) * hour),
            max_candidates=int(th["max_candidates"]),
            new_thread_below=float(th["new_thread_below"]),
            recency=float(th["recency"]),
            recency_half_life_s=float(th["recency_half_life_minutes"]) * 60,
            recency_half_life_messages=float(th["recency_half_life_messages"]),
            mention=float(th["mention"]),
            own_thread=float(th["own_thread"]),
            mentioned_here=float(th["mentioned_here"]),
            topic=float(th["topic"]),
            topic_miss=float(th["topic_miss"]),
            topic_min_tokens=int(th["topic_min_tokens"]),
            fits=float(th["fits"]),
            opener_penalty=float(th["opener_penalty"]),
            welcome_s=int(float(th["welcome_hours"]) * hour),
        ),
        conflict_min_heat=int(ep["conflict_min_heat"]),
        conflict_min_hostile=int(ep["conflict_min_hostile"]),
        conflict_gap_s=int(float(ep["conflict_gap_minutes"]) * 60),
        complaint_needs_engagement=bool(ep["complaint_needs_engagement"]),
        complaint_alone=float(ep["complaint_alone"]),
        complaint_min_spread=int(ep["complaint_min_spread"]),
        question_score_floor=float(ep["question_score_floor"]),
        question_needs_form=bool(ep["question_needs_form"]),
        question_cues=tuple(re.compile(p) for p in ep["question_cues"]),
        life_s=int(float(ep["life_hours"]) * hour),
        arrival_s=int(ep["arrival_days"]) * day,
        valence_positive=tuple(out["valence_positive"]),
        valence_negative=tuple(out["valence_negative"]),
        channel_cues=_alternation(out["channel_cues"]),
        details_patterns=tuple(re.compile(p, re.IGNORECASE) for p in out["details_patterns"]),
        details_min=int(out["details_min"]),
        agreement_cues=_alternation(out["agreement_cues"]),
        question_similarity=float(out["question_similarity"]),
        question_neighbours=int(out["question_neighbours"]),
        return_days=tuple(int(d) for d in out["return_days"]),
    )


@cache
def episodes_config() -> EpisodesConfig:
    """The packaged settings, or the file named by ``ANCHORWATCH_EPISODES_CONFIG``."""
    return parse_config(read_settings("episodes.yaml", "ANCHORWATCH_EPISODES_CONFIG"))
