"""The catalog service: ListCatalog, ListDatabase, ListSchema, ListTable, GetTable,
GetTableColumns, and the doors the SQL work uses (``mark_stale``, ``refresh_source``).

Decisions are listed in the package docstring (``services/catalog/__init__.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row

from wedata.clock import Clock
from wedata.config import Settings
from wedata.executors.sql.contract import lake_path
from wedata.principal import Caller
from wedata.services.catalog import access, store
from wedata.services.catalog.model import LAKE, LAKE_CATALOG, ColumnMeta, Source
from wedata.services.catalog.refresh import BUSY_PREFIX, Refresher, RefreshWorker, is_due
from wedata.services.common import Page, Paged, as_int
from wedata.services.datasources.datasources import DataSourceService
from wedata.services.errors import Forbidden, InvalidValue, NotFound, OperationFailed, Unsupported
from wedata.spec import models as M
from wedata.storage import catalog_tables
from wedata.storage.db import Database

MAX_PAGE_SIZE = 500
# An unscoped list (no DatasourceId/CatalogName) waits this long for due sources to refresh;
# what takes longer appears in a later answer.
READ_WAIT = 5.0
_GUID = re.compile(r"[A-Za-z0-9_-]{22}")
_ANY_CATALOG = ("", "0")  # WeData's examples send CatalogName "0" and answer sources of any catalog


@dataclass(frozen=True, slots=True)
class Located:
    """A cached row (database, schema or table) with the source it belongs to."""

    row: Row[Any]
    source: Source


def _catalog_page(number: int | str, size: int | str) -> Page:
    n = as_int(number, "PageNumber")
    s = as_int(size, "PageSize")
    assert n is not None and s is not None
    if n < 1:
        raise InvalidValue(f"PageNumber must be >= 1, got {n}")
    if not 1 <= s <= MAX_PAGE_SIZE:
        raise InvalidValue(f"PageSize must be between 1 and {MAX_PAGE_SIZE}, got {s}")
    return Page(n, s)


def _name(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    if len(value) > catalog_tables.NAME_MAX:
        raise InvalidValue(f"{field} is at most {catalog_tables.NAME_MAX} characters, got {len(value)}")
    return value


class CatalogService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, datasources: DataSourceService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.datasources = datasources
        self.refresher = Refresher(db, clock, settings, datasources, lake_path(settings.home))
        interval = settings.catalog_refresh_interval
        self.worker = RefreshWorker(self.refresher, interval) if interval > 0 else None

    # ------------------------------------------------------------------------------------------
    # The doors of the SQL work and of the composition root.

    def mark_stale(self, source_id: int | None = None) -> None:
        """Say that DDL ran on a data source (None: the lake): the next read, or the worker
        (woken now), introspects it again. Cheap; call it after every run that executed DDL.
        The engine, which may not import services, calls ``storage.catalog_tables.mark_stale``
        inside its own transaction instead."""
        with self.db.write() as conn:
            catalog_tables.mark_stale(conn, source_id, self.clock.now())
        if self.worker is not None:
            self.worker.wake()

    def refresh_source(self, source_id: int | None = None) -> str | None:
        """Introspect a data source (None: the lake) now, on the caller's thread; None, or why
        it failed (the cached snapshot then stays)."""
        if source_id is None:
            return self.refresher.refresh(LAKE)
        with self.db.read() as conn:
            row = access.source_row(conn, source_id)
        if row is None:
            raise NotFound(f"The data source {source_id} does not exist.")
        if not access.catalogued(row.source_type):
            return f"the catalog does not read {row.source_type} sources"
        return self.refresher.refresh(access.as_source(row))

    def start_worker(self) -> None:
        if self.worker is not None:
            self.worker.start()

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.refresher.close()

    # ------------------------------------------------------------------------------------------
    # Scope: the sources a request reads, fresh enough.

    def _listing(self, caller: Caller, datasource_id: int | str | None, catalog_name: str | None,
                 fetch: Callable[[Connection, list[str]], tuple[list[Row[Any]], int]]) -> tuple[list[Located], int]:
        """Resolve the request's sources, refresh those that are due, and fetch the page. When
        nothing is due (the usual case) it is all one connection: scope, states, COUNT, page."""
        sid = None
        if datasource_id is not None:
            sid = as_int(datasource_id, "DatasourceId")
            if sid is None or not 1 <= sid < 2**63:
                raise InvalidValue(f"DatasourceId must be a data source id (a positive integer), got {datasource_id!r}")
        catalog = (catalog_name or "").strip()
        with self.db.read() as conn:
            if sid is not None:
                found = access.visible_sources(conn, caller, sid)
                if not found:
                    self._explain_invisible(conn, caller, sid)
            else:
                found = [*access.lake_if_visible(conn, caller), *access.visible_sources(conn, caller)]
            if catalog not in _ANY_CATALOG:
                found = [(s, st) for s, st in found if s.catalog_name == catalog]
            sources = [s for s, _ in found]
            states = {s.key: st for s, st in found if st is not None}
            keys = [s.key for s in sources]
            due = self._due(sources, states)
            scoped = sid is not None or catalog == LAKE_CATALOG
            if not due:
                if scoped:
                    self._check_readable(sources, states, {})
                rows, total = fetch(conn, keys)
        if due:
            results = self.refresher.run(due, timeout=None if scoped else READ_WAIT)
            if scoped:
                self._check_readable(sources, states, results)
            with self.db.read() as conn:
                rows, total = fetch(conn, keys)
        return self._locate(rows, sources), total

    def _due(self, sources: list[Source], states: dict[str, store.State]) -> list[Source]:
        now, max_age = self.clock.now(), self.settings.catalog_max_age
        return [s for s in sources if is_due(states.get(s.key), now, max_age)]

    @staticmethod
    def _explain_invisible(conn: Any, caller: Caller, sid: int) -> None:
        row = access.source_row(conn, sid)
        if row is None:
            raise NotFound(f"DatasourceId: the data source {sid} does not exist.")
        if access.may_see(conn, caller, sid):
            raise Unsupported(
                f"DatasourceId: the catalog reads MySQL- and PostgreSQL-wire data sources and the lake; the data "
                f"source {sid} ({row.name}) is {row.source_type}."
            )
        raise Forbidden(
            f"DatasourceId: the user {caller.uin} may not read the catalog of the data source {sid} ({row.name}): it "
            f"belongs to the project {row.project_id} and is not granted to a project of theirs."
        )

    def _check_readable(self, sources: list[Source], states: dict[str, store.State],
                        results: dict[str, str | None]) -> None:  # fmt: skip
        """A scoped read of a source with no snapshot at all says why it could not be read."""
        for s in sources:
            state = states.get(s.key)
            if state is not None and state.snapshot_at is not None:
                continue  # a snapshot is cached: serve it even if this refresh failed
            error = results.get(s.key) if s.key in results else (state.error if state is not None else None)
            if error is not None:
                raise self._unreadable(s, error)

    @staticmethod
    def _unreadable(source: Source, error: str) -> OperationFailed:
        if error.startswith(BUSY_PREFIX):
            return OperationFailed(f"The catalog of {source.label} is not read yet: {error[len(BUSY_PREFIX):]}; "
                                   "try again when the DLC run ends.")
        return OperationFailed(f"The catalog could not read {source.label}: {error}")

    # ------------------------------------------------------------------------------------------
    # The actions.

    def list_catalogs(self, caller: Caller, req: M.ListCatalogRequest) -> Paged[str]:
        pg = _catalog_page(req.page_number, req.page_size)
        parent = (req.parent_catalog_id or "").strip()
        with self.db.read() as conn:
            names = [LAKE_CATALOG] if parent in _ANY_CATALOG and access.sees_lake(conn, caller) else []
        return Paged(names[pg.offset:pg.offset + pg.size], pg, len(names))

    def list_databases(self, caller: Caller, req: M.ListDatabaseRequest) -> Paged[Located]:
        pg = _catalog_page(req.page_number, req.page_size)
        keyword = _name(req.keyword, "Keyword")
        items, total = self._listing(caller, req.datasource_id, req.catalog_name,
                                     lambda conn, keys: store.database_page(conn, keys, keyword, pg))
        return Paged(items, pg, total)

    def list_schemas(self, caller: Caller, req: M.ListSchemaRequest) -> Paged[Located]:
        pg = _catalog_page(req.page_number, req.page_size)
        keyword, database = _name(req.keyword, "Keyword"), _name(req.database_name, "DatabaseName")
        items, total = self._listing(caller, req.datasource_id, req.catalog_name,
                                     lambda conn, keys: store.schema_page(conn, keys, database, keyword, pg))
        return Paged(items, pg, total)

    def list_tables(self, caller: Caller, req: M.ListTableRequest) -> Paged[Located]:
        pg = _catalog_page(req.page_number, req.page_size)
        keyword, database = _name(req.keyword, "Keyword"), _name(req.database_name, "DatabaseName")
        schema = _name(req.schema_name, "SchemaName")
        items, total = self._listing(caller, req.datasource_id, req.catalog_name,
                                     lambda conn, keys: store.table_page(conn, keys, database, schema, keyword, pg))
        return Paged(items, pg, total)

    def get_table(self, caller: Caller, table_guid: str) -> Located:
        return self._table(caller, table_guid, with_columns=False)

    def table_columns(self, caller: Caller, table_guid: str) -> list[ColumnMeta]:
        found = self._table(caller, table_guid, with_columns=True)
        return [ColumnMeta(*c) for c in found.row.columns]

    # ------------------------------------------------------------------------------------------

    @staticmethod
    def _locate(rows: list[Row[Any]], sources: list[Source]) -> list[Located]:
        by_key = {s.key: s for s in sources}
        return [Located(r, by_key[r.source_key]) for r in rows]

    def _table(self, caller: Caller, table_guid: str, *, with_columns: bool) -> Located:
        if not _GUID.fullmatch(table_guid or ""):
            raise InvalidValue(f"TableGuid must be a table GUID (22 letters, digits, '-' or '_'), got "
                               f"{table_guid[:40]!r}")
        missing = NotFound(f"The table {table_guid} does not exist.")
        with self.db.read() as conn:
            row = store.table_row(conn, table_guid, with_columns=with_columns)
            if row is None:
                raise missing
            source = self._visible_source(conn, caller, row.source_key)
            if source is None:
                raise missing  # the same answer as for no table: a GUID says nothing about others' tables
            states = store.states(conn, [source.key])
        if is_due(states.get(source.key), self.clock.now(), self.settings.catalog_max_age):
            self.refresher.run([source], timeout=None)
            with self.db.read() as conn:
                row = store.table_row(conn, table_guid, with_columns=with_columns)
            if row is None:
                raise NotFound(f"The table {table_guid} no longer exists in {source.label}.")
        return Located(row, source)

    @staticmethod
    def _visible_source(conn: Any, caller: Caller, key: str) -> Source | None:
        if key == LAKE.key:
            return LAKE if access.sees_lake(conn, caller) else None
        sid = int(key.split(":", 1)[1])
        found = access.visible_sources(conn, caller, sid)
        return found[0][0] if found else None
