"""CreateCodeFile, GetCodeFile, UpdateCodeFile, DeleteCodeFile (rules: services/code/files.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.code import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateCodeFile")
def create_code_file(services: Services, ctx: RequestContext, req: M.CreateCodeFileRequest) -> M.CreateCodeFileResponse:
    return M.CreateCodeFileResponse(data=wire.code_file(services.code_files.create(ctx.caller, req)))


@action("GetCodeFile")
def get_code_file(services: Services, ctx: RequestContext, req: M.GetCodeFileRequest) -> M.GetCodeFileResponse:
    # IncludeContent false (the default): the configuration without the content.
    found = services.code_files.get(ctx.caller, req.project_id, req.code_file_id, content=bool(req.include_content))
    return M.GetCodeFileResponse(data=wire.code_file(found))


@action("UpdateCodeFile")
def update_code_file(services: Services, ctx: RequestContext, req: M.UpdateCodeFileRequest) -> M.UpdateCodeFileResponse:
    return M.UpdateCodeFileResponse(data=wire.code_file(services.code_files.update(ctx.caller, req)))


@action("DeleteCodeFile")
def delete_code_file(services: Services, ctx: RequestContext, req: M.DeleteCodeFileRequest) -> M.DeleteCodeFileResponse:
    services.code_files.delete(ctx.caller, req.project_id, req.code_file_id)
    return M.DeleteCodeFileResponse(data=M.CodeStudioFileActionResult(status=True, code_file_id=req.code_file_id))
