"""RunSQLScript, GetSQLRunResult, StopSQLScriptRun, ListSQLScriptRuns (rules: services/sql/runs.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.registry import action
from wedata.actions.sql import wire
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("RunSQLScript")
def run_sql_script(services: Services, ctx: RequestContext, req: M.RunSQLScriptRequest) -> M.RunSQLScriptResponse:
    return M.RunSQLScriptResponse(data=wire.job(services.sql_runs.submit(ctx.caller, req)))


@action("GetSQLRunResult")
def get_sql_run_result(services: Services, ctx: RequestContext, req: M.GetSQLRunResultRequest) -> M.GetSQLRunResultResponse:
    res = services.sql_runs.result(ctx.caller, req.project_id, req.job_id, req.job_execution_id)
    return M.GetSQLRunResultResponse(data=wire.result(res))


@action("StopSQLScriptRun")
def stop_sql_script_run(services: Services, ctx: RequestContext, req: M.StopSQLScriptRunRequest) -> M.StopSQLScriptRunResponse:
    services.sql_runs.stop(ctx.caller, req.project_id, req.job_id)
    return M.StopSQLScriptRunResponse(data=M.SQLStopResult(status=True))


@action("ListSQLScriptRuns")
def list_sql_script_runs(services: Services, ctx: RequestContext, req: M.ListSQLScriptRunsRequest) -> M.ListSQLScriptRunsResponse:
    return M.ListSQLScriptRunsResponse(data=[wire.job(r) for r in services.sql_runs.list_runs(ctx.caller, req)])
