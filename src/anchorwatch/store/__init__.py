"""The store: SQLAlchemy 2 over a SQLite file (default) or PostgreSQL.

>>> store = open_store("sqlite://")          # in memory, migrated to head
>>> store.count("messages")
0
"""

from anchorwatch.store.engine import Store, StoreError, open_store, resolve_db_url, utc_now

__all__ = ["Store", "StoreError", "open_store", "resolve_db_url", "utc_now"]
