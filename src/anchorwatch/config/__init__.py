"""Versioned default settings shipped with the package (YAML files here)."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


def read_settings(filename: str, override_env: str) -> dict[str, Any]:
    """The packaged ``filename``, or the file named by the ``override_env`` variable."""
    override = os.environ.get(override_env)
    if override:
        text = Path(override).read_text(encoding="utf-8")
    else:
        text = resources.files("anchorwatch.config").joinpath(filename).read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data
