"""The lineage service: RegisterLineage, DeleteLineage, ListLineage, ListColumnLineage,
ListProcessLineage, and the automatic worker's door (``apply_pending``).

Decisions are listed in the package docstring (``services/lineage/__init__.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.services.catalog import access
from wedata.services.catalog import store as catalog_store
from wedata.services.catalog.catalog import CatalogService
from wedata.services.common import Page, Paged, as_int
from wedata.services.errors import Forbidden, InvalidValue, NotFound
from wedata.services.lineage import store
from wedata.services.lineage.automatic import AutomaticLineage, LineageWorker
from wedata.services.lineage.model import (
    COLUMN,
    COLUMN_SEPARATOR,
    DIRECTIONS,
    PLATFORMS,
    PROCESS_SUB_TYPES,
    PROCESS_TYPES,
    RESOURCE_TYPES,
    TABLE,
    THIRD,
    WEDATA,
    Hop,
    NodeRecord,
    Pair,
    ProcessRecord,
    column_uid,
    node_id,
    process_node_id,
)
from wedata.spec import models as M
from wedata.storage.catalog_tables import LAKE_KEY
from wedata.storage.db import Database
from wedata.storage.lineage_tables import NAME_MAX, UNIQUE_ID_MAX, lineage_processes

MAX_PAGE_SIZE = 500
MAX_RELATIONS = 100


@dataclass(frozen=True, slots=True)
class HopPage:
    paged: Paged[Hop]
    column_name: str | None  # ListColumnLineage: the requested column


def _page(number: int | str, size: int | str) -> Page:
    n = as_int(number, "PageNumber")
    s = as_int(size, "PageSize")
    assert n is not None and s is not None
    if n < 1:
        raise InvalidValue(f"PageNumber must be >= 1, got {n}")
    if not 1 <= s <= MAX_PAGE_SIZE:
        raise InvalidValue(f"PageSize must be between 1 and {MAX_PAGE_SIZE}, got {s}")
    return Page(n, s)


def _choice(value: str | None, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidValue(f"{field} must be one of {', '.join(allowed)}, got {str(value)[:40]!r}")
    return value


def _text(value: str | None, field: str, limit: int) -> str:
    if value is None or not value.strip():
        raise InvalidValue(f"{field} must not be empty")
    if len(value) > limit:
        raise InvalidValue(f"{field} is at most {limit} characters, got {len(value)}")
    return value


def _props(items: list[M.LineageProperty] | None) -> tuple[tuple[str, str], ...]:
    return tuple((str(p.name or ""), "" if p.value is None else str(p.value)) for p in items or [])[:50]


class LineageService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, catalog: CatalogService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.catalog = catalog
        self.depth = settings.lineage_depth
        self.automatic = AutomaticLineage(db, clock, settings, catalog.refresh_source)
        self.worker = LineageWorker(self.automatic)

    # -- the worker ----------------------------------------------------------------------------

    def start_worker(self) -> None:
        self.worker.start()

    def stop_worker(self) -> None:
        self.worker.stop()

    def apply_pending(self) -> int:
        """Apply the pending runs now, on the caller's thread (tests, benchmarks)."""
        return self.automatic.apply_pending()

    # -- who sees what -------------------------------------------------------------------------

    @staticmethod
    def _visible_keys(conn: Connection, caller: Caller) -> list[str] | None:
        """The catalog sources the caller sees (None: every one, a tenant administrator)."""
        if caller.is_admin:
            return None
        if not access.sees_lake(conn, caller):
            raise Forbidden("Lineage is shown to members of a project: you are a member of none.")
        return [LAKE_KEY, *(s.key for s, _ in access.visible_sources(conn, caller))]

    # -- resources -----------------------------------------------------------------------------

    def _wedata_resource(self, conn: Connection, res_type: str, uid: str, visible: list[str] | None,
                         field: str) -> NodeRecord:  # fmt: skip
        """A WeData table or column, from the catalog (NotFound when it has no such resource or
        the caller may not see it: the same answer)."""
        if res_type not in (TABLE, COLUMN):
            raise InvalidValue(f"{field}.ResourceType: WeData resources here are TABLE and COLUMN; register a "
                               f"{res_type} with Platform THIRD")
        guid, _, column = uid.partition(COLUMN_SEPARATOR) if res_type == COLUMN else (uid, "", "")
        if res_type == COLUMN and not column:
            raise InvalidValue(f"{field}.ResourceUniqueId of a COLUMN is <table GUID>::<column name>, got {uid[:80]!r}")
        row = catalog_store.table_row(conn, guid, with_columns=res_type == COLUMN)
        if row is None or (visible is not None and row.source_key not in visible):
            raise NotFound(f"{field}: the table {guid[:40]} does not exist in the catalog.")
        parts = ".".join(p for p in (row.database_name, row.schema_name, row.name) if p)
        base = (("DatabaseName", row.database_name), ("SchemaName", row.schema_name or ""))
        if res_type == TABLE:
            return NodeRecord(WEDATA, TABLE, guid, parts, None,
                              (*base, ("TableName", row.name), ("TableType", row.table_type), ("TableId", guid)),
                              None, row.source_key)
        col = next((c for c in row.columns if str(c[0]) == column), None)
        if col is None:
            raise NotFound(f"{field}: the table {parts} has no column {column[:80]!r}.")
        return NodeRecord(WEDATA, COLUMN, column_uid(guid, column), column, col[3],
                          (*base, ("TableName", parts), ("TableId", guid), ("ColumnName", column),
                           ("ColumnType", str(col[1]))), guid, row.source_key)

    def _resource(self, conn: Connection, r: M.LineageResouce, visible: list[str] | None, field: str) -> NodeRecord:
        platform = _choice(r.platform, PLATFORMS, f"{field}.Platform")
        res_type = _choice(r.resource_type, RESOURCE_TYPES, f"{field}.ResourceType")
        uid = _text(r.resource_unique_id, f"{field}.ResourceUniqueId", UNIQUE_ID_MAX)
        if platform == WEDATA:
            return self._wedata_resource(conn, res_type, uid, visible, field)
        name = (r.resource_name or uid)[:NAME_MAX]
        return NodeRecord(THIRD, res_type, uid, name, r.description, _props(r.resource_properties))

    @staticmethod
    def _process(p: M.LineageProcess, field: str) -> ProcessRecord:
        platform = _choice(p.platform, PLATFORMS, f"{field}.Platform")
        ptype = _choice(p.process_type, PROCESS_TYPES, f"{field}.ProcessType")
        if p.process_sub_type is not None:
            _choice(p.process_sub_type, PROCESS_SUB_TYPES, f"{field}.ProcessSubType")
        pid = _text(p.process_id, f"{field}.ProcessId", UNIQUE_ID_MAX)
        return ProcessRecord(platform, ptype, pid, p.process_sub_type, _props(p.process_properties))

    def _relations(self, conn: Connection, caller: Caller, relations: list[M.LineagePair]
                   ) -> list[tuple[NodeRecord, NodeRecord, list[ProcessRecord]]]:  # fmt: skip
        if not relations:
            raise InvalidValue("Relations must not be empty")
        if len(relations) > MAX_RELATIONS:
            raise InvalidValue(f"Relations has at most {MAX_RELATIONS} items, got {len(relations)}")
        visible = self._visible_keys(conn, caller)
        out = []
        for i, pair in enumerate(relations):
            field = f"Relations[{i}]"
            source = self._resource(conn, pair.source, visible, f"{field}.Source")
            target = self._resource(conn, pair.target, visible, f"{field}.Target")
            if not pair.processes:
                raise InvalidValue(f"{field}.Processes must name at least one process")
            procs = [self._process(p, f"{field}.Processes[{j}]") for j, p in enumerate(pair.processes)]
            out.append((source, target, procs))
        return out

    # -- RegisterLineage, DeleteLineage --------------------------------------------------------

    def register(self, caller: Caller, req: M.RegisterLineageRequest) -> None:
        with self.db.write() as conn:
            rels = self._relations(conn, caller, req.relations)
            _refuse_cycle(rels)
            now = self.clock.now()
            store.upsert_nodes(conn, [n for s, t, _ in rels for n in (s, t)], now)
            triples = {(s.node_id, t.node_id, p.node_id): (s, t, p) for s, t, ps in rels for p in ps}
            existing = store.manual_edges(conn, list(triples))
            for triple, (s, t, p) in triples.items():
                store.upsert_process(conn, p, now)
                if triple not in existing:
                    conn.execute(store.LE.insert().values(source_node=s.node_id, target_node=t.node_id,
                                                          process_node=p.node_id, level=t.resource_type,
                                                          manual=True, created_at=now))

    def delete(self, caller: Caller, req: M.DeleteLineageRequest) -> None:
        with self.db.write() as conn:
            rels = self._relations(conn, caller, req.relations)
            triples = [(s.node_id, t.node_id, p.node_id) for s, t, ps in rels for p in ps]
            existing = store.manual_edges(conn, triples)
            for i, (s, t, ps) in enumerate(rels):
                for p in ps:
                    if (s.node_id, t.node_id, p.node_id) in existing:
                        continue
                    what = f"Relations[{i}]: no registered lineage {s.name} -> {t.name} by {p.process_type} " \
                           f"{p.process_id}"
                    if store.edges_between(conn, [(s.node_id, t.node_id)], manual=False):
                        raise InvalidValue(f"{what}: that edge is computed from the SQL that ran; change the SQL "
                                           f"to remove it")
                    raise NotFound(f"{what}.")
            store.delete_manual(conn, triples)

    # -- ListLineage, ListColumnLineage --------------------------------------------------------

    def list_lineage(self, caller: Caller, req: M.ListLineageRequest) -> HopPage:
        res_type = _choice(req.resource_type, RESOURCE_TYPES, "ResourceType")
        uid = _text(req.resource_unique_id, "ResourceUniqueId", UNIQUE_ID_MAX)
        return self._walk(caller, req.platform, res_type, uid, req.direction, req.page_number, req.page_size, None)

    def list_column_lineage(self, caller: Caller, req: M.ListColumnLineageRequest) -> HopPage:
        guid = _text(req.table_unique_id, "TableUniqueId", UNIQUE_ID_MAX).strip()
        column = _text(req.column_name, "ColumnName", NAME_MAX)
        return self._walk(caller, req.platform, COLUMN, column_uid(guid, column), req.direction, req.page_number,
                          req.page_size, column)

    def _walk(self, caller: Caller, platform: str, res_type: str, uid: str, direction: str,
              number: int | str, size: int | str, column: str | None) -> HopPage:  # fmt: skip
        platform = _choice(platform, PLATFORMS, "Platform")
        direction = _choice(direction, DIRECTIONS, "Direction")
        pg = _page(number, size)
        with self.db.read() as conn:
            visible = self._visible_keys(conn, caller)
            start = node_id(platform, res_type, uid)
            known = store.nodes_by_key(conn, [(platform, res_type, uid)])
            if not known:
                if platform == THIRD:
                    raise NotFound(f"No lineage of the {res_type} {uid[:80]} of platform THIRD exists.")
                self._wedata_resource(conn, res_type, uid, visible, "Resource")  # NotFound, or simply no edge
                return HopPage(Paged([], pg, 0), column)
            node = next(iter(known.values()))
            if visible is not None and node.source_key is not None and node.source_key not in visible:
                raise NotFound(f"The {res_type} {uid[:80]} does not exist in the catalog.")
            hops, total = store.reachable(conn, start, direction, self.depth, visible_keys=visible,
                                          limit=pg.size, offset=pg.offset)
        return HopPage(Paged(hops, pg, total), column)

    # -- ListProcessLineage --------------------------------------------------------------------

    def list_process_lineage(self, caller: Caller, req: M.ListProcessLineageRequest) -> Paged[Pair]:
        platform = _choice(req.platform, PLATFORMS, "Platform")
        ptype = _choice(req.process_type, PROCESS_TYPES, "ProcessType")
        pid = _text(req.process_id, "ProcessId", UNIQUE_ID_MAX)
        pg = _page(req.page_number, req.page_size)
        with self.db.read() as conn:
            visible = self._visible_keys(conn, caller)
            pnode = process_node_id(platform, ptype, pid)
            if conn.execute(select(lineage_processes.c.node_id).where(lineage_processes.c.node_id == pnode)).first() \
                    is None:
                raise NotFound(f"No lineage of the process {ptype} {pid[:80]} (platform {platform}) was recorded.")
            pairs, total = store.process_pairs(conn, pnode, pg.size, pg.offset, visible_keys=visible)
        return Paged(pairs, pg, total)


def _refuse_cycle(rels: list[tuple[NodeRecord, NodeRecord, Any]]) -> None:
    """The relations of one request may not form a cycle (a resource its own ancestor)."""
    graph: dict[str, set[str]] = {}
    names: dict[str, str] = {}
    for s, t, _ in rels:
        graph.setdefault(s.node_id, set()).add(t.node_id)
        names[s.node_id], names[t.node_id] = s.name, t.name
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return [*path[path.index(m):], m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        state[n] = 2
        path.pop()
        return None

    for n in sorted(graph):
        if n not in state:
            cycle = visit(n)
            if cycle:
                raise InvalidValue("Relations form a cycle: " + " -> ".join(names[c] for c in cycle))
