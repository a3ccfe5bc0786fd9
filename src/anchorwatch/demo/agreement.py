"""How well the analysis recovers the demo community's ground truth.

Used by ``bench/analyze_bench.py`` and the tests; the analysis itself never
reads the truth.  A detected episode matches a true one of the same kind and
subject when their messages overlap (arrivals: same conversation, or no
messages on either side).  Matching is one-to-one, earliest first.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

KINDS = ("newcomer_question", "conflict", "complaint", "arrival")
#: Outcome fields compared on matched episodes (booleans and counts).
COMPARED = {
    "newcomer_question": ("replied", "thanked", "returned_7d", "returned_30d"),
    "arrival": ("welcomed", "first_post", "returned_7d", "returned_30d"),
    "complaint": ("details_given", "moved_to_channel"),
    "conflict": ("attacks_stopped", "agreement"),
}


def _overlap(d: Mapping[str, Any], t: Mapping[str, Any]) -> bool:
    dm, tm = set(d.get("messages") or ()), set(t.get("messages") or ())
    if dm & tm:
        return True
    if t["kind"] == "arrival" and (not dm or not tm):
        return d.get("conversation") in (t.get("conversation"), None)
    return False


def match_episodes(
    detected: Iterable[Mapping[str, Any]], truth: Iterable[Mapping[str, Any]]
) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """One-to-one (detected, true) pairs."""
    pool: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for d in detected:
        pool[(d["kind"], d["subject"])].append(d)
    used: set[str] = set()
    pairs = []
    for t in truth:
        for d in pool.get((t["kind"], t["subject"]), ()):
            if d["id"] not in used and _overlap(d, t):
                used.add(d["id"])
                pairs.append((d, t))
                break
    return pairs


def episode_agreement(
    detected: list[Mapping[str, Any]], truth: list[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Precision, recall and outcome agreement per episode kind."""
    pairs = match_episodes(detected, truth)
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        n_det = sum(1 for d in detected if d["kind"] == kind)
        n_true = sum(1 for t in truth if t["kind"] == kind)
        hit = [(d, t) for d, t in pairs if t["kind"] == kind]
        fields: dict[str, float] = {}
        for name in COMPARED[kind]:
            both = [
                (d["outcome"].get(name), t["outcome"].get(name))
                for d, t in hit
                if name in t["outcome"]
            ]
            if both:
                agree = sum(1 for a, b in both if bool(a) == bool(b))
                fields[name] = round(agree / len(both), 3)
        out[kind] = {
            "detected": n_det,
            "true": n_true,
            "matched": len(hit),
            "precision": round(len(hit) / n_det, 3) if n_det else 0.0,
            "recall": round(len(hit) / n_true, 3) if n_true else 0.0,
            "outcomes": fields,
        }
    return out


def cluster_agreement(
    detected: list[Mapping[str, Any]], truth: list[Mapping[str, Any]]
) -> dict[str, float]:
    """Repeated-question clusters of matched newcomer questions against the truth.

    Homogeneity (each found cluster holds one true question family),
    completeness (each family is in one found cluster) and the adjusted Rand
    index, over the matched episodes.
    """
    from sklearn.metrics import adjusted_rand_score, homogeneity_completeness_v_measure

    pairs = [
        (d.get("question_cluster"), t.get("question_cluster"))
        for d, t in match_episodes(detected, truth)
        if t["kind"] == "newcomer_question"
    ]
    pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
    if not pairs:
        return {}
    found, true = [a for a, _ in pairs], [b for _, b in pairs]
    h, c, _ = homogeneity_completeness_v_measure(true, found)
    return {
        "questions": len(pairs),
        "found_clusters": len(set(found)),
        "true_clusters": len(set(true)),
        "homogeneity": round(float(h), 3),
        "completeness": round(float(c), 3),
        "ari": round(float(adjusted_rand_score(true, found)), 3),
    }


def thread_agreement(assigned: Mapping[str, str], truth: Mapping[str, str]) -> dict[str, float]:
    """Pairwise precision and recall of chat-stream threads.

    Over consecutive message pairs of each true and each assigned thread
    (linear in the number of messages): precision is the share of assigned
    neighbours that are true neighbours, recall the reverse.
    """

    def neighbours(threads: Mapping[str, str]) -> set[tuple[str, str]]:
        by: dict[str, list[str]] = defaultdict(list)
        for mid in sorted(threads):
            if mid in truth and mid in assigned:
                by[threads[mid]].append(mid)
        return {(a, b) for ms in by.values() for a, b in itertools.pairwise(ms)}

    def same(pairs: set[tuple[str, str]], threads: Mapping[str, str]) -> float:
        if not pairs:
            return 0.0
        return sum(1 for a, b in pairs if threads[a] == threads[b]) / len(pairs)

    a, t = neighbours(assigned), neighbours(truth)
    return {"precision": round(same(a, truth), 3), "recall": round(same(t, assigned), 3)}
