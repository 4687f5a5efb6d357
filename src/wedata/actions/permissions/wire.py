"""Permission records -> response Structs (the only place they are built)."""

from __future__ import annotations

from wedata.services.common import Paged
from wedata.services.permissions.catalog import Detail, ItemResult
from wedata.services.permissions.grants_model import PRIVILEGES, Res, Subject
from wedata.services.permissions.workflows import Grant
from wedata.services.projects.roles import PROJECT_ROLES_BY_ID
from wedata.spec import models as M

_SUBJECT_DISPLAY = {"User": "用户", "Project": "项目", "Role": "角色"}


def grant_page(paged: Paged[Grant]) -> M.WorkflowPermissionPage:
    return M.WorkflowPermissionPage(
        page_number=paged.page.number, page_size=paged.page.size, total_count=paged.total,
        total_page_number=paged.total_pages,
        items=[M.WorkflowPermission(permission_target_type=g.target_type, permission_target_id=g.target_id,
                                    permission_type_list=list(g.permissions)) for g in paged.items],
    )


def resource(res: Res) -> M.PrivilegeResource:
    return M.PrivilegeResource(resource_type=res.level, resource_uri=res.uri)


def results(items: list[ItemResult]) -> M.AuthorizePrivilegesRsp:
    return M.AuthorizePrivilegesRsp(
        overall_success=all(r.ok for r in items),
        results=[M.AuthorizeResult(resource=resource(r.resource), result=r.ok, reason=r.reason) for r in items],
    )


def revoke_results(items: list[ItemResult]) -> M.RevokePrivilegesRsp:
    done = results(items)
    return M.RevokePrivilegesRsp(overall_success=done.overall_success, results=done.results)


def _subject(s: Subject) -> M.SubjectInfo:
    shown = s.value
    if s.kind == "Role":
        role = PROJECT_ROLES_BY_ID.get(s.value.partition(".")[2])
        shown = f"{s.value.partition('.')[0]}.{role.role_name}" if role else s.value
    return M.SubjectInfo(subject_type=s.kind, subject_type_display_name=_SUBJECT_DISPLAY.get(s.kind, s.kind),
                         subject_value=s.value, subject_value_display_name=shown)


def _privilege(name: str, inherited: Res | None, own: Res) -> M.PrivilegeInfo:
    p = PRIVILEGES[name]
    return M.PrivilegeInfo(
        name=p.name, display_name=p.display_name, description=p.description, is_read=p.is_read,
        is_manage=p.is_manage, granted=True, inherited_object=resource(inherited or own),
        inherited=inherited is not None, is_edit=p.is_edit, is_meta_data_permission=False,
        catalog_id="", catalog_name="", work_space_id="", work_space_name="",
    )


def details(items: list[Detail], total: int) -> M.GetResourcePrivilegeDetailRsp:
    return M.GetResourcePrivilegeDetailRsp(
        details=[M.ResourcePrivilegeDetail(
            resource=resource(d.resource), subject_details=[_subject(d.subject)],
            permission_details=[_privilege(name, inh, d.resource) for name, inh in d.privileges],
        ) for d in items],
        total_count=total,
    )
