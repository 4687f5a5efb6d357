"""Where a SQL task runs: its data source or lake engine, checked at SubmitTask and at each attempt.

SQL task types and what they may name (``TaskConfiguration``):

| type | ``SourceServiceId`` (a data source's ``Id``) | runs on |
|---|---|---|
| 21 JDBC SQL | required: a MySQL- or PostgreSQL-wire source | the source |
| 23 TDSQL-PostgreSQL | required: a PostgreSQL-wire source | the source |
| 134 StarRocks | required: a MySQL-wire source | the source |
| 32 DLC SQL | optional: a source of type DLC | the lake engine named by ``DataCluster`` (bound to the project, ``services/projects/lake_engines.py``), else the built-in lake |

SubmitTask refuses a SQL task that names no usable source (``InvalidParameterValue`` naming the
field; ``UnsupportedOperation`` for a type no driver here speaks) and one whose project (or
submitter, for a user grant) may not use the source (``UnauthorizedOperation`` naming it,
``DataSourceService.require_use``). Each attempt checks again, with the rights of whoever
submitted the running version (a grant revoked since fails the attempt with the same message),
and takes the source's pooled engine with its decrypted password: :meth:`SqlTargets.target_for`
is the ``SqlTaskResolver`` the composition root gives the engine, which may not import the
services itself. Production runs use the source's prod side.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wedata.config import Settings
from wedata.executors.sql.connections import SourceError, wire_of
from wedata.executors.sql.contract import SqlJob, SqlTarget, lake_engine_path, lake_path
from wedata.executors.sql.splitting import split_statements
from wedata.executors.tasktypes import (
    DLC_SQL_TYPE,
    JDBC_SQL_TYPE,
    SQL_TASK_TYPES,
    STARROCKS_TYPE,
    TDSQL_POSTGRES_TYPE,
)
from wedata.services.datasources.datasources import PROD, DataSourceService
from wedata.services.errors import InvalidValue, NotFound, ServiceError, Unsupported
from wedata.services.permissions.catalog import CatalogPrivileges
from wedata.services.projects.lake_engines import LakeEngineService
from wedata.services.tasks.types import task_type_desc
from wedata.storage.db import Database

FIELD = "TaskConfiguration.SourceServiceId"
_WIRES = {
    JDBC_SQL_TYPE: ("mysql", "postgresql"),
    TDSQL_POSTGRES_TYPE: ("postgresql",),
    STARROCKS_TYPE: ("mysql",),
}
_WIRE_NAMES = {"mysql": "MySQL", "postgresql": "PostgreSQL"}


class SqlTargets:
    def __init__(self, db: Database, settings: Settings, datasources: DataSourceService,
                 lake_engines: LakeEngineService) -> None:
        self.db = db
        self.settings = settings
        self.datasources = datasources
        self.lake_engines = lake_engines
        # The catalog grants checked on the tables each attempt reads and writes (set by the
        # container; services/permissions/catalog.py).
        self.privileges: CatalogPrivileges | None = None

    # -- SubmitTask ------------------------------------------------------------------------------

    def check_task(self, project_id: str, caller_uin: str, task_type_id: int, conf: Mapping[str, Any]) -> None:
        """Raise the service error that refuses this SQL task's submission, if any."""
        if task_type_id not in SQL_TASK_TYPES:
            return
        self._resolve(project_id, caller_uin, task_type_id, _text(conf.get("SourceServiceId")),
                      _text(conf.get("DataCluster")), connect=False)

    # -- the engine's resolver -------------------------------------------------------------------

    def target_for(self, job: SqlJob) -> SqlTarget:
        try:
            target = self._resolve(job.project_id, job.user_uin, job.task_type_id, job.source_service_id,
                                   job.data_cluster, connect=True)
            if self.privileges is not None:
                self._check_tables(job, target)
            return target
        except ServiceError as exc:
            raise SourceError(str(exc)) from None

    def _check_tables(self, job: SqlJob, target: SqlTarget) -> None:
        """The catalog grants, with the rights of whoever submitted the running version."""
        assert self.privileges is not None
        lake = target.wire == "duckdb"
        dialect = target.transpile_from or target.dialect

        def default_schema() -> str | None:
            if lake:
                return target.default_schema or "main"
            if target.wire == "postgresql":
                return "public"
            assert target.source_id is not None
            return self.datasources.connection(target.source_id).database

        self.privileges.check_sql(
            uin=job.user_uin, is_admin=False, project_id=job.project_id,
            source_id=None if lake else target.source_id, statements=split_statements(job.text, dialect),
            dialect=dialect, default_schema=default_schema,
        )

    # --------------------------------------------------------------------------------------------

    def _resolve(self, project_id: str, uin: str, task_type_id: int, source: str | None, cluster: str | None,
                 *, connect: bool) -> SqlTarget:
        kind = f"A {task_type_desc(task_type_id)} task ({task_type_id})"
        if task_type_id == DLC_SQL_TYPE:
            source_id = _source_id(source, kind) if source else None
            if source_id is not None:
                row = self._usable(source_id, project_id, uin)
                if row.source_type != "DLC":
                    raise InvalidValue(f"{FIELD}: {kind} runs on the lake: it names a data source of type DLC or "
                                       f"none, not the {row.source_type} source {source_id} ({row.name})")
            return self._lake(project_id, cluster)
        if not source:
            raise InvalidValue(f"{FIELD}: {kind} runs on a data source: name one by its Id")
        source_id = _source_id(source, kind)
        row = self._usable(source_id, project_id, uin)
        wire = wire_of(row.source_type)
        allowed = _WIRES[task_type_id]
        if wire is None:
            raise Unsupported(f"{kind} cannot run on the data source {source_id} ({row.name}): no driver here "
                              f"speaks to a {row.source_type} source (MySQL- and PostgreSQL-wire types only)")
        if wire not in allowed:
            wires = " or ".join(_WIRE_NAMES[w] for w in allowed)
            raise InvalidValue(f"{FIELD}: {kind} needs a {wires}-wire data source; {source_id} ({row.name}) is "
                               f"{row.source_type}")
        label = f"data source {source_id} ({row.name}, {row.source_type})"
        if not connect:
            return SqlTarget(wire, source_id=source_id, label=label)  # type: ignore[arg-type]
        return SqlTarget(wire, engine=self.datasources.engine(source_id, PROD),  # type: ignore[arg-type]
                         source_id=source_id, label=label)

    def _usable(self, source_id: int, project_id: str, uin: str) -> Any:
        try:
            return self.datasources.require_use(source_id, project_id, uin)
        except NotFound:
            raise InvalidValue(f"{FIELD}: the data source {source_id} does not exist") from None

    def _lake(self, project_id: str, cluster: str | None) -> SqlTarget:
        home = Path(self.settings.home)
        if not cluster:
            return SqlTarget("duckdb", lake=lake_path(home), label="the built-in lake", transpile_from="spark")
        with self.db.read() as conn:
            engine = self.lake_engines.bound(conn, project_id, cluster)
        if engine is None:
            raise InvalidValue(f"TaskConfiguration.DataCluster: the lake engine {cluster!r} is not bound to the "
                               f"project {project_id} (AddCalcEnginesToProject binds one); leave it empty to use "
                               "the built-in lake")
        return SqlTarget("duckdb", lake=lake_engine_path(home, engine.name), label=f"lake engine {engine.name}",
                         transpile_from="spark", default_schema=engine.default_database)


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _source_id(text: str, kind: str) -> int:
    ids = [p.strip() for p in text.split(";") if p.strip()]
    if len(ids) != 1:
        raise InvalidValue(f"{FIELD}: {kind} runs on one data source; {text!r} names {len(ids)}")
    if not ids[0].isdigit() or len(ids[0]) > 18:
        raise InvalidValue(f"{FIELD}: a data source Id is an integer, got {ids[0]!r}")
    return int(ids[0])
