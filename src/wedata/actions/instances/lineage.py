"""Instance lineage (WeData 2025-08-06 §1 F): the direct upstream and downstream instances of a
task instance, as TaskInstancePage. Rules: ``services/instances/lineage.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("ListUpstreamTaskInstances")
def list_upstream_task_instances(
    services: Services, ctx: RequestContext, req: M.ListUpstreamTaskInstancesRequest
) -> M.ListUpstreamTaskInstancesResponse:
    return M.ListUpstreamTaskInstancesResponse(data=services.instance_lineage.upstream(
        req.project_id, req.instance_key, req.time_zone, req.page_number, req.page_size))


@action("ListDownstreamTaskInstances")
def list_downstream_task_instances(
    services: Services, ctx: RequestContext, req: M.ListDownstreamTaskInstancesRequest
) -> M.ListDownstreamTaskInstancesResponse:
    return M.ListDownstreamTaskInstancesResponse(data=services.instance_lineage.downstream(
        req.project_id, req.instance_key, req.time_zone, req.page_number, req.page_size))
