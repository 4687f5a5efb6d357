"""Workflow permissions: grants on workflows and workflow folders to users and project roles
(CreateWorkflowPermissions, DeleteWorkflowPermissions, ListWorkflowPermissions,
GetMyWorkflowMaxPermission), and the check of writes to a workflow's definition and tasks.

Permissions, ordered: ``CAN_VIEW`` < ``CAN_RUN`` < ``CAN_EDIT`` < ``CAN_MANAGE`` (WeData's names;
its docs say only ``CAN_MANAGE`` is supported today, all four are accepted here). A grant on a
folder covers every folder and workflow below it: the permission a user holds on a workflow is the
maximum over the grants on the workflow and on each folder of its path, to the user and to each
project role they hold ("the chain").

What the grants decide (the registry asks :meth:`WorkflowGrants.decide` on every write whose
request names a workflow, a workflow folder or a task; services/permissions/authorize.py):

- **Unprotected** (no grant anywhere on the chain): the project roles alone decide.
- **Protected** (at least one grant on the chain, to anyone): writing the workflow or its tasks
  (``write``) needs ``CAN_EDIT`` or more from the chain; managing its grants needs
  ``CAN_MANAGE``. A DataEngineer without a grant may not edit a protected workflow.
- Grants also add: a member whose roles do not write (a Visitor, an OperationEngineer) may
  edit a workflow on which they hold ``CAN_EDIT``.
- Project managers, the project owner and tenant administrators always pass and hold
  ``CAN_MANAGE`` everywhere.
- Reads stay project-wide (any member reads every workflow): ``CAN_VIEW`` adds nothing to a
  member, and ``CAN_RUN`` is recorded and answered but operating production is decided by roles.

``GetMyWorkflowMaxPermission`` answers the caller's effective permission: the maximum of their
grants on the chain and of what their roles give on it (ProjectManager ``CAN_MANAGE``; on an
unprotected chain DataEngineer ``CAN_EDIT``, OperationEngineer ``CAN_RUN``, Visitor
``CAN_VIEW``; on a protected chain ``CAN_VIEW`` for every member).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, tuple_

from wedata.clock import Clock
from wedata.config import Settings
from wedata.services.common import Paged, page
from wedata.services.errors import InvalidValue, NotFound, Unsupported
from wedata.services.projects.access import Access, ProjectAccess
from wedata.services.projects.needs import Need
from wedata.services.projects.roles import PROJECT_ROLES_BY_ID
from wedata.storage import tables as T
from wedata.storage.db import Database, insert_ignore
from wedata.storage.permission_tables import workflow_grants

G = workflow_grants
LEVELS = ("CAN_VIEW", "CAN_RUN", "CAN_EDIT", "CAN_MANAGE")
RANK = {name: i + 1 for i, name in enumerate(LEVELS)}
NO_PERMISSION = "NO_PERMISSION"
ENTITY_TYPES = ("folder", "workflow")
TARGET_TYPES = ("user", "role")
MAX_ITEMS = 100

_ROLE_LEVEL = {Need.WRITE: "CAN_EDIT", Need.OPERATE: "CAN_RUN", Need.READ: "CAN_VIEW"}


@dataclass(frozen=True, slots=True)
class Entity:
    entity_type: str  # folder | workflow
    entity_id: str
    label: str  # "workflow wf (…)" / "folder /a/b"
    chain: tuple[str, ...]  # the folder paths from the top down to the entity's own folder


@dataclass(frozen=True, slots=True)
class Grant:
    target_type: str
    target_id: str
    permissions: tuple[str, ...]


def ancestors(path: str) -> tuple[str, ...]:
    """``/a/b`` -> (``/a``, ``/a/b``); ``/`` -> ()."""
    parts = [p for p in path.split("/") if p]
    return tuple("/" + "/".join(parts[: i + 1]) for i in range(len(parts)))


class WorkflowGrants:
    def __init__(self, db: Database, clock: Clock, settings: Settings, access: ProjectAccess) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.access = access

    # -- entities and chains ---------------------------------------------------------------------

    @staticmethod
    def entity(conn: Connection, project_id: str, entity_type: str, entity_id: str) -> Entity:
        entity_type = (entity_type or "").strip()
        if entity_type not in ENTITY_TYPES:
            raise InvalidValue(f"EntityType must be folder or workflow, got {entity_type!r}")
        if entity_type == "workflow":
            w = T.workflows
            row = conn.execute(select(w.c.id, w.c.name, w.c.folder_path)
                               .where(w.c.project_id == project_id, w.c.id == entity_id)).first()
            if row is None:
                raise NotFound(f"EntityId: the workflow {entity_id} does not exist in the project {project_id}.")
            return Entity("workflow", row.id, f"the workflow {row.name} ({row.id})", ancestors(row.folder_path))
        f = T.workflow_folders
        folder = conn.execute(select(f.c.id, f.c.path)
                              .where(f.c.project_id == project_id, f.c.id == entity_id)).first()
        if folder is None:
            raise NotFound(f"EntityId: the workflow folder {entity_id} does not exist in the project {project_id}.")
        return Entity("folder", folder.id, f"the folder {folder.path}", ancestors(folder.path))

    @staticmethod
    def target(conn: Connection, project_id: str, kind: str, key: str) -> Entity | None:
        """What a write request touches, from the key the registry found in it: a workflow, a folder
        (by id or by path: the parent of a new workflow or folder) or a task (its workflow). None
        when it does not exist (the handler then answers ResourceNotFound itself)."""
        if kind == "task":
            t, w = T.tasks, T.workflows
            row = conn.execute(select(w.c.id, w.c.name, w.c.folder_path).join_from(t, w, w.c.id == t.c.workflow_id)
                               .where(t.c.project_id == project_id, t.c.id == key)).first()
            return None if row is None else Entity("workflow", row.id, f"the workflow {row.name} ({row.id})",
                                                   ancestors(row.folder_path))
        if kind == "folder_path":
            chain = ancestors(key)
            return Entity("folder", "", f"the folder {key}", chain) if chain else None
        try:
            return WorkflowGrants.entity(conn, project_id, kind, key)
        except (NotFound, InvalidValue):
            return None

    @staticmethod
    def chain_grants(conn: Connection, project_id: str, entity: Entity) -> list[Any]:
        """Every grant on the entity or a folder of its chain: ONE query."""
        f = T.workflow_folders
        folders = select(f.c.id).where(f.c.project_id == project_id, f.c.path.in_(entity.chain))
        on_entity = and_(G.c.entity_type == entity.entity_type, G.c.entity_id == entity.entity_id)
        return list(conn.execute(
            select(G.c.target_type, G.c.target_id, G.c.permission).where(
                G.c.project_id == project_id,
                or_(on_entity, and_(G.c.entity_type == "folder", G.c.entity_id.in_(folders))),
            )
        ).all())

    @staticmethod
    def held(grants: Sequence[Any], access: Access) -> int:
        """The highest rank the caller holds through grants to them or to one of their roles."""
        mine = [RANK[g.permission] for g in grants
                if (g.target_type == "user" and g.target_id == access.uin)
                or (g.target_type == "role" and g.target_id in access.roles)]
        return max(mine, default=0)

    def effective(self, conn: Connection, access: Access, entity: Entity) -> int:
        if access.superuser or access.allows(Need.MANAGE):
            return RANK["CAN_MANAGE"]
        grants = self.chain_grants(conn, access.project_id, entity)
        by_role = 0
        if not grants:
            by_role = max((RANK[_ROLE_LEVEL[n]] for n in access.needs if n in _ROLE_LEVEL), default=0)
        elif access.member:
            by_role = RANK["CAN_VIEW"]
        return max(by_role, self.held(grants, access))

    def decide(self, conn: Connection, access: Access, need: Need, entity: Entity) -> str | None:
        """None when the caller may do what ``need`` (write or manage) says to the entity; else why
        not, naming the permission that is missing."""
        if access.superuser or access.allows(Need.MANAGE):
            return None
        grants = self.chain_grants(conn, access.project_id, entity)
        wanted = "CAN_MANAGE" if need is Need.MANAGE else "CAN_EDIT"
        if self.held(grants, access) >= RANK[wanted]:
            return None
        if need is Need.WRITE and not grants and access.allows(Need.WRITE):
            return None
        if grants and access.allows(need):
            return (f"{entity.label} is protected by workflow grants: writing it takes {wanted} on it or on a "
                    "folder above it (CreateWorkflowPermissions), or the ProjectManager role")
        roles = "ProjectManager" if need is Need.MANAGE else "ProjectManager or DataEngineer"
        return (f"it takes the {roles} role, or {wanted} on {entity.label} or on a folder above it")

    # -- the actions -----------------------------------------------------------------------------

    def _check_items(self, conn: Connection, project_id: str, items: Sequence[Any], field: str,
                     *, deleting: bool) -> list[tuple[str, str, str]]:
        if not items:
            raise InvalidValue(f"{field} must hold at least one item")
        if len(items) > MAX_ITEMS:
            raise InvalidValue(f"{field} holds {len(items)} items; at most {MAX_ITEMS}")
        rows: list[tuple[str, str, str]] = []
        users: dict[str, str] = {}
        for i, item in enumerate(items):
            where = f"{field}[{i}]"
            kind = (item.permission_target_type or "").strip()
            target = (item.permission_target_id or "").strip()
            if kind == "group" and deleting:
                raise Unsupported(f"{where}.PermissionTargetType: this server has no user groups")
            if kind not in TARGET_TYPES:
                raise InvalidValue(f"{where}.PermissionTargetType must be user or role, got {kind!r}")
            if not target:
                raise InvalidValue(f"{where}.PermissionTargetId must not be empty")
            if kind == "role" and target not in PROJECT_ROLES_BY_ID:
                raise NotFound(f"{where}.PermissionTargetId: {target} is not a project role (ListProjectRoles)")
            if kind == "user":
                users[target] = where
            perms = list(dict.fromkeys(item.permission_type_list or ()))
            if not perms:
                raise InvalidValue(f"{where}.PermissionTypeList must name at least one permission")
            for p in perms:
                if p not in RANK:
                    raise InvalidValue(f"{where}.PermissionTypeList: {p!r} is not one of {', '.join(LEVELS)}")
                rows.append((kind, target, p))
        if users and not deleting:
            m = T.project_members
            members = set(conn.execute(select(m.c.user_uin).where(
                m.c.project_id == project_id, m.c.user_uin.in_(list(users)))).scalars())
            for uin, where in users.items():
                if uin not in members:
                    raise NotFound(f"{where}.PermissionTargetId: the user {uin} is not a member of the project "
                                   f"{project_id}")
        return rows

    def create(self, granted_by: str, req: Any) -> None:
        with self.db.write() as conn:
            entity = self.entity(conn, req.project_id, req.entity_type, req.entity_id)
            rows = self._check_items(conn, req.project_id, req.permission_list, "PermissionList", deleting=False)
            now = self.clock.now()
            conn.execute(insert_ignore(conn, G), [
                dict(project_id=req.project_id, entity_type=entity.entity_type, entity_id=entity.entity_id,
                     target_type=k, target_id=t, permission=p, granted_by=granted_by, created_at=now)
                for k, t, p in dict.fromkeys(rows)
            ])

    def delete(self, req: Any) -> None:
        with self.db.write() as conn:
            entity = self.entity(conn, req.project_id, req.entity_type, req.entity_id)
            rows = self._check_items(conn, req.project_id, req.delete_permission_list, "DeletePermissionList",
                                     deleting=True)
            conn.execute(delete(G).where(
                G.c.project_id == req.project_id, G.c.entity_type == entity.entity_type,
                G.c.entity_id == entity.entity_id,
                tuple_(G.c.target_type, G.c.target_id, G.c.permission).in_(rows),
            ))

    def list(self, req: Any) -> Paged[Grant]:
        """The grants on the entity itself (not inherited), one item per target, paged by target."""
        pg = page(req.page_number, req.page_size, min_size=10, max_size=200)
        with self.db.read() as conn:
            entity = self.entity(conn, req.project_id, req.entity_type, req.entity_id)
            where = (G.c.project_id == req.project_id, G.c.entity_type == entity.entity_type,
                     G.c.entity_id == entity.entity_id)
            targets = select(G.c.target_type, G.c.target_id).where(*where).distinct().subquery()
            total = conn.execute(select(func.count()).select_from(targets)).scalar_one()
            keys = select(targets.c.target_type, targets.c.target_id).order_by(
                targets.c.target_type.desc(), targets.c.target_id).limit(pg.size).offset(pg.offset).subquery()
            rows = conn.execute(
                select(G.c.target_type, G.c.target_id, G.c.permission)
                .join(keys, (keys.c.target_type == G.c.target_type) & (keys.c.target_id == G.c.target_id))
                .where(*where)
            ).all()
        grouped: dict[tuple[str, str], list[str]] = {}
        for r in rows:
            grouped.setdefault((r.target_type, r.target_id), []).append(r.permission)
        items = [Grant(k, t, tuple(sorted(p, key=RANK.__getitem__))) for (k, t), p in
                 sorted(grouped.items(), key=lambda kv: (kv[0][0] != "role", kv[0][1]))]
        return Paged(items, pg, total)

    def max_permission(self, access: Access, req: Any) -> str:
        with self.db.read() as conn:
            entity = self.entity(conn, req.project_id, req.entity_type, req.entity_id)
            rank = self.effective(conn, access, entity)
        return LEVELS[rank - 1] if rank else NO_PERMISSION
