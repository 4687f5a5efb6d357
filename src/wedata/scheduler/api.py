"""The one door from the services into the engine.

Services never import the engine's loop, its cycle or a private name; what they need of the
scheduler is here, on one object built once per process (``services.scheduler``):

- :meth:`SchedulerApi.notify` — the one typed notifier. The service that changed something
  (not the action) says what: ``Change.TASKS`` (definitions or task status changed: plan them
  now) or ``Change.INSTANCES`` (instances may have become ready: look now). The server's engine
  process gets it over its socket (cli/engine_process.py); with no engine attached it does
  nothing (an engine elsewhere polls; this is only about latency). Called
  from the engine's own thread (an observer inside its cycle) it pokes the loop without
  re-reading timers.
- :meth:`SchedulerApi.load_def` — task definitions through ONE cache shared with the engine.
- :meth:`SchedulerApi.plan_task_now` — "re-plan this task", inside the caller's transaction.
- :meth:`SchedulerApi.reevaluate` — re-evaluate readiness inside the caller's transaction.
- :func:`satisfy_key` — satisfy the edges on a completed key whose data-quality hold the
  caller has just removed (services/quality).
- :meth:`SchedulerApi.dispatch_pause` — why this process's engine starts nothing now (a full
  disk), shown on waiting instances.
- :func:`fenced_update` / :func:`fenced_delete` — the optimistic ``row_version``-checked write
  or removal of one instance row that is not a state change (a state change goes through
  ``transitions.transition``); :func:`touch_instance` — an unconditional write that still bumps
  ``row_version`` so optimistic writers notice it.

It also re-exports, by name, the engine's public vocabulary that rules written in the services
share with it (instance ``states``, the one ``transition`` function and its ``Tx``, readiness,
dependency edges, task definitions, transition observers): services import them from here and
from nowhere else in ``scheduler/`` (an import-linter contract), so this module's ``__all__`` is
the whole surface the engine offers to the rest of the house.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Collection
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from wedata.config import Settings
from wedata.scheduler import event_consume, states
from wedata.scheduler.cycle import KILL_PREFIX
from wedata.scheduler.definitions import DefinitionCache, TaskDef
from wedata.scheduler.deps import (
    SATISFYING,
    NewInstance,
    clear_edges,
    compute_edges,
    flush_edges,
    insert_edges,
)
from wedata.scheduler.observers import observe
from wedata.scheduler.planner import Planner, PlanOutcome, instance_row, load_snapshot
from wedata.scheduler.readiness import evaluate, target_state
from wedata.scheduler.runs import append_log, log_line, log_path
from wedata.scheduler.transitions import (
    Move,
    Tx,
    cycle_tx,
    record_created,
    satisfy_key,
    transition,
    transition_many,
)
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances, task_plans
from wedata.storage.tables import tasks

__all__ = [
    "KILL_PREFIX",
    "SATISFYING",
    "Move",
    "Change",
    "NewInstance",
    "SchedulerApi",
    "TaskDef",
    "Tx",
    "append_log",
    "clear_edges",
    "compute_edges",
    "cycle_tx",
    "evaluate",
    "event_consume",
    "fenced_delete",
    "fenced_update",
    "flush_edges",
    "insert_edges",
    "instance_row",
    "log_line",
    "log_path",
    "observe",
    "record_created",
    "satisfy_key",
    "states",
    "target_state",
    "touch_instance",
    "transition",
    "transition_many",
]

log = logging.getLogger("wedata.scheduler")
TI = task_instances


class Change(enum.Enum):
    TASKS = "tasks"  # definitions, submissions or task status changed: plan now
    INSTANCES = "instances"  # instances may be ready (released, rerun, set success): look now


class _Engine(Protocol):
    def wake(self, *, plan: bool = False, tasks: Collection[str] = ()) -> None: ...

    def poke(self) -> None: ...

    def is_engine_thread(self) -> bool: ...

    def dispatch_pause(self) -> str | None: ...


class SchedulerApi:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.defs = DefinitionCache()
        self._engine: _Engine | None = None
        self._lock = threading.Lock()
        # Counts the notifications this process has seen (its own and, in the server's engine
        # process, those the API sent over): a cache of "nothing to do" is only as good as the
        # count it was taken at (services/backfill).
        self.notified = 0

    # -- the engine of this process, if any -------------------------------------------------------

    def attach(self, engine: _Engine | None) -> None:
        with self._lock:
            self._engine = engine

    @property
    def engine_here(self) -> bool:
        """An engine runs in this process (so in-process observers see its transitions); not
        the server's engine process (cli/engine_process.py), whose handle is attached too."""
        engine = self._engine
        return engine is not None and not getattr(engine, "remote", False)

    def dispatch_pause(self) -> str | None:
        """Why this process's engine starts no attempts now (e.g. "no space left on device under
        ..."), or None: it dispatches, or no engine runs here (scheduler/diskguard.py)."""
        engine = self._engine
        return engine.dispatch_pause() if engine is not None else None

    def notify(self, change: Change, tasks: Collection[str] = ()) -> None:
        """Tell this process's engine, or the server's engine process, (if any) what changed;
        ``tasks``: the only tasks a TASKS change concerns, when the caller knows them (planned
        by a look at those rows alone)."""
        self.notified += 1
        engine = self._engine
        if engine is None:
            return
        if change is Change.INSTANCES and engine.is_engine_thread():
            # Inside the engine's own cycle (an observer): its dispatch comes next; a poke
            # covers what was released after it, without re-reading the timers.
            engine.poke()
        else:
            engine.wake(plan=change is Change.TASKS, tasks=tasks)

    # -- definitions -----------------------------------------------------------------------------

    def load_def(self, version_id: str, conn: Connection | None = None) -> TaskDef:
        """The parsed definition of a submitted version (ValueError if it cannot be planned).
        Pass ``conn`` to read inside the caller's transaction."""
        if conn is not None:
            return self.defs.get(version_id, lambda v: load_snapshot(conn, v))

        def load(v: str) -> Any:
            with self.db.read() as c:
                return load_snapshot(c, v)

        return self.defs.get(version_id, load)

    # -- planning and readiness inside the caller's transaction ------------------------------------

    def plan_task_now(self, tx: Tx, task_id: str) -> None:
        """Extend one task's plan up to now in the caller's transaction (what the engine's
        planner would do at its next poll). A definition that cannot be planned is logged and
        left to the engine; it never undoes the caller's change."""
        conn = tx.conn
        row = conn.execute(
            select(tasks.c.id, tasks.c.status, tasks.c.prod_version_id, task_plans.c.version_id,
                   task_plans.c.task_status, task_plans.c.planned_through)
            .select_from(tasks.outerjoin(task_plans, task_plans.c.task_id == tasks.c.id))
            .where(tasks.c.id == task_id)
        ).mappings().first()
        if row is None:
            return
        planner = Planner(lambda v: self.load_def(v, conn), horizon_days=self.settings.plan_horizon_days,
                          catch_up=self.settings.plan_catch_up, defs=self.defs)
        with tx.savepoint() as ok:
            planner.plan(tx, row, PlanOutcome())
        if not ok.committed:
            log.error("planning task %s in a request failed; the engine plans it later", task_id,
                      exc_info=ok.error)

    def reevaluate(self, tx: Tx, instance_ids: list[int]) -> None:
        """Re-evaluate the readiness of these instances (and what that wakes) in ``tx``."""
        evaluate(tx, instance_ids)
        tx.flush()
        if tx.wake:
            woken, tx.wake = tx.wake, set()
            evaluate(tx, woken)
            tx.flush()


def touch_instance(conn: Connection, instance_id: int, values: dict[str, Any]) -> None:
    """Write ``values`` to one instance row unconditionally, bumping its ``row_version`` so that
    a concurrent optimistic writer (a transition, :func:`fenced_update`) sees the change."""
    conn.execute(update(TI).where(TI.c.id == instance_id).values(**values, row_version=TI.c.row_version + 1))


def fenced_delete(conn: Connection, inst: Any) -> bool:
    """Delete one instance row if nobody changed it since ``inst`` was read."""
    done = conn.execute(delete(TI).where(TI.c.id == inst["id"], TI.c.row_version == inst["row_version"])).rowcount
    return bool(done)


def fenced_update(conn: Connection, inst: Any, values: dict[str, Any]) -> bool:
    """Write ``values`` to one instance row if nobody changed it since ``inst`` was read (its
    ``row_version``), bumping the version. False when another writer came first."""
    done = conn.execute(
        update(TI).where(TI.c.id == inst["id"], TI.c.row_version == inst["row_version"])
        .values(**values, row_version=inst["row_version"] + 1)
    ).rowcount
    return bool(done)
