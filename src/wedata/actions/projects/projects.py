"""Projects, members and roles (WeData 2025-08-06 §1 A). Rules: ``services/projects/projects.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.projects import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.protocol.params import limit_items
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateProject", project_scoped=False)
def create_project(
    services: Services, ctx: RequestContext, req: M.CreateProjectRequest
) -> M.CreateProjectResponse:
    project_id = services.projects.create_project(ctx.caller, req.project, req.dlc_info, req.resource_ids)
    return M.CreateProjectResponse(data=M.CreateProjectResult(project_id=project_id))


# The Project record is tenant-visible, as in ListProjects (services/projects/projects.py).
@action("GetProject", project_scoped=False)
def get_project(services: Services, ctx: RequestContext, req: M.GetProjectRequest) -> M.GetProjectResponse:
    return M.GetProjectResponse(data=wire.project(services.projects.get_project(req.project_id)))


@action("ListProjects", project_scoped=False)
def list_projects(
    services: Services, ctx: RequestContext, req: M.ListProjectsRequest
) -> M.ListProjectsResponse:
    limit_items(req.project_ids, "ProjectIds")
    return M.ListProjectsResponse(data=wire.project_page(services.projects.list_projects(req)))


@action("UpdateProject")
def update_project(
    services: Services, ctx: RequestContext, req: M.UpdateProjectRequest
) -> M.UpdateProjectResponse:
    services.projects.update_project(ctx.caller, req)
    return M.UpdateProjectResponse()


# DLC engines bound to the project: named lake engines (services/projects/lake_engines.py).
@action("AddCalcEnginesToProject")
def add_calc_engines_to_project(
    services: Services, ctx: RequestContext, req: M.AddCalcEnginesToProjectRequest
) -> M.AddCalcEnginesToProjectResponse:
    services.lake_engines.add(ctx.caller, req.project_id, req.dlc_info)
    return M.AddCalcEnginesToProjectResponse()


@action("DeleteProject")
def delete_project(
    services: Services, ctx: RequestContext, req: M.DeleteProjectRequest
) -> M.DeleteProjectResponse:
    services.projects.delete_project(ctx.caller, req.project_id)
    return M.DeleteProjectResponse(data=M.ProjectResult(status=True))


@action("EnableProject")
def enable_project(
    services: Services, ctx: RequestContext, req: M.EnableProjectRequest
) -> M.EnableProjectResponse:
    services.projects.set_status(ctx.caller, req.project_id, 1)
    return M.EnableProjectResponse(data=M.ProjectResult(status=True))


@action("DisableProject")
def disable_project(
    services: Services, ctx: RequestContext, req: M.DisableProjectRequest
) -> M.DisableProjectResponse:
    services.projects.set_status(ctx.caller, req.project_id, 0)
    return M.DisableProjectResponse(data=M.ProjectResult(status=True))


@action("CreateProjectMember")
def create_project_member(
    services: Services, ctx: RequestContext, req: M.CreateProjectMemberRequest
) -> M.CreateProjectMemberResponse:
    limit_items(req.user_uins, "UserUins")
    limit_items(req.role_ids, "RoleIds")
    services.projects.add_members(ctx.caller, req.project_id, req.user_uins, req.role_ids)
    return M.CreateProjectMemberResponse(data=M.ProjectResult(status=True))


@action("DeleteProjectMember")
def delete_project_member(
    services: Services, ctx: RequestContext, req: M.DeleteProjectMemberRequest
) -> M.DeleteProjectMemberResponse:
    limit_items(req.user_uins, "UserUins")
    services.projects.remove_members(ctx.caller, req.project_id, req.user_uins)
    return M.DeleteProjectMemberResponse()


@action("ListProjectMembers")
def list_project_members(
    services: Services, ctx: RequestContext, req: M.ListProjectMembersRequest
) -> M.ListProjectMembersResponse:
    return M.ListProjectMembersResponse(data=wire.member_page(services.projects.list_members(req)))


@action("GrantMemberProjectRole")
def grant_member_project_role(
    services: Services, ctx: RequestContext, req: M.GrantMemberProjectRoleRequest
) -> M.GrantMemberProjectRoleResponse:
    services.projects.grant_roles(ctx.caller, req.project_id, req.user_uin, req.role_ids)
    return M.GrantMemberProjectRoleResponse()


@action("RemoveMemberProjectRole")
def remove_member_project_role(
    services: Services, ctx: RequestContext, req: M.RemoveMemberProjectRoleRequest
) -> M.RemoveMemberProjectRoleResponse:
    services.projects.revoke_roles(ctx.caller, req.project_id, req.user_uin, req.role_ids)
    return M.RemoveMemberProjectRoleResponse()


@action("ListProjectRoles")
def list_project_roles(
    services: Services, ctx: RequestContext, req: M.ListProjectRolesRequest
) -> M.ListProjectRolesResponse:
    return M.ListProjectRolesResponse(data=wire.role_page(services.projects.list_project_roles(req)))


@action("ListTenantRoles", project_scoped=False)
def list_tenant_roles(
    services: Services, ctx: RequestContext, req: M.ListTenantRolesRequest
) -> M.ListTenantRolesResponse:
    return M.ListTenantRolesResponse(data=[wire.role(r) for r in services.projects.list_tenant_roles(req.role_display_name)])
