"""services/triggers/scope.py: the trigger observers look only at changes of trigger workflows'
instances (and at those whose workflow is not known), reading each workflow's kind once per
process; the engine's state changes carry the instance's workflow, so a periodic workflow's hops
cost the trigger observers no statement (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from tests.scheduler.helpers import World, fast_clock, running_engine, settings_for, statements, utc
from tests.scheduler.test_transitions import DT, NOW, make
from wedata.scheduler import observers
from wedata.services.backfill import release
from wedata.services.triggers import progress, scope
from wedata.services.triggers.nodes import ControlNodes
from wedata.storage import tables as T
from wedata.storage.backfill_tables import backfill_members, backfill_plans
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_deps


def trigger_workflow(db: Database, w: World) -> str:
    """A second workflow of the project, of the trigger kind."""
    with db.read() as conn:
        row = dict(conn.execute(select(T.workflows).where(T.workflows.c.id == w.workflow_id)).mappings().one())
    wid = str(uuid.uuid4())
    with db.write() as conn:
        conn.execute(insert(T.workflows).values({**row, "id": wid, "name": "trig" + wid[:8], "workflow_type": "trigger"}))
    return wid


def change(instance_id: int, workflow_id: str | None) -> dict[str, Any]:
    return {"instance_id": instance_id, "from_state": "RUNNING", "to_state": "COMPLETED", "workflow_id": workflow_id}


def test_only_trigger_workflows_and_unknown_ones_pass_and_each_kind_is_read_once(db: Database) -> None:
    w = World(db, datetime(2026, 1, 1))
    periodic, trigger = w.workflow_id, trigger_workflow(db, w)
    gone = str(uuid.uuid4())  # not in workflows (a run outlives its workflow): it passes
    batch = [change(1, periodic), change(2, trigger), change(3, None), change(4, gone), change(5, periodic)]
    with db.read() as conn:
        with statements(db) as first:
            kept = scope.of_trigger_workflows(conn, batch)
        assert [c["instance_id"] for c in kept] == [2, 3, 4]
        assert len(first) == 1  # the three workflows' kinds, in one read
        with statements(db) as again:
            assert [c["instance_id"] for c in scope.of_trigger_workflows(conn, [change(6, periodic),
                                                                                change(7, trigger)])] == [7]
        assert again == []  # known kinds: no read
        with statements(db) as unknown_again:
            assert [c["instance_id"] for c in scope.of_trigger_workflows(conn, [change(8, gone)])] == [8]
        assert len(unknown_again) == 1  # a workflow not found is not kept as periodic


def test_a_periodic_workflows_hops_send_the_run_observer_no_statement(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-03-01 02:00:00"))
    w = World(db, clock.now())
    first = w.task("true")
    second = w.task("true", upstream=[(first, "CRONTAB", None)])
    seen: list[list[Any]] = []
    progress.observe_runs(db)  # the trigger run observer, as the server registers it
    observers.observe(db.engine, "test-workflow-ids", lambda _conn, changes: seen.append(list(changes)))
    try:
        with statements(db, "wedata-engine") as sent, running_engine(db, settings_for(tmp_path), clock):
            w.wait_states(second, {"COMPLETED"})
    finally:
        observers.unobserve(db.engine, "test-workflow-ids")
        observers.unobserve(db.engine, "trigger-runs")
    moved = [c for batch in seen for c in batch if c["from_state"] is not None]
    # Every change the engine made (end, readiness, claim) names the instance's workflow...
    assert moved and all(c["workflow_id"] == w.workflow_id for c in moved), [(c["from_state"], c["to_state"], c["workflow_id"]) for c in moved if c["workflow_id"] != w.workflow_id]
    # ...so the run observer read nothing: no trigger_task_runs statement, the kind read once.
    assert not [s for s in sent if "trigger_task_runs" in s]
    assert len([s for s in sent if s.startswith("SELECT workflows.id, workflows.workflow_type")]) <= 1
    with db.read() as conn:  # and the history rows were stored without it
        stored = conn.execute(select(T.metadata.tables["instance_transitions"])).mappings().first()
    assert stored is not None and "workflow_id" not in stored


def _held_member(db: Database, w: World) -> tuple[dict[str, Any], str]:
    """A running backfill plan of parallelism 2 holding one instance behind its gate."""
    task = w.task("true")
    held = make(db, w, task, "WAIT_UPSTREAM")
    plan_id = str(uuid.uuid4())
    plan_cols = {c.name for c in backfill_plans.columns}
    with db.write() as conn:
        conn.execute(insert(instance_deps).values(instance_id=held["id"], **release.gate_row(DT)))
        plan = {"id": plan_id, "project_id": w.project_id, "name": "p", "task_ids": [task], "ranges": [],
                "check_parent_type": "NONE", "skip_event_listening": False, "data_time_order": "NORMAL",
                "config": release.rules_config(2, "NORMAL", []), "status": release.RUNNING_PLAN, "total_count": 1,
                "create_user_uin": "1", "created_at": NOW, "updated_at": NOW}
        conn.execute(insert(backfill_plans).values({k: v for k, v in plan.items() if k in plan_cols}))
        conn.execute(insert(backfill_members).values(
            plan_id=plan_id, seq=1, task_id=task, data_time=DT, workflow_id=w.workflow_id, instance_id=held["id"],
            life_round_num=0, status=release.HELD, prior={}))
    return held, plan_id


def gate_and_status(conn: Any, instance_id: int) -> tuple[int, str]:
    """The member's gate edges (0 or 1) and its status."""
    gates = conn.execute(select(func.count()).select_from(instance_deps).where(
        instance_deps.c.instance_id == instance_id, instance_deps.c.kind == release.GATE_KIND)).scalar_one()
    status = conn.execute(select(backfill_members.c.status).where(backfill_members.c.instance_id == instance_id)).scalar_one()
    return int(gates), str(status)


def test_a_backfill_release_names_the_workflow_so_the_trigger_observers_read_nothing(db: Database) -> None:
    """The backfill release moves held instances to WAIT_RUN on the engine's cycle, after every
    batch of ends: its changes carry the instance's workflow like the engine's own, so the control
    node observer does not read `trigger_task_runs` for a periodic workflow's backfill."""
    w = World(db, NOW)
    held, plan_id = _held_member(db, w)
    seen: list[list[Any]] = []
    nodes = ControlNodes.__new__(ControlNodes)  # the observer alone (no runs to start here)
    nodes._pending = {}
    observers.observe(db.engine, "test-release", lambda _conn, changes: seen.append(list(changes)))
    observers.observe(db.engine, "test-control", nodes.on_changes)
    try:
        with db.write() as conn, statements(db) as sent:
            released = release.release_and_finish(conn, NOW, {}, lambda _group: 5, "backfill", [plan_id])
    finally:
        observers.unobserve(db.engine, "test-release")
        observers.unobserve(db.engine, "test-control")
    assert released == [held["id"]]
    moved = [c for batch in seen for c in batch]
    assert [(c["to_state"], c["workflow_id"]) for c in moved] == [("WAIT_RUN", w.workflow_id)]
    assert not [s for s in sent if "trigger_task_runs" in s], sent


def test_inside_the_engines_cycle_the_release_history_goes_with_the_cycles_statement(db: Database) -> None:
    """On PostgreSQL a release made inside the engine's cycle (``into``: its Tx) writes no history
    statement of its own: its rows are a deferred write of the cycle's Tx, sent by its flush; a
    deferred write that an observer adds while the cycle's last flush tells it is written too."""
    from wedata.scheduler.transitions import Tx
    from wedata.storage.bulk import pg_insert_statement
    from wedata.storage.engine_tables import instance_transitions

    w = World(db, NOW)
    held, plan_id = _held_member(db, w)
    other = make(db, w, w.task("true"), "WAIT_RUN")
    pg = db.engine.dialect.name == "postgresql"
    late: list[int] = []

    def late_writer(conn: Any, changes: Any) -> None:  # an observer deferring during the last flush
        if pg and not late:
            row = {"instance_id": other["id"], "from_state": None, "to_state": "WAIT_RUN", "life_round_num": 0,
                   "tries": 0, "actor": "late", "reason": "late", "at": NOW}
            late.append(1)
            outer.defer(lambda p: pg_insert_statement(conn, instance_transitions, [row], prefix=p))

    with db.write() as conn:
        outer = Tx(conn, NOW, "scheduler:n1")
        with statements(db) as sent:
            released = release.release_and_finish(conn, NOW, {}, lambda _group: 5, "backfill", [plan_id], into=outer)
        assert released == [held["id"]]
        own = [s for s in sent if "instance_transitions" in s]
        # PostgreSQL: the member's release and its gate's removal are deferred writes too.
        writes = [s for s in sent if "UPDATE backfill_members" in s or "DELETE FROM instance_deps" in s]
        if pg:
            assert own == [] and writes == [] and len(outer.deferred) == 3
            assert gate_and_status(conn, held["id"]) == (1, release.HELD)  # nothing written yet
        else:
            assert len(own) == 1 and outer.deferred == [] and len(writes) == 2
        from wedata.scheduler.transitions import transition

        assert transition(outer, other, "RUNNING", "claimed", {"tries": 1})  # the cycle's own change
        observers.observe(db.engine, "test-late", late_writer)
        try:
            with statements(db) as flushed:
                outer.flush()
        finally:
            observers.unobserve(db.engine, "test-late")
        assert outer.deferred == [] and outer.history == []
        assert gate_and_status(conn, held["id"]) == (0, release.RELEASED)
    with db.read() as conn:
        got = conn.execute(select(instance_transitions.c.instance_id, instance_transitions.c.actor)
                           .where(instance_transitions.c.actor.in_(("backfill", "late")))).all()
    assert sorted(tuple(r) for r in got) == sorted([(held["id"], "backfill")] + ([(other["id"], "late")] if pg else []))
    if pg:
        assert len([s for s in flushed if "instance_transitions" in s]) == 1 + len(late)
