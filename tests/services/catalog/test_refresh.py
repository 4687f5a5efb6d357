"""The catalog's refresh rules on a real database (SQLite and PostgreSQL) and a real DuckDB lake:
when a source is due, ``mark_stale`` (the door of the SQL work, also from the engine's storage
level), the refresh worker, and sharing the lake file with a writer in this process and in
another one."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from tests.services.alarms.support import FakeClock
from wedata.config import Settings
from wedata.executors.sql.contract import lake_path
from wedata.services.catalog.catalog import CatalogService
from wedata.services.catalog.model import LAKE, table_guid
from wedata.services.catalog.refresh import BUSY_PREFIX, is_due
from wedata.services.catalog.store import State
from wedata.services.datasources.datasources import DataSourceService
from wedata.storage import catalog_tables
from wedata.storage.catalog_tables import catalog_sources
from wedata.storage.catalog_tables import catalog_tables as CT
from wedata.storage.db import Database
from wedata.storage.secrets import SecretBox

T0 = datetime(2025, 3, 3, 2, 0, 0)


def test_when_a_source_is_due() -> None:
    s = timedelta(seconds=1)
    assert is_due(None, T0, 600)  # never read
    assert not is_due(State(T0, None, T0, None), T0 + 599 * s, 600)
    assert is_due(State(T0, None, T0, None), T0 + 600 * s, 600)  # too old
    assert is_due(State(T0, T0 + 5 * s, T0, None), T0 + 6 * s, 600)  # marked stale after its snapshot began
    assert is_due(State(T0, T0, T0, None), T0 + s, 600)  # marked stale as it began: read again
    assert not is_due(State(T0 + 5 * s, T0, T0 + 5 * s, None), T0 + 6 * s, 600)  # the mark is older
    # After a failure: not again for 30 s (2 s when the lake was busy), the cache served meanwhile.
    failed = State(None, None, T0, "connection refused")
    assert not is_due(failed, T0 + 29 * s, 600) and is_due(failed, T0 + 30 * s, 600)
    busy = State(T0 - 900 * s, None, T0, BUSY_PREFIX + "the lake is busy")
    assert not is_due(busy, T0 + s, 600) and is_due(busy, T0 + 2 * s, 600)


def _service(db: Database, home: Path, clock: FakeClock, **settings: float) -> CatalogService:
    conf = Settings(home=home, **settings)  # type: ignore[arg-type]
    return CatalogService(db, clock, conf, DataSourceService(db, clock, conf, SecretBox.generate()))


def _lake_sql(home: Path, *statements: str) -> None:
    import duckdb

    path = lake_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as lake:
        for sql in statements:
            lake.execute(sql)


def _lake_tables(db: Database) -> list[str]:
    with db.read() as conn:
        return sorted(conn.execute(select(CT.c.name).where(CT.c.source_key == LAKE.key)).scalars())


def test_mark_stale_and_the_worker(db: Database, tmp_path: Path) -> None:
    clock = FakeClock(T0)
    svc = _service(db, tmp_path, clock, catalog_refresh_interval=300.0)
    assert svc.worker is not None
    assert svc.refresh_source(None) is None  # no lake file yet: an empty lake, nothing created
    assert _lake_tables(db) == [] and not lake_path(tmp_path).exists()

    _lake_sql(tmp_path, "CREATE TABLE a (id INTEGER)")
    svc.worker.poll()  # the snapshot is young and nobody marked it: nothing is read
    assert _lake_tables(db) == []

    clock.advance(seconds=1)
    svc.mark_stale(None)  # what a DLC run that executed DDL does
    clock.advance(seconds=1)
    svc.worker.poll()
    assert _lake_tables(db) == ["a"]

    _lake_sql(tmp_path, "CREATE TABLE b (id INTEGER)", "DROP TABLE a")
    clock.advance(seconds=299)
    svc.worker.poll()
    assert _lake_tables(db) == ["a"]
    clock.advance(seconds=1)  # the refresh interval ran out
    svc.worker.poll()
    assert _lake_tables(db) == ["b"]
    with db.read() as conn:
        guid = conn.execute(select(CT.c.guid).where(CT.c.name == "b")).scalar()
    assert guid == table_guid("lake", "main", None, "b")

    # The engine, which may not import services, marks inside its own transaction.
    _lake_sql(tmp_path, "CREATE TABLE c (id INTEGER)")
    with db.write() as conn:
        catalog_tables.mark_stale(conn, None, clock.now())
    clock.advance(seconds=1)
    svc.worker.poll()
    assert _lake_tables(db) == ["b", "c"]
    # A mark for a data source that does not exist is dropped, not an error.
    with db.write() as conn:
        catalog_tables.mark_stale(conn, 424242, clock.now())
        assert conn.execute(select(catalog_sources.c.key).where(catalog_sources.c.key == "ds:424242")).first() is None


def test_the_lake_open_read_write_in_this_process_is_shared(db: Database, tmp_path: Path) -> None:
    import duckdb

    svc = _service(db, tmp_path, FakeClock(T0))
    _lake_sql(tmp_path, "CREATE TABLE a (id INTEGER)")
    with duckdb.connect(str(lake_path(tmp_path))) as runner:  # a DLC run of this process holds it
        runner.execute("CREATE TABLE b (id INTEGER)")
        assert svc.refresh_source(None) is None
        assert _lake_tables(db) == ["a", "b"]
        runner.execute("SELECT 1").fetchall()  # and the runner's connection still works


HOLD = "import sys, duckdb\nc = duckdb.connect(sys.argv[1])\nprint('holding', flush=True)\nsys.stdin.readline()\n"


def test_a_writer_in_another_process_leaves_the_cache_in_place(db: Database, tmp_path: Path) -> None:
    clock = FakeClock(T0)
    svc = _service(db, tmp_path, clock)
    _lake_sql(tmp_path, "CREATE TABLE a (id INTEGER)")
    assert svc.refresh_source(None) is None
    writer = subprocess.Popen([sys.executable, "-c", HOLD, str(lake_path(tmp_path))], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "holding"
        clock.advance(seconds=1)
        error = svc.refresh_source(None)
        assert error is not None and error.startswith(BUSY_PREFIX) and "busy" in error
        assert _lake_tables(db) == ["a"]
    finally:
        assert writer.stdin is not None
        writer.stdin.close()
        writer.wait(30)
    clock.advance(seconds=2)
    assert svc.refresh_source(None) is None
