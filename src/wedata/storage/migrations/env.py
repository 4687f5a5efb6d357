"""Alembic environment: batch mode (SQLite ALTERs) and the engine handed in by migrate.py."""

from __future__ import annotations

from alembic import context

from wedata.storage.schema import include_object, metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    from sqlalchemy import create_engine

    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database: run migrations through `wedata db upgrade` or set sqlalchemy.url")
    engine = create_engine(url)

# "wedata_write" makes SQLite open the transaction with BEGIN IMMEDIATE (storage/db.py), so a
# migration either applies whole or not at all.
with engine.connect() as connection:
    connection = connection.execution_options(wedata_write=True)
    with connection.begin():
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                          include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
