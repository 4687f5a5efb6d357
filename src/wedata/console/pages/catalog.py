"""The catalog browser: catalogs -> databases -> schemas -> tables -> a table's columns.

- ``/p/{project}/catalog``: the catalogs a project's people browse: the built-in lake
  (ListCatalog: ``DataLakeCatalog``) and the project's data sources (ListDataSources, which
  checks the caller's membership).
- ``/p/{project}/catalog/databases?source=<id>`` (or ``?catalog=DataLakeCatalog``): ListDatabase.
- ``/p/{project}/catalog/schemas?source=&database=``: ListSchema (PostgreSQL-wire sources only:
  MySQL-wire sources and the lake have no schema level, their databases link to their tables).
- ``/p/{project}/catalog/tables?source=&database=&schema=``: ListTable.
- ``/p/{project}/catalog/tables/{guid}``: GetTable and GetTableColumns; links to its lineage.

Every list takes ``?keyword=`` (the action's Keyword: part of the name, any case) and
``?page=`` (PAGE_SIZE a page; the catalog actions answer ``PageCount``).

The catalog actions have no ProjectId (docs/catalog.md: a caller sees the catalog of every
source a project of theirs may use). A project's catalog pages first call ListDataSources of
that project, so a caller who is not a member is refused (403) by the action, as on every other
project page; what the catalog then shows is what the caller's credential sees through the SDK.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from wedata.console.frame import Pages, View
from wedata.console.reads import all_items

pages = Pages()

PAGE_SIZE = 50
MAX_SOURCES = 500
LAKE = "DataLakeCatalog"
# Source types with a schema level (docs/catalog.md); the others list their tables per database.
SCHEMA_TYPES = frozenset({"POSTGRE", "TDSQL_POSTGRE", "GREENPLUM", "TBASE", "TCHOUSE_P"})


def _scope(v: View) -> dict[str, str]:
    """Where in the catalog a list is: the source (or the lake catalog), database, schema."""
    return {k: v.arg(k) for k in ("source", "catalog", "database", "schema")}


def _where(scope: dict[str, str]) -> dict[str, Any]:
    """The scope as the catalog actions' parameters."""
    return {"DatasourceId": scope["source"] or None, "CatalogName": scope["catalog"] or None}


@pages.get("/p/{project_id}/catalog")
def catalogs(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    sources, truncated = all_items(a, "ListDataSources", page_size=100, max_items=MAX_SOURCES, ProjectId=project_id)
    lake, error = a.try_data("ListCatalog", PageNumber=1, PageSize=100)
    return v.render("catalog.html", project=project, sources=sources, truncated=truncated,
                    lakes=(lake.items or []) if lake else [], error=error, schema_types=SCHEMA_TYPES)


def _list(v: View, action: str, template: str, **params: Any) -> Response:
    project_id = v.param("project_id")
    project = v.actions.data("GetProject", ProjectId=project_id)
    v.require_member(project_id)
    scope, keyword, number = _scope(v), v.arg("keyword"), v.page()
    data, error = v.actions.try_data(action, PageNumber=number, PageSize=PAGE_SIZE, Keyword=keyword or None,
                                     **_where(scope), **params)
    if error is not None and error.forbidden:
        raise error
    return v.render(template, project=project, scope=scope, keyword=keyword, page=number, data=data, error=error,
                    schema_types=SCHEMA_TYPES, lake=LAKE)


@pages.get("/p/{project_id}/catalog/databases")
def databases(v: View) -> Response:
    return _list(v, "ListDatabase", "catalog_databases.html")


@pages.get("/p/{project_id}/catalog/schemas")
def schemas(v: View) -> Response:
    return _list(v, "ListSchema", "catalog_schemas.html", DatabaseName=v.arg("database") or None)


@pages.get("/p/{project_id}/catalog/tables")
def tables(v: View) -> Response:
    return _list(v, "ListTable", "catalog_tables.html", DatabaseName=v.arg("database") or None,
                 SchemaName=v.arg("schema") or None)


@pages.get("/p/{project_id}/catalog/tables/{guid}")
def table(v: View) -> Response:
    project_id, guid = v.param("project_id"), v.param("guid")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    v.require_member(project_id)
    info = a.data("GetTable", TableGuid=guid)
    columns = a.data("GetTableColumns", TableGuid=guid) or []
    return v.render("catalog_table.html", project=project, table=info, guid=guid,
                    columns=sorted(columns, key=lambda c: c.position if c.position is not None else 0))
