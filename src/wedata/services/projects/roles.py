"""WeData's built-in project and tenant roles.

Ids, names and descriptions are WeData's own: the role ids listed in the 2025-08-06 API docs
(GrantMemberProjectRole.RoleIds), the names and descriptions of the 2021-08-20 DescribeRoleList
example, the ProjectManager description of the ListProjectRoles example, and the one tenant role
of the ListTenantRoles example. They are fixed, not stored; members hold role ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from wedata.services.errors import InvalidValue


@dataclass(frozen=True, slots=True)
class Role:
    role_id: str
    role_name: str
    display_name: str
    description: str


PROJECT_MANAGER = "308335260274237440"
PROJECT_ROLES: tuple[Role, ...] = (
    Role(
        PROJECT_MANAGER,
        "ProjectManager",
        "项目管理员",
        "项目管理员主要负责项目日常管理，具有项目内的所有权限。",
    ),
    Role("308335260676890624", "DataEngineer", "数据工程师", "负责数据集成、数据开发和服务开发"),
    Role("308335260844662784", "OperationEngineer", "运维工程师", "运维中心，负责平台和业务运维工作"),
    Role("308335260945326080", "Visitor", "普通成员", "只读账号"),
)
PROJECT_ROLES_BY_ID: dict[str, Role] = {r.role_id: r for r in PROJECT_ROLES}

TENANT_ROLES: tuple[Role, ...] = (
    Role("2004", "BusinessManager", "业务管理员角色", "拥有指标管理和维度管理模块的全部读写功能权限"),
)


def filter_roles(roles: Iterable[Role], text: str | None) -> list[Role]:
    if not text:
        return list(roles)
    needle = text.lower()
    return [r for r in roles if needle in r.display_name.lower() or needle in r.role_name.lower()]


def check_role_ids(role_ids: Sequence[str]) -> list[str]:
    if not role_ids:
        raise InvalidValue("RoleIds must name at least one role")
    unknown = [r for r in role_ids if r not in PROJECT_ROLES_BY_ID]
    if unknown:
        known = ", ".join(f"{r.role_id} ({r.role_name})" for r in PROJECT_ROLES)
        raise InvalidValue(f"Unknown project role id(s) {', '.join(unknown)}; the project roles are {known}")
    return list(dict.fromkeys(role_ids))
