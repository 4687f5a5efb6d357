"""The SQL of a check, per dialect (sqlglot): one SELECT of aggregates per scope, custom SQL.

Rules of one group on one table whose scope is the same (the whole table, or the same rendered
WHERE condition) share ONE scan: their aggregates are deduplicated (``COUNT(*)`` once for a
row-count rule, a null-ratio rule and a fluctuation rule) and selected together.

Dialects: the MySQL wire (MySQL and MariaDB: ``REGEXP``), the PostgreSQL wire (``~``), the lake
(DuckDB: ``regexp_matches``). Conditions and custom SQL are written in the source's own
dialect; on the lake in Spark SQL, as DLC tasks are, and transpiled to DuckDB. Identifiers are
quoted by sqlglot for the target dialect; literals are sqlglot's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from wedata.services.quality.templates import Agg

MYSQL, POSTGRES, DUCKDB = "mysql", "postgres", "duckdb"


class BadSql(ValueError):
    """A condition or custom SQL that cannot be used; the message says why."""


def read_dialect(dialect: str) -> str:
    """The dialect users write in for a target dialect (DLC: Spark SQL)."""
    return "spark" if dialect == DUCKDB else dialect


def _ident(name: str, dialect: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


def table_sql(dialect: str, database: str, schema: str, table: str) -> str:
    """The table as the target's SQL names it: MySQL ``db.table``, PostgreSQL ``schema.table``
    (the connection is to the database), the lake ``database.table`` (a DuckDB schema)."""
    first = schema if dialect == POSTGRES else database
    return f"{_ident(first, dialect)}.{_ident(table, dialect)}"


def condition(text: str, dialect: str) -> str:
    """A WHERE condition in the user's dialect, checked to be one boolean expression, as the
    target's SQL."""
    try:
        parsed = [p for p in sqlglot.parse(f"SELECT 1 WHERE {text}", read=read_dialect(dialect)) if p is not None]
    except (ParseError, sqlglot.errors.TokenError) as exc:
        raise BadSql(f"cannot be parsed: {_first_line(exc)}") from None
    if len(parsed) != 1 or not isinstance(parsed[0], exp.Select) or parsed[0].args.get("where") is None:
        raise BadSql("must be one condition (the text after WHERE), not statements")
    where = parsed[0].args["where"].this
    if where.find(exp.Select) is not None:
        raise BadSql("must not contain a subquery")
    return str(where.sql(dialect=dialect))


def custom_select(text: str, dialect: str) -> str:
    """Custom SQL: one SELECT of exactly one column, as the target's SQL."""
    try:
        parsed = [p for p in sqlglot.parse(text, read=read_dialect(dialect)) if p is not None]
    except (ParseError, sqlglot.errors.TokenError) as exc:
        raise BadSql(f"cannot be parsed: {_first_line(exc)}") from None
    if len(parsed) != 1:
        raise BadSql(f"must be one SELECT statement, got {len(parsed)} statements")
    stmt = parsed[0]
    if not isinstance(stmt, exp.Query):
        raise BadSql(f"must be a SELECT, got {stmt.key.upper()}")
    columns = stmt.selects
    if len(columns) != 1 or isinstance(columns[0], exp.Star) or columns[0].find(exp.Star) is columns[0]:
        raise BadSql(f"must select exactly one column (the measured value), got {len(columns)}"
                     + (" (*)" if any(isinstance(c, exp.Star) for c in columns) else ""))
    return str(stmt.sql(dialect=dialect))


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


def _literal(value: str, dialect: str, numeric: bool) -> str:
    if numeric:
        return str(exp.Literal.number(value).sql(dialect=dialect))
    return str(exp.Literal.string(value).sql(dialect=dialect))


def aggregate_sql(agg: Agg, dialect: str, numeric_column: bool) -> str:
    if agg.kind == "count":
        return "COUNT(*)"
    col = _ident(agg.column or "", dialect)
    if agg.kind == "nonnull":
        return f"COUNT({col})"
    if agg.kind == "distinct":
        return f"COUNT(DISTINCT {col})"
    if agg.kind in ("min", "max", "avg", "sum"):
        return f"{agg.kind.upper()}({col})"
    if agg.kind == "outside":
        members = ", ".join(_literal(v, dialect, numeric_column) for v in agg.arg)
        return f"SUM(CASE WHEN {col} IS NOT NULL AND {col} NOT IN ({members}) THEN 1 ELSE 0 END)"
    if agg.kind == "matches":
        pattern = _literal(agg.arg[0], dialect, False)
        if dialect == MYSQL:
            test = f"{col} REGEXP {pattern}"
        elif dialect == POSTGRES:
            test = f"CAST({col} AS TEXT) ~ {pattern}"
        else:
            test = f"regexp_matches(CAST({col} AS VARCHAR), {pattern})"
        return f"SUM(CASE WHEN {test} THEN 1 ELSE 0 END)"
    raise ValueError(f"unknown aggregate {agg.kind}")


@dataclass(frozen=True, slots=True)
class Scan:
    sql: str
    aggs: tuple[Agg, ...]  # in the order of the SELECT's columns


def build_scan(dialect: str, table: str, aggs: Sequence[Agg], where: str | None,
               numeric_columns: frozenset[str]) -> Scan:
    """One SELECT computing every aggregate (deduplicated, in first-seen order) over the scope."""
    unique: list[Agg] = []
    for a in aggs:
        if a not in unique:
            unique.append(a)
    cols = ", ".join(f"{aggregate_sql(a, dialect, (a.column or '') in numeric_columns)} AS m{i}"
                     for i, a in enumerate(unique))
    sql = f"SELECT {cols} FROM {table}" + (f" WHERE {where}" if where else "")
    return Scan(sql, tuple(unique))
