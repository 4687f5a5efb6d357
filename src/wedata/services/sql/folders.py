"""SQL folders: CreateSQLFolder, GetSQLFolder, UpdateSQLFolder (rename, change of tree),
DeleteSQLFolder, and ListSQLFolderContents (the tree below a path, folders and scripts).

Paths follow the one folder-path rule (``services/folders.py``); the trees and rights are in
``tree.py``. A rename or move carries everything below the folder with it; a non-empty folder
cannot be deleted (``FailedOperation``), as with task folders.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.services.common import new_uuid
from wedata.services.errors import Duplicate, NotFound, OperationFailed
from wedata.services.folders import (
    MAX_PATH_LENGTH,
    ROOT,
    check_name,
    check_path,
    child_path,
    join_path,
    path_too_long,
    prune_tree,
)
from wedata.services.sql.tree import (
    FOLDER,
    LIGHT,
    PRIVATE,
    SHARED,
    N,
    Node,
    Viewer,
    folder_exists,
    load,
    node,
    path_taken,
    rebase,
    require_manage,
    scope_of,
    tree_of,
    under,
    viewer,
)
from wedata.spec import models as M
from wedata.storage.db import Database


class SqlFolderService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def create(self, caller: Caller, req: M.CreateSQLFolderRequest) -> str:
        name = check_name(req.folder_name, "FolderName")
        parent = check_path(req.parent_folder_path, "ParentFolderPath", lenient=True)
        scope = scope_of(req.access_scope)
        path = child_path(parent, name)
        tree = tree_of(scope, caller.uin)
        folder_id, now = new_uuid(), self.clock.now()
        try:
            with self.db.write() as conn:
                if not folder_exists(conn, req.project_id, tree, parent):
                    raise NotFound(f"The parent folder {parent} does not exist in the {scope} SQL folders.")
                if path_taken(conn, req.project_id, tree, path) is not None:
                    raise Duplicate(f"{path} already exists in the {scope} SQL folders.")
                conn.execute(insert(N).values(
                    id=folder_id, project_id=req.project_id, scope=scope, tree=tree, kind=FOLDER, path=path,
                    parent_path=parent, name=name, owner_uin=caller.uin, update_user_uin=caller.uin,
                    created_at=now, updated_at=now,
                ))
        except IntegrityError:  # a concurrent create of the same path won the unique constraint
            raise Duplicate(f"{path} already exists in the {scope} SQL folders.") from None
        return folder_id

    def get(self, caller: Caller, project_id: str, folder_id: str) -> Node:
        with self.db.read() as conn:
            who = viewer(conn, project_id, caller)
            return node(load(conn, project_id, folder_id, FOLDER, who, columns=LIGHT), who)

    def update(self, caller: Caller, req: M.UpdateSQLFolderRequest) -> None:
        """Rename the folder and/or move it to the other tree; what is below follows."""
        name = check_name(req.folder_name, "FolderName")
        try:
            with self.db.write() as conn:
                who = viewer(conn, req.project_id, caller)
                row = load(conn, req.project_id, req.folder_id, FOLDER, who, lock=True, columns=LIGHT)
                scope = scope_of(req.access_scope, default=row.scope)
                if name == row.name and scope == row.scope:
                    return
                require_manage(row, who)
                old, new = row.path, join_path(row.parent_path, name)
                tree = tree_of(scope, row.owner_uin)
                below = and_(N.c.project_id == req.project_id, N.c.tree == row.tree,
                             N.c.path.startswith(old + "/", autoescape=True))
                if tree != row.tree:
                    self._check_move(conn, row, scope, below)
                deepest = conn.execute(select(func.max(func.length(N.c.path))).where(below)).scalar()
                if len(new) - len(old) + max(int(deepest or 0), len(old)) > MAX_PATH_LENGTH:
                    raise path_too_long("A path below the folder")
                clash = path_taken(conn, req.project_id, tree, new)
                if clash is not None and clash.id != row.id:
                    raise Duplicate(f"{new} already exists in the {scope} SQL folders.")
                now = self.clock.now()
                # Everything below first (the folder's own row still has the old path).
                conn.execute(update(N).where(below).values(
                    path=rebase(N.c.path, old, new), parent_path=rebase(N.c.parent_path, old, new),
                    tree=tree, scope=scope,
                ))
                conn.execute(update(N).where(N.c.id == row.id).values(
                    name=name, path=new, tree=tree, scope=scope, update_user_uin=caller.uin, updated_at=now,
                ))
        except IntegrityError:
            raise Duplicate(f"{req.folder_name} already exists in the target SQL folders.") from None

    @staticmethod
    def _check_move(conn: Connection, row: Row[Any], scope: str, below: ColumnElement[bool]) -> None:
        """Moving to the other tree: its parent folder must exist there, and a shared folder
        becomes private only when everything below belongs to its owner."""
        if not folder_exists(conn, row.project_id, tree_of(scope, row.owner_uin), row.parent_path):
            raise NotFound(f"The folder {row.parent_path} does not exist in the {scope} SQL folders: create it there "
                           "first.")
        if scope == PRIVATE:
            others = conn.execute(
                select(func.count()).select_from(N).where(below, N.c.owner_uin != row.owner_uin)
            ).scalar_one()
            if others:
                raise OperationFailed(
                    f"The folder {row.path} holds {others} folder(s) or script(s) of other users: it cannot become "
                    "PRIVATE (they would no longer see them)."
                )

    def delete(self, caller: Caller, project_id: str, folder_id: str) -> None:
        with self.db.write() as conn:
            who = viewer(conn, project_id, caller)
            row = load(conn, project_id, folder_id, FOLDER, who, lock=True, columns=LIGHT)
            require_manage(row, who)
            child = conn.execute(select(N.c.kind).where(
                N.c.project_id == project_id, N.c.tree == row.tree, N.c.parent_path == row.path,
            ).limit(1)).first()
            if child is not None:
                raise OperationFailed(f"The SQL folder {row.path} is not empty: delete or move what it holds first.")
            conn.execute(N.delete().where(N.c.id == row.id))

    # ------------------------------------------------------------------------------------------
    # ListSQLFolderContents

    def contents(self, caller: Caller, req: M.ListSQLFolderContentsRequest) -> list[Node]:
        """The tree below ``ParentFolderPath``: its folders and scripts, each folder with its own
        (``Children``), in one query. Folders first, then scripts, each by name."""
        parent = check_path(req.parent_folder_path, "ParentFolderPath", lenient=True)
        scope = scope_of(req.access_scope, default="") if req.access_scope else None
        keyword = (req.keyword or "").strip()
        with self.db.read() as conn:
            who = viewer(conn, req.project_id, caller)
            trees = [tree_of(scope, caller.uin)] if scope else list(who.trees)
            if parent != ROOT and not any(folder_exists(conn, req.project_id, t, parent) for t in trees):
                raise NotFound(f"The SQL folder {parent} does not exist in the project {req.project_id}.")
            query = select(*LIGHT).where(N.c.project_id == req.project_id, N.c.tree.in_(trees),
                                         under(N.c.path, parent), N.c.path != parent)
            if req.only_folder_node:
                query = query.where(N.c.kind == FOLDER)
            rows = conn.execute(query.order_by(N.c.path)).all()
        nodes = {(r.tree, r.path): node(r, who) for r in rows}
        top: list[Node] = []
        for (_tree, _path), item in nodes.items():
            if item.kind == FOLDER:
                item.children = []
            if item.parent_path == parent:
                top.append(item)
        for (tree, _path), item in nodes.items():
            up = nodes.get((tree, item.parent_path))
            if up is not None and up.children is not None and item.parent_path != parent:
                up.children.append(item)
        mine = bool(req.only_user_self_script)
        return prune_tree(top, keyword.lower(), mine, caller.uin, _order)


def _order(item: Node) -> tuple[int, str, int]:
    return (0 if item.kind == FOLDER else 1, item.name, 0 if item.scope == SHARED else 1)



__all__ = ["SqlFolderService", "Viewer"]
