"""The JSON API of the pages (DESIGN 3.4), on SQLite and PostgreSQL: every
route wants a token (401), roles are enforced (403), and the answers have the
documented shapes.  The store is the episodes fixture, imported and analysed
once per engine."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from anchorwatch.engines.episodes import run_episodes
from anchorwatch.engines.local import run_signals
from anchorwatch.ingest.loader import import_source
from anchorwatch.ingest.registry import open_source
from anchorwatch.members.value import QUADRANTS
from anchorwatch.signals.registry import get_detector
from anchorwatch.store import Store, open_store
from anchorwatch.store.audit import audit_entries
from anchorwatch.store.users import ROLES, add_user, create_token
from anchorwatch.web import create_app
from anchorwatch.web.routes.api_members import Quadrant
from anchorwatch.web.settings import WebSettings

from ..conftest import FIXTURES, _pg_admin_url

MINE = (
    "/api/v1/overview",
    "/api/v1/members",
    "/api/v1/members/{member_id}",
    "/api/v1/care/members/{member_id}/risk",
    "/api/v1/episodes",
    "/api/v1/episodes/{episode_id}",
    "/api/v1/imports",
    "/api/v1/imports/{job_id}",
    "/api/v1/imports/{job_id}/rejects",
    "/api/v1/analyses",
    "/api/v1/analyses/{job_id}",
)


@dataclass
class World:
    store: Store
    client: TestClient
    tokens: dict[str, str]

    def get(self, path: str, role: str = "analyst", **kw: Any) -> Any:
        return self.client.get(path, headers=auth(self.tokens[role]), **kw)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _analysed(store: Store, tmp_path: Path) -> None:
    source = open_source(FIXTURES / "jsonl" / "episodes.jsonl")
    assert import_source(store, source, rejects_path=tmp_path / "r.jsonl").exit_code == 0
    detector = get_detector()
    run_signals(store, detector)
    encoder = getattr(detector, "encoder", detector)
    run_episodes(store, embedder=getattr(encoder, "embedder", None))


def _people(store: Store) -> dict[str, str]:
    for role in ROLES:
        add_user(store, f"api-{role}", role, "password-123")
    return {role: create_token(store, f"api-{role}") for role in ROLES}


def _client(store: Store, tmp_path: Path) -> TestClient:
    settings = WebSettings(db=None, settings_dir=str(tmp_path / "settings"))
    return TestClient(create_app(store, settings=settings))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One analysed store per engine for the read-only tests of this module."""
    tmp = tmp_path_factory.mktemp("api")
    admin = None
    name = f"aw_test_{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'api.db'}"
    else:
        admin_url = _pg_admin_url()
        assert admin_url is not None
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    store = open_store(url)
    try:
        _analysed(store, tmp)
        yield World(store, _client(store, tmp), _people(store))
    finally:
        store.close()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _concrete(path: str) -> str:
    return re.sub(r"{[^}]+}", "x1", path)


def test_every_api_route_wants_a_token(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    routes = [
        (path, method.upper())
        for path, ops in spec["paths"].items()
        if path.startswith("/api/")
        for method in ops
    ]
    assert {p for p, _ in routes} >= set(MINE)
    for path, method in routes:
        url = _concrete(path)
        bare = world.client.request(method, url)
        assert bare.status_code == 401, (method, path, bare.status_code)
        assert bare.headers.get("www-authenticate") == "Bearer"
        wrong = world.client.request(method, url, headers=auth("not-a-token"))
        assert wrong.status_code == 401, (method, path, wrong.status_code)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/care/members/u_li/risk", {"admin", "care"}),
        ("POST", "/api/v1/imports", {"admin", "operator"}),
        ("GET", "/api/v1/imports/nope", {"admin", "operator"}),
        ("GET", "/api/v1/imports/nope/rejects", {"admin", "operator"}),
        ("POST", "/api/v1/analyses", {"admin", "operator"}),
        ("GET", "/api/v1/analyses/nope", {"admin", "operator"}),
    ],
)
def test_roles_are_enforced(world: World, method: str, path: str, allowed: set[str]) -> None:
    for role in ROLES:
        if role in allowed:
            continue
        r = world.client.request(method, path, headers=auth(world.tokens[role]))
        assert r.status_code == 403, (role, path, r.status_code)


def test_overview(world: World) -> None:
    r = world.get("/api/v1/overview")
    assert r.status_code == 200
    body = r.json()
    assert re.fullmatch(r"\d{4}-\d{2}", body["month"])
    metrics = {f["metric"] for f in body["summary"]}
    assert {"messages", "members", "mood", "heat", "anchors", "invisible_anchors"} <= metrics
    assert body["mood_daily"] and {"day", "mood", "heat", "mood_rolling"} <= set(
        body["mood_daily"][0]
    )
    assert {e["kind"] for e in body["episodes"]} <= {
        "newcomer_question",
        "conflict",
        "complaint",
        "arrival",
    }
    assert {q["quadrant"] for q in body["quadrants"]} == set(QUADRANTS)
    assert isinstance(body["repeated_questions"], list)
    again = world.get(f"/api/v1/overview?month={body['month']}")
    assert again.json() == body
    assert world.get("/api/v1/overview?month=2026-13").status_code == 422
    missing = world.get("/api/v1/overview?month=1999-01")
    assert missing.status_code == 404 and missing.json()["detail"] == "error.report_no_data"


def test_members_list(world: World) -> None:
    r = world.get("/api/v1/members?limit=5")
    assert r.status_code == 200
    body = r.json()
    assert body["period"] == "month" and body["settings_version"].startswith("members.v1")
    assert 0 < len(body["items"]) <= 5 and body["total"] >= len(body["items"])
    values = [m["value_index"] for m in body["items"]]
    assert values == sorted(values, reverse=True)
    first = body["items"][0]
    assert {"member", "name", "role", "quadrant", "acts", "thanks_received"} <= set(first)
    assert "burnout_risk" not in first and "level" not in first  # care only
    by_thanks = world.get("/api/v1/members?sort=thanks_received&limit=500").json()["items"]
    assert [m["thanks_received"] for m in by_thanks] == sorted(
        (m["thanks_received"] for m in by_thanks), reverse=True
    )
    quiet = world.get("/api/v1/members?quadrant=quiet&limit=500").json()
    assert all(m["quadrant"] == "quiet" for m in quiet["items"])
    year = world.get("/api/v1/members?period=year").json()
    assert re.fullmatch(r"\d{4}", year["at"])
    assert world.get(f"/api/v1/members?at={body['at']}&offset=1").json()["offset"] == 1
    assert world.get("/api/v1/members?limit=0").status_code == 422
    assert world.get("/api/v1/members?sort=burnout_risk").status_code == 422
    assert world.get("/api/v1/members?period=day").status_code == 422
    assert world.get("/api/v1/members?at=1999-01").status_code == 404


def test_member_detail_has_ledger_and_value_but_no_risk(world: World) -> None:
    top = world.get("/api/v1/members?limit=1").json()["items"][0]
    r = world.get(f"/api/v1/members/{top['member']}")
    assert r.status_code == 200
    body = r.json()
    assert body["member"] == top["member"] and body["ledger"]
    row = body["ledger"][-1]
    assert {"value_index", "value_parts", "channel_weight", "acts", "thanks_received"} <= set(row)
    assert set(row["value_parts"]) >= {"conflicts_calmed", "thanks_received"}
    assert "burnout_risk" not in row and "drivers" not in row
    assert world.get("/api/v1/members/nobody-here").status_code == 404


def test_risk_for_care_roles_is_audited(world: World) -> None:
    top = world.get("/api/v1/members?limit=1").json()["items"][0]["member"]
    r = world.get(f"/api/v1/care/members/{top}/risk", role="care")
    assert r.status_code == 200
    body = r.json()
    assert body["member"] == top and body["level"] in ("low", "medium", "high", None)
    assert set(body["hazards"]) == {"exhaustion", "cynicism", "inefficacy", "withdrawal"}
    for d in body["drivers"]:
        assert {"dimension", "name", "value", "baseline", "score", "evidence"} <= set(d)
    entries = [e for e in audit_entries(world.store, member=top) if e.action == "view_risk"]
    assert entries and entries[0].user_name == "api-care"
    assert world.get(f"/api/v1/care/members/{top}/risk", role="admin").status_code == 200
    assert world.get("/api/v1/care/members/nobody/risk", role="care").status_code == 404


def test_episodes(world: World) -> None:
    r = world.get("/api/v1/episodes?limit=50")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] >= len(body["items"]) > 0
    starts = [e["started_at"] for e in body["items"]]
    assert starts == sorted(starts, reverse=True)
    ep = body["items"][0]
    assert {"id", "kind", "subject", "subject_name", "outcome", "message_count"} <= set(ep)
    kind = ep["kind"]
    only = world.get(f"/api/v1/episodes?kind={kind}").json()["items"]
    assert only and all(e["kind"] == kind for e in only)
    mine = world.get(f"/api/v1/episodes?member={ep['subject']}").json()
    assert mine["total"] >= 1 and ep["id"] in {e["id"] for e in mine["items"]}
    assert world.get("/api/v1/episodes?kind=party").status_code == 422
    assert world.get("/api/v1/episodes?limit=501").status_code == 422

    with_acts = next(
        e for e in body["items"] if world.get(f"/api/v1/episodes/{e['id']}").json()["acts"]
    )
    detail = world.get(f"/api/v1/episodes/{with_acts['id']}").json()
    assert detail["id"] == with_acts["id"]
    assert len(detail["messages"]) >= detail["message_count"]
    msg = detail["messages"][0]
    assert {"id", "author", "author_name", "sent_at", "text", "labels", "spans"} <= set(msg)
    assert re.search(r"[+-]\d{2}:\d{2}$", msg["sent_at"])  # the offset it was written in
    act = detail["acts"][0]
    assert {"message", "member", "act", "score", "evidence"} <= set(act)
    acted = next(m for m in detail["messages"] if m["id"] == act["message"])
    assert act["act"] in acted["acts"]
    for m in detail["messages"]:
        for spans in m["spans"].values():
            assert all(0 <= a < b <= len(m["text"]) for a, b in spans)
    assert world.get("/api/v1/episodes/ep_nothing").status_code == 404


def test_quadrant_choices_match_the_value_index() -> None:
    assert set(get_args(Quadrant)) == set(QUADRANTS)


def test_openapi_describes_the_routes(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    for path in MINE:
        assert path in spec["paths"], path
    ok = spec["paths"]["/api/v1/members"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/MembersPage")
    body = spec["paths"]["/api/v1/imports"]["post"]["requestBody"]["content"]
    assert "file" in body["multipart/form-data"]["schema"]["properties"]
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()
    for name in ("Overview", "MemberDetail", "Risk", "EpisodeDetail", "JobOut", "RejectOut"):
        assert name in spec["components"]["schemas"], name


# ------------------------------------------------------------ import and analysis


def _wait(client: TestClient, url: str, token: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(url, headers=auth(token)).json()
        if body["state"] != "running" or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_import_and_analysis_through_the_api(store: Store, tmp_path: Path) -> None:
    client = _client(store, tmp_path)
    tokens = _people(store)
    data = (FIXTURES / "jsonl" / "malformed.jsonl").read_bytes()
    r = client.post(
        "/api/v1/imports",
        headers={**auth(tokens["operator"]), "Accept-Language": "en"},
        files={"file": ("../../community export.jsonl", data, "application/json")},
        data={"timezone": "Asia/Shanghai"},
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["kind"] == "import" and job["label"] == "community_export.jsonl"
    done = _wait(client, f"/api/v1/imports/{job['id']}", tokens["operator"])
    assert done["state"] == "done", done
    assert done["summary"]["read"] == 19 and done["rejected"] == 16  # a blank line is no row
    assert done["summary"]["new"]["messages"] >= 1
    rejects = client.get(
        f"/api/v1/imports/{job['id']}/rejects", headers=auth(tokens["admin"])
    ).json()
    assert len(rejects) == 16 and [r["line"] for r in rejects][:3] == [3, 4, 5]
    assert rejects[0]["reason"] == 'missing required field "text"'  # Accept-Language: en
    page = client.get(
        f"/api/v1/imports/{job['id']}/rejects?offset=15&limit=5", headers=auth(tokens["admin"])
    ).json()
    assert [r["line"] for r in page] == [20]
    assert (
        client.get(f"/api/v1/analyses/{job['id']}", headers=auth(tokens["admin"])).status_code
        == 404
    )  # an import is not an analysis

    r = client.post("/api/v1/analyses", headers=auth(tokens["admin"]))
    assert r.status_code == 202
    done = _wait(client, f"/api/v1/analyses/{r.json()['id']}", tokens["admin"])
    assert done["state"] == "done", done
    assert done["summary"]["scored"] >= 1


def test_import_refusals_through_the_api(sqlite_store: Store, tmp_path: Path) -> None:
    client = _client(sqlite_store, tmp_path)
    token = _people(sqlite_store)["admin"]
    r = client.post(
        "/api/v1/imports",
        headers=auth(token),
        files={"file": ("payload.exe", b"MZ....", "application/octet-stream")},
    )
    assert r.status_code == 415 and r.json()["detail"]["code"] == "error.upload_type"
    r = client.post(
        "/api/v1/imports",
        headers=auth(token),
        files={"file": ("table.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert r.status_code == 400
    assert r.json()["detail"]["code"] == "web.import.error.mapping_required"
    r = client.post("/api/v1/imports", headers=auth(token), data={"format": "jsonl"})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "error.upload_missing"
