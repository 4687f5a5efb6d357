"""Production-side (Ops) reads (spec §1 E, §2.6): GetOpsTask, GetOpsTaskCode, ListOpsTasks,
ListUpstreamOpsTasks, ListDownstreamOpsTasks, GetOpsWorkflow, ListOpsWorkflows.

Rules: services/ops/task_reads.py and services/ops/workflow_reads.py; shapes: wire.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.ops import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.services.ops.task_reads import ops_page
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("GetOpsTask")
def get_ops_task(services: Services, ctx: RequestContext, req: M.GetOpsTaskRequest) -> M.GetOpsTaskResponse:
    return M.GetOpsTaskResponse(data=wire.ops_task(services.ops_tasks.get_task(req.project_id, req.task_id)))


@action("GetOpsTaskCode")
def get_ops_task_code(
    services: Services, ctx: RequestContext, req: M.GetOpsTaskCodeRequest
) -> M.GetOpsTaskCodeResponse:
    code, size = services.ops_tasks.get_code(req.project_id, req.task_id)
    return M.GetOpsTaskCodeResponse(data=wire.task_code(code, size))


@action("ListOpsTasks")
def list_ops_tasks(services: Services, ctx: RequestContext, req: M.ListOpsTasksRequest) -> M.ListOpsTasksResponse:
    filters = {
        "TaskTypeId": req.task_type_id,
        "WorkflowId": req.workflow_id,
        "WorkflowName": req.workflow_name,
        "OwnerUin": req.owner_uin,
        "FolderId": req.folder_id,
        "SourceServiceId": req.source_service_id,
        "TargetServiceId": req.target_service_id,
        "ExecutorGroupId": req.executor_group_id,
        "CycleType": req.cycle_type,
        "Status": req.status,
    }
    pg = ops_page(req.page_number, req.page_size)
    rows = services.ops_tasks.list_tasks(req.project_id, filters, pg, req.time_zone)
    return M.ListOpsTasksResponse(data=wire.ops_task_page(rows, req.time_zone))


@action("ListUpstreamOpsTasks")
def list_upstream_ops_tasks(
    services: Services, ctx: RequestContext, req: M.ListUpstreamOpsTasksRequest
) -> M.ListUpstreamOpsTasksResponse:
    rows = services.ops_tasks.list_dependencies(
        req.project_id, req.task_id, ops_page(req.page_number, req.page_size), upstream=True
    )
    return M.ListUpstreamOpsTasksResponse(data=wire.upstream_page(rows))


@action("ListDownstreamOpsTasks")
def list_downstream_ops_tasks(
    services: Services, ctx: RequestContext, req: M.ListDownstreamOpsTasksRequest
) -> M.ListDownstreamOpsTasksResponse:
    rows = services.ops_tasks.list_dependencies(
        req.project_id, req.task_id, ops_page(req.page_number, req.page_size), upstream=False
    )
    return M.ListDownstreamOpsTasksResponse(data=wire.downstream_page(rows))


@action("GetOpsWorkflow")
def get_ops_workflow(services: Services, ctx: RequestContext, req: M.GetOpsWorkflowRequest) -> M.GetOpsWorkflowResponse:
    workflow = services.ops_workflows.get_workflow(req.project_id, req.workflow_id)
    return M.GetOpsWorkflowResponse(data=wire.ops_workflow(workflow))


@action("ListOpsWorkflows")
def list_ops_workflows(
    services: Services, ctx: RequestContext, req: M.ListOpsWorkflowsRequest
) -> M.ListOpsWorkflowsResponse:
    query = {
        "FolderId": req.folder_id,
        "Status": req.status,
        "OwnerUin": req.owner_uin,
        "WorkflowType": req.workflow_type,
        "KeyWord": req.key_word,
        "SortItem": req.sort_item,
        "SortType": req.sort_type,
        "CreateUserUin": req.create_user_uin,
        "ModifyTime": req.modify_time,
        "CreateTime": req.create_time,
    }
    rows = services.ops_workflows.list_workflows(req.project_id, query, ops_page(req.page_number, req.page_size))
    return M.ListOpsWorkflowsResponse(data=wire.ops_workflow_page(rows))
