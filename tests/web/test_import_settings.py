"""The ``/import`` and ``/settings`` pages through the app (no browser): roles,
CSRF, the upload checks, the background job with its summary and rejects
report, one job at a time, and versioned settings with validation and audit."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from anchorwatch.config import site
from anchorwatch.members.value import members_config
from anchorwatch.store import Store
from anchorwatch.store.audit import audit_entries
from anchorwatch.store.users import ROLES, add_user
from anchorwatch.web import create_app
from anchorwatch.web.jobs import jobs_of
from anchorwatch.web.routes.pages.imports import _cell
from anchorwatch.web.settings import WebSettings
from anchorwatch.web.uploads import safe_name

from ..conftest import FIXTURES

PASSWORD = "password-123"
MALFORMED = FIXTURES / "jsonl" / "malformed.jsonl"


@pytest.fixture(autouse=True)
def _settings_env() -> Iterator[None]:
    """Saving settings points this process at the new files: undo that."""
    saved = {spec.env: os.environ.pop(spec.env, None) for spec in site.EDITABLE.values()}
    site.clear_loader_caches()
    yield
    for env, value in saved.items():
        if value is None:
            os.environ.pop(env, None)
        else:
            os.environ[env] = value
    site.clear_loader_caches()


def _app(store: Store, tmp_path: Path, **settings: Any) -> TestClient:
    for role in ROLES:
        add_user(store, role, role, PASSWORD)
    web = WebSettings(db=None, settings_dir=str(tmp_path / "site-settings"), **settings)
    return TestClient(create_app(store, settings=web))


def _login(client: TestClient, name: str) -> str:
    """Sign in; returns the session's CSRF token."""
    form = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token
    r = client.post(
        "/login",
        data={"name": name, "password": PASSWORD, "csrf": token.group(1), "next": "/import"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    return _csrf(client, "/import" if name in ("admin", "operator") else "/")


def _csrf(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


def _upload(client: TestClient, csrf: str, name: str, data: bytes, **fields: str) -> Any:
    return client.post(
        "/import",
        data={"csrf": csrf, **fields},
        files={"file": (name, data, "application/octet-stream")},
        follow_redirects=False,
    )


def _finished(client: TestClient, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = client.get(f"/import/jobs/{job_id}").json()
        if status["state"] != "running" or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


# ------------------------------------------------------------------ import


def test_only_admins_and_operators_import(sqlite_store: Store, tmp_path: Path) -> None:
    client = _app(sqlite_store, tmp_path)
    r = client.get("/import", follow_redirects=False)
    assert r.status_code == 303 and "/login" in r.headers["location"]
    for role, status in (("analyst", 403), ("care", 403), ("operator", 200), ("admin", 200)):
        client.cookies.clear()
        _login(client, role)
        assert client.get("/import").status_code == status, role
        assert client.get("/import/jobs/nope").status_code in (status, 404)


def test_an_upload_is_imported_with_a_rejects_report(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    client = _app(store, tmp_path)
    csrf = _login(client, "operator")
    page = client.get("/import")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert '<script src="/static/import.js"' in page.text and "onclick" not in page.text
    r = _upload(client, csrf, "C:\\exports\\<b>群 3月.jsonl", MALFORMED.read_bytes())
    assert r.status_code == 303
    job_id = r.headers["location"].split("job=")[1]
    status = _finished(client, job_id)
    assert status["state"] == "done" and status["percent"] == 100.0
    assert status["summary"]["rejected"] == 16 and status["rejected"] == 16
    assert status["label"] == "b_群_3月.jsonl"  # never the name as sent
    html = client.get(f"/import?job={job_id}").text
    assert 'id="rejects"' in html and "<b>" not in html
    assert "缺少必填字段「text」" in html  # zh-CN reasons
    lines = re.findall(r'<tr><td class="num">(\d+)</td>', html)
    assert lines[:3] == ["3", "4", "5"] and len(lines) == 16
    # The report downloads, every row, in source order, spreadsheet-safe.
    download = client.get(f"/import/jobs/{job_id}/rejects.csv")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert rows[0] == ["line", "code", "reason", "raw"]
    assert [int(r[0]) for r in rows[1:]] == sorted(int(r[0]) for r in rows[1:])
    assert len(rows) == 17
    jsonl = client.get(f"/import/jobs/{job_id}/rejects.jsonl").text.splitlines()
    assert len(jsonl) == 16
    assert client.get(f"/import/jobs/{job_id}/rejects.exe").status_code == 404
    # The upload itself is gone; only the rejects file stays, for download.
    assert not list(scratch.glob("anchorwatch-upload-*"))
    # The imports table names the upload, for the recent-imports list.
    assert "b_群_3月.jsonl" in client.get("/import").text


def test_uploads_are_checked(sqlite_store: Store, tmp_path: Path) -> None:
    client = _app(sqlite_store, tmp_path, upload_max_bytes=2_000)
    csrf = _login(client, "admin")
    no_csrf = _upload(client, "wrong", "a.jsonl", b'{"type": "member", "id": "u1"}\n')
    assert no_csrf.status_code == 403
    exe = _upload(client, csrf, "tool.exe", b"MZ")
    assert exe.status_code == 415 and "tool.exe" in exe.text
    big = _upload(client, csrf, "big.jsonl", b"x" * 5_000)
    assert big.status_code == 413 and 'role="alert"' in big.text
    empty = _upload(client, csrf, "empty.jsonl", b"")
    assert empty.status_code == 400
    csv_file = _upload(client, csrf, "t.csv", b"a,b\n1,2\n")
    assert csv_file.status_code == 400 and "列映射" in csv_file.text
    bad_xlsx = _upload(client, csrf, "t.xlsx", b"not a zip")
    assert bad_xlsx.status_code == 400
    zone = _upload(client, csrf, "a.jsonl", b"{}\n", timezone="Mars/Olympus")
    assert zone.status_code == 400 and "Mars/Olympus" in zone.text
    fmt = _upload(client, csrf, "a.jsonl", b"{}\n", format="pdf")
    assert fmt.status_code == 400
    assert jobs_of(client.app).current is None  # type: ignore[arg-type]


def test_one_job_at_a_time(sqlite_store: Store, tmp_path: Path) -> None:
    client = _app(sqlite_store, tmp_path)
    csrf = _login(client, "admin")
    runner = jobs_of(client.app)  # type: ignore[arg-type]
    release = threading.Event()
    runner.start("analyze", "someone", lambda job: release.wait(30))
    try:
        r = _upload(client, csrf, "a.jsonl", MALFORMED.read_bytes())
        assert r.status_code == 409 and "someone" in r.text
        r = client.post("/import/analyze", data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code == 409
        page = client.get("/import").text
        assert 'data-state="running"' in page and "disabled" in page
    finally:
        release.set()
        assert runner.wait()


def test_the_analysis_runs_from_the_page(sqlite_store: Store, tmp_path: Path) -> None:
    client = _app(sqlite_store, tmp_path)
    csrf = _login(client, "operator")
    r = _upload(
        client, csrf, "episodes.jsonl", (FIXTURES / "jsonl" / "episodes.jsonl").read_bytes()
    )
    assert _finished(client, r.headers["location"].split("job=")[1])["state"] == "done"
    assert client.post("/import/analyze", data={"csrf": "x"}).status_code == 403
    r = client.post("/import/analyze", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    status = _finished(client, r.headers["location"].split("job=")[1])
    assert status["state"] == "done", status
    assert status["summary"]["scored"] > 0 and status["summary"]["episodes_written"] > 0
    assert 'id="analyze-summary"' in client.get(r.headers["location"]).text


def test_names_and_cells_are_made_safe() -> None:
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\..\\x.jsonl") == "x.jsonl"
    assert safe_name("") == "upload" and safe_name(".jsonl") == "jsonl"
    assert safe_name("a" * 300 + ".jsonl").endswith(".jsonl")
    assert len(safe_name("a" * 300 + ".jsonl")) <= 100
    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("@x") == "'@x"
    assert _cell("plain") == "plain" and _cell(None) == ""


# ------------------------------------------------------------------ settings


def test_only_admins_open_settings(sqlite_store: Store, tmp_path: Path) -> None:
    client = _app(sqlite_store, tmp_path)
    for role in ("operator", "care", "analyst"):
        client.cookies.clear()
        _login(client, role)
        assert client.get("/settings").status_code == 403, role
        r = client.post("/settings/value", data={"csrf": "x"}, follow_redirects=False)
        assert r.status_code == 403


def _value_form(csrf: str, **changes: str) -> dict[str, str]:
    raw = site.current("members")
    form = {"csrf": csrf, "quadrant_high": str(raw["quadrant_high"])}
    for section in ("value_weights", "content_weights"):
        for name, w in raw[section].items():
            form[f"{section}.{name}"] = str(w)
    form.update(changes)
    return form


def test_an_admin_changes_a_weight(sqlite_store: Store, tmp_path: Path) -> None:
    client = _app(sqlite_store, tmp_path)
    _login(client, "admin")
    csrf = _csrf(client, "/settings")
    views = client.app.state.views  # type: ignore[attr-defined]
    views.get("sentinel", lambda: 1)
    r = client.post(
        "/settings/value",
        data=_value_form(csrf, **{"value_weights.thanks_received": "2.5"}),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/settings?saved=value#value"
    directory = tmp_path / "site-settings"
    assert (directory / "members.site.1.yaml").is_file()
    saved = yaml.safe_load((directory / "members.yaml").read_text(encoding="utf-8"))
    assert saved["version"] == "members.v1+site.1"
    assert saved["value_weights"]["thanks_received"] == 2.5
    assert saved["burnout"]["levels"] == {"medium": 40, "high": 65}  # the rest kept
    assert os.environ["ANCHORWATCH_MEMBERS_CONFIG"] == str(directory / "members.yaml")
    cfg = members_config()
    assert cfg.version == "members.v1+site.1" and cfg.value_weights["thanks_received"] == 2.5
    assert "sentinel" not in views._values
    page = client.get(r.headers["location"]).text
    assert "members.v1+site.1" in page and 'id="value-notice"' in page
    entry = next(e for e in audit_entries(sqlite_store) if e.action == "change_settings")
    assert entry.user_name == "admin" and entry.detail["version"] == "members.v1+site.1"
    assert entry.detail["changes"] == [
        {"key": "value_weights.thanks_received", "from": 1.0, "to": 2.5}
    ]
    # The same again changes nothing and saves nothing.
    same = client.post(
        "/settings/value", data=_value_form(csrf, **{"value_weights.thanks_received": "2.5"})
    )
    assert same.status_code == 200 and "没有改动" in same.text
    assert not (directory / "members.site.2.yaml").exists()
    # A second change is the next version.
    r = client.post(
        "/settings/value", data=_value_form(csrf, quadrant_high="60"), follow_redirects=False
    )
    assert r.status_code == 303 and members_config().version == "members.v1+site.2"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"value_weights.thanks_received": "-1"}, "value_weights.thanks_received：不能小于 0"),
        ({"value_weights.thanks_received": "abc"}, "value_weights.thanks_received：请填写数字"),
        ({"value_weights.thanks_received": "nan"}, "请填写数字"),
        ({"quadrant_high": "120"}, "quadrant_high：必须在 0 到 100 之间"),
    ],
)
def test_bad_values_are_refused(
    sqlite_store: Store, tmp_path: Path, changes: dict[str, str], message: str
) -> None:
    client = _app(sqlite_store, tmp_path)
    _login(client, "admin")
    csrf = _csrf(client, "/settings")
    r = client.post("/settings/value", data=_value_form(csrf, **changes))
    assert r.status_code == 422 and message in r.text
    assert 'id="value-error"' in r.text
    typed = next(iter(changes.values()))
    assert f'value="{typed}"' in r.text  # what the admin typed stays in the form
    assert not (tmp_path / "site-settings").exists()
    assert members_config().version == "members.v1"


def _burnout_form(csrf: str, **changes: str) -> dict[str, str]:
    b = site.current("members")["burnout"]
    form = {"csrf": csrf, **{f"levels.{k}": str(v) for k, v in b["levels"].items()}}
    for name, spec in b["drivers"].items():
        form[f"drivers.{name}.weight"] = str(spec["weight"])
        form[f"drivers.{name}.full"] = str(spec["full"])
    form.update(changes)
    return form


def test_burnout_levels_and_drivers(sqlite_store: Store, tmp_path: Path) -> None:
    from anchorwatch.members.burnout import burnout_config

    client = _app(sqlite_store, tmp_path)
    _login(client, "admin")
    csrf = _csrf(client, "/settings")
    bad = client.post("/settings/burnout", data=_burnout_form(csrf, **{"levels.medium": "70"}))
    assert bad.status_code == 422 and "0 &lt; 中 &lt; 高 ≤ 100" in bad.text
    zero = client.post("/settings/burnout", data=_burnout_form(csrf, **{"drivers.load.full": "0"}))
    assert zero.status_code == 422 and "drivers.load.full" in zero.text
    ok = client.post(
        "/settings/burnout",
        data=_burnout_form(csrf, **{"levels.high": "70", "drivers.fatigue.weight": "1.5"}),
        follow_redirects=False,
    )
    assert ok.status_code == 303
    cfg = burnout_config()
    assert cfg.high == 70 and cfg.weights["fatigue"] == 1.5


def test_award_categories_as_yaml(sqlite_store: Store, tmp_path: Path) -> None:
    from anchorwatch.care.awards import awards_config

    client = _app(sqlite_store, tmp_path)
    _login(client, "admin")
    csrf = _csrf(client, "/settings")
    text = yaml.safe_dump(site.current("awards")["categories"], allow_unicode=True)
    broken = client.post("/settings/awards", data={"csrf": csrf, "categories": "a: [1,\n b"})
    assert broken.status_code == 422 and "YAML" in broken.text
    unknown = yaml.safe_load(text)
    unknown["peacemaker"]["rank_by"]["no_such_field"] = {"weight": 1.0}
    bad = client.post(
        "/settings/awards",
        data={"csrf": csrf, "categories": yaml.safe_dump(unknown, allow_unicode=True)},
    )
    assert bad.status_code == 422 and "no_such_field" in bad.text
    assert (
        client.post("/settings/awards", data={"csrf": csrf, "categories": "[]"}).status_code == 422
    )
    fewer = yaml.safe_load(text)
    fewer["peacemaker"]["winners"] = 2
    r = client.post(
        "/settings/awards",
        data={"csrf": csrf, "categories": yaml.safe_dump(fewer, allow_unicode=True)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cfg = awards_config()
    assert cfg.version == "awards.v1+site.1" and cfg.category("peacemaker").winners == 2


def test_saved_settings_are_used_after_a_restart(sqlite_store: Store, tmp_path: Path) -> None:
    directory = tmp_path / "site-settings"
    raw = site.current("members")
    raw["quadrant_high"] = 55
    site.save(directory, "members", raw, user="admin")
    os.environ.pop("ANCHORWATCH_MEMBERS_CONFIG")
    site.clear_loader_caches()
    assert members_config().version == "members.v1"
    client = _app(sqlite_store, tmp_path)
    with client:  # the lifespan runs: the saved version is applied
        assert members_config().version == "members.v1+site.1"
        assert members_config().quadrant_high == 55
