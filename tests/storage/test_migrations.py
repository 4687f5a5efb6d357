"""The same Alembic migrations build the schema on SQLite and PostgreSQL, up and down."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from tests.conftest import require_postgres
from tests.support import PG_URL, create_pg_database, drop_pg_database, insert_raw_tasks
from wedata.storage.db import Database
from wedata.storage.migrate import downgrade, upgrade
from wedata.storage.schema import include_object, metadata


def test_upgrade_creates_every_table_and_downgrade_removes_them(database: Database) -> None:
    upgrade(database)
    tables = set(inspect(database.engine).get_table_names())
    assert set(metadata.tables) <= tables
    downgrade(database, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    upgrade(database)
    assert set(metadata.tables) <= set(inspect(database.engine).get_table_names())


# SQLAlchemy and Alembic cannot reflect an index on an expression (ListTasks' Submit,
# 0028_submit_indexes) and say so; the test checks that index itself.
@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrations_match_the_table_definitions(database: Database) -> None:
    """Autogenerate finds nothing to do: tables.py and the migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(database)
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_object": include_object}), metadata)
        if database.is_sqlite:
            index = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_tasks_project_submit'").scalar()
        else:
            index = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_tasks_project_submit'").scalar()
    assert diff == []
    assert index is not None and "latest_submit_version_no = latest_version_no" in index, index


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with db.read() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.dispose()


def test_tasks_saved_before_the_bundle_column_are_found_by_their_bundle(database: Database) -> None:
    """0025_list_filters copies TaskConfiguration.BundleId of the tasks already saved into the
    new column (ListTasks' BundleId filter reads only the column)."""
    upgrade(database, "0024_scale_indexes")
    with database.engine.begin() as conn:
        # Rows as the version before 0025 stored them: no bundle_id column yet.
        insert_raw_tasks(conn, [
            {"id": tid, "definition": {"TaskConfiguration": {"BundleId": bundle}, "TaskSchedulerConfiguration": {}}}
            for tid, bundle in (("t1", "bundle-x"), ("t2", None), ("t3", "y" * 300))])
    upgrade(database)
    with database.engine.connect() as conn:
        got = dict(conn.execute(text("SELECT id, bundle_id FROM tasks ORDER BY id")).all())
    assert got == {"t1": "bundle-x", "t2": None, "t3": None}  # one past the limit is not indexed


def test_name_search_indexes_are_made_where_pg_trgm_can_be_and_skipped_where_not(
        caplog: pytest.LogCaptureFixture) -> None:
    """0027_name_search: a database owner gets the trigram indexes; a user who may not create the
    extension still gets a schema that upgrades to the end (a warning says what is missing), and
    ListTasks' TaskName still finds names."""
    import logging
    import uuid

    import psycopg
    from alembic.script import ScriptDirectory
    from sqlalchemy import select

    from wedata.services.tasks.search import name_contains
    from wedata.storage import tables as T
    from wedata.storage.migrate import alembic_config

    require_postgres()
    admin = PG_URL.replace("postgresql+psycopg", "postgresql") + "/postgres"
    role = "wedata_t_" + uuid.uuid4().hex[:8]
    name = create_pg_database()
    trgm = "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%trgm' ORDER BY 1"
    try:
        owner = Database(f"{PG_URL}/{name}")
        upgrade(owner)
        with owner.read() as conn:
            assert [r[0] for r in conn.execute(text(trgm))] == ["ix_tasks_id_trgm", "ix_tasks_name_trgm"]
            # pg_trgm answers "=" too: on a bare column, PostgreSQL without statistics took the
            # trigram index of tasks.id for every join (4.7 ms a look). Only lowered values are
            # indexed: lower(id), and the name lowered when written (0036_name_folded).
            defs = dict(conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE indexdef LIKE '%gin_trgm_ops%'")).all())
            assert "(lower((id)::text) gin_trgm_ops)" in defs["ix_tasks_id_trgm"], defs
            assert defs["ix_tasks_name_trgm"].endswith("(name_folded gin_trgm_ops)"), defs
        downgrade(owner, "base")
        owner.dispose()
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            c.execute(f'CREATE ROLE "{role}" LOGIN')  # no superuser, no CREATE on the database
            c.execute(f'CREATE DATABASE "{name}"')
            c.execute(f'REVOKE CREATE ON DATABASE "{name}" FROM PUBLIC')
        with psycopg.connect(admin.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as c:
            c.execute(f'GRANT ALL ON SCHEMA public TO "{role}"')
        plain = Database(PG_URL.replace("postgres@", f"{role}@") + f"/{name}")
        head = ScriptDirectory.from_config(alembic_config(plain)).get_current_head()
        with caplog.at_level(logging.WARNING, logger="wedata.migrate"):
            upgrade(plain)
        assert any("pg_trgm could not be created" in r.getMessage() for r in caplog.records)
        with plain.read() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head  # to the end
            assert conn.execute(text(trgm)).all() == []
            conn.execute(select(T.tasks.c.id).where(name_contains("x_%"))).all()
        plain.dispose()
    finally:
        drop_pg_database(name)
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_postgresql_list_indexes_carry_what_their_filters_check(pg_url: str) -> None:
    """0029 and 0030: the ListTasks indexes hold the columns their filters read, so PostgreSQL
    answers those filters from the index alone (docs/engine.md, "Seventh round"). SQLite has no
    INCLUDE and keeps its scans."""
    database = Database(pg_url)
    try:
        upgrade(database)
        with database.engine.connect() as conn:
            defs = dict(conn.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tasks'").all())
    finally:
        database.dispose()
    assert defs["ix_tasks_project_created"].endswith("INCLUDE (task_type_id, name_folded)"), defs
    assert defs["ix_tasks_project_submit"].endswith("INCLUDE (latest_submit_version_no, latest_version_no)"), defs
    assert "folder_path text_pattern_ops" in defs["ix_tasks_project_folder"], defs
    assert defs["ix_tasks_project_folder"].endswith("INCLUDE (created_at, id)"), defs


@pytest.mark.parametrize("filters", [{"InstanceType": 0}, {"CycleType": "DAY_CYCLE"}, {"TaskTypeId": "35"}])
def test_sqlite_answers_the_counted_instance_filters_from_an_index(tmp_path: Path, filters: dict[str, object]) -> None:
    """0037: on SQLite, ListTaskInstances filtered by InstanceType, CycleType or TaskTypeId
    counts and walks its page in an index that holds those columns, never reading the rows
    before the page's own (SQLite has no INCLUDE; docs/engine.md, "SQLite at scale")."""
    from datetime import datetime, timedelta

    import msgspec
    from sqlalchemy import event, insert

    from tests.scheduler.helpers import World
    from wedata.clock import utcnow
    from wedata.services.instances.query import list_instances
    from wedata.spec import models as M
    from wedata.storage.engine_tables import task_instances

    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        upgrade(db)
        now = utcnow()
        world = World(db, now)
        task = world.task("true", cycle="DAY_CYCLE")
        with db.write() as conn:  # 25 ended instances: a second page of 10 to walk to
            conn.execute(insert(task_instances), [{
                "task_id": task, "data_time": datetime(2025, 1, 1) + timedelta(days=d), "project_id": world.project_id,
                "workflow_id": world.workflow_id, "version_id": f"{task}_{task}", "instance_type": 0,
                "state": "COMPLETED", "scheduled_at": datetime(2025, 1, 1) + timedelta(days=d), "priority": 6,
                "self_depend": "serial", "dry_run": False, "cycle_type": "DAY_CYCLE", "task_type_id": 35,
                "life_round_num": 0, "tries": 1, "try_limit": 1, "total_run_num": 1, "run_type": "ADDITION",
                "skip_events": False, "row_version": 3, "created_at": now, "updated_at": now,
            } for d in range(25)])  # fmt: skip
        request = msgspec.convert({"ProjectId": world.project_id, "PageNumber": 2, "PageSize": 10, **filters},
                                  M.ListTaskInstancesRequest, strict=False)
        seen: list[tuple[str, object]] = []

        def capture(_c: object, _cur: object, statement: str, parameters: object, *_: object) -> None:
            seen.append((statement, parameters))

        with db.read() as conn:
            event.listen(conn, "before_cursor_execute", capture)
            list_instances(conn, request)
            event.remove(conn, "before_cursor_execute", capture)
            plans = [[row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + st, pa)]  # type: ignore[arg-type]
                     for st, pa in seen if "task_instances" in st]
    finally:
        db.dispose()
    assert len(plans) == 3, plans  # the count, the page's keys, the page's rows by id
    reads = [d for plan in plans for d in plan if "task_instances" in d]
    assert reads and all("COVERING INDEX" in d or "PRIMARY KEY" in d for d in reads), reads
