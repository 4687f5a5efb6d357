"""Data times: which data time (``CurRunDate``) a fire produces, instance keys, wall formats.

A fire at scheduled (planned) wall time S produces the instance whose data time is

- ``T_PLUS_0`` (default): S truncated to its cycle;
- ``T_PLUS_1``: one cycle before S, truncated (the spec's §6.11 recommendation);
- ``T_MINUS_1``: one cycle after S, truncated (ops workflows only).

Truncation: day, week, month, year and one-off cycles -> 00:00 of S's day (a week task keeps
its weekday, it is not moved to Monday); hour -> HH:00:00; minute and crontab -> S itself.
"One cycle" is calendar arithmetic on the wall clock: 1 hour, 1 day, 7 days, 1 month (the
day clamped to the month's length; a last-of-month fire maps to the previous month's last
day), 1 year (29 Feb -> 28 Feb). Minute and crontab tasks have no fixed unit: their previous
cycle is the previous fire of the cron expression (after MinuteOffset), ignoring the window,
the calendar and StartTime, so that the first instance of the day still has a data time.
"""

from __future__ import annotations

import calendar as _stdcal
from collections.abc import Iterator
from datetime import datetime, timedelta

from wedata.scheduling.cycles import (
    CycleType,
    InitStrategy,
    Schedule,
    schedule_wall_times,
    schedule_wall_times_desc,
)
from wedata.scheduling.walltime import WALL_FORMAT, WALL_PATTERN, format_wall, parse_wall

__all__ = [
    "WALL_FORMAT",
    "WALL_PATTERN",
    "add_months",
    "data_time",
    "data_times_between",
    "event_dimension",
    "format_wall",
    "instance_key",
    "latest_data_time",
    "next_data_time",
    "parse_instance_key",
    "parse_wall",
    "planned_instances",
    "previous_data_time",
    "schedule_data_time",
    "scheduled_time_for",
    "shift_cycle",
    "truncate_to_cycle",
]

_EPS = timedelta(microseconds=1)
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
_UNCUT = (CycleType.MINUTE_CYCLE, CycleType.CRONTAB_CYCLE)  # data time = fire time


def instance_key(task_id: str, data_time: datetime) -> str:
    """``<TaskId>_<yyyy-MM-dd HH:mm:ss>`` (the data time; it contains a space). The iterations
    of a For-each node (services/triggers/nodes.py) differ from the run's data time by
    microseconds: their keys end ``.ffffff``."""
    frac = f".{data_time.microsecond:06d}" if data_time.microsecond else ""
    return f"{task_id}_{format_wall(data_time)}{frac}"


def parse_instance_key(key: str) -> tuple[str, datetime]:
    """Inverse of :func:`instance_key`; raises ValueError on anything else."""
    task_id, sep, when = key.rpartition("_")
    if not sep or not task_id:
        raise ValueError(f"invalid InstanceKey {key!r}, expected <TaskId>_<{WALL_PATTERN}>")
    when, dot, frac = when.partition(".")
    if dot and not (len(frac) == 6 and frac.isdigit()):
        raise ValueError(f"invalid InstanceKey {key!r}, expected <TaskId>_<{WALL_PATTERN}>[.ffffff]")
    return task_id, parse_wall(when).replace(microsecond=int(frac) if dot else 0)


def event_dimension(sub_type: str, data_time: datetime) -> str:
    """The event dimension an instance matches for ``EventSubType`` (DAY -> ``yyyyMMdd``)."""
    kind = sub_type.strip().upper()
    stamp = f"{data_time.year:04d}{data_time.month:02d}{data_time.day:02d}"
    if kind == "DAY":
        return stamp
    stamp += f"{data_time.hour:02d}"
    if kind == "HOUR":
        return stamp
    stamp += f"{data_time.minute:02d}"
    if kind in ("MIN", "MINUTE"):
        return stamp
    if kind in ("SECOND", "SEC"):
        return stamp + f"{data_time.second:02d}"
    raise ValueError(f"unknown EventSubType {sub_type!r}")


# -- calendar arithmetic ---------------------------------------------------------------------


def _days_in_month(year: int, month: int) -> int:
    return _stdcal.monthrange(year, month)[1]


def add_months(dt: datetime, months: int, *, keep_month_end: bool = False) -> datetime:
    """``dt`` plus ``months`` calendar months, the day clamped to the target month.

    With ``keep_month_end`` a last-of-month ``dt`` lands on the target's last day too.
    """
    index = dt.year * 12 + (dt.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = _days_in_month(year, month)
    day = dt.day
    if keep_month_end and dt.day == _days_in_month(dt.year, dt.month):
        day = last
    return dt.replace(year=year, month=month, day=min(day, last))


def truncate_to_cycle(cycle_type: CycleType, wall: datetime) -> datetime:
    """The data-time truncation of a cycle (see the module docstring)."""
    if cycle_type in _UNCUT:
        return wall.replace(microsecond=0)
    if cycle_type is CycleType.HOUR_CYCLE:
        return wall.replace(minute=0, second=0, microsecond=0)
    return wall.replace(hour=0, minute=0, second=0, microsecond=0)


def shift_cycle(cycle_type: CycleType, wall: datetime, n: int) -> datetime:
    """``wall`` moved by ``n`` calendar cycles (not defined for minute and crontab cycles)."""
    if cycle_type is CycleType.HOUR_CYCLE:
        return wall + n * _HOUR
    if cycle_type in (CycleType.DAY_CYCLE, CycleType.ONEOFF_CYCLE):
        return wall + n * _DAY
    if cycle_type is CycleType.WEEK_CYCLE:
        return wall + n * 7 * _DAY
    if cycle_type is CycleType.MONTH_CYCLE:
        return add_months(wall, n, keep_month_end=True)
    if cycle_type is CycleType.YEAR_CYCLE:
        return add_months(wall, 12 * n)
    raise ValueError(f"{cycle_type.value} has no fixed cycle length; use the schedule's fires")


def data_time(
    cycle_type: CycleType | str,
    scheduled_wall: datetime,
    init_strategy: InitStrategy | str = InitStrategy.T_PLUS_0,
    schedule: Schedule | None = None,
) -> datetime:
    """The data time (``CurRunDate``) of the instance a fire at ``scheduled_wall`` produces.

    ``schedule`` is only needed for minute and crontab cycles under T_PLUS_1 / T_MINUS_1,
    whose "previous cycle" is the previous fire of their cron expression.
    """
    cycle = CycleType.parse(cycle_type)
    init = InitStrategy.parse(init_strategy)
    if init is InitStrategy.T_PLUS_0:
        return truncate_to_cycle(cycle, scheduled_wall)
    step = -1 if init is InitStrategy.T_PLUS_1 else 1
    if cycle in _UNCUT:
        if schedule is None:
            raise ValueError(f"{cycle.value} with {init.value} needs the schedule (its previous fire)")
        other = schedule.raw_previous(scheduled_wall) if step < 0 else schedule.raw_next(scheduled_wall)
        # No other fire at all (a cron with a year range): the instance keeps its own time.
        return truncate_to_cycle(cycle, scheduled_wall if other is None else other)
    return truncate_to_cycle(cycle, shift_cycle(cycle, scheduled_wall, step))


def schedule_data_time(schedule: Schedule, scheduled_wall: datetime) -> datetime:
    return data_time(schedule.cycle_type, scheduled_wall, schedule.init_strategy, schedule)


# -- from data-time windows to fires and back ------------------------------------------------
# A data time D is produced by fires in a bounded window around D, so enumerating the fires of
# a slightly larger window and mapping them finds every instance whose data time is in range.


def _spans(cycle: CycleType) -> tuple[timedelta, timedelta, timedelta]:
    """(shortest cycle, longest cycle, truncation unit) for fixed-length cycles."""
    if cycle is CycleType.HOUR_CYCLE:
        return _HOUR, _HOUR, _HOUR
    if cycle is CycleType.WEEK_CYCLE:
        return 7 * _DAY, 7 * _DAY, _DAY
    if cycle is CycleType.MONTH_CYCLE:
        return 28 * _DAY, 31 * _DAY, _DAY
    if cycle is CycleType.YEAR_CYCLE:
        return 365 * _DAY, 366 * _DAY, _DAY
    return _DAY, _DAY, _DAY


def _fire_lower(s: Schedule, lo: datetime) -> datetime:
    """Every fire whose data time is >= lo is >= this."""
    init, cycle = s.init_strategy, s.cycle_type
    if init is InitStrategy.T_PLUS_0:
        return lo
    if cycle in _UNCUT:
        if init is InitStrategy.T_PLUS_1:
            return lo + _EPS
        prev = s.raw_previous(lo)
        return lo if prev is None else prev
    short, long_, _ = _spans(cycle)
    return lo + short if init is InitStrategy.T_PLUS_1 else lo - long_


def _fire_upper(s: Schedule, hi: datetime) -> datetime:
    """Every fire whose data time is <= hi is < this."""
    init, cycle = s.init_strategy, s.cycle_type
    if cycle in _UNCUT:
        if init is InitStrategy.T_PLUS_0:
            return hi + _EPS
        if init is InitStrategy.T_PLUS_1:
            nxt = s.raw_next(hi)
            return hi + _EPS if nxt is None else nxt + _EPS
        return hi
    short, long_, unit = _spans(cycle)
    if init is InitStrategy.T_PLUS_0:
        return hi + unit
    if init is InitStrategy.T_PLUS_1:
        return hi + long_ + unit
    return hi - short + unit


def data_times_between(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    *,
    start_closed: bool = True,
    end_closed: bool = True,
) -> list[datetime]:
    """The data times of the schedule's instances inside [start, end] (ends per flags), sorted.

    Only times at which the schedule really produces an instance: StartTime/EndTime, the
    execution window, MinuteOffset and the calendar all apply (to the fire times).
    """
    if end < start:
        return []
    if schedule.init_strategy is InitStrategy.T_PLUS_0 and schedule.cycle_type in _UNCUT:
        # The hot path (e.g. a daily task waiting for 1,440 minute instances): fire = data time.
        after = start - _EPS if start_closed else start
        until = end if end_closed else end - _EPS
        return list(schedule_wall_times(schedule, after, until))
    out: list[datetime] = []
    last: datetime | None = None
    for fire in schedule_wall_times(
        schedule, _fire_lower(schedule, start) - _EPS, _fire_upper(schedule, end) - _EPS
    ):
        d = schedule_data_time(schedule, fire)
        if d == last:
            continue
        if (d > start or (start_closed and d == start)) and (d < end or (end_closed and d == end)):
            out.append(d)
            last = d
    return out


def planned_instances(
    schedule: Schedule, after: datetime, until: datetime | None = None
) -> Iterator[tuple[datetime, datetime]]:
    """(scheduled wall time, data time) for the fires in (after, until], lazily.

    When two fires map to one data time (only possible for schedules that fail
    validate_crontab_for_cycle), the first fire makes the instance.
    """
    last: datetime | None = None
    for fire in schedule_wall_times(schedule, after, until):
        d = schedule_data_time(schedule, fire)
        if d != last:
            yield fire, d
            last = d


def latest_data_time(schedule: Schedule, bound: datetime, *, inclusive: bool = True) -> datetime | None:
    """The latest instance data time <= ``bound`` (< when not inclusive), or None."""
    for fire in schedule_wall_times_desc(schedule, _fire_upper(schedule, bound)):
        d = schedule_data_time(schedule, fire)
        if d < bound or (inclusive and d == bound):
            return d
    return None


def previous_data_time(schedule: Schedule, current: datetime) -> datetime | None:
    """The data time of the instance before the one at ``current`` (None for the first)."""
    return latest_data_time(schedule, current, inclusive=False)


def next_data_time(schedule: Schedule, current: datetime) -> datetime | None:
    """The data time of the instance after the one at ``current`` (None after the last)."""
    for fire in schedule_wall_times(schedule, _fire_lower(schedule, current) - _EPS):
        d = schedule_data_time(schedule, fire)
        if d > current:
            return d
    return None


def scheduled_time_for(schedule: Schedule, target: datetime) -> datetime | None:
    """The planned (scheduled) wall time of the instance with data time ``target``, if any.

    Used by backfills and by ``$(...)`` parameters of instances that were never scheduled.
    """
    for fire in schedule_wall_times(schedule, _fire_lower(schedule, target) - _EPS):
        d = schedule_data_time(schedule, fire)
        if d == target:
            return fire
        if d > target:
            return None
    return None
