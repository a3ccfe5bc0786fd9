"""Opening a store: URL resolution, engine settings, schema migrations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import StaticPool

from anchorwatch.store import schema

DEFAULT_DB_FILE = "anchorwatch.db"


class StoreError(RuntimeError):
    """The store cannot be opened or used; ``code`` is an ``error.*`` i18n key."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params


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

    def close(self) -> None:
        self.engine.dispose()


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
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
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
