"""Workflow runs: CreateTriggerWorkflowRun and KillTriggerWorkflowRuns.

The run model (docs/triggers.md): a run (``WorkflowExecutionId``) is a ``trigger_workflow_runs``
row; each task it runs is ONE engine instance (``task_instances``) plus a ``trigger_task_runs``
row giving it its ``ExecutionId``. All instances of a run share the run's data time, so an edge
"upstream task A" of a task B in the run is the ordinary instance edge (A, the run's data time):
the engine's readiness, claim, dispatch, executor and sandbox, retries, TTLs, kill protocol and
logs apply unchanged. What is particular to runs is small and lives here and in progress.py:
which instances a run creates (its tasks, the edges among them, its parameters) and what a
failed task does to the rest of its run.

Decisions where WeData is silent:

- A run runs the **submitted** version of each task (as the scheduler runs periodic tasks) and
  the production edges among the run's tasks. Without ``TaskIds`` it runs every submitted task
  of the workflow; a workflow with none answers ``FailedOperation``. ``TaskIds`` must name tasks
  of the workflow (``InvalidParameterValue``), submitted (``FailedOperation``); edges to tasks
  left out of the subset are dropped (the subset runs with its dependencies among them).
- ``AdvancedParams`` override the workflow's parameters for this run; a ``ParamKey`` that is not
  a WorkflowParams key is ``InvalidParameterValue``. They reach the code through the periodic
  rendering (``${key}``), as the instance parameters a rerun sets (they win over task parameters).
- The run's data time (``${yyyyMMdd}`` ...) is its creation time in UTC+8, to the second; runs of
  one workflow created within the same second take the following seconds (an instance's key and
  its log path are per second).
- Task runs of one workflow run in parallel with those of other runs of it (SelfDepend
  ``parallel``); MaxConcurrentNum caps whole runs: a run is created QUEUED behind the
  concurrency gate and admitted in the same transaction when a slot is free (concurrency.py).
- ``DependencyTriggerPolicy``: each task run keeps its task's policy (of the version it runs);
  the edges among a run's task runs are of kind ``trigger``, decided by rules.py when an
  upstream ends (pass, skip, upstream failed) rather than by the transition function.
- Every check happens before the first write: a refused request creates nothing.
- KillTriggerWorkflowRuns takes a list, ``All`` (every unfinished run of the workflow) or
  ``Pending`` (those in PENDING/QUEUED). Waiting task runs end FAILED at once; running ones are
  killed through the engine's kill path (the process group is signalled). A listed run that is
  unknown is ``ResourceNotFound``, one already finished ``FailedOperation``; nothing is killed then.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.scheduler.api import Change, SchedulerApi, Tx, instance_row, record_created, states
from wedata.services.common import new_uuid, to_local
from wedata.services.errors import InvalidValue, NotFound, OperationFailed
from wedata.services.killing import kill_one, settle_readiness
from wedata.services.triggers import concurrency, control, nodes, progress, rules
from wedata.services.triggers.origin import RunOrigin
from wedata.services.triggers.workflows import load_trigger_workflow
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_deps, task_instances
from wedata.storage.trigger_tables import trigger_task_runs, trigger_workflow_runs, trigger_workflows

log = logging.getLogger(__name__)

TI, R, TR = task_instances, trigger_workflow_runs, trigger_task_runs
MAX_TASKS = 1000
RUN_TYPE = "MANUAL_TRIGGER"  # InstanceExecution.RunType of a task run started by hand


def _wall_now(now: datetime) -> datetime:
    """``now`` (naive UTC) as a wall time of the default zone (UTC+8), to the second."""
    local = to_local(now, None)
    assert local is not None
    return local.replace(microsecond=0)


def check_task_ids(task_ids: Sequence[str] | None) -> list[str] | None:
    if task_ids is None:
        return None
    if not task_ids:
        raise InvalidValue("TaskIds must not be empty when given (leave it out to run every task)")
    if len(task_ids) > MAX_TASKS:
        raise InvalidValue(f"TaskIds: at most {MAX_TASKS} tasks")
    out: list[str] = []
    for t in task_ids:
        t = str(t).strip()
        if not t:
            raise InvalidValue("TaskIds must not hold an empty id")
        if t not in out:
            out.append(t)
    return out


def check_params(items: Sequence[dict[str, Any]] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, p in enumerate(items or []):
        key = str(p.get("ParamKey") or "").strip()
        if not key:
            raise InvalidValue(f"AdvancedParams[{i}].ParamKey is required")
        if key in out:
            raise InvalidValue(f"AdvancedParams: the ParamKey {key!r} is given twice")
        out[key] = "" if p.get("ParamValue") is None else str(p.get("ParamValue"))
    return out


class TriggerRunService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, scheduler: SchedulerApi) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.scheduler = scheduler
        # Keep each run's state in step with its instances (progress.py), in the engine's
        # transactions.
        progress.observe_runs(db)

    # -- CreateTriggerWorkflowRun -----------------------------------------------------------------

    def create_run(self, project_id: str, caller: Caller, workflow_id: str,
                   advanced: Sequence[dict[str, Any]] | None, task_ids: Sequence[str] | None,
                   origin: RunOrigin | None = None) -> str:
        """``origin``: a run started by a trigger (services/triggers/firing.py); None: by hand."""
        wanted = check_task_ids(task_ids)
        overrides = check_params(advanced)
        try:
            with self.db.write() as conn:
                execution_id = self.create_run_in(conn, project_id, caller, workflow_id, wanted, overrides, origin)
        except IntegrityError:
            # Another run of this workflow took the same data time at the same moment (PostgreSQL).
            raise OperationFailed("Another run of the workflow was created at the same moment; retry.") from None
        self.scheduler.notify(Change.INSTANCES)
        return execution_id

    def create_run_in(self, conn: Connection, project_id: str, caller: Caller, workflow_id: str,
                      wanted: list[str] | None, overrides: dict[str, str], origin: RunOrigin | None = None,
                      parent_instance_id: int | None = None) -> str:
        """CreateTriggerWorkflowRun inside the caller's transaction (a Run Workflow node starts its
        child run in the engine's, services/triggers/nodes.py); ``wanted`` and ``overrides``
        checked by :func:`check_task_ids` and :func:`check_params`."""
        t = T.tasks
        wf = load_trigger_workflow(conn, project_id, workflow_id)
        # Runs of one workflow are created one at a time (PostgreSQL: a row lock; SQLite
        # serialises writers): each takes the next data time and sees the others' slots.
        conn.execute(select(trigger_workflows.c.workflow_id)
                     .where(trigger_workflows.c.workflow_id == wf.row.id).with_for_update())
        now = self.clock.now()  # after the lock: queue order is creation order
        rows = conn.execute(
            select(t.c.id, t.c.name, t.c.prod_version_id, t.c.status, t.c.owner_uin).where(t.c.workflow_id == wf.row.id)
            .order_by(t.c.id)
        ).all()
        by_id = {r.id: r for r in rows}
        if wanted is not None:
            foreign = [x for x in wanted if x not in by_id]
            if foreign:
                raise InvalidValue(f"TaskIds: the task(s) {', '.join(foreign[:10])} are not in the "
                                   f"workflow {workflow_id}.")
            unsubmitted = [x for x in wanted if by_id[x].prod_version_id is None]
            if unsubmitted:
                raise OperationFailed(f"TaskIds: the task(s) {', '.join(unsubmitted[:10])} have never been "
                                      "submitted (SubmitTriggerTask): a run runs submitted versions.")
            chosen = [by_id[x] for x in wanted]
        else:
            chosen = [r for r in rows if r.prod_version_id is not None]
            if not chosen:
                raise OperationFailed(f"The workflow {workflow_id} has no submitted task: submit its tasks "
                                      "(SubmitTriggerTask) before running it.")
        # The inner task of a chosen For-each node runs as its iterations, not as a node.
        inner = control.inner_tasks(conn, [r.prod_version_id for r in chosen])
        chosen = [r for r in chosen if r.id not in inner] or chosen
        known = {p.get("ParamKey") for p in wf.row.params or []}
        unknown = sorted(k for k in overrides if k not in known)
        if unknown:
            raise InvalidValue(f"AdvancedParams: {', '.join(unknown)} are not parameters of the workflow "
                               f"{workflow_id} (its WorkflowParams: {', '.join(sorted(map(str, known))) or 'none'}).")
        policies = self._policies(conn, chosen)
        return self._write_run(conn, now, caller, wf, chosen, wanted, overrides, policies, origin,
                               parent_instance_id)

    @staticmethod
    def _policies(conn: Connection, chosen: Sequence[Any]) -> dict[str, str]:
        """Each chosen task's DependencyTriggerPolicy in the version the run runs."""
        v = T.task_versions
        snaps = conn.execute(
            select(v.c.task_id, v.c.snapshot).where(v.c.version_id.in_([r.prod_version_id for r in chosen]))
        ).all()
        out: dict[str, str] = {}
        for s in snaps:
            policy = ((s.snapshot or {}).get("TaskSchedulerConfiguration") or {}).get("DependencyTriggerPolicy")
            out[s.task_id] = policy if policy in rules.POLICIES else "ALL_SUCCESS"
        return out

    def _write_run(self, conn: Connection, now: datetime, caller: Caller, wf: Any, chosen: Sequence[Any],
                   wanted: list[str] | None, overrides: dict[str, str], policies: dict[str, str],
                   origin: RunOrigin | None = None, parent_instance_id: int | None = None) -> str:
        data_time = _wall_now(origin.at if origin is not None and origin.at is not None else now)
        last = conn.execute(select(func.max(R.c.data_time)).where(R.c.workflow_id == wf.row.id)).scalar()
        if last is not None and last >= data_time:
            data_time = last + timedelta(seconds=1)
        execution_id = new_uuid()
        ids = {r.id for r in chosen}
        e = T.task_dependencies
        edges: dict[str, list[str]] = {r.id: [] for r in chosen}
        for down, up in conn.execute(
            select(e.c.task_id, e.c.upstream_task_id).where(e.c.side == "prod", e.c.task_id.in_(ids))
        ):
            if up in ids:
                edges[down].append(up)
        params = [{"ParamKey": p["ParamKey"], "ParamValue": overrides.get(p["ParamKey"], p["ParamValue"])}
                  for p in wf.row.params or []]
        if origin is not None and origin.params:  # a trigger's own parameters set or join WorkflowParams
            declared = {p["ParamKey"] for p in params}
            params = [{**p, "ParamValue": origin.params.get(p["ParamKey"], p["ParamValue"])} for p in params]
            params += [{"ParamKey": k, "ParamValue": v} for k, v in origin.params.items() if k not in declared]
            overrides = {**overrides, **origin.params}
        conn.execute(insert(R).values(
            execution_id=execution_id, project_id=wf.row.project_id, workflow_id=wf.row.id,
            workflow_name=wf.row.name, state=progress.QUEUED,
            trigger_type=origin.trigger_type if origin is not None else "ManualTrigger", data_time=data_time,
            params=params, selected_task_ids=wanted, task_count=len(chosen), execute_user_uin=caller.uin,
            created_at=now, queued_at=now, rerun_times=0, parent_instance_id=parent_instance_id,
        ))
        tx = Tx(conn=conn, now=now, actor=caller.uin)
        created: list[dict[str, Any]] = []
        task_runs: list[dict[str, Any]] = []
        deps: list[dict[str, Any]] = []
        for r in chosen:
            tdef = self.scheduler.load_def(r.prod_version_id, conn)
            ups = edges[r.id]
            # A root holds the run's concurrency gate instead of an edge (concurrency.py).
            row = instance_row(now, tdef, wf.row.project_id, wf.row.id, data_time, data_time,
                               [{"met": False}] * max(1, len(ups)), owner_uin=r.owner_uin, instance_type=2,
                               run_type=RUN_TYPE)
            row.update(scheduled_at=now, wait_since=now, self_depend="parallel", params=overrides or None)
            if row["deadline_at"] is not None:
                row["deadline_at"] = now + timedelta(minutes=tdef.wait_ttl_minutes)
            iid = conn.execute(insert(TI).values(**row).returning(TI.c.id)).scalar_one()
            created.append({"id": iid, "state": row["state"]})
            task_runs.append({"execution_id": new_uuid(), "workflow_execution_id": execution_id,
                              "project_id": wf.row.project_id, "task_id": r.id, "version_id": r.prod_version_id,
                              "instance_id": iid, "created_at": now, "trigger_policy": policies.get(r.id, "ALL_SUCCESS")})
            deps.extend({"instance_id": iid, "upstream_task_id": u, "upstream_data_time": data_time,
                         "kind": rules.KIND, "met": False, "on_missing": False, "on_failed": False,
                         "timeout_minutes": None} for u in ups)
            if not ups:
                deps.append(concurrency.gate_row(iid, data_time))
        conn.execute(insert(TR), task_runs)
        if deps:
            conn.execute(insert(instance_deps), deps)
        if origin is not None and origin.record is not None:
            origin.record(conn, execution_id)
        record_created(tx, created, f"created by the workflow run {execution_id} (CreateTriggerWorkflowRun)")
        tx.flush()
        concurrency.admit(conn, wf.row.id, now)
        log.info("workflow run %s of %s: %d task(s), data time %s, by %s", execution_id, wf.row.id, len(chosen),
                 data_time, caller.uin)
        return execution_id

    # -- KillTriggerWorkflowRuns -----------------------------------------------------------------

    def kill_runs(self, project_id: str, workflow_id: str, caller: Caller, execution_ids: Sequence[str] | None,
                  kill_all: bool | None, pending: bool | None) -> list[tuple[str, str]]:
        """Kill runs; returns (WorkflowExecutionId, workflow name) of each run acted on."""
        if execution_ids is not None and len(execution_ids) > MAX_TASKS:
            raise InvalidValue(f"WorkflowExecutionIdList: at most {MAX_TASKS} runs")
        if not execution_ids and not kill_all and not pending:
            raise InvalidValue("Give WorkflowExecutionIdList, All or Pending: which runs to kill")
        now = self.clock.now()
        reason = f"killed by user {caller.uin} (KillTriggerWorkflowRuns)"
        with self.db.write() as conn:
            load_trigger_workflow(conn, project_id, workflow_id)
            q = select(R.c.execution_id, R.c.workflow_name, R.c.state).where(
                R.c.project_id == project_id, R.c.workflow_id == workflow_id)
            if execution_ids:
                wanted = list(dict.fromkeys(str(x).strip() for x in execution_ids))
                runs = {r.execution_id: r for r in conn.execute(q.where(R.c.execution_id.in_(wanted)))}
                missing = [x for x in wanted if x not in runs]
                if missing:
                    raise NotFound(f"The workflow run(s) {', '.join(missing[:10])} do not exist in the workflow "
                                   f"{workflow_id}.")
                done = [x for x in wanted if runs[x].state in progress.FINISHED]
                if done:
                    raise OperationFailed(f"The workflow run(s) {', '.join(done[:10])} have already finished "
                                          f"({', '.join(runs[x].state for x in done[:10])}): nothing to kill.")
                chosen = [runs[x] for x in wanted]
            else:
                live = (progress.PENDING, progress.QUEUED) if pending and not kill_all else progress.LIVE
                chosen = list(conn.execute(q.where(R.c.state.in_(live)).order_by(R.c.created_at)))
            tx = Tx(conn=conn, now=now, actor=caller.uin)
            for run in chosen:
                conn.execute(update(R).where(R.c.execution_id == run.execution_id).values(error_msg=reason))
                for _ in range(3):  # rows that moved meanwhile are read again
                    insts = conn.execute(
                        select(TI).select_from(TI.join(TR, TR.c.instance_id == TI.c.id))
                        .where(TR.c.workflow_execution_id == run.execution_id,
                               TI.c.state.in_((*states.PENDING, states.RUNNING)))
                    ).mappings().all()
                    if "changed" not in [nodes.kill_node(tx, inst, reason, kill_one) if nodes.is_running_node(inst)
                                         else kill_one(tx, inst, reason) for inst in insts]:
                        break
            settle_readiness(tx)
        self.scheduler.notify(Change.INSTANCES)
        return [(r.execution_id, r.workflow_name) for r in chosen]
