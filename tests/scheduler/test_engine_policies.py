"""Engine policies on a real database: RunPriority order, resource-group slots, dependency
strategies (WAITING vs EXECUTING/PARENT_EXPIRED), WaitExecutionTotalTTL, deleted tasks."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import delete, insert, update

from tests.scheduler.helpers import World, fast_clock, running_engine, settings_for, utc
from wedata.storage import tables as T
from wedata.storage.db import Database


def test_run_priority_orders_the_queue(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-03-01 02:00:00"))
    w = World(db, clock.now())
    trace = tmp_path / "order"
    blocker = w.task("sleep 0.3")  # holds the only slot while the others become ready
    tasks = {prio: w.task(f"echo {prio} >> {trace}", RunPriorityType=prio, SelfDepend="parallel")
             for prio in (6, 4, 5)}
    with running_engine(db, settings_for(tmp_path, default_slots=1), clock):
        for t in [blocker, *tasks.values()]:
            w.wait_states(t, {"COMPLETED"})
    assert trace.read_text().split() == ["4", "5", "6"]  # high (4) first


def test_a_resource_group_has_its_own_slots(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-03-01 02:00:00"))
    w = World(db, clock.now())
    group = str(uuid.uuid4().int)[:20]
    with db.write() as conn:
        conn.execute(insert(T.resource_groups).values(
            id=group, name="rg" + group, description="", group_type="Schedule", specification={}, region="r",
            vpc_id="v", subnet="s", max_concurrency=1, creator_uin="1", created_at=clock.now(),
            updated_at=clock.now()))
    trace = tmp_path / "overlap"
    grouped = [w.task(f"echo s >> {trace}; sleep 0.15; echo e >> {trace}", resource_group=group,
                      SelfDepend="parallel") for _ in range(3)]
    with running_engine(db, settings_for(tmp_path, default_slots=4), clock):
        for t in grouped:
            w.wait_states(t, {"COMPLETED"})
    assert trace.read_text().split() == ["s", "e"] * 3  # one at a time, though 4 default slots
    assert {i["resource_group_id"] for t in grouped for i in w.instances(t)} == {group}


def test_waiting_blocks_on_a_failed_parent_and_executing_passes(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-03-01 02:00:00"), factor=60)
    w = World(db, clock.now())
    parent = w.task("exit 1", MaxRetryNumber=0)
    waiting = w.task("true", upstream=[(parent, "DAY", "CURRENT_DAY")])
    tolerant = w.task("true", upstream=[(parent, "DAY", "CURRENT_DAY")])
    with db.write() as conn:
        conn.execute(update(T.task_dependencies).where(T.task_dependencies.c.task_id == tolerant).values(
            dependency_strategy={"PollingNullStrategy": "EXECUTING",
                                 "TaskDependencyExecutingStrategies": ["PARENT_EXPIRED"]}))
    with running_engine(db, settings_for(tmp_path), clock):
        w.wait_states(parent, {"EXPIRED"})
        w.wait_states(tolerant, {"COMPLETED"})
        assert w.instances(waiting)[0]["state"] == "WAIT_UPSTREAM"


def test_wait_execution_total_ttl_expires_a_waiting_instance(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-03-01 02:00:00"), factor=60)
    w = World(db, clock.now())
    parent = w.task("true", status="O")  # paused: its instance never runs
    child = w.task("true", upstream=[(parent, "DAY", "CURRENT_DAY")], WaitExecutionTotalTTLMinute=2)
    with running_engine(db, settings_for(tmp_path), clock):
        (inst,) = w.wait_states(child, {"EXPIRED"}, timeout=15)
    assert inst["tries"] == 0 and "WaitExecutionTotalTTL" in inst["error_msg"]
    assert 120 <= (inst["updated_at"] - inst["created_at"]).total_seconds() < 300


def test_a_deleted_task_loses_its_waiting_instances(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-03-01 02:00:00"))
    w = World(db, clock.now())
    daily = w.task("true", cycle="DAY_CYCLE", cron="0 0 0 * * ? *", start="2025-01-01 00:00:00")
    with running_engine(db, settings_for(tmp_path, sweep_interval=0.3), clock):
        w.wait(lambda: len(w.instances(daily)) == 2, what="today's and tomorrow's instances")
        w.wait_states(daily, {"COMPLETED"})
        with db.write() as conn:
            conn.execute(delete(T.task_versions).where(T.task_versions.c.task_id == daily))
            conn.execute(delete(T.tasks).where(T.tasks.c.id == daily))
        w.wait(lambda: len(w.instances(daily)) == 1, what="tomorrow's instance removed")
    assert w.instances(daily)[0]["state"] == "COMPLETED"  # history stays
