"""CreateResourceFolder, GetResourceFolder, UpdateResourceFolder, DeleteResourceFolder,
ListResourceFolders (rules: services/resources/folders.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.registry import action
from wedata.actions.resources import wire
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateResourceFolder")
def create_resource_folder(services: Services, ctx: RequestContext,
                           req: M.CreateResourceFolderRequest) -> M.CreateResourceFolderResponse:
    return M.CreateResourceFolderResponse(data=M.CreateFolderResult(
        folder_id=services.resource_folders.create(ctx.caller, req)))


@action("GetResourceFolder")
def get_resource_folder(services: Services, ctx: RequestContext,
                        req: M.GetResourceFolderRequest) -> M.GetResourceFolderResponse:
    return M.GetResourceFolderResponse(data=wire.folder_detail(services.resource_folders.get(req.project_id,
                                                                                            req.folder_id)))


@action("UpdateResourceFolder")
def update_resource_folder(services: Services, ctx: RequestContext,
                           req: M.UpdateResourceFolderRequest) -> M.UpdateResourceFolderResponse:
    services.resource_folders.update(ctx.caller, req)
    return M.UpdateResourceFolderResponse(data=M.UpdateFolderResult(status=True))


@action("DeleteResourceFolder")
def delete_resource_folder(services: Services, ctx: RequestContext,
                           req: M.DeleteResourceFolderRequest) -> M.DeleteResourceFolderResponse:
    services.resource_folders.delete(req.project_id, req.folder_id)
    return M.DeleteResourceFolderResponse(data=M.DeleteFolderResult(status=True))


@action("ListResourceFolders")
def list_resource_folders(services: Services, ctx: RequestContext,
                          req: M.ListResourceFoldersRequest) -> M.ListResourceFoldersResponse:
    return M.ListResourceFoldersResponse(data=wire.folder_page(services.resource_folders.list(req)))
