"""The concurrency gate of workflow runs: ``TriggerWorkflowRunConfiguration`` (MaxConcurrentNum,
QueuingMode), the queue, admission in order, and the expiry of runs queued too long.

Where the gate is: every run enters as ``QUEUED``, its root task runs (those with no upstream
inside the run, or inside a rerun) holding one extra ``instance_deps`` edge of kind ``gate``
(upstream ``trigger-slot``). Readiness counts it as an unmet edge, so the engine keeps those
instances in WAIT_UPSTREAM: nothing of a queued run can be dispatched, whoever looks. The
transition function never satisfies that kind; :func:`admit` removes the gates of the runs it
lets through, moves their state to PENDING and re-evaluates exactly those instances. Admission
is decided under a lock of the workflow's ``trigger_workflows`` row (SELECT ... FOR UPDATE on
PostgreSQL; SQLite serialises writers), so concurrent creations and endings never let more
through than the cap, however many runs arrive at once.

:func:`admit` runs where slots are taken or freed: at the end of the transaction that creates
(or reruns) a run, and in the transition observer's transaction that ends a run (progress.py),
so the next queued run starts in the same transaction as the previous one's end. A worker
(:class:`RunQueueWorker`) re-admits every few seconds (a raised MaxConcurrentNum takes effect
without waiting for an end) and expires queued runs.

Decisions (spec §3.21: "QueuingMode 1 = queue when at max concurrency (up to 48 h, then skip)
| 0 = skip immediately"):

- A slot is held by a run in PENDING or RUNNING (admitted, not finished). Without
  MaxConcurrentNum there is no cap. QueuingMode defaults to 1.
- Queued runs are admitted in the order they entered the queue (``queued_at``, then the run's
  data time, which is unique per workflow).
- QueuingMode 0: a run that cannot be admitted at once ends ``SKIP``, its task runs skipped,
  ``ErrorCodeStr`` saying why. QueuingMode 1: a run queued longer than 48 hours (the clock's
  time) ends the same way with "queued for more than 48 hours".
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from wedata.clock import Clock
from wedata.config import Settings
from wedata.scheduler.api import Change, SchedulerApi, Tx, evaluate, states, transition
from wedata.services.workers import BackgroundWorker
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_deps, task_instances
from wedata.storage.trigger_tables import trigger_task_runs, trigger_workflow_runs, trigger_workflows

log = logging.getLogger("wedata.triggers")

TI, D, R, TR, TW = task_instances, instance_deps, trigger_workflow_runs, trigger_task_runs, trigger_workflows
GATE_KIND = "gate"
GATE_TASK = "trigger-slot"  # upstream_task_id of the gate edge (never a TaskId: those are digits)
QUEUE_LIMIT = timedelta(hours=48)
SWEEP_SECONDS = 5.0
QUEUED, PENDING, RUNNING, SKIP = "QUEUED", "PENDING", "RUNNING", "SKIP"


def gate_row(instance_id: int, data_time: datetime) -> dict[str, Any]:
    return {"instance_id": instance_id, "upstream_task_id": GATE_TASK, "upstream_data_time": data_time,
            "kind": GATE_KIND, "met": False, "on_missing": False, "on_failed": False, "timeout_minutes": None}


def limits(run_config: dict[str, Any] | None) -> tuple[int | None, int]:
    """(MaxConcurrentNum or None, QueuingMode) of a workflow's run configuration."""
    cfg = run_config or {}
    cap = cfg.get("MaxConcurrentNum")
    mode = cfg.get("QueuingMode")
    return (int(cap) if cap else None), (1 if mode is None else int(mode))


def admit(conn: Connection, workflow_id: str, now: datetime) -> int:
    """Let queued runs of the workflow through while slots are free (in queue order); with
    QueuingMode 0, skip those that cannot go now. Returns the number admitted."""
    cfg = conn.execute(select(TW.c.run_config).where(TW.c.workflow_id == workflow_id).with_for_update()).first()
    queued = conn.execute(
        select(R.c.execution_id).where(R.c.workflow_id == workflow_id, R.c.state == QUEUED)
        .order_by(R.c.queued_at, R.c.data_time)
    ).scalars().all()
    if not queued:
        return 0
    cap, mode = limits(cfg.run_config if cfg is not None else None)
    if cap is None:
        chosen = list(queued)
    else:
        live = conn.execute(select(func.count()).where(R.c.workflow_id == workflow_id,
                                                       R.c.state.in_((PENDING, RUNNING)))).scalar_one()
        chosen = list(queued[: max(0, cap - live)])
    rest = queued[len(chosen):]
    if chosen:
        conn.execute(update(R).where(R.c.execution_id.in_(chosen)).values(state=PENDING, admitted_at=now))
        held = conn.execute(
            select(D.c.instance_id).select_from(D.join(TR, TR.c.instance_id == D.c.instance_id))
            .where(TR.c.workflow_execution_id.in_(chosen), D.c.kind == GATE_KIND)
        ).scalars().all()
        if held:
            conn.execute(delete(D).where(D.c.instance_id.in_(held), D.c.kind == GATE_KIND))
            tx = Tx(conn=conn, now=now, actor="scheduler")
            evaluate(tx, held)
            tx.flush()
    if rest and cap is not None and mode == 0:
        skip_runs(conn, list(rest), now, f"skipped: the workflow already had {cap} run(s) in progress "
                                   "(MaxConcurrentNum) and QueuingMode 0 skips a run that cannot start at once")
    return len(chosen)


def skip_runs(conn: Connection, execution_ids: list[str], now: datetime, reason: str) -> None:
    """End queued runs SKIP: their waiting task runs are skipped with ``reason``."""
    conn.execute(update(R).where(R.c.execution_id.in_(execution_ids), R.c.state == QUEUED)
                 .values(state=SKIP, error_msg=reason, ended_at=now, cost_ms=0))
    insts = conn.execute(
        select(TI).select_from(TI.join(TR, TR.c.instance_id == TI.c.id))
        .where(TR.c.workflow_execution_id.in_(execution_ids), TI.c.state.in_(states.WAITING))
    ).mappings().all()
    conn.execute(delete(D).where(D.c.instance_id.in_([i["id"] for i in insts]), D.c.kind == GATE_KIND))
    tx = Tx(conn=conn, now=now, actor="scheduler")
    for inst in insts:
        transition(tx, inst, states.SKIP_RUNNING, reason,
                   {"deadline_at": None, "error_msg": reason, "ended_at": now, "claimed_by": None})
    tx.flush()
    log.info("workflow runs %s skipped: %s", ", ".join(execution_ids[:10]), reason)


class RunQueueWorker(BackgroundWorker):
    """Every few seconds: expire runs queued longer than 48 hours, and admit what can go."""

    def __init__(self, db: Database, clock: Clock, settings: Settings, scheduler: SchedulerApi) -> None:
        super().__init__("wedata-trigger-queue", SWEEP_SECONDS)
        self.db = db
        self.health = db.health
        self.clock = clock
        self.settings = settings
        self.scheduler = scheduler

    def poll(self) -> bool:
        self.sweep()
        return False

    def sweep(self) -> int:
        """One pass; returns the number of runs expired or admitted."""
        now = self.clock.now()
        with self.db.read() as conn:
            workflows = conn.execute(select(R.c.workflow_id).where(R.c.state == QUEUED).distinct()).scalars().all()
        moved = 0
        for workflow_id in workflows:
            with self.db.write() as conn:
                old = conn.execute(select(R.c.execution_id).where(
                    R.c.workflow_id == workflow_id, R.c.state == QUEUED, R.c.queued_at < now - QUEUE_LIMIT,
                )).scalars().all()
                if old:
                    skip_runs(conn, list(old), now, "skipped: queued for more than 48 hours waiting for a slot "
                                                    "(MaxConcurrentNum, QueuingMode 1)")
                moved += len(old) + admit(conn, workflow_id, now)
        if moved:
            self.scheduler.notify(Change.INSTANCES)
        return moved
