"""Hand-made conversations for the episodes stage.

A conversation is written as rows ``(id, author, minute, text, labels)``
(optionally a sixth item: the id it replies to).  Labels are given, not
detected, so that these tests check the episode logic alone; the end-to-end
tests run the real detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from anchorwatch.episodes.batch import LABEL_INDEX, MessageBatch
from anchorwatch.episodes.config import EpisodesConfig, episodes_config
from anchorwatch.signals.labels import LABELS

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z

Row = tuple[Any, ...]


def make_batch(
    rows: Sequence[Row],
    *,
    conversation: str = "c1",
    stream: bool = False,
    newcomers: Sequence[str] = (),
    officials: Sequence[str] = (),
) -> MessageBatch:
    n = len(rows)
    labels = np.zeros((n, len(LABELS)), dtype=bool)
    scores = np.zeros((n, len(LABELS)), dtype=np.float32)
    for r, row in enumerate(rows):
        for name in row[4]:
            labels[r, LABEL_INDEX[name]] = True
            scores[r, LABEL_INDEX[name]] = 0.9
    return MessageBatch(
        conversation=conversation,
        stream=stream,
        id=[row[0] for row in rows],
        author=[row[1] for row in rows],
        reply_to=[row[5] if len(row) > 5 else None for row in rows],
        t=np.array([T0 + int(row[2] * 60) for row in rows], dtype=np.int64),
        text=[row[3] for row in rows],
        labels=labels,
        scores=scores,
        evidence=[{} for _ in rows],
        newcomer=np.array([row[1] in newcomers for row in rows], dtype=bool),
        official=np.array([row[1] in officials for row in rows], dtype=bool),
    )


@pytest.fixture
def cfg() -> EpisodesConfig:
    return episodes_config()
