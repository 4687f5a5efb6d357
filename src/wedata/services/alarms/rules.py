"""Validation and normalisation of alarm rule configuration (pure; no database).

The request structures (``AlarmRuleDetail``, ``AlarmGroup``) are validated here and turned into the
plain dicts (wire field names) that ``alarm_rules.detail`` / ``alarm_rules.groups`` store. What is
stored is what GetOpsAlarmRule returns: the values as given, plus the defaults WeData's own
GetOpsAlarmRule example shows (``Trigger`` 2, ``DataBackfillOrRerunTrigger`` 1, a
``NotificationFatigue`` of one notification every 5 minutes, empty lists); turning them back into
Structs is actions/alarms/wire.py's part. Decisions are written up in docs/alarms.md.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any
from urllib.parse import urlsplit

import msgspec

from wedata.services.common import as_int, zone_of
from wedata.services.errors import InvalidValue, Unsupported
from wedata.spec import models as M
from wedata.storage.alarm_tables import OBJECT_PROJECT, OBJECT_TASK, OBJECT_WORKFLOW

# AlarmTypes this server evaluates (spec §3.21).
FAILURE, SUCCESS, OVERTIME = "failure", "success", "overtime"
RERUN_SUCCESS, RERUN_FAILURE = "backTrackingOrRerunSuccess", "backTrackingOrRerunFailure"
SUPPORTED_TYPES = (FAILURE, OVERTIME, SUCCESS, RERUN_SUCCESS, RERUN_FAILURE)
# Known to WeData but not evaluated here: project-wide fluctuation statistics (their baseline is
# undocumented) and offline-integration reconciliation (there are no integration tasks).
UNSUPPORTED_TYPES = (
    "projectFailureInstanceUpwardFluctuationAlarm",
    "projectSuccessInstanceDownwardFluctuationAlarm",
    "projectFailureInstanceUpwardVolatilityAlarm",
    "projectSuccessInstanceDownwardVolatilityAlarm",
    "projectFailureInstanceCountAlarm",
    "projectFailureInstanceProportionAlarm",
    "reconciliationFailure",
    "reconciliationOvertime",
    "reconciliationMismatch",
)
ALL_TYPES = SUPPORTED_TYPES + UNSUPPORTED_TYPES

# MonitorObjectType: 1 task, 2 workflow, 3 project (storage/alarm_tables.py); 7 (project
# fluctuation) is not evaluated.
OBJECT_TYPES = (OBJECT_TASK, OBJECT_WORKFLOW, OBJECT_PROJECT)
LEVELS = (1, 2, 3)

# AlarmWays (channel numbers on the wire) and the names AlarmMessage.AlarmWays shows ("email",
# "sms" in WeData's ListAlarmMessages example).
WAY_NAMES = {
    "1": "email", "2": "sms", "3": "wechat", "4": "voice", "5": "wecom", "6": "http",
    "7": "wecom_group", "8": "feishu_group", "9": "dingtalk_group", "10": "slack", "11": "teams",
}  # fmt: skip
PERSON_WAYS = frozenset({"1", "2", "3", "4", "5"})  # need recipients; not delivered by this server
GROUP_WAYS = frozenset({"7", "8", "9", "10", "11"})  # group robots: a webhook URL, only one per group
HTTP_WAY = "6"
WEBHOOK_WAYS = GROUP_WAYS | {HTTP_WAY}

# TimeOutStrategyInfo.RuleType: 1 run duration, 2 finish time, 3 wait time, 4 within the cycle.
RUN_DURATION, FINISH_TIME, WAIT_TIME, WITHIN_CYCLE = 1, 2, 3, 4
TIMEOUT_RULE_TYPES = (RUN_DURATION, FINISH_TIME, WAIT_TIME, WITHIN_CYCLE)
SPARK_STREAMING_RULE_TYPES = (8, 9, 10)
FIXED, AVERAGE = 1, 2

MAX_NAME = 256
MAX_DESCRIPTION = 2000
MAX_OBJECTS = 1000
MAX_LIST = 100  # recipients, e-mails, webhooks per list
EMAIL_RE = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
DEFAULT_TRIGGER = 2  # after all retries (spec §3.21)
DEFAULT_RERUN_TRIGGER = 1  # as WeData's GetOpsAlarmRule example returns for a rule created without it
DEFAULT_NOTIFY_COUNT, DEFAULT_NOTIFY_INTERVAL = 1, 5


# ----------------------------------------------------------------------------------------------
# Scalars.


def check_rule_name(name: str | None) -> str:
    if name is None or not name.strip():
        raise InvalidValue("AlarmRuleName must not be empty")
    if name != name.strip():
        raise InvalidValue(f"AlarmRuleName must not start or end with blanks: {name!r}")
    if len(name) > MAX_NAME:
        raise InvalidValue(f"AlarmRuleName must be at most {MAX_NAME} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidValue("AlarmRuleName must not contain control characters")
    return name


def check_description(text: str | None) -> str:
    text = text or ""
    if len(text) > MAX_DESCRIPTION:
        raise InvalidValue(f"Description must be at most {MAX_DESCRIPTION} characters")
    return text


def check_object_type(value: int | None) -> int:
    kind = OBJECT_TASK if value is None else value
    if kind == 7:
        raise Unsupported("MonitorObjectType 7 (project fluctuation alarms) is not supported by this server")
    if kind not in OBJECT_TYPES:
        raise InvalidValue(f"MonitorObjectType must be 1 (task), 2 (workflow) or 3 (project), got {kind}")
    return kind


def check_object_ids(ids: list[str] | None) -> list[str]:
    out = _unique_strings(ids, "MonitorObjectIds", max_len=64)
    if not out:
        raise InvalidValue("MonitorObjectIds must name at least one object")
    if len(out) > MAX_OBJECTS:
        raise InvalidValue(f"MonitorObjectIds may name at most {MAX_OBJECTS} objects")
    return out


def check_alarm_type(value: str, field: str = "AlarmTypes") -> str:
    text = (value or "").strip()
    if text in UNSUPPORTED_TYPES:
        raise Unsupported(f"{field}: {text} alarms are not supported by this server")
    if text not in SUPPORTED_TYPES:
        # Only the types this server accepts are offered (issue 16: listing the unsupported
        # ones led people to a value refused next).
        raise InvalidValue(f"{field}: unknown alarm type {value!r}; expected one of {', '.join(SUPPORTED_TYPES)}")
    return text


def check_alarm_types(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        t = check_alarm_type(v)
        if t not in out:
            out.append(t)
    if not out:
        raise InvalidValue("AlarmTypes must hold at least one alarm type")
    return out


def check_level(value: int | None, default: int | None = 1) -> int:
    level = default if value is None else value
    if level not in LEVELS:
        raise InvalidValue(f"AlarmLevel must be 1 (normal), 2 (important) or 3 (urgent), got {value}")
    return level


def check_status(value: int | str | None) -> int:
    status = as_int(value, "Status")
    if status not in (0, 1):
        raise InvalidValue(f"Status must be 0 (disabled) or 1 (enabled), got {value!r}")
    return status


def _unique_strings(values: list[str] | None, field: str, *, max_len: int = 256) -> list[str]:
    out: dict[str, None] = {}  # distinct, in order; linear (issue 15)
    for v in values or []:
        text = (v or "").strip()
        if not text:
            raise InvalidValue(f"{field} must not contain empty values")
        if len(text) > max_len or "," in text:
            raise InvalidValue(f"{field}: invalid value {v!r}")
        out[text] = None
        if len(out) > MAX_OBJECTS:  # the largest list limit here; callers check their own
            raise InvalidValue(f"{field} may name at most {MAX_OBJECTS} values")
    return list(out)


# ----------------------------------------------------------------------------------------------
# AlarmRuleDetail.


def _timeout_entry(info: M.TimeOutStrategyInfo, field: str) -> dict[str, Any]:
    rule_type = as_int(info.rule_type, f"{field}.RuleType")
    if rule_type is None:
        raise InvalidValue(f"{field}.RuleType is required (1 run time, 2 finish time, 3 wait time, 4 cycle)")
    if rule_type in SPARK_STREAMING_RULE_TYPES:
        raise Unsupported(f"{field}.RuleType {rule_type} (Spark Streaming) is not supported by this server")
    if rule_type not in TIMEOUT_RULE_TYPES:
        raise InvalidValue(f"{field}.RuleType must be 1, 2, 3 or 4, got {info.rule_type!r}")
    kind = as_int(info.type, f"{field}.Type", FIXED)
    if kind not in (FIXED, AVERAGE):
        raise InvalidValue(f"{field}.Type must be 1 (fixed value) or 2 (average), got {info.type!r}")
    if kind == AVERAGE and rule_type != RUN_DURATION:
        raise Unsupported(f"{field}: Type 2 (average) is supported for RuleType 1 (run duration) only")
    for name, value in (("Hour", info.hour), ("Min", info.min), ("Second", info.second)):
        if value is not None and value < 0:
            raise InvalidValue(f"{field}.{name} must not be negative, got {value}")
    if rule_type == FINISH_TIME:
        if (info.hour or 0) > 23 or (info.min or 0) > 59:
            raise InvalidValue(f"{field}: an expected finish time needs Hour 0-23 and Min 0-59")
    elif rule_type in (RUN_DURATION, WAIT_TIME) and kind == FIXED and threshold_minutes_of(info.hour, info.min) <= 0:
        raise InvalidValue(f"{field}: the expected duration (Hour, Min) must be positive")
    if info.schedule_time_zone:
        zone_of(info.schedule_time_zone)
    out = msgspec.to_builtins(info)
    out.update(RuleType=rule_type, Type=kind)
    return dict(out)


def threshold_minutes_of(hour: int | None, minute: int | None) -> int:
    """Hour defaults to 0 and Min to 1 (TimeOutStrategyInfo documentation)."""
    return (hour or 0) * 60 + (1 if minute is None else minute)


# Every field of AlarmRuleDetail by its wire name: a rule created without a detail stores them all (null).
_DETAIL_FIELDS = tuple(f.encode_name for f in msgspec.structs.fields(M.AlarmRuleDetail))


def check_detail(detail: M.AlarmRuleDetail | None, alarm_types: list[str]) -> dict[str, Any]:
    """The detail as stored in ``alarm_rules.detail``: every field as given (wire names), the
    triggers defaulted, the overtime entries checked."""
    trigger = detail.trigger if detail is not None else None
    rerun_trigger = detail.data_backfill_or_rerun_trigger if detail is not None else None
    for name, value in (("Trigger", trigger), ("DataBackfillOrRerunTrigger", rerun_trigger)):
        if value is not None and value not in (1, 2):
            raise InvalidValue(f"AlarmRuleDetail.{name} must be 1 (first failure) or 2 (after all retries)")
    out: dict[str, Any] = dict(msgspec.to_builtins(detail)) if detail is not None else dict.fromkeys(_DETAIL_FIELDS)
    out["Trigger"] = DEFAULT_TRIGGER if trigger is None else trigger
    out["DataBackfillOrRerunTrigger"] = DEFAULT_RERUN_TRIGGER if rerun_trigger is None else rerun_trigger
    if detail is None:
        return _check_overtime(out, alarm_types)
    for key, items in (
        ("TimeOutExtInfo", detail.time_out_ext_info),
        ("DataBackfillOrRerunTimeOutExtInfo", detail.data_backfill_or_rerun_time_out_ext_info),
    ):
        if items is not None:
            out[key] = [_timeout_entry(i, f"AlarmRuleDetail.{key}") for i in items]
    _check_overtime(out, alarm_types)
    for white in detail.monitor_white_tasks or []:
        if not white.monitor_object_id:
            raise InvalidValue("AlarmRuleDetail.MonitorWhiteTasks.MonitorObjectId is required")
        _unique_strings(white.task_ids, "AlarmRuleDetail.MonitorWhiteTasks.TaskIds", max_len=64)
    return out


def _check_overtime(out: dict[str, Any], alarm_types: list[str]) -> dict[str, Any]:
    if OVERTIME in alarm_types and not (out.get("TimeOutExtInfo") or out.get("DataBackfillOrRerunTimeOutExtInfo")):
        raise InvalidValue(
            "an overtime alarm needs AlarmRuleDetail.TimeOutExtInfo or DataBackfillOrRerunTimeOutExtInfo"
        )
    return out


def white_task_ids(detail: dict[str, Any]) -> set[tuple[str, str]]:
    """(monitored object id, task id) pairs excluded from a workflow or project rule."""
    pairs: set[tuple[str, str]] = set()
    for white in detail.get("MonitorWhiteTasks") or []:
        for task_id in white.get("TaskIds") or []:
            pairs.add((white.get("MonitorObjectId") or "", task_id))
    return pairs


# ----------------------------------------------------------------------------------------------
# AlarmGroups.


def _check_url(url: str, field: str) -> str:
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(text) > 2048:
        raise InvalidValue(f"{field}: {url!r} is not an http(s) URL")
    return text


def parse_clock(text: str | int | None, field: str) -> time:
    """``HH:mm:ss`` (or ``HH:mm``) of a quiet interval."""
    if not isinstance(text, str):
        raise InvalidValue(f"{field} must be a time formatted HH:mm:ss, got {text!r}")
    for fmt in ("%H:%M:%S", "%H:%M"):
        try:
            return datetime.strptime(text.strip(), fmt).time()
        except ValueError:
            continue
    raise InvalidValue(f"{field} must be a time formatted HH:mm:ss, got {text!r}")


def _fatigue(f: M.NotificationFatigue | None, field: str) -> dict[str, Any]:
    count = f.notify_count if f is not None and f.notify_count is not None else DEFAULT_NOTIFY_COUNT
    interval = f.notify_interval if f is not None and f.notify_interval is not None else DEFAULT_NOTIFY_INTERVAL
    if not 1 <= count <= 100:
        raise InvalidValue(f"{field}.NotifyCount must be between 1 and 100, got {count}")
    if not 1 <= interval <= 1440:
        raise InvalidValue(f"{field}.NotifyInterval must be between 1 and 1440 minutes, got {interval}")
    quiet: list[dict[str, Any]] = []
    for q in (f.quiet_intervals if f is not None else None) or []:
        days = sorted(set(q.days_of_week or []))
        if not days or any(d < 1 or d > 7 for d in days):
            raise InvalidValue(f"{field}.QuietIntervals.DaysOfWeek must hold days 1 (Monday) to 7 (Sunday)")
        start = parse_clock(q.start_time, f"{field}.QuietIntervals.StartTime")
        end = parse_clock(q.end_time, f"{field}.QuietIntervals.EndTime")
        if start == end:
            raise InvalidValue(f"{field}.QuietIntervals: StartTime and EndTime must differ")
        quiet.append({"DaysOfWeek": days, "StartTime": start.strftime("%H:%M:%S"), "EndTime": end.strftime("%H:%M:%S")})
    return {"NotifyCount": count, "NotifyInterval": interval, "QuietIntervals": quiet}


def check_group(g: M.AlarmGroup, i: int) -> dict[str, Any]:
    field = f"AlarmGroups[{i}]"
    ways = _unique_strings(g.alarm_ways if g.alarm_ways is not None else ["1"], f"{field}.AlarmWays", max_len=4)
    if not ways:
        raise InvalidValue(f"{field}.AlarmWays must hold at least one channel")
    for w in ways:
        if w not in WAY_NAMES:
            raise InvalidValue(f"{field}.AlarmWays: unknown channel {w!r}; expected 1 to 11")
    if len([w for w in ways if w in GROUP_WAYS]) > 1:
        raise InvalidValue(f"{field}.AlarmWays: only one group channel (7-11) may be chosen")
    recipient_type = 1 if g.alarm_recipient_type is None else g.alarm_recipient_type
    if recipient_type not in (1, 2, 3):
        raise InvalidValue(f"{field}.AlarmRecipientType must be 1 (users), 2 (task owner) or 3 (on-call roster)")
    recipients = _unique_strings(g.alarm_recipient_ids, f"{field}.AlarmRecipientIds", max_len=64)
    if recipient_type == 2:
        recipients = []  # the task owner is resolved when the alarm fires
    elif not recipients and PERSON_WAYS.intersection(ways):
        raise InvalidValue(f"{field}.AlarmRecipientIds: AlarmRecipientType {recipient_type} needs recipient ids")
    hooks: dict[str, list[str]] = {}
    for h in g.web_hooks or []:
        way = (h.alarm_way or "").strip()
        if way not in WEBHOOK_WAYS:
            raise InvalidValue(f"{field}.WebHooks.AlarmWay must be a webhook channel (6 HTTP, 7-11 groups), got {way!r}")
        if way not in ways:
            raise InvalidValue(f"{field}.WebHooks: channel {way} is not one of the group's AlarmWays")
        urls = hooks.setdefault(way, [])
        for url in h.web_hooks or []:
            u = _check_url(url, f"{field}.WebHooks.WebHooks")
            if u not in urls:
                urls.append(u)
    for w in ways:
        if w in GROUP_WAYS and not hooks.get(w):
            raise InvalidValue(f"{field}: group channel {w} ({WAY_NAMES[w]}) needs a WebHooks URL")
    if sum(len(v) for v in hooks.values()) > MAX_LIST:
        raise InvalidValue(f"{field}.WebHooks: at most {MAX_LIST} URLs")
    emails = None
    if g.custom_emails is not None:
        emails = _unique_strings(g.custom_emails, f"{field}.CustomEmails")
        for e in emails:
            if not EMAIL_RE.match(e):
                raise InvalidValue(f"{field}.CustomEmails: {e!r} is not an e-mail address")
    escalation_interval = g.alarm_escalation_interval or 0
    if escalation_interval < 0:
        raise InvalidValue(f"{field}.AlarmEscalationInterval must not be negative")
    for values, name in ((recipients, "AlarmRecipientIds"), (emails or [], "CustomEmails")):
        if len(values) > MAX_LIST:
            raise InvalidValue(f"{field}.{name}: at most {MAX_LIST} values")
    return {
        "AlarmEscalationRecipientIds": _unique_strings(
            g.alarm_escalation_recipient_ids, f"{field}.AlarmEscalationRecipientIds", max_len=64
        ),
        "AlarmEscalationInterval": escalation_interval,
        "NotificationFatigue": _fatigue(g.notification_fatigue, f"{field}.NotificationFatigue"),
        "AlarmWays": ways,
        "WebHooks": [{"AlarmWay": w, "WebHooks": urls} for w, urls in hooks.items()],
        "AlarmRecipientType": recipient_type,
        "AlarmRecipientIds": recipients,
        "CustomEmails": emails,
    }


def check_groups(groups: list[M.AlarmGroup] | None) -> list[dict[str, Any]]:
    if not groups:
        raise InvalidValue("AlarmGroups must hold at least one recipient configuration")
    if len(groups) > 20:
        raise InvalidValue("AlarmGroups: at most 20 recipient configurations")
    return [check_group(g, i) for i, g in enumerate(groups)]


def recipients_text(groups: list[dict[str, Any]]) -> str:
    """``,id1,id2,`` over every group's recipients (the ListOpsAlarmRules recipient filter)."""
    ids: list[str] = []
    for g in groups:
        for r in [*g.get("AlarmRecipientIds", []), *g.get("AlarmEscalationRecipientIds", [])]:
            if r not in ids:
                ids.append(r)
    return "," + ",".join(ids) + "," if ids else ""


def types_text(types: list[str]) -> str:
    return "," + ",".join(types) + ","
