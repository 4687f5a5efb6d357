"""Events through WeData API 2021-08-20 on the same endpoint (routed by ``X-TC-Version``).

API 2025-08-06 can make tasks wait for events (``EventListenerList``) but cannot fire them, so
the 2021 event actions are served too (spec §3.14, §6.23): RegisterEvent, RegisterDsEvent,
TriggerEvent, TriggerDsEvent, DescribeEvent, DescribeEventCases. Every other 2021 action is
known (``UnsupportedOperation``); names of neither version are ``InvalidAction``.

Rules: services/events/ (events.py, views.py) and scheduler/event_consume.py; answers are rendered
by ``wire.py``; contract and decisions: docs/events.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.events import wire
from wedata.actions.registry import action, register_version
from wedata.protocol.context import RequestContext
from wedata.spec import v20210820 as V

if TYPE_CHECKING:
    from wedata.services.container import Services

VERSION = V.VERSION

# Before the decorators below run: they look the request Structs up in the registry.
register_version(VERSION, {name: op.request for name, op in V.OPERATIONS.items()}, known=V.ALL_ACTIONS)


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
    return V.RegisterEventResponse(data=wire.ok())


@action("RegisterDsEvent", version=VERSION)
def register_ds_event(
    services: Services, ctx: RequestContext, req: V.RegisterDsEventRequest
) -> V.RegisterDsEventResponse:
    registered = services.events.register(
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
    return V.RegisterDsEventResponse(data=wire.registered(registered))


@action("TriggerEvent", version=VERSION)
def trigger_event(services: Services, ctx: RequestContext, req: V.TriggerEventRequest) -> V.TriggerEventResponse:
    services.events.trigger_one(req.project_id, ctx.caller, req.name, req.dimension, req.description)
    return V.TriggerEventResponse(data=wire.ok())


@action("TriggerDsEvent", version=VERSION)
def trigger_ds_event(services: Services, ctx: RequestContext, req: V.TriggerDsEventRequest) -> V.TriggerDsEventResponse:
    outcome = services.events.trigger_batch(
        req.project_id,
        ctx.caller,
        wire.case_items(req.event_case_list),
        wire.case_items(req.event_batch_case_list),
        req.schedule_time_zone,
    )
    return V.TriggerDsEventResponse(data=wire.batch(outcome))


@action("DescribeEvent", version=VERSION)
def describe_event(services: Services, ctx: RequestContext, req: V.DescribeEventRequest) -> V.DescribeEventResponse:
    return V.DescribeEventResponse(data=wire.event(services.events.describe(req.project_id, req.event_name)))


@action("DescribeEventCases", version=VERSION)
def describe_event_cases(
    services: Services, ctx: RequestContext, req: V.DescribeEventCasesRequest
) -> V.DescribeEventCasesResponse:
    cases = services.events.list_cases(req.project_id, wire.case_query(req))
    return V.DescribeEventCasesResponse(data=wire.case_page(cases))
