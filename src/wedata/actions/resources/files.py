"""CreateResourceFile, GetResourceFile, UpdateResourceFile, DeleteResourceFile, ListResourceFiles
(rules: services/resources/files.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.registry import action
from wedata.actions.resources import wire
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateResourceFile")
def create_resource_file(services: Services, ctx: RequestContext,
                         req: M.CreateResourceFileRequest) -> M.CreateResourceFileResponse:
    return M.CreateResourceFileResponse(data=M.CreateResourceFileResult(
        resource_id=services.resource_files.create(ctx.caller, req)))


@action("GetResourceFile")
def get_resource_file(services: Services, ctx: RequestContext, req: M.GetResourceFileRequest) -> M.GetResourceFileResponse:
    return M.GetResourceFileResponse(data=wire.resource_file(services.resource_files.get(req.project_id,
                                                                                        req.resource_id)))


@action("UpdateResourceFile")
def update_resource_file(services: Services, ctx: RequestContext,
                         req: M.UpdateResourceFileRequest) -> M.UpdateResourceFileResponse:
    services.resource_files.update(ctx.caller, req)
    return M.UpdateResourceFileResponse(data=M.UpdateResourceFileResult(status=True))


@action("DeleteResourceFile")
def delete_resource_file(services: Services, ctx: RequestContext,
                         req: M.DeleteResourceFileRequest) -> M.DeleteResourceFileResponse:
    services.resource_files.delete(req.project_id, req.resource_id)
    return M.DeleteResourceFileResponse(data=M.DeleteResourceFileResult(status=True))


@action("ListResourceFiles")
def list_resource_files(services: Services, ctx: RequestContext,
                        req: M.ListResourceFilesRequest) -> M.ListResourceFilesResponse:
    return M.ListResourceFilesResponse(data=wire.file_page(services.resource_files.list(req)))
