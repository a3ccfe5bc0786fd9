"""`members`, `member`, `watchlist`, `backtest` and `export --what members`
end to end: on a year of demo community (SQLite), and on the hand-made
community on both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from anchorwatch.cli import app

from ..conftest import FIXTURES, copy_demo_year


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
    return copy_demo_year(demo_year_db, tmp_path_factory.mktemp("year"))


def test_members_ranked_filtered_and_saved(runner: CliRunner, year: str, tmp_path: Path) -> None:
    out = tmp_path / "members.xlsx"
    text = invoke(runner, "members", "--db", year, "--at", "2026-06", "--top", "5", "-o", str(out))
    assert "Members in 2026-06" in text
    sheet = load_workbook(out).active
    rows = list(sheet.values)
    header, body = rows[0], rows[1:]
    assert header[:6] == ("member", "name", "period", "value_index", "content_index", "quadrant")
    values = [r[3] for r in body]
    assert values == sorted(values, reverse=True) and all(r[2] == "2026-06" for r in body)
    csv = tmp_path / "anchors.csv"
    invoke(
        runner,
        "members",
        "--db",
        year,
        "--at",
        "2026-06",
        "--quadrant",
        "invisible_anchor",
        "-o",
        str(csv),
    )
    lines = csv.read_text(encoding="utf-8").splitlines()[1:]
    assert lines and all(",invisible_anchor," in line for line in lines)
    bad = runner.invoke(app, ["members", "--db", year, "--period", "decade"])
    assert bad.exit_code == 2 and "decade" in bad.output
    bad = runner.invoke(app, ["members", "--db", year, "-o", str(tmp_path / "x.pdf")])
    assert bad.exit_code == 2 and ".xlsx" in bad.output


def _watch(runner: CliRunner, year: str) -> tuple[str, list[dict]]:
    for day in ("2026-06-01", "2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01"):
        result = runner.invoke(app, ["watchlist", "--db", year, "--at", day, "--json"])
        assert result.exit_code == 0, result.output
        found = json.loads(result.output)
        if found:
            return day, found
    raise AssertionError("no member was ever on the watchlist")


def test_watchlist_lists_drivers_with_evidence(
    runner: CliRunner, year: str, tmp_path: Path
) -> None:
    day, found = _watch(runner, year)
    risks = [r["burnout_risk"] for r in found]
    assert risks == sorted(risks, reverse=True) and min(risks) >= 40
    for r in found:
        assert r["care_action"] and r["drivers"]
        assert {"dimension", "name", "value", "baseline", "score", "evidence"} <= set(
            r["drivers"][0]
        )
    assert any(d["evidence"] for r in found for d in r["drivers"])
    out = tmp_path / "watch.csv"
    invoke(runner, "watchlist", "--db", year, "--at", day, "-o", str(out))
    assert out.read_text(encoding="utf-8").startswith("member,name,burnout_risk")
    bad = runner.invoke(app, ["watchlist", "--db", year, "--at", "June"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_member_card_and_json(runner: CliRunner, year: str) -> None:
    _day, found = _watch(runner, year)
    member = found[0]["member"]
    text = invoke(runner, "member", member, "--db", year)
    assert "Emotional-labour ledger" in text and "Emotional value index" in text
    record = json.loads(invoke(runner, "member", member, "--db", year, "--json"))
    assert record["type"] == "member" and record["member"] == member
    assert set(record) >= {"acts", "episodes_served", "value_index", "burnout_risk", "drivers"}
    missing = runner.invoke(app, ["member", "nobody-at-all", "--db", year])
    assert missing.exit_code == 2 and "nobody-at-all" in missing.output


def test_backtest_reports_both_models(runner: CliRunner, year: str, tmp_path: Path) -> None:
    out = tmp_path / "bt.json"
    text = invoke(runner, "backtest", "--db", year, "-o", str(out))
    assert "ROC-AUC" in text and "Calibration" in text
    report = json.loads(out.read_text(encoding="utf-8"))
    for model in ("burnout_risk", "activity_decline"):
        assert {"roc_auc", "precision_at_10", "precision_at_50", "median_lead_days"} <= set(
            report[model]
        )
        assert sum(b["points"] for b in report[model]["calibration"]) == report["points"]


def test_export_members_follows_design(runner: CliRunner, year: str, tmp_path: Path) -> None:
    out = tmp_path / "members.jsonl"
    invoke(runner, "export", "--db", year, "--what", "members", "-o", str(out))
    rows = [json.loads(line) for line in out.open(encoding="utf-8")]
    assert rows and all(r["type"] == "member" for r in rows)
    keys = {"member", "period", "acts", "episodes_served", "thanks_received"}
    keys |= {"attacks_received", "value_index", "burnout_risk", "level", "drivers"}
    assert all(keys <= set(r) for r in rows)
    scored = [r for r in rows if r["drivers"]]
    assert scored and all(
        {"dimension", "name", "value", "baseline", "evidence"} <= set(d)
        for r in scored
        for d in r["drivers"]
    )
    assert all(r["level"] in ("low", "medium", "high", None) for r in rows)


def test_members_on_both_stores(runner: CliRunner, store_url: str, tmp_path: Path) -> None:
    invoke(runner, "import", str(FIXTURES / "jsonl" / "episodes.jsonl"), "--db", store_url, "-q")
    invoke(runner, "analyze", "--db", store_url, "-q")
    text = invoke(runner, "members", "--db", store_url)
    assert "u_he" in text or "u_zhang" in text
    out = tmp_path / "m.jsonl"
    invoke(runner, "export", "--db", store_url, "--what", "members", "-o", str(out))
    rows = {r["member"]: r for r in map(json.loads, out.open(encoding="utf-8"))}
    assert rows["u_he"]["acts"].get("deescalate_redirect", 0) >= 1
    assert rows["u_ann"]["complaints_converted"] == 1
    # One day of history: nobody has an own baseline yet.
    assert all(r["burnout_risk"] is None for r in rows.values())


def test_brand_staff_are_left_out_unless_asked(
    runner: CliRunner, year: str, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from anchorwatch.store import open_store, schema

    m = schema.members
    with open_store(year).engine.connect() as conn:
        staff = set(conn.execute(select(m.c.id).where(m.c.role == "official")).scalars())
    assert staff
    out = tmp_path / "all.csv"
    invoke(runner, "members", "--db", year, "--at", "2026-06", "-o", str(out))
    listed = {line.split(",")[0] for line in out.read_text("utf-8").splitlines()[1:]}
    assert listed and not listed & staff
    invoke(runner, "members", "--db", year, "--at", "2026-06", "--include-staff", "-o", str(out))
    with_staff = {line.split(",")[0] for line in out.read_text("utf-8").splitlines()[1:]}
    assert with_staff & staff and listed < with_staff
