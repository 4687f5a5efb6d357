"""The canonical task definition: normalisation, defaults and validation of the two config sections.

A task's dev-side definition is stored (``tasks.definition``) as a plain dict in wire shape::

    {"TaskConfiguration": {...}, "TaskSchedulerConfiguration": {...}}

with the **new** field names only (``RunPriorityType``, ``RetryWaitMinute``, ``MaxRetryNumber``,
``ExecutionTTLMinute``, ``WaitExecutionTotalTTLMinute``, ``ScheduleType``), every key present
(``None`` where unset), ``CodeContent`` as plain text and no dependency lists: dependencies
are edges in ``task_dependencies`` (see task_edges.py). Output-only fields (``ResourceGroupName``,
the deprecated twins, the dependency lists) are added by task_wire.py.

Input rules (spec §2.4, §6.1, §6.2):

- deprecated twins are accepted; when both names are given the new one wins; the Create* twins
  are strings and are coerced (``"6"`` -> 6); every value is range-checked;
- ``CodeContent`` is Base64 on the wire and must decode to UTF-8 text;
- ``CrontabExpression`` is always stored: validated against the cycle when given, otherwise
  derived from ``CycleType`` (DAY 00:00, HOUR every hour at :00, MINUTE every 5 minutes, WEEK
  Monday, MONTH the 1st, YEAR 1 January, ONEOFF at ``StartTime``; CRONTAB_CYCLE needs one).
  An empty string counts as "not given" (WeData itself shows ``""`` for some tasks).
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from wedata.scheduling.cycletypes import CycleType
from wedata.scheduling.walltime import WALL_FORMAT
from wedata.services.common import as_int, supported, to_local, zone_of
from wedata.services.errors import InvalidValue
from wedata.storage import tables as T

CONF = "TaskConfiguration"
SCHED = "TaskSchedulerConfiguration"

# --------------------------------------------------------------------------------------------
# Defaults (CreateTask, spec §2.4). StartTime's default ("today 00:00:00") is computed.

CONFIG_DEFAULTS: dict[str, Any] = {
    "CodeContent": "",
    "TaskExtConfigurationList": [],
    "DataCluster": None,
    "BrokerIp": "any",
    "YarnQueue": None,
    "SourceServiceId": None,
    "SourceServiceType": None,
    "SourceServiceName": None,
    "TargetServiceId": None,
    "TargetServiceType": None,
    "TargetServiceName": None,
    "ResourceGroup": None,
    "TaskSchedulingParameterList": [],
    "BundleId": None,
    "BundleInfo": None,
}

SCHEDULER_DEFAULTS: dict[str, Any] = {
    "CycleType": "DAY_CYCLE",
    "ScheduleTimeZone": "UTC+8",
    "CrontabExpression": None,
    "StartTime": None,
    "EndTime": "2099-12-31 23:59:59",
    "ExecutionStartTime": "00:00",
    "ExecutionEndTime": "23:59",
    "CalendarOpen": "0",
    "CalendarId": "",
    "CalendarName": "",
    "SelfDepend": "serial",
    "EventListenerList": None,
    "AllowRedoType": "ALL",
    "ParamTaskOutList": None,
    "ParamTaskInList": None,
    "TaskOutputRegistryList": None,
    "InitStrategy": "T_PLUS_0",
    "ScheduleType": 0,
    "RunPriorityType": 6,
    "RetryWaitMinute": 5,
    "MaxRetryNumber": 4,
    "ExecutionTTLMinute": -1,
    "WaitExecutionTotalTTLMinute": -1,
    "DependencyTriggerPolicy": "ALL_SUCCESS",
    "AllowDownstreamDependency": 1,
    "MinuteOffset": 0,
}

# new name -> deprecated name (both accepted on input, both emitted on output)
TWINS: dict[str, str] = {
    "ScheduleType": "ScheduleRunType",
    "RunPriorityType": "RunPriority",
    "RetryWaitMinute": "RetryWait",
    "MaxRetryNumber": "MaxRetryAttempts",
    "ExecutionTTLMinute": "ExecutionTTL",
    "WaitExecutionTotalTTLMinute": "WaitExecutionTotalTTL",
}

# List fields and the key that identifies an item (UpdateTaskPartially upserts and removes by it).
LIST_KEYS: dict[tuple[str, str], str] = {
    (CONF, "TaskExtConfigurationList"): "ParamKey",
    (CONF, "TaskSchedulingParameterList"): "ParamKey",
    (SCHED, "EventListenerList"): "EventName",
    (SCHED, "ParamTaskOutList"): "ParamKey",
    (SCHED, "ParamTaskInList"): "ParamKey",
    (SCHED, "TaskOutputRegistryList"): "TablePhysicalId",
}

ALLOW_REDO = ("ALL", "FAILURE", "NONE")
INIT_STRATEGIES = ("T_PLUS_0", "T_PLUS_1")
SELF_DEPEND = ("serial", "orderly", "parallel")
TRIGGER_POLICIES = (
    "ALL_SUCCESS", "ALL_FAILED", "ALL_DONE", "ALL_DONE_AT_LEAST_ONE_SUCCESS", "ALL_SKIPPED", "ONE_FAILED",
    "ONE_SUCCESS", "ONE_DONE", "NONE_FAILED", "ALL_DONE_NONE_FAILED_AT_LEAST_ONE_SUCCESS", "NONE_SKIPPED",
    "ALL_DONE_AT_LEAST_ONE_FAILED",
)
EVENT_SUB_TYPES = ("SECOND", "MIN", "HOUR", "DAY")
EVENT_BROADCAST_TYPES = ("SINGLE", "BROADCAST")
DATA_FLOW_TYPES = ("UPSTREAM", "DOWNSTREAM")
IN_PARAM_TYPES = ("TASK", "CONSTANT")


# --------------------------------------------------------------------------------------------
# Code content.


def decode_code(value: str | None, field: str = "CodeContent") -> str:
    """Base64 from the wire -> the plain text stored."""
    if value is None or value == "":
        return ""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise InvalidValue(f"{field} must be Base64-encoded UTF-8 text") from None


def encode_code(text: str | None) -> str:
    return base64.b64encode((text or "").encode("utf-8")).decode("ascii")


# --------------------------------------------------------------------------------------------
# Small checks.


def _text(value: Any, field: str, *, required: bool = False, max_len: int | None = None) -> str | None:
    if value is None:
        if required:
            raise InvalidValue(f"{field} is required")
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"{field} must be a string")
    if required and not value.strip():
        raise InvalidValue(f"{field} must not be empty")
    if max_len is not None and len(value) > max_len:
        raise InvalidValue(f"{field} must be at most {max_len} characters")
    return value


def _choice(value: Any, field: str, choices: tuple[str, ...], *, upper: bool = True) -> str:
    text = str(value).strip()
    text = text.upper() if upper else text.lower()
    if text not in choices:
        raise InvalidValue(f"{field} must be one of {', '.join(choices)}, got {value!r}")
    return text


def _int_in(value: Any, field: str, lo: int, hi: int, *, minus_one: bool = False) -> int:
    n = as_int(value, field)
    if n is None:
        raise InvalidValue(f"{field} must be an integer")
    if minus_one and n == -1:
        return n
    if not lo <= n <= hi:
        extra = "-1 or " if minus_one else ""
        raise InvalidValue(f"{field} must be {extra}between {lo} and {hi}, got {n}")
    return n


def _wall(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidValue(f"{field} must be formatted yyyy-MM-dd HH:mm:ss, got {value!r}")
    try:
        wall = datetime.strptime(value.strip(), WALL_FORMAT)
    except ValueError:
        raise InvalidValue(f"{field} must be formatted yyyy-MM-dd HH:mm:ss, got {value!r}") from None
    supported(wall, field)
    return wall


def _hhmm(value: Any, field: str) -> str:
    from wedata.scheduling.cycles import format_hhmm, parse_hhmm

    try:
        return format_hhmm(parse_hhmm(str(value)))
    except ValueError:
        raise InvalidValue(f"{field} must be formatted HH:mm, got {value!r}") from None


def _kv_list(items: Any, field: str, key: str = "ParamKey", value: str = "ParamValue") -> list[dict[str, Any]]:
    """A list of {ParamKey, ParamValue} with unique, non-empty keys."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(items or []):
        k = _text(item.get(key), f"{field}[{i}].{key}", required=True)
        v = _text(item.get(value), f"{field}[{i}].{value}", required=False)
        if k in seen:
            raise InvalidValue(f"{field}: the {key} {k!r} appears twice")
        seen.add(k)  # type: ignore[arg-type]
        out.append({key: k, value: v if v is not None else ""})
    return out


def _unique(items: list[dict[str, Any]], key: str, field: str) -> None:
    seen: set[Any] = set()
    for item in items:
        if item[key] in seen:
            raise InvalidValue(f"{field}: the {key} {item[key]!r} appears twice")
        seen.add(item[key])


# --------------------------------------------------------------------------------------------
# Section normalisation. ``given`` dicts hold only the fields the client sent (non-None).


def given_fields(raw: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (raw or {}).items() if v is not None}


def resolve_twins(given: dict[str, Any]) -> dict[str, Any]:
    """Fold the deprecated scheduler twins onto their new names (the new name wins)."""
    out = dict(given)
    for new, old in TWINS.items():
        old_value = out.pop(old, None)
        if new not in out and old_value is not None:
            if isinstance(old_value, str) and not old_value.strip():
                continue  # "" for a string twin means "not set"
            out[new] = as_int(old_value, old)
    return out


def merge_section(
    current: dict[str, Any], given: dict[str, Any], section: str, *, upsert_lists: bool
) -> dict[str, Any]:
    """``current`` overlaid with ``given``; list fields are upserted by key when asked."""
    out = copy.deepcopy(current)
    for name, value in given.items():
        key = LIST_KEYS.get((section, name))
        if upsert_lists and key is not None and isinstance(value, list):
            out[name] = upsert(out.get(name) or [], value, key)
        else:
            out[name] = copy.deepcopy(value)
    return out


def upsert(items: list[dict[str, Any]], new_items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Replace the items whose key matches, append the others (order kept)."""
    result = [dict(i) for i in items]
    index = {i.get(key): n for n, i in enumerate(result)}
    for item in new_items:
        k = item.get(key)
        if k in index:
            result[index[k]] = dict(item)
        else:
            index[k] = len(result)
            result.append(dict(item))
    return result


# BundleId is also an indexed column (tasks.bundle_id, ListTasks' filter): an index entry has a
# size limit, so it is bounded by the column.
_MAX_LEN: dict[str, int] = {"BundleId": int(T.tasks.c.bundle_id.type.length)}  # type: ignore[attr-defined]


def validate_configuration(conf: dict[str, Any]) -> dict[str, Any]:
    """The TaskConfiguration section, complete, with CodeContent already plain text."""
    out: dict[str, Any] = {}
    for name in CONFIG_DEFAULTS:
        value = conf.get(name)
        if name in ("TaskExtConfigurationList", "TaskSchedulingParameterList"):
            out[name] = _kv_list(value, f"{CONF}.{name}")
        elif name == "CodeContent":
            out[name] = value if isinstance(value, str) else ""
        else:
            out[name] = _text(value, f"{CONF}.{name}", max_len=_MAX_LEN.get(name, 65535))
    if out["BrokerIp"] is None or not out["BrokerIp"].strip():
        out["BrokerIp"] = "any"
    if out["ResourceGroup"] is not None and not out["ResourceGroup"].strip():
        out["ResourceGroup"] = None
    return out


def validate_scheduler(sched: dict[str, Any], *, today_in_zone: Callable[[str], str]) -> dict[str, Any]:
    """The TaskSchedulerConfiguration section (new names only, no dependency lists), complete.

    A CrontabExpression that is set is checked against the cycle; a missing one is derived.
    ``today_in_zone(zone)``: the default StartTime (today 00:00:00 in the schedule zone).
    """
    s = dict(sched)
    out: dict[str, Any] = {}
    raw_cycle = s.get("CycleType")
    try:
        cycle = CycleType.parse(raw_cycle if raw_cycle not in (None, "") else "DAY_CYCLE")
    except (ValueError, TypeError):
        raise InvalidValue(f"{SCHED}.CycleType is not a cycle type: {s.get('CycleType')!r}") from None
    out["CycleType"] = cycle.value
    zone = _text(s.get("ScheduleTimeZone"), f"{SCHED}.ScheduleTimeZone") or "UTC+8"
    zone_of(zone)  # InvalidValue for an unknown zone
    out["ScheduleTimeZone"] = zone.strip()

    start_text = s.get("StartTime") or today_in_zone(out["ScheduleTimeZone"])
    start = _wall(start_text, f"{SCHED}.StartTime")
    end = _wall(s.get("EndTime") or SCHEDULER_DEFAULTS["EndTime"], f"{SCHED}.EndTime")
    if start > end:
        raise InvalidValue(f"{SCHED}: StartTime {start_text} is after EndTime {s.get('EndTime')}")
    out["StartTime"], out["EndTime"] = start.strftime(WALL_FORMAT), end.strftime(WALL_FORMAT)
    for key in ("ExecutionStartTime", "ExecutionEndTime"):
        out[key] = _hhmm(s.get(key) or SCHEDULER_DEFAULTS[key], f"{SCHED}.{key}")

    out["CrontabExpression"] = _crontab(cycle, s.get("CrontabExpression"), start)

    out["CalendarOpen"] = _choice(s.get("CalendarOpen", "0") or "0", f"{SCHED}.CalendarOpen", ("0", "1"))
    out["CalendarId"] = _text(s.get("CalendarId"), f"{SCHED}.CalendarId", max_len=256) or ""
    out["CalendarName"] = _text(s.get("CalendarName"), f"{SCHED}.CalendarName", max_len=256) or ""
    if out["CalendarOpen"] == "1" and not out["CalendarId"].strip():
        raise InvalidValue(f"{SCHED}.CalendarId is required when CalendarOpen is 1")

    self_depend = s.get("SelfDepend") or "serial"
    out["SelfDepend"] = _choice(self_depend, f"{SCHED}.SelfDepend", SELF_DEPEND, upper=False)
    out["AllowRedoType"] = _choice(s.get("AllowRedoType") or "ALL", f"{SCHED}.AllowRedoType", ALLOW_REDO)
    out["InitStrategy"] = _choice(s.get("InitStrategy") or "T_PLUS_0", f"{SCHED}.InitStrategy", INIT_STRATEGIES)
    out["DependencyTriggerPolicy"] = _choice(
        s.get("DependencyTriggerPolicy") or "ALL_SUCCESS", f"{SCHED}.DependencyTriggerPolicy", TRIGGER_POLICIES
    )

    def number(key: str, lo: int, hi: int, *, minus_one: bool = False) -> int:
        value = s.get(key)
        if value is None or value == "":
            value = SCHEDULER_DEFAULTS[key]
        return _int_in(value, f"{SCHED}.{key}", lo, hi, minus_one=minus_one)

    out["ScheduleType"] = number("ScheduleType", 0, 1)
    out["RunPriorityType"] = number("RunPriorityType", 4, 6)
    out["RetryWaitMinute"] = number("RetryWaitMinute", 0, 1440)
    out["MaxRetryNumber"] = number("MaxRetryNumber", 0, 100)
    out["ExecutionTTLMinute"] = number("ExecutionTTLMinute", 1, 525600, minus_one=True)
    out["WaitExecutionTotalTTLMinute"] = number("WaitExecutionTotalTTLMinute", 1, 525600, minus_one=True)
    out["AllowDownstreamDependency"] = number("AllowDownstreamDependency", 0, 1)
    out["MinuteOffset"] = number("MinuteOffset", 0, 59)

    _check_fires(out)
    out["EventListenerList"] = _events(s.get("EventListenerList"))
    out["ParamTaskOutList"] = _out_params(s.get("ParamTaskOutList"))
    out["ParamTaskInList"] = _in_params(s.get("ParamTaskInList"))
    out["TaskOutputRegistryList"] = _registry(s.get("TaskOutputRegistryList"))
    return out


def _check_fires(out: dict[str, Any]) -> None:
    """A schedule that can never fire between its StartTime and EndTime is refused: it would be
    accepted, submitted and then silently never run (a year field in the past, a window that
    excludes every fire time). Calendars are not looked at here (they only remove days)."""
    from wedata.scheduling.cycles import Schedule, schedule_wall_times

    schedule = Schedule.from_strings(
        cycle_type=out["CycleType"], crontab_expression=out["CrontabExpression"], zone=out["ScheduleTimeZone"],
        start_time=out["StartTime"], end_time=out["EndTime"], execution_start=out["ExecutionStartTime"],
        execution_end=out["ExecutionEndTime"], minute_offset=out["MinuteOffset"],
    )
    start = datetime.strptime(out["StartTime"], WALL_FORMAT)
    if next(schedule_wall_times(schedule, start - timedelta(seconds=1)), None) is None:
        raise InvalidValue(
            f"{SCHED}: the schedule never fires between StartTime {out['StartTime']} and EndTime "
            f"{out['EndTime']} ({out['ScheduleTimeZone']}; CrontabExpression {out['CrontabExpression']!r}, execution window "
            f"{out['ExecutionStartTime']}-{out['ExecutionEndTime']})"
        )


def _crontab(cycle: CycleType, given: Any, start: datetime) -> str:
    from wedata.scheduling.crontabs import derive_crontab, validate_crontab_for_cycle

    field = f"{SCHED}.CrontabExpression"
    if isinstance(given, str) and given.strip():
        expr = " ".join(given.split())
        try:
            validate_crontab_for_cycle(cycle, expr)
        except ValueError as exc:
            raise InvalidValue(f"{field}: {exc}") from None
        return expr
    if cycle is CycleType.CRONTAB_CYCLE:
        raise InvalidValue(f"{field} is required when CycleType is CRONTAB_CYCLE")
    try:
        return derive_crontab(
            cycle,
            week_days=[1] if cycle is CycleType.WEEK_CYCLE else None,
            month_days=[1] if cycle in (CycleType.MONTH_CYCLE, CycleType.YEAR_CYCLE) else None,
            months=[1] if cycle is CycleType.YEAR_CYCLE else None,
            run_at=start if cycle is CycleType.ONEOFF_CYCLE else None,
        )
    except ValueError as exc:
        raise InvalidValue(f"{field}: cannot derive one for {cycle.value}: {exc}") from None


def _events(items: Any) -> list[dict[str, Any]] | None:
    if items is None:
        return None
    field = f"{SCHED}.EventListenerList"
    out = []
    for i, item in enumerate(items):
        at = f"{field}[{i}]"
        props = item.get("PropertiesList")
        out.append(
            {
                "EventName": _text(item.get("EventName"), f"{at}.EventName", required=True, max_len=256),
                "EventSubType": _choice(item.get("EventSubType"), f"{at}.EventSubType", EVENT_SUB_TYPES),
                "EventBroadcastType": _choice(
                    item.get("EventBroadcastType"), f"{at}.EventBroadcastType", EVENT_BROADCAST_TYPES
                ),
                "PropertiesList": None if props is None else _kv_list(props, f"{at}.PropertiesList"),
            }
        )
    _unique(out, "EventName", field)
    return out


def _out_params(items: Any) -> list[dict[str, Any]] | None:
    if items is None:
        return None
    return _kv_list(items, f"{SCHED}.ParamTaskOutList")


def _in_params(items: Any) -> list[dict[str, Any]] | None:
    if items is None:
        return None
    field = f"{SCHED}.ParamTaskInList"
    out = []
    for i, item in enumerate(items):
        at = f"{field}[{i}]"
        kind = item.get("Type")
        out.append(
            {
                "ParamKey": _text(item.get("ParamKey"), f"{at}.ParamKey", required=True, max_len=256),
                "ParamDesc": _text(item.get("ParamDesc"), f"{at}.ParamDesc", max_len=1024) or "",
                "FromTaskId": _text(item.get("FromTaskId"), f"{at}.FromTaskId", required=True, max_len=24),
                "FromParamKey": _text(item.get("FromParamKey"), f"{at}.FromParamKey", required=True, max_len=256),
                "Type": None if kind in (None, "") else _choice(kind, f"{at}.Type", IN_PARAM_TYPES),
            }
        )
    _unique(out, "ParamKey", field)
    return out


def _registry(items: Any) -> list[dict[str, Any]] | None:
    if items is None:
        return None
    field = f"{SCHED}.TaskOutputRegistryList"
    out = []
    for i, item in enumerate(items):
        at = f"{field}[{i}]"
        source = item.get("DatasourceId")
        if source is None or isinstance(source, bool) or (isinstance(source, str) and not source.strip()):
            raise InvalidValue(f"{at}.DatasourceId is required")
        entry: dict[str, Any] = {"DatasourceId": source}
        for key in ("DatabaseName", "TableName", "PartitionName", "TablePhysicalId"):
            entry[key] = _text(item.get(key), f"{at}.{key}", required=key != "PartitionName", max_len=1024)
            if entry[key] is None:
                entry[key] = ""
        entry["DataFlowType"] = _choice(item.get("DataFlowType"), f"{at}.DataFlowType", DATA_FLOW_TYPES)
        for key in ("DbGuid", "TableGuid", "CatalogName", "DatasourceName", "QualifiedName"):
            entry[key] = _text(item.get(key), f"{at}.{key}", max_len=1024)
        out.append(entry)
    _unique(out, "TablePhysicalId", field)
    return out


def today_start(now_utc: datetime) -> Callable[[str], str]:
    """The default StartTime: 00:00:00 today in the schedule zone."""

    def start_of_today(zone: str) -> str:
        local = to_local(now_utc, zone)
        assert local is not None
        return local.strftime("%Y-%m-%d 00:00:00")

    return start_of_today
