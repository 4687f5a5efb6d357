"""Helpers of the alarm service tests: a settable clock, rules, instances written directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import insert, select

from tests.scheduler.helpers import World
from tests.support import unique
from wedata.config import Settings
from wedata.services.alarms.alarms import AlarmService, InstanceEvent
from wedata.spec import models as M
from wedata.storage.alarm_tables import alarm_deliveries, alarm_messages
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances

FAST = {"alarm_timeout": 0.5, "alarm_backoff_base": 10.0, "alarm_max_attempts": 3, "alarm_poll_interval": 0.1}


@dataclass
class FakeClock:
    t: datetime

    def now(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += timedelta(**kw)


def service(db: Database, clock: FakeClock, home: Path, **extra: Any) -> AlarmService:
    return AlarmService(db, clock, Settings(home=home, extra={**FAST, **extra}))


def rule(svc: AlarmService, w: World, objects: list[str], *, kind: int = 1, types: tuple[str, ...] = ("failure",),
         groups: list[dict[str, Any]] | None = None, **extra: Any) -> str:
    req = msgspec.convert({
        "ProjectId": w.project_id, "AlarmRuleName": unique("r"), "MonitorObjectType": kind,
        "MonitorObjectIds": objects, "AlarmTypes": list(types),
        "AlarmGroups": groups or [{"AlarmWays": ["1"], "AlarmRecipientType": 2}], **extra,
    }, M.CreateOpsAlarmRuleRequest)  # fmt: skip
    return svc.create_rule(w.project_id, "1", req)


def hook_group(url: str, way: str = "6", **extra: Any) -> dict[str, Any]:
    return {"AlarmWays": [way], "WebHooks": [{"AlarmWay": way, "WebHooks": [url]}], "AlarmRecipientType": 2, **extra}


def event(w: World, task_id: str, outcome: str = "failure", **kw: Any) -> InstanceEvent:
    base: dict[str, Any] = {"project_id": w.project_id, "task_id": task_id, "workflow_id": w.workflow_id,
                            "data_time": datetime(2025, 3, 1), "outcome": outcome, "task_name": "t" + task_id,
                            "owner_uin": "1", "tries": 1, "try_limit": 1}  # fmt: skip
    base.update(kw)
    return InstanceEvent(**base)


def fire(svc: AlarmService, *events: InstanceEvent) -> list[int]:
    with svc.db.write() as conn:
        return svc.on_instance_events(conn, list(events))


def messages(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [dict(r) for r in conn.execute(select(alarm_messages).order_by(alarm_messages.c.id)).mappings()]


def deliveries(db: Database) -> list[dict[str, Any]]:
    D = alarm_deliveries
    with db.read() as conn:
        return [dict(r) for r in conn.execute(select(D).order_by(D.c.message_id, D.c.alarm_way, D.c.round)).mappings()]


def instance(db: Database, w: World, task_id: str, state: str, *, data_time: datetime, scheduled_at: datetime,
             **values: Any) -> int:
    """A task_instances row written directly (the engine's columns, with their defaults)."""
    row = {"task_id": task_id, "data_time": data_time, "project_id": w.project_id, "workflow_id": w.workflow_id,
           "version_id": f"{task_id}_{task_id}", "state": state, "scheduled_at": scheduled_at,
           "cycle_type": "DAY_CYCLE", "task_type_id": 35, "try_limit": 1, "created_at": scheduled_at,
           "updated_at": scheduled_at, "wait_since": scheduled_at, **values}  # fmt: skip
    with db.write() as conn:
        return int(conn.execute(insert(task_instances).values(**row).returning(task_instances.c.id)).scalar_one())
