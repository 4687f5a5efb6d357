"""Which table a group monitors, checked against the catalog, and where its checks run.

A table is named as WeData names it: ``DatasourceId`` + ``DatabaseName`` (+ ``SchemaName``) +
``TableName``. The data source must be one the project may use (``require_use``). Where:

| source type | catalog key | DatabaseName | SchemaName | runs on |
|---|---|---|---|---|
| MySQL wire (MYSQL, TDSQL_MYSQL, DORIS, ...; MariaDB too) | ``ds:<id>`` | the database | none | the source (prod side) |
| PostgreSQL wire (POSTGRE, GREENPLUM, TCHOUSE_P, ...) | ``ds:<id>`` | the url's database | default ``public`` | the source (prod side) |
| DLC | ``lake`` | a lake database (DuckDB schema) | none | the built-in lake |

The table (and a rule's column) must be in the catalog; a source whose catalog is due (never
read, stale, or older than ``WEDATA_CATALOG_MAX_AGE``) or that does not list the table yet is
read again first, so a table created a moment ago is found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from wedata.config import Settings
from wedata.executors.sql.connections import wire_of
from wedata.executors.sql.contract import SqlTarget, lake_path
from wedata.services.catalog import store as catalog_store
from wedata.services.catalog.catalog import CatalogService
from wedata.services.catalog.refresh import is_due
from wedata.services.datasources.datasources import PROD, DataSourceService
from wedata.services.errors import Forbidden, InvalidValue, NotFound, Unsupported
from wedata.services.quality.scan import DUCKDB, MYSQL, POSTGRES
from wedata.storage.catalog_tables import LAKE_KEY, catalog_tables, source_key
from wedata.storage.db import Database

CT = catalog_tables
LAKE_TYPES = frozenset({"DLC"})
# The quality API's DatasourceType: 1 MYSQL, 3 DLC, 5 TCHouse-P/CDW (PostgreSQL-based); it has
# no PostgreSQL of its own (docs/quality.md).
QUALITY_TYPE = {MYSQL: 1, DUCKDB: 3, POSTGRES: 5}
# SourceEngineTypes bit of the engine a check runs on: 1 MYSQL, 16 DLC, 64 TCHouse-P.
ENGINE_BIT = {MYSQL: 1, DUCKDB: 16, POSTGRES: 64}


@dataclass(frozen=True, slots=True)
class TableRef:
    source_key: str
    datasource_id: int
    source_type: str
    source_name: str
    dialect: str
    database: str
    schema: str  # "" where the source has no schema level
    table: str
    guid: str
    columns: dict[str, str]  # name -> type, as the catalog has them

    @property
    def quality_type(self) -> int:
        return QUALITY_TYPE[self.dialect]

    def column(self, name: str | None, field: str) -> tuple[str, str]:
        """The column named (case-insensitive) with its type, or InvalidValue naming ``field``."""
        if not name or not name.strip():
            raise InvalidValue(f"{field} must name a column of {self.table}")
        if name in self.columns:
            return name, self.columns[name]
        for c, t in self.columns.items():
            if c.lower() == name.lower():
                return c, t
        raise InvalidValue(f"{field}: the table {self.display} has no column {name[:100]!r}")

    @property
    def display(self) -> str:
        return ".".join(p for p in (self.database, self.schema, self.table) if p)


def dialect_of(source_type: str) -> str | None:
    if source_type in LAKE_TYPES:
        return DUCKDB
    wire = wire_of(source_type)
    return {"mysql": MYSQL, "postgresql": POSTGRES}.get(wire or "")


class Targets:
    def __init__(self, db: Database, settings: Settings, datasources: DataSourceService,
                 catalog: CatalogService) -> None:  # fmt: skip
        self.db = db
        self.settings = settings
        self.datasources = datasources
        self.catalog = catalog

    def source(self, project_id: str, uin: str, datasource_id: int | str | None, field: str) -> tuple[Any, str]:
        """The data source row the project may use, and its dialect."""
        text = str(datasource_id if datasource_id is not None else "").strip()
        if not text.isdigit() or not 1 <= int(text) < 2**63:
            raise InvalidValue(f"{field} must be a data source Id, got {text[:40]!r}")
        try:
            row = self.datasources.require_use(int(text), project_id, uin)
        except NotFound:
            raise InvalidValue(f"{field}: the data source {text} does not exist") from None
        except Forbidden as exc:
            raise Forbidden(f"{field}: {exc}") from None
        dialect = dialect_of(row.source_type)
        if dialect is None:
            raise Unsupported(f"{field}: data quality cannot check a {row.source_type} source (MySQL- and "
                              "PostgreSQL-wire sources and DLC, the lake, only)")
        return row, dialect

    def table(self, project_id: str, uin: str, datasource_id: int | str | None, database: str | None,
              schema: str | None, table: str | None, prefix: str) -> TableRef:
        row, dialect = self.source(project_id, uin, datasource_id, f"{prefix}DatasourceId")
        if not database or not database.strip():
            raise InvalidValue(f"{prefix}DatabaseName must not be empty")
        if not table or not table.strip():
            raise InvalidValue(f"{prefix}TableName must not be empty")
        if dialect == POSTGRES:
            schema = (schema or "").strip() or "public"
        elif schema:
            raise InvalidValue(f"{prefix}SchemaName: a {row.source_type} source has no schema level; leave it empty")
        key = LAKE_KEY if dialect == DUCKDB else source_key(int(row.id))
        found = self._find(key, database.strip(), schema or "", table.strip())
        if found is None:
            self._refresh(None if dialect == DUCKDB else int(row.id))
            found = self._find(key, database.strip(), schema or "", table.strip())
        if found is None:
            where = f"{database}.{schema}.{table}" if schema else f"{database}.{table}"
            raise InvalidValue(f"{prefix}TableName: the table {where} does not exist in the data source {row.id} "
                               f"({row.name})")
        cols = {str(c[0]): str(c[1]) for c in found.columns or []}
        return TableRef(key, int(row.id), row.source_type, row.name, dialect, found.database_name,
                        found.schema_name or "", found.name, found.guid, cols)

    def _find(self, key: str, database: str, schema: str, table: str) -> Any:
        with self.db.read() as conn:
            state = catalog_store.states(conn, [key]).get(key)
            if state is None or is_due(state, _now(self), self.settings.catalog_max_age):
                return None
            return conn.execute(select(CT.c.guid, CT.c.database_name, CT.c.schema_name, CT.c.name, CT.c.columns)
                                .where(CT.c.source_key == key, CT.c.database_name == database,
                                       func.coalesce(CT.c.schema_name, "") == schema,
                                       CT.c.name == table)).first()

    def _refresh(self, source_id: int | None) -> None:
        why = self.catalog.refresh_source(source_id)
        if why:
            raise InvalidValue(f"the catalog of the data source could not be read: {why}")

    def sql_target(self, ref: TableRef) -> SqlTarget:
        """Where the checks of a table run (the source's prod side, or the built-in lake)."""
        label = f"data source {ref.datasource_id} ({ref.source_name}, {ref.source_type})"
        if ref.dialect == DUCKDB:
            path = lake_path(Path(self.settings.home))
            path.parent.mkdir(parents=True, exist_ok=True)
            return SqlTarget("duckdb", lake=path, source_id=ref.datasource_id, label="the built-in lake")
        wire = "mysql" if ref.dialect == MYSQL else "postgresql"
        return SqlTarget(wire, engine=self.datasources.engine(ref.datasource_id, PROD),  # type: ignore[arg-type]
                         source_id=ref.datasource_id, label=label)


def _now(t: Targets) -> Any:
    return t.catalog.clock.now()
