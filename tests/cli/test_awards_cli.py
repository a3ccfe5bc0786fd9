"""`anchorwatch awards` end to end on a year of demo community (SQLite):
nominees per category, dossiers that point at real episodes and messages,
one award per person, and the care log's awards honoured."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from anchorwatch.care.awards import awards_config
from anchorwatch.cli import app
from anchorwatch.store import open_store, schema

from ..conftest import copy_demo_year


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANCHORWATCH_LOCALE", "en")
    monkeypatch.setenv("COLUMNS", "200")


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture(scope="module")
def year(demo_year_db: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A private copy of the session's demo year (tests/conftest.py)."""
    return copy_demo_year(demo_year_db, tmp_path_factory.mktemp("awards"))


@pytest.fixture(scope="module")
def report(year: str) -> dict[str, Any]:
    runner = CliRunner()
    mp = pytest.MonkeyPatch()
    mp.setenv("ANCHORWATCH_LOCALE", "en")
    try:
        data: dict[str, Any] = json.loads(
            invoke(runner, "awards", "--db", year, "--year", "2026", "--json")
        )
    finally:
        mp.undo()
    return data


def test_awards_prints_nominees_per_category(runner: CliRunner, year: str) -> None:
    text = invoke(runner, "awards", "--db", year, "--year", "2026")
    assert "Rules awards.v1" in text
    for cat in awards_config().categories:
        assert f"{cat.name('en')} 2026" in text
    assert text.count("★ award") == len(awards_config().categories)
    assert text.count("Citation ·") == len(awards_config().categories)
    assert "Not eligible" in text and "staff (official) are not nominated" in text


def test_json_dossiers_point_at_the_store(report: dict[str, Any], year: str) -> None:
    assert report["version"] == "awards.v1" and report["year"] == 2026
    nominations = report["nominations"]
    assert nominations
    episodes, messages = set(), set()
    for n in nominations:
        assert n["type"] == "nomination" and n["version"] == "awards.v1"
        dossier = n["dossier"]
        assert dossier["episodes"] and dossier["quotes"]
        for e in dossier["episodes"]:
            episodes.add(e["id"])
            messages.update(e["messages"])
            assert e["kind"] in ("conflict", "complaint", "newcomer_question", "arrival")
            assert e["started_at"].startswith("2026-")
        messages.update(q["message"] for q in dossier["quotes"])
        messages.update(q["message"] for q in dossier["thanks"])
        assert all(q["text"] for q in dossier["quotes"] + dossier["thanks"])
        assert dossier["thanks_givers"] <= dossier["thanks_received"]
        assert n["rewards"] and n["citation"].startswith(n["name"])
        assert abs(sum(n["parts"].values()) - n["score"]) < 0.1
    store = open_store(year)
    with store.engine.connect() as conn:
        found_e = {
            r
            for (r,) in conn.execute(
                select(schema.episodes.c.id).where(schema.episodes.c.id.in_(episodes))
            )
        }
        found_m = {
            r
            for (r,) in conn.execute(
                select(schema.messages.c.id).where(schema.messages.c.id.in_(messages))
            )
        }
        acts = set(
            conn.execute(
                select(schema.episode_acts.c.episode, schema.episode_acts.c.member).where(
                    schema.episode_acts.c.episode.in_(episodes)
                )
            ).all()
        )
    assert found_e == episodes and found_m == messages
    # Each best episode is one the nominee acted in.
    for n in nominations:
        for e in n["dossier"]["episodes"]:
            assert (e["id"], n["member"]) in acts


def test_a_nominee_is_never_first_in_two_categories(report: dict[str, Any]) -> None:
    nominations = report["nominations"]
    firsts = [n["member"] for n in nominations if n["rank"] == 1]
    assert len(firsts) == len(set(firsts)) == len(awards_config().categories)
    recipients = [n["member"] for n in nominations if n["recipient"]]
    assert sorted(recipients) == sorted(firsts)
    # A recipient is not a nominee anywhere else.
    for member in recipients:
        assert [n["recipient"] for n in nominations if n["member"] == member] == [True]
    # Whoever was moved is named with the award they receive instead.
    for moved in report["elsewhere"]:
        assert moved["held"] != moved["category"] and moved["member"] in recipients
    by_cat: dict[str, list[int]] = {}
    for n in nominations:
        by_cat.setdefault(n["category"], []).append(n["rank"])
    assert all(r == list(range(1, len(r) + 1)) for r in by_cat.values())


def test_staff_and_ineligible_members_are_explained(report: dict[str, Any], year: str) -> None:
    store = open_store(year)
    with store.engine.connect() as conn:
        staff = {
            m
            for (m,) in conn.execute(
                select(schema.members.c.id).where(
                    schema.members.c.role.in_(["official", "operator"])
                )
            )
        }
    nominated = {n["member"] for n in report["nominations"]}
    assert not nominated & staff
    excluded = {e["member"]: e for e in report["excluded"]}
    assert excluded and all(
        e["reasons"] and len(e["details"]) == len(e["reasons"]) for e in excluded.values()
    )
    assert any("role" in excluded[m]["reasons"] for m in staff if m in excluded)


def test_category_top_and_files(runner: CliRunner, year: str, tmp_path: Path) -> None:
    out = tmp_path / "awards.jsonl"
    invoke(
        runner,
        "awards",
        "--db",
        year,
        "--year",
        "2026",
        "--category",
        "peacemaker",
        "--top",
        "1",
        "-o",
        str(out),
    )
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    noms = [x for x in lines if x["type"] == "nomination"]
    assert len(noms) == 1 and noms[0]["category"] == "peacemaker" and noms[0]["rank"] == 1
    assert {x["type"] for x in lines} <= {"nomination", "exclusion"}
    table = tmp_path / "awards.csv"
    invoke(runner, "awards", "--db", year, "-o", str(table))  # the latest year by default
    header = table.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("category,category_name,rank,recipient,member,name,score")


def test_user_errors(runner: CliRunner, year: str, tmp_path: Path) -> None:
    bad = runner.invoke(app, ["awards", "--db", year, "--category", "best_hair"])
    assert bad.exit_code == 2 and "peacemaker" in bad.output
    bad = runner.invoke(app, ["awards", "--db", year, "--year", "1999"])
    assert bad.exit_code == 2 and "1999" in bad.output
    bad = runner.invoke(app, ["awards", "--db", year, "-o", str(tmp_path / "a.pdf")])
    assert bad.exit_code == 2 and ".jsonl" in bad.output
    bad = runner.invoke(app, ["awards", "--db", year, "--top", "0"])
    assert bad.exit_code == 2


def test_award_table_for_the_monthly_report(report: dict[str, Any], year: str) -> None:
    from anchorwatch.engines.awards import award_table

    table = award_table(open_store(year), 2026)
    assert table.columns == ["category", "category_name", "rank", "member", "name", "score"]
    firsts = {n["category"]: n["member"] for n in report["nominations"] if n["rank"] == 1}
    assert dict(table.filter(table["rank"] == 1).select("category", "member").rows()) == firsts


def test_an_award_logged_in_the_care_log_is_not_given_twice(
    runner: CliRunner, year: str, report: dict[str, Any], tmp_path: Path
) -> None:
    from anchorwatch.store.care import log_care_action

    # A copy through SQLite's backup API: the store may still hold pages in its WAL.
    copy = tmp_path / "copy.db"
    src, dst = sqlite3.connect(year.removeprefix("sqlite:///")), sqlite3.connect(copy)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    url = f"sqlite:///{copy}"
    winner = next(
        n for n in report["nominations"] if n["category"] == "peacemaker" and n["recipient"]
    )
    log_care_action(open_store(url), winner["member"], "award", at=datetime(2026, 12, 30))
    again = json.loads(invoke(runner, "awards", "--db", url, "--year", "2026", "--json"))
    assert winner["member"] not in {n["member"] for n in again["nominations"]}
    excluded = {e["member"]: e["reasons"] for e in again["excluded"]}
    assert "awarded" in excluded[winner["member"]]


def test_the_year_to_date_knows_nothing_after_its_day(year: str) -> None:
    from datetime import datetime

    from sqlalchemy import func, select

    from anchorwatch.engines.awards import award_table
    from anchorwatch.store import open_store, schema

    store = open_store(year)
    until = datetime(2026, 10, 1)
    early = award_table(store, 2026, until=until)
    full = award_table(store, 2026)
    assert early.height and full.height
    m = schema.messages
    with store.engine.connect() as conn:
        for member in early["member"].to_list():
            first = conn.execute(select(func.min(m.c.sent_at)).where(m.c.author == member)).scalar()
            assert first is not None and first < until
    assert early.to_dicts() != full.to_dicts()
