"""Training labels from a stronger detector: ``anchorwatch train --teacher llm``.

A brand's own messages are unlabelled; a teacher (the LLM backend in practice,
any :class:`~anchorwatch.signals.detector.Detector` in principle) scores them,
and only what it is sure of becomes a label for the embedded heads:

* probability ≥ ``min_confidence``      → 1 (has the label)
* probability ≤ ``1 - min_confidence``  → 0 (has not)
* in between                            → -1 (unknown; the heads skip it, as they
  skip labels a data set does not annotate)

Rows left with only unknowns teach nothing and are dropped, as are rows the
teacher could not answer (a detector may say which with a boolean
``unanswered_`` attribute over the rows of its last call, as ``llm.v1`` does):
zeros it wrote for want of an answer must not become confident negatives.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from anchorwatch.signals.data import LabelledSet
from anchorwatch.signals.detector import Detector
from anchorwatch.signals.labels import LABELS

_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def label_with_teacher(
    detector: Detector,
    texts: Sequence[str],
    contexts: Sequence[str | None],
    *,
    min_confidence: float = 0.8,
    ids: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
) -> LabelledSet:
    """Label unlabelled messages with ``detector``, keeping only confident labels.

    Pure apart from the one ``detector.predict_proba`` call (which, for the
    LLM, batches, caches and retries on its own).

    Parameters
    ----------
    detector:
        The teacher; its columns are matched to :data:`LABELS` by name (a label
        it lacks is -1 everywhere).
    texts, contexts:
        The messages and the messages they reply to (``None`` when none).
    min_confidence:
        In (0.5, 1]: how sure the teacher must be, either way.
    ids:
        Message ids, kept on the rows that survive (default ``teacher-{row}``).
    groups:
        Conversation ids, so that training folds keep a conversation together
        (default: each row its own group).

    Returns
    -------
    LabelledSet
        Named ``teacher:{detector.name}``, ``y`` int8 with 1 / 0 / -1, ``langs``
        ``zh`` when the text has Chinese characters, else ``en``.

    Examples
    --------
    >>> import numpy as np
    >>> from anchorwatch.signals.labels import LABELS
    >>> class Fixed:
    ...     name, labels = "fixed", LABELS
    ...     thresholds = np.full(len(LABELS), 0.5, np.float32)
    ...     def predict_proba(self, texts, contexts):
    ...         p = np.full((len(texts), len(LABELS)), 0.5, np.float32)
    ...         p[0, LABELS.index("empathy")] = 0.95
    ...         p[0, LABELS.index("fatigue")] = 0.02
    ...         return p
    ...     def detect(self, texts, contexts):
    ...         raise NotImplementedError
    >>> data = label_with_teacher(Fixed(), ["换作是我也会很生气", "嗯"], [None, None])
    >>> len(data), data.ids
    (1, ['teacher-0'])
    >>> int(data.y[0, LABELS.index("empathy")]), int(data.y[0, LABELS.index("fatigue")])
    (1, 0)
    >>> int(data.y[0, LABELS.index("welcome")])
    -1
    """
    if not 0.5 < min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in (0.5, 1], not {min_confidence}")
    n = len(texts)
    if len(contexts) != n or (ids is not None and len(ids) != n):
        raise ValueError("texts, contexts and ids must have the same length")
    if groups is not None and len(groups) != n:
        raise ValueError("texts and groups must have the same length")
    row_ids = list(ids) if ids is not None else [f"teacher-{i}" for i in range(n)]
    row_groups = list(groups) if groups is not None else row_ids

    proba = np.asarray(detector.predict_proba(texts, contexts), dtype=np.float32)
    if proba.shape != (n, len(detector.labels)):
        raise ValueError(f"{detector.name} gave scores of shape {proba.shape} for {n} texts")
    unanswered = getattr(detector, "unanswered_", None)

    # Compare in float32 on both sides, so that a score of exactly 0.2 counts
    # as ≤ 1 - 0.8 (in float64, 1 - 0.8 is 0.19999999999999996).
    hi, lo = np.float32(min_confidence), np.float32(1.0 - min_confidence)
    y = np.full((n, len(LABELS)), -1, dtype=np.int8)
    column = {label: j for j, label in enumerate(detector.labels)}
    for k, label in enumerate(LABELS):
        if label not in column:
            continue
        p = proba[:, column[label]]
        y[p >= hi, k] = 1
        y[p <= lo, k] = 0

    keep = (y >= 0).any(axis=1)
    if isinstance(unanswered, np.ndarray) and unanswered.shape == (n,):
        keep &= ~unanswered
    rows: list[int] = np.flatnonzero(keep).tolist()
    return LabelledSet(
        f"teacher:{detector.name}",
        [texts[i] for i in rows],
        [contexts[i] for i in rows],
        y[rows],
        [row_groups[i] for i in rows],
        ["zh" if _CJK_RE.search(texts[i]) else "en" for i in rows],
        [row_ids[i] for i in rows],
    )
