"""The raw bytes of a store's database files, for "no copy left" tests.

SQLite: the database file and its write-ahead log.  PostgreSQL: a ``pg_dump``
of the database (with the ``pg_dump`` of the server's own version, as
``scripts/with-postgres.sh`` finds it), plus — when the server's data
directory is readable from here, as with the throwaway server of that script —
the files of every table, TOAST table and index of the database after a
``CHECKPOINT``, so that dead row versions would show too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from glob import glob
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from anchorwatch.store import Store


def pg_dump_binary() -> str:
    found = sorted(glob("/usr/lib/postgresql/*/bin/pg_dump"), key=_version)
    binary = found[-1] if found else shutil.which("pg_dump")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pg_dump not found: CI must check the PostgreSQL dump")
        pytest.skip("pg_dump not found")
    return binary


def _version(path: str) -> tuple[int, ...]:
    part = Path(path).parent.parent.name
    return tuple(int(x) for x in part.split(".") if x.isdigit())


def database_bytes(store: Store) -> bytes:
    """Everything the database files of ``store`` hold, concatenated."""
    if store.dialect == "sqlite":
        db = store.engine.url.database
        assert db
        parts = [Path(db).read_bytes()]
        for suffix in ("-wal", "-journal"):
            extra = Path(db + suffix)
            if extra.exists():
                parts.append(extra.read_bytes())
        return b"".join(parts)
    url = make_url(store.url).set(drivername="postgresql")
    dump = subprocess.run(
        [pg_dump_binary(), "--no-owner", "--dbname", url.render_as_string(hide_password=False)],
        check=True,
        capture_output=True,
    ).stdout
    return dump + _pg_files(store)


def _pg_files(store: Store) -> bytes:
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CHECKPOINT"))
        root = Path(conn.execute(text("SELECT current_setting('data_directory')")).scalar_one())
        paths = conn.execute(
            text(
                "SELECT pg_relation_filepath(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname IN ('public', 'pg_toast') AND c.relkind IN ('r', 't', 'i')"
            )
        ).scalars()
        files = [root / p for p in paths if p]
    if not os.access(root, os.R_OK | os.X_OK):
        return b""  # a server elsewhere: the dump alone
    out = []
    for f in files:
        # The relation's file and its 1 GB segments (``16385``, ``16385.1``...).
        for seg in [f, *sorted(f.parent.glob(f.name + ".*"))]:
            if seg.exists():
                out.append(seg.read_bytes())
    return b"".join(out)


def assert_absent(blob: bytes, markers: list[str], where: str) -> None:
    for marker in markers:
        assert marker.encode("utf-8") not in blob, f"{marker!r} survives in {where}"
