"""The owner copied onto task instances (storage/instance_owner.py), on SQLite and PostgreSQL:
migration 0031 fills the instances already there, the engine's sweep fills those a process of
the previous version makes later, and an instance of a task that is gone gets ''. The SDK tests
of the owner's changes are in tests/actions/instances/test_instance_owner.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from tests.support import insert_raw_tasks
from wedata.storage import instance_owner
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances as TI
from wedata.storage.migrate import upgrade

DAY = datetime(2026, 1, 1)


def raw_instances(task_ids: list[str], per_task: int) -> list[dict[str, Any]]:
    """Rows as the previous version made them: no owner_uin."""
    return [{
        "task_id": tid, "data_time": DAY + timedelta(days=d), "project_id": "p1", "workflow_id": "w1",
        "version_id": "v", "instance_type": 1, "state": "COMPLETED", "scheduled_at": DAY + timedelta(days=d),
        "priority": 6, "self_depend": "serial", "dry_run": False, "cycle_type": "DAY_CYCLE", "task_type_id": 35,
        "life_round_num": 0, "tries": 1, "try_limit": 1, "total_run_num": 1, "run_type": "PERIODIC",
        "skip_events": False, "row_version": 2, "created_at": DAY, "updated_at": DAY,
    } for tid in task_ids for d in range(per_task)]


def owners(db: Database) -> dict[str, set[str | None]]:
    with db.engine.connect() as conn:
        out: dict[str, set[str | None]] = {}
        for tid, owner in conn.execute(text("SELECT task_id, owner_uin FROM task_instances")):
            out.setdefault(tid, set()).add(owner)
        return out


def test_the_migration_copies_each_task_owner_onto_its_instances(database: Database) -> None:
    upgrade(database, "0030_list_includes")
    with database.engine.begin() as conn:
        insert_raw_tasks(conn, [{"id": "t1", "owner_uin": "501"}, {"id": "t2", "owner_uin": "502;503"}])
        rows = raw_instances(["t1", "t2", "gone"], 3)
        conn.execute(text(
            "INSERT INTO task_instances (" + ", ".join(rows[0]) + ") VALUES (" + ", ".join(f":{k}" for k in rows[0]) + ")"
        ), rows)
    upgrade(database)
    assert owners(database) == {"t1": {"501"}, "t2": {"502;503"}, "gone": {""}}


def test_the_sweep_fills_instances_made_without_the_copy_in_batches(database: Database) -> None:
    upgrade(database)
    with database.engine.begin() as conn:
        insert_raw_tasks(conn, [{"id": "t1", "owner_uin": "501"}, {"id": "t2", "owner_uin": "502"}])
        conn.execute(insert(TI), raw_instances(["t1", "t2", "gone"], 4))  # owner_uin left null
        conn.execute(insert(TI), [{**r, "owner_uin": "kept"} for r in raw_instances(["t3"], 2)])
    filled = []
    while True:
        with database.engine.begin() as conn:
            n = instance_owner.fill_missing(conn, limit=5)
        filled.append(n)
        if n < 5:
            break
    assert filled == [5, 5, 2]
    assert owners(database) == {"t1": {"501"}, "t2": {"502"}, "gone": {""}, "t3": {"kept"}}
    with database.engine.begin() as conn:  # nothing left: nothing to do
        assert instance_owner.fill_missing(conn) == 0


def test_follow_rewrites_only_the_given_tasks_instances(database: Database) -> None:
    upgrade(database)
    with database.engine.begin() as conn:
        insert_raw_tasks(conn, [{"id": "t1"}, {"id": "t2"}])
        conn.execute(insert(TI), [{**r, "owner_uin": "1"} for r in raw_instances(["t1", "t2"], 2)])
        instance_owner.follow(conn, ["t1"], "9")
        instance_owner.follow(conn, [], "8")  # no task: no statement
    assert owners(database) == {"t1": {"9"}, "t2": {"1"}}
    with database.engine.connect() as conn:  # not an update of the instance: its time and version stay
        assert set(conn.execute(select(TI.c.updated_at, TI.c.row_version)).all()) == {(DAY, 2)}
