"""A workflow's unified schedule (WorkflowSchedulerConfigurationInfo, spec §6.32): validated and
stored in canonical form under its wire names, so that the tasks service can apply it to each
task as it is. Moved out of workflows.py (size cap); WorkflowService calls canonical_schedule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wedata.scheduling.crontabs import validate_crontab_for_cycle
from wedata.scheduling.cycles import format_hhmm, parse_hhmm
from wedata.scheduling.cycletypes import CycleType
from wedata.scheduling.dependencies import MainCyclicConfig, SubordinateCyclicConfig, validate_dependency
from wedata.scheduling.walltime import WALL_FORMAT
from wedata.services.common import supported, zone_of
from wedata.services.errors import InvalidValue

# ----------------------------------------------------------------------------------------------
# The unified schedule (WorkflowSchedulerConfigurationInfo), validated and stored in canonical
# form under its wire names so that the tasks service can apply it to each task as it is.

SELF_DEPEND = ("parallel", "serial", "orderly")
_CONFIG = "WorkflowSchedulerConfiguration"


def _config_text(raw: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidValue(f"{_CONFIG}.{key} must not be empty")
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"{_CONFIG}.{key} must be a string, got {value!r}")
    return value.strip()


def _config_choice(raw: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = _config_text(raw, key)
    if value is None:
        return default
    if value.lower() not in choices:
        raise InvalidValue(f"{_CONFIG}.{key} must be one of {' | '.join(choices)}, got {value!r}")
    return value.lower()


def _config_wall(raw: dict[str, Any], key: str) -> datetime:
    text = _config_text(raw, key, required=True)
    assert text is not None
    try:
        wall = datetime.strptime(text, WALL_FORMAT)
    except ValueError:
        raise InvalidValue(f"{_CONFIG}.{key} must be formatted yyyy-MM-dd HH:mm:ss, got {text!r}") from None
    supported(wall, f"{_CONFIG}.{key}")
    return wall


def canonical_schedule(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate a unified schedule given under its wire names; return the stored form."""
    zone = _config_text(raw, "ScheduleTimeZone", required=True)
    try:
        zone_of(zone)
    except InvalidValue as exc:
        raise InvalidValue(f"{_CONFIG}.ScheduleTimeZone: {exc.message}") from None
    cycle_value = raw.get("CycleType")
    try:
        cycle = CycleType.parse(cycle_value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise InvalidValue(f"{_CONFIG}.CycleType is not a cycle type: {cycle_value!r}") from None
    self_depend = _config_choice(raw, "SelfDepend", SELF_DEPEND, "serial")
    start, end = _config_wall(raw, "StartTime"), _config_wall(raw, "EndTime")
    if start > end:
        raise InvalidValue(f"{_CONFIG}: StartTime {raw['StartTime']} is after EndTime {raw['EndTime']}")
    cron = " ".join((_config_text(raw, "CrontabExpression", required=True) or "").split())
    try:
        # Valid Quartz (wedata.scheduling.cron.validate_cron) that also fits the CycleType, the
        # rule every task's schedule obeys: the schedule is copied onto the workflow's tasks.
        validate_crontab_for_cycle(cycle, cron)
    except ValueError as exc:
        raise InvalidValue(f"{_CONFIG}.{exc}") from None

    modify = _config_choice(raw, "ModifyCycleValue", ("0", "1"), "0")
    main = _config_text(raw, "MainCyclicConfig")
    sub = _config_text(raw, "SubordinateCyclicConfig")
    if modify == "1" and main is None:
        raise InvalidValue(f"{_CONFIG}.MainCyclicConfig is required when ModifyCycleValue is 1")
    if main is not None:
        try:
            validate_dependency(main, sub)
            main = MainCyclicConfig(main.upper()).value
            sub = SubordinateCyclicConfig.parse(sub).value if sub else None
        except ValueError as exc:
            raise InvalidValue(f"{_CONFIG}: {exc}") from None
    elif sub is not None:
        raise InvalidValue(f"{_CONFIG}.SubordinateCyclicConfig needs a MainCyclicConfig")

    window = []
    for key, default in (("ExecutionStartTime", "00:00"), ("ExecutionEndTime", "23:59")):
        text = _config_text(raw, key) or default
        try:
            window.append(format_hhmm(parse_hhmm(text)))
        except ValueError:
            raise InvalidValue(f"{_CONFIG}.{key} must be formatted HH:mm, got {text!r}") from None

    calendar_open = _config_choice(raw, "CalendarOpen", ("0", "1"), "0")
    calendar_id = _config_text(raw, "CalendarId")
    if calendar_open == "1" and calendar_id is None:
        raise InvalidValue(f"{_CONFIG}.CalendarId is required when CalendarOpen is 1")
    minute_offset = raw.get("MinuteOffset")
    if minute_offset is not None and (
        isinstance(minute_offset, bool) or not isinstance(minute_offset, int) or not 0 <= minute_offset < 60
    ):
        raise InvalidValue(f"{_CONFIG}.MinuteOffset must be an integer from 0 to 59, got {minute_offset!r}")
    clear_link = raw.get("ClearLink")
    return {
        "ScheduleTimeZone": zone,
        "CycleType": cycle.value,
        "SelfDepend": self_depend,
        "StartTime": start.strftime(WALL_FORMAT),
        "EndTime": end.strftime(WALL_FORMAT),
        "CrontabExpression": cron,
        "DependencyWorkflow": _config_choice(raw, "DependencyWorkflow", ("yes", "no"), "no"),
        "ModifyCycleValue": modify,
        "ClearLink": bool(clear_link),
        "MainCyclicConfig": main,
        "SubordinateCyclicConfig": sub,
        "ExecutionStartTime": window[0],
        "ExecutionEndTime": window[1],
        "CalendarOpen": calendar_open,
        "CalendarId": calendar_id,
        "MinuteOffset": minute_offset,
    }
