"""Detectors by versioned name (``lexical.v1``, ``e5-heads.v1``, ``cascade.v1``).

A backend is a factory ``(model_dir) -> Detector`` registered under its name.
The shipped heads live in ``signals/models/``; ``model_dir`` points elsewhere
for heads trained on a brand's own data (``anchorwatch train --out DIR``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from anchorwatch.config import read_settings
from anchorwatch.signals.detector import Detector

Factory = Callable[[Path], Detector]
_REGISTRY: dict[str, Factory] = {}


class UnknownBackend(KeyError):
    pass


def register(name: str) -> Callable[[Factory], Factory]:
    """Register a detector factory under a versioned name."""

    def wrap(factory: Factory) -> Factory:
        _REGISTRY[name] = factory
        return factory

    return wrap


#: Backends that send member text off the machine: never chosen implicitly,
#: and kept out of the offline contract test (they have their own, against a
#: local stand-in server).
REMOTE = frozenset({"llm.v1"})


def backends(*, offline: bool = False) -> list[str]:
    return sorted(b for b in _REGISTRY if not (offline and b in REMOTE))


def shipped_models() -> Path:
    return Path(str(resources.files("anchorwatch.signals").joinpath("models")))


@cache
def signals_config() -> dict[str, Any]:
    return read_settings("signals.yaml", "ANCHORWATCH_SIGNALS_CONFIG")


def get_detector(name: str | None = None, model_dir: Path | None = None) -> Detector:
    """Build the detector ``name`` (default: the configured backend)."""
    cfg = signals_config()
    name = name or str(cfg.get("backend") or "cascade.v1")
    if name not in _REGISTRY:
        raise UnknownBackend(name)
    directory = model_dir or (Path(cfg["model_dir"]) if cfg.get("model_dir") else None)
    return _REGISTRY[name](directory or shipped_models())


@register("lexical.v1")
def _lexical(model_dir: Path) -> Detector:
    from anchorwatch.signals.lexical import LexicalDetector

    return LexicalDetector.load(model_dir / "lexical.v1")


@register("e5-heads.v1")
def _encoder(model_dir: Path) -> Detector:
    from anchorwatch.signals.encoder import EncoderDetector
    from anchorwatch.signals.lexical import LexicalDetector

    lexical = LexicalDetector.load(model_dir / "lexical.v1")
    return EncoderDetector.load(model_dir / "e5-heads.v1", lexical)


@register("cascade.v1")
def _cascade(model_dir: Path) -> Detector:
    from anchorwatch.signals.cascade import CascadeDetector
    from anchorwatch.signals.encoder import EncoderDetector
    from anchorwatch.signals.lexical import LexicalDetector

    lexical = LexicalDetector.load(model_dir / "lexical.v1")
    encoder = EncoderDetector.load(model_dir / "e5-heads.v1", lexical)
    info = json.loads((model_dir / "cascade.v1.json").read_text(encoding="utf-8"))
    return CascadeDetector(
        lexical,
        encoder,
        margin=float(info["margin"]),
        escalate_on=info.get("escalate_on"),
        escalate_latin=bool(info.get("escalate_latin", False)),
    )


@register("llm.v1")
def _llm(model_dir: Path) -> Detector:
    """Any OpenAI-compatible endpoint (off by default; see docs/llm.md).

    ``model_dir`` is unused: the model is remote and configured by
    ``ANCHORWATCH_LLM_URL``, ``ANCHORWATCH_LLM_MODEL`` and ``ANCHORWATCH_LLM_KEY``.
    """
    from anchorwatch.signals.llm import LLMDetector

    return LLMDetector.from_env()
