"""The signals stage as a pure function: a batch of messages → rows of scores.

No I/O: the engine (:mod:`anchorwatch.engines.local`) reads the batch from the
store and writes what this returns into ``message_signals``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from anchorwatch.signals.detector import Detector


def signal_rows(
    detector: Detector,
    ids: Sequence[str],
    texts: Sequence[str],
    contexts: Sequence[str | None],
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Detect on one batch; return ``message_signals`` rows and fired counts.

    >>> from anchorwatch.signals import get_detector              # doctest: +SKIP
    >>> rows, fired = signal_rows(get_detector("lexical.v1"),
    ...                           ["m1"], ["心累，不想管了"], [None])  # doctest: +SKIP
    >>> rows[0]["labels"], fired["fatigue"]                        # doctest: +SKIP
    (['fatigue'], 1)
    """
    det = detector.detect(list(texts), list(contexts))
    fired_matrix = det.fired
    rows: list[dict[str, Any]] = []
    for i, ident in enumerate(ids):
        row: dict[str, Any] = {
            "message": ident,
            "backend": detector.name,
            "stage": det.stage[i] if det.stage else None,
        }
        for j, label in enumerate(det.labels):
            row[f"p_{label}"] = round(float(det.scores[i, j]), 5)
        on = [lab for lab, f in zip(det.labels, fired_matrix[i], strict=True) if f]
        row["labels"] = on
        ev = det.evidence[i] if det.evidence else {}
        row["evidence"] = {lab: [list(s) for s in ev.get(lab, [])] for lab in on} or None
        rows.append(row)
    fired = {lab: int(fired_matrix[:, j].sum()) for j, lab in enumerate(det.labels)}
    return rows, fired
