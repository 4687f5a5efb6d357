"""Ops records -> WeData Structs: the one place this domain builds its answers.

Rules and the decisions behind each field: services/ops/task_reads.py (GetOpsTask, ListOpsTasks,
the dependency lists), services/ops/workflow_reads.py (GetOpsWorkflow, ListOpsWorkflows) and
services/jobs.py (GetOpsAsyncJob). Times are ``yyyy-MM-dd HH:mm:ss`` in UTC+8 unless the
request names a ``TimeZone`` (ListOpsTasks); GetOpsAsyncJob's are ``yyyy-MM-ddTHH:mm:ss`` in
UTC+8, as WeData's example shows. GetOpsTask is the production snapshot, which is stored in the
Task shape itself (plain-text code; version snapshots are wire-shaped by design), completed with
the live status, owner and names.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import msgspec

from wedata.services.common import Paged, fmt_time, parse_local, to_local
from wedata.services.errors import ServiceError
from wedata.services.ops.records import OpsTask, OpsWorkflow
from wedata.services.ops.task_reads import BASE, last_change
from wedata.services.ops.workflow_reads import latest_update
from wedata.services.tasks.definition import CONF, SCHED
from wedata.services.tasks.edges import brief
from wedata.services.tasks.schedule_desc import describe_schedule
from wedata.services.tasks.snapshot import encode_snapshot, is_submitted, version_no
from wedata.services.tasks.types import TASK_TYPE_NAMES
from wedata.spec import models as M

# Minute and hour tasks have an execution window (spec §6.10); the others show none.
_WINDOWED = ("MINUTE_CYCLE", "HOUR_CYCLE")

# ------------------------------------------------------------------------------------------------
# Async operations.


def async_answer(async_id: str) -> M.OpsAsyncResponse:
    return M.OpsAsyncResponse(async_id=async_id)


def tasks_started(ok: bool) -> M.StartTasks:
    return M.StartTasks(status=ok)


def owner_updated(ok: bool) -> M.UpdateTasksOwner:
    return M.UpdateTasksOwner(status=ok)


def _iso(dt: Any) -> str | None:
    local = to_local(dt)
    return local.strftime("%Y-%m-%dT%H:%M:%S") if local else None


def async_job(row: Mapping[Any, Any]) -> M.OpsAsyncJobDetail:
    return M.OpsAsyncJobDetail(
        project_id=row["project_id"], async_id=row["async_id"], async_type=row["async_type"],
        status=row["status"], error_desc=row["error_desc"], total_sub_process_count=row["total_count"],
        finished_sub_process_count=row["finished_count"], success_sub_process_count=row["success_count"],
        create_user_uin=row["create_user_uin"], create_time=_iso(row["created_at"]),
        update_time=_iso(row["updated_at"]),
    )


# ------------------------------------------------------------------------------------------------
# Tasks.


def ops_task(rec: OpsTask) -> M.Task:
    """The production Task (Base64 code, as the Task shape carries it)."""
    row = rec.row
    task = encode_snapshot(row.snapshot)
    base = task.setdefault(BASE, {})
    base.update({
        "Status": row.status,
        "OwnerUin": row.owner_uin,
        "WorkflowName": row.workflow_name,
        "LastOpsTime": fmt_time(row.last_ops_at),
        "LastOpsUserName": row.last_ops_user_name,
        "TaskLatestVersionNo": version_no(row.latest_version_no),
        "TaskLatestSubmitVersionNo": version_no(row.latest_submit_version_no),
        "Submit": is_submitted(row),
    })
    conf = task.setdefault(CONF, {})
    conf["ResourceGroupName"] = row.group_name if conf.get("ResourceGroup") else None
    sched = task.setdefault(SCHED, {})
    sched["UpstreamDependencyConfigList"] = [brief(i, c) for i, c in rec.upstream.items()]
    down_list = [brief(i, c) for i, c in rec.downstream.items()]
    sched["DownstreamDependencyConfigList"] = down_list
    sched["DownStreamDependencyConfigList"] = copy.deepcopy(down_list)
    return msgspec.convert(task, M.Task)


def task_code(code: str, size: int) -> M.TaskCode:
    return M.TaskCode(code_content=code, code_file_size=size)


def _wall_in_zone(value: str | None, task_zone: str | None, zone: str | None) -> str | None:
    """A wall time of the task's ScheduleTimeZone, shown in the requested zone (UTC+8 default)."""
    if not value:
        return None
    try:
        return fmt_time(parse_local(value, task_zone or None), zone)
    except ServiceError:
        return value  # a stored time we cannot read is shown as stored, never an error


def _schedule_desc(r: Any, *, with_zone: bool) -> str | None:
    desc = describe_schedule(
        r.CycleType, r.CrontabExpression, r.StartTime, r.ExecutionStartTime, r.ExecutionEndTime
    ).desc
    if desc and with_zone:
        desc += f"({r.ScheduleTimeZone or 'UTC+8'})"
    return desc


def _ops_info(r: Any, zone: str | None) -> M.TaskOpsInfo:
    return M.TaskOpsInfo(
        task_id=r.id,
        task_name=r.task_name,
        owner_uin=r.owner_uin,
        status=r.status,
        folder_id=r.folder_id,
        folder_name=r.folder_name,
        workflow_id=r.workflow_id,
        workflow_name=r.workflow_name,
        project_id=r.project_id,
        project_name=r.project_name,
        update_user_uin=r.submitter,
        task_type_id=r.task_type_id,
        task_type_desc=TASK_TYPE_NAMES.get(r.task_type_id),
        cycle_type=r.CycleType,
        executor_group_id=r.group_id,
        schedule_desc=_schedule_desc(r, with_zone=True),
        executor_group_name=r.group_name,
        last_scheduler_commit_time=fmt_time(r.submitted_at, zone),
        first_run_time=_wall_in_zone(r.StartTime, r.ScheduleTimeZone, zone),
        first_submit_time=fmt_time(r.first_submit, zone),
        create_time=fmt_time(r.created_at, zone),
        last_update_time=fmt_time(last_change(r), zone),
    )


def ops_task_page(pg: Paged[Any], zone: str | None) -> M.ListOpsTasksPage:
    return M.ListOpsTasksPage(
        total_count=pg.total,
        total_page_number=pg.page.total_pages(pg.total),
        items=[_ops_info(r, zone) for r in pg.items],
        page_number=pg.page.number,
        page_size=pg.page.size,
    )


def _depend(r: Any) -> M.OpsTaskDepend:
    cycle = r.CycleType or r.cycle_type
    windowed = cycle in _WINDOWED
    return M.OpsTaskDepend(
        task_id=r.id,
        task_name=r.task_name,
        workflow_id=r.workflow_id,
        workflow_name=r.workflow_name,
        project_id=r.project_id,
        project_name=r.project_name,
        status=r.status,
        task_type_id=r.task_type_id,
        task_type_desc=TASK_TYPE_NAMES.get(r.task_type_id),
        folder_name=r.folder_name,
        folder_id=r.folder_id,
        first_submit_time=fmt_time(r.first_submit),
        first_run_time=_wall_in_zone(r.StartTime, r.ScheduleTimeZone, None),
        schedule_desc=_schedule_desc(r, with_zone=False),
        cycle_type=cycle,
        owner_uin=r.owner_uin,
        execution_start_time=(r.ExecutionStartTime or "00:00") if windowed else None,
        execution_end_time=(r.ExecutionEndTime or "23:59") if windowed else None,
    )


def upstream_page(pg: Paged[Any]) -> M.ParentDependencyConfigPage:
    return M.ParentDependencyConfigPage(
        total_count=pg.total,
        total_page_number=pg.page.total_pages(pg.total),
        page_number=pg.page.number,
        page_size=pg.page.size,
        items=[_depend(r) for r in pg.items],
    )


def downstream_page(pg: Paged[Any]) -> M.ChildDependencyConfigPage:
    return M.ChildDependencyConfigPage(
        total_count=pg.total,
        total_page_number=pg.page.total_pages(pg.total),
        page_number=pg.page.number,
        page_size=pg.page.size,
        items=[_depend(r) for r in pg.items],
    )


# ------------------------------------------------------------------------------------------------
# Workflows.


def _owners(value: str | None) -> str | None:
    """``;uin;`` (several owners ``;a;b;``, spec §6.28)."""
    parts = [x for x in (value or "").split(";") if x]
    return f";{';'.join(parts)};" if parts else None


def _schedule_time(value: Any) -> str | None:
    """A schedule time (UTC datetime) in UTC+8; a stored text we could not read as stored."""
    return value if value is None or isinstance(value, str) else fmt_time(value)


def ops_workflow(rec: OpsWorkflow) -> M.OpsWorkflowDetail:
    r, schedule = rec.row, rec.schedule
    updated_at, _ = latest_update(r)
    return M.OpsWorkflowDetail(
        workflow_id=r.id,
        workflow_desc=r.description,
        workflow_type=r.workflow_type,
        create_time=fmt_time(r.created_at),
        create_user_uin=r.create_user_uin,
        update_time=fmt_time(updated_at),
        startup_time=0,  # delayed starts are not supported
        folder_id=r.folder_id,
        first_submit_time=fmt_time(r.first_submit),
        latest_submit_time=fmt_time(r.latest_submit),
        status=r.status,
        owner_uin=_owners(r.owner_uin),
        workflow_name=r.name,
        instance_init_strategy=schedule.init_strategy,
        cycle_type=schedule.cycle_type,
        start_time=_schedule_time(schedule.start),
        end_time=_schedule_time(schedule.end),
        scheduler_desc=schedule.desc,
    )


def _ops_workflow_item(r: Any) -> M.OpsWorkflow:
    updated_at, updated_by = latest_update(r)
    return M.OpsWorkflow(
        task_count=r.task_count,
        folder_name=r.folder_name,
        folder_id=r.folder_id,
        workflow_id=r.id,
        workflow_name=r.name,
        workflow_type=r.workflow_type,
        workflow_desc=r.description,
        owner_uin=_owners(r.owner_uin),
        project_id=r.project_id,
        project_name=r.project_name,
        status=r.status,
        create_time=fmt_time(r.created_at),
        update_time=fmt_time(updated_at),
        update_user_uin=updated_by,
    )


def ops_workflow_page(pg: Paged[Any]) -> M.OpsWorkflows:
    return M.OpsWorkflows(
        items=[_ops_workflow_item(r) for r in pg.items],
        total_count=pg.total,
        total_page_number=pg.page.total_pages(pg.total),
        page_size=pg.page.size,
        page_number=pg.page.number,
    )
