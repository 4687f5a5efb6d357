"""Planning and readiness on a real database: horizon, idempotence, status changes, new versions,
a daily task waiting for 24 hourly upstream instances, and orderly self-dependency."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, update

from tests.scheduler.helpers import World, fast_clock, planner_for, running_engine, settings_for, utc
from wedata.scheduler.planner import PlanOutcome, load_snapshot
from wedata.scheduler.transitions import Tx
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_deps, task_instances

TI = task_instances
NOW = utc("2025-03-01 02:00:00")  # 10:00 in UTC+8
DAILY = {"cycle": "DAY_CYCLE", "cron": "0 0 0 * * ? *", "start": "2025-01-01 00:00:00"}
HOURLY = {"cycle": "HOUR_CYCLE", "cron": "0 0 * * * ? *", "start": "2025-03-01 00:00:00"}


def plan_once(db: Database, now: datetime = NOW) -> PlanOutcome:
    planner = planner_for(db)
    out = PlanOutcome()
    with db.read() as conn:
        rows = planner.changed(conn) or planner.due(conn, now)
    with db.write() as conn:
        tx = Tx(conn, now, "tester")
        for row in rows:
            planner.plan(tx, row, out)
        tx.flush()
    return out


def times(w: World, task_id: str) -> list[str]:
    return [f"{i['data_time']:%m-%d %H}:{i['state']}" for i in w.instances(task_id)]


def test_horizon_idempotence_and_status_changes(db: Database) -> None:
    w = World(db, NOW)
    daily = w.task(**DAILY)
    assert plan_once(db).created == 2
    assert times(w, daily) == ["03-01 00:WAIT_RUN", "03-02 00:WAIT_RUN"]  # today and tomorrow
    assert plan_once(db).created == 0  # nothing changed: nothing planned
    with db.write() as conn:  # a second planner racing the first finds every row taken
        conn.execute(update(T.tasks).where(T.tasks.c.id == daily).values(status="O"))
    plan_once(db)
    assert len(w.instances(daily)) == 2  # paused: kept (held back by the dispatcher)
    w.set_status(daily, "Y")
    plan_once(db)
    assert len(w.instances(daily)) == 2
    out = plan_once(db, utc("2025-03-02 01:00:00"))  # the next day: the horizon moves by one
    assert out.created == 1 and times(w, daily)[-1] == "03-03 00:WAIT_RUN"
    w.set_status(daily, "F")  # offline: what never started goes
    out = plan_once(db)
    assert out.removed == 3 and w.instances(daily) == []
    w.set_status(daily, "Y")
    assert plan_once(db).created == 2
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(TI)).scalar_one() == 2


def test_a_new_version_replaces_what_has_not_started(db: Database) -> None:
    w = World(db, NOW)
    hourly = w.task(**HOURLY)
    plan_once(db)
    assert len(w.instances(hourly)) == 48
    with db.write() as conn:  # resubmitted as a daily task
        snap = load_snapshot(conn, f"{hourly}_{hourly}")
        assert snap is not None
        snap["TaskSchedulerConfiguration"].update(CycleType="DAY_CYCLE", CrontabExpression="0 0 0 * * ? *")
        conn.execute(T.task_versions.insert().values(
            version_id=f"{hourly}_v2", task_id=hourly, kind="SUBMIT", version_no=2, remark="", create_user_uin="1",
            created_at=NOW, snapshot=snap, status="Y"))
        conn.execute(update(T.tasks).where(T.tasks.c.id == hourly).values(prod_version_id=f"{hourly}_v2"))
    plan_once(db)
    assert times(w, hourly) == ["03-01 00:WAIT_RUN", "03-02 00:WAIT_RUN"]
    assert {i["version_id"] for i in w.instances(hourly)} == {f"{hourly}_v2"}


def test_edges_of_a_daily_task_on_an_hourly_one(db: Database) -> None:
    w = World(db, NOW)
    hourly = w.task(**HOURLY)
    daily = w.task(**DAILY, upstream=[(hourly, "DAY", "CURRENT_DAY")])
    unsubmitted = w.task(**HOURLY)
    with db.write() as conn:  # as if never submitted: no production definition yet
        conn.execute(update(T.tasks).where(T.tasks.c.id == unsubmitted).values(status="N", prod_version_id=None))
    late = w.task(**DAILY, upstream=[(unsubmitted, "DAY", "CURRENT_DAY")])
    plan_once(db)
    first = w.instances(daily)[0]

    def edges(instance_id: int) -> list[tuple[str, int]]:
        with db.read() as conn:
            return [(k, t.hour) for k, t in conn.execute(
                select(instance_deps.c.kind, instance_deps.c.upstream_data_time)
                .where(instance_deps.c.instance_id == instance_id).order_by(instance_deps.c.upstream_data_time))]

    assert edges(first["id"]) == [("task", h) for h in range(24)]
    assert first["state"] == "WAIT_UPSTREAM"
    late_first = w.instances(late)[0]
    assert edges(late_first["id"]) == [("pending", 0)]  # no schedule to map with yet
    with db.write() as conn:  # now it is submitted: the placeholder becomes the real edges
        conn.execute(update(T.tasks).where(T.tasks.c.id == unsubmitted).values(
            status="Y", prod_version_id=f"{unsubmitted}_{unsubmitted}"))
    plan_once(db)
    assert edges(late_first["id"]) == [("task", h) for h in range(24)]
    assert w.instances(late)[0]["state"] == "WAIT_UPSTREAM"


def test_orderly_runs_in_order_and_stops_at_a_failure(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-02-28 21:30:00"))  # 05:30 in UTC+8: hours 00..05 are due
    w = World(db, clock.now())
    trace = tmp_path / "trace"
    orderly = w.task(f"echo ${{HH}} >> {trace}; [ ${{HH}} != 03 ]", SelfDepend="orderly", MaxRetryNumber=0,
                     **HOURLY)
    with running_engine(db, settings_for(tmp_path), clock):
        w.wait_states(orderly, {"EXPIRED"})
        w.wait_states(orderly, {"COMPLETED"}, count=3)
    assert trace.read_text().split() == ["00", "01", "02", "03"]
    states = {i["data_time"].hour: i["state"] for i in w.instances(orderly) if i["data_time"].day == 1}
    assert [states[h] for h in range(6)] == ["COMPLETED"] * 3 + ["EXPIRED", "WAIT_UPSTREAM", "WAIT_UPSTREAM"]


def test_serial_and_slots(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-02-28 21:30:00"))
    w = World(db, clock.now())
    trace = tmp_path / "overlap"
    body = f"echo start >> {trace}; sleep 0.2; echo end >> {trace}"
    serial = w.task(body, **HOURLY)  # SelfDepend serial (default): one at a time
    many = [w.task("sleep 0.3", SelfDepend="parallel") for _ in range(6)]
    with running_engine(db, settings_for(tmp_path, default_slots=2), clock) as engine:
        w.wait_states(serial, {"COMPLETED"}, count=6)
        for t in many:
            w.wait_states(t, {"COMPLETED"})
        assert engine.stats.dispatched >= 12
    assert trace.read_text().split() == ["start", "end"] * 6
    with db.read() as conn:
        spans = [(r.started_at, r.ended_at) for r in conn.execute(
            select(TI.c.started_at, TI.c.ended_at).where(TI.c.started_at.is_not(None)))]
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, d in edges:
        running += d
        peak = max(peak, running)
    assert peak <= 2  # never more than the slots


def test_workflow_self_dependency(db: Database) -> None:
    w = World(db, NOW)
    with db.write() as conn:
        conn.execute(update(T.workflows).where(T.workflows.c.id == w.workflow_id).values(
            scheduler_config={"DependencyWorkflow": "yes"}))
    first, second = w.task(**DAILY), w.task(**DAILY)
    plan_once(db)
    with db.read() as conn:
        rows = conn.execute(select(TI.c.task_id, TI.c.data_time, TI.c.state, instance_deps.c.upstream_task_id,
                                   instance_deps.c.upstream_data_time)
                            .select_from(TI.outerjoin(instance_deps, instance_deps.c.instance_id == TI.c.id))).all()
    edges: dict[tuple[str, int], set[tuple[str, int]]] = {}
    states = {}
    for task_id, dt, state, up, up_dt in rows:
        edges.setdefault((task_id, dt.day), set())
        states[(task_id, dt.day)] = state
        if up is not None:
            edges[(task_id, dt.day)].add((up, up_dt.day))
    # Cycle t waits for every task of the workflow in cycle t-1; the first cycle has none before it.
    assert edges[(first, 1)] == edges[(second, 1)] == set()
    assert edges[(first, 2)] == edges[(second, 2)] == {(first, 1), (second, 1)}
    assert states[(first, 2)] == states[(second, 2)] == "WAIT_UPSTREAM"
    assert states[(first, 1)] == states[(second, 1)] == "WAIT_RUN"
