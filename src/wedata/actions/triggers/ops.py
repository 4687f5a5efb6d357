"""The production side of trigger workflows (spec §1 I): GetOpsTriggerWorkflow,
ListOpsTriggerWorkflows, UpdateOpsTriggerTasksOwner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.registry import action
from wedata.actions.triggers import wire
from wedata.protocol.context import RequestContext
from wedata.protocol.params import limit_items
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("GetOpsTriggerWorkflow")
def get_ops_trigger_workflow(services: Services, ctx: RequestContext,
                             req: M.GetOpsTriggerWorkflowRequest) -> M.GetOpsTriggerWorkflowResponse:
    dag = services.trigger_ops.dag(req.project_id, req.workflow_id, req.workflow_execution_id)
    return M.GetOpsTriggerWorkflowResponse(data=wire.dag(dag))


@action("ListOpsTriggerWorkflows")
def list_ops_trigger_workflows(services: Services, ctx: RequestContext,
                               req: M.ListOpsTriggerWorkflowsRequest) -> M.ListOpsTriggerWorkflowsResponse:
    limit_items(req.filters, "Filters")
    return M.ListOpsTriggerWorkflowsResponse(data=wire.ops_workflow_page(services.trigger_ops.list_workflows(req)))


@action("UpdateOpsTriggerTasksOwner", operate=True)
def update_ops_trigger_tasks_owner(services: Services, ctx: RequestContext,
                                   req: M.UpdateOpsTriggerTasksOwnerRequest) -> M.UpdateOpsTriggerTasksOwnerResponse:
    count = services.trigger_ops.update_owner(req.project_id, req.owner_ids, req.task_ids, ctx.caller.uin)
    return M.UpdateOpsTriggerTasksOwnerResponse(data=wire.owners_updated(count))
