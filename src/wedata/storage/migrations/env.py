"""Alembic environment: batch mode (SQLite ALTERs) and the engine handed in by migrate.py."""

from __future__ import annotations

from alembic import context

from wedata.storage.schema import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    from sqlalchemy import create_engine

    engine = create_engine(config.get_main_option("sqlalchemy.url"))

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
