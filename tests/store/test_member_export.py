"""A member's own copy (DESIGN 3.5), on SQLite and PostgreSQL: everything held
about them, their messages exactly as imported, venting messages decrypted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from anchorwatch.care.vault import Vault, create_key_file
from anchorwatch.ingest.loader import import_source
from anchorwatch.ingest.registry import open_source
from anchorwatch.records import parse_record, record_to_dict, resolve_timezone
from anchorwatch.store import Store, open_store
from anchorwatch.store.audit import audit_entries
from anchorwatch.store.care import log_care_action
from anchorwatch.store.erasure import ErasureError, reanalyse
from anchorwatch.store.member_export import EXPORT_VERSION, export_member, write_member_export
from anchorwatch.store.users import add_user
from anchorwatch.store.venting import invite, write

from ..conftest import FIXTURES

SOURCE = FIXTURES / "jsonl" / "privacy.jsonl"
X = "u_erasee_7f3"
VENT = "最近真的好累，暗号青鸟7731"


def _source_records(author: str) -> list[dict[str, Any]]:
    """The member's messages as the source has them, in canonical form."""
    tz = resolve_timezone("Asia/Shanghai")
    out = []
    for line in SOURCE.read_bytes().splitlines():
        obj = orjson.loads(line)
        if obj["type"] == "message" and obj["author"] == author:
            out.append(record_to_dict(parse_record(obj, default_tz=tz)))
    return sorted(out, key=lambda r: (r["sent_at"], r["id"]))


@pytest.fixture
def exported(store: Store, tmp_path: Path) -> tuple[Store, Vault, dict[str, Any]]:
    assert import_source(store, open_source(SOURCE), rejects_path=None).exit_code == 0
    reanalyse(store)
    path = tmp_path / "keys.json"
    create_key_file(path)
    vault = Vault.load(path)
    add_user(store, "小林", "care", "password-1")
    _token, channel = invite(store, X, "小林")
    write(store, vault, channel, VENT)
    log_care_action(store, X, "call", staff="小林", note="聊了半小时")
    return store, vault, export_member(store, X, vault=vault, by="小林")


def test_export_holds_everything_about_the_member(
    exported: tuple[Store, Vault, dict[str, Any]],
) -> None:
    store, _vault, doc = exported
    assert doc["type"] == "member_export" and doc["version"] == EXPORT_VERSION
    assert doc["member"] == X and doc["profile"]["name"] == "星河XQ"
    assert [s["message"] for s in doc["signals"]] == [m["id"] for m in doc["messages"]]
    assert all(set(s["scores"]) >= {"newcomer_question", "gratitude"} for s in doc["signals"])
    # Their question got answered: an act aimed at them, an episode about them.
    assert any(a["member"] == "u_zhang" for a in doc["acts_received"])
    assert any(ep["kind"] == "newcomer_question" for ep in doc["episodes"])
    assert all(ep["subject"] == X for ep in doc["episodes"])
    assert [r["period"] for r in doc["ledger"]] == ["2026-03"]
    assert doc["ledger"][0]["messages"] == 4 and doc["ledger"][0]["reads"] == 10
    assert [j["channel"] for j in doc["joins"]] == ["wechat:车主1群"]
    assert [r["message"] for r in doc["reactions"]] == ["z_a1"]
    assert [c["note"] for c in doc["care_log"]] == ["聊了半小时"]
    assert doc["venting"]["decrypted"] is True
    assert [m["text"] for m in doc["venting"]["messages"]] == [VENT]
    assert doc["venting"]["channels"][0]["care_user"] == "小林"
    assert isinstance(doc["award_nominations"], list)
    entry = audit_entries(store)[0]
    assert (entry.action, entry.user_name, entry.member) == ("export_member", "小林", X)
    assert entry.detail == {}


def test_export_round_trips_the_members_own_messages(
    exported: tuple[Store, Vault, dict[str, Any]], tmp_path: Path
) -> None:
    _store, _vault, doc = exported
    assert doc["messages"] == _source_records(X)
    # Their copy, imported elsewhere, gives the same messages back.
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in [doc["profile"], *doc["messages"]]))
    elsewhere = open_store(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    summary = import_source(elsewhere, open_source(copy), rejects_path=None)
    # Their reply to another member waits for a target that is not there.
    assert summary.new["messages"] == 3 and summary.rejected == 1
    again = export_member(elsewhere, X, awards=False)
    kept = {m["id"] for m in again["messages"]}
    assert again["messages"] == [m for m in doc["messages"] if m["id"] in kept]
    out = tmp_path / "copy.json"
    write_member_export(doc, out)
    assert orjson.loads(out.read_bytes()) == doc
    elsewhere.close()


def test_without_the_key_the_venting_text_is_not_in_the_copy(
    exported: tuple[Store, Vault, dict[str, Any]],
) -> None:
    store, _vault, _doc = exported
    doc = export_member(store, X, awards=False)
    assert doc["venting"]["decrypted"] is False
    assert [m["text"] for m in doc["venting"]["messages"]] == [None]
    with pytest.raises(ErasureError):
        export_member(store, "nobody")
