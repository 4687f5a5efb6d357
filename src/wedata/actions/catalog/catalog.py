"""ListCatalog, ListDatabase, ListSchema, ListTable, GetTable, GetTableColumns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.catalog import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("ListCatalog", project_scoped=False)
def list_catalog(services: Services, ctx: RequestContext, req: M.ListCatalogRequest) -> M.ListCatalogResponse:
    return M.ListCatalogResponse(data=wire.catalog_page(services.catalog.list_catalogs(ctx.caller, req)))


@action("ListDatabase", project_scoped=False)
def list_database(services: Services, ctx: RequestContext, req: M.ListDatabaseRequest) -> M.ListDatabaseResponse:
    return M.ListDatabaseResponse(data=wire.database_page(services.catalog.list_databases(ctx.caller, req)))


@action("ListSchema", project_scoped=False)
def list_schema(services: Services, ctx: RequestContext, req: M.ListSchemaRequest) -> M.ListSchemaResponse:
    return M.ListSchemaResponse(data=wire.schema_page(services.catalog.list_schemas(ctx.caller, req)))


@action("ListTable", project_scoped=False)
def list_table(services: Services, ctx: RequestContext, req: M.ListTableRequest) -> M.ListTableResponse:
    return M.ListTableResponse(data=wire.table_page(services.catalog.list_tables(ctx.caller, req)))


@action("GetTable", project_scoped=False)
def get_table(services: Services, ctx: RequestContext, req: M.GetTableRequest) -> M.GetTableResponse:
    return M.GetTableResponse(data=wire.table(services.catalog.get_table(ctx.caller, req.table_guid)))


@action("GetTableColumns", project_scoped=False)
def get_table_columns(
    services: Services, ctx: RequestContext, req: M.GetTableColumnsRequest
) -> M.GetTableColumnsResponse:
    columns = services.catalog.table_columns(ctx.caller, req.table_guid)
    return M.GetTableColumnsResponse(data=[wire.column(c) for c in columns])
