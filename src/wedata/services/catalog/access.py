"""Whose catalog a caller sees.

The catalog actions carry no ``ProjectId``: a caller sees the catalog of every data source a
project of theirs may use — the sources their projects own, the sources granted to one of their
projects, and those granted to them within one of their projects (the rule of
``DataSourceService.require_use``, over all the caller's projects at once) — and the lake, which
every project uses without setup, as soon as they are a member of a project. A tenant
administrator sees every source. Nobody else sees anything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, exists, select

from wedata.executors.sql.connections import wire_of
from wedata.principal import Caller
from wedata.services.catalog.model import LAKE, Source
from wedata.services.catalog.store import State, states
from wedata.services.datasources.access import WHOLE_PROJECT, G
from wedata.storage import tables as T
from wedata.storage.catalog_tables import catalog_sources, source_key
from wedata.storage.datasource_tables import data_sources

DS = data_sources


def _my_projects(caller: Caller) -> Any:
    m, p = T.project_members, T.projects
    return (select(m.c.project_id).join(p, p.c.id == m.c.project_id)
            .where(m.c.user_uin == caller.uin, p.c.deleted_at.is_(None)))


def _visible(caller: Caller) -> list[Any]:
    if caller.is_admin:
        return []
    mine = _my_projects(caller)
    return [DS.c.project_id.in_(mine) | exists().where(
        G.c.data_source_id == DS.c.id, G.c.project_id.in_(mine), G.c.user_uin.in_((WHOLE_PROJECT, caller.uin)),
    )]


def catalogued(source_type: str) -> bool:
    """Types whose metadata the catalog reads: the MySQL and PostgreSQL wires (the lake aside)."""
    return wire_of(source_type) is not None


def as_source(row: Any) -> Source:
    return Source(source_key(row.id), int(row.id), row.source_type, f"data source {row.id} ({row.name})")


def visible_sources(conn: Connection, caller: Caller, source_id: int | None = None) -> list[tuple[Source, State | None]]:
    """The catalogued data sources the caller sees (one of them, with ``source_id``), each with
    where its cache stands (one query: the hot path of every list)."""
    where = _visible(caller)
    if source_id is not None:
        where.append(DS.c.id == source_id)
    CS = catalog_sources
    rows = conn.execute(
        select(DS.c.id, DS.c.name, DS.c.source_type, CS.c.snapshot_at, CS.c.stale_at, CS.c.attempted_at, CS.c.error)
        .join_from(DS, CS, CS.c.data_source_id == DS.c.id, isouter=True)
        .where(*where).order_by(DS.c.id)
    ).all()
    return [
        (as_source(r), State(r.snapshot_at, r.stale_at, r.attempted_at, r.error) if r.snapshot_at or r.attempted_at
         else None)
        for r in rows if catalogued(r.source_type)
    ]


def may_see(conn: Connection, caller: Caller, source_id: int) -> bool:
    """Whether the caller sees the data source, whatever its type."""
    return conn.execute(select(DS.c.id).where(DS.c.id == source_id, *_visible(caller))).first() is not None


def sees_lake(conn: Connection, caller: Caller) -> bool:
    if caller.is_admin:
        return True
    return bool(conn.execute(select(exists(_my_projects(caller)))).scalar())


def lake_if_visible(conn: Connection, caller: Caller) -> list[tuple[Source, State | None]]:
    return [(LAKE, states(conn, [LAKE.key]).get(LAKE.key))] if sees_lake(conn, caller) else []


def source_row(conn: Connection, source_id: int) -> Any:
    """The data source's id, name, type and project (None if there is none)."""
    return conn.execute(select(DS.c.id, DS.c.name, DS.c.source_type, DS.c.project_id)
                        .where(DS.c.id == source_id)).first()
