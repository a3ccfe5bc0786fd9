"""Site settings: versioned override files, validation, and the variables
that point a process (the web app, a CLI run) at them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from anchorwatch.config import site
from anchorwatch.members.value import members_config


@pytest.fixture(autouse=True)
def _clean_env() -> Iterator[None]:
    saved = {spec.env: os.environ.pop(spec.env, None) for spec in site.EDITABLE.values()}
    site.clear_loader_caches()
    yield
    for env, value in saved.items():
        os.environ.pop(env, None)
        if value is not None:
            os.environ[env] = value
    site.clear_loader_caches()


def test_versions_name_the_packaged_base() -> None:
    assert site.base_version("members.v1+site.12") == "members.v1"
    assert site.site_version("members.v1+site.2", 3) == "members.v1+site.3"
    assert site.site_version("awards.v1", 1) == "awards.v1+site.1"


def test_diff_names_each_changed_leaf() -> None:
    old = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    new = {"a": {"b": 2, "c": [1, 2]}, "d": 1, "e": 3}
    assert [c.as_dict() for c in site.diff(old, new)] == [
        {"key": "a.b", "from": 1, "to": 2},
        {"key": "e", "from": None, "to": 3},
    ]


def test_save_writes_a_new_version_and_points_the_process_at_it(tmp_path: Path) -> None:
    raw = site.current("members")
    raw["value_weights"]["acts_welcome"] = 0.6
    saved = site.save(tmp_path, "members", raw, user="admin")
    assert saved.version == "members.v1+site.1" and saved.previous == "members.v1"
    assert [c.key for c in saved.changes] == ["value_weights.acts_welcome"]
    text = (tmp_path / "members.site.1.yaml").read_text(encoding="utf-8")
    assert text.startswith("# members.v1+site.1: written by the anchorwatch web app")
    assert yaml.safe_load(text) == yaml.safe_load((tmp_path / "members.yaml").read_text())
    assert os.environ["ANCHORWATCH_MEMBERS_CONFIG"] == str(tmp_path / "members.yaml")
    assert members_config().value_weights["acts_welcome"] == 0.6
    raw = site.current("members")
    raw["quadrant_high"] = 40
    assert site.save(tmp_path, "members", raw, user="admin").version == "members.v1+site.2"
    assert [n for n, _ in site.versions(tmp_path, "members")] == [1, 2]


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (lambda r: r["value_weights"].update(thanks_received=-1), "error.settings_at_least"),
        (lambda r: r["value_weights"].update(thanks_received="x"), "error.settings_number"),
        (
            lambda r: r["value_weights"].update(thanks_received=float("inf")),
            "error.settings_number",
        ),
        (lambda r: r.update(quadrant_high=101), "error.settings_range"),
        (lambda r: r["burnout"]["levels"].update(medium=80), "error.settings_levels"),
        (lambda r: r["burnout"]["drivers"]["load"].update(full=0), "error.settings_above"),
        (lambda r: r["burnout"]["drivers"].pop("load"), "error.settings_invalid"),
        (lambda r: r.pop("content_weights"), "error.settings_missing"),
        (lambda r: r.update(quadrant_high=50), "error.settings_unchanged"),
    ],
)
def test_bad_members_settings_are_refused(tmp_path: Path, edit: object, code: str) -> None:
    raw = site.current("members")
    edit(raw)  # type: ignore[operator]
    with pytest.raises(site.SettingsError) as err:
        site.save(tmp_path, "members", raw, user="admin")
    assert err.value.code == code
    assert not list(tmp_path.iterdir())
    assert "ANCHORWATCH_MEMBERS_CONFIG" not in os.environ


def test_awards_are_validated_by_their_own_parser(tmp_path: Path) -> None:
    raw = site.current("awards")
    raw["categories"]["peacemaker"]["winners"] = 0
    with pytest.raises(site.SettingsError) as err:
        site.save(tmp_path, "awards", raw, user="admin")
    assert err.value.code == "error.settings_invalid" and "winners" in err.value.params["detail"]


def test_saved_settings_apply_unless_a_variable_names_another(tmp_path: Path) -> None:
    raw = site.current("members")
    raw["quadrant_high"] = 45
    site.save(tmp_path, "members", raw, user="admin")
    os.environ.pop("ANCHORWATCH_MEMBERS_CONFIG")
    mine = tmp_path / "mine.yaml"
    mine.write_text("version: custom\n", encoding="utf-8")
    os.environ["ANCHORWATCH_MEMBERS_CONFIG"] = str(mine)
    assert site.apply_saved(tmp_path) == {}
    assert os.environ["ANCHORWATCH_MEMBERS_CONFIG"] == str(mine)
    os.environ.pop("ANCHORWATCH_MEMBERS_CONFIG")
    assert site.apply_saved(tmp_path) == {"members": tmp_path / "members.yaml"}
    assert members_config().quadrant_high == 45


def test_the_default_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANCHORWATCH_SETTINGS_DIR", raising=False)
    db = tmp_path / "community.db"
    assert site.default_dir(f"sqlite:///{db}") == tmp_path / "community-settings"
    assert site.default_dir("postgresql://h/db") == Path.cwd() / "anchorwatch-settings"
    monkeypatch.setenv("ANCHORWATCH_SETTINGS_DIR", str(tmp_path / "s"))
    assert site.default_dir(f"sqlite:///{db}") == tmp_path / "s"
