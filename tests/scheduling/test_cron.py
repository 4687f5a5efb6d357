"""Unit tests of the Quartz cron parser and evaluator (examples; see also the property and
reference tests in test_cron_properties.py and test_cron_reference.py)."""

from __future__ import annotations

import itertools
import pickle
from datetime import UTC, datetime, timedelta

import pytest

from wedata.scheduling.cron import CronError, QuartzCron, validate_cron
from wedata.scheduling.cron_parse import DomKind, DowKind
from wedata.scheduling.timezones import parse_zone

NY = parse_zone("America/New_York")
SHANGHAI_FIXED = parse_zone("UTC+8")


def walls(expression: str, start: str, n: int) -> list[str]:
    cron = QuartzCron.parse(expression)
    out = itertools.islice(cron.iter_wall(datetime.fromisoformat(start)), n)
    return [w.strftime("%Y-%m-%d %a %H:%M:%S") for w in out]


# ------------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("expression", "attr", "expected"),
    [
        ("*/15 * * * * ?", "seconds", (0, 15, 30, 45)),
        ("5/15 * * * * ?", "seconds", (5, 20, 35, 50)),
        ("0 50-10/5 * * * ?", "minutes", (0, 5, 10, 50, 55)),
        ("0 0 22-2 * * ?", "hours", (0, 1, 2, 22, 23)),
        ("0 0 1,3,1,2-3 * * ?", "hours", (1, 2, 3)),
        ("0 0 0/6 * * ?", "hours", (0, 6, 12, 18)),
        ("0 0 0 1 NOV-FEB ?", "months", (1, 2, 11, 12)),
        ("0 0 0 1 jan,Mar,5 ?", "months", (1, 3, 5)),
        ("0 0 0 1 */4 ?", "months", (1, 5, 9)),
        ("0 0 0 1 * ? 2025-2031/3", "years", (2025, 2028, 2031)),
        ("0 0 0 1 * ? 2030/20", "years", (2030, 2050, 2070, 2090)),
        ("0 0 0 1 * ?", "years", tuple(range(1970, 2100))),
    ],
)
def test_field_values(expression: str, attr: str, expected: tuple[int, ...]) -> None:
    assert getattr(QuartzCron.parse(expression).spec, attr) == expected


def test_day_rules() -> None:
    spec = QuartzCron.parse("0 0 0 28-3 * ?").spec
    assert spec.dom.kind is DomKind.SET and spec.dom.values == (1, 2, 3, 28, 29, 30, 31)
    assert QuartzCron.parse("0 0 0 L-3 * ?").spec.dom.kind is DomKind.LAST
    assert QuartzCron.parse("0 0 0 l-3w * ?").spec.dom.kind is DomKind.LAST_WEEKDAY
    assert QuartzCron.parse("0 0 0 15W * ?").spec.dom.day == 15
    fri_mon = QuartzCron.parse("0 0 0 ? * FRI-MON").spec.dow
    assert fri_mon.kind is DowKind.SET and fri_mon.values == (1, 2, 6, 7)
    assert QuartzCron.parse("0 0 0 ? * L").spec.dow.values == (7,)  # Quartz: L alone = SAT
    nth = QuartzCron.parse("0 0 0 ? * fri#3").spec.dow
    assert (nth.kind, nth.weekday, nth.nth) == (DowKind.NTH, 6, 3)
    last = QuartzCron.parse("0 0 0 ? * 6L").spec.dow
    assert (last.kind, last.weekday) == (DowKind.LAST, 6)


def test_whitespace_case_and_year_field() -> None:
    a = QuartzCron.parse("0 0 0 ? * mon-fri")
    b = QuartzCron.parse("  0\t0  0 ? *   MON-FRI  * ")
    assert a == b and hash(a) == hash(b)
    assert a.expression == "0 0 0 ? * mon-fri"


def test_parse_is_cached_and_validate() -> None:
    assert QuartzCron.parse("0 0 0 * * ? *") is QuartzCron.parse("0 0 0 * * ? *")
    validate_cron("0 0 1 ? * 6#3")
    with pytest.raises(CronError):
        validate_cron("0 0 1 ? * 6#6")


def test_error_message_shape() -> None:
    with pytest.raises(CronError) as info:
        QuartzCron.parse("0 0 25 * * ?")
    err = info.value
    assert str(err) == "invalid cron expression '0 0 25 * * ?': hour field: value 25 out of range 0-23"
    assert (err.field, err.token) == ("hour", "25")
    assert isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))
    assert (str(again), again.field, again.token) == (str(err), "hour", "25")


@pytest.mark.parametrize(
    ("expression", "field", "token", "message"),
    [
        ("0 0 0 * *", None, None, "expected 6 or 7 fields"),
        ("0 0 0 * * ? 2025 x", None, None, "got 8"),
        ("0 0 0 32 * ?", "day-of-month", "32", "value 32 out of range 1-31"),
        ("0 0 0 ? 0 *", "month", "0", "out of range 1-12"),
        ("0 0 0 ? * 8", "day-of-week", "8", "out of range 1-7"),
        ("0 0 0 1 * ? 1969", "year", "1969", "out of range 1970-2099"),
        ("0 0 0 1 * ? 2100", "year", "2100", "out of range 1970-2099"),
        ("0 0 0 1 * ? 2030-2020", "year", "2030-2020", "runs backwards"),
        ("0 0 0 * * *", "day-of-week", "*", "must be '?'"),
        ("0 0 0 ? * ?", "day-of-week", "?", "cannot both be '?'"),
        ("0 ? 0 1 * ?", "minute", "?", "only allowed in the day-of-month and day-of-week"),
        ("0 0 0 ?,1 * ?", "day-of-month", "?", "must be the only value"),
        ("0 0 0 1,L * ?", "day-of-month", "L", "must be the only value"),
        ("0 0 0 1W,15W * ?", "day-of-month", "1W", "must be the only value"),
        ("0 0 0 L- * ?", "day-of-month", "L-", "expected L, L-n, LW, L-nW or nW"),
        ("0 0 0 L-31 * ?", "day-of-month", "L-31", "offset from the last day 31 out of range 0-30"),
        ("0 0 0 0W * ?", "day-of-month", "0W", "out of range 1-31"),
        ("0 0 0 ? * 6#3,2", "day-of-week", "6#3", "must be the only value"),
        ("0 0 0 ? * 6#6", "day-of-week", "6#6", "occurrence 6 after '#' out of range 1-5"),
        ("0 0 0 ? * 6L-2", "day-of-week", "6L-2", "expected L, nL or n#k"),
        ("0 0 0 ? * MONDAY", "day-of-week", "MONDAY", "unknown day name"),
        ("0 0 0 ? JANUARY *", "month", "JANUARY", "unknown month name"),
        ("0 0 0 ? * MON-FRI/2", "day-of-week", "MON-FRI/2", "step after a name"),
        ("0 0 0 ? JAN/2 *", "month", "JAN/2", "step after a name"),
        ("0 0 0 ? * MON-5", "day-of-week", "MON-5", "cannot mix names and numbers"),
        ("0 0 MON * * ?", "hour", "MON", "expected a number 0-23"),
        ("0 0 L * * ?", "hour", "L", "only allowed in the day-of-month and day-of-week"),
        ("0 */0 * * * ?", "minute", "*/0", "step 0 out of range 1-59"),
        ("0 */60 * * * ?", "minute", "*/60", "step 60 out of range 1-59"),
        ("0 0 0 ? * */8", "day-of-week", "*/8", "step 8 out of range 1-7"),
        ("0 0 0 1,,2 * ?", "day-of-month", "1,,2", "empty value in list"),
        ("0 0 0 5-0 * ?", "day-of-month", "5-0", "value 0 out of range 1-31"),
        ("0 0 *-5 * * ?", "hour", "*-5", "'*' cannot start a range"),
        ("0 0 5/ * * ?", "hour", "5/", "unexpected '5/'"),
        ("0 0 1-2-3 * * ?", "hour", "1-2-3", "unexpected"),
    ],
)
def test_invalid_expressions(expression: str, field: str | None, token: str | None, message: str) -> None:
    with pytest.raises(CronError) as info:
        QuartzCron.parse(expression)
    err = info.value
    assert (err.field, err.token) == (field, token)
    assert message in str(err)
    assert str(err).startswith(f"invalid cron expression {expression!r}: ")
    if field is not None:
        assert f": {field} field: " in str(err)


def test_non_string_expression() -> None:
    with pytest.raises(CronError):
        QuartzCron.parse(None)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------- semantics


def test_daily_and_minute_cycles() -> None:
    assert walls("0 0 0 * * ? *", "2025-12-30 12:00:00", 3) == [
        "2025-12-31 Wed 00:00:00",
        "2026-01-01 Thu 00:00:00",
        "2026-01-02 Fri 00:00:00",
    ]
    assert walls("0 */5 * * * ?", "2025-12-31 23:52:00", 3) == [
        "2025-12-31 Wed 23:55:00",
        "2026-01-01 Thu 00:00:00",
        "2026-01-01 Thu 00:05:00",
    ]


def test_nth_and_last_weekday_of_month() -> None:
    assert walls("0 0 1 ? * 6#3", "2025-01-01 00:00:00", 3) == [
        "2025-01-17 Fri 01:00:00",
        "2025-02-21 Fri 01:00:00",
        "2025-03-21 Fri 01:00:00",
    ]
    # Only months with five Mondays.
    assert walls("0 0 9 ? * MON#5", "2025-01-01 00:00:00", 3) == [
        "2025-03-31 Mon 09:00:00",
        "2025-06-30 Mon 09:00:00",
        "2025-09-29 Mon 09:00:00",
    ]
    assert walls("0 0 9 ? * 1L", "2025-01-01 00:00:00", 2) == [
        "2025-01-26 Sun 09:00:00",
        "2025-02-23 Sun 09:00:00",
    ]


def test_last_day_rules() -> None:
    assert walls("0 0 0 L * ?", "2024-01-31 00:00:00", 2) == [
        "2024-02-29 Thu 00:00:00",
        "2024-03-31 Sun 00:00:00",
    ]
    assert walls("0 0 0 L-2 * ?", "2025-02-01 00:00:00", 2) == [
        "2025-02-26 Wed 00:00:00",
        "2025-03-29 Sat 00:00:00",
    ]
    # Last weekday: August 2025 ends on a Sunday, so Friday the 29th; May 2025 on a Saturday.
    assert walls("0 0 0 LW * ?", "2025-05-01 00:00:00", 4) == [
        "2025-05-30 Fri 00:00:00",
        "2025-06-30 Mon 00:00:00",
        "2025-07-31 Thu 00:00:00",
        "2025-08-29 Fri 00:00:00",
    ]
    # L-30 exists only in 31-day months (the 1st).
    assert walls("0 0 0 L-30 * ?", "2025-01-02 00:00:00", 2) == [
        "2025-03-01 Sat 00:00:00",
        "2025-05-01 Thu 00:00:00",
    ]
    # L-30W in February: no such day, no fire (Quartz 2.3.2 loops forever here).
    assert walls("0 0 0 L-30W 2 ?", "2025-01-01 00:00:00", 1) == []


def test_nearest_weekday() -> None:
    # 2025-03-15 is a Saturday -> Friday 14th; 2025-06-15 a Sunday -> Monday 16th.
    assert walls("0 0 0 15W 3,6 ?", "2025-01-01 00:00:00", 2) == [
        "2025-03-14 Fri 00:00:00",
        "2025-06-16 Mon 00:00:00",
    ]
    # 2025-02-01 is a Saturday: 1W does not cross back into January -> Monday 3rd.
    assert walls("0 0 0 1W 2 ?", "2025-01-01 00:00:00", 1) == ["2025-02-03 Mon 00:00:00"]
    # 2025-08-31 is a Sunday: 31W does not cross into September -> Friday 29th.
    assert walls("0 0 0 31W 8 ?", "2025-01-01 00:00:00", 1) == ["2025-08-29 Fri 00:00:00"]
    # 31W in a 30-day month follows Quartz: it fires (on the 30th) only when the 31st would be
    # a Saturday. May 1st 2027 is a Saturday -> April 30th; May 1st 2025 is not.
    assert walls("0 0 0 31W 4 ?", "2025-01-01 00:00:00", 1) == ["2027-04-30 Fri 00:00:00"]


def test_years_and_end_of_range() -> None:
    assert walls("0 0 0 29 2 ?", "2025-01-01 00:00:00", 2) == [
        "2028-02-29 Tue 00:00:00",
        "2032-02-29 Sun 00:00:00",
    ]
    assert walls("0 0 0 * * ? 2024,2026", "2024-12-31 00:00:00", 2) == [
        "2026-01-01 Thu 00:00:00",
        "2026-01-02 Fri 00:00:00",
    ]
    cron = QuartzCron.parse("59 59 23 31 12 ?")
    assert cron.next_wall_after(datetime(2099, 12, 31, 23, 59, 58)) == datetime(2099, 12, 31, 23, 59, 59)
    assert cron.next_wall_after(datetime(2099, 12, 31, 23, 59, 59)) is None
    assert QuartzCron.parse("0 0 0 1 1 ?").prev_wall_before(datetime(1970, 1, 1)) is None
    assert QuartzCron.parse("0 0 0 30 2 ?").next_wall_after(datetime(2025, 1, 1)) is None
    assert QuartzCron.parse("0 0 0 1 1 ? 2020").next_wall_after(datetime(2025, 1, 1)) is None
    # Before 1970: the first fire is in 1970.
    assert QuartzCron.parse("0 0 0 1 1 ?").next_wall_after(datetime(1900, 5, 5)) == datetime(1970, 1, 1)


def test_strictly_after_and_before_with_fractions() -> None:
    cron = QuartzCron.parse("* * * * * ?")
    t = datetime(2025, 1, 1, 0, 0, 0)
    assert cron.next_wall_after(t) == t + timedelta(seconds=1)
    assert cron.next_wall_after(t + timedelta(microseconds=1)) == t + timedelta(seconds=1)
    assert cron.prev_wall_before(t) == t - timedelta(seconds=1)
    assert cron.prev_wall_before(t + timedelta(microseconds=1)) == t
    assert cron.matches_wall(t + timedelta(microseconds=999))


def test_prev_wall_before() -> None:
    cron = QuartzCron.parse("0 0 1 ? * 6#3")
    assert cron.prev_wall_before(datetime(2025, 3, 21, 1, 0, 0)) == datetime(2025, 2, 21, 1, 0, 0)
    assert cron.prev_wall_before(datetime(2025, 3, 21, 1, 0, 1)) == datetime(2025, 3, 21, 1, 0, 0)
    assert QuartzCron.parse("0 0 0 LW * ?").prev_wall_before(datetime(2025, 9, 1)) == datetime(2025, 8, 29)


def test_matches_wall() -> None:
    cron = QuartzCron.parse("0 30 9 ? * MON-FRI")
    assert cron.matches_wall(datetime(2025, 8, 6, 9, 30))
    assert not cron.matches_wall(datetime(2025, 8, 9, 9, 30))  # Saturday
    assert not cron.matches_wall(datetime(2025, 8, 6, 9, 30, 1))
    assert not QuartzCron.parse("0 0 0 * * ? 2025").matches_wall(datetime(2026, 1, 1))


def test_iter_wall_bounds_and_laziness() -> None:
    cron = QuartzCron.parse("0 0 * * * ?")
    got = list(cron.iter_wall(datetime(2025, 1, 1, 0, 0), datetime(2025, 1, 1, 3, 0)))
    assert got == [datetime(2025, 1, 1, h) for h in (1, 2, 3)]  # start exclusive, end inclusive
    every_second = QuartzCron.parse("* * * * * ?").iter_wall(datetime(2025, 1, 1))
    assert len(list(itertools.islice(every_second, 5))) == 5
    assert list(cron.iter_wall(datetime(2099, 12, 31, 22, 30))) == [datetime(2099, 12, 31, 23)]


def test_naive_and_aware_are_checked() -> None:
    cron = QuartzCron.parse("0 0 0 * * ?")
    aware = datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        cron.next_wall_after(aware)
    with pytest.raises(ValueError):
        cron.prev_wall_before(aware)
    with pytest.raises(ValueError):
        cron.matches_wall(aware)
    with pytest.raises(ValueError):
        cron.next_after(datetime(2025, 1, 1), NY)
    with pytest.raises(ValueError):
        list(cron.fire_times(NY, datetime(2025, 1, 1), aware))


# --------------------------------------------------------------------------------- time zones


def test_next_after_fixed_offset() -> None:
    cron = QuartzCron.parse("0 0 0 * * ? *")
    t = datetime(2025, 8, 5, 16, 0, tzinfo=UTC)  # 2025-08-06 00:00 in UTC+8
    nxt = cron.next_after(t, SHANGHAI_FIXED)
    assert nxt == datetime(2025, 8, 6, 16, 0, tzinfo=UTC)
    assert nxt is not None and nxt.utcoffset() == timedelta(hours=8)
    assert cron.previous_before(t, SHANGHAI_FIXED) == datetime(2025, 8, 4, 16, 0, tzinfo=UTC)


def test_dst_gap_runs_after_the_jump() -> None:
    cron = QuartzCron.parse("0 30 2 * * ?")
    nxt = cron.next_after(datetime(2025, 3, 8, 17, 0, tzinfo=UTC), NY)
    assert nxt == datetime(2025, 3, 9, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert nxt is not None and (nxt.hour, nxt.minute) == (3, 30)
    fires = list(cron.fire_times(NY, datetime(2025, 3, 8, tzinfo=UTC), datetime(2025, 3, 11, tzinfo=UTC)))
    assert [(w.day, i.strftime("%d %H:%M")) for w, i in fires] == [
        (8, "08 07:30"),
        (9, "09 07:30"),  # nonexistent 02:30 -> 03:30 EDT
        (10, "10 06:30"),
    ]


def test_dst_overlap_runs_first_occurrence_once() -> None:
    cron = QuartzCron.parse("0 30 1 * * ?")
    start = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)
    first = cron.next_after(start, NY)
    assert first is not None
    # Compare in UTC: PEP 495 makes == between zones False for ambiguous wall times.
    assert first.astimezone(UTC) == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)  # 01:30 EDT, the first
    assert (first.hour, first.minute, first.fold) == (1, 30, 0)
    # From between the two 01:30s, the next run is the next day: 01:30 ran already.
    between = datetime(2025, 11, 2, 6, 0, tzinfo=UTC)  # 01:00 EST
    assert cron.next_after(between, NY) == datetime(2025, 11, 3, 6, 30, tzinfo=UTC)
    before = cron.previous_before(between, NY)
    assert before is not None and before.astimezone(UTC) == first.astimezone(UTC)
    fires = list(cron.fire_times(NY, start, datetime(2025, 11, 3, 12, tzinfo=UTC)))
    assert [w for w, _ in fires] == [datetime(2025, 11, 2, 1, 30), datetime(2025, 11, 3, 1, 30)]


def test_minute_cron_across_spring_forward() -> None:
    cron = QuartzCron.parse("0 0/20 * * * ?")
    fires = list(
        cron.fire_times(NY, datetime(2025, 3, 9, 6, 30, tzinfo=UTC), datetime(2025, 3, 9, 7, 45, tzinfo=UTC))
    )
    got = [(f"{w:%H:%M}", f"{i:%H:%M}") for w, i in fires]
    # Each wall time once, in wall order; 02:xx do not exist and run at 03:xx EDT, alongside 03:xx.
    assert got == [
        ("01:40", "06:40"),
        ("02:00", "07:00"),
        ("02:20", "07:20"),
        ("02:40", "07:40"),
        ("03:00", "07:00"),
        ("03:20", "07:20"),
        ("03:40", "07:40"),
    ]
    # next_after walks the distinct instants.
    t = datetime(2025, 3, 9, 6, 40, tzinfo=UTC)
    chain = []
    for _ in range(3):
        nt = cron.next_after(t, NY)
        assert nt is not None
        chain.append(nt.astimezone(UTC).strftime("%H:%M"))
        t = nt
    assert chain == ["07:00", "07:20", "07:40"]


def test_gap_wall_after_later_walls_is_found() -> None:
    # Fires at 02:50 (nonexistent -> 07:50Z) and 03:10 EDT (07:10Z): the later wall runs first.
    cron = QuartzCron.parse("0 10,50 2-3 9 3 ? 2025")
    t = datetime(2025, 3, 9, 7, 5, tzinfo=UTC)
    first = cron.next_after(t, NY)
    assert first == datetime(2025, 3, 9, 7, 10, tzinfo=UTC)  # 02:10 (gap) and 03:10 both
    second = cron.next_after(first, NY)
    assert second == datetime(2025, 3, 9, 7, 50, tzinfo=UTC)  # 02:50 and 03:50 both
    assert cron.previous_before(second, NY) == first
    fires = list(cron.fire_times(NY, t, datetime(2025, 3, 10, tzinfo=UTC)))
    assert [f"{w:%H:%M}" for w, _ in fires] == ["02:10", "02:50", "03:10", "03:50"]


def test_fire_time_windows_partition() -> None:
    cron = QuartzCron.parse("0 */15 0-3 * * ?")
    a = datetime(2025, 11, 2, 3, 0, tzinfo=UTC)
    cuts = [a + timedelta(minutes=7 * k) for k in range(60)]
    pieces = []
    for lo, hi in itertools.pairwise(cuts):
        pieces += list(cron.fire_times(NY, lo, hi))
    assert pieces == list(cron.fire_times(NY, cuts[0], cuts[-1]))
    assert len({w for w, _ in pieces}) == len(pieces)
    assert list(cron.fire_times(NY, cuts[5], cuts[5])) == []
