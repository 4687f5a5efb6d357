"""WEDATA_PG_POOL_SIZE: how many PostgreSQL connections a process keeps open. Parsed strictly;
a burst beyond it is still served, and only that many stay open afterwards, so a deployment of
many processes fits the server's max_connections (docs/deploy.md)."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import text

from tests.waiting import wait_until
from wedata.config import Settings
from wedata.storage.db import Database


@pytest.mark.parametrize(("raw", "value"), [(None, None), ("", None), ("1", 1), ("12", 12)])
def test_the_setting_is_a_count_or_unset(raw: str | None, value: int | None) -> None:
    env = {} if raw is None else {"WEDATA_PG_POOL_SIZE": raw}
    assert Settings.from_env(env).pg_pool_size == value


@pytest.mark.parametrize("raw", ["0", "-2", "many"])
def test_anything_else_stops_the_start_naming_the_variable(raw: str) -> None:
    with pytest.raises(SystemExit, match="WEDATA_PG_POOL_SIZE"):
        Settings.from_env({"WEDATA_PG_POOL_SIZE": raw})


def open_connections(db: Database) -> int:
    """This database's client connections on the server, the one asking excluded."""
    name = db.engine.url.database
    with db.read() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
            {"d": name}).scalar_one())


def settles_at(db: Database, expected: int) -> int:
    """The count once the connections closed by the pool are gone: a backend leaves
    ``pg_stat_activity`` a moment after its client hung up."""
    return wait_until(lambda: open_connections(db), lambda n: n == expected, what=f"{expected} open connections",
                      patience=5.0)


def burst(db: Database, n: int) -> None:
    """``n`` connections checked out at once, each running a statement, then all returned."""
    with contextlib.ExitStack() as stack:
        for _ in range(n):
            conn = stack.enter_context(db.engine.connect())
            assert conn.execute(text("SELECT 1")).scalar_one() == 1


def test_a_burst_is_served_and_only_the_pool_size_stays_open(pg_url: str) -> None:
    db = Database(pg_url, pool_size=2)
    try:
        burst(db, 6)
        # One of the two kept connections answers the question itself.
        assert settles_at(db, 1) == 1
    finally:
        db.dispose()


def test_without_the_setting_the_pool_keeps_what_its_threads_need(pg_url: str) -> None:
    db = Database(pg_url, threads=12)
    try:
        burst(db, 16)
        assert settles_at(db, 13) == 13  # 12 threads + 2 kept, less the one asking
    finally:
        db.dispose()
