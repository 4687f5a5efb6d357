"""Cross-cycle dependencies: which upstream instances a downstream instance waits for.

A dependency edge carries ``MainCyclicConfig`` (the time dimension), ``SubordinateCyclicConfig``
(the range inside it) or, for the custom ``RANGE_*``/``LIST_*`` modes, an ``Offset``. Each maps
the downstream instance's data time T to a *selector* over upstream data times:

- a set of windows (``CURRENT_DAY`` = [day(T), day(T)+1d)), or
- "the latest upstream instance before / at a bound" (``RECENT_DATE``, ``PREVIOUS_*_CYCLE``).

The selector is then resolved against the upstream schedule, so the answer only contains data
times at which the upstream really has instances (its StartTime/EndTime, execution window,
MinuteOffset, calendar and InitStrategy all apply). All arithmetic is on the wall clock of the
task zone; weeks are ISO (Monday first); every range is inclusive of both ends unless the
SDK label says otherwise ("previous day [-24,0)", "(-24,0]"). docs/scheduling.md has the table.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from wedata.scheduling.cycles import CycleType, Schedule
from wedata.scheduling.datatimes import add_months, data_times_between, latest_data_time

__all__ = [
    "REFERENCE_TABLE",
    "DataTimeWindow",
    "LatestAtOrBefore",
    "MainCyclicConfig",
    "Pair",
    "Selector",
    "SubordinateCyclicConfig",
    "custom_modes",
    "default_dependency",
    "dependency_selector",
    "is_recommended",
    "parse_offset",
    "recommended_dependencies",
    "upstream_data_times",
    "validate_dependency",
]


class MainCyclicConfig(enum.StrEnum):
    MINUTE = "MINUTE"
    HOUR = "HOUR"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"
    CRONTAB = "CRONTAB"
    RANGE_MINUTE = "RANGE_MINUTE"
    RANGE_HOUR = "RANGE_HOUR"
    RANGE_DAY = "RANGE_DAY"
    LIST_MINUTE = "LIST_MINUTE"
    LIST_HOUR = "LIST_HOUR"
    LIST_DAY = "LIST_DAY"

    @property
    def is_custom(self) -> bool:
        return self.value.startswith(("RANGE_", "LIST_"))


class SubordinateCyclicConfig(enum.StrEnum):
    CURRENT_MINUTE = "CURRENT_MINUTE"
    PREVIOUS_MINUTE_CYCLE = "PREVIOUS_MINUTE_CYCLE"
    CURRENT_HOUR = "CURRENT_HOUR"
    PREVIOUS_HOUR = "PREVIOUS_HOUR"
    PREVIOUS_HOUR_LATER_OFFSET_MINUTE = "PREVIOUS_HOUR_LATER_OFFSET_MINUTE"
    PREVIOUS_HOUR_CYCLE = "PREVIOUS_HOUR_CYCLE"
    CURRENT_DAY = "CURRENT_DAY"
    PREVIOUS_DAY = "PREVIOUS_DAY"
    PREVIOUS_DAY_LATER_OFFSET_HOUR = "PREVIOUS_DAY_LATER_OFFSET_HOUR"
    PREVIOUS_DAY_LATER_OFFSET_MINUTE = "PREVIOUS_DAY_LATER_OFFSET_MINUTE"
    RECENT_DATE = "RECENT_DATE"
    CURRENT_WEEK = "CURRENT_WEEK"
    PREVIOUS_WEEK = "PREVIOUS_WEEK"
    PREVIOUS_FRIDAY = "PREVIOUS_FRIDAY"
    PREVIOUS_WEEKEND = "PREVIOUS_WEEKEND"
    CURRENT_MONTH = "CURRENT_MONTH"
    PREVIOUS_MONTH = "PREVIOUS_MONTH"
    PREVIOUS_END_OF_MONTH = "PREVIOUS_END_OF_MONTH"
    PREVIOUS_BEGIN_OF_MONTH = "PREVIOUS_BEGIN_OF_MONTH"
    CURRENT_YEAR = "CURRENT_YEAR"
    ALL_MONTH_OF_YEAR = "ALL_MONTH_OF_YEAR"
    ALL_DAY_OF_YEAR = "ALL_DAY_OF_YEAR"
    CURRENT = "CURRENT"

    @classmethod
    def parse(cls, value: str | SubordinateCyclicConfig) -> SubordinateCyclicConfig:
        if isinstance(value, SubordinateCyclicConfig):
            return value
        text = value.strip().upper()
        # The only documented internal short code (ext key pre_dependence_config): CD.
        if text == "CD":
            return cls.CURRENT_DAY
        try:
            return cls(text)
        except ValueError:
            raise ValueError(f"unknown SubordinateCyclicConfig {value!r}") from None


M, S = MainCyclicConfig, SubordinateCyclicConfig

# Which subordinate values belong to which (non-custom) main dimension; the first is the default.
_SUBS_OF_MAIN: dict[MainCyclicConfig, tuple[SubordinateCyclicConfig, ...]] = {
    M.MINUTE: (S.CURRENT_MINUTE, S.PREVIOUS_MINUTE_CYCLE),
    M.HOUR: (S.CURRENT_HOUR, S.PREVIOUS_HOUR, S.PREVIOUS_HOUR_LATER_OFFSET_MINUTE, S.PREVIOUS_HOUR_CYCLE),
    M.DAY: (
        S.CURRENT_DAY,
        S.PREVIOUS_DAY,
        S.PREVIOUS_DAY_LATER_OFFSET_HOUR,
        S.PREVIOUS_DAY_LATER_OFFSET_MINUTE,
        S.RECENT_DATE,
        S.ALL_DAY_OF_YEAR,
    ),
    M.WEEK: (S.CURRENT_WEEK, S.PREVIOUS_WEEK, S.PREVIOUS_FRIDAY, S.PREVIOUS_WEEKEND),
    M.MONTH: (
        S.CURRENT_MONTH,
        S.PREVIOUS_MONTH,
        S.PREVIOUS_END_OF_MONTH,
        S.PREVIOUS_BEGIN_OF_MONTH,
        S.ALL_MONTH_OF_YEAR,
    ),
    M.YEAR: (S.CURRENT_YEAR,),
    M.CRONTAB: (S.CURRENT,),
}

_MINUTE = timedelta(minutes=1)
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
# Custom modes: the unit of Offset and the largest |offset| accepted (about a year).
_CUSTOM_UNIT: dict[MainCyclicConfig, tuple[timedelta, int]] = {
    M.RANGE_MINUTE: (_MINUTE, 366 * 1440),
    M.LIST_MINUTE: (_MINUTE, 366 * 1440),
    M.RANGE_HOUR: (_HOUR, 366 * 24),
    M.LIST_HOUR: (_HOUR, 366 * 24),
    M.RANGE_DAY: (_DAY, 366),
    M.LIST_DAY: (_DAY, 366),
}


@dataclass(frozen=True, slots=True)
class DataTimeWindow:
    """Upstream data times t with start <= t < end (each end open or closed per its flag)."""

    start: datetime
    end: datetime
    start_closed: bool = True
    end_closed: bool = False

    def contains(self, t: datetime) -> bool:
        lower = t > self.start or (self.start_closed and t == self.start)
        upper = t < self.end or (self.end_closed and t == self.end)
        return lower and upper


@dataclass(frozen=True, slots=True)
class LatestAtOrBefore:
    """The single upstream instance with the latest data time <= bound (< when not inclusive)."""

    bound: datetime
    inclusive: bool = True


Selector = tuple[DataTimeWindow, ...] | LatestAtOrBefore


def parse_offset(main: MainCyclicConfig | str, offset: str | None) -> tuple[int, ...]:
    """``Offset`` of a custom mode -> integers in the main config's unit.

    RANGE_*: ``"a,b"`` (also ``"a~b"``; a single ``"a"`` means a,a) -> (low, high).
    LIST_*: ``"a,b,c"``, items may be ranges ``"a~b"`` or ``"a..b"`` -> sorted unique values.
    """
    mode = MainCyclicConfig(str(main).strip().upper())
    if not mode.is_custom:
        raise ValueError(f"Offset only applies to RANGE_*/LIST_* modes, not {mode.value}")
    text = (offset or "").strip()
    if not text:
        raise ValueError(f"{mode.value} needs an Offset such as '-1,0'")
    limit = _CUSTOM_UNIT[mode][1]
    is_range = mode.value.startswith("RANGE_")
    items = text.replace("~", "..").split(",")
    if is_range and len(items) > 2:
        raise ValueError(f"invalid Offset {offset!r}: a RANGE takes two integers 'start,end'")
    values: list[int] = []
    for raw in items:
        item = raw.strip()
        if not item:
            raise ValueError(f"invalid Offset {offset!r}: empty item")
        lo_text, dots, hi_text = item.partition("..")
        try:
            lo = int(lo_text)
            hi = int(hi_text) if dots else lo
        except ValueError:
            raise ValueError(f"invalid Offset {offset!r}: {item!r} is not an integer or a~b range") from None
        if abs(lo) > limit or abs(hi) > limit:
            raise ValueError(f"invalid Offset {offset!r}: |offset| must be <= {limit} for {mode.value}")
        lo, hi = min(lo, hi), max(lo, hi)
        values.extend((lo, hi) if is_range else range(lo, hi + 1))
    if is_range:
        return (min(values), max(values))
    return tuple(sorted(set(values)))


def _validated(
    main: MainCyclicConfig | str, subordinate: SubordinateCyclicConfig | str | None
) -> tuple[MainCyclicConfig, SubordinateCyclicConfig | None]:
    try:
        mode = MainCyclicConfig(str(main).strip().upper())
    except ValueError:
        raise ValueError(f"unknown MainCyclicConfig {main!r}") from None
    if mode.is_custom:
        return mode, None
    if subordinate is None or not str(subordinate).strip():
        return mode, _SUBS_OF_MAIN[mode][0]
    sub = SubordinateCyclicConfig.parse(subordinate)
    if sub not in _SUBS_OF_MAIN[mode]:
        allowed = ", ".join(s.value for s in _SUBS_OF_MAIN[mode])
        raise ValueError(
            f"SubordinateCyclicConfig {sub.value} does not belong to {mode.value} (allowed: {allowed})"
        )
    return mode, sub


def validate_dependency(
    main: MainCyclicConfig | str,
    subordinate: SubordinateCyclicConfig | str | None = None,
    offset: str | None = None,
) -> None:
    """Raise ValueError unless the (main, subordinate, offset) triple is well formed."""
    mode, _ = _validated(main, subordinate)
    if mode.is_custom:
        parse_offset(mode, offset)


def _floor_minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def _floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def _floor_day(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def dependency_selector(
    main: MainCyclicConfig | str,
    subordinate: SubordinateCyclicConfig | str | None,
    offset: str | None,
    downstream_data_time: datetime,
) -> Selector:
    """The upstream data-time selector for a downstream instance at ``downstream_data_time``."""
    mode, sub = _validated(main, subordinate)
    t = downstream_data_time
    if mode.is_custom:
        unit = _CUSTOM_UNIT[mode][0]
        anchor = _floor_minute(t) if unit == _MINUTE else _floor_hour(t) if unit == _HOUR else _floor_day(t)
        values = parse_offset(mode, offset)
        # Offsets select whole unit slots [anchor + k*unit, anchor + (k+1)*unit): for upstream data
        # times aligned to the unit (the table's pairings) that is exactly T+k, and a range a..b
        # is [T+a, T+b] inclusive. Adjacent slots merge into one window.
        if mode.value.startswith("RANGE_"):
            return (DataTimeWindow(anchor + values[0] * unit, anchor + (values[-1] + 1) * unit),)
        windows: list[DataTimeWindow] = []
        run_start = prev = values[0]
        for v in [*values[1:], None]:
            if v is not None and v == prev + 1:
                prev = v
                continue
            windows.append(DataTimeWindow(anchor + run_start * unit, anchor + (prev + 1) * unit))
            if v is not None:
                run_start = prev = v
        return tuple(windows)
    assert sub is not None
    return _standard_selector(sub, t)


def _standard_selector(sub: SubordinateCyclicConfig, t: datetime) -> Selector:
    minute, hour, day = _floor_minute(t), _floor_hour(t), _floor_day(t)
    week = day - timedelta(days=day.weekday())  # ISO: Monday
    month = day.replace(day=1)
    year = month.replace(month=1)

    def win(a: datetime, b: datetime, a_closed: bool = True, b_closed: bool = False) -> Selector:
        return (DataTimeWindow(a, b, a_closed, b_closed),)

    match sub:
        case S.CURRENT_MINUTE:
            return win(minute, minute + _MINUTE)
        case S.PREVIOUS_MINUTE_CYCLE:
            return LatestAtOrBefore(minute, inclusive=False)
        case S.CURRENT_HOUR:
            return win(hour, hour + _HOUR)
        case S.PREVIOUS_HOUR:
            return win(hour - _HOUR, hour)
        case S.PREVIOUS_HOUR_LATER_OFFSET_MINUTE:
            return win(hour - _HOUR, hour, False, True)
        case S.PREVIOUS_HOUR_CYCLE:
            return LatestAtOrBefore(hour, inclusive=False)
        case S.CURRENT_DAY:
            return win(day, day + _DAY)
        case S.PREVIOUS_DAY:
            return win(day - _DAY, day)
        case S.PREVIOUS_DAY_LATER_OFFSET_HOUR | S.PREVIOUS_DAY_LATER_OFFSET_MINUTE:
            return win(day - _DAY, day, False, True)
        case S.RECENT_DATE:
            return LatestAtOrBefore(t, inclusive=True)
        case S.CURRENT_WEEK:
            return win(week, week + 7 * _DAY)
        case S.PREVIOUS_WEEK:
            return win(week - 7 * _DAY, week)
        case S.PREVIOUS_FRIDAY:
            return win(week - 3 * _DAY, week - 2 * _DAY)
        case S.PREVIOUS_WEEKEND:
            return win(week - _DAY, week)
        case S.CURRENT_MONTH:
            return win(month, add_months(month, 1))
        case S.PREVIOUS_MONTH:
            return win(add_months(month, -1), month)
        case S.PREVIOUS_END_OF_MONTH:
            return win(month - _DAY, month)
        case S.PREVIOUS_BEGIN_OF_MONTH:
            begin = add_months(month, -1)
            return win(begin, begin + _DAY)
        case S.CURRENT_YEAR | S.ALL_MONTH_OF_YEAR | S.ALL_DAY_OF_YEAR:
            return win(year, year.replace(year=year.year + 1))
        case S.CURRENT:
            return win(t, t, True, True)
    raise AssertionError(sub)  # pragma: no cover - the match is exhaustive


def upstream_data_times(
    downstream_cycle: CycleType | str,
    downstream_data_time: datetime,
    upstream_schedule: Schedule,
    main: MainCyclicConfig | str,
    subordinate: SubordinateCyclicConfig | str | None = None,
    offset: str | None = None,
    *,
    strict: bool = False,
) -> list[datetime]:
    """The sorted upstream data times the downstream instance at ``downstream_data_time`` waits for.

    Only times at which the upstream schedule has instances are returned. An empty list means
    no upstream instance falls in the dependency's range (the ``NOT_EXIST`` case of
    ``PollingNullStrategy``). With ``strict`` the (main, subordinate) pair must be one the
    reference table recommends (or a custom mode it allows) for the two cycles.
    """
    down = CycleType.parse(downstream_cycle)
    if strict and not is_recommended(down, upstream_schedule.cycle_type, main, subordinate):
        raise ValueError(
            f"{main}/{subordinate} is not a recommended dependency for "
            f"{down.short} <- {upstream_schedule.cycle_type.short}"
        )
    selector = dependency_selector(main, subordinate, offset, downstream_data_time)
    if isinstance(selector, LatestAtOrBefore):
        found = latest_data_time(upstream_schedule, selector.bound, inclusive=selector.inclusive)
        return [] if found is None else [found]
    if len(selector) == 1:
        w = selector[0]
        return data_times_between(
            upstream_schedule, w.start, w.end, start_closed=w.start_closed, end_closed=w.end_closed
        )
    out: list[datetime] = []
    for w in selector:
        out.extend(
            data_times_between(
                upstream_schedule, w.start, w.end, start_closed=w.start_closed, end_closed=w.end_closed
            )
        )
    return out


# -- the reference table (spec §3.9): recommended pairs and allowed custom modes --------------
# current upstream | recommended Main/Subordinate pairs (first = default) | custom modes

_TABLE = """
MINUTE MINUTE  | MINUTE/CURRENT_MINUTE MINUTE/PREVIOUS_MINUTE_CYCLE | LIST_MINUTE RANGE_MINUTE
MINUTE HOUR    | HOUR/CURRENT_HOUR | LIST_HOUR RANGE_HOUR
MINUTE DAY     | DAY/CURRENT_DAY | LIST_DAY RANGE_DAY
MINUTE WEEK    | WEEK/CURRENT_WEEK |
MINUTE MONTH   | MONTH/CURRENT_MONTH |
MINUTE YEAR    | YEAR/CURRENT_YEAR |
MINUTE ONEOFF  | DAY/CURRENT_DAY |
HOUR MINUTE    | HOUR/PREVIOUS_HOUR_LATER_OFFSET_MINUTE HOUR/PREVIOUS_HOUR HOUR/CURRENT_HOUR | LIST_MINUTE RANGE_MINUTE
HOUR HOUR      | HOUR/CURRENT_HOUR HOUR/PREVIOUS_HOUR_CYCLE | LIST_HOUR RANGE_HOUR
HOUR DAY       | DAY/CURRENT_DAY | LIST_DAY RANGE_DAY
HOUR WEEK      | WEEK/CURRENT_WEEK |
HOUR MONTH     | MONTH/CURRENT_MONTH |
HOUR YEAR      | YEAR/CURRENT_YEAR |
HOUR ONEOFF    | DAY/CURRENT_DAY |
DAY MINUTE     | DAY/PREVIOUS_DAY_LATER_OFFSET_MINUTE DAY/PREVIOUS_DAY DAY/CURRENT_DAY | LIST_MINUTE RANGE_MINUTE
DAY HOUR       | DAY/PREVIOUS_DAY_LATER_OFFSET_HOUR DAY/PREVIOUS_DAY DAY/CURRENT_DAY | LIST_HOUR RANGE_HOUR
DAY DAY        | DAY/CURRENT_DAY | LIST_DAY RANGE_DAY
DAY WEEK       | WEEK/CURRENT_WEEK DAY/RECENT_DATE |
DAY MONTH      | MONTH/CURRENT_MONTH DAY/RECENT_DATE |
DAY YEAR       | YEAR/CURRENT_YEAR DAY/RECENT_DATE |
DAY ONEOFF     | DAY/CURRENT_DAY |
WEEK MINUTE    | WEEK/PREVIOUS_WEEK WEEK/CURRENT_WEEK | LIST_MINUTE RANGE_MINUTE
WEEK HOUR      | WEEK/PREVIOUS_WEEK WEEK/CURRENT_WEEK | LIST_HOUR RANGE_HOUR
WEEK DAY       | WEEK/PREVIOUS_WEEK WEEK/PREVIOUS_FRIDAY WEEK/PREVIOUS_WEEKEND WEEK/CURRENT_WEEK DAY/CURRENT_DAY DAY/PREVIOUS_DAY | LIST_DAY RANGE_DAY
WEEK WEEK      | WEEK/CURRENT_WEEK DAY/RECENT_DATE |
WEEK MONTH     | MONTH/CURRENT_MONTH DAY/RECENT_DATE |
WEEK YEAR      | YEAR/CURRENT_YEAR |
WEEK ONEOFF    | WEEK/CURRENT_WEEK |
MONTH MINUTE   | MONTH/PREVIOUS_MONTH MONTH/CURRENT_MONTH | LIST_MINUTE RANGE_MINUTE
MONTH HOUR     | MONTH/PREVIOUS_MONTH MONTH/CURRENT_MONTH | LIST_HOUR RANGE_HOUR
MONTH DAY      | MONTH/PREVIOUS_MONTH MONTH/PREVIOUS_END_OF_MONTH MONTH/CURRENT_MONTH DAY/CURRENT_DAY DAY/PREVIOUS_DAY | LIST_DAY RANGE_DAY
MONTH WEEK     | MONTH/PREVIOUS_MONTH MONTH/CURRENT_MONTH DAY/RECENT_DATE |
MONTH MONTH    | MONTH/CURRENT_MONTH DAY/RECENT_DATE |
MONTH YEAR     | YEAR/CURRENT_YEAR |
MONTH ONEOFF   | MONTH/CURRENT_MONTH |
YEAR MINUTE    | YEAR/CURRENT_YEAR | LIST_MINUTE RANGE_MINUTE
YEAR HOUR      | YEAR/CURRENT_YEAR | LIST_HOUR RANGE_HOUR
YEAR DAY       | DAY/ALL_DAY_OF_YEAR DAY/CURRENT_DAY DAY/PREVIOUS_DAY | LIST_DAY RANGE_DAY
YEAR WEEK      | YEAR/CURRENT_YEAR |
YEAR MONTH     | DAY/RECENT_DATE MONTH/ALL_MONTH_OF_YEAR MONTH/CURRENT_MONTH MONTH/PREVIOUS_MONTH MONTH/PREVIOUS_END_OF_MONTH MONTH/PREVIOUS_BEGIN_OF_MONTH |
YEAR YEAR      | DAY/RECENT_DATE YEAR/CURRENT_YEAR |
YEAR ONEOFF    | YEAR/CURRENT_YEAR |
ONEOFF MINUTE  | DAY/CURRENT_DAY |
ONEOFF HOUR    | DAY/CURRENT_DAY |
ONEOFF DAY     | DAY/CURRENT_DAY |
ONEOFF WEEK    | WEEK/CURRENT_WEEK |
ONEOFF MONTH   | MONTH/CURRENT_MONTH |
ONEOFF YEAR    | YEAR/CURRENT_YEAR |
ONEOFF ONEOFF  | DAY/CURRENT_DAY |
CRONTAB CRONTAB | CRONTAB/CURRENT |
"""

Pair = tuple[MainCyclicConfig, SubordinateCyclicConfig]


def _load_table() -> dict[tuple[CycleType, CycleType], tuple[tuple[Pair, ...], tuple[MainCyclicConfig, ...]]]:
    table: dict[tuple[CycleType, CycleType], tuple[tuple[Pair, ...], tuple[MainCyclicConfig, ...]]] = {}
    for line in _TABLE.strip().splitlines():
        cycles, pairs, customs = (part.split() for part in line.split("|"))
        key = (CycleType.parse(cycles[0]), CycleType.parse(cycles[1]))
        parsed = tuple(
            (MainCyclicConfig(m), SubordinateCyclicConfig(s)) for m, s in (p.split("/") for p in pairs)
        )
        table[key] = (parsed, tuple(MainCyclicConfig(c) for c in customs))
    return table


REFERENCE_TABLE = _load_table()


def recommended_dependencies(
    downstream_cycle: CycleType | str, upstream_cycle: CycleType | str
) -> tuple[Pair, ...]:
    """The table's recommended (main, subordinate) pairs, in the SDK's order (may be empty)."""
    row = REFERENCE_TABLE.get((CycleType.parse(downstream_cycle), CycleType.parse(upstream_cycle)))
    return () if row is None else row[0]


def custom_modes(
    downstream_cycle: CycleType | str, upstream_cycle: CycleType | str
) -> tuple[MainCyclicConfig, ...]:
    """The RANGE_*/LIST_* modes the table allows for the two cycles."""
    row = REFERENCE_TABLE.get((CycleType.parse(downstream_cycle), CycleType.parse(upstream_cycle)))
    return () if row is None else row[1]


def default_dependency(downstream_cycle: CycleType | str, upstream_cycle: CycleType | str) -> Pair | None:
    """The default pair: the first the table recommends (None for unlisted combinations,
    i.e. a crontab task with a non-crontab one)."""
    pairs = recommended_dependencies(downstream_cycle, upstream_cycle)
    return pairs[0] if pairs else None


def is_recommended(
    downstream_cycle: CycleType | str,
    upstream_cycle: CycleType | str,
    main: MainCyclicConfig | str,
    subordinate: SubordinateCyclicConfig | str | None = None,
) -> bool:
    mode, sub = _validated(main, subordinate)
    if mode.is_custom:
        return mode in custom_modes(downstream_cycle, upstream_cycle)
    return (mode, sub) in recommended_dependencies(downstream_cycle, upstream_cycle)
