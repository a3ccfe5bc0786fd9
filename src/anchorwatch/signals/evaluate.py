"""Per-label precision, recall, F1 and confusion counts (pure functions).

Rows whose label is not annotated (-1) are left out of that label's figures,
so COLD (offensive only) and CPED (two mapped acts) are scored only on what
they annotate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LabelScore:
    label: str
    support: int  # annotated positives
    n: int  # annotated rows
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.n if self.n else 0.0


def score_labels(labels: Sequence[str], y_true: np.ndarray, y_pred: np.ndarray) -> list[LabelScore]:
    """Confusion counts per label over the annotated rows."""
    out = []
    for j, label in enumerate(labels):
        known = y_true[:, j] >= 0
        t = y_true[known, j] == 1
        p = y_pred[known, j].astype(bool)
        out.append(
            LabelScore(
                label,
                int(t.sum()),
                int(known.sum()),
                int((t & p).sum()),
                int((~t & p).sum()),
                int((t & ~p).sum()),
                int((~t & ~p).sum()),
            )
        )
    return out


def macro_f1(scores: Sequence[LabelScore], labels: Sequence[str] | None = None) -> float:
    """Mean F1 over ``labels`` (default: every label with annotated positives)."""
    chosen = [s for s in scores if (labels is None or s.label in labels) and s.support > 0]
    return float(np.mean([s.f1 for s in chosen])) if chosen else 0.0


def best_thresholds(y_true: np.ndarray, proba: np.ndarray, floor: float = 0.05) -> np.ndarray:
    """Per label, the probability cut that maximises F1 on (out-of-fold) scores."""
    grid = np.linspace(floor, 0.95, 91)
    out = np.full(proba.shape[1], 0.5, dtype=np.float32)
    for j in range(proba.shape[1]):
        known = y_true[:, j] >= 0
        t = y_true[known, j] == 1
        if not t.any():
            continue
        pj = proba[known, j]
        best, best_f1 = 0.5, -1.0
        for cut in grid:
            p = pj >= cut
            tp = float((t & p).sum())
            f1 = 2 * tp / (t.sum() + p.sum()) if (t.sum() + p.sum()) else 0.0
            if f1 > best_f1 + 1e-9:
                best, best_f1 = float(cut), f1
        out[j] = best
    return out


def evaluate_sets(detector: Any, sets: Sequence[Any]) -> dict[str, Any]:
    """Score every labelled set with ``detector``; figures per label and macro."""
    import time

    from anchorwatch.signals.labels import ACTS, CONTEXTS

    out: dict[str, Any] = {"backend": detector.name, "sets": {}}
    for ds in sets:
        if not len(ds):
            continue
        started = time.perf_counter()
        det = detector.detect(ds.texts, ds.contexts)
        seconds = time.perf_counter() - started
        scores = score_labels(det.labels, ds.y, det.fired)
        res: dict[str, Any] = {
            "rows": len(ds),
            "messages_per_s": len(ds) / max(seconds, 1e-9),
            "macro_f1_acts": macro_f1(scores, ACTS),
            "macro_f1_contexts": macro_f1(scores, CONTEXTS),
            "labels": [
                {
                    "label": s.label,
                    "support": s.support,
                    "n": s.n,
                    "precision": s.precision,
                    "recall": s.recall,
                    "f1": s.f1,
                    "accuracy": s.accuracy,
                    "tp": s.tp,
                    "fp": s.fp,
                    "fn": s.fn,
                    "tn": s.tn,
                }
                for s in scores
                if s.n and (s.support or s.fp)
            ],
        }
        if det.stage:
            res["escalated_share"] = sum(st != "lexical.v1" for st in det.stage) / len(det.stage)
        out["sets"][ds.name] = res
    return out
