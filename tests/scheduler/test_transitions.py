"""The one transition function: legal moves only, optimistic concurrency, who/why history, and
dependency edges kept in step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import insert, select

from tests.scheduler.helpers import World
from wedata.scheduler import states
from wedata.scheduler.transitions import IllegalTransition, Tx, record_created, transition
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_deps, instance_transitions, task_instances

TI = task_instances
NOW = datetime(2025, 3, 1, 2, 0, 0)
DT = datetime(2025, 3, 1)


def make(db: Database, w: World, task_id: str, state: str, data_time: datetime = DT) -> dict[str, Any]:
    row = {"task_id": task_id, "data_time": data_time, "project_id": w.project_id, "workflow_id": w.workflow_id,
           "version_id": "v", "instance_type": 1, "state": state, "scheduled_at": NOW, "priority": 6,
           "self_depend": "serial", "dry_run": False, "cycle_type": "DAY_CYCLE", "task_type_id": 35,
           "life_round_num": 0, "tries": 0, "try_limit": 5, "total_run_num": 0, "run_type": "PERIODIC",
           "skip_events": False, "row_version": 0, "created_at": NOW, "updated_at": NOW}
    with db.write() as conn:
        iid = conn.execute(insert(TI).returning(TI.c.id), [row]).scalar_one()
        tx = Tx(conn, NOW, "tester")
        record_created(tx, [{"id": iid, "state": state}], "made by the test")
        tx.flush()
    return load(db, iid)


def load(db: Database, iid: int) -> dict[str, Any]:
    with db.read() as conn:
        return dict(conn.execute(select(TI).where(TI.c.id == iid)).mappings().one())


def history(db: Database, iid: int) -> list[tuple[Any, ...]]:
    H = instance_transitions
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(
            select(H.c.from_state, H.c.to_state, H.c.actor, H.c.reason).where(H.c.instance_id == iid).order_by(H.c.id))]


def move(db: Database, inst: dict[str, Any], to: str, values: dict[str, Any] | None = None,
         actor: str = "tester") -> tuple[bool, set[int]]:
    with db.write() as conn:
        tx = Tx(conn, NOW, actor)
        ok = transition(tx, inst, to, f"to {to}", values)
        tx.flush()
        return ok, tx.wake


def test_the_state_table() -> None:
    assert states.is_allowed(None, states.WAIT_UPSTREAM) and not states.is_allowed(None, states.RUNNING)
    assert states.is_allowed(states.WAIT_RUN, states.RUNNING) and states.is_allowed(states.RUNNING, states.FAILED_RETRY)
    assert not states.is_allowed(states.COMPLETED, states.RUNNING) and not states.is_allowed(states.RUNNING, states.WAIT_RUN)
    assert not states.is_allowed(states.FAILED_RETRY, states.RUNNING) and states.is_allowed(states.EXPIRED, states.WAIT_UPSTREAM)
    assert states.parse_state("8") == states.EXPIRED and states.parse_state("wait_run") == states.WAIT_RUN
    with pytest.raises(ValueError):
        states.parse_state("DONE")


def test_moves_are_checked_recorded_and_optimistic(db: Database) -> None:
    w = World(db, NOW)
    tid = w.task("true")
    inst = make(db, w, tid, states.WAIT_RUN)
    with pytest.raises(IllegalTransition):
        move(db, inst, states.FAILED_RETRY)
    ok, _ = move(db, inst, states.RUNNING, {"tries": 1}, actor="scheduler:n1")
    assert ok
    after = load(db, inst["id"])
    assert (after["state"], after["tries"], after["row_version"]) == (states.RUNNING, 1, 1)
    # A second actor that read the row before the change loses, and writes nothing.
    ok, _ = move(db, inst, states.EXPIRED, actor="100000000001")
    assert not ok and load(db, inst["id"])["state"] == states.RUNNING
    assert history(db, inst["id"]) == [(None, states.WAIT_RUN, "tester", "made by the test"),
                                      (states.WAIT_RUN, states.RUNNING, "scheduler:n1", "to RUNNING")]


def test_edges_follow_the_upstream(db: Database) -> None:
    w = World(db, NOW)
    up, down, tolerant = w.task("true"), w.task("true"), w.task("true")
    u = make(db, w, up, states.WAIT_RUN)
    move(db, u, states.RUNNING)
    u = load(db, u["id"])
    d = make(db, w, down, states.WAIT_UPSTREAM)
    t = make(db, w, tolerant, states.WAIT_UPSTREAM)
    with db.write() as conn:
        conn.execute(insert(instance_deps), [
            {"instance_id": d["id"], "upstream_task_id": up, "upstream_data_time": DT, "kind": "task", "met": False,
             "on_missing": False, "on_failed": False},
            {"instance_id": t["id"], "upstream_task_id": up, "upstream_data_time": DT, "kind": "task", "met": False,
             "on_missing": False, "on_failed": True},
        ])

    def met() -> dict[int, bool]:
        with db.read() as conn:
            return dict(conn.execute(select(instance_deps.c.instance_id, instance_deps.c.met)).all())

    ok, wake = move(db, u, states.EXPIRED)  # a failure satisfies only the PARENT_EXPIRED edge
    assert ok and wake == {t["id"]} and met() == {d["id"]: False, t["id"]: True}
    u = load(db, u["id"])
    ok, wake = move(db, u, states.COMPLETED)  # set to success: the other edge too
    assert ok and wake == {d["id"]} and met() == {d["id"]: True, t["id"]: True}
    u = load(db, u["id"])
    ok, wake = move(db, u, states.WAIT_RUN, {"life_round_num": 1, "tries": 0})  # a rerun takes it back
    assert ok and wake == {d["id"], t["id"]} and met() == {d["id"]: False, t["id"]: False}
