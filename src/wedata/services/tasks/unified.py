"""Unified workflow scheduling (spec §6.32): a workflow's schedule overwrites its tasks' schedules.

Called by WorkflowService (``add_schedule_listener``) inside the CreateWorkflow / UpdateWorkflow
transaction, with the workflow's validated ``WorkflowSchedulerConfiguration`` (canonical wire
names). Decisions, following the product's "the workflow schedule is authoritative":

- every task of the workflow takes the workflow's CycleType, ScheduleTimeZone,
  CrontabExpression, StartTime, EndTime, execution window, calendar, SelfDepend and (when set)
  MinuteOffset; the rest of its definition is untouched;
- ``ModifyCycleValue`` "1": every upstream dependency of those tasks takes the workflow's
  MainCyclicConfig / SubordinateCyclicConfig (custom Offsets are dropped);
- ``ClearLink`` with a CRONTAB_CYCLE schedule: the tasks' dependencies on tasks of other
  workflows are removed (cron schedules cannot be aligned across workflows); a removal that
  would orphan a ParamTaskInList reference fails the whole update;
- each changed task gets a new SAVE version (it is an edit of its dev definition); a task whose
  definition would not validate (e.g. a CRONTAB_CYCLE without expression) fails the update.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from wedata.services.errors import InvalidValue
from wedata.services.tasks import edges as task_edges
from wedata.services.tasks.definition import CONF, SCHED, today_start, validate_scheduler
from wedata.services.tasks.versions import SAVE, record_version
from wedata.storage import tables as T

_COPIED = (
    "CycleType", "ScheduleTimeZone", "CrontabExpression", "StartTime", "EndTime", "ExecutionStartTime",
    "ExecutionEndTime", "CalendarOpen", "CalendarId", "SelfDepend",
)


def apply_workflow_schedule(
    conn: Connection, now: datetime, workflow_id: str, config: dict[str, Any], caller_uin: str, user_name: str
) -> list[str]:
    """Apply the unified schedule to the workflow's tasks; return the ids of the tasks changed."""
    t = T.tasks
    rows = conn.execute(
        select(t.c.id, t.c.name, t.c.definition).where(t.c.workflow_id == workflow_id).order_by(t.c.id).with_for_update()
    ).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    e = T.task_dependencies
    edges = conn.execute(select(e).where(e.c.side == task_edges.DEV, e.c.task_id.in_(ids))).all()
    foreign: set[tuple[str, str]] = set()
    if config.get("ClearLink") and config.get("CycleType") == "CRONTAB_CYCLE":
        local = set(ids)
        foreign = {(r.task_id, r.upstream_task_id) for r in edges if r.upstream_task_id not in local}
    changed: list[str] = []
    for row in rows:
        definition = dict(row.definition or {})
        sched = dict(definition.get(SCHED) or {})
        for key in _COPIED:
            if config.get(key) is not None:
                sched[key] = config[key]
        if config.get("MinuteOffset") is not None:
            sched["MinuteOffset"] = config["MinuteOffset"]
        dropped = {u for (d, u) in foreign if d == row.id}
        for item in sched.get("ParamTaskInList") or []:
            if item["FromTaskId"] in dropped:
                raise InvalidValue(
                    f"ClearLink would remove the dependency of the task {row.id} on {item['FromTaskId']}, "
                    f"whose parameter {item['FromParamKey']!r} it reads."
                )
        try:
            new_sched = validate_scheduler(sched, today_in_zone=today_start(now))
        except InvalidValue as exc:
            raise InvalidValue(f"The unified schedule does not fit the task {row.name}: {exc.message}") from None
        edges_changed = _rewrite_edges(conn, row.id, edges, dropped, config)
        if new_sched == definition.get(SCHED) and not edges_changed:
            continue
        conn.execute(
            update(t)
            .where(t.c.id == row.id)
            .values(
                definition={CONF: definition.get(CONF), SCHED: new_sched},
                cycle_type=new_sched["CycleType"],
                latest_version_no=t.c.latest_version_no + 1,
                updated_at=now,
                update_user_uin=caller_uin,
                update_user_name=user_name,
            )
        )
        record_version(conn, row.id, SAVE, user_uin=caller_uin, now=now)
        changed.append(row.id)
    return changed


def _rewrite_edges(conn: Connection, task_id: str, edges: Sequence[Any], dropped: set[str], config: dict[str, Any]) -> bool:
    e = T.task_dependencies
    current = {r.upstream_task_id: r for r in edges if r.task_id == task_id}
    if not current:
        return False
    modify = config.get("ModifyCycleValue") == "1" and config.get("MainCyclicConfig")
    changed = False
    for upstream_id, r in current.items():
        where = (e.c.side == task_edges.DEV) & (e.c.task_id == task_id) & (e.c.upstream_task_id == upstream_id)
        if upstream_id in dropped:
            conn.execute(e.delete().where(where))
            changed = True
        elif modify and (
            r.main_cyclic_config != config["MainCyclicConfig"]
            or r.subordinate_cyclic_config != config.get("SubordinateCyclicConfig")
            or r.offset is not None
        ):
            conn.execute(
                e.update()
                .where(where)
                .values(
                    main_cyclic_config=config["MainCyclicConfig"],
                    subordinate_cyclic_config=config.get("SubordinateCyclicConfig"),
                    offset=None,
                )
            )
            changed = True
    return changed
