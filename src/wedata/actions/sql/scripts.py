"""CreateSQLScript, GetSQLScript, UpdateSQLScript, DeleteSQLScript (rules: services/sql/scripts.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.registry import action
from wedata.actions.sql import wire
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateSQLScript")
def create_sql_script(services: Services, ctx: RequestContext, req: M.CreateSQLScriptRequest) -> M.CreateSQLScriptResponse:
    return M.CreateSQLScriptResponse(data=wire.script(services.sql_scripts.create(ctx.caller, req)))


@action("GetSQLScript")
def get_sql_script(services: Services, ctx: RequestContext, req: M.GetSQLScriptRequest) -> M.GetSQLScriptResponse:
    return M.GetSQLScriptResponse(data=wire.script(services.sql_scripts.get(ctx.caller, req.project_id, req.script_id)))


@action("UpdateSQLScript")
def update_sql_script(services: Services, ctx: RequestContext, req: M.UpdateSQLScriptRequest) -> M.UpdateSQLScriptResponse:
    return M.UpdateSQLScriptResponse(data=wire.script(services.sql_scripts.update(ctx.caller, req)))


@action("DeleteSQLScript")
def delete_sql_script(services: Services, ctx: RequestContext, req: M.DeleteSQLScriptRequest) -> M.DeleteSQLScriptResponse:
    services.sql_scripts.delete(ctx.caller, req.project_id, req.script_id)
    return M.DeleteSQLScriptResponse(data=M.SQLContentActionResult(status=True, folder_id=None))
