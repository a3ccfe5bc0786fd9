"""Erasing a member (DESIGN 3.5), on SQLite and PostgreSQL: nothing of theirs
survives in any export or in the database files, re-importing the source
does not bring them back, and the analysis of everyone else still stands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from anchorwatch.care.vault import Vault, create_key_file
from anchorwatch.ingest.loader import import_source
from anchorwatch.ingest.registry import open_source
from anchorwatch.signals.registry import get_detector
from anchorwatch.store import Store, open_store, schema
from anchorwatch.store.audit import audit, audit_entries
from anchorwatch.store.care import care_history, log_care_action
from anchorwatch.store.erased import erased_list, is_tombstone
from anchorwatch.store.erasure import ErasureError, erase_member, erasure_preview, reanalyse
from anchorwatch.store.member_export import export_member
from anchorwatch.store.reader import export_episodes, export_members, export_records, iter_episodes
from anchorwatch.store.users import add_user
from anchorwatch.store.venting import invite, write

from ..conftest import FIXTURES
from .raw import assert_absent, database_bytes

SOURCE = FIXTURES / "jsonl" / "privacy.jsonl"
X = "u_erasee_7f3"
#: In the erased member's messages, the title of the thread they started, a
#: quote of their words in a reply, their care log and their venting message;
#: their id and display name.
MARKERS = ["MARKER7731Q", "暗号青鸟7731", "星河XQ", X]
#: Members who never dealt with the erased one.
BYSTANDERS = ("u_li", "u_ann", "u_tom", "u_chen", "u_wang")
COUNTS = (
    "acts",
    "episodes_served",
    "conflicts_calmed",
    "complaints_converted",
    "newcomers_stayed",
    "first_response_s",
    "thanks_received",
    "attacks_received",
    "accusations_received",
    "messages",
    "reads",
)


@pytest.fixture(scope="module")
def detector() -> Any:
    return get_detector()


@pytest.fixture
def world(store: Store, tmp_path: Path, detector: Any) -> dict[str, Any]:
    summary = import_source(store, open_source(SOURCE), rejects_path=tmp_path / "rejects.jsonl")
    assert summary.exit_code == 0
    reanalyse(store, detector)
    keys = tmp_path / "keys.json"
    create_key_file(keys)
    vault = Vault.load(keys)
    add_user(store, "小林", "care", "password-1")
    _token, channel = invite(store, X, "小林")
    write(store, vault, channel, "暗号青鸟7731 最近好累，不想再回答问题了")
    log_care_action(store, X, "call", staff="小林", note="回访：暗号青鸟7731")
    log_care_action(store, "u_zhang", "thanks", staff="小林", evidence=["x_q1", "z_a1"])
    audit(store, "小林", "view_risk", member=X, detail={"member": X})
    return {"store": store, "vault": vault, "tmp": tmp_path}


def _members(store: Store, tmp: Path) -> dict[str, dict[str, Any]]:
    out = tmp / "members.jsonl"
    export_members(store, out)
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    return {r["member"]: {k: r[k] for k in COUNTS} for r in rows}


def _untouched_episodes(store: Store) -> dict[str, dict[str, Any]]:
    """Episodes in which the erased member plays no part."""
    mine = {"x_q1", "x_t1", "x_o1", "x_g1"}
    out = {}
    for ep in iter_episodes(store):
        people = {ep["subject"], *(a["member"] for a in ep["acts"])}
        if X in people or mine & set(ep["messages"]):
            continue
        out[ep["id"]] = {k: ep[k] for k in ("kind", "subject", "messages", "acts", "outcome")}
    return out


def test_erasure_leaves_no_copy_and_stays_erased(world: dict[str, Any], detector: Any) -> None:
    store, tmp = world["store"], world["tmp"]
    before_members = _members(store, tmp)
    before_episodes = _untouched_episodes(store)
    assert before_members[X]["messages"] == 4 and before_members["u_zhang"]["acts"]
    assert erasure_preview(store, X)["messages"] == 4
    # The check below sees the member's text while it is there.
    assert b"MARKER7731Q" in database_bytes(store)

    report = erase_member(store, "星河XQ", by="管理员", detector=detector)  # by display name

    assert report.member.startswith("erased:") and X not in orjson.dumps(report.as_dict()).decode()
    assert report.deleted["messages"] == 4 and report.deleted["members"] == 1
    assert report.deleted["conversations"] == 1 and report.titles_cleared == 1
    assert report.deleted["vent_messages"] == 1 and report.deleted["care_actions"] == 1
    assert report.deleted["reactions"] == 2 and report.deleted["joins"] == 1
    assert report.tombstoned == 2 and report.compacted and report.reanalysed

    # Other members' messages stay; their links to erased ones point at a tombstone.
    m, c, j = schema.messages, schema.conversations, schema.joins
    with store.engine.connect() as conn:
        replies = dict(
            conn.execute(select(m.c.id, m.c.reply_to).where(m.c.id.in_(["z_a1", "h_g2"]))).all()
        )
        assert all(is_tombstone(r) for r in replies.values()), replies
        quote = conn.execute(select(m.c.extra).where(m.c.id == "h_g2")).scalar()
        assert not (quote or {}).get("quote")
        assert conn.execute(select(c.c.title).where(c.c.id == "f_x")).scalar() is None
        assert conn.execute(select(c.c.id).where(c.c.id == "f_only")).first() is None
        invited = conn.execute(select(j.c.extra).where(j.c.member == "u_bob")).scalar()
        assert "inviter_name" not in (invited or {})
    zhang = care_history(store, "u_zhang")
    assert zhang[0].evidence == ["z_a1"]
    entries = audit_entries(store)
    erased = [e for e in entries if e.action == "erase_member"]
    assert erased[0].user_name == "管理员" and erased[0].member == report.member
    assert all(e.member != X for e in entries)

    # No export, and no byte of the database files, holds anything of theirs.
    for name, write_out in (
        ("records", export_records),
        ("episodes", export_episodes),
        ("members", export_members),
    ):
        out = tmp / f"{name}.jsonl"
        write_out(store, out)
        assert_absent(out.read_bytes(), MARKERS, f"export --what {name}")
    for member in ("u_zhang", "u_he", "u_bob", "u_li"):
        doc = export_member(store, member, vault=world["vault"], awards=member == "u_zhang")
        assert_absent(orjson.dumps(doc), MARKERS, f"member export of {member}")
    with pytest.raises(ErasureError) as err:
        export_member(store, X)
    assert err.value.code == "error.already_erased"
    assert_absent(database_bytes(store), MARKERS, f"the {store.dialect} database files")

    # Re-importing the source skips their rows (erased, not rejected) for good.
    again = import_source(store, open_source(SOURCE), rejects_path=tmp / "again.jsonl")
    assert (again.exit_code, again.rejected) == (0, 0)
    assert again.erased == 10  # member, join, 4 messages, 2 reactions, metric, f_only
    assert sum(again.new.values()) == 0
    with store.engine.connect() as conn:
        assert conn.execute(select(m.c.id).where(m.c.author == X)).first() is None
        assert conn.execute(select(c.c.title).where(c.c.id == "f_x")).scalar() is None
    assert erased_list(store).member(X)

    # The analysis runs, and whoever never dealt with them is unchanged.
    reanalyse(store, detector)
    after_members = _members(store, tmp)
    assert X not in after_members
    for member in BYSTANDERS:
        assert after_members[member] == before_members[member], member
    # Their answer to the erased member's question no longer counts.
    served = before_members["u_zhang"]["episodes_served"]
    assert after_members["u_zhang"]["episodes_served"] == served - 1
    after_episodes = _untouched_episodes(store)
    assert after_episodes == before_episodes
    assert all(ep["subject"] != X for ep in iter_episodes(store))
    assert_absent(database_bytes(store), MARKERS, f"the {store.dialect} database files")


def test_tombstones_survive_export_and_import(world: dict[str, Any], detector: Any) -> None:
    store, tmp = world["store"], world["tmp"]
    erase_member(store, X, by="管理员", detector=detector, reanalyze=False)
    out = tmp / "records.jsonl"
    export_records(store, out)
    fresh = open_store(f"sqlite:///{tmp / 'fresh.db'}")
    summary = import_source(fresh, open_source(out), rejects_path=tmp / "r.jsonl")
    assert (summary.exit_code, summary.rejected) == (0, 0)
    again = tmp / "again.jsonl"
    export_records(fresh, again)
    assert again.read_bytes() == out.read_bytes()
    fresh.close()


def test_erasing_the_unknown_or_the_erased_is_refused(world: dict[str, Any]) -> None:
    store = world["store"]
    with pytest.raises(ErasureError) as err:
        erase_member(store, "nobody", by="管理员")
    assert err.value.code == "error.no_member"
    erase_member(store, X, by="管理员", reanalyze=False, compact=False)
    with pytest.raises(ErasureError) as err:
        erase_member(store, X, by="管理员")
    assert err.value.code == "error.already_erased"
    # The refresh the erasure asked for is done by the next analysis.
    with store.engine.connect() as conn:
        flag = select(schema.analysis_state).where(
            schema.analysis_state.c.key == "episodes_refresh"
        )
        assert conn.execute(flag).first() is not None
    reanalyse(store)
    with store.engine.connect() as conn:
        assert conn.execute(flag).first() is None


def test_a_busy_file_leaves_the_compaction_pending_not_forgotten(
    sqlite_store: Store,
) -> None:
    import sqlite3

    store = sqlite_store
    import_source(store, open_source(SOURCE), rejects_path=None)
    store.busy_wait_s = 0.2
    db = store.engine.url.database
    assert db
    reader = sqlite3.connect(db)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM messages").fetchone()  # holds a snapshot
    with pytest.raises(ErasureError) as err:
        erase_member(store, X, by="管理员", reanalyze=False)
    assert err.value.code == "error.erased_not_compacted"
    with pytest.raises(ErasureError) as err:
        erase_member(store, X, by="管理员")
    assert err.value.code == "error.already_erased"
    reader.rollback()
    reader.close()
    from anchorwatch.store.erasure import compact_pending

    assert compact_pending(store) is True and compact_pending(store) is False
    assert_absent(database_bytes(store), MARKERS, "the sqlite database files")
