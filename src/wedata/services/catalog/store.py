"""The cache: writing a source's snapshot, recording a failed refresh, reading pages.

A snapshot replaces the source's rows in one transaction (what vanished from the source vanishes
here), unless a newer snapshot of the source is stored already (two processes refreshed at
once: the later introspection wins) or nothing changed (same digest: only ``snapshot_at``
moves). Times a source does not report are kept from one snapshot to the next: CreateTime is
when the catalog first saw the table, UpdateTime when it last saw its definition change.

Reads are one COUNT and one page query per list, over the sources the caller may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, delete, func, insert, select, update

from wedata.services.catalog.model import (
    Snapshot,
    database_guid,
    schema_guid,
    table_guid,
)
from wedata.services.common import Page, like_pattern
from wedata.storage.catalog_tables import (
    catalog_databases,
    catalog_schemas,
    catalog_sources,
    catalog_tables,
    ensure_source,
)

CS, CD, CSc, CT = catalog_sources, catalog_databases, catalog_schemas, catalog_tables


@dataclass(frozen=True, slots=True)
class State:
    """Where a source's cache stands."""

    snapshot_at: datetime | None
    stale_at: datetime | None
    attempted_at: datetime | None
    error: str | None


def states(conn: Connection, keys: list[str]) -> dict[str, State]:
    if not keys:
        return {}
    rows = conn.execute(
        select(CS.c.key, CS.c.snapshot_at, CS.c.stale_at, CS.c.attempted_at, CS.c.error).where(CS.c.key.in_(keys))
    ).all()
    return {r.key: State(r.snapshot_at, r.stale_at, r.attempted_at, r.error) for r in rows}


STORED, UNCHANGED, SKIPPED = "stored", "unchanged", "skipped"


def write_snapshot(conn: Connection, key: str, data_source_id: int | None, snap: Snapshot,
                   started: datetime, now: datetime) -> str:  # fmt: skip
    """Store a snapshot introspected from ``started`` on: STORED, UNCHANGED (same digest: only
    the time moved), or SKIPPED (the source is gone, or a newer snapshot is there already)."""
    if not ensure_source(conn, key, data_source_id):
        return SKIPPED
    current = conn.execute(select(CS.c.snapshot_at, CS.c.digest).where(CS.c.key == key).with_for_update()).one()
    if current.snapshot_at is not None and current.snapshot_at >= started:
        return SKIPPED
    digest = snap.digest()
    done = {"snapshot_at": started, "attempted_at": started, "error": None, "digest": digest}
    if digest == current.digest:
        conn.execute(update(CS).where(CS.c.key == key).values(**done))
        return UNCHANGED
    known = {r.guid: r for r in conn.execute(
        select(CT.c.guid, CT.c.created_at, CT.c.updated_at, CT.c.fingerprint).where(CT.c.source_key == key)
    )}
    for table in (CD, CSc, CT):
        conn.execute(delete(table).where(table.c.source_key == key))
    if snap.databases:
        conn.execute(insert(CD), [
            {"guid": database_guid(key, d.name), "source_key": key, "name": d.name, "description": d.description,
             "location": d.location, "storage_size": d.storage_size}
            for d in snap.databases
        ])
    if snap.schemas:
        conn.execute(insert(CSc), [
            {"guid": schema_guid(key, s.database, s.name), "source_key": key, "database_name": s.database,
             "name": s.name}
            for s in snap.schemas
        ])
    rows = []
    for t in snap.tables:
        g = table_guid(key, t.database, t.schema, t.name)
        fingerprint = t.fingerprint()
        old = known.get(g)
        created = t.created_at or (old.created_at if old is not None else now)
        if t.updated_at is not None:
            updated = t.updated_at
        elif old is not None and old.fingerprint == fingerprint:
            updated = old.updated_at
        else:
            updated = now if old is not None else created
        rows.append({
            "guid": g, "source_key": key, "database_name": t.database, "schema_name": t.schema, "name": t.name,
            "table_type": t.table_type, "description": t.description, "owner": t.owner, "location": t.location,
            "storage_size": t.storage_size, "created_at": created, "updated_at": max(updated, created),
            "fingerprint": fingerprint, "columns": [c.wire_row() for c in t.columns],
        })
    if rows:
        conn.execute(insert(CT), rows)
    conn.execute(update(CS).where(CS.c.key == key).values(**done))
    return STORED


def record_failure(conn: Connection, key: str, data_source_id: int | None, started: datetime, message: str) -> None:
    if ensure_source(conn, key, data_source_id):
        conn.execute(update(CS).where(CS.c.key == key).values(attempted_at=started, error=message[:2000]))


# ------------------------------------------------------------------------------------------
# Reads.


def _keyword(column: Any, keyword: str | None) -> list[ColumnElement[bool]]:
    if not keyword:
        return []
    return [func.lower(column).like(like_pattern(keyword), escape="\\")]


def _page(conn: Connection, table: Any, columns: list[Any], where: list[Any], order: list[Any],
          pg: Page) -> tuple[list[Row[Any]], int]:  # fmt: skip
    # COUNT, then the page: measured faster than one statement with count() OVER () on both
    # backends (the window materialises every matching row before the LIMIT).
    total = int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())
    if total == 0 or pg.offset >= total:
        return [], total
    rows = list(conn.execute(select(*columns).where(*where).order_by(*order).limit(pg.size).offset(pg.offset)))
    return rows, total


def database_page(conn: Connection, keys: list[str], keyword: str | None, pg: Page) -> tuple[list[Row[Any]], int]:
    where = [CD.c.source_key.in_(keys), *_keyword(CD.c.name, keyword)]
    return _page(conn, CD, list(CD.c), where, [CD.c.name, CD.c.source_key], pg)


def schema_page(conn: Connection, keys: list[str], database: str | None, keyword: str | None,
                pg: Page) -> tuple[list[Row[Any]], int]:  # fmt: skip
    where = [CSc.c.source_key.in_(keys), *_keyword(CSc.c.name, keyword)]
    if database is not None:
        where.append(CSc.c.database_name == database)
    return _page(conn, CSc, list(CSc.c), where, [CSc.c.database_name, CSc.c.name, CSc.c.source_key], pg)


TABLE_COLUMNS = [c for c in CT.c if c.name not in ("columns", "fingerprint")]


def table_page(conn: Connection, keys: list[str], database: str | None, schema: str | None, keyword: str | None,
               pg: Page) -> tuple[list[Row[Any]], int]:  # fmt: skip
    where = [CT.c.source_key.in_(keys), *_keyword(CT.c.name, keyword)]
    if database is not None:
        where.append(CT.c.database_name == database)
    if schema is not None:
        where.append(CT.c.schema_name == schema)
    order = [CT.c.database_name, CT.c.schema_name, CT.c.name, CT.c.source_key]
    return _page(conn, CT, TABLE_COLUMNS, where, order, pg)


def table_row(conn: Connection, guid: str, *, with_columns: bool = False) -> Row[Any] | None:
    cols = [*TABLE_COLUMNS, CT.c.columns] if with_columns else TABLE_COLUMNS
    return conn.execute(select(*cols).where(CT.c.guid == guid)).first()
