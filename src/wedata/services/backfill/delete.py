"""DeleteDataBackfillPlanAsync: stop what has not started; what runs finishes.

The action itself (one transaction) marks the plan DELETED, so nothing more is released, and
puts the members that were released but have not started back behind their gate, so the engine
cannot start them meanwhile. The async job (AsyncType ``BACKFILL_PLAN_DELETE``, one item per
member still live, keyed by InstanceKey) then undoes the plan's hold on each instance that did
not start in the plan's round:

- an instance the plan created (InstanceType 0, never ran) is removed, as if never planned;
- an instance the plan re-executed gets back the state and fields of its previous round (a
  COMPLETED instance stays COMPLETED: its data is there; its downstream edges are met again);
- a waiting instance the plan took over gets back its own schedule fields and dependencies.

An instance that already started (running, retrying) is left alone and runs to its end; its
item succeeds with a note saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from wedata.scheduler.api import (
    NewInstance,
    TaskDef,
    Tx,
    clear_edges,
    compute_edges,
    evaluate,
    fenced_delete,
    fenced_update,
    flush_edges,
    insert_edges,
    states,
    transition,
)
from wedata.scheduling.datatimes import instance_key, parse_instance_key
from wedata.services.backfill import release
from wedata.services.jobs import SUCCESS, ItemFailed, Job, JobKind, Outcome
from wedata.storage import tables as T
from wedata.storage.backfill_tables import backfill_members, backfill_plans
from wedata.storage.engine_tables import instance_deps, task_instances

BM, BP, D, TI = backfill_members, backfill_plans, instance_deps, task_instances
ASYNC_TYPE = "BACKFILL_PLAN_DELETE"
_TIMES = ("started_at", "ended_at", "scheduled_at", "wait_since", "deadline_at", "retry_at")


def _not_started(inst: Any, member: Any) -> bool:
    return inst["state"] in states.WAITING and inst["tries"] == 0 and inst["life_round_num"] == member["life_round_num"]


def stop_plan(conn: Connection, plan_id: str, now: datetime, actor: str) -> list[str]:
    """Mark the plan DELETED and hold back its released members that have not started.
    Returns the InstanceKeys of the members still live (the job's items)."""
    conn.execute(update(BP).where(BP.c.id == plan_id).values(status="DELETED", deleted_at=now, updated_at=now))
    released = conn.execute(
        select(TI, BM.c.life_round_num.label("m_round"))
        .select_from(BM.join(TI, TI.c.id == BM.c.instance_id))
        .where(BM.c.plan_id == plan_id, BM.c.status == release.RELEASED)
    ).mappings().all()
    back = [r for r in released if r["state"] in states.WAITING and r["tries"] == 0
            and r["life_round_num"] == r["m_round"]]
    if back:
        ids = [r["id"] for r in back]
        conn.execute(insert(D), [{**release.gate_row(r["data_time"]), "instance_id": r["id"]} for r in back])
        conn.execute(update(BM).where(BM.c.plan_id == plan_id, BM.c.instance_id.in_(ids)).values(status=release.HELD))
        tx = Tx(conn, now, actor)
        evaluate(tx, ids)  # WAIT_RUN -> WAIT_UPSTREAM: behind the gate again
        tx.flush()
    keys = conn.execute(
        select(BM.c.task_id, BM.c.data_time).where(BM.c.plan_id == plan_id, BM.c.status.in_(release.LIVE)).order_by(BM.c.seq)
    ).all()
    return [instance_key(t, dt) for t, dt in keys]


def _restore(prior: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        if name not in prior:
            continue
        value = prior[name]
        if name in _TIMES and isinstance(value, str):
            value = datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f")
        out[name] = value
    return out


_ROUND = ("life_round_num", "tries", "run_type", "started_at", "ended_at", "cost_ms", "error_msg", "version_id",
          "priority", "self_depend", "try_limit")
_SCHEDULE = ("run_type", "skip_events", "params", "parallel_limit", "resource_group_id", "scheduled_at",
             "wait_since", "deadline_at", "retry_at")


def _normal_edges(conn: Connection, inst: Any, load_def: Callable[[str], TaskDef]) -> None:
    """Give the instance the dependency edges the planner would: no gate, no plan adjustments."""
    version = conn.execute(select(T.tasks.c.prod_version_id).where(T.tasks.c.id == inst["task_id"])).scalar()
    clear_edges(conn, [inst["id"]])
    if not version:
        return
    try:
        tdef = load_def(version)
    except ValueError:
        return
    (rows,) = compute_edges(conn, [NewInstance(tdef, inst["data_time"])], load_def)
    buf: list[dict[str, Any]] = []
    insert_edges(conn, inst["id"], rows, buf)
    flush_edges(conn, buf)


def undo(conn: Connection, plan_id: str, key: str, now: datetime, actor: str,
         load_def: Callable[[str], TaskDef]) -> Outcome:
    """Undo the plan's hold on one instance (one job item)."""
    try:
        task_id, data_time = parse_instance_key(key)
    except ValueError:
        raise ItemFailed(f"invalid InstanceKey {key!r}") from None
    member = conn.execute(
        select(BM).where(BM.c.plan_id == plan_id, BM.c.task_id == task_id, BM.c.data_time == data_time)
    ).mappings().first()
    if member is None or member["status"] not in release.LIVE:
        return Outcome(SUCCESS, "already finished")
    cancel = update(BM).where(BM.c.id == member["id"]).values(status=release.CANCELLED, note="plan deleted before it ran")
    inst = None
    if member["instance_id"] is not None:
        inst = conn.execute(select(TI).where(TI.c.id == member["instance_id"])).mappings().first()
    if inst is None:
        conn.execute(cancel)
        return Outcome(SUCCESS, "the instance no longer exists")
    if not _not_started(inst, member):
        return Outcome(SUCCESS, f"already started ({inst['state']}); it runs to its end")
    # The member is no longer the plan's before its instance changes (the observer then sees
    # nothing of this plan in the restored state).
    conn.execute(cancel)
    prior = dict(member["prior"] or {})
    tx = Tx(conn, now, actor)
    if prior.get("created"):
        if not fenced_delete(conn, inst):
            raise ItemFailed("the instance changed meanwhile; its state was left as it is")
        return Outcome(SUCCESS, "removed (the plan had created it)", wake=True)
    if prior.get("state") in states.TERMINAL:
        values = {**_restore(prior, _ROUND), **_restore(prior, _SCHEDULE)}
        if not transition(tx, inst, prior["state"], f"backfill plan {plan_id} deleted before it ran: previous "
                          "execution restored", values):
            raise ItemFailed("the instance changed meanwhile; its state was left as it is")
        _normal_edges(conn, inst, load_def)
        tx.flush()
        return Outcome(SUCCESS, f"restored to {prior['state']}", wake=True)
    values = _restore(prior, _SCHEDULE)
    values.update(updated_at=now)
    if not fenced_update(conn, inst, values):
        raise ItemFailed("the instance changed meanwhile; its state was left as it is")
    _normal_edges(conn, inst, load_def)
    evaluate(tx, [inst["id"]])
    tx.flush()
    return Outcome(SUCCESS, "returned to the periodic schedule", wake=True)


class DeletePlanKind(JobKind):
    def __init__(self, clock: Any, load_def: Callable[[str], TaskDef]) -> None:
        self.clock = clock
        self.load_def = load_def

    def act(self, conn: Connection, job: Job, key: str) -> Outcome:
        return undo(conn, str(job.params["DataBackfillPlanId"]), key, self.clock.now(), job.caller, self.load_def)
