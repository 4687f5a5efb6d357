"""Events: the read side (DescribeEvent listeners, DescribeEventCases filters and case status),
the records the reads return, and the enums and formats shared with services/events/events.py,
which holds the rules. actions/events/wire.py renders the records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Text, and_, cast, select

from wedata.services.common import as_int, parse_local
from wedata.services.errors import InvalidValue
from wedata.storage import tables as T
from wedata.storage.event_tables import event_cases, events

EV, C = events, event_cases
SUB_TYPES = {"SECOND": "yyyyMMddHHmmss", "MIN": "yyyyMMddHHmm", "HOUR": "yyyyMMddHH", "DAY": "yyyyMMdd"}
BROADCAST_TYPES = ("SINGLE", "BROADCAST")
EVENT_TYPES = ("TIME_SERIES", "GENERAL")
CASE_STATUSES = {"ACTIVE", "CONSUMING", "COMSUMED", "CONSUMED", "EXPIRED"}
CASE_SORTS = {"CREATETIME": "triggered_at", "CREATIONTIME": "triggered_at", "EVENTTRIGGERTIMESTAMP": "triggered_at",
              "TRIGGERTIME": "triggered_at", "LOGTIMESTAMP": "last_consumed_at", "LOGTIME": "last_consumed_at",
              "DIMENSION": "dimension"}  # fmt: skip


def choice(value: str | None, field: str, allowed: tuple[str, ...] | dict[str, Any], default: str | None = None) -> str:
    text = (value or "").strip().upper()
    if not text:
        if default is None:
            raise InvalidValue(f"{field} must not be empty")
        return default
    if text not in allowed:
        raise InvalidValue(f"{field} must be one of {', '.join(allowed)}, got {value!r}")
    return text


# ----------------------------------------------------------------------------------------------
# Case status and filters.


def case_status(row: Any, now: datetime) -> str:
    """EXPIRED past its time-to-live; COMSUMED (WeData's spelling) when no listener may take it
    any more; CONSUMING when taken by some and still open; ACTIVE when not consumed yet."""
    if row.expires_at is not None and row.expires_at <= now:
        return "EXPIRED"
    if row.consume_limit >= 0 and row.consumed_count >= row.consume_limit:
        return "COMSUMED"
    return "CONSUMING" if row.consumed_count > 0 else "ACTIVE"


@dataclass(frozen=True, slots=True)
class CaseQuery:
    page_number: int | None
    page_size: int | None
    category: str | None = None
    event_name: str | None = None
    event_type: str | None = None
    event_sub_type: str | None = None
    event_broadcast_type: str | None = None
    status: str | None = None
    creation_time_start: str | None = None
    creation_time_end: str | None = None
    triggered_time_start: str | None = None
    triggered_time_end: str | None = None
    log_time_start: str | None = None
    log_time_end: str | None = None
    dimension: str | None = None
    time_to_live: int | str | None = None
    sort_item: str | None = None
    sort_type: str | None = None
    consume_count: int | str | None = None


def case_condition(project_id: str, q: CaseQuery, now: datetime) -> Any:
    expired = and_(C.c.expires_at.is_not(None), C.c.expires_at <= now)
    exhausted = and_(C.c.consume_limit >= 0, C.c.consumed_count >= C.c.consume_limit)
    conds: list[Any] = [C.c.project_id == project_id]
    category = (q.category or "").strip().lower()
    if category == "expired":
        conds.append(expired)
    elif category == "consuming":
        conds.append(~expired)
    elif category not in ("", "all"):
        raise InvalidValue(f"Category must be expired, consuming or all, got {q.category!r}")
    if q.event_name:
        conds.append(C.c.event_name == q.event_name.strip())
    if q.event_type:
        conds.append(EV.c.event_type == choice(q.event_type, "EventType", EVENT_TYPES))
    if q.event_sub_type:
        conds.append(EV.c.sub_type == choice(q.event_sub_type, "EventSubType", SUB_TYPES))
    if q.event_broadcast_type:
        conds.append(EV.c.broadcast_type == choice(q.event_broadcast_type, "EventBroadcastType", BROADCAST_TYPES))
    if q.status:
        status = choice(q.status, "Status", tuple(sorted(CASE_STATUSES)))
        conds.append({
            "EXPIRED": expired,
            "COMSUMED": and_(~expired, exhausted),
            "CONSUMED": and_(~expired, exhausted),
            "CONSUMING": and_(~expired, ~exhausted, C.c.consumed_count > 0),
            "ACTIVE": and_(~expired, C.c.consumed_count == 0, ~exhausted),
        }[status])
    for column, start, end, field in (
        (C.c.triggered_at, q.creation_time_start, q.creation_time_end, "CreationTime"),
        (C.c.triggered_at, q.triggered_time_start, q.triggered_time_end, "EventTriggeredTime"),
        (C.c.last_consumed_at, q.log_time_start, q.log_time_end, "LogTime"),
    ):
        if start:
            conds.append(column >= parse_local(start, None, f"{field}Start"))
        if end:
            conds.append(column <= parse_local(end, None, f"{field}End") + timedelta(microseconds=999_999))
    if q.dimension:
        conds.append(C.c.dimension == q.dimension.strip())
    ttl = as_int(q.time_to_live, "TimeToLive")
    if ttl is not None:
        conds.append(EV.c.time_to_live == ttl)
    count = as_int(q.consume_count, "ConsumeCount")
    if count is not None:
        conds.append(C.c.consume_limit == count)
    return and_(*conds)


# ----------------------------------------------------------------------------------------------
# Listeners: the production tasks whose EventListenerList names the event.


@dataclass(frozen=True, slots=True)
class Listener:
    """A production task whose EventListenerList names the event (DescribeEvent Listeners)."""

    event_name: str
    task_id: str
    since: datetime | None  # when the task's production version was created (UTC)
    params: Any  # the listener's PropertiesList as the task stores it (a list of ParamKey/ParamValue)


def listeners(conn: Connection, project_id: str, name: str) -> list[Listener]:
    t, v = T.tasks, T.task_versions
    lists = v.c.snapshot[("TaskSchedulerConfiguration", "EventListenerList")]
    rows = conn.execute(
        select(t.c.id, v.c.created_at, lists.label("listeners"))
        .select_from(t.join(v, v.c.version_id == t.c.prod_version_id))
        # A cheap pre-filter on the serialised snapshot; the exact check is below.
        .where(t.c.project_id == project_id, cast(v.c.snapshot, Text).contains(f'"{name}"', autoescape=True))
        .order_by(t.c.id)
    ).all()
    out: list[Listener] = []
    for r in rows:
        for item in r.listeners or []:
            if isinstance(item, dict) and item.get("EventName") == name:
                out.append(Listener(name, r.id, r.created_at, item.get("PropertiesList")))
    return out


# ----------------------------------------------------------------------------------------------
# What the reads return.


@dataclass(frozen=True, slots=True)
class EventDetail:
    """DescribeEvent: the ``events`` row, its listeners and its newest open ``event_cases`` rows."""

    event: Row[Any]
    listeners: list[Listener]
    cases: list[Row[Any]]


@dataclass(frozen=True, slots=True)
class CaseItem:
    """A DescribeEventCases item: the ``event_cases`` row (joined with its event's type, sub-type,
    broadcast type, time to live and unit) and its status now."""

    row: Row[Any]
    status: str
