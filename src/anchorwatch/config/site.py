"""Site settings: the versioned settings an admin tunes (web ``/settings``),
saved as override files that the ordinary loaders read.

The packaged YAML files are the defaults (``members.v1``, ``awards.v1``).  An
edit never changes them: the whole file, changed, is written into the site
settings directory under a new version ``<base>+site.<n>``:

``DIR/members.site.3.yaml``
    that version, kept (a result that names ``members.v1+site.3`` can be
    traced to exactly these settings);
``DIR/members.yaml``
    the current version (the same content, replaced atomically).

:func:`save` then points the loader's variable (``ANCHORWATCH_MEMBERS_CONFIG``,
``ANCHORWATCH_AWARDS_CONFIG``) at ``DIR/<file>`` for the running process and
clears the loaders' caches, so the next computation uses the new settings.  A
CLI run uses the same settings when the same variable names the same file::

    export ANCHORWATCH_MEMBERS_CONFIG=DIR/members.yaml
    export ANCHORWATCH_AWARDS_CONFIG=DIR/awards.yaml

Every edit is validated by the same parsers the stages use
(:func:`anchorwatch.members.value.parse_value_config`,
:meth:`anchorwatch.members.burnout.BurnoutConfig.from_config`,
:meth:`anchorwatch.care.awards.AwardsConfig.from_config`) plus range checks,
before anything is written.

>>> base_version("members.v1+site.3"), site_version("members.v1", 4)
('members.v1', 'members.v1+site.4')
"""

from __future__ import annotations

import copy
import math
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class SettingsFile:
    """One editable settings file: its packaged name and its override variable."""

    key: str
    filename: str
    env: str

    @property
    def stem(self) -> str:
        return self.filename.rsplit(".", 1)[0]


EDITABLE: dict[str, SettingsFile] = {
    "members": SettingsFile("members", "members.yaml", "ANCHORWATCH_MEMBERS_CONFIG"),
    "awards": SettingsFile("awards", "awards.yaml", "ANCHORWATCH_AWARDS_CONFIG"),
}

#: Changes recorded per save (the audit entry keeps at most this many).
MAX_CHANGES = 60

_SITE = re.compile(r"\+site\.\d+$")
_lock = threading.Lock()


class SettingsError(ValueError):
    """Settings that cannot be saved; ``code`` is an i18n key, ``params`` its values."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Change:
    """One setting that changed: its dotted path, the old and the new value."""

    key: str
    old: Any
    new: Any

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "from": self.old, "to": self.new}


@dataclass(frozen=True)
class Saved:
    """What :func:`save` wrote."""

    file: SettingsFile
    version: str
    previous: str
    path: Path
    current: Path
    changes: list[Change] = field(default_factory=list)


def base_version(version: str) -> str:
    """The packaged version a site version was made from."""
    return _SITE.sub("", version)


def site_version(version: str, number: int) -> str:
    return f"{base_version(version)}+site.{number}"


def clear_loader_caches() -> None:
    """Forget every cached settings file, so the next call reads them again."""
    from anchorwatch.care.awards import awards_settings, rewards_settings
    from anchorwatch.care.thanks import care_settings
    from anchorwatch.episodes.config import episodes_config
    from anchorwatch.members.value import members_settings
    from anchorwatch.signals.registry import signals_config

    for loader in (
        members_settings,
        awards_settings,
        rewards_settings,
        care_settings,
        episodes_config,
        signals_config,
    ):
        loader.cache_clear()


def current(key: str) -> dict[str, Any]:
    """A private copy of the settings in use for ``key`` (``members``, ``awards``)."""
    if key == "members":
        from anchorwatch.members.value import members_settings

        return copy.deepcopy(members_settings())
    if key == "awards":
        from anchorwatch.care.awards import awards_settings

        return copy.deepcopy(awards_settings())
    raise KeyError(key)


def source(key: str) -> str | None:
    """The override file in use for ``key``; ``None``: the packaged default."""
    return os.environ.get(EDITABLE[key].env) or None


def default_dir(db_url: str | None) -> Path:
    """``ANCHORWATCH_SETTINGS_DIR``, else ``<db>-settings`` beside a SQLite
    file, else ``anchorwatch-settings`` in the current directory."""
    explicit = os.environ.get("ANCHORWATCH_SETTINGS_DIR")
    if explicit:
        return Path(explicit)
    if db_url and db_url.startswith("sqlite:///") and len(db_url) > len("sqlite:///"):
        db = Path(db_url[len("sqlite:///") :].split("?", 1)[0])
        return db.with_name(f"{db.stem}-settings")
    return Path.cwd() / "anchorwatch-settings"


def versions(directory: Path, key: str) -> list[tuple[int, Path]]:
    """The saved versions of ``key`` in ``directory``, oldest first."""
    stem = EDITABLE[key].stem
    found = []
    for path in directory.glob(f"{stem}.site.*.yaml"):
        number = path.name[len(stem) + len(".site.") : -len(".yaml")]
        if number.isdigit():
            found.append((int(number), path))
    return sorted(found)


def diff(old: Any, new: Any, prefix: str = "") -> list[Change]:
    """Every leaf that differs between two settings trees, by dotted path."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[Change] = []
        for k in [*old, *(k for k in new if k not in old)]:
            path = f"{prefix}.{k}" if prefix else str(k)
            out.extend(diff(old.get(k), new.get(k), path))
        return out
    return [] if old == new else [Change(prefix, old, new)]


# ----------------------------------------------------------------- validation


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SettingsError("error.settings_number", field=path)
    return float(value)


def _at_least(value: Any, path: str, low: float, *, strict: bool = False) -> float:
    x = _number(value, path)
    if x < low or (strict and x == low):
        raise SettingsError(
            "error.settings_above" if strict else "error.settings_at_least", field=path, low=low
        )
    return x


def _check_members(raw: dict[str, Any]) -> None:
    for section in ("value_weights", "content_weights"):
        for name, value in (raw.get(section) or {}).items():
            _at_least(value, f"{section}.{name}", 0)
    quadrant = _number(raw.get("quadrant_high"), "quadrant_high")
    if not 0 <= quadrant <= 100:
        raise SettingsError("error.settings_range", field="quadrant_high", low=0, high=100)
    burnout = raw.get("burnout") or {}
    levels = burnout.get("levels") or {}
    medium = _number(levels.get("medium"), "burnout.levels.medium")
    high = _number(levels.get("high"), "burnout.levels.high")
    if not 0 < medium < high <= 100:
        raise SettingsError("error.settings_levels")
    for name, spec in (burnout.get("drivers") or {}).items():
        _at_least(spec.get("weight"), f"burnout.drivers.{name}.weight", 0)
        _at_least(spec.get("full"), f"burnout.drivers.{name}.full", 0, strict=True)


def validate(key: str, raw: dict[str, Any]) -> None:
    """Raise :class:`SettingsError` unless ``raw`` is a usable ``key`` file.

    The range checks first (clear messages naming the field), then the very
    parsers the stages use.
    """
    try:
        if key == "members":
            from anchorwatch.members.burnout import BurnoutConfig
            from anchorwatch.members.value import parse_value_config

            _check_members(raw)
            parse_value_config(raw)
            BurnoutConfig.from_config(raw["burnout"])
        elif key == "awards":
            from anchorwatch.care.awards import AwardsConfig

            AwardsConfig.from_config(raw)
        else:
            raise KeyError(key)
    except SettingsError:
        raise
    except KeyError as exc:
        raise SettingsError("error.settings_missing", key=str(exc.args[0])) from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise SettingsError("error.settings_invalid", detail=str(exc)) from None


# ----------------------------------------------------------------- saving


def _dump(raw: dict[str, Any], user: str, at: datetime) -> str:
    header = (
        f"# {raw['version']}: written by the anchorwatch web app (/settings), "
        f"by {user} at {at:%Y-%m-%dT%H:%M:%SZ}.\n"
        f"# The keys are documented in the packaged file of {base_version(raw['version'])}.\n"
    )
    return header + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=100)


def activate(directory: Path, key: str) -> Path:
    """Point ``key``'s override variable at ``DIR/<file>`` for this process."""
    spec = EDITABLE[key]
    path = directory / spec.filename
    os.environ[spec.env] = str(path)
    clear_loader_caches()
    return path


def save(directory: Path, key: str, raw: dict[str, Any], *, user: str) -> Saved:
    """Validate ``raw`` and save it as the next site version of ``key``.

    Raises :class:`SettingsError` (``error.settings_unchanged`` when nothing
    differs from the settings in use).
    """
    spec = EDITABLE[key]
    with _lock:
        old = current(key)
        previous = str(old.get("version") or key)
        raw = copy.deepcopy(raw)
        raw.pop("version", None)
        changes = diff({k: v for k, v in old.items() if k != "version"}, raw)
        if not changes:
            raise SettingsError("error.settings_unchanged")
        validate(key, {"version": previous, **raw})
        directory.mkdir(parents=True, exist_ok=True)
        number = max((n for n, _ in versions(directory, key)), default=0) + 1
        version = site_version(previous, number)
        text = _dump({"version": version, **raw}, user, datetime.now(UTC))
        path = directory / f"{spec.stem}.site.{number}.yaml"
        with path.open("x", encoding="utf-8") as fh:
            fh.write(text)
        current_path = directory / spec.filename
        tmp = current_path.with_name(f".{spec.filename}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, current_path)
        activate(directory, key)
    return Saved(spec, version, previous, path, current_path, changes)


def apply_saved(directory: Path) -> dict[str, Path]:
    """At start-up: use the current site file of each key whose variable is
    not set already (an explicit variable wins).  Returns what was applied."""
    applied: dict[str, Path] = {}
    for key, spec in EDITABLE.items():
        path = directory / spec.filename
        if path.is_file() and not os.environ.get(spec.env):
            applied[key] = activate(directory, key)
    return applied
