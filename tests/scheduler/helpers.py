"""Engine-level test support: a real database, task rows written directly, an in-process engine.

The acceptance tests drive the server through the SDK (tests/actions/test_instances*.py); these
helpers are for engine mechanics (planning, readiness, retries, recovery) where writing the
production definition straight into ``tasks``/``task_versions``/``task_dependencies`` keeps each
test to the point. The snapshot has the GetOpsTask shape the tasks service publishes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select, update

from tests.support import harness_sandbox
from tests.waiting import wait_until
from wedata.clock import ScaledClock
from wedata.config import Settings
from wedata.scheduler.definitions import DefinitionCache
from wedata.scheduler.engine import Engine
from wedata.scheduler.planner import Planner, load_snapshot
from wedata.scheduling.datatimes import instance_key
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_executions, task_instances

TI = task_instances


def new_db(tmp: Path, backend: str) -> tuple[Database, Callable[[], None]]:
    """A database of its own at the migrations' head (a copy of the suite's migrated template:
    tests/support.py), and how to drop it."""
    from tests.support import PG_URL, copy_migrated_sqlite, create_pg_database, drop_pg_database

    if backend == "postgres":
        from tests.conftest import require_postgres

        require_postgres()
        name = create_pg_database(migrated=True)
        db = Database(f"{PG_URL}/{name}")

        def cleanup() -> None:
            db.dispose()
            drop_pg_database(name)

        return db, cleanup
    db = Database(f"sqlite:///{copy_migrated_sqlite(tmp / 'engine.db')}")
    return db, db.dispose


_seq = 0


def _task_id() -> str:
    global _seq
    _seq += 1
    return f"2{int(time.time() * 1000) % 10**13:013d}{_seq % 1000:03d}"


class World:
    """A project with one workflow; tasks are added with :meth:`task`."""

    def __init__(self, db: Database, now: datetime) -> None:
        self.db = db
        self.now = now
        self.project_id = str(3_000_000_000_000_000_000 + uuid.uuid4().int % 10**18)[:19]
        self.workflow_id = str(uuid.uuid4())
        with db.write() as conn:
            conn.execute(insert(T.projects).values(
                id=self.project_id, name="p" + uuid.uuid4().hex[:12], display_name="p", description="",
                creator_uin="1", owner_uin="1", status=1, project_model="SIMPLE", schedule_mode="task",
                created_at=now, updated_at=now))
            conn.execute(insert(T.workflows).values(
                id=self.workflow_id, project_id=self.project_id, name="wf" + uuid.uuid4().hex[:8], folder_path="/",
                workflow_type="cycle", description="", owner_uin="1", create_user_uin="1", update_user_uin="1",
                created_at=now, updated_at=now))

    def task(
        self,
        code: str = "true",
        *,
        type_id: int = 35,
        cycle: str = "ONEOFF_CYCLE",
        cron: str = "0 0 0 * * ? *",
        start: str = "2000-01-01 00:00:00",
        upstream: list[tuple[str, str, str | None]] | None = None,
        status: str = "Y",
        **sched: Any,
    ) -> str:
        """Insert a submitted task; ``upstream`` = [(task_id, main, subordinate)]."""
        tid = _task_id()
        version = f"{tid}_{tid}"
        snapshot = {
            "TaskBaseAttribute": {"TaskId": tid, "TaskName": "t" + tid, "TaskTypeId": type_id,
                                  "WorkflowId": self.workflow_id, "OwnerUin": "1", "Status": status},
            "TaskConfiguration": {"CodeContent": code, "TaskExtConfigurationList": sched.pop("ext", []),
                                  "TaskSchedulingParameterList": sched.pop("params", []),
                                  "ResourceGroup": sched.pop("resource_group", None)},
            "TaskSchedulerConfiguration": {"CycleType": cycle, "CrontabExpression": cron, "StartTime": start,
                                           "EndTime": "2099-12-31 23:59:59", "ScheduleTimeZone": "UTC+8",
                                           **sched},
        }
        with self.db.write() as conn:
            conn.execute(insert(T.tasks).values(
                id=tid, project_id=self.project_id, workflow_id=self.workflow_id, name="t" + tid,
                task_type_id=type_id, owner_uin="1", description="", status=status, latest_version_no=1,
                latest_submit_version_no=1, prod_version_id=version, definition={}, cycle_type=cycle,
                create_user_uin="1", update_user_uin="1", created_at=self.now, updated_at=self.now))
            conn.execute(insert(T.task_versions).values(
                version_id=version, task_id=tid, kind="SUBMIT", version_no=1, remark="", create_user_uin="1",
                created_at=self.now, snapshot=snapshot, status=status))
            for up, main, sub in upstream or []:
                conn.execute(insert(T.task_dependencies).values(
                    side="prod", task_id=tid, upstream_task_id=up, main_cyclic_config=main,
                    subordinate_cyclic_config=sub, offset=None, dependency_strategy={"PollingNullStrategy": "WAITING"},
                    created_at=self.now))
        return tid

    def set_status(self, task_id: str, status: str) -> None:
        with self.db.write() as conn:
            conn.execute(update(T.tasks).where(T.tasks.c.id == task_id).values(status=status))

    def instances(self, task_id: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            return [dict(r) for r in conn.execute(
                select(TI).where(TI.c.task_id == task_id).order_by(TI.c.data_time)).mappings()]

    def executions(self, task_id: str) -> list[dict[str, Any]]:
        E = instance_executions
        with self.db.read() as conn:
            return [dict(r) for r in conn.execute(
                select(E, TI.c.data_time).join(TI, TI.c.id == E.c.instance_id).where(TI.c.task_id == task_id)
                .order_by(TI.c.data_time, E.c.life_round_num, E.c.try_no)).mappings()]

    def wait(self, pred: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    def wait_states(self, task_id: str, states: set[str], count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Until ``count`` instances are in ``states``; ``timeout``: how long nothing may move."""
        return wait_until(
            lambda: self.instances(task_id),
            lambda items: sum(1 for i in items if i["state"] in states) >= count,
            what=f"{count} instance(s) of {task_id} in {sorted(states)}", patience=timeout, interval=0.02,
            progress=lambda items: [(i["data_time"], i["state"], i["total_run_num"]) for i in items])

    def key(self, task_id: str, data_time: datetime) -> str:
        return instance_key(task_id, data_time)


def settings_for(home: Path, **kw: Any) -> Settings:
    base = {"home": home, "plan_interval": 0.2, "sweep_interval": 2.0, "heartbeat_interval": 0.5,
            "kill_grace": 0.5, "default_slots": 4}
    # The suite's isolation (tests/support.py: bubblewrap sharing /tmp with the test).
    harness = Settings.from_env({"WEDATA_HOME": str(home), **harness_sandbox()})
    base.update(sandbox=harness.sandbox, sandbox_bind=harness.sandbox_bind, allow_unisolated=harness.allow_unisolated)
    base.update(kw)
    return Settings(**base)


@contextmanager
def running_engine(db: Database, settings: Settings, clock: ScaledClock) -> Iterator[Engine]:
    engine = Engine(db, settings, clock)
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()


def fast_clock(start: datetime, factor: float = 1.0) -> ScaledClock:
    return ScaledClock(start, factor)


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def planner_for(db: Database) -> Planner:
    """A planner reading the submitted definitions of ``db`` (cached, as the engine's)."""
    defs = DefinitionCache()

    def snapshot(version: str) -> Any:
        with db.read() as conn:
            return load_snapshot(conn, version)

    return Planner(lambda version: defs.get(version, snapshot))


@contextmanager
def statements(db: Database, thread: str | None = None) -> Iterator[list[str]]:
    """The statements ``db`` is sent while the block runs (only ``thread``'s when given)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if thread is None or threading.current_thread().name == thread:
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
