"""Task instances (WeData 2025-08-06 §1 F): reads over the scheduler engine.

Rules: ``services/instances/`` (instances.py, query.py, logs.py); shapes: ``wire.py``.
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


@action("GetTaskInstance", standing_in_read=True)  # checked on the standing its statement reads (registry.py)
def get_task_instance(
    services: Services, ctx: RequestContext, req: M.GetTaskInstanceRequest
) -> M.GetTaskInstanceResponse:
    zone = check_zone(req.time_zone)
    row, standing = services.instances.get_instance(req.project_id, req.instance_key, zone, ctx.caller)
    services.authorizer.remember(standing, ctx.extras)
    return M.GetTaskInstanceResponse(data=wire.instance_detail(row, zone))


@action("ListTaskInstances")
def list_task_instances(
    services: Services, ctx: RequestContext, req: M.ListTaskInstancesRequest
) -> M.ListTaskInstancesResponse:
    zone = check_zone(req.time_zone)
    return M.ListTaskInstancesResponse(data=wire.instance_page(services.instances.list_instances(req), zone))


@action("GetTaskInstanceLog")
def get_task_instance_log(
    services: Services, ctx: RequestContext, req: M.GetTaskInstanceLogRequest
) -> M.GetTaskInstanceLogResponse:
    return M.GetTaskInstanceLogResponse(data=wire.instance_log(services.instances.get_log(req)))


@action("ListTaskInstanceExecutions")
def list_task_instance_executions(
    services: Services, ctx: RequestContext, req: M.ListTaskInstanceExecutionsRequest
) -> M.ListTaskInstanceExecutionsResponse:
    zone = check_zone(req.time_zone)
    executions = services.instances.list_executions(req)
    return M.ListTaskInstanceExecutionsResponse(data=wire.executions(executions, zone))
