"""Code files: CreateCodeFile, GetCodeFile, UpdateCodeFile (save, or save and submit a version),
DeleteCodeFile; and the version a run takes (:meth:`CodeFileService.runnable`).

Every check runs before the write (names, paths, content, notebook validity, the caller's
permission on the parent folder or the file), so a refused request changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.services.code.access import (
    CAN_EDIT,
    CAN_MANAGE,
    CAN_VIEW,
    RANK,
    Viewer,
    level_of,
    require,
    viewer,
)
from wedata.services.code.content import check_content, parse_config
from wedata.services.code.tree import (
    SCRIPT,
    N,
    Node,
    check_child,
    folder_row,
    load,
    node,
    parent_path,
    path_taken,
    scope_for,
    tree_for,
)
from wedata.services.common import new_uuid
from wedata.services.errors import Duplicate, Forbidden
from wedata.services.folders import check_name, child_path
from wedata.spec import models as M
from wedata.storage.code_tables import code_versions
from wedata.storage.db import Database

V = code_versions


def require_parent(conn: Connection, project_id: str, who: Viewer, tree: str, parent: str) -> None:
    """Creating inside ``parent`` takes CAN_EDIT on it (the shared root: the project-wide base,
    CAN_EDIT for a DataEngineer or an administrator); the private tree is the caller's own."""
    folder = folder_row(conn, project_id, tree, parent)
    if tree:
        return
    if folder is not None:
        require(conn, project_id, who, folder, CAN_EDIT, "create inside")
    elif who.base < RANK[CAN_EDIT]:
        raise Forbidden(f"The user {who.uin} may not create in the shared root of the project {project_id}: that "
                        "needs CAN_EDIT (the DataEngineer or ProjectManager role); /~ is your private folder.")


class CodeFileService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    @property
    def max_bytes(self) -> int:
        return self.settings.code_file_max_bytes

    def create(self, caller: Caller, req: M.CreateCodeFileRequest) -> Node:
        name = check_name(req.code_file_name, "CodeFileName")
        parent = parent_path(req.parent_folder_path)
        check_child(parent, name, "CodeFileName")
        path = child_path(parent, name)
        text = check_content(name, req.code_file_content, "CodeFileContent", self.max_bytes)
        config = parse_config(req.code_file_config)
        tree, scope = tree_for(path, caller.uin), scope_for(path)
        file_id, now = new_uuid(), self.clock.now()
        try:
            with self.db.write() as conn:
                who = viewer(conn, req.project_id, caller)
                require_parent(conn, req.project_id, who, tree, parent)
                if path_taken(conn, req.project_id, tree, path) is not None:
                    raise Duplicate(f"{path} already exists in the code folders.")
                conn.execute(insert(N).values(
                    id=file_id, project_id=req.project_id, scope=scope, tree=tree, kind=SCRIPT, path=path,
                    parent_path=parent, name=name, owner_uin=caller.uin, update_user_uin=caller.uin, content=text,
                    config=config, created_at=now, updated_at=now,
                ))
                row = load(conn, req.project_id, file_id, SCRIPT, caller)
                return node(row, CAN_MANAGE, content=True)
        except IntegrityError:  # a concurrent create of the same path won the unique constraint
            raise Duplicate(f"{path} already exists in the code folders.") from None

    def get(self, caller: Caller, project_id: str, file_id: str, *, content: bool = True) -> Node:
        with self.db.read() as conn:
            who = viewer(conn, project_id, caller)
            row = load(conn, project_id, file_id, SCRIPT, caller)
            level = require(conn, project_id, who, row, CAN_VIEW, "read")
            return node(row, level, content=content)

    def update(self, caller: Caller, req: M.UpdateCodeFileRequest) -> Node:
        """Save the content and/or the configuration (each replaced whole when given); with
        ``SubmitAction`` also record them as a new version (``VersionId``)."""
        with self.db.write() as conn:
            who = viewer(conn, req.project_id, caller)
            row = load(conn, req.project_id, req.code_file_id, SCRIPT, caller, lock=True)
            level = require(conn, req.project_id, who, row, CAN_EDIT, "edit")
            values: dict[str, Any] = {}
            if req.code_file_content is not None:
                values["content"] = check_content(row.name, req.code_file_content, "CodeFileContent", self.max_bytes)
            if req.code_file_config is not None:
                values["config"] = parse_config(req.code_file_config)
            now = self.clock.now()
            if req.submit_action:
                values["version_id"] = self._submit(conn, row, values, caller, now)
            if values:
                conn.execute(update(N).where(N.c.id == row.id).values(**values, update_user_uin=caller.uin,
                                                                     updated_at=now))
            return node(load(conn, req.project_id, row.id, SCRIPT, caller), level, content=True)

    def _submit(self, conn: Connection, row: Any, values: dict[str, Any], caller: Caller, now: Any) -> str:
        number = conn.execute(select(func.max(V.c.version_no)).where(V.c.file_id == row.id)).scalar()
        version_id = new_uuid()
        conn.execute(insert(V).values(
            id=version_id, file_id=row.id, project_id=row.project_id, version_no=int(number or 0) + 1,
            content=values.get("content", row.content) or "", config=values.get("config", row.config),
            create_user_uin=caller.uin, created_at=now,
        ))
        return version_id

    def delete(self, caller: Caller, project_id: str, file_id: str) -> None:
        with self.db.write() as conn:
            who = viewer(conn, project_id, caller)
            row = load(conn, project_id, file_id, SCRIPT, caller, lock=True)
            require(conn, project_id, who, row, CAN_MANAGE, "delete")
            conn.execute(V.delete().where(V.c.file_id == row.id))
            conn.execute(N.delete().where(N.c.id == row.id))

    def permission(self, caller: Caller, project_id: str, file_id: str) -> str:
        with self.db.read() as conn:
            return level_of(conn, project_id, viewer(conn, project_id, caller),
                            load(conn, project_id, file_id, SCRIPT, caller))

