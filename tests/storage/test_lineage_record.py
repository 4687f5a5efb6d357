"""storage/lineage_tables.record_run: which runs reach the lineage worker. A run that only reads
and whose process never had lineage is not recorded (ad-hoc SELECTs would otherwise cost the
worker a parse and three writes each); anything that may write, or any run of a process that
has lineage already (its old edges must be replaced), is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from wedata.storage.db import Database
from wedata.storage.lineage_tables import lineage_processes, lineage_runs, only_reads, record_run
from wedata.storage.migrate import upgrade

NOW = datetime(2026, 1, 1)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(database)
    yield database
    database.dispose()


def record(db: Database, process_id: str, statements: list[str]) -> bool:
    with db.write() as conn:
        return record_run(conn, process_type="SQL_SCRIPT", process_id=process_id, process_name="s", source_id=1,
                          dialect="postgres", database="d", default_schema=None, statements=statements, now=NOW)


def runs(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(lineage_runs)).scalar() or 0)


@pytest.mark.parametrize("statements", [
    ["SELECT 1"], ["  select * from t -- INSERT INTO x"], ["/* INSERT */ SHOW tables", "EXPLAIN SELECT 1"],
    ["SET search_path TO s", "select count(*) from orders"],
])
def test_reads_only(statements: list[str]) -> None:
    assert only_reads(statements)


@pytest.mark.parametrize("statements", [
    ["INSERT INTO t SELECT 1"], ["SELECT 1", "CREATE TABLE x AS SELECT 1"], ["SELECT * INTO new_t FROM t"],
    ["WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a"], ["MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE"],
    ["select 1 into outfile '/tmp/x'"],
])
def test_may_write(statements: list[str]) -> None:
    assert not only_reads(statements)


def test_a_read_only_run_of_a_process_without_lineage_is_not_recorded(db: Database) -> None:
    assert record(db, "adhoc-1", ["SELECT 1"]) is False
    assert runs(db) == 0
    assert record(db, "adhoc-1", ["INSERT INTO t SELECT 1"]) is True
    assert runs(db) == 1


def test_a_read_only_run_of_a_process_with_lineage_is_recorded_so_its_old_edges_go(db: Database) -> None:
    with db.write() as conn:
        conn.execute(insert(lineage_processes).values(node_id="p1", platform="WEDATA", process_type="SQL_SCRIPT",
                                                      process_id="script-7", run_seq=1, created_at=NOW, updated_at=NOW))
    assert record(db, "script-7", ["SELECT 1"]) is True
    assert runs(db) == 1
