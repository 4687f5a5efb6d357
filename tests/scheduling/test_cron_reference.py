"""Differential test of our Quartz cron evaluator against Quartz 2.3.2 itself.

One JVM run (tests/scheduling/quartz_ref/QuartzRef.java) answers every case: thousands of
random expressions from a fixed seed plus hand-picked ones, each from a start instant in a
fixed-offset zone (UTC+8, UTC-3:30) or a DST zone (America/New_York, Europe/London,
Australia/Lord_Howe with its 30-minute shift), 8 fire times each.

Two comparisons per case:

* wall clock: Quartz evaluated in UTC (no DST) against ``next_wall_after``; must be identical;
* in the zone: Quartz's fire instants against ``fire_times``/``next_after``. Regular wall times
  must agree exactly. Wall times inside a DST transition follow our documented rule instead
  (nonexistent: ``wall + gap``; ambiguous: first occurrence), computed explicitly here, and
  Quartz's own behaviour there (skip; second occurrence) is asserted too, so docs/cron.md
  stays true.

Needs java, javac and the Quartz jar (tools/ci/install-quartz.sh). Without them the tests
skip, except under CI (env CI set), where they fail.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache

import pytest

from tests.scheduling.quartz_ref.expressions import random_expression
from tests.scheduling.quartz_ref.runner import Answer, QuartzReference, QuartzUnavailable, Request
from wedata.scheduling.cron import CronError, QuartzCron
from wedata.scheduling.timezones import WallKind, offset_at, parse_zone, utc_to_wall, wall_kind

SEED = 20250806
N_RANDOM = 2500
COUNT = 8
# Our zone name -> Quartz/Java TimeZone id.
ZONES = {
    "UTC+8": "GMT+08:00",
    "UTC-3:30": "GMT-03:30",
    "America/New_York": "America/New_York",
    "Europe/London": "Europe/London",
    "Australia/Lord_Howe": "Australia/Lord_Howe",
}
DST_ZONES = ("America/New_York", "Europe/London", "Australia/Lord_Howe")
END_OF_RANGE = datetime(2100, 1, 1)  # our year range ends with 2099; Quartz goes on to now+100


@dataclass(frozen=True)
class Case:
    expression: str
    zone: str
    start: datetime  # aware UTC, whole seconds
    origin: str

    @property
    def tz(self) -> tzinfo:
        return parse_zone(self.zone)

    def describe(self) -> str:
        local = self.start.astimezone(self.tz)
        return f"[{self.origin}] {self.expression!r} in {self.zone} after {local.isoformat()}"


# ---------------------------------------------------------------------------------------- cases


@cache
def _transitions(zone: str, year: int) -> tuple[datetime, ...]:
    """UTC instants (naive) where ``zone`` changes offset during ``year``."""
    tz = parse_zone(zone)
    out = []
    day = datetime(year, 1, 1)
    prev = offset_at(tz, day)
    while day.year == year:
        nxt = day + timedelta(days=1)
        off = offset_at(tz, nxt)
        if off != prev:
            lo, hi = day, nxt  # offset_at(lo) == prev != offset_at(hi): bisect to the second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if offset_at(tz, mid) == prev:
                    lo = mid
                else:
                    hi = mid
            out.append(hi.replace(microsecond=0))
            prev = off
        day = nxt
    return tuple(out)


def _random_start(rng: random.Random, zone: str) -> datetime:
    if zone in DST_ZONES and rng.random() < 0.5:
        # Start near a DST transition so the fires straddle it.
        year = rng.randint(1990, 2045)
        base = rng.choice(_transitions(zone, year))
        naive = base + timedelta(seconds=rng.randint(-36 * 3600, 6 * 3600))
    else:
        naive = datetime(1975, 1, 1) + timedelta(seconds=rng.randint(0, 85 * 365 * 86400))
    return naive.replace(tzinfo=UTC)


def random_cases() -> list[Case]:
    rng = random.Random(SEED)
    zones = list(ZONES)
    cases = []
    for i in range(N_RANDOM):
        zone = zones[i % len(zones)]
        start = _random_start(rng, zone)
        year = utc_to_wall(start, parse_zone(zone)).year
        cases.append(Case(random_expression(rng, around_year=year), zone, start, f"random {i}"))
    return cases


def _at(zone: str, text: str) -> datetime:
    """An instant given as a wall time in a zone (first occurrence if ambiguous)."""
    return datetime.fromisoformat(text).replace(tzinfo=parse_zone(zone)).astimezone(UTC)


HAND_EXPRESSIONS = [
    "0 0 0 * * ? *",
    "0 */5 * * * ?",
    "0 0 1 ? * 6#3",
    "0 0 0 LW * ?",
    "0 30 2 * * ?",
    "0 30 1 * * ?",
    "0 15,45 1-3 * * ?",
    "0 0/20 * * * ?",
    "*/30 * 1-2 * * ?",
    "0 0 0 29 2 ?",
    "0 0 12 31 * ?",
    "0 0 0 31W * ?",
    "0 0 0 30W * ?",
    "0 0 0 29W 2 ?",
    "0 0 0 1W * ?",
    "0 0 0 L-30 * ?",
    "0 0 0 L-27W * ?",
    "0 0 0 L-2 * ?",
    "0 0 9 ? * 2#5",
    "0 0 9 ? * 1L",
    "0 0 9 ? * L",
    "0 0 9 ? * FRI-MON",
    "0 0 22-2 ? * MON-FRI",
    "0 0 0 28-3 * ?",
    "0 0 0 1 NOV-FEB ?",
    "59 59 23 31 12 ? *",
    "0 0 0 1 1 ? 2099",
    "0 0 0 ? * SUN#5 2031-2040",
    "0 0 8 ? * 6#3 2026/2",
    "0 0 0 * * ? 2024,2028,2032",
    "0 0/15 8-18 ? * 2-6",
    "0 0 2 ? * 1 1999-2001",
]


def hand_cases() -> list[Case]:
    starts = {
        "UTC+8": ["2025-01-01 00:00:00", "2024-02-28 23:59:59", "2099-12-30 00:00:00"],
        "UTC-3:30": ["2025-06-15 12:34:56", "1999-12-31 23:59:59"],
        # Spring forward / fall back days, and an ordinary one.
        "America/New_York": ["2025-03-08 12:00:00", "2025-11-01 12:00:00", "2025-11-02 01:30:00"],
        "Europe/London": ["2025-03-29 12:00:00", "2025-10-25 12:00:00"],
        "Australia/Lord_Howe": ["2025-04-05 12:00:00", "2025-10-04 12:00:00", "2025-10-05 01:59:00"],
    }
    return [
        Case(expr, zone, _at(zone, text), "hand")
        for expr in HAND_EXPRESSIONS
        for zone, texts in starts.items()
        for text in texts
    ]


# Quartz 2.3.2 accepts these but misreads them (comment: what Quartz actually runs); we reject
# them with a message. docs/cron.md lists them.
QUARTZ_ACCEPTS_WE_REJECT = [
    ("0 0 0 ? * MON-FRI/2", "day-of-week"),  # Mon-Fri: the step after a name is dropped
    ("0 0 0 ? JAN/2 *", "month"),  # January only
    ("0 0 0 ? * MONDAY", "day-of-week"),  # MON: the rest of the word is ignored
    ("0 0 0 1W,15W * ?", "day-of-month"),  # 1W only
    ("0 0 0 1-5W * ?", "day-of-month"),  # 1-5, the W is dropped
    ("0 0 0 ? * 6#3,2", "day-of-week"),  # 2#3: the third Monday
    ("0 0 0 ? * LW", "day-of-week"),  # Saturday
    ("0 0 0 ? * 6L-2", "day-of-week"),  # 6L
    ("0 0 0 5-0 * ?", "day-of-month"),  # 5-31
    ("0 0 0 ? * 5-0", "day-of-week"),  # THU-SAT
    ("0 0 0 */0 * ?", "day-of-month"),  # every day
    ("0 0 0 5/0 * ?", "day-of-month"),  # the 5th
    ("0 0 0 1,,2 * ?", "day-of-month"),  # 1,2
    ("0 0 0 ?/ * *", "day-of-month"),  # ?
    ("0 0 0 * * ? 1900", "year"),  # never fires
    ("0 0 0 * * ? 2100-2110", "year"),  # fires, beyond our 2099 limit
    ("0 0 0 * * ? 2025 extra", None),  # the eighth field is ignored
    ("0 0 L * * ?", "hour"),  # accepted, then getNextValidTimeAfter throws
]

BOTH_REJECT = [
    ("0 0 25 * * ?", "hour", "25"),
    ("60 * * * * ?", "second", "60"),
    ("0 60 * * * ?", "minute", "60"),
    ("0 0 0 32 * ?", "day-of-month", "32"),
    ("0 0 0 0 * ?", "day-of-month", "0"),
    ("0 0 0 * 13 ?", "month", "13"),
    ("0 0 0 ? * 8", "day-of-week", "8"),
    ("0 0 0 ? * 0", "day-of-week", "0"),
    ("0 0 0 * * *", "day-of-week", "*"),
    ("0 0 0 1 * MON", "day-of-week", "MON"),
    ("0 0 0 ? * ?", "day-of-week", "?"),
    ("0 0 ? * * ?", "hour", "?"),
    ("0 0 0 L-31 * ?", "day-of-month", "L-31"),
    ("0 0 0 ? * 6#6", "day-of-week", "6#6"),
    ("0 0 0 ? * 6#0", "day-of-week", "6#0"),
    ("0 0 0 ? * 9L", "day-of-week", "9L"),
    ("0 0 0 32W * ?", "day-of-month", "32W"),
    ("0 0 0 ? * MON-5", "day-of-week", "MON-5"),
    ("0 0 0 ? * 2-FRI", "day-of-week", "2-FRI"),
    ("0 0 0 ? FOO *", "month", "FOO"),
    ("0 0 0 ? * FUN", "day-of-week", "FUN"),
    ("0 */60 * * * ?", "minute", "*/60"),
    ("0 0 */24 * * ?", "hour", "*/24"),
    ("0 0 0 ? * */8", "day-of-week", "*/8"),
    ("0 0 0 1,L * ?", "day-of-month", "L"),
    ("0 0 0 LW,15 * ?", "day-of-month", "LW"),
    ("0 0 0 ? * 6L,2", "day-of-week", "6L"),
    ("0 0 0 ? * 1#2,3#4", "day-of-week", "1#2"),
    ("0 0 0 * * ? 2030-2025", "year", "2030-2025"),
    ("0 0 0 5/ * ?", "day-of-month", "5/"),
    ("0 0 0 * *", None, None),
    ("", None, None),
    ("0 0 0 MON * ?", "day-of-month", "MON"),
    ("0 0 JAN * * ?", "hour", "JAN"),
]


# ------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def quartz() -> QuartzReference:
    try:
        return QuartzReference.build()
    except QuartzUnavailable as exc:
        message = f"reference Quartz unavailable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(
                f"{message} (CI must run the reference test: tools/ci/install-quartz.sh)", pytrace=False
            )
        pytest.skip(message)


@dataclass
class Results:
    cases: list[Case]
    in_zone: list[Answer]
    in_utc: list[Answer]
    validity: dict[str, Answer] = field(default_factory=dict)


def _millis(t: datetime) -> int:
    return int(t.timestamp()) * 1000


def _from_millis(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@pytest.fixture(scope="module")
def results(quartz: QuartzReference) -> Results:
    cases = hand_cases() + random_cases()
    requests: list[Request] = []
    for c in cases:
        requests.append(Request(c.expression, ZONES[c.zone], _millis(c.start), COUNT))
    for c in cases:
        wall = utc_to_wall(c.start, c.tz)
        requests.append(Request(c.expression, "UTC", _millis(wall.replace(tzinfo=UTC)), COUNT))
    checks = [e for e, *_ in QUARTZ_ACCEPTS_WE_REJECT] + [e for e, *_ in BOTH_REJECT if e.strip()]
    requests += [Request(e, "UTC", 0, 1) for e in checks]
    answers = quartz.run(requests)
    n = len(cases)
    return Results(cases, answers[:n], answers[n : 2 * n], dict(zip(checks, answers[2 * n :], strict=True)))


def _report(failures: list[str], total: int, what: str) -> None:
    if failures:
        shown = "\n".join(failures[:15])
        pytest.fail(f"{len(failures)} of {total} cases differ ({what}):\n{shown}", pytrace=False)


# ---------------------------------------------------------------------------------------- tests


def test_enough_cases(results: Results) -> None:
    assert len(results.cases) >= 2000
    zones = {c.zone for c in results.cases}
    assert zones == set(ZONES)


def test_wall_clock_fire_times_match_quartz(results: Results) -> None:
    failures = []
    for case, answer in zip(results.cases, results.in_utc, strict=True):
        if not answer.ok:
            failures.append(f"{case.describe()}: Quartz rejects it: {answer.error}")
            continue
        expected = [_from_millis(ms).replace(tzinfo=None) for ms in answer.millis]
        expected = [w for w in expected if w < END_OF_RANGE]
        cron = QuartzCron.parse(case.expression)
        got: list[datetime] = []
        wall: datetime | None = utc_to_wall(case.start, case.tz)
        for _ in range(len(expected) + 1 if len(expected) < COUNT else COUNT):
            wall = cron.next_wall_after(wall) if wall is not None else None
            if wall is None:
                break
            got.append(wall)
        if got != expected:
            failures.append(f"{case.describe()}:\n   quartz {_fmt(expected)}\n   ours   {_fmt(got)}")
    _report(failures, len(results.cases), "wall clock")


@dataclass
class DstStats:
    nonexistent: int = 0
    ambiguous_ours: int = 0
    ambiguous_quartz: int = 0


def _zone_failures(case: Case, answer: Answer, stats: DstStats) -> Iterator[str]:
    tz = case.tz
    cron = QuartzCron.parse(case.expression)
    quartz = [_from_millis(ms).replace(tzinfo=None) for ms in answer.millis]
    quartz = [q for q in quartz if utc_to_wall(q.replace(tzinfo=UTC), tz) < END_OF_RANGE]
    start = case.start.replace(tzinfo=None)
    if len(quartz) == COUNT:
        end = quartz[-1]
    else:  # Quartz ran out of fire times (or past 2099): compare up to the end of our range
        last_wall = END_OF_RANGE - timedelta(seconds=1)
        end = max(start, last_wall.replace(tzinfo=tz).astimezone(UTC).replace(tzinfo=None))
    ours = [(w, i.replace(tzinfo=None)) for w, i in cron.fire_times(tz, case.start, end.replace(tzinfo=UTC))]

    def kind(wall: datetime) -> WallKind:
        return wall_kind(wall, tz)

    def around(wall: datetime) -> tuple[timedelta, timedelta]:
        # Offsets before and after the transition at this wall time, read half a day away
        # (DST transitions are months apart).
        return offset_at(tz, wall - timedelta(hours=12)), offset_at(tz, wall + timedelta(hours=12))

    quartz_walls = [(utc_to_wall(q.replace(tzinfo=UTC), tz), q) for q in quartz]
    regular_q = {(w, q) for w, q in quartz_walls if kind(w) is WallKind.REGULAR}
    regular_o = {(w, i) for w, i in ours if kind(w) is WallKind.REGULAR}
    if regular_q != regular_o:
        yield (
            f"{case.describe()}: regular wall times differ\n   quartz only {_fmt(sorted(regular_q - regular_o))}"
            f"\n   ours only   {_fmt(sorted(regular_o - regular_q))}"
        )
    quartz_set = set(quartz)
    for w, i in ours:
        k = kind(w)
        if k is WallKind.REGULAR:
            continue
        before, after = around(w)
        # Our rule, spelled out: nonexistent runs at wall + gap (= wall read with the offset
        # before the jump); ambiguous runs at its first occurrence (offset before fall-back).
        if i != w - before:
            yield f"{case.describe()}: {k.value} wall {w} ran at {i}Z, expected {w - before}Z"
        if k is WallKind.NONEXISTENT:
            stats.nonexistent += 1
        else:
            stats.ambiguous_ours += 1
            second = w - after  # where Quartz runs it
            if start < second <= end and second not in quartz_set:
                yield f"{case.describe()}: Quartz did not run ambiguous {w} at its second occurrence {second}Z"
    ours_set = set(ours)
    for w, q in quartz_walls:
        if kind(w) is not WallKind.AMBIGUOUS:
            continue
        stats.ambiguous_quartz += 1
        before, after = around(w)
        if q != w - after:
            yield f"{case.describe()}: Quartz ran ambiguous {w} at {q}Z, not its second occurrence {w - after}Z"
        first = w - before
        if first > start and (w, first) not in ours_set:
            yield f"{case.describe()}: ambiguous {w} (Quartz {q}Z) missing from ours at {first}Z"

    # next_after / previous_before walk the same instants, once each.
    instants = sorted({i for _, i in ours})
    chain: list[datetime] = []
    t: datetime | None = case.start
    while t is not None and len(chain) <= len(instants):
        t = cron.next_after(t, tz)
        if t is None or t.astimezone(UTC).replace(tzinfo=None) > end:
            break
        chain.append(t.astimezone(UTC).replace(tzinfo=None))
    if chain != instants:
        yield f"{case.describe()}: next_after chain {_fmt(chain)} != fire_times {_fmt(instants)}"
    back: list[datetime] = []
    t = end.replace(tzinfo=UTC) + timedelta(microseconds=1)
    while t is not None and len(back) <= len(instants):
        t = cron.previous_before(t, tz)
        if t is None or t.astimezone(UTC).replace(tzinfo=None) <= start:
            break
        back.append(t.astimezone(UTC).replace(tzinfo=None))
    if back[::-1] != instants:
        yield f"{case.describe()}: previous_before chain {_fmt(back[::-1])} != fire_times {_fmt(instants)}"


def test_zone_fire_times_match_quartz_or_our_dst_rule(results: Results) -> None:
    failures: list[str] = []
    stats = DstStats()
    for case, answer in zip(results.cases, results.in_zone, strict=True):
        if not answer.ok:
            failures.append(f"{case.describe()}: Quartz rejects it: {answer.error}")
            continue
        failures.extend(_zone_failures(case, answer, stats))
    _report(failures, len(results.cases), "in zone")
    # The DST paths must really have been exercised.
    assert stats.nonexistent >= 20, stats
    assert stats.ambiguous_ours >= 20, stats
    assert stats.ambiguous_quartz >= 20, stats


@pytest.mark.parametrize(("expression", "field_name"), QUARTZ_ACCEPTS_WE_REJECT)
def test_quartz_misreads_we_reject(results: Results, expression: str, field_name: str | None) -> None:
    answer = results.validity[expression]
    if expression == "0 0 L * * ?":
        assert not answer.ok and "NoSuchElement" in answer.error  # parses, then cannot evaluate
    else:
        assert answer.ok, f"Quartz now rejects {expression!r}: {answer.error}"
    with pytest.raises(CronError) as info:
        QuartzCron.parse(expression)
    assert info.value.field == field_name


@pytest.mark.parametrize(("expression", "field_name", "token"), BOTH_REJECT)
def test_invalid_for_both(
    results: Results, expression: str, field_name: str | None, token: str | None
) -> None:
    if expression.strip():
        answer = results.validity[expression]
        assert not answer.ok, f"Quartz accepts {expression!r}"
    with pytest.raises(CronError) as info:
        QuartzCron.parse(expression)
    assert info.value.field == field_name
    assert info.value.token == token


def test_documented_dst_examples(quartz: QuartzReference) -> None:
    """The Quartz-versus-us examples in docs/cron.md, checked against Quartz itself."""
    ny = "America/New_York"
    examples = [
        # (expression, zone, start, Quartz's first fire (UTC), ours (UTC))
        ("0 30 2 * * ?", ny, "2025-03-08 12:00", "2025-03-10 06:30", "2025-03-09 07:30"),
        ("0 30 1 * * ?", ny, "2025-11-01 12:00", "2025-11-02 06:30", "2025-11-02 05:30"),
        ("0 30 1 * * ?", "Europe/London", "2025-10-25 12:00", "2025-10-26 01:30", "2025-10-26 00:30"),
        ("0 15 2 * * ?", "Australia/Lord_Howe", "2025-10-04 12:00", "2025-10-05 15:15", "2025-10-04 15:45"),
        ("0 45 1 * * ?", "Australia/Lord_Howe", "2025-04-05 12:00", "2025-04-05 15:15", "2025-04-05 14:45"),
    ]
    requests = [Request(e, z, _millis(_at(z, s)), 1) for e, z, s, _, _ in examples]
    for (expr, zone, start, q_first, o_first), answer in zip(examples, quartz.run(requests), strict=True):
        assert answer.ok
        assert _from_millis(answer.millis[0]) == datetime.fromisoformat(q_first).replace(tzinfo=UTC), expr
        ours = QuartzCron.parse(expr).next_after(_at(zone, start), parse_zone(zone))
        assert ours is not None
        assert ours.astimezone(UTC) == datetime.fromisoformat(o_first).replace(tzinfo=UTC), expr


def _fmt(values: list[datetime] | list[tuple[datetime, datetime]]) -> str:
    def one(v: datetime | tuple[datetime, datetime]) -> str:
        if isinstance(v, tuple):
            return f"{v[0]:%Y-%m-%d %a %H:%M:%S}@{v[1]:%H:%M:%S}Z"
        return f"{v:%Y-%m-%d %a %H:%M:%S}"

    return "[" + ", ".join(one(v) for v in values) + "]"
