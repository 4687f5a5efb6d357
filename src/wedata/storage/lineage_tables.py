"""Lineage tables (migration 0012_lineage), on the shared ``metadata`` (services/lineage/).

Conventions as in tables.py.

- ``lineage_nodes``: one row per resource that takes part in an edge, keyed by a node id
  derived from (platform, resource type, unique id) (services/lineage/model.py). A WeData table's
  unique id is its catalog GUID, a column's ``<table GUID>::<column name>`` (the spec's rule).
- ``lineage_processes``: what produced edges: a SQL task (``SCHEDULE_TASK``/``SQL_TASK``, the
  task id), a SQL script (``SQL_SCRIPT``, the script id), or a process a caller registered.
  ``run_seq`` is the id of the last ``lineage_runs`` row applied (a later run wins even when two
  workers apply runs of one process out of order).
- ``lineage_edges``: source node → target node, produced by a process; ``manual`` for the edges
  RegisterLineage added (automatic refresh never touches those).
- ``lineage_runs``: the raw material of automatic lineage: the statements a successful SQL
  attempt or script run executed, where, and as which process. The engine and the SQL script
  worker write a row with :func:`record_run` inside their own transaction (one INSERT: the engine
  stays fast and imports no services); the lineage worker parses it and sets ``done_at`` and a
  ``note`` saying what it recorded or why nothing.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
)

from wedata.storage.tables import BigId, metadata

UNIQUE_ID_MAX = 512
NAME_MAX = 512
MAX_RECORDED_CHARS = 2 * 1024 * 1024  # a larger script is recorded without its statements

lineage_nodes = Table(
    "lineage_nodes",
    metadata,
    Column("node_id", String(22), primary_key=True),
    Column("platform", String(16), nullable=False),  # WEDATA | THIRD
    Column("resource_type", String(16), nullable=False),  # TABLE | COLUMN | METRIC | MODEL | SERVICE
    Column("unique_id", String(UNIQUE_ID_MAX), nullable=False),
    Column("name", String(NAME_MAX), nullable=False),
    Column("description", Text),
    Column("properties", JSON),  # [[name, value], ...]
    Column("table_guid", String(22)),  # a WeData column's table
    Column("source_key", String(80)),  # a WeData table's or column's catalog source (who may see it)
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("platform", "resource_type", "unique_id"),
)

lineage_processes = Table(
    "lineage_processes",
    metadata,
    Column("node_id", String(22), primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("process_type", String(32), nullable=False),
    Column("process_id", String(UNIQUE_ID_MAX), nullable=False),
    Column("sub_type", String(32)),
    Column("properties", JSON),  # [[name, value], ...]
    Column("run_seq", BigId),  # the last lineage_runs row applied
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("platform", "process_type", "process_id"),
)

lineage_edges = Table(
    "lineage_edges",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source_node", String(22), ForeignKey("lineage_nodes.node_id", ondelete="CASCADE"), nullable=False),
    Column("target_node", String(22), ForeignKey("lineage_nodes.node_id", ondelete="CASCADE"), nullable=False),
    Column("process_node", String(22), ForeignKey("lineage_processes.node_id", ondelete="CASCADE"),
           nullable=False),
    Column("level", String(16), nullable=False),  # TABLE | COLUMN | the resource type of both ends
    Column("manual", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("source_node", "target_node", "process_node", "manual"),
)
Index("ix_lineage_edges_source", lineage_edges.c.source_node, lineage_edges.c.target_node)
Index("ix_lineage_edges_target", lineage_edges.c.target_node, lineage_edges.c.source_node)
Index("ix_lineage_edges_process", lineage_edges.c.process_node, lineage_edges.c.manual)

lineage_runs = Table(
    "lineage_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("process_type", String(32), nullable=False),  # SCHEDULE_TASK | SQL_SCRIPT
    Column("process_id", String(64), nullable=False),  # the task id | the script id
    Column("process_name", String(256)),
    Column("source_id", BigId),  # the data source; None: the built-in lake
    Column("dialect", String(16), nullable=False),  # sqlglot's: postgres | mysql | spark | duckdb
    Column("database", String(255)),  # the connection's database (unqualified names mean it)
    Column("default_schema", String(255)),  # the lake's default database (a DLC engine's)
    Column("statements", JSON),  # the executed statements, in order; None when too large
    Column("recorded_at", DateTime, nullable=False),
    Column("done_at", DateTime),
    Column("note", Text),  # what the worker recorded, or why nothing
)
Index("ix_lineage_runs_pending", lineage_runs.c.done_at, lineage_runs.c.id)


# A statement that only reads (no lineage edge can come of it). ``SELECT ... INTO`` creates a
# table (PostgreSQL) or writes a file (MySQL): not a read. ``WITH`` may lead to an INSERT.
_READ_ONLY = re.compile(r"\s*(?:select|show|describe|desc|explain|values|set|use)\b", re.IGNORECASE)
_INTO = re.compile(r"\binto\b", re.IGNORECASE)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def only_reads(statements: list[str]) -> bool:
    for sql in statements:
        text = _COMMENTS.sub(" ", sql)
        if not _READ_ONLY.match(text) or _INTO.search(text):
            return False
    return True


def record_run(conn: Connection, *, process_type: str, process_id: str, process_name: str | None,
               source_id: int | None, dialect: str, database: str | None, default_schema: str | None,
               statements: list[str], now: datetime) -> bool:  # fmt: skip
    """Hand the statements of a successful run to the lineage worker: one INSERT, safe in any
    write transaction (the engine's, the SQL script worker's). Not recorded (False) when every
    statement only reads and the process never had lineage: no edge could come of it, and
    nothing of an earlier run is left to replace (ad-hoc queries, ``SELECT 1`` health checks)."""
    if only_reads(statements) and conn.execute(select(lineage_processes.c.node_id).where(
            lineage_processes.c.process_type == process_type,
            lineage_processes.c.process_id == process_id)).first() is None:
        return False
    size = sum(len(s) for s in statements)
    conn.execute(insert(lineage_runs).values(
        process_type=process_type, process_id=process_id, process_name=(process_name or "")[:256],
        source_id=source_id, dialect=dialect, database=database, default_schema=default_schema,
        statements=statements if size <= MAX_RECORDED_CHARS else None, recorded_at=now,
        note=None if size <= MAX_RECORDED_CHARS else f"the script is too large for lineage ({size} characters)",
    ))
    return True
