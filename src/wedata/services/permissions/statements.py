"""The tables one SQL statement reads and writes, as sqlglot sees them: pure functions, no I/O.

The same parser and the same table names (catalog, db, name) as the lineage extractor
(services/lineage/extract.py), but every statement counts here, not only those that give lineage
edges: a ``DELETE``, ``UPDATE``, ``TRUNCATE``, ``DROP`` or ``ALTER`` writes its table; an ``INSERT``,
``MERGE`` or ``CREATE TABLE|VIEW ... AS`` writes its target and reads the rest; every other table a
statement names (joins, subqueries, CTE bodies) is read. CTE names are not tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp, parse_one
from sqlglot.errors import SqlglotError

READ = "read"
WRITE = "write"
CREATE = "create"


class Unparsed(Exception):
    """sqlglot could not parse the statement; the message says why."""


@dataclass(frozen=True, slots=True)
class TableUse:
    schema: str  # the qualifier (database or schema), "" when the statement gives none
    name: str
    use: str  # read | write | create


def _table_of(node: exp.Expr | None) -> exp.Table | None:
    if isinstance(node, exp.Schema):
        node = node.this
    return node if isinstance(node, exp.Table) else None


def _targets(stmt: exp.Expr) -> list[tuple[exp.Table, str]]:
    if isinstance(stmt, (exp.Insert, exp.Update, exp.Delete, exp.Merge)):
        table = _table_of(stmt.this)
        return [(table, WRITE)] if table is not None else []
    kind = str(stmt.args.get("kind") or "").upper()
    if isinstance(stmt, exp.Create) and kind in ("TABLE", "VIEW"):
        table = _table_of(stmt.this)
        return [(table, CREATE)] if table is not None else []
    if isinstance(stmt, exp.Drop) and kind in ("TABLE", "VIEW"):
        tables = stmt.args.get("tables") or [stmt.this]
        return [(t, WRITE) for t in tables if isinstance(t, exp.Table)]
    if isinstance(stmt, exp.Alter) and kind in ("TABLE", "VIEW", ""):
        table = _table_of(stmt.this)
        return [(table, WRITE)] if table is not None else []
    if isinstance(stmt, exp.TruncateTable):
        return [(t, WRITE) for t in stmt.expressions if isinstance(t, exp.Table)]
    return []


def table_uses(sql: str, dialect: str) -> list[TableUse]:
    """Every table the statement reads or writes, in order of appearance, without repeats."""
    try:
        stmt = parse_one(sql, read=dialect)
    except SqlglotError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Unparsed(first) from None
    if stmt is None:
        return []
    ctes = {cte.alias_or_name.lower() for cte in stmt.find_all(exp.CTE)}
    targets = _targets(stmt)
    target_ids = {id(t) for t, _ in targets}
    uses: dict[tuple[str, str, str], None] = {}
    for table, use in targets:
        uses[(table.db or "", table.name, use)] = None
    for table in stmt.find_all(exp.Table):
        if id(table) in target_ids or not table.name:
            continue
        if not table.db and table.name.lower() in ctes:
            continue
        uses[(table.db or "", table.name, READ)] = None
    return [TableUse(s, n, u) for s, n, u in uses]
