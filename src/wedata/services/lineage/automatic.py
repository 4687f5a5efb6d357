"""Automatic lineage: the worker that turns the statements of successful SQL runs into edges.

The engine (a SQL task attempt that succeeded) and the SQL script worker (a script run that
succeeded) write one ``lineage_runs`` row in their own transaction (``storage.lineage_tables.
record_run``); parsing happens here, off the engine's path. For each row, newest per process
first (an older pending run of the same process is superseded):

1. the catalog of the run's source is refreshed first when it is due (never read, or marked
   stale by DDL after its snapshot: a ``CREATE TABLE ... AS`` target must be known);
2. each statement is parsed (``extract.parse``); the tables it names are loaded from the
   catalog, and the statement is qualified against their columns and walked (``extract.extract``);
3. tables and columns are resolved to catalog GUIDs (``<GUID>::<column>`` for columns); a table
   the catalog does not know (a temporary table, one dropped by the same run) contributes no
   edge, and the note says so;
4. the process's automatic edges are REPLACED by the new ones in one transaction: edges of SQL
   that no longer runs disappear; registered (manual) edges are never touched.

A run is claimed (``done_at``) before it is applied: one claimed by a process that dies before
applying it is not retried; the next run of the same process derives its edges again.

A statement that cannot be parsed is skipped and named, with sqlglot's reason, in the server log
(``wedata.lineage``) and in the run's ``note``; the run itself succeeded long before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, func, select, update

from wedata.clock import Clock
from wedata.config import Settings
from wedata.services.catalog import store as catalog_store
from wedata.services.catalog.refresh import is_due
from wedata.services.lineage import store
from wedata.services.lineage.extract import ColumnRef, NotParsed, Parsed, TableRef, extract, parse
from wedata.services.lineage.model import (
    COLUMN,
    SCRIPT_PROCESS,
    TABLE,
    WEDATA,
    NodeRecord,
    ProcessRecord,
    column_uid,
)
from wedata.services.workers import BackgroundWorker
from wedata.storage.catalog_tables import LAKE_KEY, catalog_tables, source_key
from wedata.storage.datasource_tables import data_sources
from wedata.storage.db import Database
from wedata.storage.lineage_tables import lineage_runs

log = logging.getLogger("wedata.lineage")
LR, CT = lineage_runs, catalog_tables
BATCH = 20


def _low(name: str | None) -> str:
    return (name or "").lower()


class _Catalog:
    """The catalog tables of one source that a run's statements name, by lower-cased name."""

    def __init__(self, conn: Connection, key: str, names: set[str], three_levels: bool) -> None:
        self.three = three_levels
        self.rows: dict[tuple[str, str, str], Any] = {}
        if names:
            for r in conn.execute(select(CT.c.guid, CT.c.database_name, CT.c.schema_name, CT.c.name, CT.c.table_type,
                                         CT.c.columns)
                                  .where(CT.c.source_key == key, func.lower(CT.c.name).in_(sorted(names)))):
                self.rows[(_low(r.database_name), _low(r.schema_name), _low(r.name))] = r

    @classmethod
    def empty(cls, three_levels: bool) -> _Catalog:
        cat = cls.__new__(cls)
        cat.three, cat.rows = three_levels, {}
        return cat

    def find(self, ref: TableRef) -> Any:
        catalog, db, name = ref
        if self.three:  # PostgreSQL: catalog = the database, db = the schema
            return self.rows.get((_low(catalog), _low(db), _low(name)))
        return self.rows.get((_low(db), "", _low(name)))

    def mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for (database, schema, name), r in self.rows.items():
            cols = {str(c[0]): "text" for c in r.columns}
            if self.three:
                out.setdefault(database, {}).setdefault(schema, {})[name] = cols
            else:
                out.setdefault(database, {})[name] = cols
        return out


class AutomaticLineage:
    def __init__(self, db: Database, clock: Clock, settings: Settings,
                 refresh_source: Callable[[int | None], str | None]) -> None:  # fmt: skip
        self.db = db
        self.clock = clock
        self.settings = settings
        self.refresh_source = refresh_source

    def apply_pending(self, limit: int = BATCH) -> int:
        """Apply up to ``limit`` pending runs; how many were taken."""
        with self.db.read() as conn:
            rows = conn.execute(select(LR).where(LR.c.done_at.is_(None)).order_by(LR.c.id.desc()).limit(limit)).all()
        seen: set[tuple[str, str]] = set()
        taken = 0
        for row in rows:
            with self.db.write() as conn:
                claimed = conn.execute(update(LR).where(LR.c.id == row.id, LR.c.done_at.is_(None))
                                       .values(done_at=self.clock.now())).rowcount
            if not claimed:
                continue
            taken += 1
            key = (row.process_type, row.process_id)
            if key in seen:
                note = "superseded by a later run of the same process"
            else:
                seen.add(key)
                try:
                    note = self.apply_run(row)
                except Exception:  # one bad run must not stop the worker
                    log.exception("lineage of %s %s (run %s) failed", row.process_type, row.process_id, row.id)
                    note = "failed: an internal error (logged by the server)"
            with self.db.write() as conn:
                conn.execute(update(LR).where(LR.c.id == row.id).values(note=note[:4000]))
        return taken

    # -- one run -------------------------------------------------------------------------------

    def apply_run(self, row: Any) -> str:
        who = f"{'script' if row.process_type == SCRIPT_PROCESS else 'task'} {row.process_id}"
        key = source_key(row.source_id)
        notes: list[str] = []
        parsed: list[tuple[int, Parsed]] = []
        for i, sql in enumerate(row.statements or [], 1):
            try:
                p = parse(sql, row.dialect)
            except NotParsed as exc:
                notes.append(f"statement {i} not parsed: {exc}")
                continue
            if p.target is not None:
                parsed.append((i, p))
        if row.statements is None and row.note:
            notes.append(row.note)
        source_type = "DLC"
        if parsed:  # only statements that write need the catalog (read-only runs: no edges)
            self._fresh(key, row.source_id)
            if row.source_id is not None:
                with self.db.read() as conn:
                    source_type = conn.execute(select(data_sources.c.source_type)
                                               .where(data_sources.c.id == row.source_id)).scalar() or "?"
        three = row.dialect == "postgres"
        names = {_low(t[2]) for _, p in parsed for t in [*p.reads, p.target] if t is not None}
        if names:
            with self.db.read() as conn:
                cat = _Catalog(conn, key, names, three)
        else:
            cat = _Catalog.empty(three)
        mapping = cat.mapping()
        default_catalog, default_db = self._defaults(row, three)
        nodes: dict[str, NodeRecord] = {}
        edges: set[tuple[str, str, str]] = set()
        for i, p in parsed:
            assert p.target is not None
            c0, d0, n0 = p.target
            target_row = cat.find((c0 or default_catalog or "", d0 or default_db or "", n0))
            try:
                lin = extract(p, mapping, row.dialect, catalog=default_catalog, db=default_db,
                              target_columns=[str(c[0]) for c in target_row.columns] if target_row is not None
                              else None)
            except NotParsed as exc:
                notes.append(f"statement {i} not qualified: {exc}")
                continue
            if lin is None:
                continue
            target_row = cat.find(lin.target)
            if target_row is None:
                notes.append(f"statement {i}: its target {'.'.join(x for x in lin.target if x)} is not in the catalog")
                continue
            tnode = self._table_node(target_row, key, source_type)
            nodes[tnode.node_id] = tnode
            for ref in sorted(lin.sources):
                src = cat.find(ref)
                if src is None:
                    notes.append(f"statement {i}: {'.'.join(x for x in ref if x)} is not in the catalog")
                    continue
                snode = self._table_node(src, key, source_type)
                nodes[snode.node_id] = snode
                edges.add((snode.node_id, tnode.node_id, TABLE))
            for s_col, t_col in sorted(lin.columns):
                scn, tcn = self._column_node(cat, s_col, key), self._column_node(cat, t_col, key)
                if scn is None or tcn is None:
                    continue
                nodes[scn.node_id], nodes[tcn.node_id] = scn, tcn
                edges.add((scn.node_id, tcn.node_id, COLUMN))
        process = self._process(row)
        with self.db.write() as conn:
            applied = store.replace_automatic(conn, process, int(row.id), list(nodes.values()), edges,
                                              self.clock.now())
        tables = sum(1 for e in edges if e[2] == TABLE)
        text = f"{tables} table edge(s), {len(edges) - tables} column edge(s)"
        if not applied:
            text = "not applied: a later run of the process was applied already"
        if notes:
            log.warning("lineage of %s: %s", who, "; ".join(notes))
            text += "; " + "; ".join(notes)
        return text

    def _fresh(self, key: str, source_id: int | None) -> None:
        with self.db.read() as conn:
            state = catalog_store.states(conn, [key]).get(key)
        if state is None or is_due(state, self.clock.now(), self.settings.catalog_max_age):
            try:
                why = self.refresh_source(source_id)
            except Exception as exc:  # the data source is gone, ...: resolve against what is cached
                why = str(exc)
            if why:
                log.info("lineage: the catalog of %s could not be refreshed: %s", key, why)

    @staticmethod
    def _defaults(row: Any, three: bool) -> tuple[str | None, str | None]:
        """What unqualified names mean: PostgreSQL (the url's database, schema public), MySQL
        (the url's database), the lake (the engine's default database, else main)."""
        if three:
            return row.database, "public"
        if row.source_id is None or row.dialect in ("spark", "duckdb"):
            return None, row.default_schema or "main"
        return None, row.database

    @staticmethod
    def _table_node(r: Any, key: str, source_type: str) -> NodeRecord:
        parts = [r.database_name, r.schema_name, r.name]
        props = [("DatabaseName", r.database_name), ("SchemaName", r.schema_name or ""), ("TableName", r.name),
                 ("TableType", r.table_type), ("TableId", r.guid)]
        if key == LAKE_KEY:
            props.append(("CatalogName", "DataLakeCatalog"))
        else:
            props.append(("DatasourceId", key.split(":", 1)[1]))
        return NodeRecord(WEDATA, TABLE, r.guid, ".".join(p for p in parts if p), source_type, tuple(props),
                          None, key)

    @staticmethod
    def _column_node(cat: _Catalog, ref: ColumnRef, key: str) -> NodeRecord | None:
        r = cat.find(ref[0])
        if r is None:
            return None
        found = next((c for c in r.columns if str(c[0]) == ref[1]), None) or \
            next((c for c in r.columns if _low(str(c[0])) == _low(ref[1])), None)
        if found is None:
            return None
        name = str(found[0])
        table = ".".join(p for p in (r.database_name, r.schema_name, r.name) if p)
        props = (("DatabaseName", r.database_name), ("SchemaName", r.schema_name or ""), ("TableName", table),
                 ("TableId", r.guid), ("ColumnName", name), ("ColumnType", str(found[1])))
        return NodeRecord(WEDATA, COLUMN, column_uid(r.guid, name), name, found[3], props, r.guid, key)

    @staticmethod
    def _process(row: Any) -> ProcessRecord:
        props: tuple[tuple[str, str], ...] = ()
        if row.process_name:
            props = (("TaskName" if row.process_type != SCRIPT_PROCESS else "ScriptName", row.process_name),)
        sub = "SQL_TASK" if row.process_type != SCRIPT_PROCESS else SCRIPT_PROCESS
        return ProcessRecord(WEDATA, row.process_type, row.process_id, sub, props)


class LineageWorker(BackgroundWorker):
    """Applies pending runs every ``interval`` seconds (at once when woken)."""

    def __init__(self, automatic: AutomaticLineage, interval: float = 1.0) -> None:
        super().__init__("lineage", interval)
        self.automatic = automatic
        self.health = automatic.db.health

    def poll(self) -> bool:
        return self.automatic.apply_pending() >= BATCH
