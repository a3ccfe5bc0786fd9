"""The CLI contracts of DESIGN 3.3, driven through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from anchorwatch.cli import app

from ..conftest import FIXTURES

COMMUNITY = FIXTURES / "jsonl" / "community.jsonl"
MALFORMED = FIXTURES / "jsonl" / "malformed.jsonl"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ANCHORWATCH_LOCALE", "zh-CN")
    monkeypatch.setenv("COLUMNS", "160")
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_import_clean_file_exits_0(runner: CliRunner, store_url: str) -> None:
    code, out = invoke(runner, "import", str(COMMUNITY), "--db", store_url, "-q")
    assert code == 0, out
    assert "13" in out  # new messages


def test_import_with_rejects_exits_3_and_lists_lines(
    runner: CliRunner, store_url: str, tmp_path: Path
) -> None:
    src = tmp_path / "malformed.jsonl"
    src.write_bytes(MALFORMED.read_bytes())
    code, out = invoke(runner, "import", str(src), "--db", store_url, "-q")
    assert code == 3, out
    assert "回复的消息「m404」不存在" in out
    rejects = tmp_path / "malformed.jsonl.rejects.jsonl"
    lines = [json.loads(x) for x in rejects.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 16 and {"line", "code", "reason", "raw"} <= set(lines[0])


def test_import_nothing_importable_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    code, _ = invoke(runner, "import", str(bad), "--db", str(tmp_path / "x.db"), "-q")
    assert code == 1


def test_custom_rejects_path(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "out" / "bad-rows.jsonl"
    code, out = invoke(
        runner,
        "import",
        str(MALFORMED),
        "--db",
        str(tmp_path / "x.db"),
        "--rejects",
        str(target),
        "-q",
    )
    assert code == 3 and target.exists()
    assert str(target) in out.replace("\n", "")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["import", "nope.jsonl"], "找不到文件"),
        (["import", "{community}", "--format", "pdf"], "参数有误"),
        (["import", "{community}", "--timezone", "Mars/Olympus"], "未知时区"),
        (["import", "{csv}"], "列映射文件"),
        (["import", "{community}", "--db", "nosuchdriver://x"], "无法打开数据库"),
        (["export", "--what", "everything"], "未知的导出内容"),
    ],
)
def test_user_errors_are_one_clear_line(
    runner: CliRunner, tmp_path: Path, args: list[str], needle: str
) -> None:
    csv = tmp_path / "plain.csv"
    csv.write_text("a,b\n1,2\n", encoding="utf-8")
    filled = [a.format(community=COMMUNITY, csv=csv) for a in args]
    if "--db" not in filled:
        filled += ["--db", str(tmp_path / "x.db")]
    code, out = invoke(runner, *filled)
    assert code == 2
    assert needle in out
    assert "Traceback" not in out


def test_init_stats_export_reimport(runner: CliRunner, store_url: str, tmp_path: Path) -> None:
    from anchorwatch.store.migrate import head_revision

    code, out = invoke(runner, "init", "--db", store_url)
    assert code == 0 and head_revision() in out
    code, out = invoke(runner, "stats", "--db", store_url)
    assert code == 0 and "还没有数据" in out
    invoke(runner, "import", str(COMMUNITY), "--db", store_url, "-q")
    code, out = invoke(runner, "stats", "--db", store_url)
    assert code == 0
    for needle in ("wechat:澜舟S7车主1群", "app:投诉建议", "2026-02", "2026-03", "koc"):
        assert needle in out
    first = tmp_path / "first.jsonl"
    code, _ = invoke(runner, "export", "--db", store_url, "-o", str(first))
    assert code == 0
    other = tmp_path / "other.db"
    code, _ = invoke(runner, "import", str(first), "--db", str(other), "-q")
    assert code == 0
    second = tmp_path / "second.jsonl"
    invoke(runner, "export", "--db", str(other), "-o", str(second))
    assert first.read_bytes() == second.read_bytes()


def test_db_from_environment(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "env.db"
    monkeypatch.setenv("ANCHORWATCH_DB", str(db))
    code, _ = invoke(runner, "import", str(COMMUNITY), "-q")
    assert code == 0 and db.exists()


def test_default_db_in_current_directory(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ANCHORWATCH_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _ = invoke(runner, "import", str(COMMUNITY), "-q")
    assert code == 0 and (tmp_path / "anchorwatch.db").exists()


def test_english_locale(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANCHORWATCH_LOCALE", "en")
    code, out = invoke(runner, "import", "nope.jsonl", "--db", str(tmp_path / "x.db"))
    assert code == 2 and "File not found" in out
