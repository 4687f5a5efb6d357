"""What a task run's end means for its workflow run: the observer of instance state changes
that applies the trigger rules downstream, keeps each run's state, and frees the run's slot.

It is registered on the engine's transition observers (scheduler/observers.py) and runs inside
the transaction that changed the instances, so a run's state commits with the task-run changes
that caused it, whichever process (engine, API kill) made them. A batch of periodic workflows'
instances costs it no statement (scope.py); one of a trigger workflow's, one indexed query more.

- A task run that ended (SUCCESS, FAILED, SKIP) has its waiting downstream task runs decided by
  their DependencyTriggerPolicy (rules.py): pass, skip, upstream failed, or wait.
- The run's ``ExecutionState``: QUEUED while the concurrency gate holds it (concurrency.py);
  PENDING until a task run starts; RUNNING while any is unfinished after that; when all have
  ended, SUCCESS if none failed (skipped ones count as done), SKIP if all were skipped, else
  FAILED. ``started_at`` is set by the first start, ``ended_at`` and ``cost_ms`` by the end.
- A run that ends frees its slot: the workflow's queued runs are admitted in the same
  transaction (concurrency.admit).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from wedata.scheduler.api import observe, states
from wedata.services.triggers import concurrency, rules, scope
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_deps, task_instances
from wedata.storage.savepoints import savepoint
from wedata.storage.trigger_tables import trigger_task_runs, trigger_workflow_runs

log = logging.getLogger(__name__)

TI, D, R, TR = task_instances, instance_deps, trigger_workflow_runs, trigger_task_runs
PENDING, QUEUED, RUNNING, SUCCESS, FAILED, SKIP = "PENDING", "QUEUED", "RUNNING", "SUCCESS", "FAILED", "SKIP"
FINISHED = (SUCCESS, FAILED, SKIP)
LIVE = (PENDING, QUEUED, RUNNING)
UPSTREAM_FAILED = rules.UPSTREAM_FAILED
_WATCHED = frozenset({states.RUNNING, *states.TERMINAL})

# A task run's ExecutionState for each instance state.
TASK_RUN_STATE = {
    states.WAIT_EVENT: PENDING,
    states.WAIT_UPSTREAM: PENDING,
    states.WAIT_RUN: QUEUED,
    states.RUNNING: RUNNING,
    states.FAILED_RETRY: RUNNING,
    states.COMPLETED: SUCCESS,
    states.EXPIRED: FAILED,
    states.SKIP_RUNNING: SKIP,
}


def run_state(counts: Mapping[str, int], started: bool) -> str:
    """A workflow run's state from the number of its instances in each instance state."""
    total = sum(counts.values())
    ended = sum(n for s, n in counts.items() if s in states.TERMINAL)
    if total and ended == total:
        if counts.get(states.EXPIRED):
            return FAILED
        if counts.get(states.SKIP_RUNNING) == total:
            return SKIP
        return SUCCESS
    if started or ended or counts.get(states.RUNNING) or counts.get(states.FAILED_RETRY):
        return RUNNING
    return PENDING


# Built once: the observer runs on the engine's hot path (each flush with a watched change).
_RUNS_OF = select(TR.c.instance_id, TR.c.workflow_execution_id).where(
    TR.c.instance_id.in_(bindparam("ids", expanding=True)))


def observe_runs(db: Database) -> None:
    observe(db.engine, "trigger-runs", on_changes)


def on_changes(conn: Connection, changes: Sequence[Mapping[str, Any]]) -> None:
    watched = [c for c in changes if c["to_state"] in _WATCHED]
    if not watched:
        return
    ids = {c["instance_id"] for c in scope.of_trigger_workflows(conn, watched)}
    if not ids:
        return
    runs = conn.execute(_RUNS_OF, {"ids": sorted(ids)}).all()
    if not runs:
        return
    now = max(c["at"] for c in changes)
    try:
        with savepoint(conn):
            mine = {r.instance_id for r in runs}
            ended = [c["instance_id"] for c in changes
                     if c["to_state"] in states.TERMINAL and c["instance_id"] in mine]
            if ended:
                rules.settle(conn, now, ended)
            freed = {wf for execution_id in sorted({r.workflow_execution_id for r in runs})
                     if (wf := refresh_run(conn, execution_id, now)) is not None}
            for workflow_id in sorted(freed):
                concurrency.admit(conn, workflow_id, now)
    except Exception:  # an observer must not roll back the engine's changes (observers.py)
        log.exception("workflow runs: could not follow the state changes of instances %s", sorted(ids))


def refresh_run(conn: Connection, execution_id: str, now: Any) -> str | None:
    """Bring the run's state in line with its task runs; returns its workflow id when the run
    has just finished (its slot is free), else None."""
    run = conn.execute(
        select(R.c.state, R.c.started_at, R.c.created_at, R.c.admitted_at, R.c.workflow_id)
        .where(R.c.execution_id == execution_id)
    ).first()
    if run is None:
        return None
    counts: dict[str, int] = defaultdict(int)
    for state, n in conn.execute(
        select(TI.c.state, func.count()).select_from(TR.join(TI, TI.c.id == TR.c.instance_id))
        .where(TR.c.workflow_execution_id == execution_id).group_by(TI.c.state)
    ):
        counts[state] += n
    started = run.started_at is not None or bool(
        counts.get(states.RUNNING) or counts.get(states.FAILED_RETRY) or counts.get(states.COMPLETED))
    new = run_state(counts, started)
    if run.state == QUEUED and new not in FINISHED:
        return None  # held by the concurrency gate (only a kill ends a queued run's task runs)
    values: dict[str, Any] = {}
    if new != run.state:
        values["state"] = new
    if run.started_at is None and new in (RUNNING, SUCCESS) and counts.get(states.COMPLETED, 0) + counts.get(
            states.RUNNING, 0) + counts.get(states.FAILED_RETRY, 0):
        values["started_at"] = now
    if new in FINISHED and run.state not in FINISHED:
        values["ended_at"] = now
        values["cost_ms"] = int((now - (run.started_at or values.get("started_at") or run.admitted_at
                                        or run.created_at)).total_seconds() * 1000)
    if values:
        conn.execute(update(R).where(R.c.execution_id == execution_id).values(**values))
    return run.workflow_id if new in FINISHED and run.state not in FINISHED else None
