"""Cross-cycle dependency mapping: every row of the reference table (spec §3.9) with a worked
example, custom RANGE/LIST offsets, DST days, month and year ends, leap years."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wedata.scheduling.cycles import CycleType, InitStrategy, Schedule
from wedata.scheduling.dependencies import (
    REFERENCE_TABLE,
    DataTimeWindow,
    LatestAtOrBefore,
    MainCyclicConfig,
    SubordinateCyclicConfig,
    custom_modes,
    default_dependency,
    dependency_selector,
    is_recommended,
    parse_offset,
    recommended_dependencies,
    upstream_data_times,
    validate_dependency,
)


def W(text: str) -> datetime:
    return datetime.fromisoformat(text)


MIN5 = timedelta(minutes=5)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def span(first: str, last: str, step: timedelta) -> list[datetime]:
    out, t, end = [], W(first), W(last)
    while t <= end:
        out.append(t)
        t += step
    return out


def at(*texts: str) -> list[datetime]:
    return [W(t) for t in texts]


START = W("2024-01-01")
UP = {
    "MINUTE": Schedule(CycleType.MINUTE_CYCLE, "0 */5 * * * ? *", start_time=START),
    "HOUR": Schedule(CycleType.HOUR_CYCLE, "0 30 * * * ? *", start_time=START),  # data time HH:00
    "DAY": Schedule(CycleType.DAY_CYCLE, "0 30 2 * * ? *", start_time=START),  # data time 00:00
    "WEEK": Schedule(CycleType.WEEK_CYCLE, "0 0 1 ? * MON *", start_time=START),  # Mondays
    "MONTH": Schedule(CycleType.MONTH_CYCLE, "0 0 3 1 * ? *", start_time=START),  # the 1st
    "MONTH_END": Schedule(CycleType.MONTH_CYCLE, "0 0 3 L * ? *", start_time=START),  # last day
    "YEAR": Schedule(CycleType.YEAR_CYCLE, "0 0 4 1 1 ? *", start_time=START),  # 1 January
    "ONEOFF": Schedule(CycleType.ONEOFF_CYCLE, "0 0 9 10 3 ? 2025"),  # 2025-03-10 09:00
    "CRONTAB": Schedule(CycleType.CRONTAB_CYCLE, "0 0 */6 * * ? *", start_time=START),
}


@dataclass(frozen=True)
class Case:
    down: str
    up: str
    t: str
    main: str
    sub: str | None
    offset: str | None
    expected: list[datetime]

    @property
    def id(self) -> str:
        mode = f"{self.main}/{self.sub}" if self.sub else f"{self.main}[{self.offset}]"
        return f"{self.down}<-{self.up}@{self.t}:{mode}"


def C(down: str, up: str, t: str, mode: str, expected: list[datetime]) -> Case:
    """``mode`` is ``MAIN/SUB`` or ``CUSTOM:offset``."""
    if ":" in mode and "/" not in mode.split(":")[0]:
        main, offset = mode.split(":", 1)
        return Case(down, up, t, main, None, offset, expected)
    main, sub = mode.split("/")
    return Case(down, up, t, main, sub, None, expected)


CASES = [
    # MINUTE <- *  (T = the 10:05 minute instance)
    C("MINUTE", "MINUTE", "2025-03-12 10:05", "MINUTE/CURRENT_MINUTE", at("2025-03-12 10:05")),
    C("MINUTE", "MINUTE", "2025-03-12 10:05", "MINUTE/PREVIOUS_MINUTE_CYCLE", at("2025-03-12 10:00")),
    C("MINUTE", "MINUTE", "2025-03-12 10:05", "LIST_MINUTE:-5,0", at("2025-03-12 10:00", "2025-03-12 10:05")),
    C(
        "MINUTE",
        "MINUTE",
        "2025-03-12 10:05",
        "RANGE_MINUTE:-10,0",
        span("2025-03-12 09:55", "2025-03-12 10:05", MIN5),
    ),
    C("MINUTE", "HOUR", "2025-03-12 10:05", "HOUR/CURRENT_HOUR", at("2025-03-12 10:00")),
    C("MINUTE", "HOUR", "2025-03-12 10:05", "LIST_HOUR:-1", at("2025-03-12 09:00")),
    C(
        "MINUTE",
        "HOUR",
        "2025-03-12 10:05",
        "RANGE_HOUR:-2,0",
        span("2025-03-12 08:00", "2025-03-12 10:00", HOUR),
    ),
    C("MINUTE", "DAY", "2025-03-12 10:05", "DAY/CURRENT_DAY", at("2025-03-12")),
    C("MINUTE", "DAY", "2025-03-12 10:05", "LIST_DAY:-1", at("2025-03-11")),
    C("MINUTE", "DAY", "2025-03-12 10:05", "RANGE_DAY:-2,0", span("2025-03-10", "2025-03-12", DAY)),
    C("MINUTE", "WEEK", "2025-03-12 10:05", "WEEK/CURRENT_WEEK", at("2025-03-10")),
    C("MINUTE", "MONTH", "2025-03-12 10:05", "MONTH/CURRENT_MONTH", at("2025-03-01")),
    C("MINUTE", "YEAR", "2025-03-12 10:05", "YEAR/CURRENT_YEAR", at("2025-01-01")),
    C("MINUTE", "ONEOFF", "2025-03-10 10:05", "DAY/CURRENT_DAY", at("2025-03-10")),
    C("MINUTE", "ONEOFF", "2025-03-12 10:05", "DAY/CURRENT_DAY", []),
    # HOUR <- *  (T = the 10:00 hour instance)
    C(
        "HOUR",
        "MINUTE",
        "2025-03-12 10:00",
        "HOUR/PREVIOUS_HOUR_LATER_OFFSET_MINUTE",
        span("2025-03-12 09:05", "2025-03-12 10:00", MIN5),
    ),
    C(
        "HOUR",
        "MINUTE",
        "2025-03-12 10:00",
        "HOUR/PREVIOUS_HOUR",
        span("2025-03-12 09:00", "2025-03-12 09:55", MIN5),
    ),
    C(
        "HOUR",
        "MINUTE",
        "2025-03-12 10:00",
        "HOUR/CURRENT_HOUR",
        span("2025-03-12 10:00", "2025-03-12 10:55", MIN5),
    ),
    C("HOUR", "MINUTE", "2025-03-12 10:00", "LIST_MINUTE:-5,0", at("2025-03-12 09:55", "2025-03-12 10:00")),
    C(
        "HOUR",
        "MINUTE",
        "2025-03-12 10:00",
        "RANGE_MINUTE:-15,0",
        span("2025-03-12 09:45", "2025-03-12 10:00", MIN5),
    ),
    C("HOUR", "HOUR", "2025-03-12 10:00", "HOUR/CURRENT_HOUR", at("2025-03-12 10:00")),
    C("HOUR", "HOUR", "2025-03-12 10:00", "HOUR/PREVIOUS_HOUR_CYCLE", at("2025-03-12 09:00")),
    C("HOUR", "HOUR", "2025-03-12 10:00", "LIST_HOUR:-1,0", at("2025-03-12 09:00", "2025-03-12 10:00")),
    C(
        "HOUR",
        "HOUR",
        "2025-03-12 10:00",
        "RANGE_HOUR:-3,-1",
        span("2025-03-12 07:00", "2025-03-12 09:00", HOUR),
    ),
    C("HOUR", "DAY", "2025-03-12 10:00", "DAY/CURRENT_DAY", at("2025-03-12")),
    C("HOUR", "DAY", "2025-03-12 10:00", "LIST_DAY:-1", at("2025-03-11")),
    C("HOUR", "DAY", "2025-03-12 10:00", "RANGE_DAY:-1,0", at("2025-03-11", "2025-03-12")),
    C("HOUR", "WEEK", "2025-03-12 10:00", "WEEK/CURRENT_WEEK", at("2025-03-10")),
    C("HOUR", "MONTH", "2025-03-12 10:00", "MONTH/CURRENT_MONTH", at("2025-03-01")),
    C("HOUR", "YEAR", "2025-03-12 10:00", "YEAR/CURRENT_YEAR", at("2025-01-01")),
    C("HOUR", "ONEOFF", "2025-03-10 10:00", "DAY/CURRENT_DAY", at("2025-03-10")),
    # DAY <- *  (T = 2025-03-12 00:00; the spec's day<-hour example uses 2025-03-10)
    C(
        "DAY",
        "MINUTE",
        "2025-03-12",
        "DAY/PREVIOUS_DAY_LATER_OFFSET_MINUTE",
        span("2025-03-11 00:05", "2025-03-12 00:00", MIN5),
    ),
    C("DAY", "MINUTE", "2025-03-12", "DAY/PREVIOUS_DAY", span("2025-03-11 00:00", "2025-03-11 23:55", MIN5)),
    C("DAY", "MINUTE", "2025-03-12", "DAY/CURRENT_DAY", span("2025-03-12 00:00", "2025-03-12 23:55", MIN5)),
    C("DAY", "MINUTE", "2025-03-12", "LIST_MINUTE:0", at("2025-03-12 00:00")),
    C(
        "DAY",
        "MINUTE",
        "2025-03-12",
        "RANGE_MINUTE:-10,0",
        span("2025-03-11 23:50", "2025-03-12 00:00", MIN5),
    ),
    C(
        "DAY",
        "HOUR",
        "2025-03-10",
        "DAY/PREVIOUS_DAY_LATER_OFFSET_HOUR",
        span("2025-03-09 01:00", "2025-03-10 00:00", HOUR),
    ),
    C("DAY", "HOUR", "2025-03-10", "DAY/PREVIOUS_DAY", span("2025-03-09 00:00", "2025-03-09 23:00", HOUR)),
    C("DAY", "HOUR", "2025-03-10", "DAY/CURRENT_DAY", span("2025-03-10 00:00", "2025-03-10 23:00", HOUR)),
    C("DAY", "HOUR", "2025-03-10", "RANGE_HOUR:-3,0", span("2025-03-09 21:00", "2025-03-10 00:00", HOUR)),
    C("DAY", "HOUR", "2025-03-10", "LIST_HOUR:-24,0", at("2025-03-09 00:00", "2025-03-10 00:00")),
    C("DAY", "DAY", "2025-03-12", "DAY/CURRENT_DAY", at("2025-03-12")),
    C("DAY", "DAY", "2025-03-12", "LIST_DAY:-7,-1", at("2025-03-05", "2025-03-11")),
    C("DAY", "DAY", "2025-03-12", "RANGE_DAY:-2,0", span("2025-03-10", "2025-03-12", DAY)),
    C("DAY", "WEEK", "2025-03-12", "WEEK/CURRENT_WEEK", at("2025-03-10")),
    C("DAY", "WEEK", "2025-03-12", "DAY/RECENT_DATE", at("2025-03-10")),
    C("DAY", "WEEK", "2025-03-09", "WEEK/CURRENT_WEEK", at("2025-03-03")),  # Sunday ends the ISO week
    C("DAY", "WEEK", "2025-03-09", "DAY/RECENT_DATE", at("2025-03-03")),
    C("DAY", "MONTH", "2025-03-12", "MONTH/CURRENT_MONTH", at("2025-03-01")),
    C("DAY", "MONTH", "2025-03-12", "DAY/RECENT_DATE", at("2025-03-01")),
    C("DAY", "YEAR", "2025-03-12", "YEAR/CURRENT_YEAR", at("2025-01-01")),
    C("DAY", "YEAR", "2025-03-12", "DAY/RECENT_DATE", at("2025-01-01")),
    C("DAY", "ONEOFF", "2025-03-10", "DAY/CURRENT_DAY", at("2025-03-10")),
    # WEEK <- *  (T = a Wednesday weekly instance, 2025-03-12 00:00)
    C(
        "WEEK",
        "MINUTE",
        "2025-03-12",
        "WEEK/PREVIOUS_WEEK",
        span("2025-03-03 00:00", "2025-03-09 23:55", MIN5),
    ),
    C(
        "WEEK",
        "MINUTE",
        "2025-03-12",
        "WEEK/CURRENT_WEEK",
        span("2025-03-10 00:00", "2025-03-16 23:55", MIN5),
    ),
    C("WEEK", "MINUTE", "2025-03-12", "LIST_MINUTE:-5", at("2025-03-11 23:55")),
    C("WEEK", "MINUTE", "2025-03-12", "RANGE_MINUTE:-60,-55", at("2025-03-11 23:00", "2025-03-11 23:05")),
    C("WEEK", "HOUR", "2025-03-12", "WEEK/PREVIOUS_WEEK", span("2025-03-03 00:00", "2025-03-09 23:00", HOUR)),
    C("WEEK", "HOUR", "2025-03-12", "WEEK/CURRENT_WEEK", span("2025-03-10 00:00", "2025-03-16 23:00", HOUR)),
    C("WEEK", "HOUR", "2025-03-12", "LIST_HOUR:-1", at("2025-03-11 23:00")),
    C("WEEK", "HOUR", "2025-03-12", "RANGE_HOUR:-2,-1", at("2025-03-11 22:00", "2025-03-11 23:00")),
    C("WEEK", "DAY", "2025-03-12", "WEEK/PREVIOUS_WEEK", span("2025-03-03", "2025-03-09", DAY)),
    C("WEEK", "DAY", "2025-03-12", "WEEK/PREVIOUS_FRIDAY", at("2025-03-07")),
    C("WEEK", "DAY", "2025-03-12", "WEEK/PREVIOUS_WEEKEND", at("2025-03-09")),
    C("WEEK", "DAY", "2025-03-12", "WEEK/CURRENT_WEEK", span("2025-03-10", "2025-03-16", DAY)),
    C("WEEK", "DAY", "2025-03-12", "DAY/CURRENT_DAY", at("2025-03-12")),
    C("WEEK", "DAY", "2025-03-12", "DAY/PREVIOUS_DAY", at("2025-03-11")),
    C("WEEK", "DAY", "2025-03-12", "LIST_DAY:-7,-1", at("2025-03-05", "2025-03-11")),
    C("WEEK", "DAY", "2025-03-12", "RANGE_DAY:-2,0", span("2025-03-10", "2025-03-12", DAY)),
    C("WEEK", "WEEK", "2025-03-12", "WEEK/CURRENT_WEEK", at("2025-03-10")),
    C("WEEK", "WEEK", "2025-03-12", "DAY/RECENT_DATE", at("2025-03-10")),
    C("WEEK", "MONTH", "2025-03-12", "MONTH/CURRENT_MONTH", at("2025-03-01")),
    C("WEEK", "MONTH", "2025-03-12", "DAY/RECENT_DATE", at("2025-03-01")),
    C("WEEK", "YEAR", "2025-03-12", "YEAR/CURRENT_YEAR", at("2025-01-01")),
    C("WEEK", "ONEOFF", "2025-03-12", "WEEK/CURRENT_WEEK", at("2025-03-10")),
    # MONTH <- *  (T = 2025-03-01 00:00)
    C(
        "MONTH",
        "MINUTE",
        "2025-03-01",
        "MONTH/PREVIOUS_MONTH",
        span("2025-02-01 00:00", "2025-02-28 23:55", MIN5),
    ),
    C(
        "MONTH",
        "MINUTE",
        "2025-03-01",
        "MONTH/CURRENT_MONTH",
        span("2025-03-01 00:00", "2025-03-31 23:55", MIN5),
    ),
    C("MONTH", "MINUTE", "2025-03-01", "LIST_MINUTE:-5", at("2025-02-28 23:55")),
    C(
        "MONTH",
        "MINUTE",
        "2025-03-01",
        "RANGE_MINUTE:-10,0",
        span("2025-02-28 23:50", "2025-03-01 00:00", MIN5),
    ),
    C(
        "MONTH",
        "HOUR",
        "2025-03-01",
        "MONTH/PREVIOUS_MONTH",
        span("2025-02-01 00:00", "2025-02-28 23:00", HOUR),
    ),
    C(
        "MONTH",
        "HOUR",
        "2025-03-01",
        "MONTH/CURRENT_MONTH",
        span("2025-03-01 00:00", "2025-03-31 23:00", HOUR),
    ),
    C("MONTH", "HOUR", "2025-03-01", "LIST_HOUR:-1", at("2025-02-28 23:00")),
    C("MONTH", "HOUR", "2025-03-01", "RANGE_HOUR:-1,0", at("2025-02-28 23:00", "2025-03-01 00:00")),
    C("MONTH", "DAY", "2025-03-01", "MONTH/PREVIOUS_MONTH", span("2025-02-01", "2025-02-28", DAY)),
    C("MONTH", "DAY", "2025-03-01", "MONTH/PREVIOUS_END_OF_MONTH", at("2025-02-28")),
    C("MONTH", "DAY", "2025-03-01", "MONTH/CURRENT_MONTH", span("2025-03-01", "2025-03-31", DAY)),
    C("MONTH", "DAY", "2025-03-01", "DAY/CURRENT_DAY", at("2025-03-01")),
    C("MONTH", "DAY", "2025-03-01", "DAY/PREVIOUS_DAY", at("2025-02-28")),
    C("MONTH", "DAY", "2025-03-01", "LIST_DAY:-1,-2", at("2025-02-27", "2025-02-28")),
    C("MONTH", "DAY", "2025-03-01", "RANGE_DAY:-3,-1", span("2025-02-26", "2025-02-28", DAY)),
    C(
        "MONTH",
        "WEEK",
        "2025-03-01",
        "MONTH/PREVIOUS_MONTH",
        at("2025-02-03", "2025-02-10", "2025-02-17", "2025-02-24"),
    ),
    C("MONTH", "WEEK", "2025-03-01", "MONTH/CURRENT_MONTH", span("2025-03-03", "2025-03-31", 7 * DAY)),
    C("MONTH", "WEEK", "2025-03-01", "DAY/RECENT_DATE", at("2025-02-24")),
    C("MONTH", "MONTH", "2025-03-01", "MONTH/CURRENT_MONTH", at("2025-03-01")),
    C("MONTH", "MONTH", "2025-03-01", "DAY/RECENT_DATE", at("2025-03-01")),
    C("MONTH", "YEAR", "2025-03-01", "YEAR/CURRENT_YEAR", at("2025-01-01")),
    C("MONTH", "ONEOFF", "2025-03-01", "MONTH/CURRENT_MONTH", at("2025-03-10")),
    # YEAR <- *  (T = 2025-01-01 00:00)
    C(
        "YEAR",
        "MINUTE",
        "2025-01-01",
        "YEAR/CURRENT_YEAR",
        span("2025-01-01 00:00", "2025-12-31 23:55", MIN5),
    ),
    C("YEAR", "MINUTE", "2025-01-01", "LIST_MINUTE:-5", at("2024-12-31 23:55")),
    C(
        "YEAR",
        "MINUTE",
        "2025-01-01",
        "RANGE_MINUTE:-5,5",
        span("2024-12-31 23:55", "2025-01-01 00:05", MIN5),
    ),
    C("YEAR", "HOUR", "2025-01-01", "YEAR/CURRENT_YEAR", span("2025-01-01 00:00", "2025-12-31 23:00", HOUR)),
    C("YEAR", "HOUR", "2025-01-01", "LIST_HOUR:-1", at("2024-12-31 23:00")),
    C("YEAR", "HOUR", "2025-01-01", "RANGE_HOUR:-1,0", at("2024-12-31 23:00", "2025-01-01 00:00")),
    C("YEAR", "DAY", "2025-01-01", "DAY/ALL_DAY_OF_YEAR", span("2025-01-01", "2025-12-31", DAY)),
    C("YEAR", "DAY", "2025-01-01", "DAY/CURRENT_DAY", at("2025-01-01")),
    C("YEAR", "DAY", "2025-01-01", "DAY/PREVIOUS_DAY", at("2024-12-31")),
    C("YEAR", "DAY", "2025-01-01", "LIST_DAY:-1,0", at("2024-12-31", "2025-01-01")),
    C("YEAR", "DAY", "2025-01-01", "RANGE_DAY:-2,-1", at("2024-12-30", "2024-12-31")),
    C("YEAR", "WEEK", "2025-01-01", "YEAR/CURRENT_YEAR", span("2025-01-06", "2025-12-29", 7 * DAY)),
    C("YEAR", "MONTH", "2025-01-01", "DAY/RECENT_DATE", at("2025-01-01")),
    C("YEAR", "MONTH", "2025-01-01", "MONTH/ALL_MONTH_OF_YEAR", [datetime(2025, m, 1) for m in range(1, 13)]),
    C("YEAR", "MONTH", "2025-01-01", "MONTH/CURRENT_MONTH", at("2025-01-01")),
    C("YEAR", "MONTH", "2025-01-01", "MONTH/PREVIOUS_MONTH", at("2024-12-01")),
    C("YEAR", "MONTH_END", "2025-01-01", "MONTH/PREVIOUS_END_OF_MONTH", at("2024-12-31")),
    C("YEAR", "MONTH", "2025-01-01", "MONTH/PREVIOUS_END_OF_MONTH", []),  # a 1st-of-month task has none
    C("YEAR", "MONTH", "2025-01-01", "MONTH/PREVIOUS_BEGIN_OF_MONTH", at("2024-12-01")),
    C("YEAR", "YEAR", "2025-01-01", "DAY/RECENT_DATE", at("2025-01-01")),
    C("YEAR", "YEAR", "2025-01-01", "YEAR/CURRENT_YEAR", at("2025-01-01")),
    C("YEAR", "ONEOFF", "2025-01-01", "YEAR/CURRENT_YEAR", at("2025-03-10")),
    # ONEOFF <- *  (T = the one-off instance of 2025-03-10)
    C(
        "ONEOFF",
        "MINUTE",
        "2025-03-10",
        "DAY/CURRENT_DAY",
        span("2025-03-10 00:00", "2025-03-10 23:55", MIN5),
    ),
    C("ONEOFF", "HOUR", "2025-03-10", "DAY/CURRENT_DAY", span("2025-03-10 00:00", "2025-03-10 23:00", HOUR)),
    C("ONEOFF", "DAY", "2025-03-10", "DAY/CURRENT_DAY", at("2025-03-10")),
    C("ONEOFF", "WEEK", "2025-03-10", "WEEK/CURRENT_WEEK", at("2025-03-10")),
    C("ONEOFF", "MONTH", "2025-03-10", "MONTH/CURRENT_MONTH", at("2025-03-01")),
    C("ONEOFF", "YEAR", "2025-03-10", "YEAR/CURRENT_YEAR", at("2025-01-01")),
    C("ONEOFF", "ONEOFF", "2025-03-10", "DAY/CURRENT_DAY", at("2025-03-10")),
    # CRONTAB <- CRONTAB: the instance with the same time
    C("CRONTAB", "CRONTAB", "2025-03-12 06:00", "CRONTAB/CURRENT", at("2025-03-12 06:00")),
    C("CRONTAB", "CRONTAB", "2025-03-12 07:00", "CRONTAB/CURRENT", []),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_reference_table_row(case: Case) -> None:
    got = upstream_data_times(
        CycleType.parse(case.down), W(case.t), UP[case.up], case.main, case.sub, case.offset, strict=True
    )
    assert got == case.expected


def test_every_table_row_and_mode_has_a_worked_example() -> None:
    assert len(REFERENCE_TABLE) == 50  # 7 x 7 cycle pairs + crontab
    covered: dict[tuple[CycleType, CycleType], set[str]] = {}
    for case in CASES:
        up = UP[case.up].cycle_type
        key = (CycleType.parse(case.down), up)
        covered.setdefault(key, set()).add(f"{case.main}/{case.sub}" if case.sub else case.main)
    for key, (pairs, customs) in REFERENCE_TABLE.items():
        wanted = {f"{m.value}/{s.value}" for m, s in pairs} | {c.value for c in customs}
        assert wanted <= covered.get(key, set()), (key, wanted - covered.get(key, set()))


def test_recommended_defaults() -> None:
    assert default_dependency("DAY_CYCLE", "HOUR_CYCLE") == (
        MainCyclicConfig.DAY,
        SubordinateCyclicConfig.PREVIOUS_DAY_LATER_OFFSET_HOUR,
    )
    assert default_dependency("D", "D") == (MainCyclicConfig.DAY, SubordinateCyclicConfig.CURRENT_DAY)
    assert default_dependency("CRONTAB_CYCLE", "CRONTAB_CYCLE") == (
        MainCyclicConfig.CRONTAB,
        SubordinateCyclicConfig.CURRENT,
    )
    assert default_dependency("CRONTAB_CYCLE", "DAY_CYCLE") is None
    assert recommended_dependencies("CRONTAB_CYCLE", "DAY_CYCLE") == ()
    assert custom_modes("WEEK_CYCLE", "DAY_CYCLE") == (MainCyclicConfig.LIST_DAY, MainCyclicConfig.RANGE_DAY)
    assert custom_modes("WEEK_CYCLE", "WEEK_CYCLE") == ()
    for (down, up), (pairs, _) in REFERENCE_TABLE.items():
        assert default_dependency(down, up) == pairs[0]
        assert all(is_recommended(down, up, m, s) for m, s in pairs)
    assert not is_recommended("DAY_CYCLE", "HOUR_CYCLE", "MONTH", "CURRENT_MONTH")
    assert not is_recommended("DAY_CYCLE", "HOUR_CYCLE", "RANGE_DAY")
    assert is_recommended("DAY_CYCLE", "HOUR_CYCLE", "RANGE_HOUR")


def test_strict_rejects_unrecommended_pair_but_lenient_computes_it() -> None:
    t = W("2025-03-12")
    with pytest.raises(ValueError, match="not a recommended"):
        upstream_data_times("DAY_CYCLE", t, UP["HOUR"], "MONTH", "CURRENT_MONTH", strict=True)
    got = upstream_data_times("DAY_CYCLE", t, UP["HOUR"], "MONTH", "CURRENT_MONTH")
    assert len(got) == 31 * 24


# -- selector shapes, offsets and validation ----------------------------------------------------


def test_selector_shapes() -> None:
    t = W("2025-03-12 10:05:30")
    assert dependency_selector("MINUTE", "PREVIOUS_MINUTE_CYCLE", None, t) == LatestAtOrBefore(
        W("2025-03-12 10:05"), False
    )
    assert dependency_selector("DAY", "RECENT_DATE", None, t) == LatestAtOrBefore(t, True)
    assert dependency_selector("DAY", "cd", None, t) == (DataTimeWindow(W("2025-03-12"), W("2025-03-13")),)
    assert dependency_selector("DAY", None, None, t) == (DataTimeWindow(W("2025-03-12"), W("2025-03-13")),)
    (w,) = dependency_selector("DAY", "PREVIOUS_DAY_LATER_OFFSET_HOUR", None, t)
    assert (w.start, w.end, w.start_closed, w.end_closed) == (W("2025-03-11"), W("2025-03-12"), False, True)
    assert not w.contains(W("2025-03-11")) and w.contains(W("2025-03-12"))
    # LIST offsets select unit slots; adjacent slots merge
    windows = dependency_selector("LIST_HOUR", None, "-3~-2,0,-5", t)
    assert windows == (
        DataTimeWindow(W("2025-03-12 05:00"), W("2025-03-12 06:00")),
        DataTimeWindow(W("2025-03-12 07:00"), W("2025-03-12 09:00")),
        DataTimeWindow(W("2025-03-12 10:00"), W("2025-03-12 11:00")),
    )
    assert dependency_selector("RANGE_DAY", None, "0,-2", t) == (
        DataTimeWindow(W("2025-03-10"), W("2025-03-13")),
    )
    # RANGE/LIST count whole unit slots: an hour range over a minute upstream takes whole hours
    got = upstream_data_times("DAY_CYCLE", W("2025-03-12"), UP["MINUTE"], "RANGE_HOUR", None, "-1,-1")
    assert got == span("2025-03-11 23:00", "2025-03-11 23:55", MIN5)


@pytest.mark.parametrize(
    ("main", "offset", "expected"),
    [
        ("RANGE_DAY", "-1,0", (-1, 0)),
        ("RANGE_DAY", " 0 , -3 ", (-3, 0)),
        ("RANGE_HOUR", "-3~0", (-3, 0)),
        ("RANGE_MINUTE", "+5", (5, 5)),
        ("LIST_DAY", "-1,0,-1", (-1, 0)),
        ("LIST_HOUR", "-3..-1,2", (-3, -2, -1, 2)),
        ("LIST_MINUTE", "0", (0,)),
    ],
)
def test_parse_offset(main: str, offset: str, expected: tuple[int, ...]) -> None:
    assert parse_offset(main, offset) == expected


@pytest.mark.parametrize(
    ("main", "offset"),
    [
        ("RANGE_DAY", None),
        ("RANGE_DAY", ""),
        ("RANGE_DAY", "-1,0,1"),
        ("LIST_DAY", "a"),
        ("LIST_DAY", "1,,2"),
        ("LIST_DAY", "-400"),
        ("RANGE_HOUR", "0,9000"),
        ("DAY", "0"),
    ],
)
def test_parse_offset_rejects(main: str, offset: str | None) -> None:
    with pytest.raises(ValueError):
        parse_offset(main, offset)


def test_validate_dependency() -> None:
    validate_dependency("DAY", "CURRENT_DAY")
    validate_dependency("RANGE_HOUR", None, "-3,0")
    validate_dependency("CRONTAB")
    with pytest.raises(ValueError, match="does not belong to HOUR"):
        validate_dependency("HOUR", "CURRENT_DAY")
    with pytest.raises(ValueError, match="unknown MainCyclicConfig"):
        validate_dependency("FORTNIGHT", "CURRENT_DAY")
    with pytest.raises(ValueError, match="unknown SubordinateCyclicConfig"):
        validate_dependency("DAY", "YESTERDAY")
    with pytest.raises(ValueError, match="needs an Offset"):
        validate_dependency("LIST_DAY", None, None)


# -- edges: DST, leap years, month and year ends, upstream bounds ----------------------------------


def test_dst_days_have_24_wall_hours() -> None:
    ny = Schedule(CycleType.HOUR_CYCLE, "0 0 * * * ? *", zone="America/New_York", start_time=START)
    spring = upstream_data_times("DAY_CYCLE", W("2025-03-09"), ny, "DAY", "CURRENT_DAY")
    assert spring == span("2025-03-09 00:00", "2025-03-09 23:00", HOUR)  # 02:00 included
    fall = upstream_data_times("DAY_CYCLE", W("2025-11-03"), ny, "DAY", "PREVIOUS_DAY_LATER_OFFSET_HOUR")
    assert fall == span("2025-11-02 01:00", "2025-11-03 00:00", HOUR)  # 01:00 once


def test_leap_years() -> None:
    assert upstream_data_times(
        "MONTH_CYCLE", W("2024-03-01"), UP["DAY"], "MONTH", "PREVIOUS_END_OF_MONTH"
    ) == at("2024-02-29")
    assert (
        len(upstream_data_times("MONTH_CYCLE", W("2024-03-01"), UP["DAY"], "MONTH", "PREVIOUS_MONTH")) == 29
    )
    assert len(upstream_data_times("YEAR_CYCLE", W("2024-01-01"), UP["DAY"], "DAY", "ALL_DAY_OF_YEAR")) == 366
    assert (
        len(upstream_data_times("YEAR_CYCLE", W("2024-01-01"), UP["HOUR"], "YEAR", "CURRENT_YEAR"))
        == 366 * 24
    )


def test_year_and_month_ends() -> None:
    got = upstream_data_times(
        "DAY_CYCLE", W("2025-01-01"), UP["HOUR"], "DAY", "PREVIOUS_DAY_LATER_OFFSET_HOUR"
    )
    assert got == span("2024-12-31 01:00", "2025-01-01 00:00", HOUR)
    # the ISO week of 2025-01-01 starts on Monday 2024-12-30
    got = upstream_data_times("WEEK_CYCLE", W("2025-01-01"), UP["DAY"], "WEEK", "PREVIOUS_WEEK")
    assert got == span("2024-12-23", "2024-12-29", DAY)
    got = upstream_data_times("DAY_CYCLE", W("2025-03-01"), UP["DAY"], "RANGE_DAY", None, "-2,0")
    assert got == at("2025-02-27", "2025-02-28", "2025-03-01")
    got = upstream_data_times("MONTH_CYCLE", W("2025-03-31"), UP["MONTH_END"], "DAY", "RECENT_DATE")
    assert got == at("2025-03-31")
    got = upstream_data_times("MONTH_CYCLE", W("2025-01-01"), UP["MONTH_END"], "MONTH", "PREVIOUS_MONTH")
    assert got == at("2024-12-31")


def test_only_existing_upstream_instances_are_returned() -> None:
    late = Schedule(CycleType.HOUR_CYCLE, "0 0 * * * ? *", start_time=W("2025-03-10 12:00"))
    got = upstream_data_times("DAY_CYCLE", W("2025-03-10"), late, "DAY", "CURRENT_DAY")
    assert got == span("2025-03-10 12:00", "2025-03-10 23:00", HOUR)
    windowed = Schedule(
        CycleType.MINUTE_CYCLE, "0 */5 * * * ? *", execution_start="08:00", execution_end="18:00"
    )
    got = upstream_data_times("DAY_CYCLE", W("2025-03-10"), windowed, "DAY", "CURRENT_DAY")
    assert got == span("2025-03-10 08:00", "2025-03-10 18:00", MIN5)
    shifted = Schedule(CycleType.MINUTE_CYCLE, "0 */5 * * * ? *", minute_offset=3)
    got = upstream_data_times("HOUR_CYCLE", W("2025-03-10 10:00"), shifted, "HOUR", "CURRENT_HOUR")
    assert got == span("2025-03-10 10:03", "2025-03-10 10:58", MIN5)
    cal = Schedule(CycleType.DAY_CYCLE, "0 0 1 * * ? *", calendar={date(2025, 3, 3), date(2025, 3, 5)})
    got = upstream_data_times("WEEK_CYCLE", W("2025-03-12"), cal, "WEEK", "PREVIOUS_WEEK")
    assert got == at("2025-03-03", "2025-03-05")
    assert upstream_data_times("WEEK_CYCLE", W("2025-03-12"), cal, "DAY", "RECENT_DATE") == at("2025-03-05")
    ended = Schedule(CycleType.DAY_CYCLE, "0 0 1 * * ? *", end_time=W("2025-03-01 00:00"))
    assert upstream_data_times("DAY_CYCLE", W("2025-03-12"), ended, "DAY", "RECENT_DATE") == at("2025-02-28")


def test_t_plus_1_upstream() -> None:
    # A T+1 daily upstream fires on D+1 for data date D: the downstream still matches data dates.
    t1 = Schedule(
        CycleType.DAY_CYCLE, "0 30 2 * * ? *", init_strategy=InitStrategy.T_PLUS_1, start_time=START
    )
    assert upstream_data_times("DAY_CYCLE", W("2025-03-12"), t1, "DAY", "CURRENT_DAY") == at("2025-03-12")
    t1h = Schedule(
        CycleType.HOUR_CYCLE, "0 5 * * * ? *", init_strategy=InitStrategy.T_PLUS_1, start_time=START
    )
    got = upstream_data_times("DAY_CYCLE", W("2025-03-12"), t1h, "DAY", "CURRENT_DAY")
    assert got == span("2025-03-12 00:00", "2025-03-12 23:00", HOUR)


# -- properties ----------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    up=st.sampled_from(["MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "MONTH_END", "YEAR", "CRONTAB"]),
    t=st.datetimes(datetime(2024, 6, 1), datetime(2026, 1, 1)),
    pair=st.sampled_from(
        [
            ("HOUR", "CURRENT_HOUR"),
            ("HOUR", "PREVIOUS_HOUR_LATER_OFFSET_MINUTE"),
            ("DAY", "CURRENT_DAY"),
            ("DAY", "PREVIOUS_DAY"),
            ("DAY", "PREVIOUS_DAY_LATER_OFFSET_HOUR"),
            ("WEEK", "PREVIOUS_WEEK"),
            ("WEEK", "PREVIOUS_FRIDAY"),
            ("MONTH", "PREVIOUS_END_OF_MONTH"),
            ("MONTH", "CURRENT_MONTH"),
            ("YEAR", "CURRENT_YEAR"),
            ("RANGE_HOUR", "-30,2"),
            ("LIST_DAY", "-9,-3~-1"),
        ]
    ),
)
def test_results_are_sorted_existing_and_inside_the_window(
    up: str, t: datetime, pair: tuple[str, str]
) -> None:
    main, second = pair
    sub, offset = (None, second) if main.startswith(("RANGE", "LIST")) else (second, None)
    schedule = UP[up]
    got = upstream_data_times("DAY_CYCLE", t, schedule, main, sub, offset)
    assert got == sorted(set(got))
    selector = dependency_selector(main, sub, offset, t)
    assert isinstance(selector, tuple)
    assert all(any(w.contains(d) for w in selector) for d in got)
    if got:  # every returned data time is one the schedule really produces
        from wedata.scheduling.datatimes import scheduled_time_for

        for d in (got[0], got[-1]):
            assert scheduled_time_for(schedule, d) is not None


def test_day_on_minute_speed_smoke() -> None:
    every_minute = Schedule(CycleType.MINUTE_CYCLE, "0 * * * * ? *", start_time=START)
    t = W("2025-03-12")
    upstream_data_times("DAY_CYCLE", t, every_minute, "DAY", "PREVIOUS_DAY_LATER_OFFSET_MINUTE")
    began = time.perf_counter()
    for _ in range(20):
        got = upstream_data_times("DAY_CYCLE", t, every_minute, "DAY", "PREVIOUS_DAY_LATER_OFFSET_MINUTE")
    per_call = (time.perf_counter() - began) / 20
    assert len(got) == 1440
    assert per_call < 0.02  # the benchmark (tools/bench/scheduling_deps.py) targets 2 ms
