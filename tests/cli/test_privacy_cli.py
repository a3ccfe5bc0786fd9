"""`member show|export|erase`, `retention apply` and the key commands end to
end (DESIGN 3.5, issue 10); the store-level guarantees are in
tests/store/test_erasure.py and test_retention.py."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from anchorwatch.care.vault import Vault
from anchorwatch.cli import app
from anchorwatch.store import open_store, schema
from anchorwatch.store.users import add_user
from anchorwatch.store.venting import invite, thread, write

from ..conftest import FIXTURES

SOURCE = FIXTURES / "jsonl" / "privacy.jsonl"
X = "u_erasee_7f3"


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANCHORWATCH_LOCALE", "en")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("ANCHORWATCH_KEY_FILE", raising=False)


def invoke(runner: CliRunner, *args: str, code: int = 0, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


@pytest.fixture
def url(store_url: str) -> str:
    runner = CliRunner()
    invoke(runner, "import", str(SOURCE), "--db", store_url, "-q")
    invoke(runner, "analyze", "--db", store_url, "-q")
    return store_url


def test_member_is_a_group_and_member_id_still_shows(url: str) -> None:
    runner = CliRunner()
    shown = invoke(runner, "member", "show", "u_zhang", "--db", url)
    assert "Emotional-labour ledger" in shown
    assert invoke(runner, "member", "u_zhang", "--db", url) == shown
    record = json.loads(invoke(runner, "member", "--db", url, "u_zhang", "--json"))
    assert record["member"] == "u_zhang"
    usage = invoke(runner, "member", "--help")
    assert all(word in usage for word in ("show", "export", "erase"))
    invoke(runner, "member", "nobody", "--db", url, code=2)


def test_export_then_erase_then_import_again(url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "x.json"
    text = invoke(runner, "member", "export", X, "--db", url, "-o", str(out), "--no-awards")
    assert "4 messages" in text
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["member"] == X and len(doc["messages"]) == 4 and doc["award_nominations"] == []
    # With venting messages, the copy needs the key to hold them decrypted.
    keys = tmp_path / "keys.json"
    invoke(runner, "key", "create", str(keys))
    store = open_store(url)
    add_user(store, "小林", "care", "password-1")
    _token, channel = invite(store, X, "小林")
    write(store, Vault.load(keys), channel, "最近好累")
    refused = runner.invoke(app, ["member", "export", X, "--db", url, "-o", str(out)])
    assert refused.exit_code == 2 and "ANCHORWATCH_KEY_FILE" in refused.output
    result = runner.invoke(
        app,
        ["member", "export", X, "--db", url, "--by", "小林"],
        env={"ANCHORWATCH_KEY_FILE": str(keys)},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["venting"]["messages"][0]["text"] == "最近好累"

    # Without --yes it asks; no means nothing happens.
    declined = invoke(runner, "member", "erase", X, "--db", url, input="n\n", code=1)
    assert "4" in declined and "venting messages 1" in declined
    report = json.loads(
        invoke(runner, "member", "erase", X, "--db", url, "--yes", "--by", "管理员", "--json")
    )
    assert report["deleted"]["messages"] == 4 and report["member"].startswith("erased:")
    assert X not in json.dumps(report)
    again = invoke(runner, "import", str(SOURCE), "--db", url)
    assert "Rows of erased members (skipped)" in again and "10" in again
    invoke(runner, "analyze", "--db", url, "-q")
    gone = runner.invoke(app, ["member", "erase", X, "--db", url, "--yes"])
    assert gone.exit_code == 2 and "erased already" in gone.output
    shown = invoke(runner, "member", X, "--db", url, code=2)
    assert "erased already" in shown
    store.close()


def test_retention_apply(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from anchorwatch.store.retention import privacy_settings

    runner = CliRunner()
    off = runner.invoke(app, ["retention", "apply", "--db", url])
    assert off.exit_code == 2 and "retention.months" in off.output
    dry = json.loads(
        invoke(runner, "retention", "apply", "--db", url, "--months", "1", "--dry-run", "--json")
    )
    assert dry["dry_run"] and dry["already"] == 0
    config = tmp_path / "privacy.yaml"
    config.write_text("version: privacy.v1\nretention:\n  months: 1\n", encoding="utf-8")
    monkeypatch.setenv("ANCHORWATCH_PRIVACY_CONFIG", str(config))
    privacy_settings.cache_clear()
    try:
        text = invoke(runner, "retention", "apply", "--db", url)
    finally:
        privacy_settings.cache_clear()
    assert "Texts removed now" in text
    if datetime.now() > datetime(2026, 4, 6):  # every message of the fixture is old
        assert dry["removed"] == 26
        with open_store(url).engine.connect() as conn:
            kept = conn.execute(
                select(schema.messages.c.id).where(schema.messages.c.text != "")
            ).all()
        assert kept == []
        card = invoke(runner, "member", "u_chen", "--db", url)
        assert "Emotional-labour ledger" in card
    invoke(runner, "analyze", "--db", url, "-q")


def test_key_rotation_with_reencryption_and_retirement(tmp_path: Path) -> None:
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'aw.db'}"
    invoke(runner, "import", str(SOURCE), "--db", url, "-q")
    keys = tmp_path / "keys.json"
    invoke(runner, "key", "create", str(keys))
    old = Vault.load(keys).current
    store = open_store(url)
    add_user(store, "小林", "care", "password-1")
    _token, channel = invite(store, "u_he", "小林")
    write(store, Vault.load(keys), channel, "第一条：用旧密钥")
    invoke(runner, "key", "rotate", str(keys))
    write(store, Vault.load(keys), channel, "第二条：用新密钥")
    refused = runner.invoke(app, ["key", "retire", str(keys), old, "--db", url])
    assert refused.exit_code == 2 and "still encrypts 1" in refused.output
    text = invoke(runner, "key", "rotate", str(keys), "--reencrypt", "--db", url)
    assert "Re-encrypted 2 venting messages" in text and old in text
    vault = Vault.load(keys)
    with store.engine.connect() as conn:
        used = set(conn.execute(select(schema.vent_messages.c.key_id)).scalars())
    assert used == {vault.current}
    assert "Re-encrypted 0" in invoke(runner, "key", "reencrypt", str(keys), "--db", url)
    invoke(runner, "key", "retire", str(keys), old, "--db", url)
    assert old not in Vault.load(keys).keys
    current = runner.invoke(app, ["key", "retire", str(keys), vault.current, "--db", url])
    assert current.exit_code == 2
    texts = [m.text for m in thread(store, Vault.load(keys), channel)]
    assert texts == ["第一条：用旧密钥", "第二条：用新密钥"]
    store.close()
