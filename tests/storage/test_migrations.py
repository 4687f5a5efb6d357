"""The same Alembic migrations build the schema on SQLite and PostgreSQL, up and down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from tests.conftest import require_postgres
from tests.support import PG_URL, create_pg_database, drop_pg_database
from wedata.storage.db import Database
from wedata.storage.migrate import downgrade, upgrade
from wedata.storage.schema import metadata


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'w.db'}")
        yield db
        db.dispose()
        return
    require_postgres()
    name = create_pg_database()
    db = Database(f"{PG_URL}/{name}")
    yield db
    db.dispose()
    drop_pg_database(name)


def test_upgrade_creates_every_table_and_downgrade_removes_them(database: Database) -> None:
    upgrade(database)
    tables = set(inspect(database.engine).get_table_names())
    assert set(metadata.tables) <= tables
    downgrade(database, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    upgrade(database)
    assert set(metadata.tables) <= set(inspect(database.engine).get_table_names())


def test_migrations_match_the_table_definitions(database: Database) -> None:
    """Autogenerate finds nothing to do: tables.py and the migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(database)
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with db.read() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.dispose()
