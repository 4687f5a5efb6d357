"""Workflow runs (spec §1 I): CreateTriggerWorkflowRun, GetTriggerWorkflowRun,
ListTriggerWorkflowRuns, GetTriggerTaskRun, ListTriggerTaskRuns, KillTriggerWorkflowRuns,
RerunTriggerWorkflowRunAsync."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from wedata.actions.registry import action
from wedata.actions.triggers import wire
from wedata.protocol.context import RequestContext
from wedata.protocol.params import limit_items
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateTriggerWorkflowRun")
def create_trigger_workflow_run(services: Services, ctx: RequestContext,
                                req: M.CreateTriggerWorkflowRunRequest) -> M.CreateTriggerWorkflowRunResponse:
    params = [msgspec.to_builtins(p) for p in req.advanced_params] if req.advanced_params is not None else None
    execution_id = services.trigger_runs.create_run(req.project_id, ctx.caller, req.workflow_id, params, req.task_ids)
    return M.CreateTriggerWorkflowRunResponse(
        data=M.CreateTriggerWorkflowRunResult(workflow_execution_id=execution_id))


@action("GetTriggerWorkflowRun")
def get_trigger_workflow_run(services: Services, ctx: RequestContext,
                             req: M.GetTriggerWorkflowRunRequest) -> M.GetTriggerWorkflowRunResponse:
    limit_items(req.filters, "Filters")
    run, tasks = services.trigger_run_reads.get_run(req.project_id, req.workflow_execution_id, req.filters,
                                                    req.order_fields)
    depends = services.trigger_run_reads.upstream_of(tasks)
    return M.GetTriggerWorkflowRunResponse(data=wire.run_detail(run, tasks, depends))


@action("ListTriggerWorkflowRuns")
def list_trigger_workflow_runs(services: Services, ctx: RequestContext,
                               req: M.ListTriggerWorkflowRunsRequest) -> M.ListTriggerWorkflowRunsResponse:
    limit_items(req.filters, "Filters")
    return M.ListTriggerWorkflowRunsResponse(data=wire.run_page(services.trigger_run_reads.list_runs(req)))


@action("GetTriggerTaskRun")
def get_trigger_task_run(services: Services, ctx: RequestContext,
                         req: M.GetTriggerTaskRunRequest) -> M.GetTriggerTaskRunResponse:
    row = services.trigger_run_reads.get_task_run(req.project_id, req.task_execution_id)
    depends = services.trigger_run_reads.upstream_of([row])
    return M.GetTriggerTaskRunResponse(data=wire.task_run(row, depends.get(row.execution_id)))


@action("ListTriggerTaskRuns")
def list_trigger_task_runs(services: Services, ctx: RequestContext,
                           req: M.ListTriggerTaskRunsRequest) -> M.ListTriggerTaskRunsResponse:
    limit_items(req.filters, "Filters")
    return M.ListTriggerTaskRunsResponse(data=wire.task_run_page(services.trigger_run_reads.list_task_runs(req)))


@action("KillTriggerWorkflowRuns")
def kill_trigger_workflow_runs(services: Services, ctx: RequestContext,
                               req: M.KillTriggerWorkflowRunsRequest) -> M.KillTriggerWorkflowRunsResponse:
    done = services.trigger_runs.kill_runs(req.project_id, req.workflow_id, ctx.caller, req.workflow_execution_id_list,
                                           req.all, req.pending)
    return M.KillTriggerWorkflowRunsResponse(data=[
        M.ExecutionActionBrief(item_id=eid, item_name=name, execution_action_id=eid, error_message=None, op_status=True)
        for eid, name in done
    ])


@action("RerunTriggerWorkflowRunAsync", operate=True)
def rerun_trigger_workflow_run_async(services: Services, ctx: RequestContext,
                                     req: M.RerunTriggerWorkflowRunAsyncRequest) -> M.RerunTriggerWorkflowRunAsyncResponse:
    params = [msgspec.to_builtins(p) for p in req.advanced_params] if req.advanced_params is not None else None
    async_id = services.trigger_rerun.request(
        req.project_id, ctx.caller, req.workflow_id, req.workflow_execution_id, req.execute_type, params,
        req.task_ids, (req.scheduling_resource_group, req.integration_resource_group))
    return M.RerunTriggerWorkflowRunAsyncResponse(data=M.OpsAsyncResponse(async_id=async_id))
