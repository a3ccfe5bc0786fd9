"""Rebuild the shipped heads from the labelled data: ``anchorwatch train``.

1. lexical heads on the project's train split (plus composed two-message pairs,
   :func:`anchorwatch.signals.data.compose_pairs`) and COLD train (``offensive``);
   regularisation and thresholds from out-of-fold scores (folds by
   conversation, never by row);
2. e5 embedding heads, blended with the lexical stage; the blend weight and the
   thresholds chosen on out-of-fold scores;
3. the cascade margin: the narrowest band around the act thresholds whose
   out-of-fold macro-F1 over the acts stays within ``max_f1_loss`` of the
   encoder on every message.

Dev splits are never read here; ``anchorwatch eval`` reports on them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from anchorwatch.signals.cascade import align, is_latin, uncertain
from anchorwatch.signals.data import (
    SHARED_DATASETS,
    LabelledSet,
    compose_pairs,
    load_cold,
    load_own,
)
from anchorwatch.signals.encoder import Embedder, EncoderDetector, encoder_features
from anchorwatch.signals.evaluate import best_thresholds, macro_f1, score_labels
from anchorwatch.signals.labels import ACTS, LABELS
from anchorwatch.signals.lexical import LexicalDetector
from anchorwatch.signals.registry import signals_config

FOLDS = 5
#: COLD rows given to the encoder heads (embedding all 25k costs ~10 minutes).
COLD_FOR_ENCODER = 3_000
LEXICAL_C = (4.0, 12.0, 30.0)
BLENDS = (0.4, 0.5, 0.6, 0.7, 0.8)
MARGINS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0)


@dataclass
class TrainReport:
    rows: dict[str, int]
    oof_macro_f1_acts: dict[str, float]
    margin: float
    escalated_share: float
    seconds: float


def _folds(groups: list[str], k: int) -> np.ndarray:
    """Fold number per row, whole groups (conversations) kept together, deterministic."""
    fold = np.empty(len(groups), dtype=np.int64)
    for i, g in enumerate(groups):
        fold[i] = int(hashlib.blake2b(g.encode("utf-8"), digest_size=4).hexdigest(), 16) % k
    return fold


def _data_fingerprint(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.glob("*/*.jsonl")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def train(
    out_dir: Path,
    *,
    data_root: Path = Path("data/labelled"),
    shared_root: Path = SHARED_DATASETS,
    cache_dir: Path | None = None,
    max_f1_loss: float = 0.01,
    extra: LabelledSet | None = None,
    log: Callable[[str], None] = print,
) -> TrainReport:
    """Train every stage and write the heads under ``out_dir``.

    ``extra`` adds rows labelled elsewhere (a teacher's labels of unlabelled
    messages: :func:`anchorwatch.signals.teacher.label_with_teacher`); their
    unknown labels (-1) are left out of each head.
    """
    started = time.perf_counter()
    own = load_own(data_root, split="train")
    if extra is not None and len(extra):
        log(f"teacher rows: {len(extra)}")
        own = LabelledSet.concat("train+teacher", [own, extra])
    cold = load_cold("train", shared_root)
    log(f"train rows: own {len(own)}, COLD {len(cold)}")
    own_fold = _folds(own.groups, FOLDS)
    pairs = float(signals_config().get("train_pair_share", 0.0))
    cold_fold = np.arange(len(cold)) % FOLDS

    # 1. lexical: out-of-fold probabilities for C, thresholds and the blend.
    best: tuple[float, float, np.ndarray, np.ndarray] | None = None
    for C in LEXICAL_C:
        oof_own = np.zeros((len(own), len(LABELS)), dtype=np.float32)
        oof_cold = np.zeros((len(cold), len(LABELS)), dtype=np.float32)
        for k in range(FOLDS):
            fold_own = own.subset(own_fold != k)
            part = LabelledSet.concat(
                "fold",
                [fold_own, compose_pairs(fold_own, pairs), cold.subset(cold_fold != k)],
            )
            det = LexicalDetector(LABELS, C=C).fit(part.texts, part.contexts, part.y)
            held_own = own.subset(own_fold == k)
            held_cold = cold.subset(cold_fold == k)
            oof_own[own_fold == k] = det.predict_proba(held_own.texts, held_own.contexts)
            oof_cold[cold_fold == k] = det.predict_proba(held_cold.texts, held_cold.contexts)
        cuts = best_thresholds(own.y, oof_own)
        f1 = macro_f1(score_labels(LABELS, own.y, oof_own >= cuts[None, :]), ACTS)
        log(f"lexical C={C}: out-of-fold macro-F1 (acts) {f1:.3f}")
        if best is None or f1 > best[1] + 1e-6:
            best = (C, f1, oof_own, oof_cold)
    assert best is not None
    lexical_c, _, oof_own, oof_cold = best
    full = LabelledSet.concat("train", [own, compose_pairs(own, pairs), cold])
    lexical = LexicalDetector(LABELS, C=lexical_c).fit(full.texts, full.contexts, full.y)
    y_oof = np.vstack([own.y, cold.y])
    p_oof = np.vstack([oof_own, oof_cold])
    lexical.thresholds = best_thresholds(y_oof, p_oof)

    # 2. embedding heads on [e5(text), e5(context), product], blended with lexical.
    embedder = Embedder(cache_dir)
    cold_pick = np.zeros(len(cold), dtype=bool)
    cold_pick[np.linspace(0, len(cold) - 1, min(COLD_FOR_ENCODER, len(cold))).astype(int)] = True
    enc_set = LabelledSet.concat("enc", [own, cold.subset(cold_pick)])
    enc_lex = np.vstack([oof_own, oof_cold[cold_pick]])
    log(f"embedding {len(enc_set)} texts and their contexts")
    X = encoder_features(embedder.embed(enc_set.texts), embedder.embed(enc_set.contexts))
    embedder.save()
    enc_fold = np.concatenate([own_fold, np.arange(int(cold_pick.sum())) % FOLDS])
    oof_head = np.zeros((len(enc_set), len(LABELS)), dtype=np.float32)
    for k in range(FOLDS):
        head = EncoderDetector(lexical, embedder=embedder).fit_features(
            X[enc_fold != k], enc_set.y[enc_fold != k]
        )
        oof_head[enc_fold == k] = head.head_proba(X[enc_fold == k])
        log(f"encoder fold {k + 1}/{FOLDS}")
    encoder = EncoderDetector(lexical, embedder=embedder).fit_features(X, enc_set.y)
    n_own = len(own)

    def f1_of(p: np.ndarray, t: np.ndarray) -> float:
        return macro_f1(score_labels(LABELS, own.y, p >= t[None, :]), ACTS)

    best_blend, best_f1 = BLENDS[0], -1.0
    for blend in BLENDS:
        mix = blend * enc_lex + (1 - blend) * oof_head
        f1 = f1_of(mix[:n_own], best_thresholds(enc_set.y, mix))
        if f1 > best_f1 + 1e-6:
            best_blend, best_f1 = blend, f1
    encoder.blend = best_blend
    oof_enc = encoder.combine(enc_lex, oof_head)
    encoder.thresholds = best_thresholds(enc_set.y, oof_enc)

    # 3. cascade margin on the own rows (the acts live there).
    lex_own, enc_own = oof_own, oof_enc[:n_own]
    f1_lex = f1_of(lex_own, lexical.thresholds)
    f1_enc = f1_of(enc_own, encoder.thresholds)
    escalate_on = list(signals_config().get("cascade_escalate_on") or ACTS)
    cols = np.array([LABELS.index(a) for a in escalate_on])

    def f1_escalated(p: np.ndarray, t: np.ndarray) -> float:
        return macro_f1(score_labels(LABELS, own.y, p >= t[None, :]), escalate_on)

    f1_target = f1_escalated(enc_own, encoder.thresholds) - max_f1_loss
    latin = bool(signals_config().get("cascade_escalate_latin", False))
    always = np.array([latin and is_latin(t) for t in own.texts], dtype=bool)
    chosen, share = MARGINS[-1], 1.0
    for margin in MARGINS:
        esc = uncertain(lex_own[:, cols], lexical.thresholds[cols], margin) | always
        mixed = align(lex_own, lexical.thresholds, encoder.thresholds)
        mixed[esc] = enc_own[esc]
        if f1_escalated(mixed, encoder.thresholds) >= f1_target:
            chosen, share = margin, float(esc.mean())
            break
    log(f"out-of-fold macro-F1 (acts): lexical {f1_lex:.3f}, encoder blend {f1_enc:.3f}")
    log(f"blend weight of the lexical stage {best_blend}")
    log(f"cascade margin {chosen} escalates {share:.1%} of labelled rows")

    meta: dict[str, Any] = {
        "trained_on": {
            "own_train": len(own),
            "teacher": len(extra) if extra is not None else 0,
            "cold_train": len(cold),
            "composed_pairs_share": pairs,
        },
        "data_fingerprint": _data_fingerprint(data_root),
        "oof_macro_f1_acts": {"lexical": round(f1_lex, 4), "encoder": round(f1_enc, 4)},
    }
    lexical.save(out_dir / "lexical.v1", meta)
    encoder.save(out_dir / "e5-heads.v1", meta)
    (out_dir / "cascade.v1.json").write_text(
        json.dumps(
            {
                "name": "cascade.v1",
                "margin": chosen,
                "escalate_on": escalate_on,
                "escalate_latin": latin,
                "escalated_share_oof": round(share, 4),
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return TrainReport(
        {"own_train": len(own), "cold_train": len(cold)},
        {"lexical": f1_lex, "encoder": f1_enc},
        chosen,
        share,
        time.perf_counter() - started,
    )
