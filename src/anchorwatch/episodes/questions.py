"""Repeated newcomer questions: one cluster per thing asked, across the whole history.

Newcomers ask the same things again and again in other words (车机黑屏怎么办 /
屏幕一直卡在开机logo).  Operators want one cluster id shared by every wording,
how many times a question had been asked before, and the most repeated ones as
an FAQ with a representative wording.

The vectors come from a sentence encoder.  With e5-style encoders unrelated
questions already sit at a cosine of about 0.85 and wordings of one question at
0.93 or more.  A question joins the cluster of the single most similar earlier
question when that cosine clears the threshold, so an assignment, once made,
never changes and can be explained ("joined question 812 at 0.95").  This is
single-link: a chain of wordings can join two questions further apart than the
threshold, which across e5's 0.85-0.93 gap takes several steps.  Candidates
come from an approximate nearest-neighbour index (usearch HNSW) instead of all
pairs and are re-scored exactly, so the threshold applies to true cosines.

Determinism: the index is built single-threaded (usearch's multi-threaded
insertion links the graph in whatever order the threads reach it), with fixed
connectivity and expansion and a fixed storage type (usearch would otherwise
pick one from the CPU), and filled in processing order; ties go to the
earliest question.  The same input gives the same clusters on the same
machine; another CPU's SIMD may round a distance differently and so, rarely,
explore the graph differently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from usearch.index import Index

# HNSW shape.  Fixed, because a different graph can give different candidates.
# Measured on 20,000 e5-like synthetic questions against exact all-pairs:
# 99.5 % of join decisions agree, 2,020 clusters where exact gives 2,000, in
# about 3.5 s on one core of a 2-core AMD EPYC VM (nearly all of it inside
# usearch: insertion about 60 %, search about 35 %).  Vectors are stored as
# float16: the index is memory-bound, and float32 took twice as long for the
# same recall; int8 is faster again but ranks near-equal neighbours badly (the
# e5 common direction leaves it few levels for the rest).
# Inner product equals cosine on the unit vectors given to it.  Candidates
# are re-scored exactly in float32, so storage only affects which are found.
_CONNECTIVITY = 16
_EXPANSION_ADD = 48
_EXPANSION_SEARCH = 96
_DTYPE = "f16"
_METRIC = "ip"

# New questions are handled in blocks of this many (in processing order): the
# block is searched against the index in one call, compared with its own
# earlier members exactly (a small matrix product), then added in one call.
# This keeps Python out of the per-question path except for a loop of integer
# assignments.
_BLOCK = 256


@dataclass(frozen=True)
class QuestionClusters:
    """Clusters of questions, one row per input question (input order).

    Attributes
    ----------
    cluster:
        int64 cluster number.
    asked_before:
        int64 number of earlier questions in the same cluster (earlier by
        ``order``, ties by input index).
    neighbour:
        int64 input index of the question it joined; -1 when it started a
        cluster or its cluster was given (``known``).
    similarity:
        float32 cosine to ``neighbour``; nan when ``neighbour`` is -1.
    """

    cluster: np.ndarray
    asked_before: np.ndarray
    neighbour: np.ndarray
    similarity: np.ndarray


def cluster_questions(
    vectors: np.ndarray,
    order: np.ndarray,
    *,
    threshold: float = 0.93,
    k: int = 8,
    known: np.ndarray | None = None,
) -> QuestionClusters:
    """Give each question the cluster of the most similar earlier one, or a new cluster.

    Questions are taken in ascending ``(order, input index)``.  Each one looks
    up its ``k`` nearest already-indexed questions and joins the cluster of
    the most similar (exact cosine, ties to the earliest asked) when that
    cosine is at least ``threshold``; otherwise it starts a cluster numbered
    one above the largest so far.  It is then indexed itself.  A question
    whose ``known`` entry is ≥ 0 keeps that cluster and is indexed before any
    other, so an incremental run never changes an earlier assignment and
    numbers its new clusters above the known ones.

    Rows with no direction (all zeros, or not finite) start their own cluster
    and are never joined: an empty message is not a repeat of another.

    Within a block of new questions (see ``_BLOCK``) the earlier members of
    the same block are compared exactly rather than through the index; that
    only ever finds a neighbour the index might have missed.

    Parameters
    ----------
    vectors:
        ``(n, d)`` sentence vectors; they need not be normalised.
    order:
        ``(n,)`` when each question was asked, e.g. int64 epoch seconds.
    threshold:
        Cosine at or above which a question joins its nearest earlier one.
    k:
        Candidates asked of the index per question.
    known:
        ``(n,)`` int64 cluster from an earlier run, -1 where none.

    Examples
    --------
    >>> v = np.array([[1.0, 0.0], [0.0, 1.0], [0.99, 0.05], [0.0, 0.0]])
    >>> qc = cluster_questions(v, np.array([10, 20, 30, 40]))
    >>> qc.cluster.tolist(), qc.asked_before.tolist(), qc.neighbour.tolist()
    ([0, 1, 0, 2], [0, 0, 1, 0], [-1, -1, 0, -1])
    >>> cluster_questions(v[2:], np.array([30, 40]), known=np.array([5, -1])).cluster.tolist()
    [5, 6]
    """
    x = np.asarray(vectors)
    if x.ndim != 2:
        raise ValueError(f"vectors must be 2-D (n, d), not of shape {x.shape}")
    n, dim = x.shape
    when = np.asarray(order)
    if when.shape != (n,):
        raise ValueError(f"order must have shape ({n},), not {when.shape}")
    if known is None:
        given = np.full(n, -1, dtype=np.int64)
    else:
        given = np.asarray(known, dtype=np.int64)
        if given.shape != (n,):
            raise ValueError(f"known must have shape ({n},), not {given.shape}")
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")

    cluster = np.where(given >= 0, given, -1).astype(np.int64)
    neighbour = np.full(n, -1, dtype=np.int64)
    similarity = np.full(n, np.nan, dtype=np.float32)
    if n == 0:
        return QuestionClusters(cluster, np.zeros(0, dtype=np.int64), neighbour, similarity)

    unit, has_direction = _normalise(x)
    sequence = np.lexsort((np.arange(n), when))  # processing order
    rank = np.empty(n, dtype=np.int64)
    rank[sequence] = np.arange(n)
    is_known = given >= 0

    index = Index(
        ndim=dim,
        metric=_METRIC,
        dtype=_DTYPE,
        connectivity=_CONNECTIVITY,
        expansion_add=_EXPANSION_ADD,
        expansion_search=max(_EXPANSION_SEARCH, k),
    )
    _index_add(index, sequence[is_known[sequence] & has_direction[sequence]], unit)

    next_cluster = int(given.max(initial=-1)) + 1
    fresh = sequence[~is_known[sequence]]
    for start in range(0, len(fresh), _BLOCK):
        block = fresh[start : start + _BLOCK]
        partner, best = _nearest_earlier(index, block, unit, has_direction, rank, k)
        joins = best >= threshold
        partner = np.where(joins, partner, -1)
        for i, j in zip(block.tolist(), partner.tolist(), strict=True):
            if j >= 0:
                cluster[i] = cluster[j]
            else:
                cluster[i] = next_cluster
                next_cluster += 1
        neighbour[block] = partner
        similarity[block] = np.where(joins, best, np.nan)
        _index_add(index, block[has_direction[block]], unit)

    return QuestionClusters(cluster, _asked_before(cluster, when), neighbour, similarity)


def representatives(vectors: np.ndarray, cluster: np.ndarray) -> dict[int, int]:
    """Cluster number -> input index of the question closest to the cluster's mean direction.

    The FAQ shows one wording per cluster; the one nearest the mean of the
    normalised vectors is the most typical, where the first one asked may be
    an odd phrasing.  Ties go to the lowest input index; a cluster of rows
    without direction is represented by its first row.

    Examples
    --------
    >>> v = np.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]])
    >>> representatives(v, np.array([0, 0, 0, 1]))
    {0: 1, 1: 3}
    """
    x = np.asarray(vectors)
    labels = np.asarray(cluster, dtype=np.int64)
    if x.ndim != 2 or labels.shape != (x.shape[0],):
        raise ValueError(f"vectors {x.shape} and cluster {labels.shape} do not match")
    if labels.size == 0:
        return {}
    unit, _ = _normalise(x)
    ids, group = np.unique(labels, return_inverse=True)
    # Sum per cluster in a fixed (sorted) order, so the result is reproducible.
    by_group = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[by_group], np.arange(len(ids)))
    mean = np.add.reduceat(unit[by_group].astype(np.float64), starts, axis=0)
    score = np.einsum("ij,ij->i", unit.astype(np.float64), mean[group])
    rows = np.arange(len(labels))
    best_first = np.lexsort((rows, -score, group))
    first = best_first[np.searchsorted(group[best_first], np.arange(len(ids)))]
    return {int(c): int(i) for c, i in zip(ids.tolist(), first.tolist(), strict=True)}


def top_clusters(cluster: np.ndarray, n: int = 20, min_size: int = 2) -> list[tuple[int, int]]:
    """``(cluster, size)`` of the ``n`` largest clusters of at least ``min_size``.

    Largest first, ties by cluster number, so the FAQ list is stable.

    Examples
    --------
    >>> top_clusters(np.array([3, 1, 3, 1, 2, 3]), n=5)
    [(3, 3), (1, 2)]
    """
    labels = np.asarray(cluster, dtype=np.int64)
    if n <= 0 or labels.size == 0:
        return []
    ids, sizes = np.unique(labels, return_counts=True)
    keep = sizes >= min_size
    ids, sizes = ids[keep], sizes[keep]
    ranked = np.lexsort((ids, -sizes))[:n]
    return [(int(ids[r]), int(sizes[r])) for r in ranked]


def _normalise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit float32 rows and which rows have a direction (zero rows stay zero)."""
    x64 = np.asarray(x, dtype=np.float64)
    norm = np.linalg.norm(x64, axis=1) if x64.size else np.zeros(x64.shape[0])
    has_direction = np.isfinite(norm) & (norm > 0)
    safe = np.where(has_direction, norm, 1.0)
    unit = np.where(has_direction[:, None], x64 / safe[:, None], 0.0).astype(np.float32)
    return unit, has_direction


def _index_add(index: Index, rows: np.ndarray, unit: np.ndarray) -> None:
    """Add ``rows`` (input indices, in processing order) to the index, one thread."""
    if len(rows):
        index.add(rows.astype(np.uint64), unit[rows], threads=1)


def _nearest_earlier(
    index: Index,
    block: np.ndarray,
    unit: np.ndarray,
    has_direction: np.ndarray,
    rank: np.ndarray,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Most similar earlier question for each row of ``block``: input index and cosine.

    Earlier means already in the index or earlier in the block.  Rows with no
    match (or no direction) get -1 and -inf.  Ties go to the earliest asked.
    """
    m = len(block)
    valid = has_direction[block]
    partner = np.full(m, -1, dtype=np.int64)
    best = np.full(m, -np.inf, dtype=np.float32)

    queries = np.flatnonzero(valid)
    if len(index) and len(queries):
        found = index.search(unit[block[queries]], k, threads=1)
        # One query comes back as ``Matches`` (valid results only), several as
        # ``BatchMatches`` (k columns, padded, with ``counts``).
        keys = np.asarray(found.keys, dtype=np.int64).reshape(len(queries), -1)
        counts = np.asarray(getattr(found, "counts", keys.shape[1])).reshape(-1)
        real = np.arange(keys.shape[1])[None, :] < counts[:, None]
        keys = np.where(real, keys, 0)
        sims = np.einsum("qd,qkd->qk", unit[block[queries]], unit[keys])
        sims = np.where(real, np.minimum(sims, 1.0), -np.inf).astype(np.float32)
        top = sims.max(axis=1, initial=-np.inf)
        # Among equally similar candidates, the one asked first.
        tied = real & (sims == top[:, None])
        pick = np.argmin(np.where(tied, rank[keys], np.iinfo(np.int64).max), axis=1)
        rows = np.arange(len(queries))
        hit = np.isfinite(top)
        partner[queries[hit]] = keys[rows, pick][hit]
        best[queries[hit]] = top[hit]

    # Earlier members of the block itself, exactly: the block is not indexed yet.
    if m > 1:
        inner = unit[block] @ unit[block].T
        earlier = np.tri(m, m, -1, dtype=bool) & valid[:, None] & valid[None, :]
        inner = np.where(earlier, np.minimum(inner, 1.0), -np.inf).astype(np.float32)
        col = np.argmax(inner, axis=1)  # first maximum = earliest in the block
        top_inner = inner[np.arange(m), col]
        # Indexed questions were asked before any in the block, so they win ties.
        better = top_inner > best
        partner[better] = block[col[better]]
        best[better] = top_inner[better]
    return partner, best


def _asked_before(cluster: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Per question, how many in its cluster came earlier (by ``when``, ties by index)."""
    n = len(cluster)
    rows = np.arange(n)
    ranked = np.lexsort((rows, when, cluster))
    labels = cluster[ranked]
    new_group = np.r_[True, labels[1:] != labels[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, rows, 0))
    asked = np.empty(n, dtype=np.int64)
    asked[ranked] = rows - group_start
    return asked
