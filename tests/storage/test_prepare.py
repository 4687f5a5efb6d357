"""WEDATA_PG_PREPARE_THRESHOLD: parsed strictly, and what it names reaches every PostgreSQL
connection of the pool, so a statement the server repeats is prepared on the database (or never,
behind PgBouncer in transaction mode)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from wedata.config import Settings
from wedata.storage.db import Database


@pytest.mark.parametrize(("raw", "value"), [(None, 1), ("", 1), ("0", 0), ("7", 7), ("none", None), ("OFF", None)])
def test_the_setting_is_a_count_or_none(raw: str | None, value: int | None) -> None:
    env = {} if raw is None else {"WEDATA_PG_PREPARE_THRESHOLD": raw}
    assert Settings.from_env(env).pg_prepare_threshold == value


@pytest.mark.parametrize("raw", ["-1", "soon"])
def test_anything_else_stops_the_start_naming_the_variable(raw: str) -> None:
    with pytest.raises(SystemExit, match="WEDATA_PG_PREPARE_THRESHOLD"):
        Settings.from_env({"WEDATA_PG_PREPARE_THRESHOLD": raw})


def prepared_after(db: Database, runs: int) -> int:
    """How many statements this connection has prepared on the server after running one
    statement ``runs`` times."""
    with db.read() as conn:
        for _ in range(runs):
            conn.execute(text("SELECT count(*) FROM pg_class WHERE relkind = :k"), {"k": "r"}).scalar()
        return int(conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one())


def test_a_repeated_statement_is_prepared_at_its_second_run_by_default(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        assert prepared_after(db, 1) == 0
        assert prepared_after(db, 1) >= 1  # the same pooled connection: its second run
    finally:
        db.dispose()


def test_none_never_prepares(pg_url: str) -> None:
    db = Database(pg_url, prepare_threshold=None)
    try:
        assert prepared_after(db, 10) == 0
    finally:
        db.dispose()
