"""CreateWorkflowPermissions, DeleteWorkflowPermissions, ListWorkflowPermissions,
GetMyWorkflowMaxPermission (spec §1 A). The registry has already checked that the caller may
manage the entity's grants (ProjectManager, owner, tenant administrator, or CAN_MANAGE on its
chain); rules: services/permissions/workflows.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.permissions import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateWorkflowPermissions")
def create_workflow_permissions(
    services: Services, ctx: RequestContext, req: M.CreateWorkflowPermissionsRequest
) -> M.CreateWorkflowPermissionsResponse:
    services.workflow_grants.create(ctx.caller.uin, req)
    return M.CreateWorkflowPermissionsResponse(data=M.CreateWorkflowPermissionsResult(status=True))


@action("DeleteWorkflowPermissions")
def delete_workflow_permissions(
    services: Services, ctx: RequestContext, req: M.DeleteWorkflowPermissionsRequest
) -> M.DeleteWorkflowPermissionsResponse:
    services.workflow_grants.delete(req)
    return M.DeleteWorkflowPermissionsResponse(data=M.DeleteWorkflowPermissionsResult(status=True))


@action("ListWorkflowPermissions")
def list_workflow_permissions(
    services: Services, ctx: RequestContext, req: M.ListWorkflowPermissionsRequest
) -> M.ListWorkflowPermissionsResponse:
    return M.ListWorkflowPermissionsResponse(data=wire.grant_page(services.workflow_grants.list(req)))


@action("GetMyWorkflowMaxPermission")
def get_my_workflow_max_permission(
    services: Services, ctx: RequestContext, req: M.GetMyWorkflowMaxPermissionRequest
) -> M.GetMyWorkflowMaxPermissionResponse:
    standing = services.authorizer.standing(req.project_id, ctx.caller, ctx.extras)
    permission = services.workflow_grants.max_permission(standing, req)
    return M.GetMyWorkflowMaxPermissionResponse(data=M.WorkflowMaxPermission(permission_type=permission))
