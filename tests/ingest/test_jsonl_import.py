"""Importing anchorwatch JSONL: rejects with line and reason, idempotence,
incremental re-import, out-of-order replies, resuming after a crash.
Every test runs on SQLite and PostgreSQL (``store`` fixture)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from anchorwatch.ingest.base import RawRow
from anchorwatch.ingest.jsonl import JsonlSource
from anchorwatch.ingest.loader import import_source
from anchorwatch.store import Store, schema
from anchorwatch.store.reader import export_records

from ..conftest import FIXTURES

COMMUNITY = FIXTURES / "jsonl" / "community.jsonl"
MALFORMED = FIXTURES / "jsonl" / "malformed.jsonl"


def test_community_lands_completely(store: Store) -> None:
    summary = import_source(store, JsonlSource(COMMUNITY))
    assert summary.rejected == 0 and summary.exit_code == 0
    assert summary.new == {
        "members": 5,
        "conversations": 2,
        "messages": 13,
        "joins": 1,
        "reactions": 2,
        "metrics": 3,
    }
    with store.engine.connect() as conn:
        row = conn.execute(select(schema.messages).where(schema.messages.c.id == "wx-4")).one()
        member = conn.execute(select(schema.members).where(schema.members.c.id == "u001")).one()
        join = conn.execute(select(schema.joins)).one()
    assert row.text == "原來如此，感謝老張耐心解答🙏"
    assert row.reply_to == "wx-3" and row.sent_offset == 480
    assert member.role == "koc" and member.extra == {"city": "杭州"}
    assert join.extra == {"invited_by": "u001"}


def test_malformed_rows_are_reported_and_good_rows_land(store: Store, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.jsonl"
    summary = import_source(store, JsonlSource(MALFORMED), rejects_path=rejects)
    reported = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    by_line = {r["line"]: r["code"] for r in reported}
    assert by_line == {
        3: "missing",
        4: "missing",
        5: "missing",
        6: "missing",
        7: "bad_time",
        8: "unknown_reply_target",
        9: "wrong_type",
        10: "wrong_type",
        11: "bad_json",
        12: "bad_role",
        13: "bad_period",
        14: "bad_count",
        15: "unknown_message",
        16: "unknown_type",
        17: "not_object",
        20: "too_long",
    }
    assert all(r["reason"] and r["raw"] for r in reported)
    assert summary.rejected == 16 and summary.exit_code == 3
    assert store.count("messages") == 2  # m1 and m11 (a reply to m1)
    assert store.count("members") == 2  # u001 explicit, u002 as an author


def test_nothing_importable_exits_1(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "message"}\nnot json\n', encoding="utf-8")
    summary = import_source(store, JsonlSource(bad))
    assert summary.exit_code == 1 and summary.landed == 0


def test_same_file_twice_changes_nothing(store: Store, tmp_path: Path) -> None:
    import_source(store, JsonlSource(COMMUNITY))
    first = tmp_path / "first.jsonl"
    export_records(store, first)
    again = import_source(store, JsonlSource(COMMUNITY))
    assert sum(again.new.values()) == 0
    assert again.unchanged == again.read
    second = tmp_path / "second.jsonl"
    export_records(store, second)
    assert first.read_bytes() == second.read_bytes()


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def test_overlapping_later_export_adds_only_new_messages(store: Store, tmp_path: Path) -> None:
    lines = _lines(COMMUNITY)
    early = tmp_path / "early.jsonl"
    late = tmp_path / "late.jsonl"
    early.write_bytes(b"\n".join(lines[:16]) + b"\n")
    late.write_bytes(b"\n".join(lines[10:]) + b"\n")  # overlaps lines 11-16
    import_source(store, JsonlSource(early))
    before = store.count("messages")
    summary = import_source(store, JsonlSource(late))
    assert store.count("messages") == 13
    assert summary.new["messages"] == 13 - before
    assert summary.unchanged > 0 and summary.rejected == 0


def test_reply_before_its_target_is_held_back_not_rejected(store: Store, tmp_path: Path) -> None:
    rows = [
        {
            "type": "message",
            "id": "r2",
            "conversation": "t",
            "author": "u2",
            "reply_to": "r1",
            "sent_at": "2026-03-01T10:01:00+08:00",
            "text": "同问，我的也是",
        },
        {
            "type": "message",
            "id": "r3",
            "conversation": "t",
            "author": "u3",
            "reply_to": "r2",
            "sent_at": "2026-03-01T10:02:00+08:00",
            "text": "@u2 重启一下试试",
        },
        {
            "type": "message",
            "id": "r1",
            "conversation": "t",
            "author": "u1",
            "sent_at": "2026-03-01T10:00:00+08:00",
            "text": "蓝牙连不上了",
        },
    ]
    path = tmp_path / "unordered.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    summary = import_source(store, JsonlSource(path), batch_rows=1)
    assert summary.rejected == 0
    assert store.count("messages") == 3


def test_reply_to_message_already_in_store(store: Store, tmp_path: Path) -> None:
    import_source(store, JsonlSource(COMMUNITY))
    path = tmp_path / "followup.jsonl"
    path.write_bytes(
        orjson.dumps(
            {
                "type": "message",
                "id": "wx-7",
                "conversation": "wx-s7-1",
                "author": "u002",
                "reply_to": "wx-3",
                "sent_at": "2026-03-10T08:00:00+08:00",
                "text": "按老张说的预约加热，今天多跑了40公里！",
            }
        )
        + b"\n"
    )
    summary = import_source(store, JsonlSource(path))
    assert summary.rejected == 0 and summary.new["messages"] == 1


class Crash(RuntimeError):
    pass


class CrashingSource:
    """A source that dies after ``limit`` rows, like a killed import."""

    format = "jsonl"
    total = None
    position = 0

    def __init__(self, inner: JsonlSource, limit: int) -> None:
        self.inner, self.limit, self.name = inner, limit, inner.name

    def __iter__(self) -> Iterator[RawRow]:
        for i, row in enumerate(self.inner):
            if i == self.limit:
                raise Crash("killed")
            yield row


def test_crash_mid_import_then_rerun_completes(store: Store, tmp_path: Path) -> None:
    with pytest.raises(Crash):
        import_source(store, CrashingSource(JsonlSource(COMMUNITY), limit=14), batch_rows=4)
    partial = store.count("messages")
    assert 0 < partial < 13  # committed batches stay
    summary = import_source(store, JsonlSource(COMMUNITY), batch_rows=4)
    assert summary.rejected == 0
    assert store.counts() == {
        "members": 5,
        "conversations": 2,
        "messages": 13,
        "joins": 1,
        "reactions": 2,
        "metrics": 3,
    }


def test_utf8_bom_and_crlf(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + COMMUNITY.read_bytes().replace(b"\n", b"\r\n"))
    summary = import_source(store, JsonlSource(path))
    assert summary.rejected == 0 and store.count("messages") == 13


def test_progress_reports_bytes(store: Store) -> None:
    seen: list[int] = []
    import_source(store, JsonlSource(COMMUNITY), batch_rows=5, progress=seen.append)
    assert len(seen) >= 3 and seen == sorted(seen)
    assert seen[-1] == COMMUNITY.stat().st_size


def test_rejects_go_to_the_current_directory_when_input_folder_is_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anchorwatch.ingest.loader import default_rejects_path

    monkeypatch.chdir(tmp_path)
    assert default_rejects_path(tmp_path / "x.jsonl") == tmp_path / "x.jsonl.rejects.jsonl"
    monkeypatch.setattr("os.access", lambda path, mode: False)
    assert default_rejects_path(Path("/data/ro/x.jsonl")) == tmp_path / "x.jsonl.rejects.jsonl"
