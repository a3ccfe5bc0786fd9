"""The shared battery every Detector backend passes unchanged (STYLE 2).

Labels complete, scores in [0, 1], evidence spans inside the text, same input →
same output, a batch of one equals the same row in a larger batch, and awkward
inputs (empty, very long, emoji-only, mixed language, traditional characters)
handled.
"""

from __future__ import annotations

import numpy as np
import pytest

from anchorwatch.signals import LABELS, backends, get_detector
from anchorwatch.signals.detector import Detector

TEXTS = [
    "刚提车三天，请问冬天续航掉得厉害正常吗？",
    "换作是我也会很火大，方便说下车型和软件版本吗？可以在APP里提个工单",
    "",
    "😂😂😂👍",
    "OTA 之后 bluetooth 一直断连，有人遇到吗 lol",
    "車機又黑屏了，售後一直推，氣死我了！！！",
    "长" * 10_000,
    "@老王 你懂个屁，收了多少钱在这洗地？",
    "欢迎新朋友～提车多久啦？有问题随时问哈",
    "Thanks a lot Kevin, your tip about preheating saved my commute!",
]
CONTEXTS: list[str | None] = [
    None,
    "提车三个月车机黑屏三次！",
    None,
    None,
    None,
    None,
    None,
    "我觉得两边都有道理",
    None,
    "Try preheating the battery in the app",
]


@pytest.fixture(scope="module", params=backends(offline=True))
def detector(request: pytest.FixtureRequest) -> Detector:
    return get_detector(request.param)


def test_is_a_detector(detector: Detector) -> None:
    assert isinstance(detector, Detector)
    assert tuple(detector.labels) == LABELS
    assert detector.thresholds.shape == (len(LABELS),)
    assert ((detector.thresholds > 0) & (detector.thresholds < 1)).all()


def test_scores_are_probabilities_for_every_label(detector: Detector) -> None:
    det = detector.detect(TEXTS, CONTEXTS)
    assert det.scores.shape == (len(TEXTS), len(LABELS))
    assert np.isfinite(det.scores).all()
    assert (det.scores >= 0).all() and (det.scores <= 1).all()


def test_evidence_spans_lie_inside_the_text(detector: Detector) -> None:
    det = detector.detect(TEXTS, CONTEXTS)
    assert len(det.evidence) == len(TEXTS)
    for i, text in enumerate(TEXTS):
        fired = set(det.labels_of(i))
        assert set(det.evidence[i]) <= set(LABELS)
        assert fired <= set(det.evidence[i]) or not text
        for spans in det.evidence[i].values():
            for start, end in spans:
                assert 0 <= start < end <= len(text)


def test_same_input_same_output(detector: Detector) -> None:
    a = detector.detect(TEXTS, CONTEXTS)
    b = detector.detect(TEXTS, CONTEXTS)
    assert np.array_equal(a.scores, b.scores)
    assert a.evidence == b.evidence


def test_batch_of_one_equals_row_of_batch(detector: Detector) -> None:
    many = detector.predict_proba(TEXTS * 3, CONTEXTS * 3)
    for i in (0, 1, 5, 9):
        one = detector.predict_proba([TEXTS[i]], [CONTEXTS[i]])
        np.testing.assert_allclose(one[0], many[i], atol=1e-5)
        np.testing.assert_allclose(one[0], many[i + len(TEXTS)], atol=1e-5)


def test_empty_batch(detector: Detector) -> None:
    assert detector.predict_proba([], []).shape == (0, len(LABELS))


def test_traditional_reads_like_simplified(detector: Detector) -> None:
    trad = detector.predict_proba(["車機又黑屏了，售後一直推，氣死我了"], [None])
    simp = detector.predict_proba(["车机又黑屏了，售后一直推，气死我了"], [None])
    np.testing.assert_allclose(trad, simp, atol=1e-5)
