"""Who may do what with a data source: project rights, and the grants to other projects/users.

- Read (GetDataSource, ListDataSources, DescribeDataSourceAuthority, GetDataSourceRelatedTasks):
  any member of the owning project (tenant administrators are members of every project).
  GetDataSource/ListDataSources in another project also show the sources granted to that
  project, or to the caller within it (read-only there).
- Create: a member of the project holding the ProjectManager or DataEngineer role, its owner,
  or a tenant administrator (an OperationEngineer or Visitor only operates or reads).
- Change (UpdateDataSource, DeleteDataSource, AuthorizeDataSource,
  RevokeDataSourceAuthorization): a project administrator of the owning project (its owner, a
  ProjectManager, a tenant administrator) or the source's creator while still a member.
- Use (a task or script of a project running on the source; ``require_use``): the owning
  project, a project granted the source, or a user granted it within the using project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, exists, select

from wedata.principal import Caller
from wedata.services.errors import Forbidden, NotFound, NotMember
from wedata.services.projects.roles import PROJECT_MANAGER, PROJECT_ROLES
from wedata.storage import tables as T
from wedata.storage.datasource_tables import data_source_grants

DATA_ENGINEER = next(r.role_id for r in PROJECT_ROLES if r.role_name == "DataEngineer")
WHOLE_PROJECT = ""  # data_source_grants.user_uin of a grant to a whole project

G = data_source_grants


@dataclass(frozen=True, slots=True)
class Rights:
    project_id: str
    project_model: str
    member: bool
    admin: bool  # may administer the project (owner, ProjectManager, tenant administrator)
    writer: bool  # may create data sources in it (admin or DataEngineer)


def project_rights(conn: Connection, project_id: str, caller: Caller) -> Rights:
    """The caller's rights in a live project (``ResourceNotFound`` for an unknown one)."""
    p, m, r = T.projects, T.project_members, T.project_member_roles
    row = conn.execute(
        select(
            p.c.owner_uin, p.c.project_model,
            exists().where(m.c.project_id == p.c.id, m.c.user_uin == caller.uin).label("member"),
        ).where(p.c.id == project_id, p.c.deleted_at.is_(None))
    ).first()
    if row is None:
        raise NotFound(f"The project {project_id} does not exist.")
    roles = set(conn.execute(
        select(r.c.role_id).where(r.c.project_id == project_id, r.c.user_uin == caller.uin)
    ).scalars())
    admin = caller.is_admin or row.owner_uin == caller.uin or PROJECT_MANAGER in roles
    member = caller.is_admin or bool(row.member)
    return Rights(project_id, row.project_model, member, admin, admin or (member and DATA_ENGINEER in roles))


def require_reader(conn: Connection, source: Row[Any], caller: Caller) -> Rights:
    rights = project_rights(conn, source.project_id, caller)
    if not rights.member:
        raise NotMember(
            f"The user {caller.uin} is not a member of the project {source.project_id} that owns the data "
            f"source {source.id} ({source.name})."
        )
    return rights


def require_writer(conn: Connection, project_id: str, caller: Caller) -> Rights:
    rights = project_rights(conn, project_id, caller)
    if not rights.member:
        raise NotMember(f"The user {caller.uin} is not a member of the project {project_id}.")
    if not rights.writer:
        raise Forbidden(
            f"The user {caller.uin} may not create data sources in the project {project_id}: that takes the "
            "ProjectManager or DataEngineer role."
        )
    return rights


def require_manager(conn: Connection, source: Row[Any], caller: Caller) -> Rights:
    rights = require_reader(conn, source, caller)
    if not (rights.admin or source.create_user_uin == caller.uin):
        raise Forbidden(
            f"The user {caller.uin} may not change the data source {source.id} ({source.name}): only its "
            f"creator and the administrators of the project {source.project_id} may."
        )
    return rights


def may_use(conn: Connection, source: Row[Any], project_id: str, caller_uin: str) -> bool:
    if source.project_id == project_id:
        return True
    return bool(conn.execute(
        select(exists().where(
            G.c.data_source_id == source.id, G.c.project_id == project_id,
            G.c.user_uin.in_((WHOLE_PROJECT, caller_uin)),
        ))
    ).scalar())


def visible_in(project_id: str, caller_uin: str, source_id_column: Any) -> Any:
    """SQL: the source (by its id column) is granted to the project or to the caller in it."""
    return exists().where(
        G.c.data_source_id == source_id_column, G.c.project_id == project_id,
        G.c.user_uin.in_((WHOLE_PROJECT, caller_uin)),
    )
