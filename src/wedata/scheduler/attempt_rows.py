"""The attempts' own rows (``instance_executions``): written by the engine's cycle when it claims
instances and when their attempts end, and when a handle (the pid) becomes known.

On PostgreSQL the cycle's writes of these rows go with the statement that writes its history
(``Tx.defer``): nothing in the cycle reads them back before the commit, and each is one round
trip fewer on every hop (docs/engine.md, "Fewer round trips a hop"). SQLite writes at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sqlalchemy import bindparam, insert, update

from wedata.scheduler.transitions import Tx
from wedata.storage.bulk import pg_insert_statement
from wedata.storage.db import json_text
from wedata.storage.engine_tables import instance_executions

__all__ = ["end_rows", "new_rows", "store_handles"]

E = instance_executions

_SET_HANDLE = update(E).where(E.c.id == bindparam("eid")).values(handle=bindparam("handle"), pid=bindparam("pid"))
_END = (
    update(E)
    .where(E.c.id == bindparam("eid"))
    .values(state=bindparam("st"), ended_at=bindparam("at"), exit_code=bindparam("code"), error_msg=bindparam("err"))
)
# The same for attempts whose handle (pid) had not been stored yet: one statement instead of two.
_END_HANDLE = _END.values(handle=bindparam("handle"), pid=bindparam("pid"))
# PostgreSQL: every end of the cycle in one statement from arrays (an executemany is a statement
# per attempt); ``has`` marks the attempts whose handle goes with their end. ``{p}``: the
# parameters' prefix (Tx.defer names them).
_END_MANY_PG = (
    "UPDATE instance_executions AS e SET state = v.st, ended_at = v.at, exit_code = v.code, error_msg = v.err, "
    "handle = CASE WHEN v.has THEN v.handle ELSE e.handle END, "
    "pid = CASE WHEN v.has THEN v.pid ELSE e.pid END "
    "FROM unnest(%({p}eid)b::bigint[], %({p}st)b::text[], %({p}at)b::timestamp[], %({p}code)b::integer[], "
    "%({p}err)b::text[], %({p}has)b::boolean[], %({p}handle)b::text[]::json[], %({p}pid)b::integer[]) "
    "AS v(eid, st, at, code, err, has, handle, pid) WHERE e.id = v.eid"
)
_NEW = insert(E).returning(E.c.id)
# Several at once: one INSERT ... VALUES (...), (...) RETURNING id, ids in the order of the rows.
_NEW_MANY = insert(E).returning(E.c.id, sort_by_parameter_order=True)


def store_handles(conn: Any, handles: list[dict[str, Any]]) -> None:
    if handles:
        conn.execute(_SET_HANDLE, handles)


def end_rows(tx: Tx, plain: list[dict[str, Any]], with_handle: list[dict[str, Any]]) -> None:
    """Record the ends (``eid``, ``st``, ``at``, ``code``, ``err``; ``handle`` and ``pid`` too
    for ``with_handle``)."""
    if not plain and not with_handle:
        return
    if tx.conn.dialect.name == "postgresql" and tx.defer(partial(_end_many_pg, plain, with_handle)):
        return
    if plain:
        tx.conn.execute(_END, plain)
    if with_handle:
        tx.conn.execute(_END_HANDLE, with_handle)


def _end_many_pg(plain: list[dict[str, Any]], with_handle: list[dict[str, Any]], p: str) -> tuple[str, dict[str, Any]]:
    rows = [(e, False) for e in plain] + [(e, True) for e in with_handle]
    return _END_MANY_PG.format(p=p), {
        f"{p}eid": [e["eid"] for e, _ in rows], f"{p}st": [e["st"] for e, _ in rows],
        f"{p}at": [e["at"] for e, _ in rows], f"{p}code": [e["code"] for e, _ in rows],
        f"{p}err": [e["err"] for e, _ in rows], f"{p}has": [h for _, h in rows],
        f"{p}handle": [json_text(e["handle"]) if h else None for e, h in rows],
        f"{p}pid": [e["pid"] if h else None for e, h in rows],
    }


def new_rows(tx: Tx, rows: Sequence[dict[str, Any]], numbered: Callable[[int, int], None], *,
             at_once: bool = False) -> None:
    """Insert the new attempts' rows; ``numbered(index of the row, its id)`` is called for each
    when the ids are known: at once, or (PostgreSQL, unless ``at_once``) when the cycle's history
    statement answers, before the commit."""
    if tx.conn.dialect.name == "postgresql" and not at_once:
        index = {row["instance_id"]: i for i, row in enumerate(rows)}

        def on_rows(got: list[Any]) -> None:
            for eid, instance_id in got:
                numbered(index[instance_id], eid)

        conn = tx.conn
        if tx.defer(lambda prefix: pg_insert_statement(conn, E, rows, prefix=prefix, returning=("id", "instance_id"),
                                                       json_text=json_text), on_rows):
            return
    ids = [r[0] for r in tx.conn.execute(_NEW_MANY, list(rows))] if len(rows) > 1 else \
        [tx.conn.execute(_NEW, rows[0]).scalar_one()]
    for i, eid in enumerate(ids):
        numbered(i, eid)
