"""Statements over many rows or many keys that stay short on PostgreSQL.

A multi-row ``INSERT ... VALUES`` of 500 rows x 26 columns (what SQLAlchemy makes of an
executemany with RETURNING) is a statement of 13,000 placeholders, and an ``IN`` list of 500
ids one of 500: psycopg rewrites every such statement, in Python, on each execution (its cache
takes only short ones). When the day rolls over and the planner makes 100,000 instances, that
rewriting was half of its CPU. On PostgreSQL the same work is one short statement with one
array parameter per column (``unnest``) or per list (``= ANY``), which SQLAlchemy and psycopg
compile once; the rows travel as arrays. Other databases (SQLite) keep the plain statements:
the helpers return None there and the caller does what it did before.

The statements go to the driver as they are (``exec_driver_sql``) so that the arrays can be
sent in PostgreSQL's binary format (``%(a0)b``): psycopg writes a text array element by element
in Python, quoting each one, several times slower. The arrays are cast to the column's base
type without a length (``text[]``, not
``varchar(24)[]``): an explicit cast to ``varchar(n)`` would silently cut a longer value, where
the assignment to the column refuses it exactly as a plain INSERT does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Integer,
    String,
    Table,
    any_,
    bindparam,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["in_values", "pg_insert_many", "pg_insert_statement", "pg_together", "pg_update_many"]

_STATEMENTS: dict[tuple[Any, ...], str] = {}  # the SQL of each shape, built once


def _pg_type(col: Column[Any]) -> str | None:
    t = col.type
    if isinstance(t, DateTime):
        return "timestamptz" if t.timezone else "timestamp"
    if isinstance(t, Boolean):
        return "boolean"
    if isinstance(t, BigInteger):  # before Integer: a subclass of it
        return "bigint"
    if isinstance(t, Integer):
        return "integer"
    if isinstance(t, String):  # Text too
        return "text"
    return None  # JSON and the rest: not carried as arrays


def _array_param(name: str, pg: str) -> str:
    if pg == "json":  # JSON travels as text (in binary: its bytes), then becomes json
        return f"%({name})b::text[]::json[]"
    return f"%({name})b::{pg}[]"


def _columns(table: Table, rows: Sequence[Mapping[str, Any]], *, json_ok: bool = False) -> list[tuple[str, str]] | None:
    """(name, array type) of the columns the rows set, or None when the rows cannot be carried
    as arrays (keys differ between rows, a key is not a column, an unsupported type, or a
    column with a Python-side default is left out: a plain INSERT would fill it in)."""
    keys = list(rows[0])
    if any(len(r) != len(keys) for r in rows):  # rows with other keys: _arrays meets a KeyError
        return None
    out = []
    for k in keys:
        col = table.c.get(k)
        pg = None if col is None else _pg_type(col)
        if pg is None and json_ok and col is not None and isinstance(col.type, JSON):
            pg = "json"
        if pg is None:
            return None
        out.append((k, pg))
    given = set(keys)
    if any(c.name not in given and (c.default is not None or c.onupdate is not None) for c in table.c
           if not c.primary_key):
        return None
    return out


def _arrays(cols: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]], json_text: Any = None,
            prefix: str = "a") -> dict[str, list[Any]] | None:
    try:
        # A JSON value as SQLAlchemy's JSON type writes it (None too: the JSON text null).
        return {f"{prefix}{i}": [json_text(r[name]) for r in rows] if pg == "json" else [r[name] for r in rows]
                for i, (name, pg) in enumerate(cols)}
    except KeyError:
        return None  # not the same keys in every row


def pg_insert_statement(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, prefix: str = "a",
                        ignore_conflicts: bool = False, returning: Sequence[str] = (),
                        json_text: Any = None) -> tuple[str, dict[str, Any]] | None:
    """The statement :func:`pg_insert_many` sends, and its parameters (named ``<prefix>0``,
    ``<prefix>1``...), for :func:`pg_together`. None: not PostgreSQL, or rows it cannot carry.

    ``json_text``: how to write a JSON column's value as text (``storage.db.json_text``); the
    column then travels as a text array cast to ``json[]``. Without it a JSON column cannot be
    carried (the caller's plain INSERT writes it)."""
    if conn.dialect.name != "postgresql" or not rows:
        return None
    cols = _columns(table, rows, json_ok=json_text is not None)
    if cols is None:
        return None
    params = _arrays(cols, rows, json_text, prefix)
    if params is None:
        return None
    key = ("insert", table.name, tuple(cols), ignore_conflicts, tuple(returning), prefix)
    sql = _STATEMENTS.get(key)
    if sql is None:
        q = conn.dialect.identifier_preparer.quote
        sql = (f"INSERT INTO {q(table.name)} ({', '.join(q(n) for n, _ in cols)}) SELECT * FROM unnest("
               + ", ".join(_array_param(f"{prefix}{i}", t) for i, (_, t) in enumerate(cols)) + ")")
        if ignore_conflicts:
            sql += " ON CONFLICT DO NOTHING"
        if returning:
            sql += " RETURNING " + ", ".join(q(n) for n in returning)
        sql = _STATEMENTS.setdefault(key, sql)
    return sql, params


def pg_insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *,
                   ignore_conflicts: bool = False, returning: Sequence[str] = ()) -> list[Any] | None:
    """INSERT every row in one statement on PostgreSQL (``INSERT ... SELECT FROM unnest(...)``,
    with ON CONFLICT DO NOTHING when asked); the RETURNING rows (those inserted), in no
    promised order. None, having done nothing: not PostgreSQL, or rows it cannot carry."""
    made = pg_insert_statement(conn, table, rows, ignore_conflicts=ignore_conflicts, returning=returning)
    if made is None:
        return None
    result = conn.exec_driver_sql(*made)
    return list(result.all()) if returning else []


def pg_together(conn: Connection, parts: Sequence[tuple[str, Mapping[str, Any]]], *,
                rows_of: int | None = None) -> list[Any]:
    """Several data-modifying statements in ONE round trip on PostgreSQL (each a ``WITH`` part;
    PostgreSQL runs every one of them, read or not); the RETURNING rows of part ``rows_of``.

    Only for writes that do not read what another part writes: the parts share one snapshot,
    taken before the statement (a part that waits for a row lock keeps it, too). The parameter
    names of the parts must differ (:func:`pg_insert_statement`'s ``prefix``)."""
    assert parts and conn.dialect.name == "postgresql"
    sql = "WITH " + ", ".join(f"w{i} AS ({text})" for i, (text, _) in enumerate(parts))
    sql += f" SELECT * FROM w{rows_of}" if rows_of is not None else " SELECT 1 WHERE false"
    params: dict[str, Any] = {}
    for _, p in parts:
        params.update(p)
    return list(conn.exec_driver_sql(sql, params).all())


def pg_update_many(conn: Connection, table: Table, key: str, rows: Sequence[Mapping[str, Any]]) -> bool:
    """UPDATE the row whose ``key`` column equals each row's ``key`` with that row's other
    values, all in one statement on PostgreSQL (``UPDATE ... FROM unnest(...)``). The keys must
    be distinct. False, having done nothing: not PostgreSQL, or rows it cannot carry."""
    if conn.dialect.name != "postgresql":
        return False
    if not rows:
        return True
    cols = _columns(table, rows) if key in rows[0] else None
    if cols is None:
        return False
    params = _arrays(cols, rows)
    if params is None:
        return False
    skey = ("update", table.name, key, tuple(cols))
    sql = _STATEMENTS.get(skey)
    if sql is None:
        q = conn.dialect.identifier_preparer.quote
        names = [f"v{i}" for i in range(len(cols))]
        sets = ", ".join(f"{q(n)} = v.{v}" for (n, _), v in zip(cols, names, strict=True) if n != key)
        (kv,) = [v for (n, _), v in zip(cols, names, strict=True) if n == key]
        sql = (f"UPDATE {q(table.name)} SET {sets} FROM unnest("
               + ", ".join(f"%(a{i})b::{t}[]" for i, (_, t) in enumerate(cols))
               + f") AS v({', '.join(names)}) WHERE {q(table.name)}.{q(key)} = v.{kv}")
        sql = _STATEMENTS.setdefault(skey, sql)
    conn.exec_driver_sql(sql, params)
    return True


def in_values(conn: Connection, column: ColumnElement[Any], values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``, one parameter whatever
    the number of values (the same rows, and the same index use)."""
    vals = list(values)
    if conn.dialect.name == "postgresql":
        item = String() if isinstance(column.type, String) else column.type
        return column == any_(bindparam(None, vals, type_=ARRAY(item)))
    return column.in_(vals)
