"""``lexical.v1``: character n-gram and word heads, the cheap first stage.

One logistic-regression head per label over the tf-idf features of
:mod:`anchorwatch.signals.features`.  Fast (thousands of messages per second
on a laptop core) and explainable: a label's evidence is the n-grams whose
weight × value pushed it up, located in the member's own text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from anchorwatch.signals.detector import Detections, Span
from anchorwatch.signals.features import LexicalFeaturizer, Vocabulary
from anchorwatch.signals.heads import fit_heads
from anchorwatch.signals.normalize import normalize, normalize_with_offsets, span_in_original

NAME = "lexical.v1"
EVIDENCE_FEATURES = 4  # top n-grams per fired label turned into spans


def sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    return out


class LexicalDetector:
    """Logistic heads over lexical features.

    Parameters
    ----------
    labels:
        Label order of the heads.
    C:
        Inverse regularisation strength of every head.

    Attributes
    ----------
    featurizer_, coef_, intercept_, thresholds:
        Learned in :meth:`fit` (or loaded with :meth:`load`).
    """

    name = NAME

    def __init__(self, labels: Sequence[str], C: float = 4.0) -> None:
        self.labels = tuple(labels)
        self.C = C
        self.thresholds = np.full(len(self.labels), 0.5, dtype=np.float32)
        self.featurizer_: LexicalFeaturizer | None = None
        self.coef_: np.ndarray | None = None
        self.intercept_: np.ndarray | None = None

    # -- learning ---------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        contexts: Sequence[str | None],
        y: np.ndarray,
        *,
        featurizer: LexicalFeaturizer | None = None,
    ) -> LexicalDetector:
        """Fit one head per label; ``y`` is ``(n, L)`` with 1, 0, or -1 (unknown)."""
        norm_t = [normalize(t) for t in texts]
        norm_c = [normalize(c) if c else None for c in contexts]
        self.featurizer_ = featurizer or LexicalFeaturizer.fit(norm_t, norm_c)
        X = self.featurizer_.transform(norm_t, norm_c)
        self.coef_, self.intercept_ = fit_heads(X, y, C=self.C, solver="liblinear", max_iter=1000)
        return self

    # -- inference --------------------------------------------------------------
    def _matrix(self, texts: Sequence[str], contexts: Sequence[str | None]) -> sparse.csr_matrix:
        assert self.featurizer_ is not None, "fit or load the detector first"
        norm_t = [normalize(t) for t in texts]
        norm_c = [normalize(c) if c else None for c in contexts]
        return self.featurizer_.transform(norm_t, norm_c)

    def decision(self, X: sparse.csr_matrix) -> np.ndarray:
        assert self.coef_ is not None and self.intercept_ is not None
        z: np.ndarray = np.asarray(X @ self.coef_.T) + self.intercept_[None, :]
        return z.astype(np.float32)

    def predict_proba(self, texts: Sequence[str], contexts: Sequence[str | None]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return sigmoid(self.decision(self._matrix(texts, contexts))).astype(np.float32)

    def detect(self, texts: Sequence[str], contexts: Sequence[str | None]) -> Detections:
        scores = self.predict_proba(texts, contexts)
        det = Detections(self.labels, scores, self.thresholds.copy())
        det.evidence = self.evidence(texts, det.fired)
        det.stage = [NAME] * len(texts)
        return det

    # -- evidence ---------------------------------------------------------------
    def evidence(self, texts: Sequence[str], fired: np.ndarray) -> list[dict[str, list[Span]]]:
        """Spans of the original texts behind each fired label.

        The n-grams of the message itself (not of its context) with the largest
        positive weight for the label are located in the text; when none is
        positive the whole text is the evidence.
        """
        assert self.featurizer_ is not None and self.coef_ is not None
        vocab = self.featurizer_.text_vocab
        names = _names(vocab)
        n_text = len(vocab.index)
        out: list[dict[str, list[Span]]] = []
        for i, text in enumerate(texts):
            on = np.flatnonzero(fired[i])
            if not len(on) or not text:
                out.append({})
                continue
            norm, origin = normalize_with_offsets(text)
            row = vocab.transform([_features_of(norm)])
            cols, vals = row.indices, row.data
            spans: dict[str, list[Span]] = {}
            for j in on:
                contrib = vals * self.coef_[j, cols]
                order = np.argsort(-contrib)[:EVIDENCE_FEATURES]
                found: list[Span] = []
                for k in order:
                    if contrib[k] <= 0 or cols[k] >= n_text:
                        continue
                    found.extend(_locate(names[cols[k]], norm, origin, text))
                spans[self.labels[j]] = _merge(found) or [(0, len(text))]
            out.append(spans)
        return out

    # -- persistence ------------------------------------------------------------
    def save(self, directory: Path, meta: dict[str, Any] | None = None) -> None:
        assert self.featurizer_ is not None and self.coef_ is not None
        assert self.intercept_ is not None
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "vocabulary.json").write_text(
            json.dumps(
                {
                    "norm": self.featurizer_.text_vocab.norm,
                    "text": self.featurizer_.text_vocab.names(),
                    "context": self.featurizer_.context_vocab.names(),
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        np.savez_compressed(
            directory / "heads.npz",
            coef=self.coef_.astype(np.float16),
            intercept=self.intercept_,
            thresholds=self.thresholds,
            idf_text=self.featurizer_.text_vocab.idf,
            idf_context=self.featurizer_.context_vocab.idf,
        )
        info = {"name": NAME, "labels": list(self.labels), "C": self.C, **(meta or {})}
        (directory / "meta.json").write_text(
            json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> LexicalDetector:
        info = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        vocab = json.loads((directory / "vocabulary.json").read_text(encoding="utf-8"))
        arrays = np.load(directory / "heads.npz")
        det = cls(info["labels"], C=info.get("C", 4.0))
        norm = vocab.get("norm", "l2")
        det.featurizer_ = LexicalFeaturizer(
            Vocabulary.from_parts(vocab["text"], arrays["idf_text"], norm),
            Vocabulary.from_parts(vocab["context"], arrays["idf_context"], norm),
        )
        det.coef_ = arrays["coef"].astype(np.float32)
        det.intercept_ = arrays["intercept"].astype(np.float32)
        det.thresholds = arrays["thresholds"].astype(np.float32)
        return det


_names_cache: dict[int, list[str]] = {}


def _names(vocab: Vocabulary) -> list[str]:
    key = id(vocab)
    if key not in _names_cache:
        _names_cache[key] = vocab.names()
    return _names_cache[key]


def _features_of(norm: str) -> list[str]:
    from anchorwatch.signals.features import analyse

    return analyse(norm)


def _locate(feature: str, norm: str, origin: list[int], text: str) -> list[Span]:
    if feature.startswith("k:"):
        return _locate_cues(feature[2:], norm, origin, text)
    needle = feature[2:] if feature.startswith(("w:", "b:")) else feature
    needle = needle.strip()
    if not needle:
        return []
    spans: list[Span] = []
    start = norm.find(needle)
    while start != -1 and len(spans) < 3:
        spans.append(span_in_original(origin, text, start, start + len(needle)))
        start = norm.find(needle, start + 1)
    return spans


def _locate_cues(label: str, norm: str, origin: list[int], text: str) -> list[Span]:
    from anchorwatch.signals.features import cue_patterns

    for name, pattern in cue_patterns():
        if name == label:
            return [
                span_in_original(origin, text, m.start(), m.end())
                for m in list(pattern.finditer(norm))[:3]
            ]
    return []


def _merge(spans: list[Span]) -> list[Span]:
    if not spans:
        return []
    spans = sorted(set(spans))
    merged = [spans[0]]
    for s, e in spans[1:]:
        ls, le = merged[-1]
        if s <= le:
            merged[-1] = (ls, max(le, e))
        else:
            merged.append((s, e))
    return merged
