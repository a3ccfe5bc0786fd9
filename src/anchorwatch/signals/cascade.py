"""``cascade.v1``: the lexical stage for every message, the encoder only where
the lexical stage is unsure.

Most of a community's messages are small talk that the lexical heads score far
from every act threshold; only messages with some *act* close to its threshold
(``|logit(p) - logit(t)| < margin``) are sent to the encoder.  Acts are the
labels whose errors cost most (they become a member's ledger) and the ones the
encoder improves; contexts such as ``heated`` are everywhere in chat and would
send a fifth of a community to the encoder for little gain.  The labels that
escalate and the margin are chosen at training time on out-of-fold scores,
trading the share of messages escalated against the loss in F1
(``anchorwatch eval`` and ``bench/score_bench.py`` report both).

Scores of messages that were not escalated are mapped monotonically so that the
lexical threshold lands on the encoder threshold: one threshold per label
holds for the whole batch, whichever stage scored a row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from anchorwatch.signals.detector import Detections
from anchorwatch.signals.encoder import NAME as ENCODER_NAME
from anchorwatch.signals.encoder import EncoderDetector
from anchorwatch.signals.lexical import NAME as LEXICAL_NAME
from anchorwatch.signals.lexical import LexicalDetector

NAME = "cascade.v1"


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    out: np.ndarray = np.log(p / (1 - p))
    return out


CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN_WORD_RE = re.compile(r"[A-Za-z]{2,}")


def is_latin(text: str) -> bool:
    """A message written in a Latin script (English), with no Chinese at all."""
    return not CJK_RE.search(text) and len(LATIN_WORD_RE.findall(text)) >= 2


def uncertain(proba: np.ndarray, thresholds: np.ndarray, margin: float) -> np.ndarray:
    """Rows with at least one label within ``margin`` logits of its threshold."""
    gap = np.abs(_logit(proba) - _logit(thresholds)[None, :])
    return np.asarray((gap < margin).any(axis=1))


def align(proba: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Piecewise-linear map of each column sending threshold ``source`` to ``target``."""
    s, t = source[None, :], target[None, :]
    low = proba * (t / np.maximum(s, 1e-6))
    high = t + (proba - s) * ((1 - t) / np.maximum(1 - s, 1e-6))
    return np.where(proba < s, low, high).astype(np.float32)


class CascadeDetector:
    """Lexical first, encoder on the uncertain rows.

    Parameters
    ----------
    lexical, encoder:
        The two fitted stages (the encoder stacks on the same lexical stage).
    margin:
        Escalation band in logits around each lexical threshold.
    escalate_on:
        Labels whose uncertainty sends a message to the encoder (default: all).
    escalate_latin:
        Send every message without Chinese characters to the encoder.  The
        lexical stage is trained mostly on Chinese and is much weaker on English
        (see ``anchorwatch eval``); in a Chinese community English messages are
        few, so reading all of them with the encoder costs little.
    """

    name = NAME

    def __init__(
        self,
        lexical: LexicalDetector,
        encoder: EncoderDetector,
        margin: float = 0.5,
        escalate_on: Sequence[str] | None = None,
        escalate_latin: bool = False,
    ) -> None:
        self.lexical = lexical
        self.encoder = encoder
        self.margin = margin
        self.labels = lexical.labels
        self.escalate_on = tuple(escalate_on or self.labels)
        self.escalate_latin = escalate_latin
        self._columns = np.array([self.labels.index(lab) for lab in self.escalate_on])
        # One threshold per label for every row: lexical scores are aligned to it.
        self.thresholds = encoder.thresholds

    def predict_with_stage(
        self, texts: Sequence[str], contexts: Sequence[str | None]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and, per row, whether the encoder produced them."""
        lex = self.lexical.predict_proba(texts, contexts)
        cols = self._columns
        escalate = uncertain(lex[:, cols], self.lexical.thresholds[cols], self.margin)
        if self.escalate_latin:
            escalate |= np.array([is_latin(t) for t in texts], dtype=bool)
        scores = align(lex, self.lexical.thresholds, self.encoder.thresholds)
        if escalate.any():
            idx = [int(i) for i in np.flatnonzero(escalate)]
            feats = self.encoder.features([texts[i] for i in idx], [contexts[i] for i in idx])
            scores[idx] = self.encoder.combine(lex[idx], self.encoder.head_proba(feats))
        return scores, escalate

    def predict_proba(self, texts: Sequence[str], contexts: Sequence[str | None]) -> np.ndarray:
        return self.predict_with_stage(texts, contexts)[0]

    def detect(self, texts: Sequence[str], contexts: Sequence[str | None]) -> Detections:
        scores, escalate = self.predict_with_stage(texts, contexts)
        det = Detections(self.labels, scores, self.thresholds.copy())
        det.evidence = self.lexical.evidence(texts, det.fired)
        det.stage = [ENCODER_NAME if e else LEXICAL_NAME for e in escalate]
        return det
