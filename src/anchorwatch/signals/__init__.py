"""Signals: per-message probabilities of the acts and contexts of DESIGN 1.1.

>>> from anchorwatch.signals import score                      # doctest: +SKIP
>>> score(["换作是我也会很生气，方便说下车型和时间吗？"],
...       contexts=["提车三个月车机黑屏三次，售后一直推！"])      # doctest: +SKIP
shape: (1, 19) ... id | text | labels | empathy | guide_details | ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from anchorwatch.signals.detector import Detections, Detector
from anchorwatch.signals.labels import ACTS, CONTEXTS, LABELS
from anchorwatch.signals.registry import backends, get_detector

__all__ = [
    "ACTS",
    "CONTEXTS",
    "LABELS",
    "Detections",
    "Detector",
    "backends",
    "detect_batches",
    "get_detector",
    "score",
]


def detect_batches(
    detector: Detector,
    texts: Sequence[str],
    contexts: Sequence[str | None],
    batch_size: int = 512,
) -> Detections:
    """Run ``detector`` over any number of rows in fixed-size batches."""
    import numpy as np

    parts = [
        detector.detect(texts[i : i + batch_size], contexts[i : i + batch_size])
        for i in range(0, len(texts), batch_size)
    ]
    if not parts:
        return Detections(
            detector.labels,
            np.zeros((0, len(detector.labels)), np.float32),
            detector.thresholds.copy(),
        )
    return Detections(
        detector.labels,
        np.vstack([p.scores for p in parts]),
        parts[0].thresholds,
        [e for p in parts for e in p.evidence],
        [s for p in parts for s in p.stage],
    )


def score(
    texts: Sequence[str],
    contexts: Sequence[str | None] | None = None,
    ids: Sequence[Any] | None = None,
    backend: str | None = None,
) -> Any:
    """Score texts and return a polars DataFrame: one row per text, one column
    per label probability, plus ``labels`` (fired) and ``evidence``.

    The same content as ``anchorwatch score`` writes (DESIGN 3.2).
    """
    import polars as pl

    detector = get_detector(backend)
    ctx = list(contexts) if contexts is not None else [None] * len(texts)
    det = detect_batches(detector, list(texts), ctx)
    ids = list(ids) if ids is not None else list(range(len(texts)))
    recs = det.records(ids)
    frame: dict[str, Any] = {"id": ids, "text": list(texts)}
    frame["labels"] = [r["labels"] for r in recs]
    for j, label in enumerate(det.labels):
        frame[label] = det.scores[:, j]
    frame["evidence"] = [json_evidence(r["evidence"]) for r in recs]
    return pl.DataFrame(frame)


def json_evidence(evidence: dict[str, list[list[int]]]) -> str:
    import json

    return json.dumps(evidence, ensure_ascii=False)
