"""Labelled data for training and evaluating detectors (I/O lives here).

* the project's own examples, ``data/labelled/{zh,en}/*.jsonl`` (see its
  datasheet): every label, split train / dev by conversation;
* COLD (../shared/datasets/COLD): ``offensive`` only, train and dev;
* CPED (../shared/datasets/CPED): dialogue acts that map onto our labels
  (thanking → gratitude, comfort → empathy), for evaluation only.

Each loader returns a :class:`LabelledSet`: texts, contexts and a label matrix
``y`` with 1 (has the label), 0 (has not) and -1 (not annotated for it).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from anchorwatch.signals.labels import LABELS

#: Where the public data sets live, relative to the project root.
SHARED_DATASETS = Path("..") / "shared" / "datasets"
OWN_DATA = Path("data") / "labelled"

#: CPED dialogue acts that correspond to our labels (evaluation only).
CPED_MAP = {"thanking": "gratitude", "comfort": "empathy"}


@dataclass
class LabelledSet:
    """Texts with their replied-to context and a label matrix."""

    name: str
    texts: list[str]
    contexts: list[str | None]
    y: np.ndarray
    groups: list[str] = field(default_factory=list)
    langs: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, mask: np.ndarray, name: str | None = None) -> LabelledSet:
        idx = np.flatnonzero(mask)
        return LabelledSet(
            name or self.name,
            [self.texts[i] for i in idx],
            [self.contexts[i] for i in idx],
            self.y[idx],
            [self.groups[i] for i in idx] if self.groups else [],
            [self.langs[i] for i in idx] if self.langs else [],
            [self.ids[i] for i in idx] if self.ids else [],
        )

    @staticmethod
    def concat(name: str, parts: Sequence[LabelledSet]) -> LabelledSet:
        return LabelledSet(
            name,
            [t for p in parts for t in p.texts],
            [c for p in parts for c in p.contexts],
            np.vstack([p.y for p in parts]) if parts else np.zeros((0, len(LABELS)), np.int8),
            [g for p in parts for g in (p.groups or [""] * len(p))],
            [g for p in parts for g in (p.langs or [""] * len(p))],
            [g for p in parts for g in (p.ids or [""] * len(p))],
        )


def load_own(root: Path = OWN_DATA, split: str | None = None) -> LabelledSet:
    """The project's labelled examples (all labels annotated on every row)."""
    texts: list[str] = []
    contexts: list[str | None] = []
    rows: list[np.ndarray] = []
    groups: list[str] = []
    langs: list[str] = []
    ids: list[str] = []
    index = {lab: j for j, lab in enumerate(LABELS)}
    for path in sorted(root.glob("*/*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                ex = json.loads(line)
                if split is not None and ex.get("split") != split:
                    continue
                y = np.zeros(len(LABELS), dtype=np.int8)
                for lab in ex.get("labels", []):
                    if lab in index:
                        y[index[lab]] = 1
                texts.append(ex["text"])
                contexts.append(ex.get("context") or None)
                rows.append(y)
                groups.append(ex.get("conversation") or ex["id"])
                langs.append(ex.get("lang", "zh"))
                ids.append(ex["id"])
    y_all = np.vstack(rows) if rows else np.zeros((0, len(LABELS)), np.int8)
    return LabelledSet(f"own:{split or 'all'}", texts, contexts, y_all, groups, langs, ids)


def _only(label: str, values: Sequence[int]) -> np.ndarray:
    y = np.full((len(values), len(LABELS)), -1, dtype=np.int8)
    y[:, LABELS.index(label)] = np.asarray(values, dtype=np.int8)
    return y


def load_cold(split: str, root: Path = SHARED_DATASETS) -> LabelledSet:
    """COLD ``train`` or ``dev``: offensive (1) or safe (0) Chinese comments."""
    path = root / "COLD" / f"{split}.csv"
    texts: list[str] = []
    labels: list[int] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            texts.append(row["TEXT"])
            labels.append(int(row["label"]))
    return LabelledSet(
        f"COLD:{split}",
        texts,
        [None] * len(texts),
        _only("offensive", labels),
        [f"cold-{split}-{i}" for i in range(len(texts))],
        ["zh"] * len(texts),
        [f"cold-{split}-{i}" for i in range(len(texts))],
    )


def load_cped(root: Path = SHARED_DATASETS) -> LabelledSet:
    """CPED valid: each utterance with the previous one of its dialogue as context.

    Only the mapped labels are annotated (thanking → gratitude, comfort →
    empathy); the rest are -1.
    """
    path = root / "CPED" / "valid_split.csv"
    texts: list[str] = []
    contexts: list[str | None] = []
    rows: list[np.ndarray] = []
    groups: list[str] = []
    prev_dialogue, prev_text = None, None
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            dialogue = row["Dialogue_ID"]
            text = row["Utterance"]
            y = np.full(len(LABELS), -1, dtype=np.int8)
            for act, label in CPED_MAP.items():
                y[LABELS.index(label)] = int(row["DA"] == act)
            texts.append(text)
            contexts.append(prev_text if dialogue == prev_dialogue else None)
            rows.append(y)
            groups.append(dialogue)
            prev_dialogue, prev_text = dialogue, text
    return LabelledSet(
        "CPED:valid", texts, contexts, np.vstack(rows), groups, ["zh"] * len(texts), groups
    )


#: Joins between two messages made into one (Chinese; English uses a space).
_JOINS = ("，", "。", " ", "！", "～", "\n")


def compose_pairs(ds: LabelledSet, share: float, seed: int = 0) -> LabelledSet:
    """Training-only augmentation: messages that do two things at once.

    Real replies often combine acts (empathy, then a question about details,
    then the service hotline) or bury one act in chatter.  The written examples
    are mostly one act each, and a lexical model then learns that a cue is
    diluted by the rest of a long message.  This joins ``share × len(ds)``
    random pairs of the same language (at least one of them labelled) into one
    message whose labels are the union, with the first one's context.  Never
    applied to dev data.
    """
    rng = np.random.default_rng(seed)
    langs = np.asarray(ds.langs)
    labelled = np.flatnonzero(ds.y.max(axis=1) > 0)
    by_lang = {lang: np.flatnonzero(langs == lang) for lang in set(ds.langs)}
    texts: list[str] = []
    contexts: list[str | None] = []
    rows: list[np.ndarray] = []
    groups: list[str] = []
    out_langs: list[str] = []
    for _ in range(int(len(ds) * share) if len(labelled) else 0):
        a = int(rng.choice(labelled))
        b = int(rng.choice(by_lang[ds.langs[a]]))
        if a == b:
            continue
        join = " " if ds.langs[a] == "en" else _JOINS[int(rng.integers(len(_JOINS)))]
        first, second = (a, b) if rng.random() < 0.5 else (b, a)
        texts.append(ds.texts[first].rstrip() + join + ds.texts[second].lstrip())
        contexts.append(ds.contexts[a])
        rows.append(np.maximum(ds.y[a], ds.y[b]))
        groups.append(ds.groups[a])
        out_langs.append(ds.langs[a])
    y = np.vstack(rows).astype(np.int8) if rows else np.zeros((0, ds.y.shape[1]), np.int8)
    ids = [f"pair-{i}" for i in range(len(texts))]
    return LabelledSet(f"{ds.name}+pairs", texts, contexts, y, groups, out_langs, ids)
