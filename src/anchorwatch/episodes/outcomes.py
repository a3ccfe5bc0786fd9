"""What each episode achieved (DESIGN 1.2 and the outcome fields of 3.3).

Each function reads one episode's messages (indices into a
:class:`MessageBatch`, in time order) and returns its outcome fields; the
messages an outcome was computed from are the episode's messages, exported with
it.  ``returned_within`` is the one cross-conversation outcome: it needs the
subject's later messages anywhere in the community.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anchorwatch.episodes.batch import DEESCALATE, HEAT, LABEL_INDEX, MessageBatch
from anchorwatch.episodes.config import EpisodesConfig


def valence(batch: MessageBatch, cfg: EpisodesConfig) -> np.ndarray:
    """Message valence in -1..1 from the signal scores.

    Gratitude counts positive, the strongest negative context counts negative;
    a message with neither is neutral (0).
    """
    pos = batch.scores[:, [LABEL_INDEX[n] for n in cfg.valence_positive]].max(axis=1)
    neg = batch.scores[:, [LABEL_INDEX[n] for n in cfg.valence_negative]].max(axis=1)
    return np.clip(np.round(pos - neg, 2), -1.0, 1.0)


def detail_count(text: str, cfg: EpisodesConfig) -> int:
    """How many kinds of concrete detail a message gives (numbers, dates, places...)."""
    return sum(1 for p in cfg.details_patterns if p.search(text))


def newcomer_outcome(batch: MessageBatch, idx: list[int], subject: str) -> dict[str, Any]:
    """``replied``, ``thanked``, ``answered``, ``first_response_s`` of a question."""
    q = idx[0]
    others = [i for i in idx if i > q and batch.author[i] != subject]
    first = others[0] if others else None
    own_after = [i for i in idx if i > q and batch.author[i] == subject]
    grat = LABEL_INDEX["gratitude"]
    return {
        "replied": first is not None and any(i > first for i in own_after),
        "thanked": any(bool(batch.labels[i, grat]) for i in own_after),
        "answered": first is not None,
        "first_response_s": int(batch.t[first] - batch.t[q]) if first is not None else None,
    }


def arrival_outcome(batch: MessageBatch, idx: list[int], subject: str) -> dict[str, Any]:
    """``welcomed`` and ``first_post`` of an arrival."""
    wel = LABEL_INDEX["welcome"]
    return {
        "welcomed": any(bool(batch.labels[i, wel]) for i in idx if batch.author[i] != subject),
        "first_post": any(batch.author[i] == subject for i in idx),
    }


def complaint_outcome(
    batch: MessageBatch, idx: list[int], subject: str, val: np.ndarray, cfg: EpisodesConfig
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The complaint fields, and the first response for the buffer effect.

    The second value is ``None`` when nobody answered with official service or
    member empathy, else ``{"responder": "official"|"member", "message": id,
    "sentiment_before": v, "sentiment_after": v or None}``.
    """
    own = [i for i in idx if batch.author[i] == subject]
    later = own[1:]
    comp = LABEL_INDEX["complaint"]
    spreaders = {
        batch.author[i]
        for i in idx
        if batch.author[i] != subject and batch.labels[i, comp] and not batch.official[i]
    }
    outcome = {
        "sentiment_first": round(float(val[own[0]]), 2) if own else None,
        "sentiment_last": round(float(val[own[-1]]), 2) if own else None,
        "details_given": any(detail_count(batch.text[i], cfg) >= cfg.details_min for i in later),
        "moved_to_channel": any(cfg.channel_cues.search(batch.text[i]) for i in later),
        "spread": len(spreaders),
    }
    emp = LABEL_INDEX["empathy"]
    response: dict[str, Any] | None = None
    for i in idx:
        if batch.author[i] == subject or i < idx[0]:
            continue
        if batch.official[i]:
            kind = "official"
        elif batch.labels[i, emp]:
            kind = "member"
        else:
            continue
        nxt = next((j for j in own if j > i), None)
        response = {
            "responder": kind,
            "message": batch.id[i],
            "sentiment_before": round(float(val[idx[0]]), 2),
            "sentiment_after": round(float(val[nxt]), 2) if nxt is not None else None,
        }
        break
    return outcome, response


def conflict_outcome(batch: MessageBatch, idx: list[int], cfg: EpisodesConfig) -> dict[str, Any]:
    """Heat before and after the first de-escalation, attacks stopped, agreement.

    Without an intervention the episode is split in halves, so that
    ``heat_before``/``heat_after`` still say whether it cooled by itself.
    """
    heat = batch.any_of(HEAT)
    calming = batch.any_of(DEESCALATE)
    attack = batch.has("personal_attack")
    first = next((k for k, i in enumerate(idx) if calming[i]), None)
    split = first if first is not None else len(idx) // 2
    before = idx[:split]
    after = idx[split + (1 if first is not None else 0) :]

    def rate(part: list[int], col: np.ndarray) -> float:
        return round(float(col[part].mean()), 2) if part else 0.0

    parties = {batch.author[i] for i in idx if heat[i]}
    tail = idx[split:] if first is not None else idx[len(idx) // 2 :]
    return {
        "intervened": first is not None,
        "heat_before": rate(before, heat),
        "heat_after": rate(after, heat),
        "attacks_before": rate(before, attack),
        "attacks_after": rate(after, attack),
        "attacks_stopped": first is not None and not any(attack[i] for i in after),
        "agreement": any(
            batch.author[i] in parties and bool(cfg.agreement_cues.search(batch.text[i]))
            for i in tail
        ),
    }


def returned_within(ref_t: np.ndarray, subject_times: list[np.ndarray], days: int) -> np.ndarray:
    """Did each subject post again within ``days`` after ``ref_t``?

    ``subject_times[k]`` are the sorted epoch seconds of episode k's subject's
    messages anywhere in the community.
    """
    out = np.zeros(len(ref_t), dtype=bool)
    for k, times in enumerate(subject_times):
        pos = int(np.searchsorted(times, ref_t[k], side="right"))
        out[k] = pos < len(times) and times[pos] <= ref_t[k] + days * 86400
    return out
