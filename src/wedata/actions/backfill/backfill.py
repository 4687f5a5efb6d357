"""Data backfill plans (WeData 2025-08-06 §1 G): create, read, list instances, delete.

Rules: ``services/backfill/plans.py`` (and build/create/release/delete.py); answers are rendered
by ``wire.py``; the contract is docs/backfill.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.backfill import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


class CreateDataBackfillPlanLenient(M.CreateDataBackfillPlanRequest, kw_only=True):
    """``RedefineParamList`` is ``[KVPair]`` here but a single ``KVMap`` object in
    RerunTaskInstancesAsync; both shapes are accepted in both places (spec §6.3)."""

    redefine_param_list: list[M.KVPair] | M.KVPair | None = None  # type: ignore[assignment]


@action("CreateDataBackfillPlan", request=CreateDataBackfillPlanLenient)
def create_data_backfill_plan(
    services: Services, ctx: RequestContext, req: CreateDataBackfillPlanLenient
) -> M.CreateDataBackfillPlanResponse:
    plan_id = services.backfill.create_plan(req, ctx.caller.uin)
    return M.CreateDataBackfillPlanResponse(data=wire.created(plan_id))


@action("GetDataBackfillPlan")
def get_data_backfill_plan(
    services: Services, ctx: RequestContext, req: M.GetDataBackfillPlanRequest
) -> M.GetDataBackfillPlanResponse:
    detail = services.backfill.get_plan(req.project_id, req.data_backfill_plan_id, req.time_zone)
    return M.GetDataBackfillPlanResponse(data=wire.plan(detail))


@action("ListDataBackfillInstances")
def list_data_backfill_instances(
    services: Services, ctx: RequestContext, req: M.ListDataBackfillInstancesRequest
) -> M.ListDataBackfillInstancesResponse:
    return M.ListDataBackfillInstancesResponse(data=wire.member_page(services.backfill.list_instances(req)))


@action("DeleteDataBackfillPlanAsync")
def delete_data_backfill_plan_async(
    services: Services, ctx: RequestContext, req: M.DeleteDataBackfillPlanAsyncRequest
) -> M.DeleteDataBackfillPlanAsyncResponse:
    async_id = services.backfill.delete_plan(req.project_id, req.data_backfill_plan_id, ctx.caller.uin)
    return M.DeleteDataBackfillPlanAsyncResponse(data=wire.deletion_job(async_id))
