"""Cycle types, derived crontabs, cycle validation, schedule fire times and calendars."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wedata.scheduling.calendar import (
    Calendar,
    CalendarMode,
    calendar_allows,
    calendar_open,
    parse_calendar_date,
)
from wedata.scheduling.cron import QuartzCron, validate_cron
from wedata.scheduling.crontabs import CrontabCycleError, CrontabSyntaxError
from wedata.scheduling.cycles import (
    CycleType,
    InitStrategy,
    Schedule,
    _daily_pattern,
    _pattern_asc,
    _pattern_desc,
    derive_crontab,
    format_hhmm,
    next_wall_time,
    parse_hhmm,
    previous_wall_time,
    schedule_wall_times,
    schedule_wall_times_desc,
    validate_crontab_for_cycle,
)


def W(text: str) -> datetime:
    return datetime.fromisoformat(text)


def times(s: Schedule, after: str, until: str) -> list[str]:
    return [t.strftime("%Y-%m-%d %H:%M") for t in schedule_wall_times(s, W(after), W(until))]


# -- enums -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("DAY_CYCLE", CycleType.DAY_CYCLE),
        ("day", CycleType.DAY_CYCLE),
        ("D", CycleType.DAY_CYCLE),
        ("I", CycleType.MINUTE_CYCLE),
        ("C", CycleType.CRONTAB_CYCLE),
        ("O", CycleType.ONEOFF_CYCLE),
        ("3", CycleType.DAY_CYCLE),
        (12, CycleType.YEAR_CYCLE),
        (CycleType.HOUR_CYCLE, CycleType.HOUR_CYCLE),
    ],
)
def test_cycle_type_parse(value: str, expected: CycleType) -> None:
    assert CycleType.parse(value) is expected


def test_cycle_type_letters_and_short_names() -> None:
    assert "".join(c.letter for c in CycleType) == "OYMWDHIC"
    assert CycleType.MINUTE_CYCLE.short == "MINUTE"
    with pytest.raises(ValueError, match="unknown CycleType"):
        CycleType.parse("FORTNIGHT")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, InitStrategy.T_PLUS_0),
        ("", InitStrategy.T_PLUS_0),
        ("T_PLUS_1", InitStrategy.T_PLUS_1),
        ("T+1", InitStrategy.T_PLUS_1),
        ("t+0", InitStrategy.T_PLUS_0),
        ("T-1", InitStrategy.T_MINUS_1),
    ],
)
def test_init_strategy_parse(value: str | None, expected: InitStrategy) -> None:
    assert InitStrategy.parse(value) is expected
    assert expected.legacy in ("T+0", "T+1", "T-1")


def test_init_strategy_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        InitStrategy.parse("T+2")


def test_hhmm() -> None:
    assert parse_hhmm("00:00") == 0
    assert parse_hhmm("23:59") == 1439
    assert parse_hhmm("4:05") == 245
    assert format_hhmm(245) == "04:05"
    for bad in ("24:00", "12:60", "1200", "12:5", "ab:cd", ""):
        with pytest.raises(ValueError):
            parse_hhmm(bad)


# -- derive_crontab ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cycle", "fields", "expected"),
    [
        ("DAY_CYCLE", {}, "0 0 0 * * ? *"),
        ("DAY_CYCLE", {"at": "02:30"}, "0 30 2 * * ? *"),
        ("MINUTE_CYCLE", {}, "0 */5 * * * ? *"),
        ("MINUTE_CYCLE", {"minute_interval": 30}, "0 */30 * * * ? *"),
        ("HOUR_CYCLE", {}, "0 0 * * * ? *"),
        ("HOUR_CYCLE", {"hour_interval": 2}, "0 0 */2 * * ? *"),
        ("HOUR_CYCLE", {"hour_interval": 3, "start_hour": 1, "minute": 15}, "0 15 1/3 * * ? *"),
        ("HOUR_CYCLE", {"hours": [4, 0, 3], "minute": 30}, "0 30 0,3,4 * * ? *"),
        ("WEEK_CYCLE", {"week_days": [5, 1], "at": "08:00"}, "0 0 8 ? * MON,FRI *"),
        ("WEEK_CYCLE", {"week_days": ["sun", "Wednesday"]}, "0 0 0 ? * WED,SUN *"),
        ("MONTH_CYCLE", {"month_days": [15, 1]}, "0 0 0 1,15 * ? *"),
        ("MONTH_CYCLE", {"month_days": ["L"], "at": "23:00"}, "0 0 23 L * ? *"),
        ("YEAR_CYCLE", {"months": [7, 1], "month_days": [1]}, "0 0 0 1 1,7 ? *"),
        ("ONEOFF_CYCLE", {"run_at": datetime(2025, 3, 10, 9, 30)}, "0 30 9 10 3 ? 2025"),
        ("CRONTAB_CYCLE", {"crontab_expression": "0  0 */6 * * ?"}, "0 0 */6 * * ?"),
    ],
)
def test_derive_crontab(cycle: str, fields: dict[str, object], expected: str) -> None:
    expr = derive_crontab(cycle, **fields)  # type: ignore[arg-type]
    assert expr == expected
    validate_crontab_for_cycle(cycle, expr)


def test_month_days_mixing_last_day_follow_the_cron_parser() -> None:
    # WeData's docs show "0 2 3 1,L,2 * ?"; reference Quartz refuses L inside a list. Whatever
    # cron.py decides, derive_crontab agrees with it.
    try:
        validate_cron("0 0 0 1,15,L * ? *")
    except ValueError:
        with pytest.raises(ValueError, match="L"):
            derive_crontab("MONTH_CYCLE", month_days=[15, "L", 1])
    else:
        assert derive_crontab("MONTH_CYCLE", month_days=[15, "L", 1]) == "0 0 0 1,15,L * ? *"


@pytest.mark.parametrize(
    ("cycle", "fields"),
    [
        ("MINUTE_CYCLE", {"minute_interval": 7}),
        ("HOUR_CYCLE", {"hour_interval": 13}),
        ("HOUR_CYCLE", {"hours": [24]}),
        ("HOUR_CYCLE", {"minute": 60}),
        ("DAY_CYCLE", {"at": "25:00"}),
        ("WEEK_CYCLE", {}),
        ("WEEK_CYCLE", {"week_days": [8]}),
        ("WEEK_CYCLE", {"week_days": ["xyz"]}),
        ("MONTH_CYCLE", {}),
        ("MONTH_CYCLE", {"month_days": [32]}),
        ("YEAR_CYCLE", {"month_days": [1]}),
        ("YEAR_CYCLE", {"months": [13], "month_days": [1]}),
        ("ONEOFF_CYCLE", {}),
        ("CRONTAB_CYCLE", {}),
        ("CRONTAB_CYCLE", {"crontab_expression": "not a cron"}),
    ],
)
def test_derive_crontab_rejects(cycle: str, fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        derive_crontab(cycle, **fields)  # type: ignore[arg-type]


# -- validate_crontab_for_cycle ------------------------------------------------------------------

VALID = {
    "MINUTE_CYCLE": [
        "0 */5 * * * ? *",
        "0 0/10 * * * ?",
        "0 3/5 * * * ? *",
        "0 * * * * ? *",
        "0 */5 8-18 * * ? *",
    ],
    "HOUR_CYCLE": [
        "0 0 * * * ? *",
        "0 30 */2 * * ? *",
        "0 5 0,3,4 * * ? *",
        "0 0 9-17 * * ?",
        "0 0 6 * * ? *",
    ],
    "DAY_CYCLE": ["0 0 0 * * ? *", "0 30 2 * * ?", "0 0 23 ? * * *"],
    "WEEK_CYCLE": ["0 0 0 ? * MON *", "0 0 8 ? * 2,6 *", "0 0 0 ? * MON-FRI"],
    "MONTH_CYCLE": ["0 0 0 1 * ? *", "0 2 3 1,2 * ?", "0 0 0 L * ? *", "0 0 1 15W * ? *", "0 0 0 L-3 * ? *"],
    "YEAR_CYCLE": ["0 0 0 1 1 ? *", "0 0 0 L 2 ? *", "0 0 0 1 1,7 ? *"],
    "ONEOFF_CYCLE": ["0 30 9 10 3 ? 2025", "0 0 0 * * ? *"],
    "CRONTAB_CYCLE": ["0 0 */6 * * ? *", "30 15 10 ? * 6#3", "0 0 12 LW * ?", "15 */5 * * * ?"],
}

INVALID = {
    "MINUTE_CYCLE": [
        "0 */7 * * * ? *",
        "0 5 * * * ? *",
        "0 */5 * 1 * ? *",
        "0 */5 * ? * MON *",
        "30 */5 * * * ? *",
    ],
    "HOUR_CYCLE": ["0 */5 * * * ? *", "0 0 * 1 * ? *", "0 0,30 * * * ? *"],
    "DAY_CYCLE": [
        "0 0 */2 * * ? *",
        "0 0 0 1 * ? *",
        "0 0 0 ? * MON *",
        "0 0 0 * * ? 2025",
        "0 0 0,12 * * ? *",
    ],
    "WEEK_CYCLE": ["0 0 0 * * ? *", "0 0 0 1 * ? *", "0 0 */2 ? * MON *"],
    "MONTH_CYCLE": ["0 0 0 * * ? *", "0 0 0 ? * MON *", "0 0 0 1 1 ? *"],
    "YEAR_CYCLE": ["0 0 0 1 * ? *", "0 0 0 ? 1 MON *"],
    "ONEOFF_CYCLE": ["0 */5 * * * ? *"],
    "CRONTAB_CYCLE": ["*/10 * * * * ?", "0 0 0 30 2 ? *", "nonsense", "0 0 0 * * * * *"],
}


@pytest.mark.parametrize(("cycle", "expr"), [(c, e) for c, es in VALID.items() for e in es])
def test_validate_accepts(cycle: str, expr: str) -> None:
    validate_crontab_for_cycle(cycle, expr)


@pytest.mark.parametrize(("cycle", "expr"), [(c, e) for c, es in INVALID.items() for e in es])
def test_validate_rejects(cycle: str, expr: str) -> None:
    with pytest.raises(CrontabCycleError) as info:
        validate_crontab_for_cycle(cycle, expr)
    # A syntax error is called one (issue 16), without blaming the cycle; the rest name it.
    if isinstance(info.value, CrontabSyntaxError):
        assert str(info.value).startswith(f"CrontabExpression {expr!r} has a syntax error: ")
    else:
        assert cycle in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("expr", ["nonsense", "0 0 25 * * ? *", "0 0 0 * *"])
def test_a_syntax_error_is_called_a_syntax_error_for_every_cycle(expr: str) -> None:
    for cycle in ("DAY_CYCLE", "CRONTAB_CYCLE"):
        with pytest.raises(CrontabSyntaxError, match="has a syntax error") as info:
            validate_crontab_for_cycle(cycle, expr)
        assert "does not fit" not in str(info.value)


# -- schedule fire times -------------------------------------------------------------------------


def test_day_schedule() -> None:
    s = Schedule(CycleType.DAY_CYCLE, "0 30 2 * * ? *")
    assert times(s, "2025-03-09 02:30", "2025-03-12 02:30") == [
        "2025-03-10 02:30",
        "2025-03-11 02:30",
        "2025-03-12 02:30",
    ]


def test_start_and_end_bounds_are_inclusive() -> None:
    s = Schedule(CycleType.DAY_CYCLE, "0 0 0 * * ? *", start_time=W("2025-03-10"), end_time=W("2025-03-12"))
    assert times(s, "2025-01-01", "2025-12-31") == [
        "2025-03-10 00:00",
        "2025-03-11 00:00",
        "2025-03-12 00:00",
    ]
    assert previous_wall_time(s, W("2025-03-10")) is None
    assert next_wall_time(s, W("2025-03-12")) is None
    assert previous_wall_time(s, W("2030-01-01")) == W("2025-03-12")
    assert next_wall_time(s, W("2020-01-01")) == W("2025-03-10")


def test_minute_window_and_offset() -> None:
    s = Schedule(
        CycleType.MINUTE_CYCLE,
        "0 */5 * * * ? *",
        execution_start="08:00",
        execution_end="08:20",
        minute_offset=3,
    )
    assert times(s, "2025-03-10 00:00", "2025-03-11 00:00") == [
        "2025-03-10 08:03",
        "2025-03-10 08:08",
        "2025-03-10 08:13",
        "2025-03-10 08:18",
    ]


def test_window_end_is_inclusive_at_minute_granularity() -> None:
    s = Schedule(CycleType.MINUTE_CYCLE, "0 */10 * * * ? *", execution_start="08:00", execution_end="08:30")
    assert times(s, "2025-03-10 00:00", "2025-03-10 23:59") == [
        "2025-03-10 08:00",
        "2025-03-10 08:10",
        "2025-03-10 08:20",
        "2025-03-10 08:30",
    ]


def test_window_wrapping_midnight() -> None:
    s = Schedule(CycleType.HOUR_CYCLE, "0 0 * * * ? *", execution_start="22:00", execution_end="02:00")
    assert times(s, "2025-03-10 00:00", "2025-03-11 12:00") == [
        "2025-03-10 01:00",
        "2025-03-10 02:00",
        "2025-03-10 22:00",
        "2025-03-10 23:00",
        "2025-03-11 00:00",
        "2025-03-11 01:00",
        "2025-03-11 02:00",
    ]


def test_window_04_to_0359_is_the_whole_day() -> None:
    s = Schedule(
        CycleType.HOUR_CYCLE, "0 0 * * * ? *", execution_start="04:00", execution_end="03:59", zone="UTC+4"
    )
    assert not s.has_window
    assert len(times(s, "2025-03-10 00:00", "2025-03-11 00:00")) == 24


def test_window_does_not_apply_to_day_and_crontab_cycles() -> None:
    for cycle, expr in ((CycleType.DAY_CYCLE, "0 0 23 * * ? *"), (CycleType.CRONTAB_CYCLE, "0 0 23 * * ? *")):
        s = Schedule(cycle, expr, execution_start="08:00", execution_end="09:00")
        assert times(s, "2025-03-10 00:00", "2025-03-11 00:00") == ["2025-03-10 23:00"]


def test_minute_offset_only_shifts_minute_cycles() -> None:
    hourly = Schedule(CycleType.HOUR_CYCLE, "0 0 * * * ? *", minute_offset=3)
    assert times(hourly, "2025-03-10 00:00", "2025-03-10 02:00") == ["2025-03-10 01:00", "2025-03-10 02:00"]
    with pytest.raises(ValueError, match="MinuteOffset"):
        Schedule(CycleType.MINUTE_CYCLE, "0 */5 * * * ? *", minute_offset=60)


def test_calendar_set_and_pause_calendar() -> None:
    run_days = {date(2025, 3, 10), date(2025, 3, 12)}
    s = Schedule(CycleType.DAY_CYCLE, "0 0 1 * * ? *", calendar=run_days)
    assert times(s, "2025-03-09", "2025-03-14") == ["2025-03-10 01:00", "2025-03-12 01:00"]
    assert hash(s)  # a set is frozen so the schedule stays hashable
    pause = Calendar(frozenset(run_days), CalendarMode.PAUSE)
    s2 = Schedule(CycleType.DAY_CYCLE, "0 0 1 * * ? *", calendar=pause)
    assert times(s2, "2025-03-09", "2025-03-14") == [
        "2025-03-09 01:00",
        "2025-03-11 01:00",
        "2025-03-13 01:00",
    ]


def test_calendar_on_minute_schedule_skips_days() -> None:
    s = Schedule(
        CycleType.MINUTE_CYCLE,
        "0 */30 * * * ? *",
        calendar=frozenset({date(2025, 3, 12)}),
        execution_start="10:00",
        execution_end="11:00",
    )
    assert times(s, "2025-03-01", "2025-03-31") == [
        "2025-03-12 10:00",
        "2025-03-12 10:30",
        "2025-03-12 11:00",
    ]
    assert next_wall_time(s, W("2025-03-01")) == W("2025-03-12 10:00")
    assert previous_wall_time(s, W("2025-03-31")) == W("2025-03-12 11:00")
    assert next_wall_time(s, W("2025-03-12 11:00")) is None


def test_oneoff_runs_once_at_first_fire_after_start() -> None:
    s = Schedule(CycleType.ONEOFF_CYCLE, "0 0 9 * * ? *", start_time=W("2025-03-10 10:00"))
    assert times(s, "2025-01-01", "2026-01-01") == ["2025-03-11 09:00"]
    s2 = Schedule(CycleType.ONEOFF_CYCLE, derive_crontab("ONEOFF_CYCLE", run_at=W("2025-03-10 09:30")))
    assert times(s2, "2025-01-01", "2026-01-01") == ["2025-03-10 09:30"]
    assert previous_wall_time(s2, W("2025-03-10 09:31")) == W("2025-03-10 09:30")
    assert next_wall_time(s2, W("2025-03-10 09:30")) is None


def test_iteration_is_lazy_and_open_ended() -> None:
    s = Schedule(CycleType.MINUTE_CYCLE, "0 */5 * * * ? *", end_time=None)
    first = list(islice(schedule_wall_times(s, W("2025-03-10")), 3))
    assert first == [W("2025-03-10 00:05"), W("2025-03-10 00:10"), W("2025-03-10 00:15")]
    back = list(islice(schedule_wall_times_desc(s, W("2025-03-10")), 2))
    assert back == [W("2025-03-09 23:55"), W("2025-03-09 23:50")]


def test_previous_and_next_across_window_gap() -> None:
    s = Schedule(CycleType.MINUTE_CYCLE, "0 */15 * * * ? *", execution_start="09:00", execution_end="17:00")
    assert next_wall_time(s, W("2025-03-10 17:00")) == W("2025-03-11 09:00")
    assert previous_wall_time(s, W("2025-03-11 09:00")) == W("2025-03-10 17:00")
    assert previous_wall_time(s, W("2025-03-11 09:00:30")) == W("2025-03-11 09:00")


def test_dst_days_are_wall_clock_days() -> None:
    # Wall-clock iteration: New York's spring-forward day still has a 02:00 fire (its instant is
    # after the jump; see docs/cron.md) and the fall-back day a single 01:00.
    for day in ("2025-03-09", "2025-11-02"):
        s = Schedule(CycleType.HOUR_CYCLE, "0 0 * * * ? *", zone="America/New_York")
        got = list(schedule_wall_times(s, W(day) - timedelta(microseconds=1), W(day) + timedelta(hours=23)))
        assert len(got) == 24
        assert got[2] == W(day) + timedelta(hours=2)


def test_from_strings() -> None:
    s = Schedule.from_strings(
        cycle_type="MINUTE_CYCLE",
        crontab_expression="0 */5 * * * ? *",
        start_time="2025-03-10 00:00:00",
        end_time="",
        execution_start="04:00",
        execution_end="03:59",
        minute_offset="2",
        init_strategy="T_PLUS_1",
    )
    assert s.start_time == W("2025-03-10")
    assert s.end_time == W("2099-12-31 23:59:59")
    assert s.minute_offset == 2 and s.init_strategy is InitStrategy.T_PLUS_1
    assert next_wall_time(s, W("2025-03-10 00:00")) == W("2025-03-10 00:02")
    with pytest.raises(ValueError, match="EndTime"):
        Schedule(start_time=W("2025-03-10"), end_time=W("2025-03-09"))


# -- properties: fast path == cron, filters == brute force ---------------------------------------

DAILY = [
    "0 */5 * * * ? *",
    "0 0/10 * * * ?",
    "0 3/15 * * * ? *",
    "0 7/5 * * * ? *",
    "0 */7 * * * ? *",
    "0 * * * * ? *",
    "0 0 * * * ? *",
    "0 17 * * * ? *",
    "0 30 */2 * * ? *",
    "0 5 1/3 * * ? *",
    "0 0 */5 * * ? *",
    "0 */5 9-17 * * ?",
    "0 0,20 0,6,13 * * ? *",
    "0 45 6 * * ? *",
    "30 10 */4 * * ? *",
    "0 0 0 ? * * *",
]
moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2099, 12, 30))


@pytest.mark.parametrize("expr", DAILY)
def test_daily_patterns_are_detected(expr: str) -> None:
    assert _daily_pattern(expr) is not None


@pytest.mark.parametrize(
    "expr", ["0 0 0 1 * ? *", "0 0 0 ? * MON *", "0 0 0 * 1 ? *", "0 0 0 * * ? 2025", "* * * * * ?"]
)
def test_other_shapes_use_cron(expr: str) -> None:
    assert _daily_pattern(expr) is None


@settings(max_examples=200, deadline=None)
@given(expr=st.sampled_from(DAILY), start=moments, hours=st.integers(0, 80))
def test_daily_pattern_matches_cron(expr: str, start: datetime, hours: int) -> None:
    pattern = _daily_pattern(expr)
    assert pattern is not None
    end = start + timedelta(hours=hours)
    cron = QuartzCron.parse(expr)
    assert list(_pattern_asc(pattern, start, end)) == list(cron.iter_wall(start, end))
    # descending over [start, end) is the reverse of the ascending fires in that range
    asc_half_open = [t for t in cron.iter_wall(start - timedelta(microseconds=1), end) if t < end]
    assert list(_pattern_desc(pattern, end, start)) == asc_half_open[::-1]


def test_pattern_and_cron_agree_at_quartz_year_limits() -> None:
    s = Schedule(CycleType.DAY_CYCLE, "0 0 0 * * ? *", end_time=None)
    assert list(schedule_wall_times(s, W("2099-12-30 12:00"))) == [W("2099-12-31")]
    assert list(schedule_wall_times_desc(s, W("1970-01-02 12:00"))) == [W("1970-01-02"), W("1970-01-01")]


schedules = st.builds(
    lambda cycle_expr, ws, we, off, cal_days: Schedule(
        cycle_expr[0],
        cycle_expr[1],
        execution_start=format_hhmm(ws),
        execution_end=format_hhmm(we),
        minute_offset=off,
        calendar=None if cal_days is None else frozenset(date(2025, 3, d) for d in cal_days),
    ),
    st.sampled_from(
        [
            (CycleType.MINUTE_CYCLE, "0 */5 * * * ? *"),
            (CycleType.MINUTE_CYCLE, "0 */20 * * * ? *"),
            (CycleType.MINUTE_CYCLE, "0 */15 8-17 * * ? *"),
            (CycleType.HOUR_CYCLE, "0 10 * * * ? *"),
            (CycleType.HOUR_CYCLE, "0 0 0,5,13 * * ? *"),
            (CycleType.DAY_CYCLE, "0 30 1 * * ? *"),
            (CycleType.CRONTAB_CYCLE, "0 0 */7 * * ? *"),
        ]
    ),
    st.integers(0, 1439),
    st.integers(0, 1439),
    st.integers(0, 59),
    st.none() | st.sets(st.integers(1, 31), max_size=10),
)


def brute_force(s: Schedule, after: datetime, until: datetime) -> list[datetime]:
    """Reference: every raw fire, then the documented filters."""
    return [t for t in s.raw_fires(after, until) if s.accepts(t)]


@settings(max_examples=120, deadline=None)
@given(
    s=schedules, start=st.datetimes(datetime(2025, 2, 27), datetime(2025, 3, 30)), hours=st.integers(0, 90)
)
def test_filters_match_brute_force(s: Schedule, start: datetime, hours: int) -> None:
    end = start + timedelta(hours=hours)
    got = list(schedule_wall_times(s, start, end))
    assert got == brute_force(s, start, end)
    assert got == sorted(set(got))
    desc = list(
        schedule_wall_times_desc(s, end + timedelta(microseconds=1), start + timedelta(microseconds=1))
    )
    assert desc == got[::-1]


@settings(max_examples=120, deadline=None)
@given(s=schedules, t=st.datetimes(datetime(2025, 3, 1), datetime(2025, 3, 28)))
def test_next_and_previous_are_neighbours(s: Schedule, t: datetime) -> None:
    nxt = next_wall_time(s, t)
    prev = previous_wall_time(s, t)
    window = brute_force(s, t - timedelta(days=40), t + timedelta(days=40))
    later = [x for x in window if x > t]
    earlier = [x for x in window if x < t]
    assert nxt == (later[0] if later else None)
    assert prev == (earlier[-1] if earlier else None)


# -- calendars -------------------------------------------------------------------------------------


def test_calendar_value_type() -> None:
    cal = Calendar.from_strings(["2025-03-10", "20250312", " "], "run", calendar_id="720", name="exchange")
    assert cal.to_strings() == ["2025-03-10", "2025-03-12"]
    assert cal.allows(date(2025, 3, 10)) and not cal.allows(date(2025, 3, 11))
    assert cal.next_allowed(date(2025, 3, 11)) == date(2025, 3, 12)
    assert cal.next_allowed(date(2025, 3, 13), limit_days=30) is None
    holidays = Calendar(frozenset({date(2025, 1, 1)}), "PAUSE")  # type: ignore[arg-type]
    assert holidays.mode is CalendarMode.PAUSE and not holidays.allows(date(2025, 1, 1))
    assert calendar_allows(None, date(2025, 1, 1))
    assert calendar_allows({date(2025, 1, 1)}, date(2025, 1, 1))
    assert not calendar_allows(frozenset(), date(2025, 1, 1))


def test_calendar_parsing() -> None:
    assert calendar_open("1") and calendar_open(1) and calendar_open(True)
    assert not calendar_open("0") and not calendar_open(None) and not calendar_open("")
    with pytest.raises(ValueError):
        calendar_open("2")
    assert parse_calendar_date(datetime(2025, 3, 10, 5)) == date(2025, 3, 10)
    assert parse_calendar_date(date(2025, 3, 10)) == date(2025, 3, 10)
    with pytest.raises(ValueError, match="calendar date"):
        parse_calendar_date("2025-13-01")
