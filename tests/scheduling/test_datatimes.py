"""Data times (InitStrategy), wall formats, instance keys and data-time enumeration."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wedata.scheduling.cycles import CycleType, InitStrategy, Schedule, schedule_wall_times
from wedata.scheduling.datatimes import (
    add_months,
    data_time,
    data_times_between,
    event_dimension,
    format_wall,
    instance_key,
    latest_data_time,
    next_data_time,
    parse_instance_key,
    parse_wall,
    planned_instances,
    previous_data_time,
    schedule_data_time,
    scheduled_time_for,
    shift_cycle,
)


def W(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- formats -----------------------------------------------------------------------------------


def test_format_and_parse_wall() -> None:
    assert format_wall(W("2025-03-01 00:00:00")) == "2025-03-01 00:00:00"
    assert format_wall(datetime(5, 1, 2, 3, 4, 5, 999)) == "0005-01-02 03:04:05"
    assert parse_wall(" 2025-03-01 13:05:09 ") == W("2025-03-01 13:05:09")
    for bad in (
        "2025-03-01",
        "2025-03-01T00:00:00",
        "2025/03/01 00:00:00",
        "2025-02-30 00:00:00",
        "2025-03-01 24:00:00",
    ):
        with pytest.raises(ValueError):
            parse_wall(bad)


def test_instance_key() -> None:
    key = instance_key("20250807170933305", W("2025-03-01"))
    assert key == "20250807170933305_2025-03-01 00:00:00"
    assert parse_instance_key(key) == ("20250807170933305", W("2025-03-01"))
    for bad in ("20250807170933305", "_2025-03-01 00:00:00", "x_2025-03-01"):
        with pytest.raises(ValueError):
            parse_instance_key(bad)


@given(
    task_id=st.text(alphabet="0123456789", min_size=1, max_size=20),
    t=st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)),
)
def test_instance_key_roundtrip(task_id: str, t: datetime) -> None:
    t = t.replace(microsecond=0)
    assert parse_instance_key(instance_key(task_id, t)) == (task_id, t)
    assert parse_wall(format_wall(t)) == t


def test_event_dimension() -> None:
    t = W("2025-03-10 08:05:09")
    assert event_dimension("DAY", t) == "20250310"
    assert event_dimension("HOUR", t) == "2025031008"
    assert event_dimension("MIN", t) == "202503100805"
    assert event_dimension("SECOND", t) == "20250310080509"
    with pytest.raises(ValueError):
        event_dimension("WEEK", t)


# -- arithmetic ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "keep", "expected"),
    [
        ("2025-01-31", 1, False, "2025-02-28"),
        ("2024-01-31", 1, False, "2024-02-29"),
        ("2025-03-31", -1, False, "2025-02-28"),
        ("2025-04-30", -1, False, "2025-03-30"),
        ("2025-04-30", -1, True, "2025-03-31"),
        ("2025-02-28", 1, True, "2025-03-31"),
        ("2025-01-15", -1, True, "2024-12-15"),
        ("2024-02-29", -12, False, "2023-02-28"),
        ("2025-12-01", 1, False, "2026-01-01"),
    ],
)
def test_add_months(start: str, months: int, keep: bool, expected: str) -> None:
    assert add_months(W(start), months, keep_month_end=keep) == W(expected)


def test_shift_cycle_needs_fixed_length() -> None:
    assert shift_cycle(CycleType.WEEK_CYCLE, W("2025-03-12"), -1) == W("2025-03-05")
    with pytest.raises(ValueError):
        shift_cycle(CycleType.MINUTE_CYCLE, W("2025-03-12"), -1)


# -- data_time -----------------------------------------------------------------------------------

P0, P1, M1 = InitStrategy.T_PLUS_0, InitStrategy.T_PLUS_1, InitStrategy.T_MINUS_1


@pytest.mark.parametrize(
    ("cycle", "scheduled", "init", "expected"),
    [
        ("DAY_CYCLE", "2025-03-10 02:30", P0, "2025-03-10 00:00"),
        ("DAY_CYCLE", "2025-03-10 02:30", P1, "2025-03-09 00:00"),
        ("DAY_CYCLE", "2025-03-10 02:30", M1, "2025-03-11 00:00"),
        ("DAY_CYCLE", "2025-01-01 00:00", P1, "2024-12-31 00:00"),
        ("DAY_CYCLE", "2024-03-01 00:00", P1, "2024-02-29 00:00"),
        ("HOUR_CYCLE", "2025-03-10 10:30", P0, "2025-03-10 10:00"),
        ("HOUR_CYCLE", "2025-03-10 10:30", P1, "2025-03-10 09:00"),
        ("HOUR_CYCLE", "2025-03-10 00:30", P1, "2025-03-09 23:00"),
        ("HOUR_CYCLE", "2025-03-10 23:30", M1, "2025-03-11 00:00"),
        ("WEEK_CYCLE", "2025-03-12 01:00", P0, "2025-03-12 00:00"),  # keeps its weekday
        ("WEEK_CYCLE", "2025-03-12 01:00", P1, "2025-03-05 00:00"),
        ("MONTH_CYCLE", "2025-03-15 03:00", P0, "2025-03-15 00:00"),
        ("MONTH_CYCLE", "2025-03-15 03:00", P1, "2025-02-15 00:00"),
        ("MONTH_CYCLE", "2025-03-31 03:00", P1, "2025-02-28 00:00"),
        ("MONTH_CYCLE", "2024-03-31 03:00", P1, "2024-02-29 00:00"),
        ("MONTH_CYCLE", "2025-04-30 03:00", P1, "2025-03-31 00:00"),  # last day -> last day
        ("MONTH_CYCLE", "2025-03-30 03:00", P1, "2025-02-28 00:00"),  # clamped
        ("MONTH_CYCLE", "2025-01-01 03:00", P1, "2024-12-01 00:00"),
        ("MONTH_CYCLE", "2025-02-28 03:00", M1, "2025-03-31 00:00"),
        ("YEAR_CYCLE", "2025-01-01 04:00", P1, "2024-01-01 00:00"),
        ("YEAR_CYCLE", "2024-02-29 04:00", P1, "2023-02-28 00:00"),
        ("ONEOFF_CYCLE", "2025-03-10 09:30", P0, "2025-03-10 00:00"),
        ("MINUTE_CYCLE", "2025-03-10 10:05", P0, "2025-03-10 10:05"),
        ("CRONTAB_CYCLE", "2025-03-10 10:05:30", P0, "2025-03-10 10:05:30"),
    ],
)
def test_data_time(cycle: str, scheduled: str, init: InitStrategy, expected: str) -> None:
    assert data_time(cycle, W(scheduled), init) == W(expected)


def test_minute_and_crontab_previous_cycle_is_previous_fire() -> None:
    five = Schedule(CycleType.MINUTE_CYCLE, "0 */5 * * * ? *", init_strategy=P1)
    assert schedule_data_time(five, W("2025-03-10 10:05")) == W("2025-03-10 10:00")
    assert schedule_data_time(five, W("2025-03-10 00:00")) == W("2025-03-09 23:55")
    shifted = Schedule(CycleType.MINUTE_CYCLE, "0 */5 * * * ? *", minute_offset=3, init_strategy=P1)
    assert schedule_data_time(shifted, W("2025-03-10 10:03")) == W("2025-03-10 09:58")
    windowed = Schedule(
        CycleType.MINUTE_CYCLE,
        "0 */5 * * * ? *",
        execution_start="08:00",
        execution_end="18:00",
        init_strategy=P1,
    )
    # the window does not remove the previous cycle: the first run of the day covers 07:55
    assert schedule_data_time(windowed, W("2025-03-10 08:00")) == W("2025-03-10 07:55")
    six = Schedule(CycleType.CRONTAB_CYCLE, "0 0 */6 * * ? *", init_strategy=P1)
    assert schedule_data_time(six, W("2025-03-10 00:00")) == W("2025-03-09 18:00")
    ahead = Schedule(CycleType.CRONTAB_CYCLE, "0 0 */6 * * ? *", init_strategy=M1)
    assert schedule_data_time(ahead, W("2025-03-10 18:00")) == W("2025-03-11 00:00")
    with pytest.raises(ValueError, match="needs the schedule"):
        data_time(CycleType.MINUTE_CYCLE, W("2025-03-10 10:05"), P1)


# -- enumeration ---------------------------------------------------------------------------------


def test_data_times_between_day_t_plus_1() -> None:
    s = Schedule(CycleType.DAY_CYCLE, "0 30 2 * * ? *", init_strategy=P1, start_time=W("2025-03-10"))
    # The first fire (03-10 02:30) makes data time 03-09, before StartTime itself.
    assert data_times_between(s, W("2025-03-01"), W("2025-03-12")) == [
        W("2025-03-09"),
        W("2025-03-10"),
        W("2025-03-11"),
        W("2025-03-12"),
    ]
    assert data_times_between(s, W("2025-03-09"), W("2025-03-11"), start_closed=False, end_closed=False) == [
        W("2025-03-10")
    ]
    assert scheduled_time_for(s, W("2025-03-09")) == W("2025-03-10 02:30")
    assert scheduled_time_for(s, W("2025-03-08")) is None
    assert latest_data_time(s, W("2025-03-09 12:00")) == W("2025-03-09")
    assert latest_data_time(s, W("2025-03-09"), inclusive=False) is None
    assert previous_data_time(s, W("2025-03-11")) == W("2025-03-10")
    assert next_data_time(s, W("2025-03-11")) == W("2025-03-12")


def test_planned_instances_pairs() -> None:
    s = Schedule(CycleType.HOUR_CYCLE, "0 30 */6 * * ? *", init_strategy=P1)
    got = list(planned_instances(s, W("2025-03-10"), W("2025-03-10 13:00")))
    assert got == [
        (W("2025-03-10 00:30"), W("2025-03-09 23:00")),
        (W("2025-03-10 06:30"), W("2025-03-10 05:00")),
        (W("2025-03-10 12:30"), W("2025-03-10 11:00")),
    ]


def test_planned_instances_dedupe_invalid_schedule() -> None:
    # Not a valid DAY_CYCLE expression (two fires a day): the first fire makes the instance.
    s = Schedule(CycleType.DAY_CYCLE, "0 0 1,13 * * ? *")
    got = list(planned_instances(s, W("2025-03-10"), W("2025-03-11 00:00")))
    assert got == [(W("2025-03-10 01:00"), W("2025-03-10"))]


def test_minute_data_times_between_is_exact() -> None:
    s = Schedule(CycleType.MINUTE_CYCLE, "0 */5 * * * ? *")
    got = data_times_between(s, W("2025-03-10 10:00"), W("2025-03-10 10:30"), start_closed=False)
    assert got == [W("2025-03-10 10:05") + timedelta(minutes=5 * i) for i in range(6)]
    assert data_times_between(s, W("2025-03-10 11:00"), W("2025-03-10 10:00")) == []


def test_previous_data_time_of_first_instance_is_none() -> None:
    s = Schedule(CycleType.DAY_CYCLE, "0 0 1 * * ? *", start_time=W("2025-03-10"))
    assert previous_data_time(s, W("2025-03-10")) is None
    assert previous_data_time(s, W("2025-03-11")) == W("2025-03-10")
    end = Schedule(CycleType.DAY_CYCLE, "0 0 1 * * ? *", end_time=W("2025-03-10 01:00"))
    assert next_data_time(end, W("2025-03-10")) is None


def test_month_end_t_plus_1_across_leap_february() -> None:
    s = Schedule(CycleType.MONTH_CYCLE, "0 0 3 L * ? *", init_strategy=P1, start_time=W("2024-01-01"))
    got = data_times_between(s, W("2024-01-01"), W("2024-06-30"))
    assert got == [
        W(d) for d in ("2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30")
    ]


# -- properties ----------------------------------------------------------------------------------

SCHEDULES = [
    (CycleType.MINUTE_CYCLE, "0 */10 * * * ? *", "06:00", "20:00", 4),
    (CycleType.MINUTE_CYCLE, "0 */30 * * * ? *", "00:00", "23:59", 0),
    (CycleType.HOUR_CYCLE, "0 15 */3 * * ? *", "22:00", "04:00", 0),
    (CycleType.DAY_CYCLE, "0 30 2 * * ? *", "00:00", "23:59", 0),
    (CycleType.WEEK_CYCLE, "0 0 1 ? * MON,THU *", "00:00", "23:59", 0),
    (CycleType.MONTH_CYCLE, "0 0 3 1,15,31 * ? *", "00:00", "23:59", 0),
    (CycleType.MONTH_CYCLE, "0 0 3 L * ? *", "00:00", "23:59", 0),
    (CycleType.YEAR_CYCLE, "0 0 4 1 1,7 ? *", "00:00", "23:59", 0),
    (CycleType.CRONTAB_CYCLE, "0 0 */7 * * ? *", "00:00", "23:59", 0),
]


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    cycle, expr, ws, we, off = draw(st.sampled_from(SCHEDULES))
    init = draw(st.sampled_from(list(InitStrategy)))
    cal = draw(st.none() | st.sets(st.dates(date(2024, 12, 1), date(2025, 4, 30)), min_size=20, max_size=120))
    return Schedule(
        cycle, expr, execution_start=ws, execution_end=we, minute_offset=off, init_strategy=init, calendar=cal
    )


MARGIN = {
    CycleType.MINUTE_CYCLE: 3,
    CycleType.HOUR_CYCLE: 3,
    CycleType.CRONTAB_CYCLE: 3,
    CycleType.DAY_CYCLE: 10,
    CycleType.WEEK_CYCLE: 30,
    CycleType.MONTH_CYCLE: 100,
    CycleType.YEAR_CYCLE: 800,
}


@settings(max_examples=80, deadline=None)
@given(s=schedules(), start=st.datetimes(datetime(2025, 1, 1), datetime(2025, 3, 1)), days=st.integers(0, 40))
def test_enumeration_matches_mapping_fires(s: Schedule, start: datetime, days: int) -> None:
    end = start + timedelta(days=days)
    margin = timedelta(days=MARGIN[s.cycle_type])
    # Reference: map every fire of a generous surrounding range to its data time.
    fires = list(schedule_wall_times(s, start - margin, end + margin))
    data = [schedule_data_time(s, f) for f in fires]
    assert data == sorted(set(data))  # valid schedules: one fire per data time, in order
    assert data_times_between(s, start, end) == [d for d in data if start <= d <= end]
    before = [d for d in data if d <= end]
    if before:
        assert latest_data_time(s, end) == before[-1]
    for k in range(1, len(fires) - 1, max(1, len(fires) // 15)):
        assert scheduled_time_for(s, data[k]) == fires[k]
        assert previous_data_time(s, data[k]) == data[k - 1]
        assert next_data_time(s, data[k]) == data[k + 1]
