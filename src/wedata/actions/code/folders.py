"""CreateCodeFolder, GetCodeFolder, UpdateCodeFolder, DeleteCodeFolder, ListCodeFolderContents
(rules: services/code/folders.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.code import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateCodeFolder")
def create_code_folder(services: Services, ctx: RequestContext, req: M.CreateCodeFolderRequest) -> M.CreateCodeFolderResponse:
    folder_id = services.code_folders.create(ctx.caller, req)
    return M.CreateCodeFolderResponse(data=M.CodeStudioFolderResult(folder_id=folder_id))


@action("GetCodeFolder")
def get_code_folder(services: Services, ctx: RequestContext, req: M.GetCodeFolderRequest) -> M.GetCodeFolderResponse:
    return M.GetCodeFolderResponse(data=wire.folder_node(services.code_folders.get(ctx.caller, req.project_id,
                                                                                   req.folder_id)))


@action("UpdateCodeFolder")
def update_code_folder(services: Services, ctx: RequestContext, req: M.UpdateCodeFolderRequest) -> M.UpdateCodeFolderResponse:
    services.code_folders.update(ctx.caller, req)
    return M.UpdateCodeFolderResponse(data=M.CodeStudioFolderActionResult(status=True, folder_id=req.folder_id))


@action("DeleteCodeFolder")
def delete_code_folder(services: Services, ctx: RequestContext, req: M.DeleteCodeFolderRequest) -> M.DeleteCodeFolderResponse:
    services.code_folders.delete(ctx.caller, req.project_id, req.folder_id)
    return M.DeleteCodeFolderResponse(data=M.CodeStudioFolderActionResult(status=True, folder_id=req.folder_id))


@action("ListCodeFolderContents")
def list_code_folder_contents(
    services: Services, ctx: RequestContext, req: M.ListCodeFolderContentsRequest
) -> M.ListCodeFolderContentsResponse:
    nodes = services.code_folders.contents(ctx.caller, req)
    return M.ListCodeFolderContentsResponse(data=[wire.folder_node(n) for n in nodes])
