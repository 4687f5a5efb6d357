"""Code permissions: what a caller may do with a code studio folder or file. The one check of
the domain; other code calls :func:`code_permission` / :func:`require_permission`.

Levels, lowest first: ``CAN_VIEW`` (read, list) < ``CAN_RUN`` (run it, e.g. a Notebook task
naming the file) < ``CAN_EDIT`` (save content, create inside a folder) < ``CAN_MANAGE``
(rename, delete, grant and revoke). A caller's level on a shared node is the maximum of:

- the project-wide base: ``CAN_MANAGE`` for the project's administrators (its owner, a
  ProjectManager, a tenant administrator), ``CAN_EDIT`` for a DataEngineer, ``CAN_VIEW`` for
  every other member (an OperationEngineer or a Visitor reads);
- ``CAN_MANAGE`` where the caller owns the node or a folder above it;
- every grant on the node or a folder above it to the caller or to a project role they hold
  (grants on folders inherit downwards).

A node of the caller's private tree is ``CAN_MANAGE``; another user's does not exist for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, exists, or_, select

from wedata.principal import Caller
from wedata.services.code.tree import FOLDER, LIGHT, N, ancestors, is_private, load
from wedata.services.errors import Forbidden, NotFound
from wedata.services.projects.roles import PROJECT_MANAGER, PROJECT_ROLES
from wedata.storage import tables as T
from wedata.storage.code_tables import code_grants

G = code_grants
CAN_VIEW, CAN_RUN, CAN_EDIT, CAN_MANAGE = "CAN_VIEW", "CAN_RUN", "CAN_EDIT", "CAN_MANAGE"
LEVELS = (CAN_VIEW, CAN_RUN, CAN_EDIT, CAN_MANAGE)
RANK = {name: i + 1 for i, name in enumerate(LEVELS)}
DATA_ENGINEER = next(r.role_id for r in PROJECT_ROLES if r.role_name == "DataEngineer")


@dataclass(frozen=True, slots=True)
class Viewer:
    uin: str
    admin: bool  # administers the project: CAN_MANAGE everywhere in the shared tree
    roles: frozenset[str]
    base: int  # the rank every shared node starts from

    def subjects(self) -> Any:
        """SQL: a grant to this caller or to one of their roles."""
        mine = and_(G.c.subject_type == "user", G.c.subject_id == self.uin)
        if not self.roles:
            return mine
        return or_(mine, and_(G.c.subject_type == "role", G.c.subject_id.in_(sorted(self.roles))))


def viewer(conn: Connection, project_id: str, caller: Caller) -> Viewer:
    """The caller's standing in a live project (``ResourceNotFound`` for an unknown one)."""
    p, m, r = T.projects, T.project_members, T.project_member_roles
    row = conn.execute(
        select(p.c.owner_uin, exists().where(m.c.project_id == p.c.id, m.c.user_uin == caller.uin).label("member"))
        .where(p.c.id == project_id, p.c.deleted_at.is_(None))
    ).first()
    if row is None:
        raise NotFound(f"The project {project_id} does not exist.")
    roles = frozenset(conn.execute(
        select(r.c.role_id).where(r.c.project_id == project_id, r.c.user_uin == caller.uin)
    ).scalars())
    admin = caller.is_admin or row.owner_uin == caller.uin or PROJECT_MANAGER in roles
    base = RANK[CAN_MANAGE] if admin else RANK[CAN_EDIT] if DATA_ENGINEER in roles else RANK[CAN_VIEW]
    return Viewer(caller.uin, admin, roles, base)


class Permissions:
    """The caller's level on the nodes of one read: the nodes (and the folders above them) by
    path, and the caller's grants by node id."""

    def __init__(self, who: Viewer, folders: Iterable[Any], grants: dict[str, int]) -> None:
        self.who = who
        self.by_path = {f.path: f for f in folders if f.tree == ""}
        self.grants = grants

    def rank(self, row: Any) -> int:
        if row.tree != "" or is_private(row.path):
            return RANK[CAN_MANAGE]  # the caller's own private tree (others' are never loaded)
        best = self.who.base
        for path in [*ancestors(row.path), row.path]:
            found = row if path == row.path else self.by_path.get(path)
            if found is None:
                continue
            if found.owner_uin == self.who.uin:
                return RANK[CAN_MANAGE]
            best = max(best, self.grants.get(found.id, 0))
        return best

    def level(self, row: Any) -> str:
        return LEVELS[self.rank(row) - 1]


def grants_of(conn: Connection, project_id: str, who: Viewer, node_ids: Iterable[str] | None = None) -> dict[str, int]:
    """The caller's highest grant per node (of the given nodes, or of the whole project)."""
    query = select(G.c.node_id, G.c.privilege).where(G.c.project_id == project_id, who.subjects())
    if node_ids is not None:
        query = query.where(G.c.node_id.in_(list(node_ids)))
    out: dict[str, int] = {}
    for node_id, privilege in conn.execute(query):
        out[node_id] = max(out.get(node_id, 0), RANK.get(privilege, 0))
    return out


def chain(conn: Connection, project_id: str, row: Any) -> list[Any]:
    """The shared folders above a node (top first)."""
    above = ancestors(row.path)
    if row.tree != "" or not above:
        return []
    rows = conn.execute(select(*LIGHT).where(N.c.project_id == project_id, N.c.tree == "", N.c.path.in_(above),
                                             N.c.kind == FOLDER)).all()
    return sorted(rows, key=lambda r: len(r.path))


def permissions_for(conn: Connection, project_id: str, who: Viewer, row: Any) -> Permissions:
    folders = chain(conn, project_id, row)
    ids = [f.id for f in folders] + [row.id]
    return Permissions(who, folders, grants_of(conn, project_id, who, ids) if row.tree == "" else {})


def level_of(conn: Connection, project_id: str, who: Viewer, row: Any) -> str:
    return permissions_for(conn, project_id, who, row).level(row)


def require(conn: Connection, project_id: str, who: Viewer, row: Any, needed: str, doing: str) -> str:
    """The caller's level on ``row``; ``UnauthorizedOperation`` naming the missing permission."""
    level = level_of(conn, project_id, who, row)
    if RANK[level] < RANK[needed]:
        what = "folder" if row.kind == FOLDER else "file"
        raise Forbidden(
            f"The user {who.uin} may not {doing} the code {what} {row.path}: that needs {needed}, the user has "
            f"{level}."
        )
    return level


def code_permission(conn: Connection, project_id: str, caller: Caller, node_id: str) -> str:
    """THE check other code calls: the caller's level on a code folder or file they can see
    (``ResourceNotFound`` for one they cannot)."""
    who = viewer(conn, project_id, caller)
    row = load(conn, project_id, node_id, None, caller, columns=LIGHT)
    return level_of(conn, project_id, who, row)


def require_permission(conn: Connection, project_id: str, caller: Caller, node_id: str, needed: str,
                       doing: str) -> Any:
    """The node (its light row) when the caller holds ``needed`` on it; otherwise
    ``UnauthorizedOperation`` (or ``ResourceNotFound``)."""
    who = viewer(conn, project_id, caller)
    row = load(conn, project_id, node_id, None, caller, columns=LIGHT)
    require(conn, project_id, who, row, needed, doing)
    return row
