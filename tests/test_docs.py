"""Docs are part of the product: every command has help text and a section in
docs/cli.md naming each of its options (after Datasette's test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from anchorwatch.cli import app

DOCS = Path(__file__).parent.parent / "docs"
README = Path(__file__).parent.parent / "README.md"


def _commands() -> dict[str, Any]:
    """Every command by its full name; a group's subcommands as ``group sub``."""
    group: Any = typer.main.get_command(app)
    out: dict[str, Any] = {}
    for name, command in group.commands.items():
        subs = getattr(command, "commands", None)
        if subs:
            out.update({f"{name} {sub}": c for sub, c in subs.items()})
        else:
            out[name] = command
    return out


COMMANDS = _commands()


def _section(name: str) -> str:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    match = re.search(rf"^## `anchorwatch {re.escape(name)}`.*?(?=^## |\Z)", text, re.S | re.M)
    assert match, f"docs/cli.md has no section for anchorwatch {name}"
    return match.group(0)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_has_help(name: str) -> None:
    assert (COMMANDS[name].help or "").strip(), f"{name} has no --help text"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_is_documented_with_its_options(name: str) -> None:
    section = _section(name)
    for param in COMMANDS[name].params:
        if type(param).__name__ == "TyperOption":
            long_names = [o for o in param.opts if o.startswith("--")]
            if long_names == ["--help"]:
                continue
            assert any(o in section for o in long_names), f"{name}: {long_names} undocumented"


def test_readme_names_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


CONFIG = Path(__file__).parent.parent / "src" / "anchorwatch" / "config"


@pytest.mark.parametrize("path", sorted(CONFIG.glob("*.yaml")), ids=lambda p: p.name)
def test_every_config_key_is_documented(path: Path) -> None:
    import yaml

    docs = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    for key in yaml.safe_load(path.read_text(encoding="utf-8")):
        assert f"`{key}`" in docs, f"{path.name}: {key} is not documented in docs/"
