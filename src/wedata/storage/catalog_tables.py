"""Catalog tables (migration 0011_catalog), on the shared ``metadata``: the cached metadata of
the data sources and the lake (services/catalog/).

Conventions as in tables.py. One ``catalog_sources`` row per catalogued source, keyed by a
*source key*: ``ds:<data source id>`` for a data source (whose ids are never reused), ``lake``
for the built-in DuckDB lake. Its databases, schemas and tables hang off that key and go with
it (``ON DELETE CASCADE``; deleting a data source deletes its catalog).

GUIDs are derived, not drawn (services/catalog/model.py): the same object of the same source has
the same GUID in every snapshot, on every server start. A table's columns are one JSON list on
its row (``[[name, type, length, description, position, is_partition], ...]``): they are only
ever read for one table (GetTableColumns), and a refresh of 2,000 tables writes 2,000 rows, not
tens of thousands.

A snapshot is the source's state as introspected at ``snapshot_at`` (when the introspection
started). ``stale_at`` is the last time something (a SQL run that executed DDL) said the source
changed: a snapshot older than that mark is due for a refresh. :func:`mark_stale` is a plain
storage write so that the engine and the executors, which may not import services, can mark a
source stale inside their own transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from wedata.storage.datasource_tables import data_sources
from wedata.storage.tables import BigId, metadata

LAKE_KEY = "lake"
NAME_MAX = 255  # database, schema and table names longer than this are not catalogued

catalog_sources = Table(
    "catalog_sources",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("data_source_id", BigId, ForeignKey("data_sources.id", ondelete="CASCADE")),
    Column("snapshot_at", DateTime),  # when the stored snapshot's introspection started
    Column("digest", String(64)),  # of the stored snapshot: an unchanged refresh rewrites nothing
    Column("stale_at", DateTime),  # last mark_stale
    Column("attempted_at", DateTime),  # last refresh attempt (success or failure)
    Column("error", Text),  # why the last attempt failed; None after a success
)

catalog_databases = Table(
    "catalog_databases",
    metadata,
    Column("guid", String(22), primary_key=True),
    Column("source_key", String(80), ForeignKey("catalog_sources.key", ondelete="CASCADE"), nullable=False),
    Column("name", String(NAME_MAX), nullable=False),
    Column("description", Text),
    Column("location", Text),
    Column("storage_size", BigInteger),
)
Index("ix_catalog_databases_source", catalog_databases.c.source_key, catalog_databases.c.name)

catalog_schemas = Table(
    "catalog_schemas",
    metadata,
    Column("guid", String(22), primary_key=True),
    Column("source_key", String(80), ForeignKey("catalog_sources.key", ondelete="CASCADE"), nullable=False),
    Column("database_name", String(NAME_MAX), nullable=False),
    Column("name", String(NAME_MAX), nullable=False),
)
Index("ix_catalog_schemas_source", catalog_schemas.c.source_key, catalog_schemas.c.database_name,
      catalog_schemas.c.name)

catalog_tables = Table(
    "catalog_tables",
    metadata,
    Column("guid", String(22), primary_key=True),
    Column("source_key", String(80), ForeignKey("catalog_sources.key", ondelete="CASCADE"), nullable=False),
    Column("database_name", String(NAME_MAX), nullable=False),
    Column("schema_name", String(NAME_MAX)),  # None where the source has no schema level
    Column("name", String(NAME_MAX), nullable=False),
    Column("table_type", String(32), nullable=False),
    Column("description", Text),
    Column("owner", String(NAME_MAX)),
    Column("location", Text),
    Column("storage_size", BigInteger),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("fingerprint", String(64), nullable=False),  # of the definition: a change moves updated_at
    Column("columns", JSON, nullable=False),
)
Index("ix_catalog_tables_source", catalog_tables.c.source_key, catalog_tables.c.database_name,
      catalog_tables.c.schema_name, catalog_tables.c.name)


def source_key(data_source_id: int | None) -> str:
    """The catalog key of a data source (None: the built-in lake)."""
    return LAKE_KEY if data_source_id is None else f"ds:{data_source_id}"


def ensure_source(conn: Connection, key: str, data_source_id: int | None) -> bool:
    """Make sure the source's row exists (False when the data source itself is gone)."""
    if data_source_id is not None:
        present = conn.execute(select(data_sources.c.id).where(data_sources.c.id == data_source_id)).first()
        if present is None:
            return False
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(catalog_sources).values(key=key, data_source_id=data_source_id)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return True


def mark_stale(conn: Connection, data_source_id: int | None, now: datetime) -> None:
    """Say that a source's objects changed (DDL ran on it): its snapshot is due for a refresh.

    Cheap (one row), safe inside any write transaction, from any process: the next read of the
    source, or the next pass of the refresh worker, introspects it again."""
    key = source_key(data_source_id)
    if ensure_source(conn, key, data_source_id):
        conn.execute(update(catalog_sources).where(catalog_sources.c.key == key).values(stale_at=now))
