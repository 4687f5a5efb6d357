"""A trigger workflow's triggers as the firing worker reads them (WorkflowTriggerConfig wire
dicts, validated): :class:`TimeSpec` for TIME_TRIGGER, :class:`FileSpec` for FILE_ARRIVAL.

The same parsing validates a workflow's settings when they are written
(``TriggerWorkflowService``: :func:`check_triggers_of`, in the write's transaction, so a refused
setting leaves nothing saved) and builds the specs the worker fires from (:func:`specs_of`):
what is accepted is exactly what fires.

Decisions where WeData is silent (docs/triggers.md, "Time and file-arrival triggers"):

- The workflow's ``TriggerMode`` and ``SchedulerStatus`` win over each trigger's own (the SDK's
  docstrings say so); a trigger is paused when either says PAUSED. A trigger without any mode
  is stored and never fires.
- TIME_TRIGGER: ``CrontabExpression`` is required. ``ConfigMode`` COMMON validates it against
  ``CycleType`` (the periodic tasks' rule, scheduling/crontabs.py); CRON_EXPRESSION takes any
  Quartz expression that fires at most once a minute (CycleType absent or CRONTAB_CYCLE). No
  ConfigMode: COMMON when a CycleType other than CRONTAB_CYCLE is given, else CRON_EXPRESSION.
  ``ScheduleTimeZone`` defaults to UTC+8 (an offset or an IANA name). ``StartTime``/``EndTime``
  (optional, inclusive) are ``yyyy-MM-dd HH:mm:ss`` in that zone or epoch milliseconds; a
  schedule that never fires between them is refused.
- FILE_ARRIVAL: ``FileArrivalPath`` is required (services/triggers/watch.py says which paths);
  ``FileNamePattern`` holds name characters and ``*`` only (default ``*``); ``Recursive``
  defaults to 1. ``TriggerWaitTime`` (minutes) or ``TriggerWaitTimeSecond`` and
  ``TriggerMinimumInterval`` (minutes) or ``TriggerMinimumIntervalSecond``: both forms may be
  given only if they agree; each defaults to one minute.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from wedata.scheduling.crontabs import validate_crontab_for_cycle
from wedata.scheduling.cycles import Schedule, schedule_wall_times
from wedata.scheduling.cycletypes import CycleType
from wedata.scheduling.timezones import parse_zone, utc_to_wall, zone_name
from wedata.scheduling.walltime import WALL_FORMAT
from wedata.services.errors import InvalidValue
from wedata.services.triggers.watch import Roots, check_path

FIELD = "TriggerWorkflowSchedulerConfigurations"
TIME, FILE = "TIME_TRIGGER", "FILE_ARRIVAL"
DEFAULT_ZONE = "UTC+8"
DEFAULT_SECONDS = 60
MAX_PATTERN = 255


@dataclass(frozen=True, slots=True)
class TimeSpec:
    trigger_id: str
    schedule: Schedule  # wall times in ``zone``
    zone: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class FileSpec:
    trigger_id: str
    path: str  # the FileArrivalPath as checked (an absolute local path or a URL)
    pattern: str
    recursive: bool
    wait: timedelta
    min_interval: timedelta
    fingerprint: str


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def effective_mode(outer: str | None, item: dict[str, Any]) -> str | None:
    mode = outer or item.get("TriggerMode")
    return str(mode).upper() if mode else None


def is_paused(outer_status: str | None, item: dict[str, Any]) -> bool:
    return "PAUSED" in (str(outer_status or "").upper(), str(item.get("SchedulerStatus") or "").upper())


def _text(item: dict[str, Any], key: str, at: str, *, required: str | None = None) -> str | None:
    value = item.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidValue(f"{at}.{key} is required {required}")
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"{at}.{key} must be a string, got {value!r}")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidValue(f"{at}.{key} must not contain control characters")
    return value.strip()


def _bound(item: dict[str, Any], key: str, at: str, zone: Any) -> datetime | None:
    """StartTime/EndTime as a wall time of the trigger's zone: wall text or epoch milliseconds."""
    text = _text(item, key, at)
    if text is None:
        return None
    if text.isdigit():
        ms = int(text)
        if not 0 <= ms <= 4_102_444_800_000:  # 2100-01-01
            raise InvalidValue(f"{at}.{key}: {text} is not an epoch-millisecond time between 1970 and 2099")
        instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
        return utc_to_wall(instant, zone)
    try:
        wall = datetime.strptime(text, WALL_FORMAT)
    except ValueError:
        raise InvalidValue(f"{at}.{key} must be yyyy-MM-dd HH:mm:ss or epoch milliseconds, got {text!r}") from None
    if not 1970 <= wall.year <= 2099:
        raise InvalidValue(f"{at}.{key}: {text} is outside the supported years 1970-2099")
    return wall


def parse_time(item: dict[str, Any], at: str) -> TimeSpec:
    cron = " ".join((_text(item, "CrontabExpression", at, required="for a TIME_TRIGGER") or "").split())
    zone_text = _text(item, "ScheduleTimeZone", at) or DEFAULT_ZONE
    try:
        zone = parse_zone(zone_text)
    except ValueError as exc:
        raise InvalidValue(f"{at}.ScheduleTimeZone: {exc}") from None
    mode = (_text(item, "ConfigMode", at) or "").upper()
    cycle_text = _text(item, "CycleType", at)
    try:
        cycle = CycleType.parse(cycle_text) if cycle_text else None
    except (ValueError, TypeError):
        raise InvalidValue(f"{at}.CycleType is not a cycle type: {cycle_text!r}") from None
    if not mode:
        mode = "COMMON" if cycle not in (None, CycleType.CRONTAB_CYCLE) else "CRON_EXPRESSION"
    if mode == "COMMON" and cycle is None:
        raise InvalidValue(f"{at}.CycleType is required when ConfigMode is COMMON")
    if mode == "CRON_EXPRESSION":
        if cycle not in (None, CycleType.CRONTAB_CYCLE):
            raise InvalidValue(f"{at}.CycleType must be CRONTAB_CYCLE (or absent) when ConfigMode is "
                               f"CRON_EXPRESSION, got {cycle_text!r}")
        cycle = CycleType.CRONTAB_CYCLE
    assert cycle is not None
    try:
        validate_crontab_for_cycle(cycle, cron)
    except ValueError as exc:
        raise InvalidValue(f"{at}.{exc}") from None
    start, end = _bound(item, "StartTime", at, zone), _bound(item, "EndTime", at, zone)
    if start is not None and end is not None and end < start:
        raise InvalidValue(f"{at}: EndTime {item.get('EndTime')} is before StartTime {item.get('StartTime')}")
    schedule = Schedule(cycle_type=cycle, crontab_expression=cron, zone=zone_name(zone), start_time=start,
                        end_time=end)
    first = start - timedelta(seconds=1) if start is not None else datetime(1970, 1, 1)
    if next(schedule_wall_times(schedule, first), None) is None:
        raise InvalidValue(f"{at}: the schedule never fires between StartTime {item.get('StartTime') or '(none)'} "
                           f"and EndTime {item.get('EndTime') or '(none)'} (CrontabExpression {cron!r})")
    fp = fingerprint(TIME, cycle.value, cron, zone_name(zone), start, end)
    return TimeSpec(str(item.get("TriggerId")), schedule, zone_name(zone), fp)


def _seconds(item: dict[str, Any], key: str, at: str) -> int:
    minutes, seconds = item.get(key), item.get(f"{key}Second")
    if minutes is not None and seconds is not None and minutes * 60 != seconds:
        raise InvalidValue(f"{at}: {key} ({minutes} min) and {key}Second ({seconds} s) disagree; give one of them")
    if minutes is not None:
        return int(minutes) * 60
    return int(seconds) if seconds is not None else DEFAULT_SECONDS


def check_pattern(value: str | None, at: str) -> str:
    if value is None:
        return "*"
    bad = sorted({c for c in value if c in "/\\?[]" or ord(c) < 32 or ord(c) == 127})
    if bad or len(value) > MAX_PATTERN:
        raise InvalidValue(f"{at}.FileNamePattern must be a file name of at most {MAX_PATTERN} characters where * "
                           f"matches any characters (no path separator, ?, [ or ]), got {value!r}")
    return value


def parse_file(item: dict[str, Any], at: str, roots: Roots) -> FileSpec:
    path = check_path(_text(item, "FileArrivalPath", at, required="for a FILE_ARRIVAL trigger") or "",
                      f"{at}.FileArrivalPath", roots)
    pattern = check_pattern(_text(item, "FileNamePattern", at), at)
    recursive = item.get("Recursive")
    rec = True if recursive is None else bool(recursive)
    wait = _seconds(item, "TriggerWaitTime", at)
    interval = _seconds(item, "TriggerMinimumInterval", at)
    fp = fingerprint(FILE, path, pattern, rec)
    return FileSpec(str(item.get("TriggerId")), path, pattern, rec, timedelta(seconds=wait),
                    timedelta(seconds=interval), fp)


def _at(i: int, item: dict[str, Any]) -> str:
    return f"{FIELD}[{i}] (TriggerId {item.get('TriggerId')})"


def parse_item(outer_mode: str | None, i: int, item: dict[str, Any], roots: Roots) -> TimeSpec | FileSpec | None:
    mode = effective_mode(outer_mode, item)
    if mode == TIME:
        return parse_time(item, _at(i, item))
    if mode == FILE:
        return parse_file(item, _at(i, item), roots)
    return None


def check_triggers_of(outer_mode: str | None, triggers: list[dict[str, Any]] | None, roots: Roots) -> None:
    """Refuse (InvalidValue naming the trigger and field) settings a trigger could not fire from."""
    for i, item in enumerate(triggers or []):
        parse_item(outer_mode, i, item, roots)
