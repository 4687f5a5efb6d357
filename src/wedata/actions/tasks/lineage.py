"""Dev-side lineage lists (spec §2.4): ListUpstreamTasks, ListDownstreamTasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.registry import action
from wedata.actions.tasks import wire
from wedata.protocol.context import RequestContext
from wedata.services.common import page
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("ListUpstreamTasks")
def list_upstream_tasks(
    services: Services, ctx: RequestContext, req: M.ListUpstreamTasksRequest
) -> M.ListUpstreamTasksResponse:
    pg = page(req.page_number, req.page_size)
    views, total = services.task_dependencies.list_upstream(req.project_id, req.task_id, pg)
    return M.ListUpstreamTasksResponse(data=wire.dependency_page(views, total, pg))


@action("ListDownstreamTasks")
def list_downstream_tasks(
    services: Services, ctx: RequestContext, req: M.ListDownstreamTasksRequest
) -> M.ListDownstreamTasksResponse:
    pg = page(req.page_number, req.page_size)
    views, total = services.task_dependencies.list_downstream(req.project_id, req.task_id, pg)
    return M.ListDownstreamTasksResponse(data=wire.dependency_page(views, total, pg))
