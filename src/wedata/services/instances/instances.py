"""Task instances: the read actions over the engine, and the engine's in-process hooks.

The engine (scheduler/) writes instances; this service reads them for GetTaskInstance,
ListTaskInstances, GetTaskInstanceLog and ListTaskInstanceExecutions (rules in
instance_query.py and instance_logs.py), and gives other services a way to poke the engine:
``notify_changed()`` after a submission or an ops change makes the engine look now instead of at
its next poll (it polls anyway, so this is only about latency, and it is a no-op when the engine
runs in another process).
"""

from __future__ import annotations

from typing import Any, Protocol

from wedata.clock import Clock
from wedata.config import Settings
from wedata.services.instances import logs as instance_logs
from wedata.services.instances import query as instance_query
from wedata.spec import models as M
from wedata.storage.db import Database


class _Wakeable(Protocol):
    def wake(self, *, plan: bool = False) -> None: ...


class InstanceService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self._engine: _Wakeable | None = None

    # -- engine hooks ---------------------------------------------------------------------------

    def attach_engine(self, engine: _Wakeable | None) -> None:
        self._engine = engine

    def notify_changed(self, *, plan: bool = True) -> None:
        """Tell an in-process engine that tasks or instances changed (e.g. after SubmitTask)."""
        if self._engine is not None:
            self._engine.wake(plan=plan)

    def reevaluate(self, conn: Any, instance_ids: list[int], actor: str) -> None:
        """Re-evaluate the readiness of these instances inside the caller's transaction (e.g.
        after an event case met their waits), then wake an in-process engine."""
        from wedata.scheduler.readiness import evaluate
        from wedata.scheduler.transitions import Tx

        tx = Tx(conn, self.clock.now(), actor)
        evaluate(tx, instance_ids)
        tx.flush()
        if tx.wake:
            evaluate(tx, tx.wake)
            tx.flush()
        self.notify_changed(plan=False)

    # -- reads ----------------------------------------------------------------------------------

    def get_instance(self, project_id: str, key: str, zone: str | None) -> M.TaskInstanceDetail:
        zone = instance_query.check_zone(zone)
        with self.db.read() as conn:
            return instance_query.to_detail(instance_query.load_instance(conn, project_id, key), zone)

    def list_instances(self, req: M.ListTaskInstancesRequest) -> M.TaskInstancePage:
        with self.db.read() as conn:
            return instance_query.list_instances(conn, req)

    def get_log(self, req: M.GetTaskInstanceLogRequest) -> M.InstanceLog:
        with self.db.read() as conn:
            inst = instance_query.load_instance(conn, req.project_id, req.instance_key)
            return instance_logs.instance_log(conn, inst, req.life_round_num, req.log_level, req.next_cursor)

    def list_executions(self, req: M.ListTaskInstanceExecutionsRequest) -> M.TaskInstanceExecutions:
        zone = instance_query.check_zone(req.time_zone)
        with self.db.read() as conn:
            inst = instance_query.load_instance(conn, req.project_id, req.instance_key)
            return instance_logs.executions(conn, inst, zone, req.page_number, req.page_size, self.clock)

    def raw(self, project_id: str, key: str) -> dict[str, Any]:
        """The stored row of an instance (for other services and tests)."""
        with self.db.read() as conn:
            return dict(instance_query.load_instance(conn, project_id, key))
