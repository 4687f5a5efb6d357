"""AuthorizePrivileges, RevokePrivileges, ListPermissions (spec §1 N): catalog grants. No
``ProjectId``: the service decides who may grant on each resource and what the caller sees;
rules: services/permissions/catalog.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.permissions import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("AuthorizePrivileges", project_scoped=False)
def authorize_privileges(
    services: Services, ctx: RequestContext, req: M.AuthorizePrivilegesRequest
) -> M.AuthorizePrivilegesResponse:
    return M.AuthorizePrivilegesResponse(data=wire.results(services.catalog_privileges.authorize(ctx.caller, req)))


@action("RevokePrivileges", project_scoped=False)
def revoke_privileges(
    services: Services, ctx: RequestContext, req: M.RevokePrivilegesRequest
) -> M.RevokePrivilegesResponse:
    return M.RevokePrivilegesResponse(data=wire.revoke_results(services.catalog_privileges.revoke(ctx.caller, req)))


@action("ListPermissions", project_scoped=False)
def list_permissions(
    services: Services, ctx: RequestContext, req: M.ListPermissionsRequest
) -> M.ListPermissionsResponse:
    items, total = services.catalog_privileges.list(ctx.caller, req)
    return M.ListPermissionsResponse(data=wire.details(items, total))
