"""import → export → import → export is lossless, on SQLite and PostgreSQL,
and the same data moves from a SQLite file to PostgreSQL unchanged."""

from __future__ import annotations

from pathlib import Path

import orjson

from anchorwatch.ingest.jsonl import JsonlSource
from anchorwatch.ingest.loader import import_source
from anchorwatch.store import Store, open_store
from anchorwatch.store.reader import community_stats, export_records

from ..conftest import FIXTURES

COMMUNITY = FIXTURES / "jsonl" / "community.jsonl"


def _records(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def test_export_round_trip_is_identical(store: Store, tmp_path: Path) -> None:
    import_source(store, JsonlSource(COMMUNITY))
    first = tmp_path / "first.jsonl"
    assert export_records(store, first) == 26
    # Every input record comes back, field for field.
    key = orjson.dumps
    assert sorted(map(key, map(_normalise, _records(first))), key=bytes) == sorted(
        map(key, (_normalise(r) for r in _records(COMMUNITY))), key=bytes
    )
    fresh = open_store(f"sqlite:///{tmp_path / 'again.db'}")
    import_source(fresh, JsonlSource(first))
    second = tmp_path / "second.jsonl"
    export_records(fresh, second)
    assert first.read_bytes() == second.read_bytes()


def _normalise(rec: dict[str, object]) -> dict[str, object]:
    """The export writes reply_to on every message, and JSON key order is free."""
    out = dict(rec)
    if out["type"] == "message":
        out.setdefault("reply_to", None)
    return dict(sorted(out.items()))


def test_sqlite_to_store_url_move(store: Store, tmp_path: Path) -> None:
    """A team moves a laptop's SQLite file to the shared server via export/import."""
    laptop = open_store(f"sqlite:///{tmp_path / 'laptop.db'}")
    import_source(laptop, JsonlSource(COMMUNITY))
    dump = tmp_path / "dump.jsonl"
    export_records(laptop, dump)
    summary = import_source(store, JsonlSource(dump))
    assert summary.rejected == 0
    assert store.counts() == laptop.counts()
    moved = tmp_path / "moved.jsonl"
    export_records(store, moved)
    assert [_normalise(r) for r in _records(moved)] == [_normalise(r) for r in _records(dump)]


def test_stats_by_channel_and_local_month(store: Store) -> None:
    import_source(store, JsonlSource(COMMUNITY))
    stats = community_stats(store)
    channels = {c.channel: c for c in stats.by_channel}
    assert channels["wechat:澜舟S7车主1群"].messages == 7
    assert channels["wechat:澜舟S7车主1群"].authors == 4
    assert channels["app:投诉建议"].conversations == 1
    # wx-5 was sent 23:58 local on 27 Feb: local month, not UTC month, counts.
    assert dict(stats.by_month) == {"2026-02": 6, "2026-03": 7}
    assert dict(stats.by_role) == {"koc": 1, "member": 3, "official": 1}
