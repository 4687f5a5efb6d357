"""Worker rows do not pile up (storage/remote_runs.py, ``register_worker``): each ``wedata worker``
started adds a ``worker_nodes`` row, and a worker killed or lost never marks its own as stopped.
When a worker registers, the rows of workers stopped, or silent, for a day (the database's clock)
are deleted, unless a run of theirs is still marked running (an engine has yet to declare it
lost). A worker whose row went (silent for a day, then back) finds out at its next heartbeat and
registers again. Both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from tests.scheduler.helpers import World, new_db
from wedata.clock import utcnow
from wedata.scheduler.definitions import parse_definition
from wedata.scheduler.planner import instance_row
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_executions, task_instances
from wedata.storage.remote_runs import WORKER_ROW_RETENTION, RemoteRunStore
from wedata.storage.worker_tables import worker_nodes as W


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database, cleanup = new_db(tmp_path, request.param)
    yield database
    cleanup()


def running_attempt(db: Database, token: str) -> int:
    """An attempt RUNNING in the engine's tables, as one sent to a worker is."""
    now = utcnow()
    world = World(db, now)
    task_id = world.task()
    with db.write() as conn:
        version_id, snapshot = conn.execute(select(T.task_versions.c.version_id, T.task_versions.c.snapshot)
                                            .where(T.task_versions.c.task_id == task_id)).one()
        row = instance_row(now, parse_definition(version_id, snapshot), world.project_id, world.workflow_id, now, now,
                           [], owner_uin="1")
        instance_id = conn.execute(insert(task_instances).values(**row).returning(task_instances.c.id)).scalar_one()
        return int(conn.execute(insert(instance_executions).values(
            instance_id=instance_id, life_round_num=0, try_no=1, run_type="PERIODIC", state="RUNNING",
            started_at=now, handle={"token": token}).returning(instance_executions.c.id)).scalar_one())


def rows(db: Database) -> list[str]:
    with db.read() as conn:
        return sorted(conn.execute(select(W.c.worker_id)).scalars())


def age(db: Database, worker_id: str, by: timedelta, *, stopped: bool = False) -> None:
    """The worker's last heartbeat (and its stop) ``by`` ago."""
    then = utcnow() - by
    with db.write() as conn:
        conn.execute(update(W).where(W.c.worker_id == worker_id)
                     .values(heartbeat_at=then, started_at=then, stopped_at=then if stopped else None))


def test_a_registering_worker_deletes_the_rows_of_workers_gone_for_a_day(db: Database) -> None:
    store = RemoteRunStore(db)
    store.sync_clock()
    day, hour = WORKER_ROW_RETENTION, timedelta(hours=1)
    for worker in ("stopped-long-ago", "silent-long-ago", "silent-but-running", "stopped-lately", "silent-lately",
                   "alive"):
        store.register_worker(worker, "host", 1, ["g1"], 2, "none")
    age(db, "stopped-long-ago", day + hour, stopped=True)
    age(db, "silent-long-ago", day + hour)  # killed -9: never stopped, its heartbeat a day old
    age(db, "silent-but-running", day + hour)
    age(db, "stopped-lately", day - hour, stopped=True)
    age(db, "silent-lately", day - hour)
    attempt = running_attempt(db, "tok")
    assert not isinstance(store.claim(attempt, "tok", "silent-but-running"), str)

    store.register_worker("newcomer", "host", 2, ["g1", "g2"], 4, "bwrap")
    # Its run is still marked running: the row stays until an engine declares the run lost.
    assert rows(db) == ["alive", "newcomer", "silent-but-running", "silent-lately", "stopped-lately"]
    assert {w.worker_id for w in store.workers()} == {"alive", "newcomer", "silent-but-running", "silent-lately"}
    assert store.declare_lost(attempt, "silent-but-running")
    store.register_worker("another", "host", 3, ["g1"], 1, "none")
    assert rows(db) == ["alive", "another", "newcomer", "silent-lately", "stopped-lately"]


def test_a_worker_whose_row_went_registers_again_at_its_heartbeat(db: Database) -> None:
    store = RemoteRunStore(db)
    store.register_worker("suspended", "host", 1, ["g1"], 2, "none")
    assert store.heartbeat("suspended")
    age(db, "suspended", WORKER_ROW_RETENTION + timedelta(minutes=1))  # its machine slept for a day
    store.register_worker("other", "host", 2, ["g1"], 2, "none")
    assert rows(db) == ["other"]
    assert store.heartbeat("suspended") is False  # wedata worker then registers again (executors/worker.py)
    store.register_worker("suspended", "host", 1, ["g1"], 2, "none")
    assert store.heartbeat("suspended") and rows(db) == ["other", "suspended"]
