"""Cycle types, the Schedule value and its wall-clock fire times.

Everything here works on **naive wall-clock datetimes in the task's own zone**
(``ScheduleTimeZone``). Instances are keyed by wall-clock data time, so converting to instants
(``timezones.wall_to_utc``) is the planner's job, done once per fire. Consequences on DST days:
a wall time that does not exist still yields one fire (its instant is the one after the jump),
and a repeated wall time yields one fire (the first occurrence); see docs/cron.md.

The fire times of a Schedule are the cron's wall fires, shifted by ``MinuteOffset`` (minute
cycles), restricted to [StartTime, EndTime], to the daily execution window (minute and hour
cycles) and to the calendar. The rules chosen where WeData is silent are in docs/scheduling.md.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from wedata.scheduling.calendar import Calendar, CalendarMode, DateFilter, calendar_allows
from wedata.scheduling.cron import MAX_YEAR, QuartzCron
from wedata.scheduling.crontabs import derive_crontab, validate_crontab_for_cycle
from wedata.scheduling.cycletypes import CycleType, InitStrategy
from wedata.scheduling.timezones import parse_zone
from wedata.scheduling.walltime import parse_wall

__all__ = [
    "DEFAULT_CRONTAB",
    "DEFAULT_END_TIME",
    "CycleType",
    "InitStrategy",
    "Schedule",
    "derive_crontab",
    "format_hhmm",
    "next_wall_time",
    "parse_hhmm",
    "previous_wall_time",
    "schedule_wall_times",
    "schedule_wall_times_desc",
    "validate_crontab_for_cycle",
]

DEFAULT_CRONTAB = "0 0 0 * * ? *"
DEFAULT_END_TIME = datetime(2099, 12, 31, 23, 59, 59)
# Quartz's years are 1970..2099: open-ended iteration stops there.
_FAR_FUTURE = datetime(2099, 12, 31, 23, 59, 59)
_EPOCH = datetime(1970, 1, 1)
_EPS = timedelta(microseconds=1)
_DAY = timedelta(days=1)
_MINUTES_PER_DAY = 1440


def parse_hhmm(value: str) -> int:
    """``HH:mm`` -> minutes after midnight (00:00 .. 23:59)."""
    text = value.strip()
    hh, sep, mm = text.partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2 or len(hh) > 2:
        raise ValueError(f"invalid HH:mm time {value!r}")
    h, m = int(hh), int(mm)
    if h > 23 or m > 59:
        raise ValueError(f"invalid HH:mm time {value!r}")
    return h * 60 + m


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# ---------------------------------------------------------------------------------------------
# Daily patterns: when day-of-month, month, day-of-week and year are all wildcards, every day has
# the same fires. QuartzCron lists them once for a reference day (cached per expression) and
# iteration becomes arithmetic over that list; everything else goes to QuartzCron fire by fire.
# A property test checks the two agree. It is what makes DAY<-MINUTE dependency resolution take
# well under 2 ms (QuartzCron alone needs about 3 us a fire).

_MAX_PATTERN = 1440  # one fire a minute; denser expressions (seconds lists) use QuartzCron


@dataclass(frozen=True, slots=True)
class _DailyPattern:
    seconds: tuple[int, ...]  # seconds after midnight, ascending, non-empty
    deltas: tuple[timedelta, ...]


def _split_fields(expression: str) -> list[str]:
    parts = expression.upper().split()
    if len(parts) == 6:
        parts.append("*")
    return parts


def _is_daily(expression: str) -> bool:
    f = _split_fields(expression)
    return len(f) == 7 and f[3] in ("*", "?") and f[4] == "*" and f[5] in ("*", "?") and f[6] == "*"


@lru_cache(maxsize=1024)
def _daily_pattern(expression: str) -> _DailyPattern | None:
    if not _is_daily(expression):
        return None
    day = datetime(2001, 1, 1)  # any day inside Quartz's years: every day is alike
    seconds: list[int] = []
    for t in QuartzCron.parse(expression).iter_wall(day - _EPS, day + _DAY - _EPS):
        seconds.append((t - day).seconds)
        if len(seconds) > _MAX_PATTERN:
            return None
    if not seconds:
        return None
    return _DailyPattern(tuple(seconds), tuple(timedelta(seconds=x) for x in seconds))


_LAST_WALL = datetime(MAX_YEAR, 12, 31, 23, 59, 59)


def _pattern_asc(p: _DailyPattern, lo: datetime, hi: datetime) -> Iterator[datetime]:
    """Fires in (lo, hi]; like the cron evaluator, nothing after the year MAX_YEAR."""
    hi = min(hi, _LAST_WALL)
    base = lo.replace(microsecond=0)  # fires are whole seconds: > floor(lo) means > lo
    day = datetime(base.year, base.month, base.day)
    i = bisect_right(p.seconds, (base - day).seconds)
    deltas = p.deltas
    while True:
        for delta in deltas[i:] if i else deltas:
            t = day + delta
            if t > hi:
                return
            yield t
        day += _DAY
        i = 0


def _pattern_desc(p: _DailyPattern, hi: datetime, lo: datetime) -> Iterator[datetime]:
    """Fires in [lo, hi), latest first; like the cron evaluator, nothing after MAX_YEAR."""
    hi = min(hi, _LAST_WALL + timedelta(seconds=1))
    base = hi if not hi.microsecond else hi.replace(microsecond=0) + timedelta(seconds=1)
    day = datetime(base.year, base.month, base.day)
    i = bisect_left(p.seconds, (base - day).seconds)
    deltas = p.deltas
    while True:
        for j in range(i - 1, -1, -1):
            t = day + deltas[j]
            if t < lo:
                return
            yield t
        day -= _DAY
        i = len(deltas)


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Schedule:
    """A task's schedule as the scheduler sees it (TaskSchedulerConfiguration, parsed).

    All datetimes are naive wall-clock times in ``zone``. ``start_time``/``end_time`` are
    inclusive bounds on fire times (None = unbounded). ``execution_start``/``execution_end``
    are the daily ``HH:mm`` window, both ends inclusive at minute granularity; it may wrap
    midnight and only applies to MINUTE_CYCLE and HOUR_CYCLE. ``minute_offset`` shifts the fires
    of MINUTE_CYCLE schedules later by that many minutes. ``calendar`` None = every day.
    """

    cycle_type: CycleType = CycleType.DAY_CYCLE
    crontab_expression: str = DEFAULT_CRONTAB
    zone: str = "UTC+8"
    start_time: datetime | None = None
    end_time: datetime | None = DEFAULT_END_TIME
    execution_start: str = "00:00"
    execution_end: str = "23:59"
    minute_offset: int = 0
    calendar: DateFilter | None = None
    init_strategy: InitStrategy = InitStrategy.T_PLUS_0
    # Derived once, at construction.
    _cron: QuartzCron = field(init=False, repr=False, compare=False, hash=False)
    _pattern: _DailyPattern | None = field(init=False, repr=False, compare=False, hash=False)
    _window: tuple[int, int] | None = field(init=False, repr=False, compare=False, hash=False)
    _shift: timedelta = field(init=False, repr=False, compare=False, hash=False)
    _run_days: tuple[date, ...] | None = field(init=False, repr=False, compare=False, hash=False)
    _dense: bool = field(init=False, repr=False, compare=False, hash=False)
    _daily_fires: bool = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "cycle_type", CycleType.parse(self.cycle_type))
        setattr_(self, "init_strategy", InitStrategy.parse(self.init_strategy))
        if isinstance(self.calendar, set):
            setattr_(self, "calendar", frozenset(self.calendar))
        setattr_(self, "_cron", QuartzCron.parse(self.crontab_expression))
        setattr_(self, "_pattern", _daily_pattern(self.crontab_expression))
        w_start, w_end = parse_hhmm(self.execution_start), parse_hhmm(self.execution_end)
        full_day = (w_end + 1) % _MINUTES_PER_DAY == w_start
        windowed = self.cycle_type in (CycleType.MINUTE_CYCLE, CycleType.HOUR_CYCLE)
        setattr_(self, "_window", None if full_day or not windowed else (w_start, w_end))
        if not 0 <= self.minute_offset < 60:
            raise ValueError(f"MinuteOffset must be within 0..59, got {self.minute_offset}")
        shift = self.minute_offset if self.cycle_type is CycleType.MINUTE_CYCLE else 0
        setattr_(self, "_shift", timedelta(minutes=shift))
        if self.start_time is not None and self.end_time is not None and self.end_time < self.start_time:
            raise ValueError("EndTime is before StartTime")
        parse_zone(self.zone)  # fail at construction, not at planning time
        setattr_(self, "_run_days", _run_days(self.calendar))
        # Minute and hour schedules whose cron pattern repeats every day are walked day by day
        # (skipping days the calendar removes); each such day has fires iff a reference day does.
        daily = _is_daily(self.crontab_expression)
        dense = windowed and daily and (self._window is not None or self.calendar is not None)
        setattr_(self, "_dense", dense)
        setattr_(self, "_daily_fires", dense and _reference_day_fires(self))

    @classmethod
    def from_strings(
        cls,
        *,
        cycle_type: str = "DAY_CYCLE",
        crontab_expression: str | None = None,
        zone: str | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
        execution_start: str | None = None,
        execution_end: str | None = None,
        minute_offset: int | str | None = None,
        calendar: DateFilter | None = None,
        init_strategy: str | None = None,
    ) -> Schedule:
        """Build from wire-shaped values (``yyyy-MM-dd HH:mm:ss``; blanks mean defaults)."""
        return cls(
            cycle_type=CycleType.parse(cycle_type or "DAY_CYCLE"),
            crontab_expression=(crontab_expression or DEFAULT_CRONTAB).strip(),
            zone=zone or "UTC+8",
            start_time=parse_wall(start_time) if start_time else None,
            end_time=parse_wall(end_time) if end_time else DEFAULT_END_TIME,
            execution_start=execution_start or "00:00",
            execution_end=execution_end or "23:59",
            minute_offset=int(minute_offset or 0),
            calendar=calendar,
            init_strategy=InitStrategy.parse(init_strategy),
        )

    @property
    def cron(self) -> QuartzCron:
        return self._cron

    @property
    def has_window(self) -> bool:
        """Whether the execution window removes any fire (minute/hour cycles, not 24 h)."""
        return self._window is not None

    def in_window(self, wall: datetime) -> bool:
        if self._window is None:
            return True
        start, end = self._window
        m = wall.hour * 60 + wall.minute
        return start <= m <= end if start <= end else (m >= start or m <= end)

    def allows_date(self, d: date) -> bool:
        return calendar_allows(self.calendar, d)

    def accepts(self, wall: datetime) -> bool:
        """Whether a raw (already shifted) fire survives the bounds, window and calendar."""
        if self.start_time is not None and wall < self.start_time:
            return False
        if self.end_time is not None and wall > self.end_time:
            return False
        return self.in_window(wall) and self.allows_date(wall.date())

    # -- raw fires: the cron's fires shifted by MinuteOffset, no filtering -------------------

    def raw_fires(self, lo: datetime, hi: datetime) -> Iterator[datetime]:
        """Shifted cron fires in (lo, hi], ascending."""
        shift = self._shift
        if hi > _FAR_FUTURE + shift:
            hi = _FAR_FUTURE + shift  # Quartz stops at 2099; so does the pattern
        if self._pattern is not None:
            if shift:
                return (t + shift for t in _pattern_asc(self._pattern, lo - shift, hi - shift))
            return _pattern_asc(self._pattern, lo, hi)
        if shift:
            return (t + shift for t in self._cron.iter_wall(lo - shift, hi - shift))
        return self._cron.iter_wall(lo, hi)

    def raw_fires_desc(self, hi: datetime, lo: datetime) -> Iterator[datetime]:
        """Shifted cron fires in [lo, hi), latest first."""
        shift = self._shift
        if lo < _EPOCH + shift:
            lo = _EPOCH + shift  # Quartz starts at 1970; so does the pattern
        if self._pattern is not None:
            return (t + shift for t in _pattern_desc(self._pattern, hi - shift, lo - shift))
        return self._cron_desc(hi, lo)

    def _cron_desc(self, hi: datetime, lo: datetime) -> Iterator[datetime]:
        shift = self._shift
        t: datetime | None = hi - shift
        while True:
            assert t is not None
            t = self._cron.prev_wall_before(t)
            if t is None or t + shift < lo:
                return
            yield t + shift

    def raw_next(self, wall: datetime) -> datetime | None:
        """The next shifted cron fire strictly after ``wall`` (no bounds, window or calendar)."""
        return next(self.raw_fires(wall, _FAR_FUTURE + self._shift), None)

    def raw_previous(self, wall: datetime) -> datetime | None:
        """The previous shifted cron fire strictly before ``wall`` (no filtering)."""
        return next(self.raw_fires_desc(wall, _EPOCH), None)

    def oneoff_time(self) -> datetime | None:
        """A one-off task fires once: at its first cron fire at or after StartTime."""
        start = self.start_time if self.start_time is not None else _EPOCH
        t = self._cron.next_wall_after(start - _EPS)
        if t is None or (self.end_time is not None and t > self.end_time):
            return None
        return t if self.allows_date(t.date()) else None


def _window_segments(s: Schedule, d: date) -> list[tuple[datetime, datetime]]:
    """The half-open wall intervals of day ``d`` inside the execution window."""
    day = datetime(d.year, d.month, d.day)
    if s._window is None:
        return [(day, day + _DAY)]
    start, end = s._window
    if start <= end:
        return [(day + timedelta(minutes=start), day + timedelta(minutes=end + 1))]
    return [(day, day + timedelta(minutes=end + 1)), (day + timedelta(minutes=start), day + _DAY)]


def _run_days(calendar: DateFilter | None) -> tuple[date, ...] | None:
    """The sorted run dates of a run-only calendar (None: every day, or a pause list)."""
    if calendar is None:
        return None
    if isinstance(calendar, Calendar):
        return tuple(sorted(calendar.dates)) if calendar.mode is CalendarMode.RUN else None
    return tuple(sorted(calendar))


def _reference_day_fires(s: Schedule) -> bool:
    segments = _window_segments(s, date(2001, 1, 1))
    return any(next(s.raw_fires(a - _EPS, b - _EPS), None) is not None for a, b in segments)


def _days_asc(s: Schedule, first: date, last: date) -> Iterator[date]:
    if s._run_days is not None:
        days = s._run_days
        for d in days[bisect_left(days, first) :]:
            if d > last:
                return
            yield d
        return
    d = first
    while d <= last:
        if s.allows_date(d):
            yield d
        d += _DAY


def _days_desc(s: Schedule, last: date, first: date) -> Iterator[date]:
    if s._run_days is not None:
        days = s._run_days
        for i in range(bisect_right(days, last) - 1, -1, -1):
            if days[i] < first:
                return
            yield days[i]
        return
    d = last
    while d >= first:
        if s.allows_date(d):
            yield d
        d -= _DAY


def _clamp_to_run_days(s: Schedule, lo: datetime, hi: datetime) -> tuple[datetime, datetime]:
    """A run-only calendar bounds the search: nothing fires outside [first day, last day]."""
    days = s._run_days
    if days is None:
        return lo, hi
    if not days:
        return hi, hi  # an empty run calendar never fires
    first = datetime(days[0].year, days[0].month, days[0].day) - _EPS
    last = datetime(days[-1].year, days[-1].month, days[-1].day) + _DAY - _EPS
    return max(lo, first), min(hi, last)


def _bounds(s: Schedule, after: datetime, until: datetime | None) -> tuple[datetime, datetime]:
    lo = after
    if s.start_time is not None and s.start_time - _EPS > lo:
        lo = s.start_time - _EPS  # StartTime itself may fire
    hi = _FAR_FUTURE if until is None else until
    if s.end_time is not None and s.end_time < hi:
        hi = s.end_time
    return _clamp_to_run_days(s, lo, hi)


def schedule_wall_times(
    schedule: Schedule, after: datetime, until: datetime | None = None
) -> Iterator[datetime]:
    """The schedule's wall fire times in (after, until], ascending and lazy.

    ``until`` None runs to EndTime (or far into the future when EndTime is None).
    """
    s = schedule
    lo, hi = _bounds(s, after, until)
    if lo >= hi:
        return
    if s.cycle_type is CycleType.ONEOFF_CYCLE:
        t = s.oneoff_time()
        if t is not None and lo < t <= hi:
            yield t
        return
    if not s._dense:
        if s._window is None and s.calendar is None:
            yield from s.raw_fires(lo, hi)
        else:
            for t in s.raw_fires(lo, hi):
                if s.in_window(t) and s.allows_date(t.date()):
                    yield t
        return
    if not s._daily_fires:
        return
    for d in _days_asc(s, lo.date(), hi.date()):
        for a, b in _window_segments(s, d):
            seg_lo = a - _EPS if a - _EPS > lo else lo
            seg_hi = b - _EPS if b - _EPS < hi else hi
            if seg_lo < seg_hi:
                yield from s.raw_fires(seg_lo, seg_hi)


def schedule_wall_times_desc(
    schedule: Schedule, before: datetime, not_before: datetime | None = None
) -> Iterator[datetime]:
    """The schedule's wall fire times in [not_before, before), latest first, lazy."""
    s = schedule
    lo = _EPOCH if not_before is None else not_before
    if s.start_time is not None and s.start_time > lo:
        lo = s.start_time
    hi = before
    if s.end_time is not None and s.end_time + _EPS < hi:
        hi = s.end_time + _EPS  # EndTime itself may fire
    lo, hi = _clamp_to_run_days(s, lo, hi)
    if lo >= hi:
        return
    if s.cycle_type is CycleType.ONEOFF_CYCLE:
        t = s.oneoff_time()
        if t is not None and lo <= t < hi:
            yield t
        return
    if not s._dense:
        for t in s.raw_fires_desc(hi, lo):
            if s.in_window(t) and s.allows_date(t.date()):
                yield t
        return
    if not s._daily_fires:
        return
    for d in _days_desc(s, hi.date(), lo.date()):
        for a, b in reversed(_window_segments(s, d)):
            seg_lo = a if a > lo else lo
            seg_hi = b if b < hi else hi
            if seg_lo < seg_hi:
                yield from s.raw_fires_desc(seg_hi, seg_lo)


def next_wall_time(schedule: Schedule, wall: datetime) -> datetime | None:
    """The first fire strictly after ``wall`` (None when the schedule has ended)."""
    return next(schedule_wall_times(schedule, wall), None)


def previous_wall_time(schedule: Schedule, wall: datetime) -> datetime | None:
    """The last fire strictly before ``wall`` (None before StartTime)."""
    return next(schedule_wall_times_desc(schedule, wall), None)
