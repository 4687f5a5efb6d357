"""Task instances (WeData 2025-08-06 §1 F): reads over the scheduler engine.

Rules: ``services/instances/instances.py`` (and instance_query.py, instance_logs.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("GetTaskInstance")
def get_task_instance(
    services: Services, ctx: RequestContext, req: M.GetTaskInstanceRequest
) -> M.GetTaskInstanceResponse:
    return M.GetTaskInstanceResponse(
        data=services.instances.get_instance(req.project_id, req.instance_key, req.time_zone)
    )


@action("ListTaskInstances")
def list_task_instances(
    services: Services, ctx: RequestContext, req: M.ListTaskInstancesRequest
) -> M.ListTaskInstancesResponse:
    return M.ListTaskInstancesResponse(data=services.instances.list_instances(req))


@action("GetTaskInstanceLog")
def get_task_instance_log(
    services: Services, ctx: RequestContext, req: M.GetTaskInstanceLogRequest
) -> M.GetTaskInstanceLogResponse:
    return M.GetTaskInstanceLogResponse(data=services.instances.get_log(req))


@action("ListTaskInstanceExecutions")
def list_task_instance_executions(
    services: Services, ctx: RequestContext, req: M.ListTaskInstanceExecutionsRequest
) -> M.ListTaskInstanceExecutionsResponse:
    return M.ListTaskInstanceExecutionsResponse(data=services.instances.list_executions(req))
