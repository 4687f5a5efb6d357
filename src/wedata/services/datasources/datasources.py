"""The data source service: create, read, update, delete, test, grant and use data sources.

Rules of the fields: ``properties.py``; who may do what: ``access.py``; grants: ``grants.py``;
task references: ``references.py``; connections and pools: ``executors/sql/connections.py``.
Decisions are listed in the package docstring (``services/datasources/__init__.py``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.executors.sql.connections import (
    ConnectFailed,
    ConnectionPools,
    ConnectionSpec,
    NotRunnable,
    PropertyError,
    connection_spec,
    test_connection,
    wire_of,
)
from wedata.principal import Caller
from wedata.services.common import Paged, as_int, like_pattern, page
from wedata.services.datasources import access, grants, references
from wedata.services.datasources.grants import Grants
from wedata.services.datasources.properties import (
    check_description,
    check_display_name,
    check_name,
    check_type,
    dump,
    masked,
    parse_properties,
    unmask,
)
from wedata.services.errors import (
    Duplicate,
    Forbidden,
    InUse,
    InvalidValue,
    NotFound,
    OperationFailed,
    Unsupported,
)
from wedata.spec import models as M
from wedata.storage import tables as T
from wedata.storage.datasource_tables import data_sources
from wedata.storage.db import Database
from wedata.storage.secrets import SecretBox, SecretError

log = logging.getLogger("wedata.datasources")

PROD, DEV = "prod", "dev"
_FIELDS = {PROD: "ProdConProperties", DEV: "DevConProperties"}
_FILE_FIELDS = ("TrustStore", "KeyStore", "CoreSite", "HdfsSite", "HiveSite", "HBASESite", "KeyTab", "KRB5Conf",
                "PrivateKey", "PublicKey")
MAX_FILE = 1024 * 1024

DS, p = data_sources, T.projects


def _columns() -> tuple[Any, ...]:
    return (*[c for c in DS.c if not c.name.endswith("_secret")], p.c.display_name.label("project_name"))


@dataclass(frozen=True, slots=True)
class RelatedProject:
    """GetDataSourceRelatedTasks: the tasks of one project that name the source."""

    project_id: str
    project_name: str
    tasks: list[Any]  # rows: id, name, created_at, owner_uin


@dataclass(frozen=True, slots=True)
class SideTest:
    side: str
    seconds: float


class DataSourceService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, box: SecretBox) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.box = box
        self.timeout = settings.datasource_test_timeout
        # One small pool per (source, side); the SQL executor and the catalog connect through it.
        self.pools = ConnectionPools(connect_timeout=self.timeout)

    # ------------------------------------------------------------------------------------------
    # Rows.

    def _source(self, conn: Connection, source_id: int, *, lock: bool = False) -> Row[Any]:
        query = select(DS).where(DS.c.id == source_id)
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise NotFound(f"The data source {source_id} does not exist.")
        return row

    def _owned(self, conn: Connection, project_id: str, source_id: int, *, lock: bool = False) -> Row[Any]:
        row = self._source(conn, source_id, lock=lock)
        if row.project_id != project_id:
            raise NotFound(f"The data source {source_id} does not exist in the project {project_id}.")
        return row

    def _secret_props(self, row: Row[Any], side: str) -> dict[str, Any] | None:
        stored = row.prod_secret if side == PROD else row.dev_secret
        if stored is None:
            return None
        try:
            value: dict[str, Any] = json.loads(self.box.decrypt(stored))
        except SecretError:
            log.error("data source %s: the %s connection properties cannot be decrypted with this key", row.id, side)
            raise OperationFailed(
                f"The connection properties of the data source {row.id} cannot be decrypted with this server's key "
                "file: give them again with UpdateDataSource."
            ) from None
        return value

    # ------------------------------------------------------------------------------------------
    # Connection tests.

    def _spec(self, source_type: str, props: dict[str, Any], field: str) -> ConnectionSpec:
        try:
            return connection_spec(source_type, props)
        except PropertyError as exc:
            raise InvalidValue(f"{field}: {exc.message}") from None
        except NotRunnable as exc:
            raise Unsupported(exc.message) from None

    def _check_sides(self, source_type: str, sides: dict[str, dict[str, Any]]) -> None:
        """Parse and test each side's connection; types without a driver are stored untested."""
        if wire_of(source_type) is None:
            return
        specs = {side: self._spec(source_type, props, _FIELDS[side]) for side, props in sides.items()}
        for side, spec in specs.items():
            try:
                test_connection(spec, self.timeout)
            except ConnectFailed as exc:
                raise InvalidValue(f"{_FIELDS[side]}: the connection test failed: {exc.message}") from None

    def test_source(self, source_id: int) -> list[SideTest]:
        """`wedata datasources test`: test every configured side of a source, prod first."""
        with self.db.read() as conn:
            row = self._source(conn, source_id)
        if wire_of(row.source_type) is None:
            raise Unsupported(NotRunnable(row.source_type).message)
        results = []
        for side in (PROD, DEV):
            props = self._secret_props(row, side)
            if props is None:
                continue
            spec = self._spec(row.source_type, props, _FIELDS[side])
            try:
                results.append(SideTest(side, test_connection(spec, self.timeout)))
            except ConnectFailed as exc:
                raise OperationFailed(
                    f"data source {row.id} ({row.name}, {row.source_type}) {side}: {exc.message}"
                ) from None
        return results

    # ------------------------------------------------------------------------------------------
    # Use (the SQL executor, scripts and the catalog).

    def require_use(self, source_id: int, project_id: str, caller_uin: str) -> Row[Any]:
        """The source, if the project (or the caller within it) may use it; ``Forbidden`` otherwise."""
        with self.db.read() as conn:
            row = conn.execute(select(*_columns()).join_from(DS, p, p.c.id == DS.c.project_id)
                               .where(DS.c.id == source_id)).first()
            if row is None:
                raise NotFound(f"The data source {source_id} does not exist.")
            if not access.may_use(conn, row, project_id, caller_uin):
                raise Forbidden(
                    f"The project {project_id} may not use the data source {source_id} ({row.name}) of the project "
                    f"{row.project_id}: ask its administrators to grant it (AuthorizeDataSource)."
                )
        return row

    def connection(self, source_id: int, side: str = PROD) -> ConnectionSpec:
        """The decrypted connection of a side (dev falls back to prod when the source has none)."""
        with self.db.read() as conn:
            row = self._source(conn, source_id)
        if wire_of(row.source_type) is None:
            raise Unsupported(NotRunnable(row.source_type).message)
        props = self._secret_props(row, side) if side == DEV else None
        field = _FIELDS[DEV] if props is not None else _FIELDS[PROD]
        props = props if props is not None else self._secret_props(row, PROD)
        assert props is not None
        return self._spec(row.source_type, props, field)

    def engine(self, source_id: int, side: str = PROD) -> Engine:
        """The pooled engine of a source's side (replaced when its properties change)."""
        return self.pools.engine(source_id, side, self.connection(source_id, side))

    # ------------------------------------------------------------------------------------------
    # Create, read, update, delete.

    def _files(self, prod: M.DataSourceFileUpload | None, dev: M.DataSourceFileUpload | None,
               old: dict[str, Any] | None = None) -> str | None:
        files = dict(old or {})
        for side, upload in (("Prod", prod), ("Dev", dev)):
            if upload is None:
                continue
            given = {name: getattr(upload, attr) for name, attr in zip(_FILE_FIELDS, (
                "trust_store", "key_store", "core_site", "hdfs_site", "hive_site", "hbase_site", "key_tab",
                "krb5_conf", "private_key", "public_key"), strict=True) if getattr(upload, attr) is not None}
            for name, value in given.items():
                if len(value) > MAX_FILE or "\x00" in value:
                    raise InvalidValue(f"{side}FileUpload.{name} must be at most {MAX_FILE} characters, without NUL")
            files[side] = given
        return self.box.encrypt(json.dumps(files)) if files else None

    def create(self, caller: Caller, req: M.CreateDataSourceRequest) -> int:
        name = check_name(req.name)
        source_type = check_type(req.type)
        display = check_display_name(req.display_name) if req.display_name is not None else name
        description = check_description(req.description) if req.description is not None else None
        texts = {PROD: req.prod_con_properties, DEV: req.dev_con_properties}
        # unmask against nothing: the mask is never a password (a Get answer pasted into a Create).
        sides = {side: unmask(parse_properties(text, _FIELDS[side]), None, _FIELDS[side])
                 for side, text in texts.items() if text}
        if PROD not in sides:
            raise InvalidValue("ProdConProperties must be a JSON object with the connection properties")
        files = self._files(req.prod_file_upload, req.dev_file_upload)
        with self.db.read() as conn:
            rights = access.require_writer(conn, req.project_id, caller)
            self._name_free(conn, req.project_id, name)
        if rights.project_model == "STANDARD" and DEV not in sides:
            raise InvalidValue("DevConProperties is required in a STANDARD (dev/prod) project")
        # Outside any transaction: a test may take up to the timeout.
        self._check_sides(source_type, sides)
        now = self.clock.now()
        values = {f"{side}_properties": dump(masked(props)) for side, props in sides.items()}
        values.update({f"{side}_secret": self.box.encrypt(dump(props)) for side, props in sides.items()})
        try:
            with self.db.write() as conn:
                key = conn.execute(insert(DS).values(
                    project_id=req.project_id, name=name, display_name=display, description=description,
                    source_type=source_type, category="DB", files_secret=files, create_user_uin=caller.uin,
                    update_user_uin=caller.uin, created_at=now, updated_at=now, **values,
                )).inserted_primary_key
        except IntegrityError:
            raise Duplicate(f"A data source named {name} exists in the project {req.project_id} already.") from None
        assert key is not None
        source_id = int(key[0])
        log.info("data source %s (%s, %s) created in project %s by %s", source_id, name, source_type,
                 req.project_id, caller.uin)
        return source_id

    def _name_free(self, conn: Connection, project_id: str, name: str) -> None:
        taken = conn.execute(select(DS.c.id).where(DS.c.project_id == project_id, DS.c.name == name)).first()
        if taken is not None:
            raise Duplicate(f"A data source named {name} exists in the project {project_id} already.")

    def get(self, caller: Caller, project_id: str, source_id: int | str) -> Row[Any]:
        sid = self._id(source_id, "Id")
        with self.db.read() as conn:
            row = conn.execute(
                select(*_columns()).join_from(DS, p, p.c.id == DS.c.project_id)
                .where(DS.c.id == sid, (DS.c.project_id == project_id)
                       | access.visible_in(project_id, caller.uin, DS.c.id))
            ).first()
        if row is None:
            raise NotFound(f"The data source {sid} does not exist in the project {project_id}.")
        return row

    def list_sources(self, caller: Caller, req: M.ListDataSourcesRequest) -> Paged[Row[Any]]:
        pg = page(req.page_number, req.page_size)
        conds = [(DS.c.project_id == req.project_id) | access.visible_in(req.project_id, caller.uin, DS.c.id)]
        if req.name:
            conds.append(func.lower(DS.c.name).like(like_pattern(req.name), escape="\\"))
        if req.display_name:
            conds.append(func.lower(DS.c.display_name).like(like_pattern(req.display_name), escape="\\"))
        if req.type:
            conds.append(DS.c.source_type.in_(req.type))
        if req.creator:
            conds.append(DS.c.create_user_uin == req.creator)
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(DS).where(*conds)).scalar_one()
            rows = conn.execute(
                select(*_columns()).join_from(DS, p, p.c.id == DS.c.project_id).where(*conds)
                .order_by(DS.c.id.desc()).limit(pg.size).offset(pg.offset)
            ).all()
        return Paged(list(rows), pg, int(total))

    def update(self, caller: Caller, req: M.UpdateDataSourceRequest) -> None:
        sid = self._id(req.id, "Id")
        with self.db.read() as conn:
            row = self._owned(conn, req.project_id, sid)
            rights = access.require_manager(conn, row, caller)
        values: dict[str, Any] = {}
        if req.display_name is not None:
            values["display_name"] = check_display_name(req.display_name)
        if req.description is not None:
            values["description"] = check_description(req.description)
        changed: dict[str, dict[str, Any]] = {}
        for side, text in ((PROD, req.prod_con_properties), (DEV, req.dev_con_properties)):
            if text is None:
                continue
            if text == "" and side == DEV:
                if rights.project_model == "STANDARD":
                    raise InvalidValue("DevConProperties cannot be removed in a STANDARD (dev/prod) project")
                values.update(dev_properties=None, dev_secret=None)
                continue
            new = parse_properties(text, _FIELDS[side])
            changed[side] = unmask(new, self._secret_props(row, side), _FIELDS[side])
        if req.prod_file_upload is not None or req.dev_file_upload is not None:
            old = json.loads(self.box.decrypt(row.files_secret)) if row.files_secret else None
            values["files_secret"] = self._files(req.prod_file_upload, req.dev_file_upload, old)
        self._check_sides(row.source_type, changed)
        for side, props in changed.items():
            values[f"{side}_properties"] = dump(masked(props))
            values[f"{side}_secret"] = self.box.encrypt(dump(props))
        if not values:
            return
        values.update(update_user_uin=caller.uin, updated_at=self._later(row.updated_at))
        with self.db.write() as conn:
            n = conn.execute(
                update(DS).where(DS.c.id == sid, DS.c.updated_at == row.updated_at).values(**values)
            ).rowcount
        if n != 1:
            raise OperationFailed(
                f"The data source {sid} was changed or deleted by someone else meanwhile: read it again and retry."
            )
        self.pools.discard(sid)
        log.info("data source %s updated by %s (%s)", sid, caller.uin, ", ".join(sorted(values)))

    def _later(self, previous: datetime) -> datetime:
        # updated_at fences concurrent updates, so it must move even within one clock tick.
        now = self.clock.now()
        return now if now > previous else previous + timedelta(microseconds=1)

    def delete(self, caller: Caller, project_id: str, source_id: int | str) -> None:
        sid = self._id(source_id, "Id")
        with self.db.write() as conn:
            row = self._owned(conn, project_id, sid, lock=True)
            access.require_manager(conn, row, caller)
            users = references.production_users(conn, sid, row.project_id)
            if users:
                names = ", ".join(f"{u.id} ({u.name}, project {u.project_id})" for u in users[:10])
                raise InUse(
                    f"The data source {sid} ({row.name}) cannot be deleted: submitted task(s) use it: {names}. "
                    "Point them at another data source and submit them again, or delete them first."
                )
            conn.execute(delete(access.G).where(access.G.c.data_source_id == sid))
            conn.execute(delete(DS).where(DS.c.id == sid))
        self.pools.discard(sid)
        log.info("data source %s (%s) deleted by %s", sid, row.name, caller.uin)

    @staticmethod
    def _id(value: int | str, field: str) -> int:
        sid = as_int(value, field)
        if sid is None or not 1 <= sid < 2**63:
            raise InvalidValue(f"{field} must be a data source id (a positive integer), got {value!r}")
        return sid

    # ------------------------------------------------------------------------------------------
    # Grants and references.

    def authorize(self, caller: Caller, req: M.AuthorizeDataSourceRequest) -> None:
        sid = self._id(req.data_source_id, "DataSourceId")
        with self.db.write() as conn:
            row = self._source(conn, sid, lock=True)
            access.require_manager(conn, row, caller)
            grants.authorize(conn, row, caller, req.auth_project_id, req.auth_users, self.clock.now())
        log.info("data source %s granted by %s (project %s, users %s)", sid, caller.uin, req.auth_project_id,
                 req.auth_users)

    def revoke(self, caller: Caller, req: M.RevokeDataSourceAuthorizationRequest) -> None:
        sid = self._id(req.data_source_id, "DataSourceId")
        with self.db.write() as conn:
            row = self._source(conn, sid, lock=True)
            access.require_manager(conn, row, caller)
            grants.revoke(conn, row, req.revoke_project_id, req.revoke_user)
        log.info("data source %s grants revoked by %s (project %s, user %s)", sid, caller.uin,
                 req.revoke_project_id, req.revoke_user)

    def authority(self, caller: Caller, source_id: int | str) -> Grants:
        sid = self._id(source_id, "Id")
        with self.db.read() as conn:
            access.require_reader(conn, self._source(conn, sid), caller)
            return grants.describe(conn, sid)

    def related_tasks(self, caller: Caller, source_id: int | str) -> list[RelatedProject]:
        sid = self._id(source_id, "Id")
        with self.db.read() as conn:
            source = self._source(conn, sid)
            access.require_reader(conn, source, caller)
            rows = references.related_tasks(conn, sid, source.project_id)
        by_project: dict[str, RelatedProject] = {}
        for r in rows:
            group = by_project.setdefault(r.project_id, RelatedProject(r.project_id, r.project_name, []))
            group.tasks.append(r)
        return list(by_project.values())
