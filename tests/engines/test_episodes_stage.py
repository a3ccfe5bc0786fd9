"""The episodes stage over a real store: incremental, resumable, exported.

Signals are written directly (labels chosen by the test) so that these tests
check the engine alone; ``tests/cli`` runs the whole `analyze` with the real
detector.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from anchorwatch.engines.episodes import run_episodes
from anchorwatch.ingest.loader import import_source
from anchorwatch.ingest.registry import open_source
from anchorwatch.signals.labels import LABELS
from anchorwatch.store import Store, schema, writer
from anchorwatch.store.reader import export_episodes, export_records, iter_episodes

GROUP = "wechat:车主群"


class HashEmbedder:
    """Deterministic stand-in for the encoder: same text, same vector."""

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str | None]) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for k, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b((text or "").encode()).digest()[:4], "big")
            out[k] = np.random.default_rng(seed).normal(size=384)
        return out


def _at(minute: int, day: int = 2) -> str:
    return f"2026-03-{day:02d}T{10 + minute // 60:02d}:{minute % 60:02d}:00+08:00"


# (id, conversation, author, minute, text, labels[, reply_to])
DAY1: list[tuple[Any, ...]] = [
    ("g1", "grp", "new1", 0, "新手求助：冬天续航掉得厉害正常吗？", ["newcomer_question"]),
    ("g2", "grp", "a", 1, "高速领航比人开得稳多了", []),
    ("g3", "grp", "b", 2, "@阿强 你懂什么，领航就是噱头", ["heated"]),
    ("g4", "grp", "mentor", 3, "冬天续航打七折正常，开座椅加热更省电", ["newcomer_answer"]),
    ("g5", "grp", "a", 4, "@大刘 你脑子有问题", ["heated", "personal_attack"]),
    ("g6", "grp", "b", 5, "@阿强 杠精本精，赶紧退群", ["heated", "personal_attack"]),
    ("g7", "grp", "peace", 6, "打住打住，咱们就事论事聊领航", ["deescalate_redirect"]),
    ("g8", "grp", "new1", 7, "谢谢@老张，学到了", ["gratitude"]),
    ("f1", "t1", "c", 10, "售后太差了，修个天窗等了11天，气死我了", ["complaint"]),
    ("f2", "t1", "mentor", 12, "换我也会很生气，辛苦你了", ["empathy"], "f1"),
    ("f3", "t1", "c", 30, "好，刚在APP提了工单，单号8899，等他们联系", ["gratitude"], "f2"),
]
DAY2: list[tuple[Any, ...]] = [
    ("h1", "grp", "new2", 0, "请问首保去哪里做？", ["newcomer_question"]),
    ("h2", "grp", "mentor", 2, "APP里预约最近的服务中心就行", ["newcomer_answer"]),
    ("f4", "t1", "c", 5, "服务中心刚联系我了，周五去修", []),
]


def _write(path: Path, rows: list[tuple[Any, ...]], day: int, header: bool) -> None:
    lines: list[dict[str, Any]] = []
    if header:
        lines += [
            {"type": "member", "id": "new1", "name": "小新", "joined_at": _at(0, 1)},
            {"type": "member", "id": "new2", "name": "小白", "joined_at": _at(0, 1)},
            {
                "type": "member",
                "id": "mentor",
                "name": "老张",
                "joined_at": "2024-01-01T00:00:00+08:00",
            },
            {"type": "member", "id": "a", "name": "阿强", "joined_at": "2024-01-01T00:00:00+08:00"},
            {"type": "member", "id": "b", "name": "大刘", "joined_at": "2024-01-01T00:00:00+08:00"},
            {"type": "member", "id": "c", "name": "老陈", "joined_at": "2024-01-01T00:00:00+08:00"},
            {
                "type": "member",
                "id": "peace",
                "name": "和事佬",
                "joined_at": "2024-01-01T00:00:00+08:00",
            },
            {"type": "conversation", "id": "grp", "channel": GROUP, "stream": True},
            {"type": "conversation", "id": "t1", "channel": "app:投诉建议", "title": "售后"},
            {"type": "join", "member": "new1", "channel": GROUP, "at": _at(0, 1)},
        ]
    for row in rows:
        msg = {
            "type": "message",
            "id": row[0],
            "conversation": row[1],
            "author": row[2],
            "sent_at": _at(row[3], day),
            "text": row[4],
        }
        if len(row) > 6:
            msg["reply_to"] = row[6]
        lines.append(msg)
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")


def _land(store: Store, tmp_path: Path, rows: list[tuple[Any, ...]], day: int) -> None:
    path = tmp_path / f"day{day}.jsonl"
    _write(path, rows, day, header=day == 2)
    summary = import_source(store, open_source(path), rejects_path=tmp_path / "rejects.jsonl")
    assert summary.exit_code == 0
    signal_rows = []
    for row in rows:
        labels = list(row[5])
        signal_rows.append(
            {
                "message": row[0],
                "backend": "test",
                "stage": None,
                **{f"p_{n}": (0.9 if n in labels else 0.01) for n in LABELS},
                "labels": labels,
                "evidence": {n: [[0, 2]] for n in labels},
            }
        )
    with store.engine.begin() as conn:
        writer.insert_ignore(conn, schema.message_signals, signal_rows)


def _snapshot(store: Store) -> list[dict[str, Any]]:
    return sorted(iter_episodes(store), key=lambda e: e["id"])


@pytest.fixture
def landed(store: Store, tmp_path: Path) -> Store:
    _land(store, tmp_path, DAY1, 2)
    return store


def test_episodes_of_every_kind_with_threads(landed: Store, tmp_path: Path) -> None:
    emb = HashEmbedder()
    run = run_episodes(landed, embedder=emb)
    assert run.messages == len(DAY1)
    eps = {(e["kind"], e["subject"]): e for e in iter_episodes(landed)}
    assert set(eps) == {
        ("arrival", "new1"),
        ("newcomer_question", "new1"),
        ("conflict", "a"),
        ("complaint", "c"),
    }
    q = eps[("newcomer_question", "new1")]
    assert q["messages"] == ["g1", "g4", "g8"] and q["outcome"]["thanked"] is True
    assert q["acts"][0]["member"] == "mentor" and q["acts"][0]["evidence"] == [[0, 2]]
    assert q["question_cluster"] == "q00000" and q["times_asked_before"] == 0
    conflict = eps[("conflict", "a")]
    assert conflict["outcome"]["attacks_stopped"] is True
    assert [a["member"] for a in conflict["acts"]] == ["peace"]
    complaint = eps[("complaint", "c")]
    assert complaint["outcome"]["moved_to_channel"] is True
    assert complaint["conversation"] == "t1"
    # the records export carries the threads of the chat stream only
    out = tmp_path / "records.jsonl"
    export_records(landed, out)
    msgs = {r["id"]: r for r in map(json.loads, out.open()) if r["type"] == "message"}
    assert msgs["g1"]["thread"] == msgs["g4"]["thread"] == msgs["g8"]["thread"] == "grp#g1"
    assert msgs["g3"]["thread"] == msgs["g5"]["thread"] != msgs["g1"]["thread"]
    assert "thread" not in msgs["f1"]
    n = export_episodes(landed, tmp_path / "episodes.jsonl")
    first = json.loads((tmp_path / "episodes.jsonl").open().readline())
    assert n == 4 and first["type"] == "episode"
    assert emb.calls == 1


def test_rerun_on_unchanged_data_does_nothing(landed: Store) -> None:
    emb = HashEmbedder()
    run_episodes(landed, embedder=emb)
    before = _snapshot(landed)
    again = run_episodes(landed, embedder=emb)
    assert again.messages == 0 and again.episodes_written == 0
    assert again.returned_updated == 0 and again.clusters_updated == 0
    assert _snapshot(landed) == before and emb.calls == 1


def test_new_messages_update_only_the_episodes_they_touch(landed: Store, tmp_path: Path) -> None:
    emb = HashEmbedder()
    run_episodes(landed, embedder=emb)
    before = {e["id"]: e for e in _snapshot(landed)}
    _land(landed, tmp_path, DAY2, 3)
    run = run_episodes(landed, embedder=emb)
    assert run.messages == len(DAY2)
    after = {e["id"]: e for e in _snapshot(landed)}
    conflict = next(k for k, e in before.items() if e["kind"] == "conflict")
    assert after[conflict] == before[conflict]
    complaint = next(k for k, e in after.items() if e["kind"] == "complaint")
    assert "f4" in after[complaint]["messages"]
    new_q = [e for e in after.values() if e["subject"] == "new2"]
    assert sorted(e["kind"] for e in new_q) == ["arrival", "newcomer_question"]
    assert emb.calls == 2  # only the new question was encoded


def test_a_killed_run_resumes_without_loss_or_duplicates(store: Store, tmp_path: Path) -> None:
    _land(store, tmp_path, DAY1 + [(r[0], *r[1:]) for r in DAY2], 2)

    class Killed(RuntimeError):
        pass

    def die(done: int, total: int) -> None:
        raise Killed

    with pytest.raises(Killed):
        run_episodes(store, embedder=HashEmbedder(), progress=die)
    with store.engine.connect() as conn:
        half = len(conn.execute(select(schema.message_threads.c.message)).all())
    assert 0 < half < len(DAY1) + len(DAY2)
    resumed = run_episodes(store, embedder=HashEmbedder())
    assert resumed.messages == len(DAY1) + len(DAY2) - half
    got = _snapshot(store)
    # the same as one uninterrupted run over the same data
    with store.engine.begin() as conn:
        for table in (schema.episode_acts, schema.episodes, schema.message_threads):
            conn.execute(table.delete())
    run_episodes(store, embedder=HashEmbedder())
    assert _snapshot(store) == got


def test_changed_settings_recompute_everything(landed: Store, monkeypatch) -> None:
    from dataclasses import replace

    from anchorwatch.episodes.config import episodes_config

    run_episodes(landed, embedder=HashEmbedder())
    cfg = replace(episodes_config(), version="episodes.test")
    run = run_episodes(landed, cfg, embedder=HashEmbedder())
    assert run.recomputed_all and run.messages == len(DAY1)


def test_ledger_from_the_store(landed: Store) -> None:
    from anchorwatch.members.ledger import ledger
    from anchorwatch.store.analysis import (
        ledger_acts,
        ledger_aimed,
        ledger_messages,
        ledger_metrics,
    )

    run_episodes(landed, embedder=HashEmbedder())
    table = ledger(
        ledger_acts(landed), ledger_aimed(landed), ledger_messages(landed), ledger_metrics(landed)
    )
    rows = {r["member"]: r for r in table.iter_rows(named=True)}
    mentor, peace = rows["mentor"], rows["peace"]
    assert mentor["period"] == "2026-03"
    assert mentor["acts_newcomer_answer"] == 1 and mentor["acts_empathy"] == 1
    assert mentor["complaints_converted"] == 1 and mentor["episodes_served"] == 2
    assert mentor["thanks_received"] == 2  # an @mention and a quoted reply
    assert peace["conflicts_calmed"] == 1 and peace["acts_deescalate_redirect"] == 1
    assert rows["a"]["attacks_received"] == 1 and rows["b"]["attacks_received"] == 1
    assert rows["new1"]["messages"] == 2 and rows["new1"]["episodes_served"] == 0
