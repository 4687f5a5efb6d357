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

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from wedata.scheduling.calendar import DateFilter, calendar_allows
from wedata.scheduling.cron import QuartzCron
from wedata.scheduling.crontabs import derive_crontab, validate_crontab_for_cycle
from wedata.scheduling.cycletypes import CycleType, InitStrategy

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
# Upper bound for open-ended iteration; Quartz years stop at 2099 anyway.
_FAR_FUTURE = datetime(2199, 12, 31, 23, 59, 59)
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
# Regular schedules: "every P minutes, phase A" needs no cron search. Recognising the shape is
# not evaluating cron: anything unusual falls back to QuartzCron, and a property test checks the
# two agree. It is what makes DAY<-MINUTE dependency resolution take well under 2 ms.


@dataclass(frozen=True, slots=True)
class _Period:
    step: int  # seconds; divides 86400, so every day has the same fire pattern
    anchor: int  # seconds after midnight of the first fire of a day, 0 <= anchor < step


def _split_fields(expression: str) -> list[str]:
    parts = expression.upper().split()
    if len(parts) == 6:
        parts.append("*")
    return parts


def _step_field(token: str, modulus: int) -> tuple[int, int] | None:
    """``*`` / ``*/n`` / ``a/n`` -> (anchor, step) when evenly spaced over ``modulus``."""
    if token == "*":
        return 0, 1
    base, slash, step_text = token.partition("/")
    if not slash or not step_text.isdigit():
        return None
    step = int(step_text)
    anchor = 0 if base in ("*", "0") else (int(base) if base.isdigit() else -1)
    if step < 1 or modulus % step or not 0 <= anchor < step:
        return None
    return anchor, step


def _detect_period(expression: str) -> _Period | None:
    f = _split_fields(expression)
    if len(f) != 7:
        return None
    sec, minute, hour, dom, month, dow, year = f
    if not sec.isdigit() or dom not in ("*", "?") or month != "*" or dow not in ("*", "?") or year != "*":
        return None
    s = int(sec)
    if s > 59:
        return None
    if minute.isdigit():
        m = int(minute)
        if m > 59:
            return None
        if hour == "*":
            return _Period(3600, m * 60 + s)
        if hour.isdigit():
            h = int(hour)
            return _Period(86400, (h * 60 + m) * 60 + s) if h < 24 else None
        hs = _step_field(hour, 24)
        if hs is None:
            return None
        return _Period(hs[1] * 3600, (hs[0] * 60 + m) * 60 + s)
    ms = _step_field(minute, 60)
    if ms is None or hour != "*":
        return None
    return _Period(ms[1] * 60, ms[0] * 60 + s)


def _period_asc(p: _Period, lo: datetime, hi: datetime) -> Iterator[datetime]:
    """Fires in (lo, hi]."""
    base = lo.replace(microsecond=0)  # a fire > floor(lo) is > lo: fires have whole seconds
    midnight = datetime(base.year, base.month, base.day)
    sec = (base - midnight).seconds
    k = (sec - p.anchor) // p.step + 1
    t = midnight + timedelta(seconds=p.anchor + k * p.step)
    step = timedelta(seconds=p.step)
    while t <= hi:
        yield t
        t += step


def _period_desc(p: _Period, hi: datetime, lo: datetime) -> Iterator[datetime]:
    """Fires in [lo, hi), latest first."""
    base = hi if not hi.microsecond else hi.replace(microsecond=0) + timedelta(seconds=1)
    midnight = datetime(base.year, base.month, base.day)
    sec = (base - midnight).seconds
    k = -((p.anchor - sec) // p.step) - 1  # ceil((sec - anchor) / step) - 1
    t = midnight + timedelta(seconds=p.anchor + k * p.step)
    step = timedelta(seconds=p.step)
    while t >= lo:
        yield t
        t -= step


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
    _period: _Period | None = field(init=False, repr=False, compare=False, hash=False)
    _window: tuple[int, int] | None = field(init=False, repr=False, compare=False, hash=False)
    _shift: timedelta = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "cycle_type", CycleType.parse(self.cycle_type))
        setattr_(self, "init_strategy", InitStrategy.parse(self.init_strategy))
        if isinstance(self.calendar, set):
            setattr_(self, "calendar", frozenset(self.calendar))
        setattr_(self, "_cron", QuartzCron.parse(self.crontab_expression))
        setattr_(self, "_period", _detect_period(self.crontab_expression))
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
        from wedata.scheduling.datatimes import parse_wall  # datatimes imports this module

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
        if self._period is not None:
            if shift:
                return (t + shift for t in _period_asc(self._period, lo - shift, hi - shift))
            return _period_asc(self._period, lo, hi)
        if shift:
            return (t + shift for t in self._cron.iter_wall(lo - shift, hi - shift))
        return self._cron.iter_wall(lo, hi)

    def raw_fires_desc(self, hi: datetime, lo: datetime) -> Iterator[datetime]:
        """Shifted cron fires in [lo, hi), latest first."""
        shift = self._shift
        if self._period is not None:
            return (t + shift for t in _period_desc(self._period, hi - shift, lo - shift))
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
        return next(self.raw_fires(wall, _FAR_FUTURE), None)

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


def _dense(s: Schedule) -> bool:
    """Schedules that are walked day by day (so windows and calendars skip whole days)."""
    return s.cycle_type in (CycleType.MINUTE_CYCLE, CycleType.HOUR_CYCLE) and (
        s._window is not None or s.calendar is not None
    )


def _bounds(s: Schedule, after: datetime, until: datetime | None) -> tuple[datetime, datetime]:
    lo = after
    if s.start_time is not None and s.start_time - _EPS > lo:
        lo = s.start_time - _EPS  # StartTime itself may fire
    hi = _FAR_FUTURE if until is None else until
    if s.end_time is not None and s.end_time < hi:
        hi = s.end_time
    return lo, hi


def schedule_wall_times(schedule: Schedule, after: datetime, until: datetime | None = None) -> Iterator[datetime]:
    """The schedule's wall fire times in (after, until], ascending and lazy.

    ``until`` None runs to EndTime (or far into the future when EndTime is None).
    """
    lo, hi = _bounds(schedule, after, until)
    if lo >= hi:
        return
    if schedule.cycle_type is CycleType.ONEOFF_CYCLE:
        t = schedule.oneoff_time()
        if t is not None and lo < t <= hi:
            yield t
        return
    if not _dense(schedule):
        if schedule.calendar is None:
            yield from schedule.raw_fires(lo, hi)
        else:
            for t in schedule.raw_fires(lo, hi):
                if schedule.allows_date(t.date()):
                    yield t
        return
    d = lo.date()
    last = hi.date()
    while d <= last:
        if schedule.allows_date(d):
            for a, b in _window_segments(schedule, d):
                seg_lo = a - _EPS if a - _EPS > lo else lo
                seg_hi = b - _EPS if b - _EPS < hi else hi
                if seg_lo < seg_hi:
                    yield from schedule.raw_fires(seg_lo, seg_hi)
        d += _DAY


def schedule_wall_times_desc(
    schedule: Schedule, before: datetime, not_before: datetime | None = None
) -> Iterator[datetime]:
    """The schedule's wall fire times in [not_before, before), latest first, lazy."""
    lo = _EPOCH if not_before is None else not_before
    if schedule.start_time is not None and schedule.start_time > lo:
        lo = schedule.start_time
    hi = before
    if schedule.end_time is not None and schedule.end_time + _EPS < hi:
        hi = schedule.end_time + _EPS  # EndTime itself may fire
    if lo >= hi:
        return
    if schedule.cycle_type is CycleType.ONEOFF_CYCLE:
        t = schedule.oneoff_time()
        if t is not None and lo <= t < hi:
            yield t
        return
    if not _dense(schedule):
        for t in schedule.raw_fires_desc(hi, lo):
            if schedule.allows_date(t.date()):
                yield t
        return
    d = hi.date()
    first = lo.date()
    while d >= first:
        if schedule.allows_date(d):
            for a, b in reversed(_window_segments(schedule, d)):
                seg_lo = a if a > lo else lo
                seg_hi = b if b < hi else hi
                if seg_lo < seg_hi:
                    yield from schedule.raw_fires_desc(seg_hi, seg_lo)
        d -= _DAY


def next_wall_time(schedule: Schedule, wall: datetime) -> datetime | None:
    """The first fire strictly after ``wall`` (None when the schedule has ended)."""
    return next(schedule_wall_times(schedule, wall), None)


def previous_wall_time(schedule: Schedule, wall: datetime) -> datetime | None:
    """The last fire strictly before ``wall`` (None before StartTime)."""
    return next(schedule_wall_times_desc(schedule, wall), None)
