"""Property tests (hypothesis) of the cron evaluator: consistency of next/previous/matches/iter,
an independent day-rule oracle, and the zone-aware functions around DST transitions."""

from __future__ import annotations

import calendar
import itertools
import random
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scheduling.quartz_ref.expressions import random_expression
from wedata.scheduling.cron import QuartzCron
from wedata.scheduling.cron_parse import CronSpec, DomKind, DowKind
from wedata.scheduling.timezones import parse_zone, utc_to_wall, wall_to_utc

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

walls_st = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2098, 12, 31))
whole_walls_st = walls_st.map(lambda d: d.replace(microsecond=0))


@st.composite
def cron_and_wall(
    draw: st.DrawFn, wall_strategy: st.SearchStrategy[datetime] = walls_st
) -> tuple[QuartzCron, datetime]:
    wall = draw(wall_strategy)
    rng = draw(st.randoms(use_true_random=False))
    return QuartzCron.parse(random_expression(rng, around_year=wall.year)), wall


@SETTINGS
@given(cron_and_wall())
def test_next_wall_after_is_the_first_fire(case: tuple[QuartzCron, datetime]) -> None:
    cron, x = case
    n = cron.next_wall_after(x)
    if n is None:
        last = cron.prev_wall_before(datetime(2100, 1, 1))
        assert last is None or last <= x
        return
    assert n > x and n.microsecond == 0
    assert cron.matches_wall(n)
    p = cron.prev_wall_before(n)
    assert p is None or p <= x  # nothing fires in (x, n)


@SETTINGS
@given(cron_and_wall())
def test_prev_wall_before_is_the_last_fire(case: tuple[QuartzCron, datetime]) -> None:
    cron, x = case
    p = cron.prev_wall_before(x)
    if p is None:
        first = cron.next_wall_after(datetime(1969, 12, 31, 23, 59, 59))
        assert first is None or first >= x
        return
    assert p < x and cron.matches_wall(p)
    n = cron.next_wall_after(p)
    assert n is None or n >= x  # nothing fires in (p, x)
    if n is not None:
        assert cron.prev_wall_before(n) == p


@SETTINGS
@given(cron_and_wall(whole_walls_st))
def test_matches_iff_next_after_previous_second(case: tuple[QuartzCron, datetime]) -> None:
    cron, x = case
    assert cron.matches_wall(x) == (cron.next_wall_after(x - timedelta(seconds=1)) == x)


@SETTINGS
@given(cron_and_wall())
def test_iter_wall_is_the_next_chain(case: tuple[QuartzCron, datetime]) -> None:
    cron, x = case
    got = list(itertools.islice(cron.iter_wall(x), 6))
    chain: list[datetime] = []
    t: datetime | None = x
    while len(chain) < 6:
        t = cron.next_wall_after(t) if t is not None else None
        if t is None:
            break
        chain.append(t)
    assert got == chain
    assert all(a < b for a, b in itertools.pairwise(got))
    if len(got) >= 3:
        assert list(cron.iter_wall(x, got[2])) == got[:3]
        assert list(cron.iter_wall(got[0], got[2] - timedelta(microseconds=1))) == got[1:2]


def _oracle_day(spec: CronSpec, d: date) -> bool:
    """Independent statement of Quartz's day rules (not the evaluator's arithmetic)."""
    last = calendar.monthrange(d.year, d.month)[1]
    quartz_dow = d.isoweekday() % 7 + 1  # 1 = SUN ... 7 = SAT
    weekdays = [x for x in range(1, last + 1) if date(d.year, d.month, x).weekday() < 5]
    dom, dow = spec.dom, spec.dow
    if dom.kind is DomKind.SET:
        return d.day in dom.values
    if dom.kind is DomKind.LAST:
        return d.day == last - dom.day
    if dom.kind is DomKind.LAST_WEEKDAY:
        target = last - dom.day
        return target >= 1 and d.day == min(weekdays, key=lambda x: abs(x - target))
    if dom.kind is DomKind.NEAREST_WEEKDAY:
        n = dom.day
        if n <= last:
            return d.day == min(weekdays, key=lambda x: abs(x - n))
        # Beyond the month's end Quartz looks at the date n overflows to: only a Saturday
        # right after the last day pulls the fire back onto the last day (a Friday).
        return n == last + 1 and d.day == last and d.weekday() == 4
    if dow.kind is DowKind.SET:
        return quartz_dow in dow.values
    if dow.kind is DowKind.LAST:
        return quartz_dow == dow.weekday and d.day + 7 > last
    return quartz_dow == dow.weekday and (d.day - 1) // 7 + 1 == dow.nth


def _oracle(spec: CronSpec, w: datetime) -> bool:
    return (
        w.second in spec.seconds
        and w.minute in spec.minutes
        and w.hour in spec.hours
        and w.month in spec.months
        and w.year in spec.years
        and _oracle_day(spec, w.date())
    )


@SETTINGS
@given(cron_and_wall(whole_walls_st), st.integers(min_value=0, max_value=40))
def test_matches_wall_agrees_with_oracle(case: tuple[QuartzCron, datetime], days: int) -> None:
    cron, x = case
    # Probe a random time, the same time of day on nearby days (month ends), and real fires.
    probes = [x, *(x + timedelta(days=k) for k in range(days, days + 5))]
    n = cron.next_wall_after(x)
    if n is not None:
        probes += [n, n.replace(day=1), n + timedelta(days=1)]
    for w in probes:
        if w.year <= 2099:
            assert cron.matches_wall(w) == _oracle(cron.spec, w), w


# ------------------------------------------------------------------------------- time zones

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC+8", "UTC-3:30"]
# Transition instants (UTC) of the DST zones in a few years, to start next to.
TRANSITIONS = [
    datetime(2025, 3, 9, 7, 0),  # New York, spring forward
    datetime(2025, 11, 2, 6, 0),  # New York, fall back
    datetime(2025, 3, 30, 1, 0),  # London
    datetime(2025, 10, 26, 1, 0),
    datetime(2025, 4, 5, 15, 0),  # Lord Howe 02:00 +11 -> 01:30 +10:30
    datetime(2025, 10, 4, 15, 30),  # Lord Howe 02:00 +10:30 -> 02:30 +11
    datetime(2031, 3, 9, 7, 0),
    datetime(2031, 11, 2, 6, 0),
]


@st.composite
def zone_case(draw: st.DrawFn) -> tuple[QuartzCron, str, datetime]:
    zone = draw(st.sampled_from(ZONES))
    base = draw(st.sampled_from(TRANSITIONS))
    t = base + timedelta(seconds=draw(st.integers(min_value=-4 * 3600, max_value=3 * 3600)))
    rng = draw(st.randoms(use_true_random=False))
    expr = random_expression(rng, around_year=t.year)
    if draw(st.booleans()):
        # Bias towards expressions that fire around the transitions (01:00-03:00 local).
        fields = expr.split()
        fields[2] = draw(st.sampled_from(["1-3", "2", "1", "*", "0-3/1"]))
        expr = " ".join(fields)
    return QuartzCron.parse(expr), zone, t.replace(tzinfo=UTC)


WINDOW = timedelta(hours=3)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone_case(), st.integers(min_value=1, max_value=3 * 3600 - 1))
def test_zone_functions_agree(case: tuple[QuartzCron, str, datetime], split: int) -> None:
    cron, zone, start = case
    tz = parse_zone(zone)
    end = start + WINDOW
    fires = list(cron.fire_times(tz, start, end))
    # Independently: every wall fire near the window, mapped by our rule, filtered by instant.
    lo = utc_to_wall(start, tz) - timedelta(hours=2)
    hi = utc_to_wall(end, tz) + timedelta(hours=2)
    expected = [(w, wall_to_utc(w, tz)) for w in cron.iter_wall(lo, hi)]
    assert fires == [(w, i) for w, i in expected if start < i <= end]
    assert all(cron.matches_wall(w) for w, _ in fires)
    # Consecutive windows split the same fires, each wall once.
    mid = start + timedelta(seconds=split)
    assert list(cron.fire_times(tz, start, mid)) + list(cron.fire_times(tz, mid, end)) == sorted(
        fires, key=lambda f: (f[1] > mid, f[0])
    )
    instants = sorted({i for _, i in fires})
    nxt = cron.next_after(start, tz)
    after_end = end + timedelta(microseconds=1)
    prev = cron.previous_before(after_end, tz)
    if instants:
        assert nxt is not None and nxt.astimezone(UTC) == instants[0]
        assert prev is not None and prev.astimezone(UTC) == instants[-1]
    else:
        assert nxt is None or nxt.astimezone(UTC) > end
        assert prev is None or prev.astimezone(UTC) <= start
    # The scanning fallback (used only where a zone changes offset twice within a day) agrees.
    naive = start.replace(tzinfo=None)
    scanned = cron._scan_next(naive, tz)
    assert (None if nxt is None else nxt.astimezone(UTC).replace(tzinfo=None)) == scanned
    scanned = cron._scan_prev(after_end.replace(tzinfo=None), tz)
    assert (None if prev is None else prev.astimezone(UTC).replace(tzinfo=None)) == scanned


@SETTINGS
@given(cron_and_wall(), st.sampled_from(["UTC+8", "UTC-3:30", "UTC"]))
def test_fixed_offset_zone_is_a_plain_shift(case: tuple[QuartzCron, datetime], zone: str) -> None:
    cron, wall = case
    tz = parse_zone(zone)
    off = tz.utcoffset(None)
    assert off is not None
    t = (wall - off).replace(tzinfo=UTC)
    n = cron.next_wall_after(wall)
    got = cron.next_after(t, tz)
    if n is None:
        assert got is None
    else:
        assert got is not None and got.replace(tzinfo=None) == n and got.utcoffset() == off


def test_random_expressions_all_parse() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        QuartzCron.parse(random_expression(rng))
