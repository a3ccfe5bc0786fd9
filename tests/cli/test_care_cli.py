"""`thanks`, `care`, `vent`, `user`, `token` and `key` end to end on a year of
demo community (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from anchorwatch.cli import app

from ..conftest import copy_demo_year


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANCHORWATCH_LOCALE", "en")
    monkeypatch.setenv("COLUMNS", "200")


def invoke(runner: CliRunner, *args: str, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture(scope="module")
def year(demo_year_db: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A private copy of the session's demo year (tests/conftest.py)."""
    return copy_demo_year(demo_year_db, tmp_path_factory.mktemp("care"))


def _export(runner: CliRunner, url: str, what: str, tmp: Path) -> list[dict]:
    path = tmp / f"{what}.jsonl"
    invoke(runner, "export", "--db", url, "--what", what, "-o", str(path))
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def _busiest(runner: CliRunner, url: str, tmp: Path) -> str:
    rows = _export(runner, url, "members", tmp)
    best = max(rows, key=lambda r: (r["episodes_served"], r["member"]))
    return best["member"]


def test_thanks_drafts_name_real_evidence(year: str, tmp_path: Path) -> None:
    runner = CliRunner()
    member = _busiest(runner, year, tmp_path)
    drafts = json.loads(invoke(runner, "thanks", member, "--db", year, "--json"))
    assert {d["locale"] for d in drafts} == {"zh-CN", "en"} and len(drafts) == 6
    episodes = {e["id"]: e for e in _export(runner, year, "episodes", tmp_path)}
    for d in drafts:
        assert d["episodes"]
        for eid in d["episodes"]:
            # Each named episode is one the member really acted in.
            assert member in {a["member"] for a in episodes[eid]["acts"]}
    text = invoke(runner, "thanks", member, "--db", year, "--tone", "formal", "--locale", "en")
    assert "Dear" in text
    sent = tmp_path / "sent.txt"
    sent.write_text("谢谢您！上次那个帖子多亏您了。", encoding="utf-8")
    invoke(
        runner, "thanks", member, "--db", year, "--log", "--text-file", str(sent), "--staff", "小林"
    )
    history = json.loads(invoke(runner, "care", "history", member, "--db", year, "--json"))
    assert history[-1]["action"] == "thanks" and history[-1]["note"] == sent.read_text("utf-8")
    assert history[-1]["evidence"][: len(drafts[0]["episodes"])] == drafts[0]["episodes"]
    bad = runner.invoke(app, ["thanks", member, "--db", year, "--tone", "sarcastic"])
    assert bad.exit_code == 2


def test_the_care_log_lowers_the_risk(year: str) -> None:
    runner = CliRunner()
    for day in ("2026-06-01", "2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01"):
        found = json.loads(invoke(runner, "watchlist", "--db", year, "--at", day, "--json"))
        if found:
            break
    else:
        pytest.fail("nobody on the watchlist")
    member, before = found[0]["member"], found[0]["burnout_risk"]
    from datetime import date, timedelta

    before_day = date.fromisoformat(day) - timedelta(days=2)
    invoke(
        runner,
        "care",
        "log",
        member,
        "--db",
        year,
        "--action",
        "call",
        "--at",
        f"{before_day}T10:00",
    )
    invoke(runner, "care", "log", member, "--db", year, "--action", "rest", "--at", "2026-01-02")
    after = json.loads(invoke(runner, "watchlist", "--db", year, "--at", day, "--json"))
    risk = {r["member"]: r["burnout_risk"] for r in after}.get(member, 0)
    assert risk < before
    bad = runner.invoke(app, ["care", "log", member, "--db", year, "--action", "bribe"])
    assert bad.exit_code == 2 and "bribe" in bad.output


def test_accounts_tokens_keys_and_vent_links(year: str, tmp_path: Path) -> None:
    runner = CliRunner()
    invoke(
        runner,
        "user",
        "add",
        "小林",
        "--role",
        "care",
        "--password-stdin",
        "--db",
        year,
        input="s3cret-pass\n",
    )
    assert "小林" in invoke(runner, "user", "list", "--db", year)
    dup = runner.invoke(
        app,
        ["user", "add", "小林", "--role", "care", "--password-stdin", "--db", year],
        input="s3cret-pass\n",
    )
    assert dup.exit_code == 2
    short = runner.invoke(
        app,
        ["user", "add", "x", "--role", "care", "--password-stdin", "--db", year],
        input="short\n",
    )
    assert short.exit_code == 2
    token = invoke(runner, "token", "create", "小林", "--db", year).strip()
    assert token.startswith("aw_") and len(token) > 40
    assert "1" in invoke(runner, "token", "revoke", "小林", "--db", year)
    key = tmp_path / "keys.json"
    invoke(runner, "key", "create", str(key))
    assert runner.invoke(app, ["key", "create", str(key)]).exit_code == 2
    invoke(runner, "key", "rotate", str(key))
    assert len(json.loads(key.read_text())["keys"]) == 2
    member = _busiest(runner, year, tmp_path)
    link = invoke(
        runner,
        "vent",
        "invite",
        member,
        "--care",
        "小林",
        "--days",
        "7",
        "--db",
        year,
        "--base-url",
        "https://care.example.com",
    )
    assert link.strip().splitlines()[0].startswith("https://care.example.com/vent/")
    listed = invoke(runner, "vent", "list", "--db", year)
    assert member in listed and "open" in listed
    not_care = runner.invoke(
        app,
        ["user", "add", "运营", "--role", "operator", "--password-stdin", "--db", year],
        input="s3cret-pass\n",
    )
    assert not_care.exit_code == 0
    refused = runner.invoke(app, ["vent", "invite", member, "--care", "运营", "--db", year])
    assert refused.exit_code == 2
    invoke(runner, "vent", "revoke", "1", "--db", year)
    assert "revoked" in invoke(runner, "vent", "list", "--db", year)


def test_quickstart_serves_with_printed_logins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    served: list[tuple[str, int]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: served.append((host, port)))
    # Set, so that the value quickstart puts there is undone after the test.
    monkeypatch.setenv("ANCHORWATCH_KEY_FILE", "")
    runner = CliRunner()
    out = invoke(
        runner,
        "quickstart",
        "--dir",
        str(tmp_path),
        "--messages",
        "1500",
        "--serve",
        "--port",
        "8765",
    )
    assert served == [("127.0.0.1", 8765)]
    assert "admin" in out and "care" in out and "password" in out.lower()
    assert (tmp_path / "keys.json").exists()
    from anchorwatch.store import open_store
    from anchorwatch.store.users import authenticate

    password = out.split("account admin (admin), password ")[1].split()[0]
    assert authenticate(open_store(str(tmp_path / "anchorwatch.db")), "admin", password)
