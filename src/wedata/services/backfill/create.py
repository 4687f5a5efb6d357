"""CreateDataBackfillPlan, part 2: the plan written in one transaction, with its effect on the engine.

Each (task, data time) of the plan is THE instance of that InstanceKey (spec §6.18):

- **new**: no instance exists (a date before the task was scheduled, or beyond the planning
  horizon): it is created with InstanceType 0 and RunType ADDITION;
- **redo**: the instance has ended (COMPLETED, EXPIRED, SKIP_RUNNING): a new execution starts,
  LifeRoundNum + 1, Tries 0, RunType ADDITION, if its task's AllowRedoType allows it (ALL; FAILURE
  only after a failure; NONE never), otherwise it is left out of the plan;
- **adopt**: it exists but has not run yet (waiting, Tries 0): the plan takes it as it is;
- an instance that is running or waiting for a retry, or that belongs to another plan still
  running, refuses the whole plan (nothing is written).

Every member gets its dependency edges computed afresh (``scheduler.deps.compute_edges``),
adjusted for CheckParentType and RedefineParallelNum, plus the gate edge that holds it until
the plan releases it (backfill_release.py). New instances are scheduled "now" at the latest:
the dispatcher runs what is due, and a backfill of a future date runs when the plan says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from wedata.scheduler.api import (
    NewInstance,
    TaskDef,
    Tx,
    clear_edges,
    compute_edges,
    evaluate,
    fenced_update,
    flush_edges,
    insert_edges,
    instance_row,
    record_created,
    states,
    transition,
)
from wedata.scheduling.datatimes import event_dimension, scheduled_time_for
from wedata.services.backfill import build
from wedata.services.backfill import release as plan_release
from wedata.services.errors import InvalidValue, NotFound, OperationFailed
from wedata.storage import tables as T
from wedata.storage.backfill_tables import backfill_members, backfill_plans
from wedata.storage.db import insert_ignore
from wedata.storage.engine_tables import instance_event_waits, task_instances

BM, BP, TI = backfill_members, backfill_plans, task_instances
_PRIOR_FIELDS = (
    "state", "life_round_num", "tries", "run_type", "started_at", "ended_at", "cost_ms", "error_msg",
    "skip_events", "params", "parallel_limit", "resource_group_id", "scheduled_at", "wait_since",
    "deadline_at", "retry_at", "version_id", "priority", "self_depend", "try_limit",
)


class Conflict(Exception):
    """An instance changed (or appeared) while the plan was being written: retry the whole."""


@dataclass
class Member:
    want: build.Wanted
    row: Any | None  # the existing instance row (None: new)
    kind: str  # new | redo | adopt
    instance_id: int = 0
    life_round_num: int = 0
    prior: dict[str, Any] = field(default_factory=dict)


def _jsonable(value: Any) -> Any:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


def prior_of(row: Any) -> dict[str, Any]:
    return {k: _jsonable(row[k]) for k in _PRIOR_FIELDS}


def check_groups(conn: Connection, req: build.PlanRequest) -> None:
    rg, link = T.resource_groups, T.resource_group_projects
    for gid, kind, name in ((req.scheduler_group, "Schedule", "SchedulerResourceGroupId"),
                            (req.integration_group, "Integration", "IntegrationResourceGroupId")):
        if gid is None:
            continue
        row = conn.execute(
            select(rg.c.group_type, link.c.project_id)
            .select_from(rg.outerjoin(link, (link.c.resource_group_id == rg.c.id)
                                      & (link.c.project_id == req.project_id)))
            .where(rg.c.id == gid)
        ).first()
        if row is None or row.project_id is None:
            raise NotFound(f"{name}: the resource group {gid} does not exist or is not bound to the project "
                           f"{req.project_id}.")
        if row.group_type != kind:
            raise InvalidValue(f"{name}: the resource group {gid} is a {row.group_type} group, not a {kind} group.")


# What deciding a member's kind reads of an instance (a preview reads only these).
_KIND_COLUMNS = (TI.c.id, TI.c.task_id, TI.c.data_time, TI.c.state, TI.c.tries, TI.c.life_round_num)


def classify(conn: Connection, wanted: Sequence[build.Wanted], problems: build.Problems, *,
             whole_rows: bool = True) -> list[Member]:
    """Look up the existing instance of every wanted key and decide what the plan does with it.
    ``whole_rows=False`` (a preview, which writes nothing) reads only what the decision needs and
    keeps no ``prior``."""
    rows: dict[tuple[str, datetime], Any] = {}
    task_ids = list(dict.fromkeys(w.task.task_id for w in wanted))
    # Whether a live plan holds the instance comes with it (one index probe per row) rather than
    # from a second statement per 500 instance ids.
    held = (
        select(BM.c.id).where(BM.c.instance_id == TI.c.id, BM.c.status.in_(plan_release.LIVE)).exists()
        .label("held_by_plan")
    )
    columns: Sequence[Any] = (TI, held) if whole_rows else (*_KIND_COLUMNS, held)
    if wanted:
        # Every task of a plan shares its ranges: one index range per task on (task_id,
        # data_time), in one statement per 500 tasks (rows outside a task's own keys are ignored).
        lo, hi = min(w.data_time for w in wanted), max(w.data_time for w in wanted)
        for i in range(0, len(task_ids), 500):
            for r in conn.execute(
                select(*columns).where(TI.c.task_id.in_(task_ids[i : i + 500]), TI.c.data_time >= lo,
                                       TI.c.data_time <= hi)
            ).mappings().all():  # fetchall: iterating a result fetches row by row
                rows[(r["task_id"], r["data_time"])] = r
    members: list[Member] = []
    terminal, waiting, expired = states.TERMINAL, states.WAITING, states.EXPIRED
    for w in wanted:
        row = rows.get((w.task.task_id, w.data_time))
        if row is None:
            members.append(Member(w, None, "new"))
            continue
        state = row["state"]
        if state in terminal:
            allow = w.task.allow_redo
            if allow == "NONE" or (allow == "FAILURE" and state != expired):
                problems.skipped += 1
                continue
            members.append(Member(w, row, "redo", row["id"], row["life_round_num"] + 1,
                                  prior_of(row) if whole_rows else {}))
        elif state in waiting and row["tries"] == 0:
            members.append(Member(w, row, "adopt", row["id"], row["life_round_num"],
                                  prior_of(row) if whole_rows else {}))
        else:
            problems.busy.append(build.key_text(w.task.task_id, w.data_time))
            continue
        if row["held_by_plan"]:
            problems.in_plan.append(build.key_text(w.task.task_id, w.data_time))
    return members


def _round_values(m: Member, req: build.PlanRequest, tdef: TaskDef, now: datetime) -> dict[str, Any]:
    """The fields an existing instance takes for the plan's round."""
    row = m.row
    assert row is not None
    values: dict[str, Any] = {
        "run_type": "ADDITION",
        "skip_events": req.skip_event_listening,
        "params": req.params or None,
        "parallel_limit": req.parallel_num,
        "resource_group_id": req.scheduler_group or tdef.resource_group,
        "scheduled_at": min(row["scheduled_at"], now),
        "wait_since": now,
        "deadline_at": None,
        "retry_at": None,
    }
    if m.kind == "redo":
        values.update(
            life_round_num=m.life_round_num, tries=0, started_at=None, ended_at=None, cost_ms=None, error_msg=None,
            claimed_by=None, version_id=tdef.version_id, priority=tdef.priority, self_depend=tdef.self_depend.value,
            try_limit=tdef.try_limit,
        )
    return values


def _new_rows(tx: Tx, members: Sequence[Member], req: build.PlanRequest, project_id: str) -> list[dict[str, Any]]:
    out = []
    for m in members:
        tdef = m.want.task.tdef
        fire = scheduled_time_for(tdef.schedule, m.want.data_time) or m.want.data_time
        row = instance_row(tx.now, tdef, project_id, m.want.task.workflow_id, fire, m.want.data_time, [],
                           owner_uin=m.want.task.owner_uin, instance_type=0, run_type="ADDITION")
        row.update(
            state=states.WAIT_EVENT if tdef.events and not req.skip_event_listening else states.WAIT_UPSTREAM,
            scheduled_at=min(row["scheduled_at"], tx.now),
            skip_events=req.skip_event_listening,
            resource_group_id=req.scheduler_group or tdef.resource_group,
            params=req.params or None,
            parallel_limit=req.parallel_num,
            wait_since=tx.now,
            deadline_at=None,  # WaitExecutionTotalTTL starts at the release
        )
        out.append(row)
    return out


def write_plan(tx: Tx, plan: dict[str, Any], members: list[Member], req: build.PlanRequest,
               load_def: Callable[[str], TaskDef]) -> None:
    """Everything of CreateDataBackfillPlan that writes, in the caller's transaction."""
    conn, now = tx.conn, tx.now
    conn.execute(insert(BP).values(**plan))
    plan_id = plan["id"]
    reason = f"backfill plan {plan_id}"
    # Existing instances: a new round (redo) or taken as they are (adopt).
    for m in members:
        if m.row is None:
            continue
        values = _round_values(m, req, m.want.task.tdef, now)
        if m.kind == "redo":
            if not transition(tx, m.row, states.WAIT_UPSTREAM, reason, values):
                raise Conflict
        else:
            values.update(updated_at=now)
            if not fenced_update(conn, {"id": m.instance_id, "row_version": m.row["row_version"]}, values):
                raise Conflict
    # New instances (InstanceType 0).
    fresh = [m for m in members if m.row is None]
    rows = _new_rows(tx, fresh, req, req.project_id)
    stmt = insert_ignore(conn, TI).returning(TI.c.id, TI.c.task_id, TI.c.data_time, TI.c.state)
    ids: dict[tuple[str, datetime], tuple[int, str]] = {}
    for i in range(0, len(rows), 500):
        for iid, task_id, dt, state in conn.execute(stmt, rows[i : i + 500]):
            ids[(task_id, dt)] = (iid, state)
    if len(ids) != len(fresh):
        raise Conflict  # the planner created some of them meanwhile
    event_buf: list[dict[str, Any]] = []
    for m in fresh:
        m.instance_id = ids[(m.want.task.task_id, m.want.data_time)][0]
        for ev in m.want.task.tdef.events:
            event_buf.append({"instance_id": m.instance_id, "event_name": ev.name,
                              "dimension": event_dimension(ev.sub_type, m.want.data_time),
                              "broadcast_type": ev.broadcast, "met": False})
    if event_buf:
        conn.execute(insert(instance_event_waits), event_buf)
    record_created(tx, [{"id": iid, "state": st} for iid, st in ids.values()], f"created by {reason}")
    _write_edges(conn, members, req, load_def)
    conn.execute(insert(BM), [
        {"plan_id": plan_id, "seq": seq, "task_id": m.want.task.task_id, "data_time": m.want.data_time,
         "workflow_id": m.want.task.workflow_id, "instance_id": m.instance_id, "life_round_num": m.life_round_num,
         "status": plan_release.HELD, "prior": m.prior or {"created": True}}
        for seq, m in enumerate(members)
    ])
    # Settle the waiting state of the taken instances (e.g. WAIT_RUN -> WAIT_UPSTREAM behind the
    # gate) and let instances waiting for events take cases fired before they existed.
    settle = [m.instance_id for m in members if m.kind != "new"]
    settle += [iid for iid, st in ids.values() if st == states.WAIT_EVENT]
    evaluate(tx, settle)
    tx.flush()


def _write_edges(conn: Connection, members: Sequence[Member], req: build.PlanRequest,
                 load_def: Callable[[str], TaskDef]) -> None:
    items = [NewInstance(m.want.task.tdef, m.want.data_time) for m in members]
    batch: dict[str, set[datetime]] = {}
    for m in members:
        batch.setdefault(m.want.task.task_id, set()).add(m.want.data_time)
    edges = compute_edges(conn, items, load_def, batch)
    keys = {(m.want.task.task_id, m.want.data_time) for m in members}
    clear_edges(conn, [m.instance_id for m in members if m.row is not None])
    buf: list[dict[str, Any]] = []
    for m, rows in zip(members, edges, strict=True):
        plan_release.adjust_edges(rows, keys, req.check_parent_type, req.parallel_num is not None)
        rows.append(plan_release.gate_row(m.want.data_time))
        insert_edges(conn, m.instance_id, rows, buf)
    flush_edges(conn, buf)


def build_members(conn: Connection, req: build.PlanRequest, load_def: Callable[[str], TaskDef], *,
                  preview: bool = False) -> tuple[list[build.TaskInfo], list[Member], build.Problems]:
    """Resolve the tasks, list the data times, classify the instances; refuse if needed.
    ``preview``: the same members, read lean (nothing will be written), and busy instances or
    instances held by another plan are counted in the problems instead of refusing."""
    tasks = build.load_tasks(conn, req.project_id, req.task_ids, load_def)
    if req.self_workflow_dependency is not None:
        for x in tasks:
            x.workflow_dependency = req.self_workflow_dependency == "yes"
    build.dependency_levels(conn, tasks)
    build.decide_directions(tasks, req.order, req.parallel_num)
    check_groups(conn, req)
    wanted: list[build.Wanted] = []
    for x in tasks:
        times = build.data_times(x, req.ranges, req.redefine_cycle, build.MAX_MEMBERS - len(wanted))
        wanted.extend(build.Wanted(x, dt) for dt in times)
    if not wanted:
        raise InvalidValue("No instance of the tasks' schedules has a data time inside DataBackfillRangeList: "
                           + "; ".join(build.why_no_data_time(x, req.ranges) for x in tasks) + ".")
    problems = build.Problems()
    if preview:
        return tasks, classify(conn, wanted, problems, whole_rows=False), problems
    members = classify(conn, build.order_members(wanted), problems)
    problems.refuse()
    if not members:
        raise OperationFailed(
            f"Nothing to backfill: the {problems.skipped} instance(s) in the ranges have already run and their "
            "tasks' AllowRedoType does not allow running them again."
        )
    return tasks, members, problems


def plan_row(plan_id: str, req: build.PlanRequest, tasks: Sequence[build.TaskInfo], members: Sequence[Member],
             problems: build.Problems, caller_uin: str, now: datetime) -> dict[str, Any]:
    return {
        "id": plan_id,
        "project_id": req.project_id,
        "name": req.name or plan_id,
        "task_ids": list(req.task_ids),
        "ranges": [r.stored() for r in req.ranges],
        "time_zone": req.time_zone,
        "check_parent_type": req.check_parent_type,
        "skip_event_listening": req.skip_event_listening,
        "redefine_self_workflow_dependency": req.self_workflow_dependency,
        "redefine_parallel_num": req.parallel_num,
        "scheduler_resource_group_id": req.scheduler_group,
        "integration_resource_group_id": req.integration_group,
        "redefine_param_list": [{"K": k, "V": v} for k, v in req.params.items()] or None,
        "data_time_order": req.order,
        "redefine_cycle_type": req.redefine_cycle,
        "compute_config_mappings": req.compute_mappings,
        "config": plan_release.rules_config(req.parallel_num, req.order, tasks),
        "status": plan_release.RUNNING_PLAN,
        "total_count": len(members),
        "skipped_count": problems.skipped,
        "create_user_uin": caller_uin,
        "created_at": now,
        "updated_at": now,
    }
