"""storage/rowkeys.py: an IN list of row values, with lists on its leading columns beside it, still
matches exactly the rows whose values form one of the keys (not the cross product of the lists),
on SQLite and PostgreSQL, with literal keys and with keys bound at execution."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert, select

from wedata.storage.db import Database
from wedata.storage.rowkeys import row_params, rows_in, rows_in_param

T = Table("rowkeys_probe", MetaData(), Column("id", Integer, primary_key=True), Column("task", String(8)),
          Column("at", DateTime), Column("v", Integer))
D1, D2 = datetime(2026, 1, 1), datetime(2026, 1, 2)


def test_the_keys_match_only_their_own_rows(database: Database) -> None:
    rows = [{"id": i, "task": t, "at": d, "v": i % 2} for i, (t, d) in
            enumerate([(t, d) for t in ("a", "b", "c") for d in (D1, D2)])]
    with database.write() as conn:
        T.create(conn)
        conn.execute(insert(T), rows)
    keys = [("a", D1), ("b", D2), ("a", D1)]  # a repeated key; ("a", D2) and ("b", D1) are in the lists, not keys
    want = {("a", D1), ("b", D2)}
    bound = select(T.c.task, T.c.at).where(rows_in_param((T.c.task, T.c.at), "k", indexed=2))
    try:
        with database.read() as conn:
            assert set(conn.execute(select(T.c.task, T.c.at).where(rows_in((T.c.task, T.c.at), keys, indexed=2))).all()) == want
            assert set(conn.execute(bound, row_params("k", keys, indexed=2)).all()) == want
            # One leading list (the id), the second column only in the row values.
            ids = select(T.c.id).where(rows_in_param((T.c.id, T.c.v), "k"))
            assert conn.execute(ids, row_params("k", [(0, 0), (1, 0), (3, 1)])).scalars().all() in ([0, 3], [3, 0])
            assert conn.execute(ids, row_params("k", [(1, 0)])).scalars().all() == []
    finally:
        with database.write() as conn:
            T.drop(conn)
