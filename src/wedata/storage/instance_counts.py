"""How many task instances a project has, by day, state, type, cycle and task type, without a COUNT.

PostgreSQL only: statement triggers on ``task_instances`` (migrations 0026_instance_counts and
0033_count_start_end, which added the days of the start and the end to the key) write
each change's delta into ``task_instance_counts`` in the same transaction, so a sum read here in
one snapshot is exactly the COUNT of the instances that snapshot sees. ``task_instance_cost_counts``
(0034_count_cost) holds the same counts by cost band instead of by day. On a million instances that
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

from wedata.storage.engine_tables import task_instance_cost_counts as CC
from wedata.storage.engine_tables import task_instance_counts as C

# The columns counted; a list filtered by anything else counts its rows.
COUNTED = ("state", "instance_type", "cycle_type", "task_type_id")

# Fold a table when it has more rows than this, and than twice what its last fold left (a fold of
# a compact table would only rewrite it; the cost bands of a million instances fold to ~2,000).
FOLD_ABOVE = 1000


def _key(table: Any) -> str:
    """A counts table's key: every column but the count."""
    return ", ".join(c.name for c in table.c if c.name != "n")


# The days the counts are kept by (UTC): of the scheduled time, the latest start, the latest end.
DAYS = ("scheduled_day", "started_day", "ended_day")


def _fold_statement(table: str, key: str) -> Any:
    return text(f"WITH gone AS (DELETE FROM {table} RETURNING {key}, n) INSERT INTO {table} ({key}, n) "
                f"SELECT {key}, sum(n) FROM gone GROUP BY {key} HAVING sum(n) <> 0")


_FOLDS = tuple((table, _fold_statement(table.name, _key(table))) for table in (C, CC))

# A cost band keeps this many leading bits of the cost: 32 bands per doubling, each ~3 % wide.
BAND_BITS = 6


def cost_band(cost_ms: int) -> tuple[int, int]:
    """The band [first, end) of costs (ms) that ``cost_ms`` is counted in, exactly as the triggers
    of 0034_count_cost compute its first cost: a cost below 64 is a band of its own, a larger one
    keeps its ``BAND_BITS`` leading bits."""
    if cost_ms < 1 << BAND_BITS:
        return cost_ms, cost_ms + 1
    shift = cost_ms.bit_length() - BAND_BITS
    first = cost_ms >> shift << shift
    return first, first + (1 << shift)


def _where(conn: Connection, table: Any, project_id: str, equal: Mapping[str, Any]) -> list[Any] | None:
    if conn.dialect.name != "postgresql" or not set(equal) <= set(COUNTED):
        return None
    return [table.c.project_id == project_id, *(table.c[name] == value for name, value in equal.items())]


def _buckets(conn: Connection, table: Any, column: Any, cond: list[Any]) -> list[tuple[Any, int]]:
    total = func.sum(table.c.n)
    rows = conn.execute(select(column, total).where(*cond).group_by(column)
                        .having(total > 0).order_by(column.asc().nulls_last()))
    return [(start, int(n)) for start, n in rows]


def by_day(conn: Connection, project_id: str, equal: Mapping[str, Any],
           day: str = "scheduled_day") -> list[tuple[datetime | None, int]] | None:
    """How many of the project's instances have the ``equal`` values (columns among ``COUNTED``),
    per UTC ``day`` (one of ``DAYS``: of their scheduled time, start or end), days in order and
    null (not started, not ended) last, as PostgreSQL sorts it ascending; days with none left
    out. None where the counts are not kept (SQLite) or a column is not counted."""
    cond = _where(conn, C, project_id, equal)
    return None if cond is None else _buckets(conn, C, C.c[day], cond)


def by_cost(conn: Connection, project_id: str, equal: Mapping[str, Any]) -> list[tuple[int | None, int]] | None:
    """``by_day`` by cost band instead: (the band's first cost, how many), bands in order (see
    ``cost_band`` for each one's end) and the instances without a cost (null) last."""
    cond = _where(conn, CC, project_id, equal)
    return None if cond is None else _buckets(conn, CC, CC.c.cost_band, cond)


def fold(conn: Connection) -> int:
    """Replace the delta rows of each counts table by one row per key (keys whose count is 0 go);
    returns how many rows were folded, 0 when each table had too few to be worth it. PostgreSQL
    only."""
    if conn.dialect.name != "postgresql":
        return 0
    folded = 0
    for table, statement in _FOLDS:
        rows = int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        last = (conn.engine.url.render_as_string(), table.name)
        if rows > max(FOLD_ABOVE, 2 * _left.get(last, 0)):
            _left[last] = conn.execute(statement).rowcount
            folded += rows
    return folded


# The rows each table's last fold in this process left (its live keys then), by database and table.
_left: dict[tuple[str, str], int] = {}
