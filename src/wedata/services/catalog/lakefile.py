"""Reading the lake's metadata: the built-in DuckDB file (executors/sql/contract.lake_path).

Mapping: DLC has catalog → database → table, no schema level. The lake is the catalog
``DataLakeCatalog``; a DuckDB schema of the file is a DLC database (Spark SQL's ``CREATE
DATABASE sales`` becomes DuckDB's ``CREATE SCHEMA sales``; ``main`` is DuckDB's default one);
its tables are ``MANAGED_TABLE`` and its views ``VIRTUAL_VIEW`` (Hive's words, which DLC's
answers use), with ``SchemaName`` null. Types are DuckDB's, in lower case as DLC shows them
(``decimal(10,2)``); descriptions are ``COMMENT ON``.

Sharing the file: DuckDB lets one process write a file, or any number read it. While a DLC run
holds the lake read-write in another process, a read-only open fails on the file lock, so the
catalog retries for a short while (:data:`OPEN_ATTEMPTS`) and then gives up with
:class:`LakeBusy`: the caller serves the cached catalog and refreshes later. Inside this process
DuckDB refuses a read-only connection beside a read-write one ("different configuration"): then
the file is open here already, and a default (read-write) connection shares that instance without
taking another lock. The catalog's own read-only connection holds the file's shared lock only for
the few queries of an introspection; the lake runtime retries its open as briefly as this does.

A lake file that does not exist yet is an empty lake (the catalog never creates it).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from wedata.services.catalog.model import ColumnMeta, DatabaseMeta, Snapshot, TableMeta
from wedata.storage.catalog_tables import NAME_MAX

OPEN_ATTEMPTS = 6  # 0.05 + 0.1 + 0.2 + 0.4 + 0.8 s between them: about 1.5 s in all
_INTERNAL_SCHEMAS = ("information_schema", "pg_catalog")


class LakeBusy(Exception):
    """The lake file is held by a writer in another process: serve the cache, refresh later."""


def _connect(path: Path) -> Any:
    import duckdb

    delay = 0.05
    for attempt in range(OPEN_ATTEMPTS):
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.ConnectionException as exc:
            if "different configuration" in str(exc):
                return duckdb.connect(str(path))  # open read-write in this process: share it
            raise
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if attempt == OPEN_ATTEMPTS - 1:
                raise LakeBusy(f"the lake is busy (a writer holds {path.name}); the cached catalog is shown") from None
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def read_lake(path: Path) -> Snapshot:
    if not path.exists():
        return Snapshot()
    conn = _connect(path)
    try:
        where = "database_name = current_database()"
        schemas = conn.execute(
            f"SELECT schema_name, comment FROM duckdb_schemas() WHERE {where} "
            f"AND schema_name NOT IN {_INTERNAL_SCHEMAS}"
        ).fetchall()
        tables = conn.execute(
            f"SELECT schema_name, table_name, comment, 'MANAGED_TABLE' FROM duckdb_tables() "
            f"WHERE {where} AND NOT temporary "
            f"UNION ALL SELECT schema_name, view_name, comment, 'VIRTUAL_VIEW' FROM duckdb_views() "
            f"WHERE {where} AND NOT internal AND NOT temporary"
        ).fetchall()
        columns = conn.execute(
            f"SELECT schema_name, table_name, column_name, data_type, character_maximum_length, comment "
            f"FROM duckdb_columns() WHERE {where} ORDER BY schema_name, table_name, column_index"
        ).fetchall()
    finally:
        conn.close()
    by_table: dict[tuple[str, str], list[ColumnMeta]] = {}
    for schema, table, name, data_type, length, comment in columns:
        cols = by_table.setdefault((schema, table), [])
        cols.append(ColumnMeta(name, str(data_type).lower(), length, comment or None, len(cols)))
    snap = Snapshot()
    snap.databases = [DatabaseMeta(s, c or None) for s, c in sorted(schemas) if len(s) <= NAME_MAX]
    snap.tables = [
        TableMeta(s, None, t, kind, c or None, columns=tuple(by_table.get((s, t), ())))
        for s, t, c, kind in tables if len(s) <= NAME_MAX and len(t) <= NAME_MAX
    ]
    return snap
