"""Workflows and workflow folders (spec §1 C, §2.3).

Rules: services/workflows/workflows.py; answers: wire.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from wedata.actions.registry import action
from wedata.actions.workflows import wire
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


def _params(items: list[M.ParamInfo] | None) -> list[tuple[str, str]] | None:
    return None if items is None else [(p.param_key, p.param_value) for p in items]


def _config(info: M.WorkflowSchedulerConfigurationInfo | None) -> dict[str, Any] | None:
    # Wire names (the stored form); the service validates every field.
    return None if info is None else msgspec.to_builtins(info)


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
    return M.GetWorkflowResponse(data=wire.workflow_detail(row))


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
    return M.ListWorkflowsResponse(data=wire.workflow_page(rows, total, pg))


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
    return M.GetWorkflowFolderResponse(data=wire.folder_detail(row))


@action("ListWorkflowFolders")
def list_workflow_folders(
    services: Services, ctx: RequestContext, req: M.ListWorkflowFoldersRequest
) -> M.ListWorkflowFoldersResponse:
    rows, total, pg = services.workflows.list_folders(
        req.project_id, req.parent_folder_path, req.page_number, req.page_size
    )
    return M.ListWorkflowFoldersResponse(data=wire.folder_page(rows, total, pg))


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
