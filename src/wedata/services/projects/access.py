"""Who may operate a project's production, and which projects a user belongs to.

Operating production (RerunTaskInstancesAsync, KillTaskInstancesAsync,
SetSuccessTaskInstancesAsync, and pausing, stopping, starting or re-owning ops tasks) changes
what runs, so a member needs a role that operates: ProjectManager, DataEngineer or
OperationEngineer. A member holding only the Visitor role ("只读账号", a read-only account in
WeData) reads and does not operate: ``Forbidden`` (``UnauthorizedOperation``). The project's
owner and tenant administrators always may. Every door (API, console, CLI) meets the rule in the
action handlers of actions/ops/control.py, after the registry's membership check.

``member_project_ids`` answers the console's project switcher: ListProjects is tenant-wide in the
API (as in WeData), while the console shows a user only the projects they belong to.
"""

from __future__ import annotations

from sqlalchemy import exists, select

from wedata.principal import Caller
from wedata.services.errors import Forbidden, NotFound
from wedata.services.projects.roles import PROJECT_ROLES
from wedata.storage import tables as T
from wedata.storage.db import Database

OPERATOR_ROLES = frozenset(r.role_id for r in PROJECT_ROLES if r.role_name != "Visitor")


class ProjectAccess:
    def __init__(self, db: Database) -> None:
        self.db = db

    def may_operate(self, project_id: str, caller: Caller) -> bool:
        if caller.is_admin:
            return True
        p, r = T.projects, T.project_member_roles
        operator = (
            exists()
            .where(r.c.project_id == p.c.id, r.c.user_uin == caller.uin, r.c.role_id.in_(OPERATOR_ROLES))
            .label("operator")
        )
        with self.db.read() as conn:
            row = conn.execute(
                select(p.c.owner_uin, operator).where(p.c.id == project_id, p.c.deleted_at.is_(None))
            ).first()
        if row is None:
            raise NotFound(f"The project {project_id} does not exist.")
        return bool(row.operator) or row.owner_uin == caller.uin

    def require_operator(self, project_id: str, caller: Caller) -> None:
        if not self.may_operate(project_id, caller):
            raise Forbidden(
                f"The user {caller.uin} may not operate the project {project_id}: operating instances and "
                "production tasks needs the ProjectManager, DataEngineer or OperationEngineer role (a Visitor "
                "only reads)."
            )

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
