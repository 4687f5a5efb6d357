"""Projects, members and roles.

Who may do what (WeData: "only the project owner and project administrators may enter project
management"):

- Any authenticated caller may create a project (and becomes its creator, owner and a member
  with the ProjectManager role), list projects tenant-wide and list the tenant roles.
- The project record itself (``Project``: name, display name, description, creator, owner,
  status, model) is visible to every caller of the tenant, through ListProjects and GetProject
  alike. Decision: WeData documents ListProjects as "租户全局范围的项目列表，与用户查看范围无关"
  (the tenant-wide list, whatever the caller may view; spec §1 A), which is how a user finds a
  project to ask to join; GetProject answers the same record for the same caller, because
  refusing it while ListProjects(ProjectIds=[id]) shows it would protect nothing. Everything
  inside a project (members, roles, workflows, tasks, instances, bindings) needs membership.
- Any member (or tenant administrator) may read a project's members and its roles.
- Project administrators may change the project (UpdateProject, Enable/Disable/DeleteProject)
  and its members and their roles. A project administrator is a tenant administrator, the
  project owner (``ProjectOwnerUin``) or a member holding the ProjectManager role
  (``308335260274237440``). Anyone else gets ``UnauthorizedOperation``.

Invariants kept by the member actions (each refusal is ``FailedOperation``, nothing changes):

- a project keeps at least one member with the ProjectManager role;
- the project owner cannot be removed (transfer ownership with UpdateProject first);
- every member holds at least one role (remove the member instead of its last role).

Names (``InvalidParameter.WorkspaceNameDuplication`` on a clash): ``ProjectName`` is unique among
the live projects of the tenant; ``UpdateProject`` refuses a ``DisplayName`` another live project
shows (the spec states that rule for UpdateProject only, so CreateProject does not check it). A
deleted project frees its name.
Deletion is soft: the row stays, every action on it answers ``ResourceNotFound``, and its
resource-group bindings are dropped so that the groups can be deleted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.services.common import Paged, as_int, like_pattern, new_project_id, page
from wedata.services.errors import Duplicate, Forbidden, InvalidValue, NotFound, NotMember, OperationFailed
from wedata.services.projects.access import ProjectAccess
from wedata.services.projects.checks import check_description, check_display_name, check_uin
from wedata.services.projects.group_rights import require_group_use
from wedata.services.projects.roles import (
    PROJECT_MANAGER,
    PROJECT_ROLES,
    PROJECT_ROLES_BY_ID,
    TENANT_ROLES,
    Role,
    check_role_ids,
    filter_roles,
)
from wedata.spec import models as M
from wedata.storage import tables as T
from wedata.storage.db import Database

PROJECT_MODELS = ("SIMPLE", "STANDARD")
SCHEDULE_MODES = ("task", "workflow")
DLC_ENV_TAGS = ("Prod", "Dev")
DLC_ACCESS_ACCOUNTS = ("TASK_RUNNER", "OWNER", "SUB")

_PROJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


@dataclass(frozen=True, slots=True)
class Member:
    """A project member's row (joined with the project's owner) and their roles, in order."""

    row: Row[Any]
    roles: tuple[Role, ...]


class WorkspaceNameDuplication(Duplicate):
    code = "InvalidParameter.WorkspaceNameDuplication"


def dlc_info_record(info: M.DLCClusterInfo | None, model: str) -> dict[str, Any] | None:
    """Validate a DLC engine binding and return it in wire form for storage."""
    if info is None:
        return None
    if not info.compute_resources or any(not r.strip() for r in info.compute_resources):
        raise InvalidValue("DLCInfo.ComputeResources must name at least one engine")
    if not info.region.strip():
        raise InvalidValue("DLCInfo.Region must not be empty")
    if not info.default_database.strip():
        raise InvalidValue("DLCInfo.DefaultDatabase must not be empty")
    if info.standard_mode_env_tag is not None and info.standard_mode_env_tag not in DLC_ENV_TAGS:
        raise InvalidValue(f"DLCInfo.StandardModeEnvTag must be one of {', '.join(DLC_ENV_TAGS)}")
    if info.access_account is not None and info.access_account not in DLC_ACCESS_ACCOUNTS:
        raise InvalidValue(f"DLCInfo.AccessAccount must be one of {', '.join(DLC_ACCESS_ACCOUNTS)}")
    if model == "STANDARD" and (info.standard_mode_env_tag is None or info.access_account is None):
        raise InvalidValue("A STANDARD project's DLCInfo needs StandardModeEnvTag and AccessAccount")
    if info.access_account == "SUB":
        check_uin(info.sub_account_uin or "", "DLCInfo.SubAccountUin")
    return {
        "ComputeResources": list(info.compute_resources),
        "Region": info.region,
        "DefaultDatabase": info.default_database,
        "StandardModeEnvTag": info.standard_mode_env_tag,
        "AccessAccount": info.access_account,
        "SubAccountUin": info.sub_account_uin,
    }


def _member_check() -> Any:
    p, m = T.projects, T.project_members
    return (
        select(p.c.id, m.c.user_uin)
        .select_from(p.outerjoin(m, (m.c.project_id == p.c.id) & (m.c.user_uin == bindparam("uin"))))
        .where(p.c.id == bindparam("project_id"), p.c.deleted_at.is_(None))
    )


# Built once: this runs on every project-scoped request, and building a statement costs more
# than executing it from SQLAlchemy's compiled cache.
_MEMBER_CHECK = _member_check()


class ProjectService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        # Who may operate production; the projects a user belongs to (access.py).
        self.access = ProjectAccess(db)

    # ------------------------------------------------------------------------------------------
    # Checks shared with the registry and other services.

    def require_member(self, project_id: str, caller: Caller) -> None:
        """Every project-scoped action passes here first: the project must be live and the
        caller a member (tenant administrators are members of every project)."""
        with self.db.read() as conn:
            row = conn.execute(_MEMBER_CHECK, {"project_id": project_id, "uin": caller.uin}).first()
        if row is None:
            raise NotFound(f"The project {project_id} does not exist.")
        if row.user_uin is None and not caller.is_admin:
            raise NotMember(f"The user {caller.uin} is not a member of the project {project_id}.")

    def require_admin(self, conn: Connection, project_id: str, caller: Caller) -> Row[Any]:
        """Lock the live project row (PostgreSQL) and check the caller may administer it.

        Returns the project row. Runs inside the caller's write transaction so that the checks
        of the member invariants and the change they guard see the same state.
        """
        p, r = T.projects, T.project_member_roles
        is_manager = (
            exists()
            .where(r.c.project_id == p.c.id, r.c.user_uin == caller.uin, r.c.role_id == PROJECT_MANAGER)
            .label("is_manager")
        )
        row = conn.execute(
            select(p, is_manager).where(p.c.id == project_id, p.c.deleted_at.is_(None)).with_for_update(of=p)
        ).first()
        if row is None:
            raise NotFound(f"The project {project_id} does not exist.")
        if not (caller.is_admin or row.owner_uin == caller.uin or row.is_manager):
            raise Forbidden(
                f"The user {caller.uin} is not an administrator of the project {project_id}: only the project "
                "owner, its project managers and tenant administrators may change it."
            )
        return row

    def schedule_mode(self, project_id: str) -> str:
        """``task`` or ``workflow`` (fixed at creation), for services that act by mode."""
        with self.db.read() as conn:
            mode = conn.execute(
                select(T.projects.c.schedule_mode).where(
                    T.projects.c.id == project_id, T.projects.c.deleted_at.is_(None)
                )
            ).scalar()
        if mode is None:
            raise NotFound(f"The project {project_id} does not exist.")
        return str(mode)

    # ------------------------------------------------------------------------------------------
    # Projects.

    def create_project(
        self,
        caller: Caller,
        project: M.ProjectRequest,
        dlc_info: M.DLCClusterInfo | None = None,
        resource_ids: Sequence[str] | None = None,
    ) -> str:
        name = project.project_name
        if not _PROJECT_NAME.fullmatch(name or ""):
            raise InvalidValue(
                "ProjectName must start with a letter and hold only letters, digits and _ (at most 32 "
                f"characters), got {name!r}"
            )
        display = check_display_name(project.display_name)
        model = project.project_model or "SIMPLE"
        if model not in PROJECT_MODELS:
            raise InvalidValue(f"ProjectModel must be one of {', '.join(PROJECT_MODELS)}, got {model!r}")
        mode = project.schedule_mode or "task"
        if mode not in SCHEDULE_MODES:
            raise InvalidValue(f"ScheduleMode must be one of {', '.join(SCHEDULE_MODES)}, got {mode!r}")
        dlc = dlc_info_record(dlc_info, model)
        group_ids = list(dict.fromkeys(resource_ids or []))
        now = self.clock.now()
        project_id = new_project_id()
        try:
            with self.db.write() as conn:
                # DisplayName uniqueness is UpdateProject's rule only (spec §2.1); creation checks the name.
                self._check_names_free(conn, name, None)
                if group_ids:
                    require_group_use(conn, group_ids, caller)
                conn.execute(
                    insert(T.projects).values(
                        id=project_id,
                        name=name,
                        display_name=display,
                        description="",
                        creator_uin=caller.uin,
                        owner_uin=caller.uin,
                        status=1,
                        project_model=model,
                        schedule_mode=mode,
                        dlc_info=dlc,
                        created_at=now,
                        updated_at=now,
                    )
                )
                conn.execute(
                    insert(T.project_members).values(
                        project_id=project_id,
                        user_uin=caller.uin,
                        user_name=caller.uin,
                        is_creator=True,
                        created_at=now,
                    )
                )
                conn.execute(
                    insert(T.project_member_roles).values(
                        project_id=project_id, user_uin=caller.uin, role_id=PROJECT_MANAGER
                    )
                )
                if group_ids:
                    conn.execute(
                        insert(T.resource_group_projects),
                        [
                            {"resource_group_id": g, "project_id": project_id, "created_at": now}
                            for g in group_ids
                        ],
                    )
        except IntegrityError:
            # A concurrent CreateProject took the name between our check and the insert.
            raise WorkspaceNameDuplication(f"A project named {name!r} already exists.") from None
        return project_id

    def _check_names_free(
        self, conn: Connection, name: str | None, display: str | None, exclude: str | None = None
    ) -> None:
        p = T.projects
        live: ColumnElement[bool] = p.c.deleted_at.is_(None)
        if exclude is not None:
            live = live & (p.c.id != exclude)
        if name is not None and conn.execute(select(p.c.id).where(live, p.c.name == name)).first():
            raise WorkspaceNameDuplication(f"A project named {name!r} already exists.")
        if (
            display is not None
            and conn.execute(select(p.c.id).where(live, p.c.display_name == display)).first()
        ):
            raise WorkspaceNameDuplication(f"A project displayed as {display!r} already exists.")

    def get_project(self, project_id: str) -> Row[Any]:
        p = T.projects
        with self.db.read() as conn:
            row = conn.execute(select(p).where(p.c.id == project_id, p.c.deleted_at.is_(None))).first()
        if row is None:
            raise NotFound(f"The project {project_id} does not exist.")
        return row

    def list_projects(self, req: M.ListProjectsRequest) -> Paged[Row[Any]]:
        pg = page(req.page_number, req.page_size)
        p = T.projects
        cond: list[ColumnElement[bool]] = [p.c.deleted_at.is_(None)]
        if req.project_ids:
            cond.append(p.c.id.in_(req.project_ids))
        if req.project_name:
            pattern = like_pattern(req.project_name)
            cond.append(
                func.lower(p.c.name).like(pattern, escape="\\")
                | func.lower(p.c.display_name).like(pattern, escape="\\")
            )
        status = as_int(req.status, "Status")
        if status is not None:
            if status not in (0, 1):
                raise InvalidValue(f"Status must be 0 (disabled) or 1 (enabled), got {status}")
            cond.append(p.c.status == status)
        if req.project_model is not None:
            if req.project_model not in PROJECT_MODELS:
                raise InvalidValue(f"ProjectModel must be one of {', '.join(PROJECT_MODELS)}")
            cond.append(p.c.project_model == req.project_model)
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(p).where(*cond)).scalar_one()
            rows = conn.execute(
                select(p)
                .where(*cond)
                .order_by(p.c.created_at.desc(), p.c.id.desc())
                .limit(pg.size)
                .offset(pg.offset)
            ).all()
        return Paged(list(rows), pg, total)

    def update_project(self, caller: Caller, req: M.UpdateProjectRequest) -> None:
        values: dict[str, Any] = {}
        if req.display_name is not None:
            values["display_name"] = check_display_name(req.display_name)
        if req.description is not None:
            values["description"] = check_description(req.description)
        if req.project_owner_uin is not None:
            values["owner_uin"] = check_uin(req.project_owner_uin, "ProjectOwnerUin")
        with self.db.write() as conn:
            self.require_admin(conn, req.project_id, caller)
            if not values:
                return
            if "display_name" in values:
                self._check_names_free(conn, None, values["display_name"], exclude=req.project_id)
            if "owner_uin" in values:
                m = T.project_members
                member = conn.execute(
                    select(m.c.user_uin).where(
                        m.c.project_id == req.project_id, m.c.user_uin == values["owner_uin"]
                    )
                ).first()
                if member is None:
                    raise InvalidValue(
                        f"The new owner {values['owner_uin']} is not a member of the project {req.project_id}; "
                        "add the user with CreateProjectMember first."
                    )
            values["updated_at"] = self.clock.now()
            try:
                conn.execute(update(T.projects).where(T.projects.c.id == req.project_id).values(**values))
            except IntegrityError:
                raise WorkspaceNameDuplication(
                    f"A project displayed as {req.display_name!r} already exists."
                ) from None

    def set_status(self, caller: Caller, project_id: str, status: int) -> None:
        with self.db.write() as conn:
            self.require_admin(conn, project_id, caller)
            conn.execute(
                update(T.projects)
                .where(T.projects.c.id == project_id)
                .values(status=status, updated_at=self.clock.now())
            )

    def delete_project(self, caller: Caller, project_id: str) -> None:
        with self.db.write() as conn:
            self.require_admin(conn, project_id, caller)
            now = self.clock.now()
            conn.execute(
                update(T.projects).where(T.projects.c.id == project_id).values(deleted_at=now, updated_at=now)
            )
            # A deleted project holds no execution resources: the groups become deletable.
            conn.execute(
                delete(T.resource_group_projects).where(T.resource_group_projects.c.project_id == project_id)
            )

    # ------------------------------------------------------------------------------------------
    # Members.

    def add_members(
        self, caller: Caller, project_id: str, user_uins: Sequence[str], role_ids: Sequence[str]
    ) -> None:
        """Add users with roles. A user who is already a member gets the roles added."""
        uins = self._check_uins(user_uins)
        roles = check_role_ids(role_ids)
        m, r = T.project_members, T.project_member_roles
        with self.db.write() as conn:
            self.require_admin(conn, project_id, caller)
            now = self.clock.now()
            existing = set(
                conn.execute(
                    select(m.c.user_uin).where(m.c.project_id == project_id, m.c.user_uin.in_(uins))
                ).scalars()
            )
            new = [u for u in uins if u not in existing]
            if new:
                conn.execute(
                    insert(m),
                    [
                        {
                            "project_id": project_id,
                            "user_uin": u,
                            "user_name": u,
                            "is_creator": False,
                            "created_at": now,
                        }
                        for u in new
                    ],
                )
            held = {
                (row.user_uin, row.role_id)
                for row in conn.execute(
                    select(r.c.user_uin, r.c.role_id).where(
                        r.c.project_id == project_id, r.c.user_uin.in_(uins)
                    )
                )
            }
            grants = [
                {"project_id": project_id, "user_uin": u, "role_id": role}
                for u in uins
                for role in roles
                if (u, role) not in held
            ]
            if grants:
                conn.execute(insert(r), grants)

    def remove_members(self, caller: Caller, project_id: str, user_uins: Sequence[str]) -> None:
        uins = self._check_uins(user_uins)
        m, r = T.project_members, T.project_member_roles
        with self.db.write() as conn:
            project = self.require_admin(conn, project_id, caller)
            found = set(
                conn.execute(
                    select(m.c.user_uin).where(m.c.project_id == project_id, m.c.user_uin.in_(uins))
                ).scalars()
            )
            missing = [u for u in uins if u not in found]
            if missing:
                raise NotFound(
                    f"The user(s) {', '.join(missing)} are not members of the project {project_id}."
                )
            if project.owner_uin in found:
                raise OperationFailed(
                    f"The user {project.owner_uin} owns the project; transfer ownership (UpdateProject "
                    "ProjectOwnerUin) before removing the user."
                )
            self._keep_a_manager(conn, project_id, removed_uins=uins)
            conn.execute(delete(r).where(r.c.project_id == project_id, r.c.user_uin.in_(uins)))
            conn.execute(delete(m).where(m.c.project_id == project_id, m.c.user_uin.in_(uins)))

    def grant_roles(self, caller: Caller, project_id: str, user_uin: str, role_ids: Sequence[str]) -> None:
        check_uin(user_uin, "UserUin")
        roles = check_role_ids(role_ids)
        r = T.project_member_roles
        with self.db.write() as conn:
            self.require_admin(conn, project_id, caller)
            held = self._member_roles(conn, project_id, user_uin)
            grants = [
                {"project_id": project_id, "user_uin": user_uin, "role_id": x} for x in roles if x not in held
            ]
            if grants:
                conn.execute(insert(r), grants)

    def revoke_roles(self, caller: Caller, project_id: str, user_uin: str, role_ids: Sequence[str]) -> None:
        check_uin(user_uin, "UserUin")
        roles = check_role_ids(role_ids)
        r = T.project_member_roles
        with self.db.write() as conn:
            self.require_admin(conn, project_id, caller)
            held = self._member_roles(conn, project_id, user_uin)
            if not held - set(roles):
                raise OperationFailed(
                    f"The user {user_uin} would hold no role in the project {project_id}; a member needs at least "
                    "one role (use DeleteProjectMember to remove the user)."
                )
            if PROJECT_MANAGER in roles and PROJECT_MANAGER in held:
                self._keep_a_manager(conn, project_id, removed_uins=[user_uin])
            conn.execute(
                delete(r).where(
                    r.c.project_id == project_id, r.c.user_uin == user_uin, r.c.role_id.in_(roles)
                )
            )

    def _check_uins(self, user_uins: Sequence[str]) -> list[str]:
        if not user_uins:
            raise InvalidValue("UserUins must name at least one user")
        return list(dict.fromkeys(check_uin(u, "UserUins") for u in user_uins))

    def _member_roles(self, conn: Connection, project_id: str, user_uin: str) -> set[str]:
        m, r = T.project_members, T.project_member_roles
        rows = conn.execute(
            select(m.c.user_uin, r.c.role_id)
            .select_from(m.outerjoin(r, (r.c.project_id == m.c.project_id) & (r.c.user_uin == m.c.user_uin)))
            .where(m.c.project_id == project_id, m.c.user_uin == user_uin)
        ).all()
        if not rows:
            raise NotFound(f"The user {user_uin} is not a member of the project {project_id}.")
        return {row.role_id for row in rows if row.role_id is not None}

    def _keep_a_manager(self, conn: Connection, project_id: str, removed_uins: Sequence[str]) -> None:
        r = T.project_member_roles
        remaining = conn.execute(
            select(r.c.user_uin)
            .where(
                r.c.project_id == project_id,
                r.c.role_id == PROJECT_MANAGER,
                r.c.user_uin.not_in(removed_uins),
            )
            .limit(1)
        ).first()
        if remaining is None:
            raise OperationFailed(
                f"The project {project_id} must keep at least one member with the ProjectManager role."
            )

    def list_members(self, req: M.ListProjectMembersRequest) -> Paged[Member]:
        pg = page(req.page_number, req.page_size)
        m, p, r = T.project_members, T.projects, T.project_member_roles
        cond: list[ColumnElement[bool]] = [m.c.project_id == req.project_id]
        if req.user_name:
            cond.append(func.lower(m.c.user_name).like(like_pattern(req.user_name), escape="\\"))
        if req.user_uin:
            cond.append(func.lower(m.c.user_uin).like(like_pattern(req.user_uin), escape="\\"))
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(m).where(*cond)).scalar_one()
            rows = conn.execute(
                select(m, p.c.owner_uin)
                .join(p, p.c.id == m.c.project_id)
                .where(*cond)
                .order_by(m.c.created_at, m.c.user_uin)
                .limit(pg.size)
                .offset(pg.offset)
            ).all()
            roles: dict[str, list[str]] = {}
            if rows:
                for uin, role_id in conn.execute(
                    select(r.c.user_uin, r.c.role_id).where(
                        r.c.project_id == req.project_id, r.c.user_uin.in_([row.user_uin for row in rows])
                    )
                ):
                    roles.setdefault(uin, []).append(role_id)
        order = {role.role_id: i for i, role in enumerate(PROJECT_ROLES)}
        items = [
            Member(row, tuple(
                PROJECT_ROLES_BY_ID[x]
                for x in sorted(roles.get(row.user_uin, []), key=lambda x: order.get(x, 99))
                if x in PROJECT_ROLES_BY_ID
            ))
            for row in rows
        ]
        return Paged(items, pg, total)

    # ------------------------------------------------------------------------------------------
    # Roles (built in, see the module constants).

    def list_project_roles(self, req: M.ListProjectRolesRequest) -> Paged[Role]:
        pg = page(req.page_number, req.page_size)
        roles = filter_roles(PROJECT_ROLES, req.role_display_name)
        return Paged(roles[pg.offset : pg.offset + pg.size], pg, len(roles))

    def list_tenant_roles(self, role_display_name: str | None) -> list[Role]:
        return filter_roles(TENANT_ROLES, role_display_name)
