"""``storage.savepoints.savepoint``: begin_nested's undo at one round trip on PostgreSQL.

A block that raises loses its own writes and nothing else, at any depth and after any number of
blocks before it on the same transaction (the names repeat per depth); the transaction goes on
and commits, even after an error of the database itself; and on PostgreSQL a block that
succeeds costs one statement, where begin_nested costs two."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import IntegrityError

from tests.scheduler.helpers import new_db
from wedata.storage.db import Database
from wedata.storage.savepoints import savepoint


class Boom(Exception):
    pass


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database, cleanup = new_db(tmp_path, request.param)
    with database.write() as conn:
        conn.execute(text("CREATE TABLE box (n integer PRIMARY KEY)"))
    yield database
    cleanup()


def put(conn: Connection, n: int) -> None:
    conn.execute(text("INSERT INTO box (n) VALUES (:n)"), {"n": n})


def stored(db: Database) -> list[int]:
    with db.read() as conn:
        return [r[0] for r in conn.execute(text("SELECT n FROM box ORDER BY n"))]


def test_a_failed_block_loses_its_own_writes_at_any_depth_and_the_transaction_commits(db: Database) -> None:
    with db.write() as conn:
        put(conn, 1)
        with savepoint(conn):  # kept: the next block of the same name must not roll back to it
            put(conn, 2)
        with pytest.raises(Boom), savepoint(conn):
            put(conn, 3)
            raise Boom
        with savepoint(conn):
            put(conn, 4)
            with savepoint(conn):  # an inner block that succeeds ...
                put(conn, 5)
            with pytest.raises(Boom), savepoint(conn):  # ... and a sibling that fails
                put(conn, 6)
                raise Boom
            put(conn, 7)
        with pytest.raises(Boom), savepoint(conn):  # an outer failure takes its inner success
            put(conn, 8)
            with savepoint(conn):
                put(conn, 9)
            raise Boom
        put(conn, 10)
    assert stored(db) == [1, 2, 4, 5, 7, 10]


def test_after_an_error_of_the_database_the_transaction_goes_on(db: Database) -> None:
    with db.write() as conn:
        put(conn, 1)
        with pytest.raises(IntegrityError), savepoint(conn):
            put(conn, 2)
            put(conn, 1)  # PostgreSQL: the transaction is aborted until the rollback to the savepoint
        put(conn, 3)
        assert conn.execute(text("SELECT count(*) FROM box")).scalar_one() == 2
    assert stored(db) == [1, 3]


def test_on_postgresql_a_block_that_succeeds_costs_one_statement(db: Database) -> None:
    sent: list[str] = []
    me = threading.get_ident()

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() == me:
            sent.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.write() as conn:
            put(conn, 1)
            sent.clear()
            with savepoint(conn):
                put(conn, 2)
            with savepoint(conn):
                put(conn, 3)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    if db.is_sqlite:  # begin_nested: SQLite's savepoints cost no round trip
        assert sum(s.startswith("RELEASE") for s in sent) == 2
    else:
        assert sent == ["SAVEPOINT wedata_sp_1", "INSERT INTO box (n) VALUES (%(n)s)"] * 2
    assert stored(db) == [1, 2, 3]
