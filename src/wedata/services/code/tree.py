"""The trees of code studio: where a path lives, the node records the actions render, and the
lookups folders and files share.

A project has one shared tree (every member sees it) and one private tree per user, rooted at
``/~``: ``/~/notes/a.ipynb`` is the caller's own. The private root always exists for its owner
(like ``/``) and nobody else ever sees their private tree, tenant administrators included:
private means private. Paths are unique in their tree (a folder and a file of one folder cannot
share a name); ``~`` is reserved as a root child's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, func, literal, or_, select

from wedata.principal import Caller
from wedata.services.errors import InvalidValue, NotFound
from wedata.services.folders import ROOT, check_path
from wedata.storage.code_tables import code_nodes

N = code_nodes
SHARED, PRIVATE = "SHARED", "PRIVATE"
FOLDER, SCRIPT = "folder", "script"
PRIVATE_ROOT = "/~"
PRIVATE_ROOT_ID = "~"  # the Id the private root shows (it has no row)

# Every column but the file text (lists never load it).
LIGHT = tuple(c for c in N.c if c.name != "content")


def is_private(path: str) -> bool:
    return path == PRIVATE_ROOT or path.startswith(PRIVATE_ROOT + "/")


def tree_for(path: str, uin: str) -> str:
    """The tree a path of the caller's lives in: ``""`` (shared) or their Uin (private)."""
    return uin if is_private(path) else ""


def scope_for(path: str) -> str:
    return PRIVATE if is_private(path) else SHARED


def is_root(path: str) -> bool:
    return path in (ROOT, PRIVATE_ROOT)


def parent_path(value: str | None, field: str = "ParentFolderPath") -> str:
    """A folder path a request names (``""`` and ``/`` are the root; ``/~`` the private root)."""
    return check_path(value, field, lenient=True)


def check_child(parent: str, name: str, field: str) -> None:
    if parent == ROOT and name == "~":
        raise InvalidValue(f"{field} '~' is reserved at the root: /~ is each user's private folder")


@dataclass(slots=True)
class Node:
    """A folder or file as the answers show it (``content`` only for the file actions)."""

    id: str
    project_id: str
    scope: str
    kind: str
    path: str
    parent_path: str
    name: str
    owner_uin: str
    update_user_uin: str
    created_at: datetime | None
    updated_at: datetime | None
    config: dict[str, Any] | None
    version_id: str | None
    permission: str | None = None
    content: str | None = None
    children: list[Node] | None = field(default=None)


def node(row: Any, permission: str | None, *, content: bool = False) -> Node:
    return Node(
        id=row.id, project_id=row.project_id, scope=row.scope, kind=row.kind, path=row.path,
        parent_path=row.parent_path, name=row.name, owner_uin=row.owner_uin, update_user_uin=row.update_user_uin,
        created_at=row.created_at, updated_at=row.updated_at, config=row.config, version_id=row.version_id,
        permission=permission, content=row.content if content else None,
    )


def private_root(project_id: str, uin: str) -> Node:
    """The caller's private root ``/~`` (no row: it always exists for its owner)."""
    return Node(id=PRIVATE_ROOT_ID, project_id=project_id, scope=PRIVATE, kind=FOLDER, path=PRIVATE_ROOT,
                parent_path=ROOT, name="~", owner_uin=uin, update_user_uin=uin, created_at=None, updated_at=None,
                config=None, version_id=None, permission="CAN_MANAGE")


def visible(caller: Caller) -> ColumnElement[bool]:
    """The trees the caller sees: the shared one and their own."""
    return N.c.tree.in_(("", caller.uin))


def load(conn: Connection, project_id: str, node_id: str, kind: str | None, caller: Caller, *, lock: bool = False,
         columns: tuple[Any, ...] = ()) -> Row[Any]:
    """A node of a tree the caller sees, or ``ResourceNotFound`` (another user's private node
    does not exist for them)."""
    what = {FOLDER: "code folder", SCRIPT: "code file"}.get(kind or "", "code file or folder")
    query = select(*(columns or (N,))).where(N.c.id == node_id, N.c.project_id == project_id, visible(caller))
    if kind is not None:
        query = query.where(N.c.kind == kind)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"The {what} {node_id} does not exist in the project {project_id}.")
    return row


def path_taken(conn: Connection, project_id: str, tree: str, path: str) -> Any:
    return conn.execute(
        select(N.c.id, N.c.kind).where(N.c.project_id == project_id, N.c.tree == tree, N.c.path == path)
    ).first()


def folder_row(conn: Connection, project_id: str, tree: str, path: str) -> Any:
    """The folder at ``path`` (None for a root, which has no row); ``ResourceNotFound`` if absent."""
    if is_root(path):
        return None
    row = conn.execute(
        select(*LIGHT).where(N.c.project_id == project_id, N.c.tree == tree, N.c.path == path, N.c.kind == FOLDER)
    ).first()
    if row is None:
        where = "your private code folders" if tree else "the project's code folders"
        raise NotFound(f"The folder {path} does not exist in {where}.")
    return row


def under(column: Any, path: str) -> ColumnElement[bool]:
    """``column`` is ``path`` or lies below it (LIKE wildcards in names are escaped)."""
    if path == ROOT:
        return literal(True) == literal(True)
    return or_(column == path, column.startswith(path + "/", autoescape=True))


def rebase(column: Any, old: str, new: str) -> Any:
    """SQL for ``column`` with its ``old`` prefix replaced by ``new`` (portable: || and substr)."""
    return literal(new) + func.substr(column, len(old) + 1)


def ancestors(path: str) -> list[str]:
    """The folder paths above ``path``, top first (``/a/b/c`` -> ``/a``, ``/a/b``); roots excluded."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]
