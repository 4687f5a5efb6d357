"""A schedule in words and its next fire times, for the task editor's live preview.

Pure functions over the form's values (no I/O). The fire times come from our own Quartz cron
evaluator (``scheduling.cron``, the one the engine plans with) in the task's zone, from now or
from the task's StartTime, whichever is later, up to its EndTime; the words from the
``cron-descriptor`` library (Quartz syntax: seconds, ``?``, ``L``, ``W``, ``#``, years; day of
week 1 = Sunday, as Quartz counts), with the cycle and the zone added: "Every day, at 00:30
(UTC+8)". A wrong expression, zone or time is answered with the message and the form field it
concerns, as the API would name it; the save itself is still checked by the action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cron_descriptor import ExpressionDescriptor, Options

from wedata.scheduling.cron import QuartzCron
from wedata.scheduling.crontabs import validate_crontab_for_cycle
from wedata.scheduling.cycletypes import CycleType
from wedata.scheduling.timezones import parse_zone, utc_to_wall, wall_to_utc
from wedata.scheduling.walltime import format_wall, parse_wall

DEFAULT_ZONE = "UTC+8"
COUNT = 10

_CYCLE_WORDS = {
    CycleType.DAY_CYCLE: "Every day",
    CycleType.WEEK_CYCLE: "Every week",
    CycleType.MONTH_CYCLE: "Every month",
    CycleType.YEAR_CYCLE: "Every year",
    CycleType.HOUR_CYCLE: "Every day",
    CycleType.MINUTE_CYCLE: "Every day",
    CycleType.ONEOFF_CYCLE: "Once",
}


@dataclass
class Preview:
    words: str = ""
    fires: list[str] = field(default_factory=list)  # wall times in the task's zone
    error: str | None = None
    field: str | None = None  # the form field the error concerns (its wire name)
    zone: str = DEFAULT_ZONE


def _options() -> Options:
    o = Options()
    o.use_24hour_time_format = True
    o.day_of_week_start_index_zero = False  # Quartz: 1 = Sunday
    o.verbose = False
    return o


def describe(cycle: CycleType, expression: str, zone: str) -> str:
    text = ExpressionDescriptor(expression, _options()).get_description()
    lead = _CYCLE_WORDS.get(cycle)
    if lead and cycle in (CycleType.DAY_CYCLE, CycleType.ONEOFF_CYCLE) and text.startswith("At "):
        text = f"{lead}, {text[0].lower()}{text[1:]}"
    return f"{text} ({zone})"


def _wall(value: str, name: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        return parse_wall(value)
    except ValueError:
        raise _FieldError(name, f"{name} must be a time yyyy-MM-dd HH:mm:ss, got {value!r}") from None


class _FieldError(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def preview(cycle_type: str, expression: str, zone: str = "", start: str = "", end: str = "",
            now: datetime | None = None, count: int = COUNT) -> Preview:
    """The words and the next ``count`` fire times of a schedule as the editor's form has it."""
    zone = zone.strip() or DEFAULT_ZONE
    expression = " ".join(expression.split())
    out = Preview(zone=zone)
    try:
        try:
            cycle = CycleType.parse(cycle_type or "DAY_CYCLE")
        except ValueError:
            raise _FieldError("CycleType", f"CycleType: unknown value {cycle_type!r}") from None
        if not expression:
            raise _FieldError("CrontabExpression", "CrontabExpression is empty")
        try:
            validate_crontab_for_cycle(cycle, expression)
        except ValueError as exc:
            raise _FieldError("CrontabExpression", f"CrontabExpression: {exc}") from None
        try:
            tz = parse_zone(zone)
        except ValueError as exc:
            raise _FieldError("ScheduleTimeZone", f"ScheduleTimeZone: {exc}") from None
        begin, finish = _wall(start, "StartTime"), _wall(end, "EndTime")
        if begin and finish and begin > finish:
            raise _FieldError("EndTime", f"EndTime {end} is before StartTime {start}")
        out.words = describe(cycle, expression, zone)
    except _FieldError as exc:
        out.error, out.field = str(exc), exc.field
        return out
    cron = QuartzCron.parse(expression)
    instant = (now or datetime.now(UTC)).astimezone(UTC)
    if begin is not None:
        # The first fire may be StartTime itself: search from just before it.
        instant = max(instant, wall_to_utc(begin, tz) - timedelta(seconds=1))
    while len(out.fires) < count:
        found = cron.next_after(instant, tz)
        if found is None:
            break
        instant = found.astimezone(UTC)
        wall = utc_to_wall(instant, tz)
        if finish is not None and wall > finish:
            break
        out.fires.append(format_wall(wall))
    return out

