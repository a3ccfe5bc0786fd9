"""`anchorwatch score` (DESIGN 3.2), `eval` and the teacher path of `train`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from anchorwatch.cli import app
from anchorwatch.cli.signals import _teacher_rows
from anchorwatch.signals import LABELS
from tests.signals.llm_standin import Standin


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ANCHORWATCH_LOCALE", "zh-CN")
    return CliRunner()


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_score_writes_the_public_format(runner: CliRunner, tmp_path: Path) -> None:
    src = _write(
        tmp_path / "in.jsonl",
        [
            {
                "id": "a",
                "text": "理解你的心情，确实太糟心了。方便说下车型和出问题的时间吗？",
                "context": "车机又黑屏了，气死",
            },
            {"id": 7, "text": "欢迎新朋友～提车多久啦？"},
            {"id": "c", "text": ""},
        ],
    )
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["score", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    assert [r["id"] for r in lines] == ["a", 7, "c"]
    for rec in lines:
        assert set(rec) == {"id", "scores", "labels", "evidence"}
        assert set(rec["scores"]) == set(LABELS)
        assert all(0 <= s <= 1 for s in rec["scores"].values())
        assert set(rec["evidence"]) == set(rec["labels"])
    assert "empathy" in lines[0]["labels"] and "guide_details" in lines[0]["labels"]
    assert "welcome" in lines[1]["labels"]
    start, end = lines[1]["evidence"]["welcome"][0]
    assert 0 <= start < end <= len("欢迎新朋友～提车多久啦？")
    assert lines[2]["labels"] == []


def test_score_reports_bad_lines_and_goes_on(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "谢谢老哥耐心解答🙏"}\nnot json\n{"id": 2}\n', "utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["score", str(src), "-o", str(out)])
    assert result.exit_code == 3
    assert "第 2 行" in result.output and "第 3 行" in result.output
    assert len(out.read_text("utf-8").splitlines()) == 1


def test_score_unknown_backend_is_a_user_error(runner: CliRunner, tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [{"id": 1, "text": "x"}])
    result = runner.invoke(app, ["score", str(src), "-o", str(tmp_path / "o"), "--backend", "bert"])
    assert result.exit_code == 2 and "未知的检测后端" in result.output


def test_llm_backend_without_settings_says_what_is_missing(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANCHORWATCH_LLM_URL", raising=False)
    src = _write(tmp_path / "in.jsonl", [{"id": 1, "text": "x"}])
    result = runner.invoke(
        app, ["score", str(src), "-o", str(tmp_path / "o"), "--backend", "llm.v1"]
    )
    assert result.exit_code == 2 and "ANCHORWATCH_LLM_URL" in result.output


def test_eval_reports_per_label_figures(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    result = runner.invoke(
        app, ["eval", "--backend", "lexical.v1", "--limit", "300", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text("utf-8"))
    assert {"own-dev:zh", "own-dev:en", "COLD:dev", "CPED:valid"} <= set(report["sets"])
    row = report["sets"]["own-dev:zh"]["labels"][0]
    assert {"precision", "recall", "f1", "tp", "fp", "fn", "tn"} <= set(row)


def test_teacher_labels_unlabelled_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _write(
        tmp_path / "unlabelled.jsonl",
        [
            {"text": "每天回答同样的问题，真的心累", "context": None},
            {"text": "建议在APP里提工单", "context": "售后一直推"},
        ],
    )
    with Standin() as server:
        monkeypatch.setenv("ANCHORWATCH_LLM_URL", server.base_url)
        monkeypatch.setenv("ANCHORWATCH_LLM_MODEL", "standin-1")
        rows = _teacher_rows("llm", src)
    assert len(rows) == 2
    assert rows.y[0, LABELS.index("fatigue")] == 1
    assert rows.y[1, LABELS.index("guide_channel")] == 1
    assert set(np.unique(rows.y)) <= {-1, 0, 1}
