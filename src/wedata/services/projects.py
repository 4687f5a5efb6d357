"""Projects, members and roles."""

from __future__ import annotations

from sqlalchemy import select

from wedata.config import Settings
from wedata.protocol.context import Caller
from wedata.services.common import Clock
from wedata.services.errors import NotFound, NotMember
from wedata.storage import tables as T
from wedata.storage.db import Database


class ProjectService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def require_member(self, project_id: str, caller: Caller) -> None:
        """Every project-scoped action passes here first: the project must be live and the
        caller a member (tenant administrators are members of every project)."""
        p, m = T.projects, T.project_members
        stmt = (
            select(p.c.id, m.c.user_uin)
            .select_from(p.outerjoin(m, (m.c.project_id == p.c.id) & (m.c.user_uin == caller.uin)))
            .where(p.c.id == project_id, p.c.deleted_at.is_(None))
        )
        with self.db.read() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            raise NotFound(f"The project {project_id} does not exist.")
        if row.user_uin is None and not caller.is_admin:
            raise NotMember(f"The user {caller.uin} is not a member of the project {project_id}.")
