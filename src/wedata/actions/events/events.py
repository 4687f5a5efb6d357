"""Events through WeData API 2021-08-20 on the same endpoint (routed by ``X-TC-Version``).

API 2025-08-06 can make tasks wait for events (``EventListenerList``) but cannot fire them, so
the 2021 event actions are served too (spec §3.14, §6.23): RegisterEvent, RegisterDsEvent,
TriggerEvent, TriggerDsEvent, DescribeEvent, DescribeEventCases. Every other 2021 action is
known (``UnsupportedOperation``); names of neither version are ``InvalidAction``.

Rules: services/events/events.py, event_consume.py, event_views.py; contract and decisions: docs/events.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from wedata.actions.registry import action, register_version
from wedata.protocol.context import RequestContext
from wedata.services.events.views import CaseQuery
from wedata.spec import v20210820 as V

if TYPE_CHECKING:
    from wedata.services.container import Services

VERSION = V.VERSION

# Before the decorators below run: they look the request Structs up in the registry.
register_version(VERSION, {name: op.request for name, op in V.OPERATIONS.items()}, known=V.ALL_ACTIONS)


def _items(structs: list[Any] | None) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(s) for s in structs or []]


@action("RegisterEvent", version=VERSION)
def register_event(services: Services, ctx: RequestContext, req: V.RegisterEventRequest) -> V.RegisterEventResponse:
    services.events.register(
        req.project_id,
        ctx.caller,
        name=req.name,
        sub_type=req.event_sub_type,
        broadcast_type=req.event_broadcast_type,
        time_unit=req.time_unit,
        owner=req.owner,
        event_type=req.event_type,
        dimension_format=req.dimension_format,
        time_to_live=req.time_to_live,
        ttl_required=False,
        description=req.description,
        valid_consume_count=None,
    )
    return V.RegisterEventResponse(data=V.BatchReturn(result=True, error_desc=None, error_id=None))


@action("RegisterDsEvent", version=VERSION)
def register_ds_event(
    services: Services, ctx: RequestContext, req: V.RegisterDsEventRequest
) -> V.RegisterDsEventResponse:
    dto = services.events.register(
        req.project_id,
        ctx.caller,
        name=req.name,
        sub_type=req.event_sub_type,
        broadcast_type=req.event_broadcast_type,
        time_unit=req.time_unit,
        owner=req.owner,
        event_type=req.event_type,
        dimension_format=req.dimension_format,
        time_to_live=req.time_to_live,
        ttl_required=True,
        description=req.description,
        valid_consume_count=req.valid_consume_count,
    )
    return V.RegisterDsEventResponse(data=msgspec.convert(dto, V.EventDsDto))


@action("TriggerEvent", version=VERSION)
def trigger_event(services: Services, ctx: RequestContext, req: V.TriggerEventRequest) -> V.TriggerEventResponse:
    services.events.trigger_one(req.project_id, ctx.caller, req.name, req.dimension, req.description)
    return V.TriggerEventResponse(data=V.BatchReturn(result=True, error_desc=None, error_id=None))


@action("TriggerDsEvent", version=VERSION)
def trigger_ds_event(services: Services, ctx: RequestContext, req: V.TriggerDsEventRequest) -> V.TriggerDsEventResponse:
    result = services.events.trigger_batch(
        req.project_id,
        ctx.caller,
        _items(req.event_case_list),
        _items(req.event_batch_case_list),
        req.schedule_time_zone,
    )
    return V.TriggerDsEventResponse(data=msgspec.convert(result, V.BatchOpsDTO))


@action("DescribeEvent", version=VERSION)
def describe_event(services: Services, ctx: RequestContext, req: V.DescribeEventRequest) -> V.DescribeEventResponse:
    return V.DescribeEventResponse(
        data=msgspec.convert(services.events.describe(req.project_id, req.event_name), V.EventOpsDto)
    )


@action("DescribeEventCases", version=VERSION)
def describe_event_cases(
    services: Services, ctx: RequestContext, req: V.DescribeEventCasesRequest
) -> V.DescribeEventCasesResponse:
    query = CaseQuery(
        page_number=req.page_number,
        page_size=req.page_size,
        category=req.category,
        event_name=req.event_name,
        event_type=req.event_type,
        event_sub_type=req.event_sub_type,
        event_broadcast_type=req.event_broadcast_type,
        status=req.status,
        creation_time_start=req.creation_time_start,
        creation_time_end=req.creation_time_end,
        triggered_time_start=req.event_triggered_time_start,
        triggered_time_end=req.event_triggered_time_end,
        log_time_start=req.log_time_start,
        log_time_end=req.log_time_end,
        dimension=req.dimension,
        time_to_live=req.time_to_live,
        sort_item=req.sort_item,
        sort_type=req.sort_type,
        consume_count=req.consume_count,
    )
    return V.DescribeEventCasesResponse(
        data=msgspec.convert(services.events.list_cases(req.project_id, query), V.EventCaseAuditLogVOCollection)
    )
