"""Which tasks name a data source: ``TaskConfiguration.SourceServiceId`` (the source's ``Id``).

Read straight from the task tables, as the task domain stores them (docs/development.md, "the
task model is itself wire-shaped"): a task's dev definition is ``tasks.definition`` and its
production definition the snapshot of the SUBMIT version ``tasks.prod_version_id`` names
(``task_versions.snapshot``); both hold ``TaskConfiguration.SourceServiceId`` as a string. A
field that lists several ids (``a;b``, as ListOpsTasks' filter reads it) names each of them.

Only tasks that may use the source count: those of its own project and of projects it is
granted to (a grant to the whole project or to one of its users). A task elsewhere that names
the same number (any project member may save one, and a dry run is submitted whatever it names)
neither shows up in another project's GetDataSourceRelatedTasks nor holds the source against
DeleteDataSource.

These queries scan the project tasks' JSON (no index on a JSON field that both SQLite and
PostgreSQL share); they run for DeleteDataSource and GetDataSourceRelatedTasks only, never on
a hot path.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, literal, or_, select

from wedata.storage import tables as T
from wedata.storage.datasource_tables import data_source_grants

t, v, p, g = T.tasks, T.task_versions, T.projects, data_source_grants

_PATH = ("TaskConfiguration", "SourceServiceId")


def _names(document: Any, source_id: int) -> ColumnElement[bool]:
    value = document[_PATH].as_string()
    return and_(value.is_not(None), (literal(";") + value + literal(";")).like(f"%;{source_id};%"))


def _may_use(source_id: int, source_project: str) -> ColumnElement[bool]:
    granted = exists().where(g.c.data_source_id == source_id, g.c.project_id == t.c.project_id)
    return or_(t.c.project_id == source_project, granted)


def production_users(conn: Connection, source_id: int, source_project: str, limit: int = 20) -> list[Any]:
    """Tasks whose production (submitted) definition names the source: rows (id, name, project_id)."""
    return list(conn.execute(
        select(t.c.id, t.c.name, t.c.project_id)
        .select_from(t.join(v, v.c.version_id == t.c.prod_version_id))
        .where(_names(v.c.snapshot, source_id), _may_use(source_id, source_project))
        .order_by(t.c.created_at, t.c.id)
        .limit(limit)
    ).all())


def related_tasks(conn: Connection, source_id: int, source_project: str) -> list[Any]:
    """Tasks of live projects whose dev or production definition names the source, by project."""
    return list(conn.execute(
        select(
            t.c.id, t.c.name, t.c.created_at, t.c.owner_uin, t.c.project_id,
            p.c.display_name.label("project_name"),
        )
        .select_from(t.join(p, p.c.id == t.c.project_id).outerjoin(v, v.c.version_id == t.c.prod_version_id))
        .where(p.c.deleted_at.is_(None), _may_use(source_id, source_project),
               or_(_names(t.c.definition, source_id), _names(v.c.snapshot, source_id)))
        .order_by(t.c.project_id, t.c.created_at, t.c.id)
    ).all())
