"""Opening a store: URL resolution, engine settings, schema migrations."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import StaticPool

from anchorwatch.store import schema

DEFAULT_DB_FILE = "anchorwatch.db"
#: How long a SQLite connection waits for a lock held by another one.
SQLITE_TIMEOUT_S = 30


class StoreError(RuntimeError):
    """The store cannot be opened or used; ``code`` is an ``error.*`` i18n key."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params


def utc_now() -> datetime:
    """Now, as the store keeps every time: UTC without a zone."""
    return datetime.now(UTC).replace(tzinfo=None)


def resolve_db_url(db: str | None = None) -> str:
    """Turn ``--db`` (a URL or a file path) into a SQLAlchemy URL.

    ``None`` means the ``ANCHORWATCH_DB`` environment variable, else
    ``anchorwatch.db`` in the current directory.  PostgreSQL URLs are given the
    psycopg 3 driver.

    >>> resolve_db_url("postgresql://u@localhost/aw")
    'postgresql+psycopg://u@localhost/aw'
    >>> resolve_db_url("sqlite://")
    'sqlite://'
    """
    value = db or os.environ.get("ANCHORWATCH_DB") or DEFAULT_DB_FILE
    if "://" not in value:
        return "sqlite:///" + str(Path(value).expanduser().resolve())
    for prefix in ("postgresql://", "postgres://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix) :]
    return value


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the web app read while an import writes; NORMAL sync is safe with WAL.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Deleted pages are zeroed, so erased text does not linger in the file.
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


class Store:
    """A migrated database and the engine to reach it.

    Parameters
    ----------
    url:
        A SQLAlchemy URL (see :func:`resolve_db_url`).
    """

    #: How long :meth:`compact` waits for readers of a SQLite file in other
    #: processes before it gives up (``error.wal_busy``).
    busy_wait_s: float = 5.0

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = _make_engine(url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def upgrade(self) -> str:
        """Bring the schema to the newest migration; returns the revision."""
        from anchorwatch.store.migrate import upgrade

        return upgrade(self.engine)

    def revision(self) -> str | None:
        from anchorwatch.store.migrate import current_revision

        return current_revision(self.engine)

    def count(self, table: str) -> int:
        tbl = schema.metadata.tables[table]
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(tbl)).scalar_one())

    def counts(self) -> dict[str, int]:
        names = ("members", "conversations", "messages", "joins", "reactions", "metrics")
        return {name: self.count(name) for name in names}

    def compact(self, tables: Iterable[str] = ()) -> None:
        """Rewrite the database files so that deleted rows leave no copy behind.

        Erasure and the retention policy call this after they delete text.
        SQLite already zeroes deleted pages (``secure_delete``); here the
        write-ahead log is checkpointed and truncated, the file is rebuilt
        (``VACUUM``: no free page keeps an old copy) and the log is truncated
        again.  PostgreSQL marks deleted rows dead and reuses their space
        later; ``VACUUM (FULL)`` rewrites each of ``tables`` (and its TOAST
        data) into fresh files now.  Neither can reach backups, replicas or
        PostgreSQL's own write-ahead log; docs/privacy.md says what to do there.
        """
        autocommit = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        with autocommit as conn:
            if self.dialect == "sqlite":
                _checkpoint(conn, self.busy_wait_s)
                conn.exec_driver_sql("VACUUM")
                _checkpoint(conn, self.busy_wait_s)
            elif self.dialect == "postgresql":
                known = set(schema.metadata.tables)
                for name in dict.fromkeys(tables):
                    if name not in known:
                        raise ValueError(f"unknown table {name!r}")
                    conn.exec_driver_sql(f'VACUUM (FULL, ANALYZE) "{name}"')

    def close(self) -> None:
        self.engine.dispose()


def _checkpoint(conn: Any, wait_s: float) -> None:
    """Copy the SQLite write-ahead log into the file and truncate it to zero
    bytes, waiting up to ``wait_s`` for readers of other connections."""
    conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_s * 1000)}")
    try:
        busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_TIMEOUT_S * 1000}")
    if busy is not None and busy[0]:
        raise StoreError("error.wal_busy")


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


def _make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError("error.db_open", url=url, detail=str(exc)) from None
    kwargs: dict[str, Any] = {
        "json_serializer": _json_dumps,
        "json_deserializer": orjson.loads,
    }
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_TIMEOUT_S}
    try:
        engine = create_engine(parsed, **kwargs)
    except Exception as exc:  # unknown driver, bad options
        raise StoreError("error.db_open", url=url, detail=str(exc)) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def open_store(db: str | None = None, *, upgrade: bool = True) -> Store:
    """Open (and by default migrate) the store named by ``db``.

    A new SQLite file is created on first use; nothing needs to be started.
    """
    store = Store(resolve_db_url(db))
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if upgrade:
            store.upgrade()
    except OperationalError as exc:
        store.close()
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError("error.db_open", url=store.display_url, detail=detail) from None
    return store
