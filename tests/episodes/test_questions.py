"""Repeated questions: synthetic e5-like vectors, hand-built geometry, incremental runs."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from anchorwatch.episodes import questions
from anchorwatch.episodes.questions import (
    QuestionClusters,
    cluster_questions,
    representatives,
    top_clusters,
)

DIM = 384


def _unit(a: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=-1, keepdims=True)).astype(np.float32)


def _e5_like(
    n_topics: int, per_topic: int, seed: int = 0, noise: float = 0.55
) -> tuple[np.ndarray, np.ndarray]:
    """Questions as e5 sees them: a shared direction, a topic, and noise.

    Unrelated questions land near cosine 0.8, wordings of one topic near 0.95
    (the narrow gap the real encoder leaves).  Rows are shuffled.
    """
    rng = np.random.default_rng(seed)
    common = _unit(rng.standard_normal(DIM))
    topic_dirs = _unit(rng.standard_normal((n_topics, DIM)))
    topic = rng.permutation(np.repeat(np.arange(n_topics), per_topic))
    noise_dirs = _unit(rng.standard_normal((len(topic), DIM)))
    vectors = _unit(2.4 * common + topic_dirs[topic] + noise * noise_dirs)
    return vectors, topic


def _angles(*degrees: float) -> np.ndarray:
    """2-D unit vectors at the given angles: geometry one can check by hand."""
    r = np.radians(np.array(degrees))
    return np.stack([np.cos(r), np.sin(r)], axis=1).astype(np.float32)


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a[:, None] == a[None, :], b[:, None] == b[None, :]))


def _exact_sequential(vectors: np.ndarray, order: np.ndarray, threshold: float) -> np.ndarray:
    """The same rule with all pairs: what the index approximates."""
    unit = _unit(vectors)
    sequence = np.lexsort((np.arange(len(order)), order))
    cluster = np.full(len(order), -1)
    fresh = 0
    for pos, i in enumerate(sequence):
        if pos:
            earlier = sequence[:pos]
            sims = unit[earlier] @ unit[i]
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                cluster[i] = cluster[earlier[best]]
                continue
        cluster[i] = fresh
        fresh += 1
    return cluster


def test_synthetic_vectors_have_the_e5_gap() -> None:
    vectors, topic = _e5_like(20, 10)
    sims = vectors @ vectors.T
    same = (topic[:, None] == topic[None, :]) & ~np.eye(len(topic), dtype=bool)
    different = topic[:, None] != topic[None, :]
    assert sims[different].mean() > 0.75
    assert sims[different].max() < 0.9
    assert sims[same].min() > 0.93


def test_same_topic_shares_a_cluster_and_other_topics_do_not() -> None:
    # 600 questions: more than one block, so the index path is exercised too.
    vectors, topic = _e5_like(40, 15, seed=1)
    order = np.random.default_rng(1).integers(0, 10**9, len(topic))
    qc = cluster_questions(vectors, order)

    assert _same_partition(qc.cluster, topic)
    assert sorted(set(qc.cluster.tolist())) == list(range(40))
    joined = qc.neighbour >= 0
    assert joined.sum() == 600 - 40
    assert np.all(topic[qc.neighbour[joined]] == topic[joined])
    assert np.all(order[qc.neighbour[joined]] <= order[joined])
    assert np.all(qc.similarity[joined] >= 0.93)
    assert np.all(np.isnan(qc.similarity[~joined]))
    # The neighbour is the most similar earlier question.
    sims = vectors @ vectors.T
    for i in np.flatnonzero(joined)[:50]:
        earlier = (order < order[i]) | ((order == order[i]) & (np.arange(600) < i))
        assert qc.neighbour[i] == np.flatnonzero(earlier)[np.argmax(sims[i, earlier])]
        assert math.isclose(qc.similarity[i], sims[i, qc.neighbour[i]], abs_tol=1e-5)


def test_agrees_with_exact_all_pairs() -> None:
    vectors, _ = _e5_like(150, 8, seed=2)
    order = np.random.default_rng(2).integers(0, 1000, len(vectors))  # many ties
    qc = cluster_questions(vectors, order)
    np.testing.assert_array_equal(qc.cluster, _exact_sequential(vectors, order, 0.93))


def test_output_types_and_shapes() -> None:
    vectors, _ = _e5_like(3, 4)
    qc = cluster_questions(vectors.astype(np.float64), np.arange(12))
    assert isinstance(qc, QuestionClusters)
    assert qc.cluster.dtype == np.int64 and qc.cluster.shape == (12,)
    assert qc.asked_before.dtype == np.int64 and qc.asked_before.shape == (12,)
    assert qc.neighbour.dtype == np.int64 and qc.neighbour.shape == (12,)
    assert qc.similarity.dtype == np.float32 and qc.similarity.shape == (12,)


def test_asked_before_counts_earlier_questions_by_order_then_index() -> None:
    a, b = [1.0, 0.0], [0.0, 1.0]
    vectors = np.array([a, b, a, a, b, a], dtype=np.float32)
    order = np.array([50, 10, 30, 10, 40, 30])
    qc = cluster_questions(vectors, order)
    # Processing order: 1 (t10), 3 (t10), 2 (t30), 5 (t30), 4 (t40), 0 (t50).
    assert qc.cluster.tolist() == [1, 0, 1, 1, 0, 1]
    assert qc.asked_before.tolist() == [3, 0, 1, 0, 1, 2]
    assert qc.neighbour.tolist() == [3, -1, 3, -1, 1, 3]


def test_new_clusters_are_numbered_in_processing_order() -> None:
    vectors = _angles(0, 90, 180, 270)
    qc = cluster_questions(vectors, np.array([4, 3, 2, 1]))
    assert qc.cluster.tolist() == [3, 2, 1, 0]


def test_processing_follows_order_not_input_order() -> None:
    # B is 14° from A and 16° from C; A and C are 30° apart (cos 0.866).
    vectors = _angles(0, 14, 30)  # A, B, C
    assert cluster_questions(vectors, np.array([1, 2, 3])).cluster.tolist() == [0, 0, 0]
    # A, then C (too far from A), then B, which joins A, its nearer neighbour.
    qc = cluster_questions(vectors, np.array([1, 3, 2]))
    assert qc.cluster.tolist() == [0, 0, 1]
    assert qc.neighbour.tolist() == [-1, 0, -1]
    # C first: C 0, A 1, B joins A.
    assert cluster_questions(vectors, np.array([2, 3, 1])).cluster.tolist() == [1, 1, 0]
    # B first: A and C both join B.
    qc = cluster_questions(vectors, np.array([2, 1, 3]))
    assert qc.cluster.tolist() == [0, 0, 0]
    assert qc.neighbour.tolist() == [1, -1, 1]


def test_shuffling_rows_with_their_order_permutes_the_result() -> None:
    vectors, _ = _e5_like(30, 12, seed=3)
    order = np.random.default_rng(3).permutation(len(vectors)).astype(np.int64)
    base = cluster_questions(vectors, order)
    perm = np.random.default_rng(4).permutation(len(vectors))
    moved = cluster_questions(vectors[perm], order[perm])
    np.testing.assert_array_equal(moved.cluster, base.cluster[perm])
    np.testing.assert_array_equal(moved.asked_before, base.asked_before[perm])
    # A neighbour's index in the shuffled run, mapped back to the original row.
    mapped = np.where(moved.neighbour >= 0, perm[np.maximum(moved.neighbour, 0)], -1)
    np.testing.assert_array_equal(mapped, base.neighbour[perm])


def test_equally_similar_candidates_go_to_the_earliest_asked() -> None:
    vectors = np.array([[1.0, 0.0]] * 3, dtype=np.float32)
    known = np.array([7, 3, -1])
    qc = cluster_questions(vectors, np.array([5, 2, 9]), known=known)
    assert qc.cluster.tolist() == [7, 3, 3]
    assert qc.neighbour.tolist() == [-1, -1, 1]


def test_threshold_is_a_parameter() -> None:
    vectors = _angles(0, 10, 20)  # neighbours at cos 0.985
    order = np.arange(3)
    assert cluster_questions(vectors, order, threshold=0.98).cluster.tolist() == [0, 0, 0]
    assert cluster_questions(vectors, order, threshold=0.99).cluster.tolist() == [0, 1, 2]
    opposite = _angles(0, 180)
    assert cluster_questions(opposite, np.arange(2), threshold=-1.0).cluster.tolist() == [0, 0]


def test_known_assignments_are_kept_and_new_clusters_numbered_above() -> None:
    vectors, topic = _e5_like(25, 16, seed=5)
    order = np.random.default_rng(5).permutation(len(vectors)).astype(np.int64)
    full = cluster_questions(vectors, order)

    early = order < len(order) // 2
    first = cluster_questions(vectors[early], order[early])
    known = np.full(len(vectors), -1, dtype=np.int64)
    known[early] = first.cluster
    later = cluster_questions(vectors, order, known=known)

    np.testing.assert_array_equal(later.cluster[early], first.cluster)
    assert np.all(later.neighbour[early] == -1)
    assert np.all(np.isnan(later.similarity[early]))
    # Topics seen in the first run keep their cluster; new topics are numbered above it.
    seen = np.isin(topic, topic[early])
    assert _same_partition(later.cluster, topic)
    assert np.all(later.cluster[~seen] > first.cluster.max())
    # On well-separated topics, incremental and one-shot runs agree.
    np.testing.assert_array_equal(later.cluster, full.cluster)
    np.testing.assert_array_equal(later.asked_before, full.asked_before)


def test_known_clusters_are_kept_even_when_the_vectors_disagree() -> None:
    vectors = _angles(0, 0, 90, 1)
    known = np.array([100, 40, 100, -1])
    qc = cluster_questions(vectors, np.array([1, 2, 3, 4]), known=known)
    assert qc.cluster.tolist() == [100, 40, 100, 100]
    assert qc.neighbour.tolist() == [-1, -1, -1, 0]
    assert qc.asked_before.tolist() == [0, 0, 1, 2]
    fresh = cluster_questions(_angles(0, 90, 180), np.arange(3), known=np.array([100, -1, -1]))
    assert fresh.cluster.tolist() == [100, 101, 102]


def test_runs_are_deterministic() -> None:
    vectors, _ = _e5_like(200, 10, seed=6)
    order = np.random.default_rng(6).integers(0, 500, len(vectors))
    one = cluster_questions(vectors, order, threshold=0.95)
    two = cluster_questions(vectors, order, threshold=0.95)
    np.testing.assert_array_equal(one.cluster, two.cluster)
    np.testing.assert_array_equal(one.asked_before, two.asked_before)
    np.testing.assert_array_equal(one.neighbour, two.neighbour)
    np.testing.assert_array_equal(one.similarity, two.similarity)  # nan == nan here


def test_zero_vectors_start_their_own_cluster_and_are_never_joined() -> None:
    vectors = np.array(
        [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.01], [np.nan, 1.0], [0.0, 0.0]],
        dtype=np.float32,
    )
    qc = cluster_questions(vectors, np.arange(6), threshold=-1.0)
    assert qc.cluster.tolist() == [0, 1, 2, 0, 3, 4]
    assert qc.neighbour.tolist() == [-1, -1, -1, 0, -1, -1]
    assert qc.asked_before.tolist() == [0, 0, 0, 1, 0, 0]


def test_zero_vectors_among_many_and_in_known() -> None:
    vectors, _ = _e5_like(20, 20, seed=7)
    vectors[::37] = 0.0
    order = np.arange(len(vectors))
    known = np.where(order < 50, 0, -1)
    qc = cluster_questions(vectors, order, threshold=-1.0, known=known)
    zero = ~vectors.any(axis=1)
    assert np.all(qc.cluster[order < 50] == 0)
    assert not np.isin(qc.neighbour, np.flatnonzero(zero)).any()
    fresh_zero = zero & (order >= 50)
    assert np.all(qc.neighbour[fresh_zero] == -1)
    assert len(set(qc.cluster[fresh_zero].tolist())) == fresh_zero.sum()
    assert np.all(qc.cluster[~zero] == 0)  # threshold -1: everything with a direction joins


def test_empty_input() -> None:
    qc = cluster_questions(np.zeros((0, DIM), dtype=np.float32), np.zeros(0, dtype=np.int64))
    for field in (qc.cluster, qc.asked_before, qc.neighbour):
        assert field.shape == (0,) and field.dtype == np.int64
    assert qc.similarity.shape == (0,) and qc.similarity.dtype == np.float32
    assert representatives(np.zeros((0, DIM)), qc.cluster) == {}
    assert top_clusters(qc.cluster) == []


def test_bad_arguments_are_refused() -> None:
    vectors = _angles(0, 90)
    with pytest.raises(ValueError, match="2-D"):
        cluster_questions(vectors[0], np.arange(2))
    with pytest.raises(ValueError, match="order"):
        cluster_questions(vectors, np.arange(3))
    with pytest.raises(ValueError, match="known"):
        cluster_questions(vectors, np.arange(2), known=np.array([-1]))
    with pytest.raises(ValueError, match="k must"):
        cluster_questions(vectors, np.arange(2), k=0)
    with pytest.raises(ValueError, match="match"):
        representatives(vectors, np.array([0]))


def test_representatives_pick_the_question_nearest_the_mean_direction() -> None:
    vectors = np.concatenate([_angles(0, 10, 14, 40), _angles(90), np.zeros((2, 2))])
    cluster = np.array([4, 4, 4, 4, 9, 2, 2])
    # Mean direction of cluster 4 is at 16°: the 14° question is nearest.
    assert representatives(vectors * 3.0, cluster) == {2: 5, 4: 2, 9: 4}


def test_representatives_on_synthetic_topics() -> None:
    vectors, topic = _e5_like(10, 12, seed=8)
    reps = representatives(vectors, topic)
    assert sorted(reps) == list(range(10))
    for t, i in reps.items():
        members = np.flatnonzero(topic == t)
        assert i in members
        mean = vectors[members].mean(axis=0)
        assert i == members[np.argmax(vectors[members] @ mean)]


def test_top_clusters_largest_first_ties_by_number() -> None:
    cluster = np.array([5, 2, 5, 2, 7, 7, 7, 1, 3, 3, 9])
    assert top_clusters(cluster) == [(7, 3), (2, 2), (3, 2), (5, 2)]
    assert top_clusters(cluster, n=2) == [(7, 3), (2, 2)]
    assert top_clusters(cluster, min_size=3) == [(7, 3)]
    assert top_clusters(cluster, min_size=1)[-3:] == [(5, 2), (1, 1), (9, 1)]
    assert top_clusters(cluster, n=0) == []


def test_faq_from_clusters_end_to_end() -> None:
    vectors, _ = _e5_like(12, 1, seed=9)
    sizes = np.arange(1, 13)  # topic t asked t + 1 times
    rng = np.random.default_rng(9)
    common_noise = _unit(rng.standard_normal((int(sizes.sum()), DIM)))
    base = np.repeat(vectors, sizes, axis=0)
    asked = _unit(base + 0.08 * common_noise)
    qc = cluster_questions(asked, rng.permutation(len(asked)))
    faq = top_clusters(qc.cluster, n=3)
    assert [size for _, size in faq] == [12, 11, 10]
    reps = representatives(asked, qc.cluster)
    assert all(reps[c] in np.flatnonzero(qc.cluster == c) for c, _ in faq)


def test_twenty_thousand_questions() -> None:
    vectors, topic = _e5_like(2000, 10, seed=10)
    order = np.random.default_rng(10).integers(0, 10**9, len(vectors))
    qc = cluster_questions(vectors, order)
    assert qc.cluster.shape == (20_000,)
    # No cluster mixes topics, and nearly every topic is one cluster (the index
    # is approximate, so a few wordings may miss their topic and start another).
    pairs = np.unique(np.stack([qc.cluster, topic]), axis=1)
    assert len(np.unique(pairs[0])) == pairs.shape[1]
    assert 2000 <= qc.cluster.max() + 1 < 2100
    assert qc.asked_before.max() >= 9


def test_docstring_examples_run() -> None:
    result = doctest.testmod(questions, verbose=False)
    assert result.attempted > 0 and result.failed == 0
