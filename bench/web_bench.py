"""The web app under 20 concurrent users: p50 / p95 / max latency per route.

    python bench/analyze_bench.py --dir /tmp/aw1m        # 1,000,000 demo messages, analysed
    python bench/web_bench.py --db sqlite:////tmp/aw1m/bench.db

Serves the app with ``anchorwatch serve`` in a child process on 127.0.0.1
(loopback only, a free port) over an analysed store, warms the view cache
(the first request of each view computes it: timed and printed apart), signs
in 20 simulated users (session cookies for the pages, API tokens for the
API), then lets them browse concurrently (asyncio + httpx) until
``--requests`` requests are made or ``--seconds`` have passed, whichever
comes first.  Each user asks only for what their role may open: the
watchlist and a member's risk for care roles, awards for admin, operator and
care.  Pages that answer 404 (not built yet) are skipped and listed.

The bench writes accounts, sessions, tokens and audit entries, so a SQLite
store is copied into a temporary folder first (``--in-place`` to skip the
copy); a PostgreSQL store is written to as given: use a throwaway copy.
Prints the machine and the data size beside the figures; the target is a p95
of at most 300 ms per route.  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

HOST = "127.0.0.1"
USERS = 20
ROLES = ("admin", "operator", "care", "analyst")
CARE = ("admin", "care")
TARGET_MS = 300.0
#: Requests per route in the one-user-at-a-time pass.
SOLO = 10


@dataclass(frozen=True)
class Route:
    """One route the users ask for: its name, URL pattern and who may."""

    name: str
    url: str
    roles: tuple[str, ...] = ROLES
    api: bool = False


ROUTES = (
    Route("/", "/"),
    Route("/anchors", "/anchors"),
    Route("/members/{id}", "/members/{member}"),
    Route("/watchlist", "/watchlist", CARE),
    Route("/awards", "/awards", ("admin", "operator", "care")),
    Route("/api/v1/overview", "/api/v1/overview", api=True),
    Route("/api/v1/members", "/api/v1/members?limit=50", api=True),
    Route("/api/v1/members/{id}", "/api/v1/members/{member}", api=True),
    Route("/api/v1/care/members/{id}/risk", "/api/v1/care/members/{member}/risk", CARE, True),
    Route("/api/v1/episodes", "/api/v1/episodes?limit=50", api=True),
    Route("/api/v1/episodes/{id}", "/api/v1/episodes/{episode}", api=True),
)


@dataclass
class User:
    name: str
    role: str
    password: str
    token: str = ""
    client: Any = None  # httpx.AsyncClient, one per user (its own cookies)


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _copy_sqlite(url: str, into: Path) -> str:
    source = Path(url.removeprefix("sqlite:///"))
    target = into / source.name
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{source}{suffix}")
        if part.exists():
            shutil.copy2(part, Path(f"{target}{suffix}"))
    return f"sqlite:///{target}"


def _data_size(url: str) -> str:
    from sqlalchemy import func, select

    from anchorwatch.store import open_store, schema

    store = open_store(url)
    with store.engine.connect() as conn:
        n = {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in (
                ("messages", schema.messages),
                ("members", schema.members),
                ("episodes", schema.episodes),
            )
        }
    store.close()
    size = ""
    if url.startswith("sqlite:///"):
        size = f", SQLite {Path(url.removeprefix('sqlite:///')).stat().st_size / 2**20:,.0f} MiB"
    return f"{n['messages']:,} messages, {n['members']:,} members, {n['episodes']:,} episodes{size}"


def _accounts(url: str, run: str) -> list[User]:
    from anchorwatch.store import open_store
    from anchorwatch.store.users import add_user, create_token

    store = open_store(url)
    users = []
    for i in range(USERS):
        user = User(f"bench-{run}-{i:02d}", ROLES[i % len(ROLES)], secrets.token_urlsafe(12))
        add_user(store, user.name, user.role, user.password)
        user.token = create_token(store, user.name)
        users.append(user)
    store.close()
    return users


def _serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    exe = [sys.executable, "-m", "anchorwatch", "serve", "--db", url, "--host", HOST]
    with log.open("wb") as out:
        proc = subprocess.Popen([*exe, "--port", str(port)], stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app did not start:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the app did not start within 60 s")


async def _login(client: httpx.AsyncClient, user: User) -> None:
    form = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, "no CSRF token on /login"
    r = await client.post(
        "/login",
        data={"name": user.name, "password": user.password, "csrf": token.group(1), "next": "/"},
    )
    if r.status_code != 303 or "/login" in r.headers.get("location", ""):
        raise SystemExit(f"{user.name} could not sign in ({r.status_code})")


def _url(route: Route, rng: random.Random, members: list[str], episodes: list[str]) -> str:
    return route.url.format(member=rng.choice(members), episode=rng.choice(episodes))


async def _get(user: User, route: Route, url: str) -> tuple[int, float]:
    headers = {"Authorization": f"Bearer {user.token}"} if route.api else {}
    t0 = time.perf_counter()
    r = await user.client.get(url, headers=headers)
    await r.aread()
    return r.status_code, (time.perf_counter() - t0) * 1000


async def _warm(
    admin: User, care: User, routes: tuple[Route, ...], members: list[str], episodes: list[str]
) -> tuple[list[Route], dict[str, float], list[str]]:
    """Ask each route once (this computes the cached views); drop the 404s."""
    rng = random.Random(0)
    live, first, missing = [], {}, []
    for route in routes:
        user = care if route.roles == CARE else admin
        status, ms = await _get(user, route, _url(route, rng, members, episodes))
        if status == 404:
            missing.append(route.name)
            continue
        first[route.name] = ms
        live.append(route)
    return live, first, missing


async def _browse(
    user: User,
    routes: list[Route],
    members: list[str],
    episodes: list[str],
    budget: list[int],
    deadline: float,
    results: Results,
    seed: int,
) -> None:
    rng = random.Random(seed)
    mine = [r for r in routes if user.role in r.roles]
    while budget[0] > 0 and time.monotonic() < deadline:
        budget[0] -= 1
        route = rng.choice(mine)
        try:
            status, ms = await _get(user, route, _url(route, rng, members, episodes))
        except httpx.HTTPError:
            results.errors[route.name] += 1
            continue
        if status >= 300:  # a redirect here means the session was lost
            results.errors[route.name] += 1
        results.latencies[route.name].append(ms)


async def _alone(
    admin: User, care: User, routes: list[Route], members: list[str], episodes: list[str]
) -> dict[str, float]:
    """Each route asked ``SOLO`` times by one user at a time: its own cost,
    without queueing behind the others."""
    rng = random.Random(1)
    out = {}
    for route in routes:
        user = care if route.roles == CARE else admin
        times = [
            (await _get(user, route, _url(route, rng, members, episodes)))[1] for _ in range(SOLO)
        ]
        out[route.name] = statistics.median(times)
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _run(url: str, port: int, users: list[User], args: argparse.Namespace) -> None:
    base = f"http://{HOST}:{port}"
    limits = httpx.Limits(max_connections=2)
    for user in users:
        user.client = httpx.AsyncClient(
            base_url=base, timeout=120, limits=limits, follow_redirects=False
        )
    admin = next(u for u in users if u.role == "admin")
    care = next(u for u in users if u.role == "care")
    try:
        await _login(admin.client, admin)
        await _login(care.client, care)
        t0 = time.perf_counter()
        listing = await admin.client.get(
            "/api/v1/members?limit=20", headers={"Authorization": f"Bearer {admin.token}"}
        )
        members = [m["member"] for m in listing.json()["items"]]
        found = await admin.client.get(
            "/api/v1/episodes?limit=20", headers={"Authorization": f"Bearer {admin.token}"}
        )
        episodes = [e["id"] for e in found.json()["items"]]
        warm_members = time.perf_counter() - t0
        if not members or not episodes:
            raise SystemExit("the store has no analysed members or episodes")
        t0 = time.perf_counter()
        wanted = tuple(r for r in ROUTES if r.name not in args.skip)
        routes, first, missing = await _warm(admin, care, wanted, members, episodes)
        warm_s = time.perf_counter() - t0 + warm_members
        print(
            f"warm-up (computes the cached views): {warm_s:,.1f} s; first request per route: "
            + ", ".join(f"{name} {ms / 1000:,.2f} s" for name, ms in first.items())
        )
        if missing:
            print("skipped (404, not built yet): " + ", ".join(missing))
        if args.skip:
            print("left out (--skip): " + ", ".join(args.skip))
        alone = await _alone(admin, care, routes, members, episodes)
        others = [u for u in users if u not in (admin, care)]
        await asyncio.gather(*(_login(u.client, u) for u in others))
        results = Results()
        budget = [args.requests]
        started = time.monotonic()
        deadline = started + args.seconds
        await asyncio.gather(
            *(
                _browse(u, routes, members, episodes, budget, deadline, results, i)
                for i, u in enumerate(users)
            )
        )
        wall = time.monotonic() - started
    finally:
        for user in users:
            if user.client is not None:
                await user.client.aclose()
    total = sum(len(v) for v in results.latencies.values())
    print(
        f"{USERS} concurrent users, {total:,} requests in {wall:,.1f} s "
        f"({total / wall:,.0f} requests/s)"
    )
    print(
        f"{'route':<34} {'alone':>7} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'errors':>6}  p95 target"
    )
    for route in routes:
        values = results.latencies.get(route.name, [])
        if not values:
            continue
        p95 = _pct(values, 0.95)
        print(
            f"{route.name:<34} {alone[route.name]:>7.0f} {len(values):>5} "
            f"{statistics.median(values):>8.0f} "
            f"{p95:>8.0f} {max(values):>8.0f} {results.errors.get(route.name, 0):>6}  "
            f"{'ok' if p95 <= TARGET_MS else 'MISSED'}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="an analysed store (SQLAlchemy URL)")
    ap.add_argument("--requests", type=int, default=3000, help="requests in all (default 3000)")
    ap.add_argument("--seconds", type=float, default=180, help="time limit (default 180 s)")
    ap.add_argument("--in-place", action="store_true", help="write into the SQLite file as is")
    ap.add_argument(
        "--skip", action="append", default=[], metavar="ROUTE", help="leave a route out (repeat)"
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aw-web-bench-"))
    url = args.db
    try:
        if url.startswith("sqlite:///") and not args.in_place:
            t0 = time.perf_counter()
            url = _copy_sqlite(url, work)
            print(f"copied the store to {work} in {time.perf_counter() - t0:,.1f} s")
        print(f"machine: {describe()}")
        print(f"data: {_data_size(url)}")
        users = _accounts(url, secrets.token_hex(3))
        port = _free_port()
        log = work / "serve.log"
        proc = _serve(url, port, log)
        try:
            asyncio.run(_run(url, port, users, args))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
