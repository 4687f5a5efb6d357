"""Code permissions: CreateCodePermissions, DeleteCodePermissions, ListCodePermissions,
GetMyCodeMaxPermission (the levels and the one check are in ``access.py``).

- A grant names a shared folder or file (``Resource``: ``ResourceType`` ``folder`` | ``script``
  matching the node, ``ResourceId``; ``ResourceIdForPath`` and ``ResourceCFSPath`` are WeData's
  hints and not needed here), subjects (``SubjectType`` ``user``: Uins of project members;
  ``role``: project role ids) and privileges (``CAN_VIEW``, ``CAN_RUN``, ``CAN_EDIT``,
  ``CAN_MANAGE``). ``group`` subjects are refused: there are no user groups here.
- Granting and revoking take ``CAN_MANAGE`` on the node. A private node is its owner's alone and
  cannot be granted. Listing takes ``CAN_VIEW``.
- The whole request is checked before anything is written (each error names the field path,
  e.g. ``AuthorizePermissionObjects[1].AuthorizeSubjects[0].SubjectValues[2]``), then written
  in one transaction: all or nothing. ``Data`` has one item per resource (``Result`` true).
- ``ListCodePermissions`` shows who may act on the node: the ProjectManager role and the owners
  of the node and of the folders above it (``CAN_MANAGE``, ``DeleteAble`` false), then the grants
  on the node (``DeleteAble`` true) and inherited from the folders above (``Resource`` names the
  folder, ``DeleteAble`` false: revoke them there). ``Users`` keeps the user rows of those Uins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.services.code.access import (
    CAN_MANAGE,
    CAN_VIEW,
    LEVELS,
    RANK,
    chain,
    level_of,
    require,
    viewer,
)
from wedata.services.code.tree import FOLDER, LIGHT, PRIVATE, SCRIPT, load
from wedata.services.common import Paged, page
from wedata.services.errors import InvalidValue, NotFound
from wedata.services.projects.roles import PROJECT_MANAGER, PROJECT_ROLES_BY_ID
from wedata.spec import models as M
from wedata.storage import tables as T
from wedata.storage.code_tables import code_grants
from wedata.storage.db import Database

G = code_grants
MAX_OBJECTS, MAX_SUBJECTS, MAX_VALUES = 100, 20, 100
SUBJECT_TYPES = ("user", "role")


@dataclass(frozen=True, slots=True)
class ResultItem:
    item: str
    result: bool
    reason: str


@dataclass(slots=True)
class PrivilegeRow:
    """One row of ListCodePermissions: a subject's privileges on a node."""

    role_type: str
    role_id: str
    privileges: list[str]
    resource_type: str
    resource_id: str
    delete_able: bool


@dataclass(frozen=True, slots=True)
class _Subject:
    kind: str
    ids: tuple[str, ...]
    privileges: tuple[str, ...]


def _sized(items: Sequence[Any] | None, where: str, limit: int, *, required: bool = True) -> Sequence[Any]:
    if not items:
        if required:
            raise InvalidValue(f"{where} must not be empty")
        return []
    if len(items) > limit:
        raise InvalidValue(f"{where} must have at most {limit} items, got {len(items)}")
    return items


def _resource(conn: Connection, caller: Caller, project_id: str, res: M.ExploreFileResource | None,
              where: str) -> Any:
    rid = (res.resource_id or "").strip() if res is not None else ""
    if res is None or not rid:
        raise InvalidValue(f"{where}.ResourceId must name a code folder or file")
    kind = res.resource_type
    if kind not in (FOLDER, SCRIPT):
        raise InvalidValue(f"{where}.ResourceType must be folder or script, got {kind!r}")
    try:
        row = load(conn, project_id, rid, None, caller, columns=LIGHT)
    except NotFound:
        raise NotFound(f"{where}.ResourceId: the code {'folder' if kind == FOLDER else 'file'} "
                       f"{res.resource_id} does not exist in the project {project_id}.") from None
    if row.kind != kind:
        raise InvalidValue(f"{where}.ResourceType is {kind} but {res.resource_id} is a "
                           f"{'folder' if row.kind == FOLDER else 'script'}")
    return row


def _subjects(conn: Connection, project_id: str, items: Sequence[M.ExploreAuthorizeSubject] | None, where: str,
              *, granting: bool) -> list[_Subject]:
    out: list[_Subject] = []
    members: set[str] | None = None
    for i, s in enumerate(_sized(items, where, MAX_SUBJECTS)):
        at = f"{where}[{i}]"
        if s.subject_type not in SUBJECT_TYPES:
            raise InvalidValue(f"{at}.SubjectType must be user or role (there are no user groups here), got "
                               f"{s.subject_type!r}")
        ids = [str(v).strip() for v in _sized(s.subject_values, f"{at}.SubjectValues", MAX_VALUES)]
        privileges = list(_sized(s.privileges, f"{at}.Privileges", len(LEVELS) * 4, required=granting))
        for j, p in enumerate(privileges):
            if p not in RANK:
                raise InvalidValue(f"{at}.Privileges[{j}] must be one of {', '.join(LEVELS)}, got {p!r}")
        for j, value in enumerate(ids):
            if not value:
                raise InvalidValue(f"{at}.SubjectValues[{j}] must not be empty")
            if s.subject_type == "role" and value not in PROJECT_ROLES_BY_ID:
                known = ", ".join(f"{r.role_id} ({r.role_name})" for r in PROJECT_ROLES_BY_ID.values())
                raise InvalidValue(f"{at}.SubjectValues[{j}]: unknown project role {value!r}; the roles are {known}")
            if s.subject_type == "user" and granting:
                if members is None:
                    m = T.project_members
                    members = set(conn.execute(select(m.c.user_uin).where(m.c.project_id == project_id)).scalars())
                if value not in members:
                    raise InvalidValue(f"{at}.SubjectValues[{j}]: the user {value} is not a member of the project "
                                       f"{project_id}")
        out.append(_Subject(s.subject_type, tuple(dict.fromkeys(ids)), tuple(dict.fromkeys(privileges))))
    return out


def _grantable(row: Any, where: str) -> None:
    if row.scope == PRIVATE:
        raise InvalidValue(f"{where}.ResourceId: {row.path} is in your private folder /~, which is yours alone: "
                           "it cannot be shared")


class CodePermissionService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def grant(self, caller: Caller, req: M.CreateCodePermissionsRequest) -> list[ResultItem]:
        objects = _sized(req.authorize_permission_objects, "AuthorizePermissionObjects", MAX_OBJECTS)
        now = self.clock.now()
        with self.db.write() as conn:
            who = viewer(conn, req.project_id, caller)
            plan: list[tuple[Any, list[_Subject]]] = []
            for i, obj in enumerate(objects):
                where = f"AuthorizePermissionObjects[{i}]"
                row = _resource(conn, caller, req.project_id, obj.resource, f"{where}.Resource")
                _grantable(row, f"{where}.Resource")
                subjects = _subjects(conn, req.project_id, obj.authorize_subjects, f"{where}.AuthorizeSubjects",
                                     granting=True)
                require(conn, req.project_id, who, row, CAN_MANAGE, "grant permissions on")
                plan.append((row, subjects))
            ids = list({row.id for row, _ in plan})
            have = {tuple(r) for r in conn.execute(select(G.c.node_id, G.c.subject_type, G.c.subject_id,
                                                          G.c.privilege).where(G.c.node_id.in_(ids)))}
            values = []
            for row, subjects in plan:
                for s in subjects:
                    for subject_id in s.ids:
                        for privilege in s.privileges:
                            key = (row.id, s.kind, subject_id, privilege)
                            if key not in have:
                                have.add(key)
                                values.append(dict(node_id=row.id, project_id=req.project_id, subject_type=s.kind,
                                                   subject_id=subject_id, privilege=privilege,
                                                   granted_by=caller.uin, created_at=now))
            if values:
                conn.execute(insert(G), values)
        return [ResultItem(row.id, True, "Authorization successful") for row, _ in plan]

    def revoke(self, caller: Caller, req: M.DeleteCodePermissionsRequest) -> list[ResultItem]:
        objects = _sized(req.recycle_policy_set, "RecyclePolicySet", MAX_OBJECTS)
        out: list[ResultItem] = []
        with self.db.write() as conn:
            who = viewer(conn, req.project_id, caller)
            plan: list[tuple[Any, list[_Subject]]] = []
            for i, obj in enumerate(objects):
                where = f"RecyclePolicySet[{i}]"
                row = _resource(conn, caller, req.project_id, obj.resource, f"{where}.Resource")
                subjects = _subjects(conn, req.project_id, obj.recycle_subjects, f"{where}.RecycleSubjects",
                                     granting=False)
                require(conn, req.project_id, who, row, CAN_MANAGE, "revoke permissions on")
                plan.append((row, subjects))
            for row, subjects in plan:
                removed = 0
                for s in subjects:
                    cond = and_(G.c.node_id == row.id, G.c.subject_type == s.kind, G.c.subject_id.in_(s.ids))
                    if s.privileges:
                        cond = and_(cond, G.c.privilege.in_(s.privileges))
                    removed += conn.execute(delete(G).where(cond)).rowcount or 0
                out.append(ResultItem(row.id, True, f"Revoked {removed} grant(s)"))
        return out

    def list(self, caller: Caller, req: M.ListCodePermissionsRequest) -> Paged[PrivilegeRow]:
        pg = page(req.page_number, req.page_size, default_size=20, max_size=100)
        users = [u.strip() for u in _sized(req.users, "Users", 1000, required=False)]
        with self.db.read() as conn:
            who = viewer(conn, req.project_id, caller)
            row = _resource(conn, caller, req.project_id, req.resource, "Resource")
            require(conn, req.project_id, who, row, CAN_VIEW, "read the permissions of")
            folders = chain(conn, req.project_id, row)
            nodes = {f.id: f for f in folders} | {row.id: row}
            grants = conn.execute(select(G.c.node_id, G.c.subject_type, G.c.subject_id, G.c.privilege).where(
                G.c.node_id.in_(list(nodes)))).all() if row.scope != PRIVATE else []
        rows = _privilege_rows(row, folders, nodes, grants)
        if users:
            rows = [r for r in rows if r.role_type == "user" and r.role_id in users]
        return Paged(rows[pg.offset:pg.offset + pg.size], pg, len(rows))

    def max_permission(self, caller: Caller, project_id: str, resource_id: str) -> str:
        if not (resource_id or "").strip():
            raise InvalidValue("ResourceId must name a code folder or file")
        with self.db.read() as conn:
            who = viewer(conn, project_id, caller)
            return level_of(conn, project_id, who, load(conn, project_id, resource_id.strip(), None, caller,
                                                        columns=LIGHT))


def _privilege_rows(row: Any, folders: list[Any], nodes: dict[str, Any], grants: Sequence[Any]) -> list[PrivilegeRow]:
    out: list[PrivilegeRow] = []
    if row.scope != PRIVATE:
        out.append(PrivilegeRow("role", PROJECT_MANAGER, [CAN_MANAGE], row.kind, row.id, False))
    owners: list[Any] = [row, *reversed(folders)]
    seen: set[str] = set()
    for n in owners:
        if n.owner_uin not in seen:
            seen.add(n.owner_uin)
            out.append(PrivilegeRow("user", n.owner_uin, [CAN_MANAGE], n.kind, n.id, False))
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for g in grants:
        grouped.setdefault((g.node_id, g.subject_type, g.subject_id), []).append(g.privilege)
    depth = {n.id: len(n.path) for n in nodes.values()}
    for (node_id, kind, subject_id), privileges in sorted(grouped.items(),
                                                          key=lambda kv: (-depth[kv[0][0]], kv[0][1], kv[0][2])):
        n = nodes[node_id]
        out.append(PrivilegeRow(kind, subject_id, sorted(privileges, key=RANK.__getitem__), n.kind, n.id,
                                node_id == row.id))
    return out


__all__ = ["CodePermissionService", "PrivilegeRow", "ResultItem"]
