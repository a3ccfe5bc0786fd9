"""The Alembic migrations build exactly the tables of store/schema.py, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from anchorwatch.store import Store, open_store
from anchorwatch.store.migrate import head_revision, upgrade
from anchorwatch.store.schema import metadata


def test_migrated_schema_matches_models(store: Store) -> None:
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == []
    assert store.revision() == head_revision()


def test_upgrade_is_repeatable(store_url: str) -> None:
    first = open_store(store_url)
    rev = first.revision()
    first.close()
    again = open_store(store_url)
    assert upgrade(again.engine) == rev
    again.close()


def test_downgrade_to_base_and_back(store: Store) -> None:
    from alembic import command

    from anchorwatch.store.migrate import alembic_config

    command.downgrade(alembic_config(store.engine), "base")
    assert store.revision() is None
    store.upgrade()
    assert store.revision() == head_revision()
