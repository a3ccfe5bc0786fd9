"""The act and context labels of DESIGN 1.1, read from ``config/labels.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class Label:
    name: str
    kind: str  # "act" or "context"
    zh: str
    en: str
    definition: str


@cache
def load_labels() -> tuple[Label, ...]:
    """All labels, acts first, in the order of the config file."""
    text = resources.files("anchorwatch.config").joinpath("labels.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    out: list[Label] = []
    for kind, key in (("act", "acts"), ("context", "contexts")):
        for name, spec in data[key].items():
            out.append(Label(name, kind, spec["zh"], spec["en"], spec["definition"]))
    return tuple(out)


LABELS: tuple[str, ...] = tuple(label.name for label in load_labels())
ACTS: tuple[str, ...] = tuple(label.name for label in load_labels() if label.kind == "act")
CONTEXTS: tuple[str, ...] = tuple(label.name for label in load_labels() if label.kind == "context")
