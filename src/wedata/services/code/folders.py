"""Code folders: CreateCodeFolder, GetCodeFolder, UpdateCodeFolder (rename), DeleteCodeFolder, and
ListCodeFolderContents (the tree below a path, folders and files, each with the caller's
``NodePermission``).

Paths follow the one folder-path rule (``services/folders.py``); the trees are in ``tree.py``,
the permissions in ``access.py``. A rename carries everything below the folder with it (and the
grants, which are by id); a non-empty folder cannot be deleted (``FailedOperation``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.services.code.access import (
    CAN_MANAGE,
    CAN_VIEW,
    Permissions,
    grants_of,
    require,
    viewer,
)
from wedata.services.code.files import require_parent
from wedata.services.code.tree import (
    FOLDER,
    LIGHT,
    PRIVATE_ROOT,
    PRIVATE_ROOT_ID,
    N,
    Node,
    ancestors,
    check_child,
    folder_row,
    is_private,
    load,
    node,
    parent_path,
    path_taken,
    private_root,
    rebase,
    scope_for,
    tree_for,
    under,
    visible,
)
from wedata.services.common import new_uuid
from wedata.services.errors import Duplicate, InvalidValue, OperationFailed
from wedata.services.folders import (
    MAX_PATH_LENGTH,
    ROOT,
    check_name,
    child_path,
    join_path,
    path_too_long,
    prune_tree,
)
from wedata.spec import models as M
from wedata.storage.db import Database


def _not_the_private_root(folder_id: str, doing: str) -> None:
    if folder_id == PRIVATE_ROOT_ID:
        raise InvalidValue(f"FolderId '~' is your private folder /~: it cannot be {doing}")


class CodeFolderService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def create(self, caller: Caller, req: M.CreateCodeFolderRequest) -> str:
        name = check_name(req.folder_name, "FolderName")
        parent = parent_path(req.parent_folder_path)
        check_child(parent, name, "FolderName")
        path = child_path(parent, name)
        tree, scope = tree_for(path, caller.uin), scope_for(path)
        folder_id, now = new_uuid(), self.clock.now()
        try:
            with self.db.write() as conn:
                who = viewer(conn, req.project_id, caller)
                require_parent(conn, req.project_id, who, tree, parent)
                if path_taken(conn, req.project_id, tree, path) is not None:
                    raise Duplicate(f"{path} already exists in the code folders.")
                conn.execute(insert(N).values(
                    id=folder_id, project_id=req.project_id, scope=scope, tree=tree, kind=FOLDER, path=path,
                    parent_path=parent, name=name, owner_uin=caller.uin, update_user_uin=caller.uin,
                    created_at=now, updated_at=now,
                ))
        except IntegrityError:  # a concurrent create of the same path won the unique constraint
            raise Duplicate(f"{path} already exists in the code folders.") from None
        return folder_id

    def get(self, caller: Caller, project_id: str, folder_id: str) -> Node:
        with self.db.read() as conn:
            who = viewer(conn, project_id, caller)
            if folder_id == PRIVATE_ROOT_ID:
                return private_root(project_id, caller.uin)
            row = load(conn, project_id, folder_id, FOLDER, caller, columns=LIGHT)
            return node(row, require(conn, project_id, who, row, CAN_VIEW, "read"))

    def update(self, caller: Caller, req: M.UpdateCodeFolderRequest) -> None:
        """Rename the folder; what is below follows (CAN_MANAGE on the folder)."""
        _not_the_private_root(req.folder_id, "renamed")
        name = check_name(req.folder_name, "FolderName")
        try:
            with self.db.write() as conn:
                who = viewer(conn, req.project_id, caller)
                row = load(conn, req.project_id, req.folder_id, FOLDER, caller, lock=True, columns=LIGHT)
                check_child(row.parent_path, name, "FolderName")
                if name == row.name:
                    return
                require(conn, req.project_id, who, row, CAN_MANAGE, "rename")
                old, new = row.path, join_path(row.parent_path, name)
                below = and_(N.c.project_id == req.project_id, N.c.tree == row.tree,
                             N.c.path.startswith(old + "/", autoescape=True))
                deepest = conn.execute(select(func.max(func.length(N.c.path))).where(below)).scalar()
                if len(new) - len(old) + max(int(deepest or 0), len(old)) > MAX_PATH_LENGTH:
                    raise path_too_long("A path below the folder")
                if path_taken(conn, req.project_id, row.tree, new) is not None:
                    raise Duplicate(f"{new} already exists in the code folders.")
                # Everything below first (the folder's own row still has the old path).
                conn.execute(update(N).where(below).values(
                    path=rebase(N.c.path, old, new), parent_path=rebase(N.c.parent_path, old, new)))
                conn.execute(update(N).where(N.c.id == row.id).values(
                    name=name, path=new, update_user_uin=caller.uin, updated_at=self.clock.now()))
        except IntegrityError:
            raise Duplicate(f"{req.folder_name} already exists in the code folders.") from None

    def delete(self, caller: Caller, project_id: str, folder_id: str) -> None:
        _not_the_private_root(folder_id, "deleted")
        with self.db.write() as conn:
            who = viewer(conn, project_id, caller)
            row = load(conn, project_id, folder_id, FOLDER, caller, lock=True, columns=LIGHT)
            require(conn, project_id, who, row, CAN_MANAGE, "delete")
            child = conn.execute(select(N.c.path).where(
                N.c.project_id == project_id, N.c.tree == row.tree, N.c.parent_path == row.path,
            ).limit(1)).first()
            if child is not None:
                raise OperationFailed(f"The code folder {row.path} is not empty ({child.path}): delete or move what "
                                      "it holds first.")
            conn.execute(N.delete().where(N.c.id == row.id))

    # ------------------------------------------------------------------------------------------
    # ListCodeFolderContents

    def contents(self, caller: Caller, req: M.ListCodeFolderContentsRequest) -> list[Node]:
        """The tree below ``ParentFolderPath`` (default the root): its folders and files, each
        folder with its own (``Children``), in one query for the nodes and one for the caller's
        grants. At the root the caller's private folder ``/~`` is shown with their private tree."""
        parent = parent_path(req.parent_folder_path or ROOT)
        keyword = (req.keyword or "").strip().lower()
        with self.db.read() as conn:
            who = viewer(conn, req.project_id, caller)
            tree = tree_for(parent, caller.uin)
            folder_row(conn, req.project_id, tree, parent)  # ResourceNotFound for a missing folder
            if parent == ROOT:
                where = visible(caller)
            else:
                where = and_(N.c.tree == tree, under(N.c.path, parent), N.c.path != parent)
            query = select(*LIGHT).where(N.c.project_id == req.project_id, where)
            if req.only_folder_node:
                query = query.where(N.c.kind == FOLDER)
            rows = conn.execute(query.order_by(N.c.path)).all()
            above = ancestors(parent) + ([parent] if parent != ROOT else [])
            extra = conn.execute(select(*LIGHT).where(
                N.c.project_id == req.project_id, N.c.tree == "", N.c.path.in_(above))).all() \
                if tree == "" and above else []
            perms = Permissions(who, [*rows, *extra], grants_of(conn, req.project_id, who))
        return prune_tree(_build(rows, parent, perms, req.project_id, caller), keyword,
                          bool(req.only_user_self_script), caller.uin, _order)


def _build(rows: Sequence[Any], parent: str, perms: Permissions, project_id: str, caller: Caller) -> list[Node]:
    nodes: dict[str, Node] = {}
    for r in rows:
        item = node(r, perms.level(r))
        if item.kind == FOLDER:
            item.children = []
        nodes[r.path] = item
    top: list[Node] = []
    mine: Node | None = None
    if parent == ROOT:
        mine = private_root(project_id, caller.uin)
        mine.children = []
        nodes[PRIVATE_ROOT] = mine
    for path, item in nodes.items():
        if path == PRIVATE_ROOT:
            continue
        if item.parent_path == parent:
            top.append(item)
            continue
        up = nodes.get(item.parent_path)
        if up is not None and up.children is not None:
            up.children.append(item)
    if mine is not None:
        top.append(mine)
    return top


def _order(item: Node) -> tuple[int, int, str]:
    return (1 if is_private(item.path) else 0, 0 if item.kind == FOLDER else 1, item.name)


