"""The one interface every detection backend implements.

A detector reads a batch of messages, each with the message it replies to, and
gives per label a probability; a threshold per label turns probabilities into
labels; evidence spans say which part of the text made a label fire.  Inputs
and outputs are columnar (sequences in, NumPy matrices out): one call per
batch, never one per message.

Every backend passes ``tests/signals/test_detector_contract.py`` unchanged:
labels complete, scores in [0, 1], spans inside the text, same input → same
output, and a batch of one gives the same as the same row in a batch of many.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

Span = tuple[int, int]


@dataclass
class Detections:
    """Scores, thresholds and evidence for one batch.

    Attributes
    ----------
    labels:
        Column order of ``scores``.
    scores:
        ``(n, len(labels))`` float32 probabilities in [0, 1].
    thresholds:
        ``(len(labels),)``: a label fires at or above its threshold.
    evidence:
        Per row, ``{label: [(start, end), ...]}`` for the labels that fired;
        offsets index the original text.
    stage:
        Per row, which stage produced the scores (``lexical``, ``encoder``...);
        empty when a backend has one stage.
    """

    labels: tuple[str, ...]
    scores: np.ndarray
    thresholds: np.ndarray
    evidence: list[dict[str, list[Span]]] = field(default_factory=list)
    stage: list[str] = field(default_factory=list)

    @property
    def fired(self) -> np.ndarray:
        """``(n, L)`` booleans: score at or above the label's threshold."""
        return np.asarray(self.scores >= self.thresholds[None, :])

    def labels_of(self, row: int) -> list[str]:
        return [lab for lab, on in zip(self.labels, self.fired[row], strict=True) if on]

    def records(self, ids: Sequence[Any]) -> list[dict[str, Any]]:
        """The output lines of ``anchorwatch score`` (DESIGN 3.2)."""
        fired = self.fired
        out = []
        for i, ident in enumerate(ids):
            row_scores = {
                lab: round(float(s), 4) for lab, s in zip(self.labels, self.scores[i], strict=True)
            }
            on = [lab for lab, f in zip(self.labels, fired[i], strict=True) if f]
            ev = self.evidence[i] if self.evidence else {}
            out.append(
                {
                    "id": ident,
                    "scores": row_scores,
                    "labels": on,
                    "evidence": {lab: [list(s) for s in ev.get(lab, [])] for lab in on},
                }
            )
        return out


@runtime_checkable
class Detector(Protocol):
    """A swappable detection backend (see :mod:`anchorwatch.signals.registry`)."""

    name: str
    labels: tuple[str, ...]
    thresholds: np.ndarray

    def predict_proba(self, texts: Sequence[str], contexts: Sequence[str | None]) -> np.ndarray:
        """``(n, L)`` probabilities."""
        ...

    def detect(self, texts: Sequence[str], contexts: Sequence[str | None]) -> Detections:
        """Probabilities, thresholds and evidence spans."""
        ...
