"""Workflows and workflow folders (spec §1 C, §2.3): wire shapes <-> services.workflows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.services.common import fmt_time
from wedata.services.workflows.workflows import workflow_path
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


def _params(items: list[M.ParamInfo] | None) -> list[tuple[str, str]] | None:
    return None if items is None else [(p.param_key, p.param_value) for p in items]


def _config(info: M.WorkflowSchedulerConfigurationInfo | None) -> dict[str, Any] | None:
    # Wire names (the stored form); the service validates every field.
    return None if info is None else msgspec.to_builtins(info)


def _config_out(stored: dict[str, Any] | None) -> M.WorkflowSchedulerConfiguration | None:
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


# ----------------------------------------------------------------------------------------------
# Workflows.


@action("CreateWorkflow")
def create_workflow(services: Services, ctx: RequestContext, req: M.CreateWorkflowRequest) -> M.CreateWorkflowResponse:
    workflow_id = services.workflows.create_workflow(
        req.project_id,
        ctx.caller.uin,
        name=req.workflow_name,
        parent_folder_path=req.parent_folder_path,
        workflow_type=req.workflow_type,
        description=req.workflow_desc,
        owner_uin=req.owner_uin,
        params=_params(req.workflow_params),
        scheduler_config=_config(req.workflow_scheduler_configuration),
        bundle_id=req.bundle_id,
        bundle_info=req.bundle_info,
    )
    return M.CreateWorkflowResponse(data=M.CreateWorkflowResult(workflow_id=workflow_id))


@action("GetWorkflow")
def get_workflow(services: Services, ctx: RequestContext, req: M.GetWorkflowRequest) -> M.GetWorkflowResponse:
    row = services.workflows.get_workflow(req.project_id, req.workflow_id)
    return M.GetWorkflowResponse(
        data=M.WorkflowDetail(
            workflow_name=row.name,
            owner_uin=row.owner_uin,
            create_user_uin=row.create_user_uin,
            workflow_type=row.workflow_type,
            workflow_params=[M.ParamInfo(param_key=p["ParamKey"], param_value=p["ParamValue"]) for p in row.params or []],
            workflow_scheduler_configuration=_config_out(row.scheduler_config),
            workflow_desc=row.description,
            path=workflow_path(row),
            bundle_id=row.bundle_id,
            bundle_info=row.bundle_info,
        )
    )


@action("ListWorkflows")
def list_workflows(services: Services, ctx: RequestContext, req: M.ListWorkflowsRequest) -> M.ListWorkflowsResponse:
    rows, total, pg = services.workflows.list_workflows(
        req.project_id,
        page_number=req.page_number,
        page_size=req.page_size,
        keyword=req.keyword,
        parent_folder_path=req.parent_folder_path,
        workflow_type=req.workflow_type,
        bundle_id=req.bundle_id,
        owner_uin=req.owner_uin,
        create_user_uin=req.create_user_uin,
        modify_time=req.modify_time,
        create_time=req.create_time,
    )
    items = [
        M.WorkflowInfo(
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
        for r in rows
    ]
    return M.ListWorkflowsResponse(
        data=M.ListWorkflowInfo(
            items=items,
            total_page_number=pg.total_pages(total),
            page_number=pg.number,
            page_size=pg.size,
            total_count=total,
        )
    )


@action("UpdateWorkflow")
def update_workflow(services: Services, ctx: RequestContext, req: M.UpdateWorkflowRequest) -> M.UpdateWorkflowResponse:
    services.workflows.update_workflow(
        req.project_id,
        req.workflow_id,
        ctx.caller.uin,
        name=req.workflow_name,
        owner_uin=req.owner_uin,
        description=req.workflow_desc,
        params=_params(req.workflow_params),
        scheduler_config=_config(req.workflow_scheduler_configuration),
        bundle_id=req.bundle_id,
        bundle_info=req.bundle_info,
    )
    return M.UpdateWorkflowResponse(data=M.UpdateWorkflowResult(status=True))


@action("DeleteWorkflow")
def delete_workflow(services: Services, ctx: RequestContext, req: M.DeleteWorkflowRequest) -> M.DeleteWorkflowResponse:
    services.workflows.delete_workflow(req.project_id, req.workflow_id)
    return M.DeleteWorkflowResponse(data=M.DeleteWorkflowResult(status=True))


# ----------------------------------------------------------------------------------------------
# Workflow folders.


@action("CreateWorkflowFolder")
def create_workflow_folder(
    services: Services, ctx: RequestContext, req: M.CreateWorkflowFolderRequest
) -> M.CreateWorkflowFolderResponse:
    folder_id = services.workflows.create_folder(req.project_id, ctx.caller.uin, req.parent_folder_path, req.folder_name)
    return M.CreateWorkflowFolderResponse(data=M.CreateFolderResult(folder_id=folder_id))


@action("GetWorkflowFolder")
def get_workflow_folder(
    services: Services, ctx: RequestContext, req: M.GetWorkflowFolderRequest
) -> M.GetWorkflowFolderResponse:
    row = services.workflows.get_folder(req.project_id, req.folder_id)
    return M.GetWorkflowFolderResponse(
        data=M.WorkflowFolderDetail(
            project_id=row.project_id,
            folder_id=row.id,
            folder_path=row.path,
            create_user_uin=row.creator_uin,
            parent_folder_path=row.parent_path,
            folder_name=row.name,
        )
    )


@action("ListWorkflowFolders")
def list_workflow_folders(
    services: Services, ctx: RequestContext, req: M.ListWorkflowFoldersRequest
) -> M.ListWorkflowFoldersResponse:
    rows, total, pg = services.workflows.list_folders(
        req.project_id, req.parent_folder_path, req.page_number, req.page_size
    )
    items = [
        M.WorkflowFolder(project_id=r.project_id, folder_id=r.id, folder_path=r.path, create_user_uin=r.creator_uin)
        for r in rows
    ]
    return M.ListWorkflowFoldersResponse(
        data=M.WorkflowFolderPage(
            page_number=pg.number,
            page_size=pg.size,
            total_count=total,
            total_page_number=pg.total_pages(total),
            items=items,
        )
    )


@action("UpdateWorkflowFolder")
def update_workflow_folder(
    services: Services, ctx: RequestContext, req: M.UpdateWorkflowFolderRequest
) -> M.UpdateWorkflowFolderResponse:
    services.workflows.rename_folder(req.project_id, req.folder_id, req.folder_name)
    return M.UpdateWorkflowFolderResponse(data=M.UpdateFolderResult(status=True))


@action("DeleteWorkflowFolder")
def delete_workflow_folder(
    services: Services, ctx: RequestContext, req: M.DeleteWorkflowFolderRequest
) -> M.DeleteWorkflowFolderResponse:
    services.workflows.delete_folder(req.project_id, req.folder_id)
    return M.DeleteWorkflowFolderResponse(data=M.DeleteFolderResult(status=True))
