"""The trees of data exploration: who sees which node, and the lookups folders and scripts share.

A project has one shared tree (``SHARED``: every member sees it) and one private tree per user
(``PRIVATE``: its owner alone sees it, tenant administrators included: private means private).
A node (folder or script) is in exactly one tree; its ``Path`` is unique there (a folder and a
script of one folder cannot share a name). Nodes of a tree the caller cannot see do not exist
for them (``ResourceNotFound``): a name taken in someone's private tree is free in yours.

Rights: in the shared tree every member creates, reads, runs and edits scripts' content and
configuration; renaming, deleting or moving a node to the other tree (``AccessScope``) takes its
owner or a project administrator (the owner, a ProjectManager, a tenant administrator). In a
private tree the owner does everything. ``NodePermission`` shows it: ``CAN_MANAGE`` or
``CAN_EDIT``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, func, literal, select

from wedata.principal import Caller
from wedata.services.datasources.access import project_rights
from wedata.services.errors import Forbidden, InvalidValue, NotFound
from wedata.services.folders import under as folder_under
from wedata.storage.sql_tables import sql_nodes

N = sql_nodes
SHARED, PRIVATE = "SHARED", "PRIVATE"
SCOPES = (SHARED, PRIVATE)
FOLDER, SCRIPT = "folder", "script"
CAN_MANAGE, CAN_EDIT = "CAN_MANAGE", "CAN_EDIT"

# Every column but the script text (lists never load it).
LIGHT = tuple(c for c in N.c if c.name != "content")


@dataclass(frozen=True, slots=True)
class Viewer:
    uin: str
    admin: bool  # administers the project (owner, ProjectManager, tenant administrator)

    @property
    def trees(self) -> tuple[str, str]:
        return ("", self.uin)

    def may_manage(self, row: Any) -> bool:
        return row.scope == PRIVATE or row.owner_uin == self.uin or self.admin

    def permission(self, row: Any) -> str:
        return CAN_MANAGE if self.may_manage(row) else CAN_EDIT


def viewer(conn: Connection, project_id: str, caller: Caller) -> Viewer:
    return Viewer(caller.uin, project_rights(conn, project_id, caller).admin)


def scope_of(value: str | None, field: str = "AccessScope", default: str = SHARED) -> str:
    if value is None or value == "":
        return default
    if value not in SCOPES:
        raise InvalidValue(f"{field} must be SHARED or PRIVATE, got {value!r}")
    return value


def tree_of(scope: str, uin: str) -> str:
    return "" if scope == SHARED else uin


@dataclass(slots=True)
class Node:
    """A folder or script as the answers show it (``content`` only for GetSQLScript & co.)."""

    id: str
    project_id: str
    scope: str
    kind: str
    path: str
    parent_path: str
    name: str
    owner_uin: str
    update_user_uin: str
    created_at: datetime
    updated_at: datetime
    config: dict[str, Any] | None
    permission: str
    content: str | None = None
    children: list[Node] | None = field(default=None)


def node(row: Any, who: Viewer, *, content: bool = False) -> Node:
    return Node(
        id=row.id, project_id=row.project_id, scope=row.scope, kind=row.kind, path=row.path,
        parent_path=row.parent_path, name=row.name, owner_uin=row.owner_uin, update_user_uin=row.update_user_uin,
        created_at=row.created_at, updated_at=row.updated_at, config=row.config, permission=who.permission(row),
        content=row.content if content else None,
    )


def load(conn: Connection, project_id: str, node_id: str, kind: str, who: Viewer, *, lock: bool = False,
         columns: tuple[Any, ...] = ()) -> Row[Any]:
    """A node of a tree the caller sees, or ``ResourceNotFound``."""
    what = "SQL folder" if kind == FOLDER else "SQL script"
    query = select(*(columns or (N,))).where(N.c.id == node_id, N.c.project_id == project_id, N.c.kind == kind,
                                             N.c.tree.in_(who.trees))
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"The {what} {node_id} does not exist in the project {project_id}.")
    return row


def require_manage(row: Any, who: Viewer) -> None:
    if not who.may_manage(row):
        what = "folder" if row.kind == FOLDER else "script"
        raise Forbidden(
            f"The user {who.uin} may not rename, move or delete the shared {what} {row.path}: only its owner "
            f"({row.owner_uin}) and the project's administrators may."
        )


def path_taken(conn: Connection, project_id: str, tree: str, path: str) -> Any:
    return conn.execute(
        select(N.c.id, N.c.kind).where(N.c.project_id == project_id, N.c.tree == tree, N.c.path == path)
    ).first()


def folder_exists(conn: Connection, project_id: str, tree: str, path: str) -> bool:
    if path == "/":
        return True
    return conn.execute(
        select(N.c.id).where(N.c.project_id == project_id, N.c.tree == tree, N.c.path == path, N.c.kind == FOLDER)
    ).first() is not None


def under(column: Any, path: str) -> ColumnElement[bool]:
    """``column`` is ``path`` or lies below it (LIKE wildcards in names are escaped)."""
    if path == "/":
        return literal(True) == literal(True)
    return folder_under(column, path)


def rebase(column: Any, old: str, new: str) -> Any:
    """SQL for ``column`` with its ``old`` prefix replaced by ``new`` (portable: || and substr)."""
    return literal(new) + func.substr(column, len(old) + 1)


def shown_parent(path: str) -> str:
    """A root child's ParentFolderPath is shown as ``""`` (WeData's CreateSQLScript example)."""
    return "" if path == "/" else path
