"""Instance lineage (WeData 2025-08-06 §1 F): the direct upstream and downstream instances of a
task instance, as TaskInstancePage. Rules: ``services/instances/lineage.py``; shapes: ``wire.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.instances import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.services.instances.query import check_zone
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("ListUpstreamTaskInstances")
def list_upstream_task_instances(
    services: Services, ctx: RequestContext, req: M.ListUpstreamTaskInstancesRequest
) -> M.ListUpstreamTaskInstancesResponse:
    zone = check_zone(req.time_zone)
    rows = services.instance_lineage.upstream(
        req.project_id, req.instance_key, zone, req.page_number, req.page_size
    )
    return M.ListUpstreamTaskInstancesResponse(data=wire.instance_page(rows, zone))


@action("ListDownstreamTaskInstances")
def list_downstream_task_instances(
    services: Services, ctx: RequestContext, req: M.ListDownstreamTaskInstancesRequest
) -> M.ListDownstreamTaskInstancesResponse:
    zone = check_zone(req.time_zone)
    rows = services.instance_lineage.downstream(
        req.project_id, req.instance_key, zone, req.page_number, req.page_size
    )
    return M.ListDownstreamTaskInstancesResponse(data=wire.instance_page(rows, zone))
