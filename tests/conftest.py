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
