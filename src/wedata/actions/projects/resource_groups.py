"""Execution resource groups (WeData 2025-08-06 §1 B). Rules: ``services/projects/resource_groups.py``.

CreateResourceGroup, UpdateResourceGroup, DeleteResourceGroup, ListResourceGroups and
GetResourceGroupMetrics are tenant-level (no ``ProjectId``); Associate/Dissociate carry a
``ProjectId``, so the registry checks that the project is live and the caller a member first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.projects import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.protocol.params import limit_items
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateResourceGroup", project_scoped=False)
def create_resource_group(
    services: Services, ctx: RequestContext, req: M.CreateResourceGroupRequest
) -> M.CreateResourceGroupResponse:
    group_id = services.resource_groups.create(ctx.caller, req)
    return M.CreateResourceGroupResponse(data=M.ResourceResult(status=True, resource_group_id=group_id))


@action("UpdateResourceGroup", project_scoped=False)
def update_resource_group(
    services: Services, ctx: RequestContext, req: M.UpdateResourceGroupRequest
) -> M.UpdateResourceGroupResponse:
    services.resource_groups.update(ctx.caller, req)
    return M.UpdateResourceGroupResponse(data=M.ResourceStatus(status=True))


@action("DeleteResourceGroup", project_scoped=False)
def delete_resource_group(
    services: Services, ctx: RequestContext, req: M.DeleteResourceGroupRequest
) -> M.DeleteResourceGroupResponse:
    services.resource_groups.delete(ctx.caller, req.id)
    return M.DeleteResourceGroupResponse(data=M.ResourceStatus(status=True))


@action("ListResourceGroups", project_scoped=False)
def list_resource_groups(
    services: Services, ctx: RequestContext, req: M.ListResourceGroupsRequest
) -> M.ListResourceGroupsResponse:
    limit_items(req.project_ids, "ProjectIds")
    return M.ListResourceGroupsResponse(data=wire.resource_group_page(services.resource_groups.list(req)))


@action("GetResourceGroupMetrics", project_scoped=False)
def get_resource_group_metrics(
    services: Services, ctx: RequestContext, req: M.GetResourceGroupMetricsRequest
) -> M.GetResourceGroupMetricsResponse:
    return M.GetResourceGroupMetricsResponse(data=wire.group_metrics(services.resource_groups.metrics(req)))


@action("AssociateResourceGroupToProject")
def associate_resource_group_to_project(
    services: Services, ctx: RequestContext, req: M.AssociateResourceGroupToProjectRequest
) -> M.AssociateResourceGroupToProjectResponse:
    services.resource_groups.associate(ctx.caller, req.resource_group_id, req.project_id)
    return M.AssociateResourceGroupToProjectResponse(data=M.ResourceStatus(status=True))


@action("DissociateResourceGroupFromProject")
def dissociate_resource_group_from_project(
    services: Services, ctx: RequestContext, req: M.DissociateResourceGroupFromProjectRequest
) -> M.DissociateResourceGroupFromProjectResponse:
    services.resource_groups.dissociate(ctx.caller, req.resource_group_id, req.project_id)
    return M.DissociateResourceGroupFromProjectResponse(data=M.ResourceStatus(status=True))
