"""What a caller may do in a project: their project roles, read in one query, against what an
action needs (``needs.py``), and which projects a user belongs to.

The project roles (services/projects/roles.py) and what each allows:

| role | read | write (develop) | operate (production) | manage (project, members, roles, grants) |
|---|---|---|---|---|
| ProjectManager | yes | yes | yes | yes |
| DataEngineer | yes | yes | yes | no |
| OperationEngineer | yes | no | yes | no |
| Visitor ("只读账号", read-only) | yes | no | no | no |

A member's rights are the union over the roles they hold. The project's owner and tenant
administrators always pass. A denial is ``Forbidden`` (``UnauthorizedOperation``) naming the
missing permission, the action and the roles that carry it; a caller who is not a member gets
``NotMember`` (``UnauthorizedOperation.UserNotInProject``) whatever the action needs.

``access`` reads everything the decision needs in ONE query (the project row, the membership and
the member's roles, joined); the registry keeps the answer for the rest of the request
(services/permissions/authorize.py), so a handler that checks again costs nothing more. The
hottest read (GetTask) does not even spend that query: ``standing_columns`` adds the same facts
to the handler's own statement as scalar subqueries, ``standing_of`` turns them into the same
``Access``, and the registry decides on it before the answer leaves (actions/registry.py,
``standing_in_read``).

``member_project_ids`` answers the console's project switcher: ListProjects is tenant-wide in the
API (as in WeData), while the console shows a user only the projects they belong to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, func, select

from wedata.principal import Caller
from wedata.services.errors import Forbidden, NotFound, NotMember
from wedata.services.projects.needs import Need
from wedata.services.projects.roles import PROJECT_ROLES, PROJECT_ROLES_BY_ID
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.permission_tables import workflow_grants

_ROLE_NEEDS: dict[str, frozenset[Need]] = {
    "ProjectManager": frozenset({Need.READ, Need.WRITE, Need.OPERATE, Need.MANAGE}),
    "DataEngineer": frozenset({Need.READ, Need.WRITE, Need.OPERATE}),
    "OperationEngineer": frozenset({Need.READ, Need.OPERATE}),
    "Visitor": frozenset({Need.READ}),
}
ROLE_NEEDS: dict[str, frozenset[Need]] = {r.role_id: _ROLE_NEEDS[r.role_name] for r in PROJECT_ROLES}
OPERATOR_ROLES = frozenset(rid for rid, needs in ROLE_NEEDS.items() if Need.OPERATE in needs)
_ALL = frozenset(Need)

NEED_TEXT = {
    Need.READ: "read",
    Need.WRITE: "write (develop)",
    Need.OPERATE: "operate (production)",
    Need.MANAGE: "manage (the project, its members, roles and grants)",
}


def roles_with(need: Need) -> list[str]:
    return [r.role_name for r in PROJECT_ROLES if need in ROLE_NEEDS[r.role_id]]


def _access_query() -> Any:
    p, m, r, g = T.projects, T.project_members, T.project_member_roles, workflow_grants
    # Whether any workflow grant exists in the project (an index seek on its primary key): in
    # the common project without one, writes need no look at the grants of a folder chain.
    guarded = exists().where(g.c.project_id == p.c.id).label("guarded")
    return (
        select(p.c.owner_uin, m.c.user_uin, r.c.role_id, guarded)
        .select_from(
            p.outerjoin(m, (m.c.project_id == p.c.id) & (m.c.user_uin == bindparam("uin")))
            .outerjoin(r, (r.c.project_id == m.c.project_id) & (r.c.user_uin == m.c.user_uin))
        )
        .where(p.c.id == bindparam("project_id"), p.c.deleted_at.is_(None))
    )


# Built once: this runs on every project-scoped request (building costs more than executing).
_ACCESS = _access_query()


def standing_columns() -> list[Any]:
    """What ``_ACCESS`` reads, as four labelled scalar columns for another statement (bound
    ``project_id`` and ``uin``): the live project's owner (NULL: no such live project), whether
    the caller is a member, their role ids (comma-joined; role ids are digits) and whether the
    project has workflow grants. Each is an index seek."""
    p, m, r, g = T.projects, T.project_members, T.project_member_roles, workflow_grants
    project: Any = bindparam("project_id")
    uin: Any = bindparam("uin")
    return [
        select(p.c.owner_uin).where(p.c.id == project, p.c.deleted_at.is_(None))
        .scalar_subquery().label("standing_owner"),
        exists().where(m.c.project_id == project, m.c.user_uin == uin).label("standing_member"),
        select(func.aggregate_strings(r.c.role_id, ",")).where(r.c.project_id == project, r.c.user_uin == uin)
        .scalar_subquery().label("standing_roles"),
        exists().where(g.c.project_id == project).label("standing_guarded"),
    ]


@dataclass(frozen=True, slots=True)
class Access:
    """A caller's standing in one live project."""

    project_id: str
    uin: str
    member: bool
    superuser: bool  # the project's owner or a tenant administrator: every permission
    roles: frozenset[str]
    needs: frozenset[Need]  # what the roles (or superuser) allow
    workflow_grants: bool = True  # the project has workflow grants (False: the roles decide alone)

    def allows(self, need: Need) -> bool:
        return need in self.needs

    @property
    def role_names(self) -> list[str]:
        return [PROJECT_ROLES_BY_ID[r].role_name for r in sorted(self.roles) if r in PROJECT_ROLES_BY_ID]


def denial(access: Access, need: Need, action: str, extra: str = "") -> Forbidden:
    holds = ", ".join(access.role_names) or "no role"
    return Forbidden(
        f"The user {access.uin} lacks the {NEED_TEXT[need]} permission in the project {access.project_id} that "
        f"{action} needs: it takes the {' or '.join(roles_with(need))} role{extra} (the user holds {holds})."
    )


def _standing(project_id: str, caller: Caller, owner_uin: str, member_row: bool, roles: frozenset[str],
              guarded: bool) -> Access:
    superuser = caller.is_admin or owner_uin == caller.uin
    member = caller.is_admin or member_row
    needs: frozenset[Need] = _ALL if superuser else frozenset().union(*(ROLE_NEEDS.get(r, ()) for r in roles))
    if member and not needs:
        needs = frozenset({Need.READ})  # a member always reads
    return Access(project_id, caller.uin, member, superuser, roles, needs if member else frozenset(), guarded)


class ProjectAccess:
    def __init__(self, db: Database) -> None:
        self.db = db

    def access(self, project_id: str, caller: Caller) -> Access:
        """The caller's standing in the live project (``NotFound`` for an unknown or deleted one)."""
        with self.db.read() as conn:
            rows = conn.execute(_ACCESS, {"project_id": project_id, "uin": caller.uin}).all()
        if not rows:
            raise NotFound(f"The project {project_id} does not exist.")
        roles = frozenset(r.role_id for r in rows if r.role_id is not None)
        return _standing(project_id, caller, rows[0].owner_uin, rows[0].user_uin is not None, roles,
                         bool(rows[0].guarded))

    @staticmethod
    def standing_of(project_id: str, caller: Caller, m: Mapping[Any, Any]) -> Access | None:
        """The caller's standing from a row's mapping carrying ``standing_columns`` (read with
        this ``project_id`` and the caller's uin); None when the project is not live (``access``
        then answers why)."""
        if m["standing_owner"] is None:
            return None
        member = bool(m["standing_member"])
        roles = frozenset(m["standing_roles"].split(",")) if member and m["standing_roles"] else frozenset()
        return _standing(project_id, caller, m["standing_owner"], member, roles, bool(m["standing_guarded"]))

    @staticmethod
    def require(access: Access, need: Need, action: str) -> None:
        """Refuse unless the caller is a member holding ``need``."""
        if not access.member:
            raise NotMember(f"The user {access.uin} is not a member of the project {access.project_id}.")
        if need is not Need.SERVICE and not access.allows(need):
            raise denial(access, need, action)

    def may_operate(self, project_id: str, caller: Caller) -> bool:
        access = self.access(project_id, caller)
        return access.member and access.allows(Need.OPERATE)

    def require_operator(self, project_id: str, caller: Caller) -> None:
        self.require(self.access(project_id, caller), Need.OPERATE, "operating instances and production tasks")

    def member_project_ids(self, caller: Caller) -> set[str] | None:
        """The live projects the caller is a member of; None for a tenant administrator (every one)."""
        if caller.is_admin:
            return None
        p, m = T.projects, T.project_members
        with self.db.read() as conn:
            rows = conn.execute(
                select(p.c.id).select_from(p.join(m, m.c.project_id == p.c.id))
                .where(m.c.user_uin == caller.uin, p.c.deleted_at.is_(None))
            ).scalars().all()
        return set(rows)
