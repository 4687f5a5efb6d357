"""Event records <-> WeData 2021-08-20 Structs: the one place this domain renders answers (and
turns requests into service arguments).

The 2021 API shows times as ``2024-04-11T06:37:20.662Z`` (UTC, milliseconds) and a listener's
properties as the Java-style string WeData prints (``[ParamInfo(paramKey=k, paramValue=v)]``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from wedata.services.common import Paged
from wedata.services.events.events import BatchOutcome, RegisteredEvent
from wedata.services.events.views import CaseItem, CaseQuery, EventDetail, Listener
from wedata.spec import v20210820 as V


def iso_z(dt: datetime | None) -> str | None:
    """``2024-04-11T06:37:20.662Z``: the 2021 API's timestamps (UTC, milliseconds)."""
    if dt is None:
        return None
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


def java_params(items: Any) -> str | None:
    """``[ParamInfo(paramKey=k, paramValue=v), ...]``: the string WeData shows as Properties."""
    pairs = [p for p in items or [] if isinstance(p, dict)]
    if not pairs:
        return None
    inner = ", ".join(f"ParamInfo(paramKey={p.get('ParamKey')}, paramValue={p.get('ParamValue')})" for p in pairs)
    return f"[{inner}]"


# ----------------------------------------------------------------------------------------------
# Requests.


def case_items(structs: list[Any] | None) -> list[dict[str, Any]]:
    """TriggerDsEvent's EventCaseList / EventBatchCaseList as plain dicts (wire names)."""
    return [msgspec.to_builtins(s) for s in structs or []]


def case_query(req: V.DescribeEventCasesRequest) -> CaseQuery:
    return CaseQuery(
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


# ----------------------------------------------------------------------------------------------
# Answers.


def ok() -> V.BatchReturn:
    return V.BatchReturn(result=True, error_desc=None, error_id=None)


def registered(rec: RegisteredEvent) -> V.EventDsDto:
    ev = rec.event
    return V.EventDsDto(
        name=ev.name,
        event_type=ev.event_type,
        time_to_live=ev.time_to_live,
        time_unit=ev.time_unit,
        event_sub_type=ev.sub_type,
        event_broadcast_type=ev.broadcast_type,
        dimension_format=ev.dimension_format,
        creation_ts=iso_z(ev.created_at),
        owner=ev.owner,
        properties=None,
        description=ev.description,
        listeners=None,
        project_id=ev.project_id,
        project_name=rec.project_name,
        valid_consume_count=ev.valid_consume_count,
        event_id=ev.id,
        bundle_id=None,
        bundle_info=None,
    )


def batch(outcome: BatchOutcome) -> V.BatchOpsDTO:
    failed = len(outcome.failures)
    return V.BatchOpsDTO(
        total_count=outcome.total,
        success_count=outcome.total - failed,
        fail_count=failed,
        fail_message_list=[V.FailMessage(key=f.key, error_message=f.message) for f in outcome.failures],
    )


def listener(item: Listener) -> V.EventListenerOpsDto:
    return V.EventListenerOpsDto(
        event_name=item.event_name,
        key=item.task_id,
        type="REST_API",
        properties=java_params(item.params),
        creation_timestamp=iso_z(item.since),
    )


def event(detail: EventDetail) -> V.EventOpsDto:
    ev = detail.event
    return V.EventOpsDto(
        name=ev.name,
        event_type=ev.event_type,
        event_sub_type=ev.sub_type,
        event_broadcast_type=ev.broadcast_type,
        dimension_format=ev.dimension_format,
        time_to_live=ev.time_to_live,
        time_unit=ev.time_unit,
        creation_timestamp=iso_z(ev.created_at),
        owner=ev.owner,
        properties=None,
        description=ev.description,
        listeners=[listener(x) for x in detail.listeners],
        event_cases=[
            V.EventCaseOpsDto(
                case_id=c.id,
                name=ev.name,
                dimension=c.dimension,
                creation_timestamp=iso_z(c.triggered_at),
                consumer_id=c.consumer_id,
                description=c.description,
            )
            for c in detail.cases
        ],
    )


def case(item: CaseItem) -> V.EventCaseAuditLogOptDto:
    r = item.row
    return V.EventCaseAuditLogOptDto(
        case_id=r.id,
        event_name=r.event_name,
        event_type=r.event_type,
        event_sub_type=r.sub_type,
        event_broadcast_type=r.broadcast_type,
        ttl=r.time_to_live,
        time_unit=r.time_unit,
        dimension=r.dimension,
        status=item.status,
        event_trigger_timestamp=iso_z(r.triggered_at),
        log_timestamp=iso_z(r.last_consumed_at),
        description=r.description,
        consume_count=r.consume_limit,
    )


def case_page(paged: Paged[CaseItem]) -> V.EventCaseAuditLogVOCollection:
    return V.EventCaseAuditLogVOCollection(
        total_count=paged.total,
        total_page=paged.total_pages,
        page_count=len(paged.items),
        page_number=paged.page.number,
        page_size=paged.page.size,
        items=[case(i) for i in paged.items],
    )
