"""Spark SQL (what DLC SQL tasks are written in) to DuckDB (what the lake runs), with sqlglot.

Each statement is parsed as Spark SQL and generated as DuckDB SQL
(``sqlglot.transpile(sql, read="spark", write="duckdb")`` with a few rewrites). A statement
sqlglot cannot parse fails with the parser's message; so does one that uses a feature DuckDB's
generator does not support, except the storage-layout clauses below.

Decisions (the lake is one DuckDB file, not a warehouse of files):

- **Storage layout is ignored**: ``USING parquet|delta|iceberg``, ``STORED AS``,
  ``PARTITIONED BY``, ``CLUSTERED BY``, ``LOCATION``, ``TBLPROPERTIES`` and ``OPTIONS`` say how
  Spark lays a table out in files (and a table's ``COMMENT`` has no place in DuckDB's CREATE TABLE); on the lake a table is a DuckDB table whatever they say. They
  are dropped (and the task's log says so), so ``CREATE TABLE t (...) USING parquet`` works.
- **A Spark database is a DuckDB schema**: ``CREATE|DROP DATABASE db`` become ``CREATE|DROP
  SCHEMA db``; ``db.table`` names then mean the same thing on both sides.
- **``INSERT OVERWRITE TABLE t SELECT ...``** (no partition) becomes ``DELETE FROM t`` then
  ``INSERT INTO t SELECT ...`` in one transaction. With a ``PARTITION (...)`` clause it is
  refused: the lake has no partitions to overwrite.
- A statement sqlglot only recognises as an opaque command (``MSCK REPAIR TABLE``, ``CACHE
  TABLE``) is passed through as written; DuckDB answers it (usually with a parser error naming
  it).
"""

from __future__ import annotations

import re

from sqlglot import exp, parse
from sqlglot.errors import ErrorLevel, SqlglotError

__all__ = ["TranspileError", "spark_to_duckdb"]

_LAYOUT = (
    exp.FileFormatProperty, exp.PartitionedByProperty, exp.LocationProperty, exp.ClusteredByProperty,
    exp.SchemaCommentProperty, exp.RowFormatSerdeProperty, exp.RowFormatDelimitedProperty,
    exp.SerdeProperties,
)


class TranspileError(Exception):
    """The statement cannot be turned into DuckDB SQL; the message is sqlglot's."""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _one_line(text: str) -> str:
    return " ".join(_ANSI.sub("", text).split())


def spark_to_duckdb(statement: str) -> tuple[list[str], list[str]]:
    """One Spark SQL statement -> (the DuckDB statements that do it, notes for the log)."""
    try:
        trees = parse(statement, read="spark", error_level=ErrorLevel.IMMEDIATE)
    except SqlglotError as exc:
        raise TranspileError(f"Spark SQL parse error: {_one_line(str(exc))}") from None
    notes: list[str] = []
    out: list[str] = []
    for tree in trees:
        if tree is None:
            continue
        if isinstance(tree, exp.Command):
            out.append(statement)
            continue
        assert isinstance(tree, exp.Expression)
        out.extend(_rewrite(tree, notes))
    return out, notes


def _rewrite(tree: exp.Expression, notes: list[str]) -> list[str]:
    props = tree.args.get("properties")
    if isinstance(props, exp.Properties):
        kept = []
        for prop in props.expressions:
            # A bare Property is a TBLPROPERTIES/OPTIONS key (its subclasses are other clauses).
            if isinstance(prop, _LAYOUT) or type(prop) is exp.Property:
                notes.append(f"ignored on the lake: {prop.sql(dialect='spark')}")
            else:
                kept.append(prop)
        props.set("expressions", kept)
        if not kept:
            tree.set("properties", None)
    if isinstance(tree, (exp.Create, exp.Drop)) and str(tree.args.get("kind") or "").upper() == "DATABASE":
        tree.set("kind", "SCHEMA")
    if isinstance(tree, exp.Insert) and tree.args.get("overwrite"):
        target = tree.this
        table = target.this if isinstance(target, exp.Schema) else target
        if isinstance(table, exp.Table) and table.args.get("partition") is not None:
            raise TranspileError("INSERT OVERWRITE ... PARTITION (...) cannot run on the lake (its tables have no "
                                 "partitions): delete the rows and INSERT INTO instead")
        tree.set("overwrite", False)
        name = table.sql(dialect="duckdb") if isinstance(table, exp.Table) else target.sql(dialect="duckdb")
        return ["BEGIN TRANSACTION", f"DELETE FROM {name}", _generate(tree), "COMMIT"]
    return [_generate(tree)]


def _generate(tree: exp.Expression) -> str:
    try:
        return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise TranspileError(f"cannot be transpiled to DuckDB: {_one_line(str(exc))}") from None
