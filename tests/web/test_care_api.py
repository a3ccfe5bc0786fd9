"""The JSON twins of the care and awards pages, and what the pages refuse,
through the app (SQLite, a small analysed demo community): care roles only,
assigned care user only, risk hidden from operators, awards logged in the
care log, CSRF required, and no key no channel."""

from __future__ import annotations

import csv as csvlib
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from anchorwatch.care.vault import create_key_file
from anchorwatch.cli import app as cli
from anchorwatch.store import Store, open_store
from anchorwatch.store.audit import audit_entries
from anchorwatch.store.users import add_user, create_token
from anchorwatch.store.venting import channel_by_id, invite
from anchorwatch.web import create_app
from anchorwatch.web.settings import WebSettings

PASSWORD = "password-2026"
SECRET = "最近真的好累，每天下班还要回答几十个同样的问题"


ROLES = {
    "care": "care",
    "care2": "care",
    "admin": "admin",
    "operator": "operator",
    "analyst": "analyst",
}


@pytest.fixture(scope="module")
def community(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small demo community, imported and analysed once for the module,
    with accounts and their tokens, a key file and a venting channel for
    u0002 assigned to ``care``."""
    root = tmp_path_factory.mktemp("care-api")
    data, db = root / "community.jsonl", root / "aw.db"
    runner = CliRunner()
    for args in (
        ["demo-data", str(data), "-n", "1500", "--seed", "3"],
        ["import", str(data), "--db", f"sqlite:///{db}", "-q"],
        ["analyze", "--db", f"sqlite:///{db}", "-q"],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
    store = open_store(f"sqlite:///{db}")
    for name, role in ROLES.items():
        add_user(store, name, role, PASSWORD)
    tokens = {name: create_token(store, name) for name in ROLES}
    link, channel = invite(store, "u0002", "care")
    store.close()
    keys = root / "keys.json"
    create_key_file(keys)
    return {"db": db, "tokens": tokens, "link": link, "channel": channel.id, "keys": keys}


@pytest.fixture
def world(community: dict[str, Any], tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A copy of the community per test (tests write care actions)."""
    source: Path = community["db"]
    for part in source.parent.glob(source.name + "*"):  # with the WAL, if any
        shutil.copy(part, tmp_path / part.name)
    store = open_store(f"sqlite:///{tmp_path / source.name}")
    settings = WebSettings(key_file=str(community["keys"]))
    yield {
        "store": store,
        "client": TestClient(create_app(store, settings=settings)),
        "tokens": community["tokens"],
        "link": community["link"],
        "channel": channel_by_id(store, community["channel"]),
    }
    store.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _get(world: dict[str, Any], who: str, url: str) -> Any:
    return world["client"].get(url, headers=_auth(world["tokens"][who]))


def _busiest(store: Store) -> str:
    from sqlalchemy import func, select

    from anchorwatch.store import schema

    a = schema.episode_acts
    stmt = select(a.c.member).group_by(a.c.member).order_by(func.count().desc(), a.c.member)
    with store.engine.connect() as conn:
        return str(conn.execute(stmt.limit(1)).scalar_one())


def test_care_routes_want_a_token_and_a_care_role(world: dict[str, Any]) -> None:
    client = world["client"]
    urls = ["/api/v1/care/watchlist", "/api/v1/care/inbox", "/api/v1/care/thanks/u0001"]
    for url in urls:
        assert client.get(url).status_code == 401
        assert _get(world, "operator", url).status_code == 403
        assert _get(world, "analyst", url).status_code == 403
        assert _get(world, "care", url).status_code == 200
    assert _get(world, "analyst", "/api/v1/awards").status_code == 403
    assert client.get("/api/v1/awards").status_code == 401


def test_watchlist_and_inbox_show_what_the_care_page_shows(world: dict[str, Any]) -> None:
    client = world["client"]
    client.post(f"/vent/{world['link']}", json={"text": SECRET})
    watch = _get(world, "care", "/api/v1/care/watchlist").json()
    assert isinstance(watch, list)
    for row in watch:
        assert {"member", "name", "burnout_risk", "level", "care_action", "drivers"} <= set(row)
    inbox = _get(world, "care", "/api/v1/care/inbox").json()
    assert set(inbox) == {"watchlist", "channels", "recent"}
    [channel] = inbox["channels"]
    assert channel["member"] == "u0002" and channel["status"] == "open"
    assert channel["messages"] == 1 and channel["awaiting_reply"] == 1
    assert SECRET not in str(inbox)  # the inbox reads metadata, never the text
    # Another care user's inbox holds none of it.
    assert _get(world, "care2", "/api/v1/care/inbox").json()["channels"] == []
    seen = [e for e in audit_entries(world["store"]) if e.action == "view_watchlist"]
    assert {e.user_name for e in seen} == {"care", "care2"} and len(seen) == 3


def test_thanks_drafts_name_real_episodes(world: dict[str, Any]) -> None:
    member = _busiest(world["store"])
    data = _get(world, "care", f"/api/v1/care/thanks/{member}").json()
    assert data["member"] == member and re.fullmatch(r"\d{4}-\d{2}", data["period"])
    drafts = data["drafts"]
    assert {(d["locale"], d["tone"]) for d in drafts} == {
        (loc, tone) for loc in ("zh-CN", "en") for tone in ("warm", "formal", "casual")
    }
    named = {e["episode"] for e in data["events"]}
    assert all(d["episodes"] and set(d["episodes"]) <= named for d in drafts)
    assert all(data["name"] in d["text"] for d in drafts)
    one = _get(world, "care", f"/api/v1/care/thanks/{member}?tone=formal&language=en").json()
    assert [(d["locale"], d["tone"]) for d in one["drafts"]] == [("en", "formal")]
    year = _get(world, "care", f"/api/v1/care/thanks/{member}?period={data['period'][:4]}")
    assert year.status_code == 200
    assert _get(world, "care", "/api/v1/care/thanks/nobody-at-all").status_code == 404
    assert _get(world, "care", f"/api/v1/care/thanks/{member}?tone=loud").status_code == 422
    assert _get(world, "care", f"/api/v1/care/thanks/{member}?period=June").status_code == 422
    empty = _get(world, "care", f"/api/v1/care/thanks/{member}?period=1999-01")
    assert empty.status_code == 404 and empty.json()["detail"] == "error.no_labour"


def test_a_channel_is_for_its_care_user_only(world: dict[str, Any]) -> None:
    client, cid = world["client"], world["channel"].id
    client.post(f"/vent/{world['link']}", json={"text": SECRET})
    mine = _get(world, "care", f"/api/v1/care/vents/{cid}")
    assert mine.status_code == 200
    assert [m["text"] for m in mine.json()["messages"]] == [SECRET]
    assert mine.json()["channel"]["awaiting_reply"] == 1
    for other in ("care2", "admin"):
        assert _get(world, other, f"/api/v1/care/vents/{cid}").status_code == 403
    assert _get(world, "operator", f"/api/v1/care/vents/{cid}").status_code == 403
    assert _get(world, "care", "/api/v1/care/vents/999999").status_code == 404
    answer = {"text": "谢谢你愿意说出来，这周的新人问题我们来接手。"}
    reply = client.post(
        f"/api/v1/care/vents/{cid}/replies", json=answer, headers=_auth(world["tokens"]["care"])
    )
    assert reply.status_code == 201
    state = _get(world, "care", f"/api/v1/care/vents/{cid}").json()["channel"]
    assert state["awaiting_reply"] == 0 and state["latest_author"] == "care"
    revoke = f"/api/v1/care/vents/{cid}/revoke"
    assert client.post(revoke, headers=_auth(world["tokens"]["care2"])).status_code == 403
    assert client.post(revoke, headers=_auth(world["tokens"]["care"])).json()["revoked"]
    assert client.get(f"/vent/{world['link']}").status_code == 410
    views = [e for e in audit_entries(world["store"]) if e.action == "view_vents"]
    assert views and all(e.user_name == "care" and e.member == "u0002" for e in views)


def test_awards_json_hides_the_risk_from_operators(world: dict[str, Any]) -> None:
    care = _get(world, "care", "/api/v1/awards").json()
    operator = _get(world, "operator", "/api/v1/awards").json()
    assert care["year"] == operator["year"] == 2026 and care["version"] == "awards.v1"
    assert care["nominations"] and len(care["nominations"]) == len(operator["nominations"])
    assert all("burnout_risk" in n and "level" in n for n in care["nominations"])
    for n in operator["nominations"]:
        assert "burnout_risk" not in n and "level" not in n
        assert all("reason" not in r for r in n["rewards"])
        assert n["citation"] and n["dossier"]["episodes"]
    cat = care["nominations"][0]["category"]
    only = _get(world, "care", f"/api/v1/awards?category={cat}").json()["nominations"]
    assert only and {n["category"] for n in only} == {cat}
    assert _get(world, "care", "/api/v1/awards?category=nope").status_code == 422
    assert _get(world, "care", "/api/v1/awards?year=1999").status_code == 404
    english = _get(world, "care", "/api/v1/awards?locale=en").json()["nominations"][0]
    assert english["citation"] != care["nominations"][0]["citation"]


def test_giving_an_award_logs_it_and_the_member_leaves_the_nominations(
    world: dict[str, Any],
) -> None:
    client, token = world["client"], world["tokens"]["operator"]
    before = _get(world, "operator", "/api/v1/awards").json()
    n = next(x for x in before["nominations"] if x["recipient"])
    url = f"/api/v1/awards/2026/{n['category']}/{n['member']}"
    bad = client.post(url, json={"citation": "谢谢", "reward": "a-yacht"}, headers=_auth(token))
    assert bad.status_code == 422
    body = {"citation": n["citation"] + "\n——社群运营团队", "reward": "spa_day"}
    given = client.post(url, json=body, headers=_auth(token))
    assert given.status_code == 201
    log = _get(world, "care", f"/api/v1/care/log?member={n['member']}").json()
    [award] = [a for a in log if a["action"] == "award"]
    assert award["note"] == body["citation"] and award["staff"] == "operator"
    assert award["evidence"] == [e["id"] for e in n["dossier"]["episodes"]]
    after = _get(world, "operator", "/api/v1/awards").json()
    assert [g["member"] for g in after["given"]] == [n["member"]]
    assert after["given"][0]["category"] == n["category"]
    assert after["given"][0]["reward"] == "spa_day"
    assert n["member"] not in {x["member"] for x in after["nominations"]}
    assert client.post(url, json=body, headers=_auth(token)).status_code == 404  # once only
    logged = [e for e in audit_entries(world["store"], n["member"]) if e.action == "log_care"]
    assert logged and logged[0].detail["action"] == "award"


# -- the pages, where a browser is not needed ---------------------------------------------


def _sign_in(client: TestClient, name: str) -> None:
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    signed = client.post(
        "/login",
        data={"name": name, "password": PASSWORD, "csrf": csrf.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert signed.status_code == 303


def test_page_posts_need_the_csrf_token(world: dict[str, Any]) -> None:
    client = world["client"]
    _sign_in(client, "care")
    member = _busiest(world["store"])
    for url, data in (
        (f"/care/thanks/{member}", {"text": "谢谢"}),
        (f"/care/log/{member}", {"action": "call"}),
        (f"/care/vents/{world['channel'].id}/reply", {"text": "在的"}),
        (f"/care/vents/{world['channel'].id}/revoke", {}),
    ):
        refused = client.post(url, data={**data, "csrf": "forged"}, follow_redirects=False)
        assert refused.status_code == 403, url
    assert _get(world, "care", "/api/v1/care/log").json() == []


def test_exports_for_an_operator_leave_the_risk_out(world: dict[str, Any]) -> None:
    client = world["client"]
    _sign_in(client, "operator")
    csv = client.get("/awards/2026.csv")
    assert csv.status_code == 200 and csv.headers["cache-control"] == "no-store"
    assert csv.content.startswith(b"\xef\xbb\xbfcategory,")
    rows = list(csvlib.DictReader(io.StringIO(csv.content.decode("utf-8-sig"))))
    assert rows and "citation" in rows[0] and "burnout_risk" not in rows[0]
    assert all(r["citation"].startswith(r["name"]) for r in rows)
    xlsx = client.get("/awards/2026.xlsx")
    assert xlsx.content[:2] == b"PK" and "awards-2026.xlsx" in xlsx.headers["content-disposition"]
    assert "burnout_risk" not in client.get("/awards/2026.json").text
    _sign_in(client, "care")
    assert "burnout_risk" in client.get("/awards/2026.json").text


def test_exported_text_never_runs_as_a_formula() -> None:
    import polars as pl

    from anchorwatch.store.tables import inert

    evil = '=HYPERLINK("http://evil.example","点我")'
    frame = pl.DataFrame({"name": [evil, "+1 看置顶", "@小孙", "老王"], "rank": [1, 2, 3, 4]})
    out = inert(frame)
    assert out["name"].to_list() == ["'" + evil, "'+1 看置顶", "'@小孙", "老王"]
    assert out["rank"].to_list() == [1, 2, 3, 4]


def test_without_a_key_the_staff_inbox_refuses_to_run(world: dict[str, Any]) -> None:
    client = TestClient(create_app(world["store"], settings=WebSettings()))
    _sign_in(client, "care")
    page = client.get(f"/care/vents/{world['channel'].id}")
    assert page.status_code == 200 and 'id="refused"' in page.text
    assert "ANCHORWATCH_KEY_FILE" in page.text and 'id="reply-text"' not in page.text
    reply = client.post(
        f"/care/vents/{world['channel'].id}/reply",
        data={"text": "在的", "csrf": _csrf(client.get("/care/vents").text)},
    )
    assert reply.status_code == 503
    assert not [e for e in audit_entries(world["store"]) if e.action == "view_vents"]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)
