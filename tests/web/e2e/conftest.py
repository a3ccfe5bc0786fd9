"""Real headless Chromium against the real app on a loopback port.

One demo community (a year, 4,000 messages) is generated, imported and
analysed once per session; the app is served by uvicorn in a thread on
127.0.0.1; Playwright drives the system's Chromium (``chromium`` from Debian,
or ``ANCHORWATCH_CHROMIUM``).  Without a browser the tests skip locally and
FAIL under ``CI=true``.  Screenshots go to ``docs/screenshots/`` (the README
links them).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ...conftest import copy_demo_year

SCREENSHOTS = Path(__file__).parents[3] / "docs" / "screenshots"
PASSWORD = "demo-pass-2026"
USERS = {"admin": "admin", "operator": "operator", "care": "care", "analyst": "analyst"}


def chromium_path() -> str | None:
    explicit = os.environ.get("ANCHORWATCH_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Site:
    url: str
    db: str
    store: Any
    vent_link: str
    key_file: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def site(demo_year_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    import uvicorn

    from anchorwatch.care.vault import create_key_file
    from anchorwatch.store import open_store
    from anchorwatch.store.users import add_user
    from anchorwatch.store.venting import invite
    from anchorwatch.web import create_app
    from anchorwatch.web.settings import WebSettings

    root = tmp_path_factory.mktemp("site")
    db = copy_demo_year(demo_year_db, root)
    store = open_store(db)
    for name, role in USERS.items():
        add_user(store, name, role, PASSWORD)
    key_file = root / "keys.json"
    create_key_file(key_file)
    token, _channel = invite(store, "u0002", "care", days=30)
    settings = WebSettings(db=db, key_file=str(key_file))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(store, settings=settings), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}", db, store, f"/vent/{token}", key_file)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no Chromium: CI must install it (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    yield pg
    context.close()


def login(page: Any, site: Site, user: str) -> None:
    page.goto(f"{site.url}/login")
    page.fill("#name", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
