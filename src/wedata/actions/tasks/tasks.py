"""Dev-side task actions (spec §1 D): tasks, their versions and their code.

Handlers turn the request Structs into plain wire-named dicts (msgspec.to_builtins) for the
service (a task's definition is stored under its wire names), and hand the service's records to
wire.py for the response Structs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from wedata.actions.registry import action
from wedata.actions.tasks import wire
from wedata.protocol.context import RequestContext
from wedata.protocol.params import limit_items
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


def _dict(struct: Any) -> dict[str, Any]:
    return msgspec.to_builtins(struct) if struct is not None else {}


@action("CreateTask")
def create_task(services: Services, ctx: RequestContext, req: M.CreateTaskRequest) -> M.CreateTaskResponse:
    task_id = services.tasks.create_task(
        req.project_id,
        ctx.caller,
        _dict(req.task_base_attribute),
        _dict(req.task_configuration),
        _dict(req.task_scheduler_configuration),
    )
    return M.CreateTaskResponse(data=M.CreateTaskResult(task_id=task_id))


@action("GetTask", standing_in_read=True)  # checked on the standing its statement reads (registry.py)
def get_task(services: Services, ctx: RequestContext, req: M.GetTaskRequest) -> M.GetTaskResponse:
    task, standing = services.tasks.get_task(req.project_id, req.task_id, ctx.caller)
    services.authorizer.remember(standing, ctx.extras)
    return M.GetTaskResponse(data=wire.task(task))


@action("ListTasks")
def list_tasks(services: Services, ctx: RequestContext, req: M.ListTasksRequest) -> M.ListTasksResponse:
    limit_items(req.task_folder_path_list, "TaskFolderPathList")
    limit_items(req.workflow_folder_path_list, "WorkflowFolderPathList")
    limit_items(req.task_node_type_list, "TaskNodeTypeList")
    rows, total, pg = services.tasks.list_tasks(req)
    return M.ListTasksResponse(data=wire.task_page(rows, total, pg))


@action("UpdateTask")
def update_task(services: Services, ctx: RequestContext, req: M.UpdateTaskRequest) -> M.UpdateTaskResponse:
    services.tasks.update_task(
        req.project_id,
        req.task_id,
        ctx.caller,
        _dict(req.task.task_base_attribute),
        _dict(req.task.task_configuration),
        _dict(req.task.task_scheduler_configuration),
    )
    return M.UpdateTaskResponse(data=M.UpdateTaskResult(status=True))


@action("UpdateTaskPartially")
def update_task_partially(
    services: Services, ctx: RequestContext, req: M.UpdateTaskPartiallyRequest
) -> M.UpdateTaskPartiallyResponse:
    services.tasks.update_task_partially(
        req.project_id, req.task_id, ctx.caller, _dict(req.new_setting), req.field_to_remove_list
    )
    return M.UpdateTaskPartiallyResponse(data=M.UpdateTaskResult(status=True))


@action("DeleteTask")
def delete_task(services: Services, ctx: RequestContext, req: M.DeleteTaskRequest) -> M.DeleteTaskResponse:
    services.tasks.delete_task(req.project_id, req.task_id, ctx.caller, req.delete_mode)
    return M.DeleteTaskResponse(data=M.DeleteTaskResult(status=True))


@action("SubmitTask")
def submit_task(services: Services, ctx: RequestContext, req: M.SubmitTaskRequest) -> M.SubmitTaskResponse:
    version_id = services.tasks.submit_task(req.project_id, req.task_id, ctx.caller, req.version_remark)
    return M.SubmitTaskResponse(data=M.SubmitTaskResult(version_id=version_id, status=True))


@action("GetTaskCode")
def get_task_code(services: Services, ctx: RequestContext, req: M.GetTaskCodeRequest) -> M.GetTaskCodeResponse:
    code, size = services.tasks.get_task_code(req.project_id, req.task_id)
    return M.GetTaskCodeResponse(data=wire.task_code(code, size))


@action("ListTaskVersions")
def list_task_versions(
    services: Services, ctx: RequestContext, req: M.ListTaskVersionsRequest
) -> M.ListTaskVersionsResponse:
    items, total, pg = services.tasks.list_versions(req)
    return M.ListTaskVersionsResponse(data=wire.version_page(items, total, pg))


@action("GetTaskVersion")
def get_task_version(services: Services, ctx: RequestContext, req: M.GetTaskVersionRequest) -> M.GetTaskVersionResponse:
    detail = services.tasks.get_version(req.project_id, req.task_id, req.version_id)
    return M.GetTaskVersionResponse(data=wire.version_detail(detail))
