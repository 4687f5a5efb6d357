"""RerunTriggerWorkflowRunAsync: a finished workflow run runs again, through the async job table
(services/jobs.py; progress with GetOpsAsyncJob).

A rerun re-executes the **same** run (its ``WorkflowExecutionId``; ``RerunTimes`` + 1) and the
same task runs (their ``ExecutionId``; each chosen one starts a new life round of its engine
instance, ``RerunTimes`` = its ``LifeRoundNum``), so the run's history and logs stay in one
place, as a periodic instance's rerun does.

- ``ExecuteType`` 1 (normal): every task run of the run, with the run's parameters. TaskIds and
  AdvancedParams belong to ExecuteType 2 (``InvalidParameterValue`` with 1).
- ``ExecuteType`` 2 (advanced): the task runs of the given ``TaskIds`` (default: all), which
  must be tasks of the run (``InvalidParameterValue`` naming the others), with
  ``AdvancedParams`` overriding the run's parameters (keys among the run's ``WorkflowParams``);
  the run shows the new values. Task runs left out keep their end (a succeeded upstream stays
  succeeded and counts for its downstream's trigger rule).
- A run that has not finished (QUEUED, PENDING, RUNNING) is refused (``FailedOperation``), when
  asked and again when the job acts.
- The rerun goes through the concurrency gate like a new run (QUEUED, admitted in order).
- The job has one item, the run: re-arming it is one transaction (all chosen task runs or none).
- ``SchedulingResourceGroup`` / ``IntegrationResourceGroup`` are refused
  (``UnsupportedOperation``): task runs keep the resource groups of their versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.scheduler.api import SchedulerApi, Tx, states, transition
from wedata.services.errors import InvalidValue, NotFound, OperationFailed, Unsupported
from wedata.services.jobs import SUCCESS, ItemFailed, Job, JobKind, OpsJobService, Outcome
from wedata.services.triggers import concurrency, progress, rules
from wedata.services.triggers.runs import check_params, check_task_ids
from wedata.services.triggers.workflows import load_trigger_workflow
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_deps, task_instances
from wedata.storage.trigger_tables import trigger_task_runs, trigger_workflow_runs

TI, D, R, TR = task_instances, instance_deps, trigger_workflow_runs, trigger_task_runs
RERUN = "RerunTriggerWorkflowRun"  # the job's AsyncType
EXECUTE_TYPES = ("1", "2")


def _unfinished(execution_id: str, state: str) -> OperationFailed:
    return OperationFailed(f"The workflow run {execution_id} is {state}: only a finished run can be rerun "
                           "(wait for it, or KillTriggerWorkflowRuns).")


class RerunKind(JobKind):
    def __init__(self, clock: Clock, scheduler: SchedulerApi) -> None:
        self.clock = clock
        self.scheduler = scheduler

    def act(self, conn: Connection, job: Job, key: str) -> Outcome:
        run = conn.execute(select(R).where(R.c.execution_id == key, R.c.project_id == job.project_id)
                           .with_for_update()).first()
        if run is None:
            raise ItemFailed("the workflow run no longer exists")
        if run.state not in progress.FINISHED:
            raise ItemFailed(str(_unfinished(key, run.state)))
        rerun_run(conn, self.clock.now(), job.caller, run, self.scheduler, job.params.get("task_ids"),
                  job.params.get("params") or {})
        return Outcome(SUCCESS, wake=True)


def rerun_run(conn: Connection, now: datetime, caller: str, run: Any, scheduler: SchedulerApi,
              task_ids: Sequence[str] | None, new_params: dict[str, str]) -> None:
    """Re-arm the chosen task runs of a finished run, behind the concurrency gate."""
    # The iterations of a For-each node are re-armed by the node when it runs again (nodes.py).
    q = select(TI, TR.c.trigger_policy).select_from(TI.join(TR, TR.c.instance_id == TI.c.id)).where(
        TR.c.workflow_execution_id == run.execution_id, TR.c.parent_instance_id.is_(None))
    if task_ids:
        q = q.where(TR.c.task_id.in_(list(task_ids)))
    chosen = conn.execute(q.order_by(TI.c.id)).mappings().all()
    if not chosen:
        raise ItemFailed("none of the chosen task runs exists any more")
    ids = [c["id"] for c in chosen]
    keys = {(c["task_id"], c["data_time"]) for c in chosen}
    inside: set[int] = set()
    for iid, up, at in conn.execute(select(D.c.instance_id, D.c.upstream_task_id, D.c.upstream_data_time)
                                    .where(D.c.instance_id.in_(ids), D.c.kind == rules.KIND)):
        if (up, at) in keys:
            inside.add(iid)
    conn.execute(update(D).where(D.c.instance_id.in_(ids), D.c.kind == rules.KIND).values(met=False))
    gates = [concurrency.gate_row(c["id"], c["data_time"]) for c in chosen if c["id"] not in inside]
    if gates:
        conn.execute(insert(D), gates)
    params = [{"ParamKey": p["ParamKey"], "ParamValue": new_params.get(p["ParamKey"], p["ParamValue"])}
              for p in run.params or []]
    conn.execute(update(R).where(R.c.execution_id == run.execution_id).values(
        state=progress.QUEUED, queued_at=now, admitted_at=None, started_at=None, ended_at=None, cost_ms=None,
        error_msg=None, rerun_times=(run.rerun_times or 0) + 1, params=params,
    ))
    tx = Tx(conn=conn, now=now, actor=caller)
    reason = f"rerun by user {caller} (RerunTriggerWorkflowRunAsync)"
    for inst in chosen:
        tdef = scheduler.load_def(inst["version_id"], conn)
        wait_ttl = tdef.wait_ttl_minutes if tdef.wait_ttl_strategy == "fail" else -1
        merged = {**(inst["params"] or {}), **new_params} or None
        values = {
            "life_round_num": inst["life_round_num"] + 1, "tries": 0, "run_type": "RERUN", "try_limit": tdef.try_limit,
            "started_at": None, "ended_at": None, "cost_ms": None, "error_msg": None, "retry_at": None,
            "claimed_by": None, "lease_until": None, "wait_since": now, "scheduled_at": now, "params": merged,
            "deadline_at": now + timedelta(minutes=wait_ttl) if wait_ttl >= 0 else None,
        }
        if inst["state"] not in states.TERMINAL or not transition(tx, inst, states.WAIT_UPSTREAM, reason, values):
            raise ItemFailed(f"the task run of {inst['task_id']} changed meanwhile; try again")
    tx.flush()
    # Upstream task runs left out have ended: decide for the re-armed ones now.
    rules.settle(conn, now, [], waiting=ids)
    concurrency.admit(conn, run.workflow_id, now)


class TriggerRerunService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, jobs: OpsJobService,
                 scheduler: SchedulerApi) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.jobs = jobs
        jobs.register(RERUN, RerunKind(clock, scheduler))

    def request(self, project_id: str, caller: Caller, workflow_id: str, execution_id: str, execute_type: str,
                advanced: Sequence[dict[str, Any]] | None, task_ids: Sequence[str] | None,
                resource_groups: Sequence[str | None]) -> str:
        """Check the request and record the job; returns its AsyncId."""
        kind = str(execute_type).strip()
        if kind not in EXECUTE_TYPES:
            raise InvalidValue(f"ExecuteType must be 1 (normal) or 2 (advanced), got {execute_type!r}")
        if kind == "1" and (task_ids is not None or advanced is not None):
            raise InvalidValue("TaskIds and AdvancedParams are for ExecuteType 2 (advanced); ExecuteType 1 reruns "
                               "every task with the run's parameters")
        if any(g for g in resource_groups):
            raise Unsupported("SchedulingResourceGroup / IntegrationResourceGroup: a rerun keeps the resource "
                              "groups of the task versions on this server; leave them out.")
        wanted = check_task_ids(task_ids)
        overrides = check_params(advanced)
        with self.db.read() as conn:
            load_trigger_workflow(conn, project_id, workflow_id)
            run = conn.execute(select(R).where(R.c.project_id == project_id, R.c.workflow_id == workflow_id,
                                               R.c.execution_id == execution_id)).first()
            if run is None:
                raise NotFound(f"The workflow run {execution_id} does not exist in the workflow {workflow_id}.")
            if run.state not in progress.FINISHED:
                raise _unfinished(execution_id, run.state)
            if wanted is not None:
                have = set(conn.execute(select(TR.c.task_id).where(TR.c.workflow_execution_id == execution_id))
                           .scalars())
                foreign = [t for t in wanted if t not in have]
                if foreign:
                    raise InvalidValue(f"TaskIds: the task(s) {', '.join(foreign[:10])} did not run in the workflow "
                                       f"run {execution_id}.")
        known = {p.get("ParamKey") for p in run.params or []}
        unknown = sorted(k for k in overrides if k not in known)
        if unknown:
            raise InvalidValue(f"AdvancedParams: {', '.join(unknown)} are not parameters of the workflow run "
                               f"{execution_id} (its WorkflowParams: {', '.join(sorted(map(str, known))) or 'none'}).")
        return self.jobs.create(project_id, RERUN, caller.uin, [execution_id],
                                {"type": kind, "task_ids": wanted, "params": overrides})
