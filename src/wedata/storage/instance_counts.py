"""How many task instances a project has, by day, state, type, cycle and task type, without a COUNT.

PostgreSQL only: statement triggers on ``task_instances`` (migrations 0026_instance_counts and
0033_count_start_end, which added the days of the start and the end to the key) write
each change's delta into ``task_instance_counts`` in the same transaction, so a sum read here in
one snapshot is exactly the COUNT of the instances that snapshot sees. On a million instances that
sum reads a handful of rows where the COUNT walked a million index entries (~90 ms). SQLite has no
triggers for it (``by_day`` answers None there) and its lists keep counting rows.

The deltas grow by about two rows per state change; ``fold`` (the engine's sweep) replaces them
with one row per key, in one statement, so a reader sees the rows before or after it, never half.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, text

from wedata.storage.engine_tables import task_instance_counts as C

# The columns counted; a list filtered by anything else counts its rows.
COUNTED = ("state", "instance_type", "cycle_type", "task_type_id")

# Fold when there are more delta rows than this (a fold of a compact table would only rewrite it).
FOLD_ABOVE = 1000

_KEY = "project_id, scheduled_day, started_day, ended_day, state, instance_type, cycle_type, task_type_id"

# The days the counts are kept by (UTC): of the scheduled time, the latest start, the latest end.
DAYS = ("scheduled_day", "started_day", "ended_day")
_FOLD = text(
    f"WITH gone AS (DELETE FROM task_instance_counts RETURNING {_KEY}, n) "
    f"INSERT INTO task_instance_counts ({_KEY}, n) "
    f"SELECT {_KEY}, sum(n) FROM gone GROUP BY {_KEY} HAVING sum(n) <> 0"
)


def _where(conn: Connection, project_id: str, equal: Mapping[str, Any]) -> list[Any] | None:
    if conn.dialect.name != "postgresql" or not set(equal) <= set(COUNTED):
        return None
    return [C.c.project_id == project_id, *(C.c[name] == value for name, value in equal.items())]


def by_day(conn: Connection, project_id: str, equal: Mapping[str, Any],
           day: str = "scheduled_day") -> list[tuple[datetime | None, int]] | None:
    """How many of the project's instances have the ``equal`` values (columns among ``COUNTED``),
    per UTC ``day`` (one of ``DAYS``: of their scheduled time, start or end), days in order and
    null (not started, not ended) last, as PostgreSQL sorts it ascending; days with none left
    out. None where the counts are not kept (SQLite) or a column is not counted."""
    cond = _where(conn, project_id, equal)
    if cond is None:
        return None
    column, total = C.c[day], func.sum(C.c.n)
    rows = conn.execute(select(column, total).where(*cond).group_by(column)
                        .having(total > 0).order_by(column.asc().nulls_last()))
    return [(d, int(n)) for d, n in rows]


def fold(conn: Connection) -> int:
    """Replace the delta rows by one row per key (keys whose count is 0 go); returns how many
    rows there were, 0 when there were too few to be worth it. PostgreSQL only."""
    if conn.dialect.name != "postgresql":
        return 0
    rows = int(conn.execute(select(func.count()).select_from(C)).scalar_one())
    if rows <= FOLD_ABOVE:
        return 0
    conn.execute(_FOLD)
    return rows
