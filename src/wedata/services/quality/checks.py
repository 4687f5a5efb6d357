"""The checks after successful attempts of attached tasks (MonitorType 2): the worker.

The engine writes a ``quality_checks`` row in the transaction that ends a successful attempt of
a task with attached groups covering its RunType (``storage.quality_tables.gate_success``). A
worker in every server process (1 s, woken by nothing: the engine may be elsewhere) claims
pending rows, runs each attached group (execution.py) and then:

- a blocking group (ExecFailBlock 1) that did not pass keeps the key held (holds.fail: the
  downstream instances wait, showing why); when every blocking group passed the hold is released
  (holds.release) and the engine is told (``Change.INSTANCES``). A hold of an older life round
  (the instance was rerun meanwhile) is left to the newer check;
- a group with a triggered or failed rule raises alarm messages through the alarm rules that
  watch the task (its task, workflow or project) and include ``failure`` (``backTrackingOrRerun
  Failure`` for a rerun or a backfill), with the alarm service's webhook delivery. The reason
  starts with ``data quality:``. One message per (alarm rule, group execution).

The same worker runs the groups on their own cycle (MonitorType 3, cycle.py) when a fire is due.

A claimed check whose process dies is claimed again after ``STALE`` (its groups run again).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from wedata.scheduler.api import Change, SchedulerApi
from wedata.services.alarms import rules as alarm_config
from wedata.services.alarms.alarms import AlarmService
from wedata.services.alarms.firing import Firing, InstanceEvent, rules_for_event
from wedata.services.quality import holds
from wedata.services.quality.cycle import BATCH as CYCLE_BATCH
from wedata.services.quality.cycle import CycleRunner
from wedata.services.quality.execution import NORMAL, Executor, GroupRun
from wedata.services.workers import BackgroundWorker
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances
from wedata.storage.quality_tables import quality_checks, quality_holds, quality_task_gates

log = logging.getLogger("wedata.quality")
C, G, H, TI = quality_checks, quality_task_gates, quality_holds, task_instances
STALE = timedelta(minutes=10)
BATCH = 10
ATTACHED_TRIGGER, CYCLE_TRIGGER = 2, 3
ACTOR = "quality"


class Checker:
    def __init__(self, db: Database, clock: Any, executor: Executor, scheduler: SchedulerApi,
                 alarms: AlarmService) -> None:  # fmt: skip
        self.db = db
        self.clock = clock
        self.executor = executor
        self.scheduler = scheduler
        self.alarms = alarms

    def run_pending(self, limit: int = BATCH) -> int:
        now = self.clock.now()
        with self.db.read() as conn:
            rows = conn.execute(select(C).where(C.c.done_at.is_(None), or_(C.c.claimed_at.is_(None),
                                                                           C.c.claimed_at < now - STALE))
                                .order_by(C.c.id).limit(limit)).all()
        taken = 0
        for row in rows:
            with self.db.write() as conn:
                claimed = conn.execute(update(C).where(C.c.id == row.id, C.c.done_at.is_(None),
                                                       or_(C.c.claimed_at.is_(None), C.c.claimed_at < now - STALE))
                                       .values(claimed_at=self.clock.now())).rowcount
            if not claimed:
                continue
            taken += 1
            try:
                self.check(row)
            except Exception:  # one bad check must not stop the worker; the hold (if any) stays
                log.exception("data quality check %s of task %s failed", row.id, row.task_id)
            with self.db.write() as conn:
                conn.execute(update(C).where(C.c.id == row.id).values(done_at=self.clock.now()))
        return taken

    def check(self, row: Any) -> None:
        with self.db.read() as conn:
            gates = conn.execute(select(G.c.group_id, G.c.block).where(G.c.task_id == row.task_id,
                                                                      G.c.run_type == row.run_type)).all()
        runs: list[tuple[GroupRun, bool]] = []
        for group_id, block in gates:
            run = self.executor.run_group(group_id, row.data_time, trigger_type=ATTACHED_TRIGGER, task_id=row.task_id,
                                          instance_id=row.instance_id, life_round=row.life_round_num)
            if run is not None:
                runs.append((run, bool(block)))
                log.info("data quality: %s -> status %s", run.summary() if run.bad else run.group_name, run.status)
        failed = [run for run, block in runs if block and run.status != NORMAL]
        now = self.clock.now()
        released = False
        with self.db.write() as conn:
            if failed:
                holds.fail(conn, row.task_id, row.data_time, row.life_round_num,
                           "; ".join(r.summary() for r in failed), now)
            else:
                released = holds.release(self.scheduler, conn, row.task_id, row.data_time, now, ACTOR,
                                         life_round=row.life_round_num)
            firings = self._firings(conn, row, [run for run, _ in runs if run.status != NORMAL])
            if firings:
                self.alarms.record(conn, firings)
        if released:
            self.scheduler.notify(Change.INSTANCES)

    def run_cycle(self, group_id: int, data_time: datetime) -> GroupRun | None:
        """One run of a group on its own cycle (MonitorType 3, cycle.py): stored with TriggerType
        3; a triggered or failed rule raises alarms through the alarm rules watching the group's
        project (no task is checked) that include ``failure``."""
        run = self.executor.run_group(group_id, data_time, trigger_type=CYCLE_TRIGGER)
        if run is None:
            return None
        log.info("data quality (cycle): %s -> status %s", run.summary() if run.bad else run.group_name, run.status)
        if run.status != NORMAL:
            with self.db.write() as conn:
                ev = InstanceEvent(project_id=run.project_id, task_id="", workflow_id="", data_time=data_time,
                                   outcome="failure", task_name=f"monitoring task {run.group_name}"[:256])
                now = self.clock.now()
                firings = [Firing(rule, ev, alarm_config.FAILURE, f"{rule['rule_id']}:quality:{run.exec_id}",
                                  f"{alarm_config.FAILURE}: data quality: {run.summary()}"[:2000], now)
                           for rule in rules_for_event(conn, ev) if alarm_config.FAILURE in (rule["alarm_types"] or [])]
                if firings:
                    self.alarms.record(conn, firings)
        return run

    def _firings(self, conn: Any, row: Any, runs: list[GroupRun]) -> list[Firing]:
        if not runs:
            return []
        inst = conn.execute(select(TI.c.project_id, TI.c.workflow_id, TI.c.try_limit, TI.c.tries, TI.c.started_at,
                                   TI.c.ended_at, T.tasks.c.name, T.tasks.c.owner_uin)
                            .outerjoin(T.tasks, T.tasks.c.id == TI.c.task_id).where(TI.c.id == row.instance_id)).first()
        if inst is None:
            return []
        ev = InstanceEvent(project_id=inst.project_id, task_id=row.task_id, workflow_id=inst.workflow_id,
                           data_time=row.data_time, outcome="failure", run_type=row.run_type, instance_id=row.instance_id,
                           life_round_num=row.life_round_num, tries=inst.tries, try_limit=inst.try_limit,
                           started_at=inst.started_at, ended_at=inst.ended_at, task_name=inst.name,
                           owner_uin=inst.owner_uin)
        kind = alarm_config.RERUN_FAILURE if ev.rerun_or_backfill else alarm_config.FAILURE
        now = self.clock.now()
        out = []
        for rule in rules_for_event(conn, ev):
            if kind not in (rule["alarm_types"] or []):
                continue
            for run in runs:
                reason = f"{kind}: data quality: {run.summary()}"
                out.append(Firing(rule, ev, kind, f"{rule['rule_id']}:quality:{run.exec_id}", reason[:2000], now))
        return out


class QualityWorker(BackgroundWorker):
    """Checks after attempts of attached tasks, then the due fires of own-cycle groups."""

    def __init__(self, checker: Checker, interval: float = 1.0) -> None:
        super().__init__("quality", interval)
        self.checker = checker
        self.cycles = CycleRunner(checker.db, checker.clock, checker.run_cycle)
        self.health = checker.db.health

    def poll(self) -> bool:
        busy = self.checker.run_pending() >= BATCH
        return self.cycles.run_due() >= CYCLE_BATCH or busy
