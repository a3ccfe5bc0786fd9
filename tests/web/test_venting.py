"""The private venting channel through the web app, on SQLite and PostgreSQL:
ciphertext at rest, only the assigned care user reads, dead links refused,
rate limits, opt-in labels, and no key no channel."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from anchorwatch.care.vault import Vault, VaultError, create_key_file, retire_key, rotate_key_file
from anchorwatch.ingest.loader import import_source
from anchorwatch.ingest.registry import open_source
from anchorwatch.store import Store, schema
from anchorwatch.store.users import add_user, create_token
from anchorwatch.store.venting import invite, opted_in_labels
from anchorwatch.web import create_app
from anchorwatch.web.settings import WebSettings

from ..conftest import FIXTURES
from ..store.raw import assert_absent, database_bytes

SECRET = "最近真的好累，每天下班还要回答几十个同样的问题，不想管了"


def _land(store: Store, tmp_path: Path) -> None:
    source = open_source(FIXTURES / "jsonl" / "episodes.jsonl")
    assert import_source(store, source, rejects_path=tmp_path / "rejects.jsonl").exit_code == 0


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "anchorwatch-keys.json"
    create_key_file(path)
    return path


@pytest.fixture
def world(store: Store, keys: Path, tmp_path: Path) -> dict:
    _land(store, tmp_path)
    people = {
        "care": add_user(store, "小林", "care", "password-1"),
        "care2": add_user(store, "小周", "care", "password-2"),
        "operator": add_user(store, "运营", "operator", "password-3"),
        "admin": add_user(store, "管理员", "admin", "password-4"),
    }
    tokens = {k: create_token(store, u.name) for k, u in people.items()}
    token, channel = invite(store, "u_he", "小林", days=30)
    settings = WebSettings(db=None, key_file=str(keys), vent_max_chars=4000, vent_max_per_hour=3)
    client = TestClient(create_app(store, settings=settings))
    return {"store": store, "client": client, "tokens": tokens, "link": token, "channel": channel}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_member_writes_and_it_is_ciphertext_at_rest(world: dict) -> None:
    client, store = world["client"], world["store"]
    r = client.post(f"/vent/{world['link']}", data={"text": SECRET}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/vent/{world['link']}")
    assert page.status_code == 200 and SECRET in page.text
    assert page.headers["cache-control"] == "no-store"
    with store.engine.connect() as conn:
        rows = conn.execute(select(schema.vent_messages)).all()
    assert len(rows) == 1
    raw = bytes(rows[0].ciphertext)
    assert SECRET.encode() not in raw and "好累".encode() not in raw
    assert rows[0].labels is None  # not opted in: no labels either
    # The database files hold no clear text either (SQLite file and log;
    # PostgreSQL dump and table files).
    assert_absent(database_bytes(store), ["好累", SECRET], f"the {store.dialect} database files")


def test_only_the_assigned_care_user_reads(world: dict) -> None:
    client, tokens = world["client"], world["tokens"]
    client.post(f"/vent/{world['link']}", json={"text": SECRET})
    url = "/api/v1/care/vents?member=u_he"
    mine = client.get(url, headers=_auth(tokens["care"]))
    assert mine.status_code == 200 and [m["text"] for m in mine.json()] == [SECRET]
    assert client.get(url, headers=_auth(tokens["care2"])).status_code == 403
    assert client.get(url, headers=_auth(tokens["admin"])).status_code == 403
    assert client.get(url, headers=_auth(tokens["operator"])).status_code == 403
    assert client.get(url).status_code == 401
    assert client.get(url, headers=_auth("aw_not-a-token")).status_code == 401


def test_the_care_user_answers_and_the_member_reads_it(world: dict) -> None:
    client, tokens = world["client"], world["tokens"]
    client.post(f"/vent/{world['link']}", json={"text": SECRET})
    cid = world["channel"].id
    reply = {"text": "谢谢你愿意说出来，这周的新人问题我们来接手。"}
    r = client.post(f"/api/v1/care/vents/{cid}/replies", json=reply, headers=_auth(tokens["care"]))
    assert r.status_code == 201
    other = client.post(
        f"/api/v1/care/vents/{cid}/replies", json=reply, headers=_auth(tokens["care2"])
    )
    assert other.status_code == 403
    seen = client.get(f"/vent/{world['link']}", headers={"Accept": "application/json"}).json()
    assert [m["author"] for m in seen["messages"]] == ["member", "care"]
    assert seen["messages"][1]["text"] == reply["text"]


def test_expired_revoked_and_unknown_links_are_refused(world: dict) -> None:
    client, store = world["client"], world["store"]
    assert client.get("/vent/not-a-real-token").status_code == 404
    with store.engine.begin() as conn:
        conn.execute(
            update(schema.vent_channels).values(
                expires_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
            )
        )
    assert client.get(f"/vent/{world['link']}").status_code == 410
    assert client.post(f"/vent/{world['link']}", json={"text": "hi"}).status_code == 410
    token, channel = invite(store, "u_zhang", "小林")
    assert client.get(f"/vent/{token}").status_code == 200
    from anchorwatch.store.venting import revoke

    revoke(store, channel.id)
    r = client.post(f"/vent/{token}", data={"text": "还在吗"}, follow_redirects=False)
    assert r.status_code == 410 and "撤销" in r.text


def test_writing_too_fast_is_rate_limited(world: dict) -> None:
    client = world["client"]
    codes = [
        client.post(f"/vent/{world['link']}", json={"text": f"第{i}条"}).status_code
        for i in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    assert client.post(f"/vent/{world['link']}", json={"text": " "}).status_code == 400
    assert client.post(f"/vent/{world['link']}", json={"text": "长" * 4001}).status_code == 413


def test_opt_in_keeps_labels_not_text(world: dict) -> None:
    client, store = world["client"], world["store"]
    client.post(f"/vent/{world['link']}", json={"text": "先说一句"})
    r = client.post(f"/vent/{world['link']}", json={"text": SECRET, "opt_in": True})
    assert r.status_code == 201 and r.json()["opt_in"]
    labelled = opted_in_labels(store)
    assert [m for m, _at, _labels in labelled] == ["u_he"]  # only the opted-in message
    assert "fatigue" in labelled[0][2]
    from anchorwatch.engines.members import load_member_frames

    frames = load_member_frames(store)
    assert frames.vents is not None and frames.vents.height == 1


def test_without_a_key_the_channel_refuses_to_run(store: Store, tmp_path: Path) -> None:
    _land(store, tmp_path)
    add_user(store, "小林", "care", "password-1")
    token, _ = invite(store, "u_he", "小林")
    client = TestClient(create_app(store, settings=WebSettings(key_file=None)))
    assert client.post(f"/vent/{token}", json={"text": SECRET}).status_code == 503
    with store.engine.connect() as conn:
        assert conn.execute(select(schema.vent_messages)).first() is None


def test_with_a_missing_or_broken_key_file_nothing_is_stored(store: Store, tmp_path: Path) -> None:
    _land(store, tmp_path)
    add_user(store, "小林", "care", "password-1")
    token, _ = invite(store, "u_he", "小林")
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": "anchorwatch.keys.v1", "current": "k1", "keys": {}}')
    for key_file in (str(tmp_path / "nowhere.json"), str(broken)):
        client = TestClient(create_app(store, settings=WebSettings(key_file=key_file)))
        r = client.post(f"/vent/{token}", json={"text": SECRET})
        assert r.status_code == 503
    with store.engine.connect() as conn:
        assert conn.execute(select(schema.vent_messages)).first() is None


def test_old_and_new_messages_decrypt_after_rotation_and_reencryption(
    world: dict, keys: Path
) -> None:
    from anchorwatch.store.venting import key_usage, reencrypt

    client, store, tokens = world["client"], world["store"], world["tokens"]
    url = "/api/v1/care/vents?member=u_he"
    assert client.post(f"/vent/{world['link']}", json={"text": SECRET}).status_code == 201
    old = Vault.load(keys).current
    new = rotate_key_file(keys)
    # The server loads the key file when it starts: a restarted one writes
    # with the new key and reads both.
    settings = WebSettings(key_file=str(keys), vent_max_chars=4000, vent_max_per_hour=3)
    client = TestClient(create_app(store, settings=settings))
    reply = "新钥匙加密的第二条"
    assert client.post(f"/vent/{world['link']}", json={"text": reply}).status_code == 201
    assert key_usage(store) == {old: 1, new: 1}
    read = client.get(url, headers=_auth(tokens["care"])).json()
    assert [m["text"] for m in read] == [SECRET, reply]
    vm = schema.vent_messages
    stmt = select(vm.c.ciphertext).order_by(vm.c.id)
    with store.engine.connect() as conn:
        before = [bytes(c) for c in conn.execute(stmt).scalars()]
    assert reencrypt(store, Vault.load(keys)) == {old: 1}
    assert key_usage(store) == {new: 2}
    with store.engine.connect() as conn:
        after = [bytes(c) for c in conn.execute(stmt).scalars()]
    # The old message was encrypted again; the new one was left alone.
    assert after[0] != before[0] and after[1] == before[1]
    retire_key(keys, old)
    client = TestClient(create_app(store, settings=settings))
    read = client.get(url, headers=_auth(tokens["care"])).json()
    assert [m["text"] for m in read] == [SECRET, reply]
    assert_absent(database_bytes(store), [SECRET, reply], f"the {store.dialect} database files")


def test_key_file_rotation(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    old = create_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(VaultError):
        create_key_file(path)  # never overwritten
    key_id, cipher = Vault.load(path).encrypt(SECRET)
    assert key_id == old
    new = rotate_key_file(path)
    vault = Vault.load(path)
    assert vault.current == new and vault.decrypt(old, cipher) == SECRET
    with pytest.raises(VaultError):
        retire_key(path, new)
    retire_key(path, old)
    with pytest.raises(VaultError):
        Vault.load(path).decrypt(old, cipher)


def test_the_api_wants_a_token(world: dict) -> None:
    client, tokens = world["client"], world["tokens"]
    assert client.get("/api/v1/me").status_code == 401
    me = client.get("/api/v1/me", headers=_auth(tokens["operator"]))
    assert me.json() == {"name": "运营", "role": "operator"}
    assert client.get("/api/v1/care/log", headers=_auth(tokens["operator"])).status_code == 403
    assert client.get("/openapi.json").status_code == 200


def test_the_care_log_through_the_api(world: dict) -> None:
    client, tokens = world["client"], world["tokens"]
    entry = {"member": "u_he", "action": "call", "note": "聊了半小时", "evidence": ["s10"]}
    r = client.post("/api/v1/care/log", json=entry, headers=_auth(tokens["care"]))
    assert r.status_code == 201
    log = client.get("/api/v1/care/log?member=u_he", headers=_auth(tokens["care"])).json()
    assert (
        log[0]["action"] == "call" and log[0]["staff"] == "小林" and log[0]["evidence"] == ["s10"]
    )
    bad = client.post(
        "/api/v1/care/log", json={**entry, "action": "bribe"}, headers=_auth(tokens["care"])
    )
    assert bad.status_code == 422


def test_passwords_are_argon2_and_checked(store: Store) -> None:
    from anchorwatch.store.users import authenticate

    add_user(store, "小林", "care", "password-1")
    with store.engine.connect() as conn:
        stored = conn.execute(select(schema.users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "password-1" not in stored
    assert authenticate(store, "小林", "password-1") is not None
    assert authenticate(store, "小林", "password-2") is None
    assert authenticate(store, "nobody", "password-1") is None


def test_warming_fills_the_view_cache(store: Store, tmp_path: Path) -> None:
    from anchorwatch.web.views import warm

    _land(store, tmp_path)
    app = create_app(store, settings=WebSettings(key_file=None))
    warm(app)
    cached = app.state.views._values
    assert "latest_month" in cached and "frames" in cached and "watchlist" in cached
