"""Workflows on the wire: every step from a workflows-domain record to a response Struct.

services/workflows/ returns ``workflows`` and ``workflow_folders`` rows; the handlers in this
package call the service and hand its rows to one function here. Answers that carry no record
(``Status: true``, a new id echoed back) are built in the handler itself.

Two columns of a workflow row are stored under wire names: ``params`` (``ParamKey`` /
``ParamValue``) and ``scheduler_config``, the unified schedule in the request's
WorkflowSchedulerConfigurationInfo names, kept so because the tasks service copies it onto each
task's (wire-shaped) definition as it is. The answer's WorkflowSchedulerConfiguration is a
different, smaller Struct, so it is filled field by field here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from wedata.services.common import Page, fmt_time
from wedata.services.workflows.workflows import workflow_path
from wedata.spec import models as M

# ----------------------------------------------------------------------------------------------
# Workflows.


def scheduler_configuration(stored: dict[str, Any] | None) -> M.WorkflowSchedulerConfiguration | None:
    if not stored:
        return None
    return M.WorkflowSchedulerConfiguration(
        schedule_time_zone=stored.get("ScheduleTimeZone"),
        cycle_type=stored.get("CycleType"),
        self_depend=stored.get("SelfDepend"),
        start_time=stored.get("StartTime"),
        end_time=stored.get("EndTime"),
        dependency_workflow=stored.get("DependencyWorkflow"),
        execution_start_time=stored.get("ExecutionStartTime"),
        execution_end_time=stored.get("ExecutionEndTime"),
        crontab_expression=stored.get("CrontabExpression"),
        calendar_open=stored.get("CalendarOpen"),
        # Calendars are kept outside this API (spec §3.17); no name is known for an id.
        calendar_name=None,
        calendar_id=stored.get("CalendarId"),
        minute_offset=stored.get("MinuteOffset"),
    )


def workflow_detail(row: Row[Any]) -> M.WorkflowDetail:
    return M.WorkflowDetail(
        workflow_name=row.name,
        owner_uin=row.owner_uin,
        create_user_uin=row.create_user_uin,
        workflow_type=row.workflow_type,
        workflow_params=[M.ParamInfo(param_key=p["ParamKey"], param_value=p["ParamValue"]) for p in row.params or []],
        workflow_scheduler_configuration=scheduler_configuration(row.scheduler_config),
        workflow_desc=row.description,
        path=workflow_path(row),
        bundle_id=row.bundle_id,
        bundle_info=row.bundle_info,
    )


def _workflow_info(r: Row[Any]) -> M.WorkflowInfo:
    return M.WorkflowInfo(
        workflow_id=r.id,
        workflow_name=r.name,
        workflow_type=r.workflow_type,
        owner_uin=r.owner_uin,
        create_time=fmt_time(r.created_at),
        modify_time=fmt_time(r.updated_at),
        update_user_uin=r.update_user_uin,
        workflow_desc=r.description,
        create_user_uin=r.create_user_uin,
    )


def workflow_page(rows: list[Row[Any]], total: int, pg: Page) -> M.ListWorkflowInfo:
    return M.ListWorkflowInfo(
        items=[_workflow_info(r) for r in rows],
        total_page_number=pg.total_pages(total),
        page_number=pg.number,
        page_size=pg.size,
        total_count=total,
    )


# ----------------------------------------------------------------------------------------------
# Workflow folders.


def folder_detail(row: Row[Any]) -> M.WorkflowFolderDetail:
    return M.WorkflowFolderDetail(
        project_id=row.project_id,
        folder_id=row.id,
        folder_path=row.path,
        create_user_uin=row.creator_uin,
        parent_folder_path=row.parent_path,
        folder_name=row.name,
    )


def folder_page(rows: list[Row[Any]], total: int, pg: Page) -> M.WorkflowFolderPage:
    return M.WorkflowFolderPage(
        page_number=pg.number,
        page_size=pg.size,
        total_count=total,
        total_page_number=pg.total_pages(total),
        items=[
            M.WorkflowFolder(project_id=r.project_id, folder_id=r.id, folder_path=r.path, create_user_uin=r.creator_uin)
            for r in rows
        ],
    )
