"""``Database.shared_reads``: an API request's reads share one pooled connection on PostgreSQL
(its access check and its handler), see each commit made meanwhile, and give the connection
back when the request ends, even when it failed; SQLite keeps one connection a read."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from wedata.storage.db import Database


def backend_pid(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_reads_of_one_request_share_a_connection_and_see_commits_made_meanwhile(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        with db.write() as conn:
            conn.execute(text("CREATE TABLE box (n integer)"))
        with db.shared_reads():
            first = backend_pid(db)
            with db.read() as outer, db.read() as inner:  # nested reads: the same connection
                assert outer is inner
            assert backend_pid(db) == first
            with db.write() as conn:  # the request's own write, on a connection of its own
                assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != first
                conn.execute(text("INSERT INTO box VALUES (1)"))
            with db.read() as conn:
                assert conn.execute(text("SELECT count(*) FROM box")).scalar_one() == 1
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]

        # Another thread's reads are not this thread's.
        with db.shared_reads():
            mine = backend_pid(db)
            theirs: list[int] = []
            with db.read():
                t = threading.Thread(target=lambda: theirs.append(backend_pid(db)))
                t.start()
                t.join()
            assert theirs and theirs[0] != mine
    finally:
        db.dispose()


def test_a_failed_request_gives_its_connection_back(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        with pytest.raises(RuntimeError), db.shared_reads():
            with db.read() as conn:
                conn.execute(text("SELECT 1"))
            raise RuntimeError("the handler failed")
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        with db.shared_reads(), db.read() as conn:  # and the next request reads as usual
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        # A statement that failed inside a shared read does not spoil the next one (autocommit).
        with db.shared_reads():
            with pytest.raises(Exception, match="no_such_table"), db.read() as conn:
                conn.execute(text("SELECT * FROM no_such_table"))
            with db.read() as conn:
                assert conn.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        db.dispose()


def test_sqlite_reads_keep_a_connection_each(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/x.db")
    try:
        with db.shared_reads(), db.read() as a, db.read() as b:
            assert a is not b
    finally:
        db.dispose()
