"""Trigger workflows and trigger tasks (spec §1 I): the 17 definition actions (18 with
GetTriggerTaskCode). Handlers pass wire-named dicts to the services and render through wire.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from wedata.actions.registry import action
from wedata.actions.triggers import wire
from wedata.protocol.context import RequestContext
from wedata.protocol.params import limit_items
from wedata.services.common import page
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


def _dict(struct: Any) -> dict[str, Any]:
    return msgspec.to_builtins(struct) if struct is not None else {}


# -- workflows ---------------------------------------------------------------------------------


@action("CreateTriggerWorkflow")
def create_trigger_workflow(services: Services, ctx: RequestContext,
                            req: M.CreateTriggerWorkflowRequest) -> M.CreateTriggerWorkflowResponse:
    workflow_id = services.trigger_workflows.create(req.project_id, ctx.caller.uin, _dict(req))
    return M.CreateTriggerWorkflowResponse(data=M.CreateTriggerWorkflowResult(workflow_id=workflow_id))


@action("GetTriggerWorkflow")
def get_trigger_workflow(services: Services, ctx: RequestContext,
                         req: M.GetTriggerWorkflowRequest) -> M.GetTriggerWorkflowResponse:
    return M.GetTriggerWorkflowResponse(
        data=wire.workflow_detail(services.trigger_workflows.get(req.project_id, req.workflow_id)))


@action("ListTriggerWorkflows")
def list_trigger_workflows(services: Services, ctx: RequestContext,
                           req: M.ListTriggerWorkflowsRequest) -> M.ListTriggerWorkflowsResponse:
    return M.ListTriggerWorkflowsResponse(data=wire.workflow_page(services.trigger_workflows.list_workflows(req)))


@action("UpdateTriggerWorkflow")
def update_trigger_workflow(services: Services, ctx: RequestContext,
                            req: M.UpdateTriggerWorkflowRequest) -> M.UpdateTriggerWorkflowResponse:
    services.trigger_workflows.update(req.project_id, req.workflow_id, ctx.caller.uin, _dict(req))
    return M.UpdateTriggerWorkflowResponse(data=M.UpdateTriggerWorkflowResult(status=True))


@action("UpdateTriggerWorkflowPartially")
def update_trigger_workflow_partially(
    services: Services, ctx: RequestContext, req: M.UpdateTriggerWorkflowPartiallyRequest
) -> M.UpdateTriggerWorkflowPartiallyResponse:
    limit_items(req.field_to_remove_list, "FieldToRemoveList")
    services.trigger_workflows.update(req.project_id, req.workflow_id, ctx.caller.uin, _dict(req.new_setting),
                                      partial=True, removals=req.field_to_remove_list)
    return M.UpdateTriggerWorkflowPartiallyResponse(data=M.UpdateTriggerWorkflowResult(status=True))


@action("DeleteTriggerWorkflow")
def delete_trigger_workflow(services: Services, ctx: RequestContext,
                            req: M.DeleteTriggerWorkflowRequest) -> M.DeleteTriggerWorkflowResponse:
    services.trigger_workflows.delete(req.project_id, req.workflow_id)
    return M.DeleteTriggerWorkflowResponse(data=M.DeleteTriggerWorkflowResult(status=True))


# -- tasks -------------------------------------------------------------------------------------


@action("CreateTriggerTask")
def create_trigger_task(services: Services, ctx: RequestContext,
                        req: M.CreateTriggerTaskRequest) -> M.CreateTriggerTaskResponse:
    task_id = services.trigger_tasks.create_trigger_task(
        req.project_id, ctx.caller, _dict(req.trigger_task_base_attribute), _dict(req.trigger_task_configuration),
        _dict(req.trigger_task_scheduler_configuration))
    return M.CreateTriggerTaskResponse(data=M.CreateTaskResult(task_id=task_id))


@action("GetTriggerTask", standing_in_read=True)  # as GetTask (actions/registry.py)
def get_trigger_task(services: Services, ctx: RequestContext, req: M.GetTriggerTaskRequest) -> M.GetTriggerTaskResponse:
    task, standing = services.trigger_tasks.get_task(req.project_id, req.task_id, ctx.caller)
    services.authorizer.remember(standing, ctx.extras)
    return M.GetTriggerTaskResponse(data=wire.trigger_task(task))


@action("GetTriggerTaskCode")
def get_trigger_task_code(services: Services, ctx: RequestContext,
                          req: M.GetTriggerTaskCodeRequest) -> M.GetTriggerTaskCodeResponse:
    code, size = services.trigger_tasks.get_task_code(req.project_id, req.task_id)
    return M.GetTriggerTaskCodeResponse(data=M.TaskCodeResult(code_info=code, code_file_size=size))


@action("ListTriggerTasks")
def list_trigger_tasks(services: Services, ctx: RequestContext,
                       req: M.ListTriggerTasksRequest) -> M.ListTriggerTasksResponse:
    limit_items(req.task_folder_path_list, "TaskFolderPathList")
    limit_items(req.workflow_folder_path_list, "WorkflowFolderPathList")
    limit_items(req.task_node_type_list, "TaskNodeTypeList")
    # The same filters as ListTasks, under the same names.
    rows, total, pg = services.trigger_tasks.list_tasks(msgspec.convert(msgspec.to_builtins(req), M.ListTasksRequest))
    return M.ListTriggerTasksResponse(data=wire.trigger_task_page(rows, total, pg))


@action("UpdateTriggerTask")
def update_trigger_task(services: Services, ctx: RequestContext,
                        req: M.UpdateTriggerTaskRequest) -> M.UpdateTriggerTaskResponse:
    services.trigger_tasks.update_trigger_task(req.project_id, req.task_id, ctx.caller, _dict(req.task))
    return M.UpdateTriggerTaskResponse(data=M.UpdateTaskResult(status=True))


@action("UpdateTriggerTaskPartially")
def update_trigger_task_partially(services: Services, ctx: RequestContext,
                                  req: M.UpdateTriggerTaskPartiallyRequest) -> M.UpdateTriggerTaskPartiallyResponse:
    limit_items(req.field_to_remove_list, "FieldToRemoveList")
    services.trigger_tasks.update_trigger_task_partially(req.project_id, req.task_id, ctx.caller,
                                                         _dict(req.new_setting), req.field_to_remove_list)
    return M.UpdateTriggerTaskPartiallyResponse(data=M.UpdateTaskResult(status=True))


@action("DeleteTriggerTask")
def delete_trigger_task(services: Services, ctx: RequestContext,
                        req: M.DeleteTriggerTaskRequest) -> M.DeleteTriggerTaskResponse:
    services.trigger_tasks.delete_task(req.project_id, req.task_id, ctx.caller, req.delete_mode)
    return M.DeleteTriggerTaskResponse(data=M.DeleteTaskResult(status=True))


@action("SubmitTriggerTask")
def submit_trigger_task(services: Services, ctx: RequestContext,
                        req: M.SubmitTriggerTaskRequest) -> M.SubmitTriggerTaskResponse:
    version_id = services.trigger_tasks.submit_task(req.project_id, req.task_id, ctx.caller, req.version_remark)
    return M.SubmitTriggerTaskResponse(data=M.SubmitTaskResult(version_id=version_id, status=True))


@action("GetTriggerTaskVersion")
def get_trigger_task_version(services: Services, ctx: RequestContext,
                             req: M.GetTriggerTaskVersionRequest) -> M.GetTriggerTaskVersionResponse:
    detail = services.trigger_tasks.get_version(req.project_id, req.task_id, req.version_id)
    return M.GetTriggerTaskVersionResponse(data=wire.version_detail(detail))


@action("ListTriggerTaskVersions")
def list_trigger_task_versions(services: Services, ctx: RequestContext,
                               req: M.ListTriggerTaskVersionsRequest) -> M.ListTriggerTaskVersionsResponse:
    periodic = M.ListTaskVersionsRequest(project_id=req.project_id, task_id=req.task_id,
                                         task_version_type=req.task_version_type, page_number=req.page_number,
                                         page_size=req.page_size)
    items, total, pg = services.trigger_tasks.list_versions(periodic)
    return M.ListTriggerTaskVersionsResponse(data=wire.version_page(items, total, pg))


@action("ListUpstreamTriggerTasks")
def list_upstream_trigger_tasks(services: Services, ctx: RequestContext,
                                req: M.ListUpstreamTriggerTasksRequest) -> M.ListUpstreamTriggerTasksResponse:
    services.trigger_tasks.require(req.project_id, req.task_id)
    pg = page(req.page_number, req.page_size)
    views, total = services.task_dependencies.list_upstream(req.project_id, req.task_id, pg)
    return M.ListUpstreamTriggerTasksResponse(data=wire.dependency_page(views, total, pg))


@action("ListDownstreamTriggerTasks")
def list_downstream_trigger_tasks(services: Services, ctx: RequestContext,
                                  req: M.ListDownstreamTriggerTasksRequest) -> M.ListDownstreamTriggerTasksResponse:
    services.trigger_tasks.require(req.project_id, req.task_id)
    pg = page(req.page_number, req.page_size)
    views, total = services.task_dependencies.list_downstream(req.project_id, req.task_id, pg)
    return M.ListDownstreamTriggerTasksResponse(data=wire.dependency_page(views, total, pg))
