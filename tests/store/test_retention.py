"""The retention policy, on SQLite and PostgreSQL: old raw text goes (from the
database files too), counts, scores and outcomes stay, and the analysis never
needs the removed text again."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select, update

from anchorwatch.engines.episodes import run_episodes
from anchorwatch.ingest.loader import import_source
from anchorwatch.ingest.registry import open_source
from anchorwatch.signals.registry import get_detector
from anchorwatch.store import Store, open_store, schema
from anchorwatch.store.analysis import question_frame
from anchorwatch.store.erasure import reanalyse
from anchorwatch.store.reader import export_members, export_records, iter_episodes
from anchorwatch.store.retention import (
    RetentionError,
    RetentionSettings,
    apply_retention,
    removed_text,
    retention_settings,
)

from ..conftest import FIXTURES
from .raw import assert_absent, database_bytes

SOURCE = FIXTURES / "jsonl" / "privacy.jsonl"
#: Six months before this, messages of 2026-03-01 and 2026-03-02 are old;
#: those of 2026-03-05 are not.
NOW = datetime(2026, 9, 3, 12, 0)
OLD_TEXTS = ["修个天窗等了11天", "hold the volume knob for 10 seconds", "没文化就别在这丢人"]
LATER = [
    {
        "type": "message",
        "id": "c07",
        "conversation": "f1",
        "author": "u_li",
        "reply_to": "c06",
        "sent_at": "2026-09-01T10:00:00+08:00",
        "text": "半年过去了，天窗修好了，谢谢大家",
    },
    {
        "type": "message",
        "id": "s20",
        "conversation": "grp",
        "author": "u_kai",
        "sent_at": "2026-09-01T11:00:00+08:00",
        "text": "新手求助：冬天续航掉得厉害正常吗？",
    },
    {
        "type": "message",
        "id": "s21",
        "conversation": "grp",
        "author": "u_zhang",
        "sent_at": "2026-09-01T11:02:00+08:00",
        "text": "正常的，低温电池活性下降，出门前预热一下会好很多",
        "reply_to": "s20",
    },
]


@pytest.fixture(scope="module")
def detector() -> Any:
    return get_detector()


@pytest.fixture
def analysed(store: Store, detector: Any) -> Store:
    assert import_source(store, open_source(SOURCE), rejects_path=None).exit_code == 0
    reanalyse(store, detector)
    return store


def _members(store: Store, tmp: Path) -> list[dict[str, Any]]:
    out = tmp / "members.jsonl"
    export_members(store, out)
    return [orjson.loads(line) for line in out.read_bytes().splitlines()]


def _episodes(store: Store) -> dict[str, dict[str, Any]]:
    return {ep["id"]: ep for ep in iter_episodes(store)}


def test_retention_drops_old_text_and_keeps_what_was_derived(
    analysed: Store, tmp_path: Path, detector: Any
) -> None:
    store = analysed
    members, episodes = _members(store, tmp_path), _episodes(store)
    with store.engine.connect() as conn:
        lengths = dict(conn.execute(select(schema.messages.c.id, schema.messages.c.text)).all())

    report = apply_retention(store, 6, now=NOW)

    assert report.cutoff == datetime(2026, 3, 3, 12, 0)
    assert (report.removed, report.already, report.waiting) == (20, 0, 0)
    m = schema.messages
    with store.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(m))}
    old = {mid for mid, r in rows.items() if r.sent_at < report.cutoff}
    assert len(old) == 20
    for mid, r in rows.items():
        if mid in old:
            assert r.text == "" and r.text_removed_at is not None
            assert r.text_chars == len(lengths[mid]) and r.text_facts["fingerprint"]
        else:
            assert r.text == lengths[mid] and r.text_removed_at is None
    assert rows["s09"].text_facts["mentions"] == ["老张"]
    # Counts, scores and outcomes are what they were, drivers and value included.
    assert _members(store, tmp_path) == members
    assert _episodes(store) == episodes
    assert_absent(database_bytes(store), OLD_TEXTS, f"the {store.dialect} database files")
    # Where a person would read the text, they read that it was removed.
    questions = question_frame(store)
    assert removed_text() in questions["text"].to_list()

    # A second run finds nothing new; analyze has nothing to redo.
    again = apply_retention(store, 6, now=NOW)
    assert (again.removed, again.already) == (0, 20)
    reanalyse(store, detector)
    assert _episodes(store) == episodes and _members(store, tmp_path) == members

    # New messages, one in a conversation whose text is gone: analyze runs,
    # and what rests on removed text stays as it was.
    later = tmp_path / "later.jsonl"
    later.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in LATER))
    assert import_source(store, open_source(later), rejects_path=None).exit_code == 0
    reanalyse(store, detector)
    now = _episodes(store)
    complaint = next(e for e in episodes.values() if e["kind"] == "complaint")
    assert now[complaint["id"]] == complaint
    assert set(episodes) <= set(now)
    th, sig = schema.message_threads, schema.message_signals
    with store.engine.connect() as conn:
        new_ids = [r["id"] for r in LATER]
        assert len(conn.execute(select(th.c.message).where(th.c.message.in_(new_ids))).all()) == 3
        assert len(conn.execute(select(sig.c.message).where(sig.c.message.in_(new_ids))).all()) == 3

    # New episode settings recompute what can be; episodes resting on removed
    # text are kept.
    st = schema.analysis_state
    with store.engine.begin() as conn:
        conn.execute(update(st).where(st.c.key == "episodes").values(value={"version": "old"}))
    rerun = run_episodes(store, embedder=detector.encoder.embedder)
    assert rerun.recomputed_all
    assert _episodes(store)[complaint["id"]] == complaint


def test_removed_text_travels_through_export_and_import(analysed: Store, tmp_path: Path) -> None:
    apply_retention(analysed, 6, now=NOW)
    out = tmp_path / "records.jsonl"
    export_records(analysed, out)
    first = orjson.loads(out.read_bytes().splitlines()[17])
    assert first["type"] == "message" and first["text"] == "" and first["text_removed_at"]
    fresh = open_store(f"sqlite:///{tmp_path / 'fresh.db'}")
    summary = import_source(fresh, open_source(out), rejects_path=None)
    assert (summary.exit_code, summary.rejected) == (0, 0)
    again = tmp_path / "again.jsonl"
    export_records(fresh, again)
    assert again.read_bytes() == out.read_bytes()
    fresh.close()


def test_unanalysed_text_waits_and_the_policy_is_off_by_default(
    store: Store, tmp_path: Path
) -> None:
    assert import_source(store, open_source(SOURCE), rejects_path=None).exit_code == 0
    assert retention_settings() == RetentionSettings(months=None, keep_question_vectors=True)
    with pytest.raises(RetentionError) as err:
        apply_retention(store)
    assert err.value.code == "error.retention_off"
    with pytest.raises(RetentionError):
        apply_retention(store, 0)
    dry = apply_retention(store, 6, now=NOW, dry_run=True)
    assert (dry.removed, dry.waiting) == (0, 20)
    report = apply_retention(store, 6, now=NOW)
    assert (report.removed, report.waiting) == (0, 20)
    with store.engine.connect() as conn:
        assert (
            conn.execute(select(schema.messages.c.id).where(schema.messages.c.text == "")).first()
            is None
        )


def test_question_vectors_can_go_with_the_text(analysed: Store, detector: Any) -> None:
    qv = schema.question_vectors
    with analysed.engine.connect() as conn:
        before = conn.execute(select(qv.c.message)).scalars().all()
    assert before
    report = apply_retention(
        analysed, 6, now=NOW, settings=RetentionSettings(keep_question_vectors=False)
    )
    assert report.vectors_deleted >= 1
    clusters = {e["id"]: e.get("question_cluster") for e in iter_episodes(analysed)}
    reanalyse(analysed, detector)  # questions without text or vector keep their cluster
    assert {e["id"]: e.get("question_cluster") for e in iter_episodes(analysed)} == clusters
