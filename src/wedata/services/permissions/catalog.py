"""Catalog privileges: AuthorizePrivileges, RevokePrivileges, ListPermissions, and the check of
the tables a SQL statement reads and writes (SQL scripts and SQL tasks).

**Resources** (``ResourceType`` / ``ResourceUri``, WeData's three-part names): ``Catalog``
(``<catalog>``), ``Schema`` (``<catalog>.<schema>``), ``Table`` (``<catalog>.<schema>.<table>``).
A catalog is ``DataLakeCatalog`` (the built-in lake) or a catalogued data source by its ``Id``
(``12``); a schema is the level a statement qualifies a table with — the lake's and a MySQL
source's databases, a PostgreSQL source's schemas. The resource must exist in the catalog
(``ResourceNotFound`` otherwise; a source never read is read first) and the caller must see it.
``Metalake`` and ``GlobalRole`` are not supported here (``UnsupportedOperation``).

**Subjects**: ``User`` (a Uin with a credential or a membership), ``Project`` (a live ProjectId:
every member of it, for SQL run in it), ``Role`` (``<ProjectId>.<RoleId>``: the members holding
that project role, for SQL run in that project).

**Privileges** (the TCCATALOG names): ``USE_CATALOG``, ``USE_SCHEMA``, ``CREATE_SCHEMA``,
``CREATE_TABLE``, ``SELECT_TABLE``, ``MODIFY_TABLE``, ``MANAGE_GRANTS``; each is granted on the
levels where it means something (``SELECT_TABLE`` on a catalog, schema or table;
``USE_CATALOG`` on a catalog only). A grant on a catalog or schema covers everything below it.

**The default — when no grant exists.** A table is *governed* once a grant (to anyone, of any
privilege) exists on it, its schema or its catalog. An ungoverned table follows the project rules
alone: a project member may use the tables of every data source the project may use
(services/datasources/access.py) and of the lake. On a governed table a statement run by a user
in a project needs, from a grant to the user, the project, or one of the user's roles in it:
``SELECT_TABLE`` to read it, ``MODIFY_TABLE`` to write it (INSERT, UPDATE, DELETE, MERGE,
TRUNCATE, DROP, ALTER), ``CREATE_TABLE`` or ``MODIFY_TABLE`` to create it. Tenant
administrators and the data source's creator always pass. A statement that cannot be parsed on
a governed catalog is refused (its tables cannot be checked). A denial is
``UnauthorizedOperation`` naming the table and the missing privilege.

**Who may grant and revoke** on a resource: a tenant administrator; for a data source's catalog,
the source's creator and the administrators of its project; and anyone holding ``MANAGE_GRANTS``
on the resource or above it — who may grant only privileges they hold there themselves.
Validation errors (form, unknown subjects, privileges or resources) refuse the whole request and
write nothing; then each resource is granted (or revoked) on its own, and ``Results`` says, per
resource, whether the caller was allowed (``Reason`` naming the missing privilege). When no
resource is allowed the answer is ``UnauthorizedOperation``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select, tuple_

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.services.catalog import access as catalog_access
from wedata.services.catalog.catalog import CatalogService
from wedata.services.catalog.model import LAKE_CATALOG
from wedata.services.datasources.access import project_rights
from wedata.services.errors import Forbidden, InvalidValue, NotFound, Unsupported
from wedata.services.permissions.grants_model import (
    LEVEL_NAMES,
    PRIVILEGES,
    Res,
    Subject,
    parse_resource,
)
from wedata.services.permissions.statements import CREATE, READ, Unparsed, table_uses
from wedata.services.projects.roles import PROJECT_ROLES_BY_ID
from wedata.storage import tables as T
from wedata.storage.catalog_tables import (
    LAKE_KEY,
    catalog_databases,
    catalog_schemas,
    catalog_tables,
    source_key,
)
from wedata.storage.datasource_tables import data_sources
from wedata.storage.db import Database, insert_ignore
from wedata.storage.permission_tables import catalog_grants

CG = catalog_grants
MAX_ITEMS = 100
_NEEDED = {READ: ("SELECT_TABLE",), "write": ("MODIFY_TABLE",), CREATE: ("CREATE_TABLE", "MODIFY_TABLE")}
_VERB = {READ: "read", "write": "write", CREATE: "create"}


@dataclass(frozen=True, slots=True)
class ItemResult:
    resource: Res
    ok: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Detail:
    """One subject's privileges on a resource (directly, or inherited from a resource above)."""

    resource: Res
    subject: Subject
    privileges: tuple[tuple[str, Res | None], ...]  # (privilege, inherited from)


def _covering(res: Res) -> Any:
    """SQL: the grants on the resource or on a resource above it."""
    return and_(
        CG.c.catalog_name == res.catalog,
        or_(CG.c.schema_name == "", CG.c.schema_name == res.schema) if res.schema else CG.c.schema_name == "",
        or_(CG.c.table_name == "", CG.c.table_name == res.table) if res.table else CG.c.table_name == "",
    )


def _covers(row: Any, schema: str, table: str) -> bool:
    return (row.schema_name == "" or row.schema_name.lower() == schema.lower()) and (
        row.table_name == "" or row.table_name.lower() == table.lower())


def _res_of(row: Any) -> Res:
    level = "Table" if row.table_name else "Schema" if row.schema_name else "Catalog"
    return Res(level, row.catalog_name, row.schema_name, row.table_name)


class CatalogPrivileges:
    def __init__(self, db: Database, clock: Clock, settings: Settings, catalog: CatalogService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.catalog = catalog

    # -- subjects --------------------------------------------------------------------------------

    @staticmethod
    def caller_subjects(conn: Connection, caller: Caller, project_id: str | None = None) -> set[Subject]:
        """The subjects a caller acts as: themselves, and their projects and project roles (those of
        ``project_id`` only, when given: SQL runs in one project)."""
        r, m = T.project_member_roles, T.project_members
        q = select(m.c.project_id, r.c.role_id).join_from(
            m, r, (r.c.project_id == m.c.project_id) & (r.c.user_uin == m.c.user_uin), isouter=True
        ).where(m.c.user_uin == caller.uin)
        if project_id is not None:
            q = q.where(m.c.project_id == project_id)
        mine = {Subject("User", caller.uin)}
        for row in conn.execute(q):
            mine.add(Subject("Project", row.project_id))
            if row.role_id:
                mine.add(Subject("Role", f"{row.project_id}.{row.role_id}"))
        return mine

    @staticmethod
    def _check_subjects(conn: Connection, subjects: Sequence[Any]) -> list[Subject]:
        if not subjects:
            raise InvalidValue("Subjects must hold at least one subject")
        out: list[Subject] = []
        for i, s in enumerate(subjects):
            where = f"Subjects[{i}]"
            kind = {"user": "User", "project": "Project", "role": "Role", "globalrole": "GlobalRole"}.get(
                (s.subject_type or "").strip().lower())
            if kind is None:
                raise InvalidValue(f"{where}.SubjectType must be User, Project or Role, got {s.subject_type!r}")
            if kind == "GlobalRole":
                raise Unsupported(f"{where}.SubjectType: platform roles (GlobalRole) are not supported here; grant "
                                  "to users, projects or project roles")
            values = list(dict.fromkeys(v.strip() for v in (s.subject_values or ())))
            if not values or any(not v for v in values):
                raise InvalidValue(f"{where}.SubjectValues must name at least one {kind}, none empty")
            out.extend(Subject(kind, v) for v in values)
        if len(out) > MAX_ITEMS:
            raise InvalidValue(f"Subjects name {len(out)} subjects; at most {MAX_ITEMS}")
        users = [s.value for s in out if s.kind == "User"]
        if users:
            known = set(conn.execute(select(T.credentials.c.uin).where(T.credentials.c.uin.in_(users))).scalars())
            known |= set(conn.execute(select(T.project_members.c.user_uin)
                                      .where(T.project_members.c.user_uin.in_(users))).scalars())
            for uin in users:
                if uin not in known:
                    raise NotFound(f"Subjects: the user {uin} is not known here (no credential, no membership)")
        projects = {s.value for s in out if s.kind == "Project"}
        for s in out:
            if s.kind == "Role":
                pid, _, rid = s.value.partition(".")
                if rid not in PROJECT_ROLES_BY_ID:
                    raise NotFound(f"Subjects: {s.value!r} is not <ProjectId>.<RoleId> of a project role")
                projects.add(pid)
        if projects:
            p = T.projects
            live = set(conn.execute(select(p.c.id).where(p.c.id.in_(projects), p.c.deleted_at.is_(None))).scalars())
            for pid in sorted(projects - live):
                raise NotFound(f"Subjects: the project {pid} does not exist")
        return out

    @staticmethod
    def _check_privileges(privileges: Sequence[Any]) -> list[str]:
        if not privileges:
            raise InvalidValue("Privileges must name at least one privilege")
        names = list(dict.fromkeys((p.name or "").strip().upper() for p in privileges))
        for name in names:
            if name not in PRIVILEGES:
                raise InvalidValue(f"Privileges: {name!r} is not one of {', '.join(PRIVILEGES)}")
        return names

    # -- resources -------------------------------------------------------------------------------

    def _source_row(self, conn: Connection, res: Res) -> Any:
        if res.catalog == LAKE_CATALOG:
            return None
        DS = data_sources
        row = conn.execute(select(DS.c.id, DS.c.name, DS.c.source_type, DS.c.project_id, DS.c.create_user_uin)
                           .where(DS.c.id == int(res.catalog))).first()
        if row is None:
            raise NotFound(f"Resources: the catalog {res.catalog} (a data source Id) does not exist")
        return row

    def _visible(self, conn: Connection, caller: Caller, res: Res) -> Any:
        """The data source row of the resource's catalog (None for the lake); NotFound when the
        caller does not see it (a grant tells nothing about others' catalogs)."""
        row = self._source_row(conn, res)
        seen = catalog_access.sees_lake(conn, caller) if row is None else catalog_access.may_see(conn, caller, row.id)
        if not seen:
            raise NotFound(f"Resources: the catalog {res.catalog} does not exist or is not visible to the caller")
        if row is not None and not catalog_access.catalogued(row.source_type):
            raise Unsupported(f"Resources: the data source {row.id} ({row.source_type}) has no catalog here")
        return row

    @staticmethod
    def _exists(conn: Connection, key: str, res: Res) -> bool:
        if res.level == "Catalog":
            return True
        if res.level == "Schema":
            s, d = catalog_schemas, catalog_databases
            return conn.execute(select(s.c.guid).where(s.c.source_key == key, s.c.name == res.schema)).first() is not None \
                or conn.execute(select(d.c.guid).where(d.c.source_key == key, d.c.name == res.schema)).first() is not None
        t = catalog_tables
        return conn.execute(select(t.c.guid).where(
            t.c.source_key == key, t.c.name == res.table,
            or_(t.c.schema_name == res.schema, and_(t.c.schema_name.is_(None), t.c.database_name == res.schema)),
        )).first() is not None

    def _resources(self, caller: Caller, resources: Sequence[Any]) -> list[tuple[Res, Any]]:
        if not resources:
            raise InvalidValue("Resources must hold at least one resource")
        if len(resources) > MAX_ITEMS:
            raise InvalidValue(f"Resources holds {len(resources)} items; at most {MAX_ITEMS}")
        out: list[tuple[Res, Any]] = []
        for i, item in enumerate(resources):
            res = parse_resource(item.resource_type, item.resource_uri, f"Resources[{i}]")
            with self.db.read() as conn:
                row = self._visible(conn, caller, res)
                key = LAKE_KEY if row is None else source_key(row.id)
                found = self._exists(conn, key, res)
            if not found:  # maybe the cache has not seen it yet: read the source once, then look again
                self.catalog.refresh_source(None if row is None else int(row.id))
                with self.db.read() as conn:
                    found = self._exists(conn, key, res)
            if not found:
                raise NotFound(f"Resources[{i}]: the {res.level.lower()} {res.uri} does not exist in the catalog")
            out.append((res, row))
        return out

    # -- who may grant ---------------------------------------------------------------------------

    def _refusal(self, conn: Connection, caller: Caller, mine: set[Subject], res: Res, source: Any,
                 privileges: Iterable[str]) -> str:
        """Why the caller may not grant these privileges on the resource ("" when they may)."""
        if caller.is_admin:
            return ""
        if source is not None and (source.create_user_uin == caller.uin
                                   or project_rights(conn, source.project_id, caller).admin):
            return ""
        held = {r.privilege for r in conn.execute(select(CG.c.privilege, CG.c.subject_type, CG.c.subject_value)
                                                  .where(_covering(res)))
                if Subject(r.subject_type, r.subject_value) in mine}
        if "MANAGE_GRANTS" not in held:
            return f"UnauthorizedOperation: granting on {res.level} {res.uri} needs MANAGE_GRANTS on it or above it"
        more = [p for p in privileges if p not in held and p != "MANAGE_GRANTS"]
        if more:
            return f"UnauthorizedOperation: the caller does not hold {', '.join(more)} on {res.level} {res.uri}"
        return ""

    def _apply(self, caller: Caller, req: Any, *, revoke: bool) -> list[ItemResult]:
        with self.db.read() as conn:
            subjects = self._check_subjects(conn, req.subjects)
        privileges = self._check_privileges(req.privileges)
        resources = self._resources(caller, req.resources)
        for res, _ in resources:
            for p in privileges:
                if res.level not in PRIVILEGES[p].levels:
                    raise InvalidValue(f"Privileges: {p} cannot be granted on a {res.level} "
                                       f"(only on {', '.join(PRIVILEGES[p].levels)})")
        results: list[ItemResult] = []
        with self.db.write() as conn:
            mine = self.caller_subjects(conn, caller)
            now = self.clock.now()
            for res, source in resources:
                reason = self._refusal(conn, caller, mine, res, source, privileges)
                if reason:
                    results.append(ItemResult(res, False, reason))
                    continue
                keys = [(s.kind, s.value, p) for s in subjects for p in privileges]
                if revoke:
                    conn.execute(delete(CG).where(
                        CG.c.catalog_name == res.catalog, CG.c.schema_name == res.schema,
                        CG.c.table_name == res.table,
                        tuple_(CG.c.subject_type, CG.c.subject_value, CG.c.privilege).in_(keys),
                    ))
                else:
                    conn.execute(insert_ignore(conn, CG), [
                        dict(catalog_name=res.catalog, schema_name=res.schema, table_name=res.table, subject_type=k,
                             subject_value=v, privilege=p, granted_by=caller.uin, created_at=now)
                        for k, v, p in keys
                    ])
                results.append(ItemResult(res, True, ""))
            if not any(r.ok for r in results):
                raise Forbidden("; ".join(r.reason.removeprefix("UnauthorizedOperation: ") for r in results))
        return results

    def authorize(self, caller: Caller, req: Any) -> list[ItemResult]:
        return self._apply(caller, req, revoke=False)

    def revoke(self, caller: Caller, req: Any) -> list[ItemResult]:
        return self._apply(caller, req, revoke=True)

    # -- ListPermissions -------------------------------------------------------------------------

    def list(self, caller: Caller, req: Any) -> tuple[list[Detail], int]:
        size, number = 0, 1
        if req.page is not None:
            from wedata.services.common import as_int

            size = as_int(req.page.page_size, "Page.PageSize", 20) or 20
            number = as_int(req.page.page_number, "Page.PageNumber", 1) or 1
            if not 1 <= size <= 100 or number < 1:
                raise InvalidValue("Page: PageSize must be between 1 and 100 and PageNumber >= 1")
        with self.db.read() as conn:
            if req.resource is None:
                res = None
                rows = conn.execute(select(CG).where(CG.c.subject_type == "User", CG.c.subject_value == caller.uin)
                                    .order_by(CG.c.catalog_name, CG.c.schema_name, CG.c.table_name)).all()
            else:
                res = parse_resource(req.resource.resource_type, req.resource.resource_uri, "Resource")
                self._visible(conn, caller, res)
                rows = conn.execute(select(CG).where(_covering(res)).order_by(
                    CG.c.schema_name, CG.c.table_name, CG.c.subject_type, CG.c.subject_value)).all()
        details: dict[tuple[Res, Subject], list[tuple[str, Res | None]]] = {}
        for r in rows:
            own = _res_of(r)
            shown = own if res is None else res
            inherited = None if own == shown else own
            details.setdefault((shown, Subject(r.subject_type, r.subject_value)), []).append((r.privilege, inherited))
        items = [Detail(rs, s, tuple(p)) for (rs, s), p in details.items()]
        total = len(items)
        if size:
            items = items[(number - 1) * size: number * size]
        return items, total

    # -- the SQL check ---------------------------------------------------------------------------

    def check_sql(self, *, uin: str, is_admin: bool, project_id: str, source_id: int | None,
                  statements: Sequence[str], dialect: str, default_schema: Callable[[], str | None]) -> None:
        """Refuse (``Forbidden``) a statement that reads or writes a governed table without the
        privilege. ``source_id`` None is the lake. Cheap when the catalog carries no grant (one
        query); ``default_schema`` (what unqualified names mean) is only asked then."""
        if is_admin:
            return
        catalog = LAKE_CATALOG if source_id is None else str(source_id)
        with self.db.read() as conn:
            rows = conn.execute(select(CG.c.schema_name, CG.c.table_name, CG.c.subject_type, CG.c.subject_value,
                                       CG.c.privilege).where(CG.c.catalog_name == catalog)).all()
            if not rows:
                return
            if conn.execute(select(T.credentials.c.uin).where(T.credentials.c.uin == uin,
                                                              T.credentials.c.is_admin.is_(True))).first():
                return
            if source_id is not None and conn.execute(select(data_sources.c.id).where(
                    data_sources.c.id == source_id, data_sources.c.create_user_uin == uin)).first():
                return
            mine = self.caller_subjects(conn, Caller("", uin), project_id)
        fallback = default_schema() or ""
        for i, sql in enumerate(statements, 1):
            try:
                uses = table_uses(sql, dialect)
            except Unparsed as exc:
                raise Forbidden(f"The statement {i} cannot be parsed ({exc}), so its tables cannot be checked against "
                                f"the catalog grants of {catalog}") from None
            for use in uses:
                schema = use.schema or fallback
                covering = [r for r in rows if _covers(r, schema, use.name)]
                if not covering:
                    continue
                needed = _NEEDED[use.use]
                if any(r.privilege in needed and Subject(r.subject_type, r.subject_value) in mine for r in covering):
                    continue
                raise Forbidden(
                    f"The user {uin} may not {_VERB[use.use]} the table {catalog}.{schema}.{use.name} (statement {i}): "
                    f"it takes the {' or '.join(needed)} privilege (AuthorizePrivileges) on the table, its schema or "
                    "its catalog"
                )


__all__ = ["LEVEL_NAMES", "CatalogPrivileges", "Detail", "ItemResult"]
