"""Lexical features: character n-grams and words of a message and of the
message it replies to.

Chinese has no spaces, so character 1–3-grams carry most of the signal
(心累, 拉偏架, 工单); words from jieba add whole terms (4S店, 服务站) and English
words come out of the same tokeniser.  The replied-to message gets its own,
smaller vocabulary (prefixed ``c:``), because *what* is answered changes what
an answer means: a reply to a complaint is not a reply to a question.

The vectoriser is saved as JSON (vocabulary) and NumPy (idf), never pickled,
so a shipped model loads on any Python and cannot run code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any

import numpy as np
from scipy import sparse

WORD_RE = re.compile(r"[a-z0-9][a-z0-9'._-]*|[\u4e00-\u9fff]+|[^\s\w]", re.IGNORECASE)


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba


def words(text: str) -> list[str]:
    """Words of a normalised text: jieba for Chinese runs, regex for the rest."""
    out: list[str] = []
    jb = _jieba()
    for piece in WORD_RE.findall(text):
        if "\u4e00" <= piece[0] <= "\u9fff" and len(piece) > 1:
            out.extend(jb.lcut(piece, HMM=False))
        else:
            out.append(piece)
    return out


NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
PUNCT_ONLY_RE = re.compile(r"[^\w\s]+")


def _keep_gram(gram: str) -> bool:
    return bool(NON_ASCII_RE.search(gram) or PUNCT_ONLY_RE.fullmatch(gram))


def char_ngrams(text: str, n_min: int = 1, n_max: int = 3) -> list[str]:
    """Character n-grams that touch Chinese (or any non-ASCII: emoji, full-width
    marks), and runs of punctuation (``?!``).

    Chinese has no word boundaries, so its characters carry the signal; in
    English, letter n-grams (``e``, ``th``) only measure length and drown the
    words, which are features of their own (:func:`analyse`).
    """
    grams: list[str] = []
    padded = f" {text} "
    for n in range(n_min, n_max + 1):
        grams.extend(
            g for g in (padded[i : i + n] for i in range(len(padded) - n + 1)) if _keep_gram(g)
        )
    return grams


@cache
def cue_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """One alternation per label from ``config/cues.yaml`` (normalised cues)."""
    from importlib import resources

    import yaml

    from anchorwatch.signals.normalize import normalize

    text = resources.files("anchorwatch.config").joinpath("cues.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    out = []
    for label, cues in data.items():
        if label == "version" or not cues:
            continue
        alternation = "|".join(
            re.escape(c) for c in sorted({normalize(str(c)) for c in cues}, key=len, reverse=True)
        )
        out.append((label, re.compile(alternation)))
    return tuple(out)


def cues(text: str) -> list[str]:
    """``k:<label>`` once per cue of that label found in the normalised text."""
    return ["k:" + label for label, pattern in cue_patterns() for _ in pattern.findall(text)]


def analyse(text: str) -> list[str]:
    """Every lexical feature name of one normalised text: character n-grams,
    words, word pairs of Latin-script runs ("no worries", "hold the"), and cue
    words of the labels (``config/cues.yaml``)."""
    tokens = [w for w in words(text) if len(w) > 1 or w.isalnum()]
    latin = [w for w in tokens if w[0].isascii() and w[0].isalnum()]
    pairs = ["b:" + a + " " + b for a, b in pairwise(latin)]
    return char_ngrams(text) + ["w:" + w for w in tokens] + pairs + cues(text)


def analyse_context(text: str) -> list[str]:
    return ["c:" + g for g in char_ngrams(text, 1, 2)] + ["cw:" + w for w in words(text)]


@dataclass
class Vocabulary:
    """Feature name → column, with inverse document frequencies."""

    index: dict[str, int]
    idf: np.ndarray
    #: Row scaling: "l2" (unit rows) or "sqrt" (divide by the square root of the
    #: L2 norm, so that two acts in one message are not each diluted by half).
    norm: str = "l2"

    @classmethod
    def fit(cls, docs: Sequence[list[str]], *, min_df: int, max_features: int) -> Vocabulary:
        df: dict[str, int] = {}
        for feats in docs:
            for f in set(feats):
                df[f] = df.get(f, 0) + 1
        kept = [(f, n) for f, n in df.items() if n >= min_df]
        kept.sort(key=lambda fn: (-fn[1], fn[0]))
        kept = kept[:max_features]
        kept.sort(key=lambda fn: fn[0])
        n_docs = max(len(docs), 1)
        idf = np.array([np.log((1 + n_docs) / (1 + n)) + 1 for _, n in kept], dtype=np.float32)
        return cls({f: i for i, (f, _) in enumerate(kept)}, idf)

    def transform(self, docs: Sequence[list[str]]) -> sparse.csr_matrix:
        """Sublinear tf-idf, L2-normalised rows."""
        indptr = [0]
        indices: list[int] = []
        values: list[float] = []
        index = self.index
        for feats in docs:
            counts: dict[int, int] = {}
            for f in feats:
                j = index.get(f)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            indices.extend(counts)
            values.extend(counts.values())
            indptr.append(len(indices))
        data = np.asarray(values, dtype=np.float32)
        cols = np.asarray(indices, dtype=np.int32)
        mat = sparse.csr_matrix(
            (data, cols, np.asarray(indptr, dtype=np.int64)), shape=(len(docs), len(index))
        )
        if mat.nnz:
            mat.data = (1.0 + np.log(mat.data)) * self.idf[mat.indices]
            norms = np.sqrt(np.asarray(mat.multiply(mat).sum(axis=1)).ravel())
            if self.norm == "sqrt":
                norms = np.sqrt(norms)
            norms[norms == 0] = 1.0
            mat = sparse.diags(1.0 / norms).dot(mat).tocsr()
        return mat.astype(np.float32)

    def names(self) -> list[str]:
        out = [""] * len(self.index)
        for f, i in self.index.items():
            out[i] = f
        return out

    def to_json(self) -> dict[str, Any]:
        return {"features": self.names()}

    @classmethod
    def from_parts(cls, names: list[str], idf: np.ndarray, norm: str = "l2") -> Vocabulary:
        return cls({f: i for i, f in enumerate(names)}, idf.astype(np.float32), norm)


@dataclass
class LexicalFeaturizer:
    """Text and context vocabularies stacked side by side."""

    text_vocab: Vocabulary
    context_vocab: Vocabulary

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        contexts: Sequence[str | None],
        *,
        min_df: int = 2,
        max_text_features: int = 60_000,
        max_context_features: int = 15_000,
        norm: str = "sqrt",
    ) -> LexicalFeaturizer:
        text_docs = [analyse(t) for t in texts]
        ctx_docs = [analyse_context(c) if c else [] for c in contexts]
        text_vocab = Vocabulary.fit(text_docs, min_df=min_df, max_features=max_text_features)
        ctx_vocab = Vocabulary.fit(ctx_docs, min_df=min_df, max_features=max_context_features)
        text_vocab.norm = ctx_vocab.norm = norm
        return cls(text_vocab, ctx_vocab)

    @property
    def n_features(self) -> int:
        return len(self.text_vocab.index) + len(self.context_vocab.index)

    def transform(self, texts: Sequence[str], contexts: Sequence[str | None]) -> sparse.csr_matrix:
        text_m = self.text_vocab.transform([analyse(t) for t in texts])
        ctx_m = self.context_vocab.transform([analyse_context(c) if c else [] for c in contexts])
        return sparse.hstack([text_m, ctx_m], format="csr")
