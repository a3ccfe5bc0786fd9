"""`anchorwatch analyze` end to end with the shipped detector, on a hand-made
community in Chinese and English: a WeChat group where a welcome, a newcomer's
question and a quarrel interleave, a forum complaint and an English forum
question.  Then the episodes export, the FAQ and the buffer effect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from anchorwatch.cli import app

from ..conftest import FIXTURES

COMMUNITY = FIXTURES / "jsonl" / "episodes.jsonl"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ANCHORWATCH_LOCALE", "en")
    monkeypatch.setenv("COLUMNS", "160")
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture
def analysed(runner: CliRunner, store_url: str) -> str:
    invoke(runner, "import", str(COMMUNITY), "--db", store_url, "-q")
    out = invoke(runner, "analyze", "--db", store_url, "-q")
    assert "episodes written" in out
    return store_url


def _episodes(runner: CliRunner, url: str, tmp_path: Path) -> dict[tuple[str, str], dict]:
    path = tmp_path / "episodes.jsonl"
    invoke(runner, "export", "--db", url, "--what", "episodes", "-o", str(path))
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    assert all(r["type"] == "episode" for r in rows)
    return {(r["kind"], r["subject"]): r for r in rows}


def test_analyze_finds_every_kind(runner: CliRunner, analysed: str, tmp_path: Path) -> None:
    eps = _episodes(runner, analysed, tmp_path)
    assert {
        ("arrival", "u_new"),
        ("arrival", "u_kai"),
        ("newcomer_question", "u_new"),
        ("newcomer_question", "u_bob"),
        ("conflict", "u_wang"),
        ("complaint", "u_li"),
    } <= set(eps)
    welcome = eps[("arrival", "u_new")]
    assert welcome["outcome"]["welcomed"] and welcome["outcome"]["first_post"]
    assert ("u_zhang", "welcome") in {(a["member"], a["act"]) for a in welcome["acts"]}
    silent = eps[("arrival", "u_kai")]
    assert silent["messages"] == [] and not silent["outcome"]["welcomed"]
    question = eps[("newcomer_question", "u_new")]
    assert question["messages"] == ["s03", "s06", "s09"]  # out of the interleaved group
    assert question["outcome"]["thanked"] and question["outcome"]["first_response_s"] == 180
    assert question["question_cluster"] and question["times_asked_before"] == 0
    english = eps[("newcomer_question", "u_bob")]
    assert [(a["member"], a["act"]) for a in english["acts"]] == [("u_tom", "newcomer_answer")]
    quarrel = eps[("conflict", "u_wang")]
    assert {"s05", "s07", "s08", "s10"} <= set(quarrel["messages"])
    assert not {"s03", "s06", "s09"} & set(quarrel["messages"])
    assert quarrel["outcome"]["intervened"] and quarrel["outcome"]["attacks_stopped"]
    assert quarrel["outcome"]["agreement"]
    assert ("u_he", "deescalate_redirect") in {(a["member"], a["act"]) for a in quarrel["acts"]}
    complaint = eps[("complaint", "u_li")]
    out = complaint["outcome"]
    assert out["details_given"] and out["moved_to_channel"] and out["spread"] == 0
    assert out["sentiment_first"] < 0 < out["sentiment_last"]
    assert ("u_ann", "empathy") in {(a["member"], a["act"]) for a in complaint["acts"]}
    for ep in eps.values():
        for act in ep["acts"]:
            assert act["evidence"] and 0 <= act["score"] <= 1 and act["served"] == ep["subject"]


def test_records_export_carries_stream_threads(
    runner: CliRunner, analysed: str, tmp_path: Path
) -> None:
    path = tmp_path / "records.jsonl"
    invoke(runner, "export", "--db", analysed, "-o", str(path))
    msgs = {
        r["id"]: r for r in map(json.loads, path.open(encoding="utf-8")) if r["type"] == "message"
    }
    assert msgs["s03"]["thread"] == msgs["s06"]["thread"] == msgs["s09"]["thread"]
    assert msgs["s05"]["thread"] == msgs["s08"]["thread"] != msgs["s03"]["thread"]
    assert "thread" not in msgs["c01"]  # forum threads are their conversation


def test_rerun_does_nothing_and_reports_work(runner: CliRunner, analysed: str) -> None:
    out = invoke(runner, "analyze", "--db", analysed, "-q")
    assert "messages threaded now" in out and "episodes written" in out
    lines = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in out.splitlines()
        if line.count("│") >= 3
    }
    assert lines["messages threaded now"] == "0" and lines["episodes written"] == "0"


def test_questions_and_buffer_reports(runner: CliRunner, analysed: str, tmp_path: Path) -> None:
    out = invoke(runner, "questions", "--db", analysed)
    assert "repeated" in out or "No repeated" in out
    csv = tmp_path / "buffer.csv"
    out = invoke(runner, "buffer", "--db", analysed, "--by", "channel,month", "-o", str(csv))
    assert "Buffer effect" in out and csv.read_text(encoding="utf-8").startswith("channel,month")
    bad = runner.invoke(app, ["buffer", "--db", analysed, "--by", "weekday"])
    assert bad.exit_code != 0 and "weekday" in bad.output


def test_quickstart_runs_the_main_job(runner: CliRunner, tmp_path: Path) -> None:
    out = invoke(runner, "quickstart", "--dir", str(tmp_path), "--messages", "1500")
    assert (tmp_path / "anchorwatch.db").exists()
    assert "episodes written" in out and "messages scored now" in out
