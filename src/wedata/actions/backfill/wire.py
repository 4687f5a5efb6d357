"""Data backfill records -> WeData 2025-08-06 Structs: the one place this domain renders answers.

Times: GetDataBackfillPlan's StartTime/EndTime in the request's TimeZone (UTC+8 by default);
ListDataBackfillInstances' StartTime/EndTime in UTC+8 and CurRunDate unshifted (the data time
in the task's own zone); CostTime ``HH:mm:ss.SSS``.
"""

from __future__ import annotations

from wedata.scheduling.datatimes import format_wall
from wedata.services.backfill.plans import MemberRun, PlanDetail
from wedata.services.common import Paged, fmt_time
from wedata.spec import models as M


def created(plan_id: str) -> M.CreateDataReplenishmentPlan:
    return M.CreateDataReplenishmentPlan(data_backfill_plan_id=plan_id)


def deletion_job(async_id: str) -> M.OpsAsyncResponse:
    return M.OpsAsyncResponse(async_id=async_id)


def cost_text(ms: int | None) -> str | None:
    """BackfillInstance.CostTime: ``HH:mm:ss.SSS`` (hours may pass 24)."""
    if ms is None:
        return None
    seconds, millis = divmod(max(0, int(ms)), 1000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours:02d}:{minute:02d}:{sec:02d}.{millis:03d}"


def plan(detail: PlanDetail) -> M.DataBackfill:
    p, zone = detail.plan, detail.zone
    params = p["redefine_param_list"]
    return M.DataBackfill(
        project_id=p["project_id"],
        data_backfill_plan_id=p["id"],
        data_backfill_plan_name=p["name"],
        task_ids=list(p["task_ids"]),
        data_backfill_range_list=[
            M.DataBackfillRange(
                start_date=r["StartDate"], end_date=r["EndDate"], execution_start_time=r["ExecutionStartTime"],
                execution_end_time=r["ExecutionEndTime"],
            )
            for r in p["ranges"]
        ],
        check_parent_type=p["check_parent_type"],
        skip_event_listening=p["skip_event_listening"],
        redefine_parallel_num=p["redefine_parallel_num"],
        redefine_self_workflow_dependency=p["redefine_self_workflow_dependency"] or "no",
        scheduler_resource_group_id=p["scheduler_resource_group_id"],
        integration_resource_group_id=p["integration_resource_group_id"],
        redefine_cycle_type=p["redefine_cycle_type"],
        redefine_param_list=[M.KVPair(k=kv["K"], v=kv["V"]) for kv in params] if params else None,
        start_time=fmt_time(detail.first_started, zone),
        end_time=fmt_time(p["ended_at"], zone),
        create_user_uin=p["create_user_uin"],
        complete_percent=detail.complete_percent,
        success_percent=detail.success_percent,
        data_time_order=p["data_time_order"],
    )


def member(run: MemberRun) -> M.BackfillInstance:
    return M.BackfillInstance(
        task_name=run.task_name, task_id=run.task_id, cur_run_date=format_wall(run.data_time), state=run.state,
        start_time=fmt_time(run.started_at), end_time=fmt_time(run.ended_at), cost_time=cost_text(run.cost_ms),
    )


def member_page(paged: Paged[MemberRun]) -> M.BackfillInstanceCollection:
    return M.BackfillInstanceCollection(
        page_number=paged.page.number, page_size=paged.page.size, total_page_number=paged.total_pages,
        total_count=paged.total, items=[member(r) for r in paged.items],
    )
