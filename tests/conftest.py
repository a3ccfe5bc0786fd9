"""Shared fixtures: a real store on SQLite and on PostgreSQL.

``store_url`` is parametrised over both engines, so every test that takes it
runs twice.  PostgreSQL comes from ``ANCHORWATCH_TEST_PG`` (set by
``scripts/with-postgres.sh``, which ``make test`` uses); each test gets a fresh
database of its own.  Under ``CI=true`` a missing server fails the test instead
of skipping it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from anchorwatch.store import Store, open_store, resolve_db_url

FIXTURES = Path(__file__).parent / "fixtures"


def _pg_admin_url() -> str | None:
    url = os.environ.get("ANCHORWATCH_TEST_PG")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("ANCHORWATCH_TEST_PG is not set: CI must test PostgreSQL")
        pytest.skip("no PostgreSQL (run through scripts/with-postgres.sh or make test)")
    return resolve_db_url(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'anchorwatch.db'}"
        return
    admin_url = _pg_admin_url()
    assert admin_url is not None
    name = f"aw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'anchorwatch.db'}")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def demo_year_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A year of demo community (4,000 messages, seed 3), generated, imported
    and analysed once per test session.  Tests that write to it take their own
    copy (:func:`copy_demo_year`)."""
    import sqlite3

    from typer.testing import CliRunner

    from anchorwatch.cli import app

    mp = pytest.MonkeyPatch()
    mp.setenv("ANCHORWATCH_LOCALE", "en")
    root = tmp_path_factory.mktemp("demo-year")
    data = root / "community.jsonl"
    db = root / "aw.db"
    runner = CliRunner()
    for args in (
        ["demo-data", str(data), "-n", "4000", "--seed", "3"],
        ["import", str(data), "--db", f"sqlite:///{db}", "-q"],
        ["analyze", "--db", f"sqlite:///{db}", "-q"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    mp.undo()
    # Everything into the main file, so that a copy of it is the whole store.
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


def copy_demo_year(source: Path, folder: Path) -> str:
    """A private copy of the demo store in ``folder``; returns its URL."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "aw.db"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"
