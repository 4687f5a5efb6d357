"""Where a script runs: the data source of its configuration, checked for the project and caller,
and turned into the executor's ``SqlTarget`` when the run starts.

- A MySQL- or PostgreSQL-wire source runs on its database, through the source's pool
  (``DataSourceService.engine``), on the side ``DatasourceEnv`` names (``DEV`` falls back to
  the prod side when the source has no dev side).
- A ``DLC`` source runs on the lake (``executors/sql/contract.lake_path``), or on the project's
  lake engine named by ``ComputeResource`` (``lake_engine_path``), which must exist.
- Every other type is refused when the run is asked for (``UnsupportedOperation`` naming it).
- The project (or the caller within it) must be allowed to use the source
  (``DataSourceService.require_use``: ``UnauthorizedOperation`` naming the source), checked when a
  script is saved with it and again at every run.
- ``ExecutorGroupId`` must name an existing resource group; runs queue on it (``queue.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from wedata.config import Settings
from wedata.executors.sql.connections import NotRunnable, wire_of
from wedata.executors.sql.contract import SqlTarget, lake_engine_path, lake_path
from wedata.services.datasources.datasources import DEV, PROD, DataSourceService
from wedata.services.errors import InvalidValue, NotFound, Unsupported
from wedata.services.sql.content import ScriptConfig
from wedata.storage import tables as T
from wedata.storage.db import Database

LAKE_TYPES = frozenset({"DLC"})
_ENGINE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# How RunSQLScript splits a script to answer its JobExecutions, as the executor will: DLC
# scripts are Spark SQL (transpiled to DuckDB statement by statement).
_DIALECTS = {"mysql": "mysql", "postgresql": "postgres", "duckdb": "spark"}


@dataclass(frozen=True, slots=True)
class Source:
    """A source a run may use: its id, type and what the executor speaks to it."""

    id: int
    name: str
    source_type: str
    wire: str  # mysql | postgresql | duckdb

    @property
    def dialect(self) -> str:
        return _DIALECTS[self.wire]


def check_group(db: Database, group_id: str | None, field: str = "ScriptConfig.ExecutorGroupId") -> None:
    if group_id is None:
        return
    with db.read() as conn:
        found = conn.execute(select(T.resource_groups.c.id).where(T.resource_groups.c.id == group_id)).first()
    if found is None:
        raise NotFound(f"{field}: the resource group {group_id} does not exist.")


def lake_file(settings: Settings, compute_resource: str | None) -> Path:
    if not compute_resource:
        return lake_path(settings.home)
    if not _ENGINE_NAME.fullmatch(compute_resource):
        raise InvalidValue(f"ScriptConfig.ComputeResource: {compute_resource!r} is not a lake engine name")
    return lake_engine_path(settings.home, compute_resource)


def check_source(datasources: DataSourceService, settings: Settings, cfg: ScriptConfig, project_id: str,
                 caller_uin: str, *, to_run: bool) -> Source | None:
    """The configured source if the project and caller may use it (and, ``to_run``, if this
    server can run SQL on it)."""
    if cfg.datasource_id is None:
        return None
    row = datasources.require_use(cfg.datasource_id, project_id, caller_uin)
    wire = "duckdb" if row.source_type in LAKE_TYPES else wire_of(row.source_type)
    if wire is None:
        if to_run:
            raise Unsupported(f"The data source {row.id} ({row.name}): {NotRunnable(row.source_type).message}")
        return None
    if to_run and wire == "duckdb" and cfg.compute_resource and not lake_file(settings, cfg.compute_resource).exists():
        raise InvalidValue(f"ScriptConfig.ComputeResource: there is no lake engine named {cfg.compute_resource}")
    return Source(int(row.id), row.name, row.source_type, wire)


def target_of(datasources: DataSourceService, settings: Settings, run: Any, source_type: str) -> SqlTarget:
    """The executor's target for a claimed run (``sql_runs`` row); raises a ServiceError when the
    source changed since the run was asked for and cannot be used any more."""
    label = f"data source {run.data_source_id} ({source_type})"
    if source_type in LAKE_TYPES:
        path = lake_file(settings, run.compute_resource)
        if run.compute_resource and not path.exists():
            raise InvalidValue(f"there is no lake engine named {run.compute_resource}")
        path.parent.mkdir(parents=True, exist_ok=True)
        # DLC SQL is Spark SQL, in scripts as in tasks: each statement is transpiled to DuckDB.
        return SqlTarget("duckdb", lake=path, source_id=int(run.data_source_id), transpile_from="spark",
                         label=f"the lake ({run.compute_resource})" if run.compute_resource else "the lake")
    wire = wire_of(source_type)
    if wire is None:
        raise Unsupported(NotRunnable(source_type).message)
    engine = datasources.engine(int(run.data_source_id), DEV if run.side == "dev" else PROD)
    return SqlTarget("mysql" if wire == "mysql" else "postgresql", engine=engine,
                     source_id=int(run.data_source_id), label=label)

