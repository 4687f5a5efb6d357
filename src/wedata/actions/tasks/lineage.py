"""Dev-side lineage lists (spec §2.4): ListUpstreamTasks, ListDownstreamTasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.services.common import Page, page
from wedata.services.tasks.lineage import DependencyView
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


def _dto(v: DependencyView) -> M.TaskDependDto:
    return M.TaskDependDto(
        task_id=v.task_id,
        task_name=v.task_name,
        workflow_id=v.workflow_id,
        workflow_name=v.workflow_name,
        project_id=v.project_id,
        status=v.status,
        task_type_id=v.task_type_id,
        task_type_desc=v.task_type_desc,
        schedule_desc=v.schedule_desc,
        start_time=v.start_time,
        end_time=v.end_time,
        delay_time=v.delay_time,
        cycle_type=v.cycle_type,
        owner_uin=v.owner_uin,
        task_action=v.task_action,
        init_strategy=v.init_strategy,
        crontab_expression=v.crontab_expression,
    )


def _page(pg: Page, views: list[DependencyView], total: int) -> M.DependencyConfigPage:
    return M.DependencyConfigPage(
        total_count=total,
        total_page_number=pg.total_pages(total),
        page_number=pg.number,
        page_size=pg.size,
        items=[_dto(v) for v in views],
    )


@action("ListUpstreamTasks")
def list_upstream_tasks(
    services: Services, ctx: RequestContext, req: M.ListUpstreamTasksRequest
) -> M.ListUpstreamTasksResponse:
    pg = page(req.page_number, req.page_size)
    views, total = services.task_dependencies.list_upstream(req.project_id, req.task_id, pg)
    return M.ListUpstreamTasksResponse(data=_page(pg, views, total))


@action("ListDownstreamTasks")
def list_downstream_tasks(
    services: Services, ctx: RequestContext, req: M.ListDownstreamTasksRequest
) -> M.ListDownstreamTasksResponse:
    pg = page(req.page_number, req.page_size)
    views, total = services.task_dependencies.list_downstream(req.project_id, req.task_id, pg)
    return M.ListDownstreamTasksResponse(data=_page(pg, views, total))
