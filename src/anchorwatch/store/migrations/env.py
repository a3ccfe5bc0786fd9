"""Alembic environment: migrations run on the engine anchorwatch opened."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from anchorwatch.store.schema import metadata

config = context.config
target_metadata = metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things in place; batch mode rebuilds tables.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations()
