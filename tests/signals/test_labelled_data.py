"""The project's labelled data keeps its promises (see data/labelled/README.md):
valid rows, known labels, unique texts, conversations never split across
train and dev, and enough positives per label and language."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from anchorwatch.signals.labels import LABELS

ROOT = Path(__file__).parents[2] / "data" / "labelled"
MIN_POSITIVES = {"zh": 300, "en": 100}


def _rows() -> list[dict[str, object]]:
    rows = []
    for path in sorted(ROOT.glob("*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


ROWS = _rows()


def test_rows_are_well_formed() -> None:
    assert len(ROWS) > 5_000
    for row in ROWS:
        assert {"id", "lang", "conversation", "text", "labels", "split"} <= set(row)
        assert row["lang"] in ("zh", "en")
        assert row["split"] in ("train", "dev")
        assert isinstance(row["text"], str) and row["text"].strip()
        assert set(row["labels"]) <= set(LABELS), row["id"]  # type: ignore[arg-type]


def test_ids_and_texts_are_unique() -> None:
    ids = Counter(r["id"] for r in ROWS)
    assert not [i for i, n in ids.items() if n > 1]
    texts = Counter((r["text"], r.get("context")) for r in ROWS)
    assert not [t for t, n in texts.items() if n > 1]


def test_conversations_stay_in_one_split() -> None:
    splits: dict[object, set[object]] = defaultdict(set)
    for row in ROWS:
        splits[row["conversation"]].add(row["split"])
    assert all(len(s) == 1 for s in splits.values())


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_enough_positives(label: str, lang: str) -> None:
    n = sum(1 for r in ROWS if r["lang"] == lang and label in r["labels"])  # type: ignore[operator]
    assert n >= MIN_POSITIVES[lang], f"{label}/{lang}: {n}"


@pytest.mark.parametrize("label", LABELS)
def test_dev_has_positives_and_negatives(label: str) -> None:
    for lang in ("zh", "en"):
        dev = [r for r in ROWS if r["split"] == "dev" and r["lang"] == lang]
        pos = sum(1 for r in dev if label in r["labels"])  # type: ignore[operator]
        assert pos >= 20 and len(dev) - pos >= 100, (label, lang, pos)
