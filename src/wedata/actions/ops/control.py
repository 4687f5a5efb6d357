"""Operations on instances and production tasks (spec §1 E-F, §2.6-2.7, §6.22):
RerunTaskInstancesAsync, KillTaskInstancesAsync, SetSuccessTaskInstancesAsync,
PauseOpsTasksAsync, StopOpsTasksAsync, StartOpsTasks, UpdateOpsTasksOwner, GetOpsAsyncJob.

The ``*Async`` actions validate up front (bad values InvalidParameterValue, unknown instances or
tasks ResourceNotFound), record a job and answer its AsyncId at once; the job worker carries it
out (services/jobs.py) and GetOpsAsyncJob reports progress and the per-item failures.
Every action here that changes production needs a role that operates (a Visitor only reads:
services/projects/access.py), checked before anything else.
Rules: services/ops/instance_control.py, rerun.py, task_status.py; shapes: wire.py;
docs/operations.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.ops import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


class RerunRequest(M.RerunTaskInstancesAsyncRequest):
    """RedefineParamList is a single KVMap in this action but a KVPair list in
    CreateDataBackfillPlan; both shapes are accepted (spec §6.3)."""

    redefine_param_list: M.KVMap | list[M.KVPair] | None = None  # type: ignore[assignment]  # widened on purpose


@action("RerunTaskInstancesAsync", request=RerunRequest, operate=True)
def rerun_task_instances_async(
    services: Services, ctx: RequestContext, req: RerunRequest
) -> M.RerunTaskInstancesAsyncResponse:
    async_id = services.ops_rerun.rerun(req, ctx.caller.uin)
    return M.RerunTaskInstancesAsyncResponse(data=wire.async_answer(async_id))


@action("KillTaskInstancesAsync", operate=True)
def kill_task_instances_async(
    services: Services, ctx: RequestContext, req: M.KillTaskInstancesAsyncRequest
) -> M.KillTaskInstancesAsyncResponse:
    async_id = services.instance_ops.kill(req.project_id, req.instance_key_list, ctx.caller.uin)
    return M.KillTaskInstancesAsyncResponse(data=wire.async_answer(async_id))


@action("SetSuccessTaskInstancesAsync", operate=True)
def set_success_task_instances_async(
    services: Services, ctx: RequestContext, req: M.SetSuccessTaskInstancesAsyncRequest
) -> M.SetSuccessTaskInstancesAsyncResponse:
    async_id = services.instance_ops.set_success(req.project_id, req.instance_key_list, ctx.caller.uin)
    return M.SetSuccessTaskInstancesAsyncResponse(data=wire.async_answer(async_id))


@action("PauseOpsTasksAsync", operate=True)
def pause_ops_tasks_async(
    services: Services, ctx: RequestContext, req: M.PauseOpsTasksAsyncRequest
) -> M.PauseOpsTasksAsyncResponse:
    async_id = services.task_ops.pause(req.project_id, req.task_ids, req.kill_instance, ctx.caller.uin)
    return M.PauseOpsTasksAsyncResponse(data=wire.async_answer(async_id))


@action("StopOpsTasksAsync", operate=True)
def stop_ops_tasks_async(
    services: Services, ctx: RequestContext, req: M.StopOpsTasksAsyncRequest
) -> M.StopOpsTasksAsyncResponse:
    async_id = services.task_ops.stop(req.project_id, req.task_ids, req.kill_instance, ctx.caller.uin)
    return M.StopOpsTasksAsyncResponse(data=wire.async_answer(async_id))


@action("StartOpsTasks", operate=True)
def start_ops_tasks(services: Services, ctx: RequestContext, req: M.StartOpsTasksRequest) -> M.StartOpsTasksResponse:
    ok = services.task_ops.start(req.project_id, req.task_ids, req.enable_data_backfill, ctx.caller.uin)
    return M.StartOpsTasksResponse(data=wire.tasks_started(ok))


@action("UpdateOpsTasksOwner", operate=True)
def update_ops_tasks_owner(
    services: Services, ctx: RequestContext, req: M.UpdateOpsTasksOwnerRequest
) -> M.UpdateOpsTasksOwnerResponse:
    ok = services.task_ops.update_owner(req.project_id, req.task_ids, req.owner_uin, ctx.caller.uin)
    return M.UpdateOpsTasksOwnerResponse(data=wire.owner_updated(ok))


@action("GetOpsAsyncJob")
def get_ops_async_job(services: Services, ctx: RequestContext, req: M.GetOpsAsyncJobRequest) -> M.GetOpsAsyncJobResponse:
    job = services.ops_jobs.get(req.project_id, req.async_id)
    return M.GetOpsAsyncJobResponse(data=wire.async_job(job))
