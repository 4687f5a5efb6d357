"""CreateCodePermissions, DeleteCodePermissions, ListCodePermissions, GetMyCodeMaxPermission
(rules: services/code/grants.py, the check: services/code/access.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.code import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateCodePermissions")
def create_code_permissions(
    services: Services, ctx: RequestContext, req: M.CreateCodePermissionsRequest
) -> M.CreateCodePermissionsResponse:
    return M.CreateCodePermissionsResponse(data=wire.results(services.code_permissions.grant(ctx.caller, req)))


@action("DeleteCodePermissions")
def delete_code_permissions(
    services: Services, ctx: RequestContext, req: M.DeleteCodePermissionsRequest
) -> M.DeleteCodePermissionsResponse:
    return M.DeleteCodePermissionsResponse(data=wire.results(services.code_permissions.revoke(ctx.caller, req)))


@action("ListCodePermissions")
def list_code_permissions(
    services: Services, ctx: RequestContext, req: M.ListCodePermissionsRequest
) -> M.ListCodePermissionsResponse:
    return M.ListCodePermissionsResponse(data=wire.privilege_page(services.code_permissions.list(ctx.caller, req)))


@action("GetMyCodeMaxPermission")
def get_my_code_max_permission(
    services: Services, ctx: RequestContext, req: M.GetMyCodeMaxPermissionRequest
) -> M.GetMyCodeMaxPermissionResponse:
    level = services.code_permissions.max_permission(ctx.caller, req.project_id, req.resource_id)
    return M.GetMyCodeMaxPermissionResponse(data=M.CodeStudioMaxPermission(permission_type=level))
