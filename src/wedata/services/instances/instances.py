"""Task instances: the read actions over the engine's rows.

The engine (scheduler/) writes instances; this service reads them for GetTaskInstance,
ListTaskInstances, GetTaskInstanceLog and ListTaskInstanceExecutions (rules in query.py and
logs.py) and answers records (the joined row, records.py), which actions/instances/wire.py
renders. Services that change instances reach the engine through ``scheduler/api.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.scheduler.api import SchedulerApi, states
from wedata.services.common import Paged
from wedata.services.instances import logs as instance_logs
from wedata.services.instances import query as instance_query
from wedata.services.instances.records import Executions, LogPage
from wedata.services.projects.access import Access, ProjectAccess
from wedata.spec import models as M
from wedata.storage.db import Database


class InstanceService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, scheduler: SchedulerApi | None = None) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.scheduler = scheduler

    # -- reads ----------------------------------------------------------------------------------

    def get_instance(self, project_id: str, key: str, zone: str | None,
                     caller: Caller) -> tuple[Mapping[Any, Any], Access | None]:
        """The joined row of one instance (``zone`` is checked first, as every instance read does)
        and the caller's standing in the project, read by the same statement for the registry's
        check (actions/registry.py ``standing_in_read``; None: the project is not live)."""
        instance_query.check_zone(zone)
        with self.db.read() as conn:
            row = instance_query.load_instance(conn, project_id, key, uin=caller.uin)
        return self._with_pause(row), ProjectAccess.standing_of(project_id, caller, row)

    def _with_pause(self, row: Mapping[Any, Any]) -> Mapping[Any, Any]:
        """A due WAIT_RUN instance while this process's engine has paused dispatch (a full disk,
        scheduler/diskguard.py) shows why as its JobErrorMsg. Nothing is written to it: the
        reason lives in the engine's memory and disappears when dispatch resumes."""
        if row["state"] != states.WAIT_RUN or self.scheduler is None:
            return row
        reason = self.scheduler.dispatch_pause()
        if reason is None or (row["scheduled_at"] is not None and row["scheduled_at"] > self.clock.now()):
            return row
        return {**row, "error_msg": f"waiting: dispatch is paused ({reason})"}

    def list_instances(self, req: M.ListTaskInstancesRequest) -> Paged[Any]:
        with self.db.read() as conn:
            return instance_query.list_instances(conn, req)

    def get_log(self, req: M.GetTaskInstanceLogRequest) -> LogPage:
        with self.db.read() as conn:
            inst = instance_query.load_instance(conn, req.project_id, req.instance_key)
            return instance_logs.instance_log(conn, inst, req.life_round_num, req.log_level, req.next_cursor)

    def list_executions(self, req: M.ListTaskInstanceExecutionsRequest) -> Executions:
        instance_query.check_zone(req.time_zone)
        with self.db.read() as conn:
            inst = instance_query.load_instance(conn, req.project_id, req.instance_key)
            return instance_logs.executions(conn, inst, req.page_number, req.page_size, self.clock)

    def raw(self, project_id: str, key: str) -> dict[str, Any]:
        """The stored row of an instance (for other services and tests)."""
        with self.db.read() as conn:
            return dict(instance_query.load_instance(conn, project_id, key))
