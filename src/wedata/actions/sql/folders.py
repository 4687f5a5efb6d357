"""CreateSQLFolder, GetSQLFolder, UpdateSQLFolder, DeleteSQLFolder, ListSQLFolderContents
(rules: services/sql/folders.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.registry import action
from wedata.actions.sql import wire
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateSQLFolder")
def create_sql_folder(services: Services, ctx: RequestContext, req: M.CreateSQLFolderRequest) -> M.CreateSQLFolderResponse:
    folder_id = services.sql_folders.create(ctx.caller, req)
    return M.CreateSQLFolderResponse(data=M.SqlCreateResult(folder_id=folder_id))


@action("GetSQLFolder")
def get_sql_folder(services: Services, ctx: RequestContext, req: M.GetSQLFolderRequest) -> M.GetSQLFolderResponse:
    return M.GetSQLFolderResponse(data=wire.folder_node(services.sql_folders.get(ctx.caller, req.project_id,
                                                                                 req.folder_id)))


@action("UpdateSQLFolder")
def update_sql_folder(services: Services, ctx: RequestContext, req: M.UpdateSQLFolderRequest) -> M.UpdateSQLFolderResponse:
    services.sql_folders.update(ctx.caller, req)
    return M.UpdateSQLFolderResponse(data=M.SQLContentActionResult(status=True, folder_id=req.folder_id))


@action("DeleteSQLFolder")
def delete_sql_folder(services: Services, ctx: RequestContext, req: M.DeleteSQLFolderRequest) -> M.DeleteSQLFolderResponse:
    services.sql_folders.delete(ctx.caller, req.project_id, req.folder_id)
    return M.DeleteSQLFolderResponse(data=M.SQLContentActionResult(status=True, folder_id=req.folder_id))


@action("ListSQLFolderContents")
def list_sql_folder_contents(
    services: Services, ctx: RequestContext, req: M.ListSQLFolderContentsRequest
) -> M.ListSQLFolderContentsResponse:
    return M.ListSQLFolderContentsResponse(data=[wire.folder_node(n) for n in services.sql_folders.contents(ctx.caller,
                                                                                                          req)])
