"""Quartz cron evaluation: next/previous fire times in wall-clock time and in a time zone.

Pure Python, no I/O. Parsing lives in :mod:`wedata.scheduling.cron_parse`; this module turns a
parsed spec into fast searches. The search works field by field from the year down to the
second with ``bisect`` over precomputed sorted value tuples, so finding the next fire time
costs a handful of lookups whatever the gap between fires; the matching days of a month are
computed once per month shape (weekday of the 1st, length) and cached on the expression.

Time zones: the wall-clock functions (``*_wall*``) know nothing of zones. The zone-aware
functions apply our DST rule (see :mod:`wedata.scheduling.timezones` and docs/cron.md): every
wall-clock fire time runs exactly once; a nonexistent one runs at ``wall + gap``, an ambiguous
one at its first occurrence. That rule makes the wall-to-instant mapping non-monotonic after a
spring-forward jump (02:30 runs at 03:30 while 03:00 runs at 03:00). Around one offset change
the mapping is two monotone pieces (walls before the change plus the gap keep the old offset,
later walls take the new one), so next_after/previous_before ask each piece for its first
fire: a few lookups, exact.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache

from wedata.scheduling.cron_parse import (
    MAX_YEAR,
    MIN_YEAR,
    CronError,
    CronSpec,
    DomKind,
    DowKind,
    parse_spec,
)
from wedata.scheduling.timezones import local_transition, offset_at, wall_to_utc

__all__ = ["MAX_YEAR", "MIN_YEAR", "CronError", "CronSpec", "QuartzCron", "validate_cron"]

_ONE_SECOND = timedelta(seconds=1)
# How far either side of an instant to look for a UTC offset change that could reorder wall
# times and instants. DST gaps are at most a few hours; the largest jump on record (Samoa,
# 2011) skipped a whole day.
_OFFSET_PROBE = timedelta(hours=25)
# Window of the local model used by next_after/previous_before: it needs at most one offset
# change inside; where a zone changed twice within it, those functions scan instead.
_SPAN = timedelta(hours=25)


class QuartzCron:
    """A parsed Quartz cron expression. Build with :meth:`parse` (cached)."""

    __slots__ = (
        "_day_cache",
        "_dom",
        "_dow",
        "_hour_set",
        "_hours",
        "_minute_set",
        "_minutes",
        "_month_set",
        "_months",
        "_second_set",
        "_seconds",
        "_year_set",
        "_years",
        "expression",
        "spec",
    )

    expression: str
    spec: CronSpec

    def __init__(self, expression: str, spec: CronSpec):
        self.expression = expression
        self.spec = spec
        self._seconds = spec.seconds
        self._minutes = spec.minutes
        self._hours = spec.hours
        self._months = spec.months
        self._years = spec.years
        self._second_set = frozenset(spec.seconds)
        self._minute_set = frozenset(spec.minutes)
        self._hour_set = frozenset(spec.hours)
        self._month_set = frozenset(spec.months)
        self._year_set = frozenset(spec.years)
        self._dom = spec.dom
        self._dow = spec.dow
        # Month shape (see _MONTH_SHAPES) -> sorted matching days; at most 28 entries.
        self._day_cache: dict[int, tuple[int, ...]] = {}

    @classmethod
    def parse(cls, expression: str) -> QuartzCron:
        """Parse (and cache) an expression; raises :class:`CronError`."""
        return _parse_cached(expression)

    def __repr__(self) -> str:
        return f"QuartzCron({self.expression!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QuartzCron) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    # ------------------------------------------------------------------ days of a month

    def _days(self, year: int, month: int) -> tuple[int, ...]:
        """Matching days of a month (year within MIN_YEAR..MAX_YEAR)."""
        shape = _MONTH_SHAPES[(year - MIN_YEAR) * 12 + month - 1]
        days = self._day_cache.get(shape)
        if days is None:
            days = self._day_cache[shape] = self._compute_days(shape >> 5, shape & 31)
        return days

    def _compute_days(self, first_wd: int, length: int) -> tuple[int, ...]:
        """Matching days of a month whose 1st is weekday ``first_wd`` (Monday = 0)."""
        dom = self._dom
        kind = dom.kind
        if kind is DomKind.SET:
            return tuple(d for d in dom.values if d <= length)
        if kind is DomKind.LAST:
            day = length - dom.day
            return (day,) if day >= 1 else ()
        if kind is DomKind.LAST_WEEKDAY:
            base = length - dom.day
            # Quartz 2.3.2 loops forever here; no such day this month is the only sane reading.
            return _nearest_weekday(base, first_wd, length) if base >= 1 else ()
        if kind is DomKind.NEAREST_WEEKDAY:
            return _nearest_weekday(dom.day, first_wd, length)
        dow = self._dow
        # Quartz numbers weekdays 1 = SUN ... 7 = SAT; Python's Monday = 0 is Quartz 2.
        first_q = (first_wd + 1) % 7 + 1
        if dow.kind is DowKind.SET:
            return tuple(d for d in range(1, length + 1) if (first_q + d - 2) % 7 + 1 in dow.values)
        first_match = (dow.weekday - first_q) % 7 + 1
        if dow.kind is DowKind.NTH:
            day = first_match + 7 * (dow.nth - 1)
            return (day,) if day <= length else ()
        # DowKind.LAST: the last such weekday of the month.
        return (first_match + 7 * ((length - first_match) // 7),)

    # ------------------------------------------------------------------ wall-clock search

    def _next_from(
        self, y: int, mo: int, d: int, h: int, mi: int, s: int
    ) -> tuple[int, int, int, int, int, int] | None:
        """Smallest fire time >= the given fields (which may overflow: s=60, h=24, d=32, mo=13)."""
        years, months, hours, minutes, seconds = (
            self._years,
            self._months,
            self._hours,
            self._minutes,
            self._seconds,
        )
        year_set = self._year_set
        while True:
            if y not in year_set:
                i = bisect_left(years, y)
                if i == len(years):
                    return None
                y = years[i]
                mo, d, h, mi, s = 1, 1, 0, 0, 0
            i = bisect_left(months, mo)
            if i == len(months):
                y, mo, d, h, mi, s = y + 1, 1, 1, 0, 0, 0
                continue
            if months[i] != mo:
                mo, d, h, mi, s = months[i], 1, 0, 0, 0
            days = self._days(y, mo)
            i = bisect_left(days, d)
            if i == len(days):
                mo, d, h, mi, s = mo + 1, 1, 0, 0, 0
                continue
            if days[i] != d:
                d, h, mi, s = days[i], 0, 0, 0
            i = bisect_left(hours, h)
            if i == len(hours):
                d, h, mi, s = d + 1, 0, 0, 0
                continue
            if hours[i] != h:
                h, mi, s = hours[i], 0, 0
            i = bisect_left(minutes, mi)
            if i == len(minutes):
                h, mi, s = h + 1, 0, 0
                continue
            if minutes[i] != mi:
                mi, s = minutes[i], 0
            i = bisect_left(seconds, s)
            if i == len(seconds):
                mi, s = mi + 1, 0
                continue
            return y, mo, d, h, mi, seconds[i]

    def _prev_from(
        self, y: int, mo: int, d: int, h: int, mi: int, s: int
    ) -> tuple[int, int, int, int, int, int] | None:
        """Largest fire time <= the given fields (which may underflow: s=-1, h=-1, d=0, mo=0)."""
        years, months, hours, minutes, seconds = (
            self._years,
            self._months,
            self._hours,
            self._minutes,
            self._seconds,
        )
        year_set = self._year_set
        while True:
            if y not in year_set:
                i = bisect_right(years, y) - 1
                if i < 0:
                    return None
                y = years[i]
                mo, d, h, mi, s = 12, 31, 23, 59, 59
            i = bisect_right(months, mo) - 1
            if i < 0:
                y, mo, d, h, mi, s = y - 1, 12, 31, 23, 59, 59
                continue
            if months[i] != mo:
                mo, d, h, mi, s = months[i], 31, 23, 59, 59
            days = self._days(y, mo)
            i = bisect_right(days, d) - 1
            if i < 0:
                mo, d, h, mi, s = mo - 1, 31, 23, 59, 59
                continue
            if days[i] != d:
                d, h, mi, s = days[i], 23, 59, 59
            i = bisect_right(hours, h) - 1
            if i < 0:
                d, h, mi, s = d - 1, 23, 59, 59
                continue
            if hours[i] != h:
                h, mi, s = hours[i], 59, 59
            i = bisect_right(minutes, mi) - 1
            if i < 0:
                h, mi, s = h - 1, 59, 59
                continue
            if minutes[i] != mi:
                mi, s = minutes[i], 59
            i = bisect_right(seconds, s) - 1
            if i < 0:
                mi, s = mi - 1, 59
                continue
            return y, mo, d, h, mi, seconds[i]

    def next_wall_after(self, wall: datetime) -> datetime | None:
        """First fire time strictly after naive wall-clock ``wall``; None past 2099."""
        if wall.tzinfo is not None:
            raise ValueError(f"wall-clock time must be naive, got {wall.isoformat()}")
        # Fires are whole seconds, so "strictly after" starts at the next whole second.
        found = self._next_from(wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second + 1)
        return None if found is None else datetime(*found)

    def prev_wall_before(self, wall: datetime) -> datetime | None:
        """Last fire time strictly before naive wall-clock ``wall``; None before 1970."""
        if wall.tzinfo is not None:
            raise ValueError(f"wall-clock time must be naive, got {wall.isoformat()}")
        # With a fraction of a second, the whole second itself is already strictly before.
        s = wall.second if wall.microsecond else wall.second - 1
        found = self._prev_from(wall.year, wall.month, wall.day, wall.hour, wall.minute, s)
        return None if found is None else datetime(*found)

    def matches_wall(self, wall: datetime) -> bool:
        """Whether naive ``wall`` (its fraction of a second ignored, as Quartz does) is a fire time."""
        if wall.tzinfo is not None:
            raise ValueError(f"wall-clock time must be naive, got {wall.isoformat()}")
        return (
            wall.second in self._second_set
            and wall.minute in self._minute_set
            and wall.hour in self._hour_set
            and wall.month in self._month_set
            and wall.year in self._year_set
            and wall.day in self._days(wall.year, wall.month)
        )

    def iter_wall(self, start: datetime, end: datetime | None = None) -> Iterator[datetime]:
        """Fire times after ``start`` (exclusive) up to ``end`` (inclusive), lazily, naive."""
        wall = self.next_wall_after(start)
        while wall is not None and (end is None or wall <= end):
            yield wall
            wall = self.next_wall_after(wall)

    # ------------------------------------------------------------------ zone-aware search

    def next_after(self, t: datetime, tz: tzinfo) -> datetime | None:
        """The first fire instant strictly after aware ``t``, in ``tz`` (our DST rule).

        Several wall times can share an instant (a nonexistent 02:30 runs with 03:30); this
        returns the instant once. Compare results in UTC: PEP 495 makes ``==`` between an
        ambiguous local time and another zone's datetime always False.
        """
        u = _as_utc_naive(t)
        while True:
            local = local_transition(tz, u, _SPAN)
            if local is None:  # two offset changes within a day: fall back to scanning
                found = self._scan_next(u, tz)
                break
            at, before, after = local
            if at is None:
                # Constant offset around u: the first wall after u + offset runs first.
                wall = self.next_wall_after(u + before)
                candidates = [] if wall is None else [wall]
            else:
                # One change at instant `at`. With fold=0, walls before `cut` keep the old offset
                # (including the walls of a spring-forward gap), later walls take the new one:
                # two monotone pieces, and the answer is the earlier of their first fires.
                cut = at + max(before, after)
                candidates = []
                wall = self.next_wall_after(u + before)
                if wall is not None and wall < cut:
                    candidates.append(wall)
                wall = self.next_wall_after(max(u + after, cut - _ONE_SECOND))
                if wall is not None:
                    candidates.append(wall)
            if not candidates:
                return None
            found = min((_wall_to_utc_naive(w, tz), w) for w in candidates)[0]
            if found <= u + _SPAN:
                break
            # Nothing within the window: restart in the window that ends at the candidate, where
            # a later wall in a spring-forward gap could still run earlier than it.
            u = found - _SPAN
        return None if found is None else found.replace(tzinfo=UTC).astimezone(tz)

    def previous_before(self, t: datetime, tz: tzinfo) -> datetime | None:
        """The last fire instant strictly before aware ``t``, in ``tz`` (our DST rule; see next_after)."""
        u = _as_utc_naive(t)
        while True:
            local = local_transition(tz, u, _SPAN)
            if local is None:
                found = self._scan_prev(u, tz)
                break
            at, before, after = local
            if at is None:
                wall = self.prev_wall_before(u + before)
                candidates = [] if wall is None else [wall]
            else:
                cut = at + max(before, after)
                candidates = []
                wall = self.prev_wall_before(min(u + before, cut))
                if wall is not None:
                    candidates.append(wall)
                wall = self.prev_wall_before(u + after)
                if wall is not None and wall >= cut:
                    candidates.append(wall)
            if not candidates:
                return None
            found = max((_wall_to_utc_naive(w, tz), w) for w in candidates)[0]
            if found >= u - _SPAN:
                break
            u = found + _SPAN
        return None if found is None else found.replace(tzinfo=UTC).astimezone(tz)

    def _scan_next(self, t_utc: datetime, tz: tzinfo) -> datetime | None:
        """next_after by scanning walls; only for zones changing offset twice within a day."""
        lo, hi = _offset_range(tz, t_utc)
        best: datetime | None = None  # naive UTC
        # instant(w) > t implies w > t + (its offset) >= t + lo
        wall = self.next_wall_after(t_utc + lo)
        # Stop once no later wall can run before best.
        while wall is not None and (best is None or wall < best + hi):
            instant = _wall_to_utc_naive(wall, tz)
            if instant > t_utc and (best is None or instant < best):
                best = instant
                lo, hi = _offset_range(tz, best)
            wall = self.next_wall_after(wall)
        return best

    def _scan_prev(self, t_utc: datetime, tz: tzinfo) -> datetime | None:
        """previous_before by scanning walls (see :meth:`_scan_next`)."""
        lo, hi = _offset_range(tz, t_utc)
        best: datetime | None = None
        wall = self.prev_wall_before(t_utc + hi)  # instant(w) < t implies w < t + hi
        # Stop once no earlier wall can run after best.
        while wall is not None and (best is None or wall > best + lo):
            instant = _wall_to_utc_naive(wall, tz)
            if instant < t_utc and (best is None or instant > best):
                best = instant
                lo, hi = _offset_range(tz, best)
            wall = self.prev_wall_before(wall)
        return best

    def fire_times(self, tz: tzinfo, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """(naive wall time, aware UTC instant) of every fire with instant in (start, end].

        Yielded in wall-clock order; each wall time belongs to exactly one window, so
        consecutive windows (a, b], (b, c] never repeat or lose a fire. Instants are
        non-decreasing except right after a spring-forward jump, where a wall time inside the
        gap runs at ``wall + gap`` and so after some of the wall times that follow it.
        """
        start_utc, end_utc = _as_utc_naive(start), _as_utc_naive(end)
        if end_utc <= start_utc:
            return
        lo, _ = _offset_range(tz, start_utc)
        _, hi = _offset_range(tz, end_utc)
        # instant(w) in (start, end] implies start + lo < w <= end + hi.
        last_wall = end_utc + hi
        wall = self.next_wall_after(start_utc + lo)
        while wall is not None and wall <= last_wall:
            instant = _wall_to_utc_naive(wall, tz)
            if start_utc < instant <= end_utc:
                yield wall, instant.replace(tzinfo=UTC)
            wall = self.next_wall_after(wall)


def _month_shapes() -> tuple[int, ...]:
    # Every day rule depends only on the weekday of the 1st and the month's length, so the
    # day cache is keyed by that shape (28 possibilities) instead of by (year, month).
    return tuple(
        first_wd << 5 | length
        for year in range(MIN_YEAR, MAX_YEAR + 1)
        for month in range(1, 13)
        for first_wd, length in (calendar.monthrange(year, month),)
    )


_MONTH_SHAPES = _month_shapes()


@lru_cache(maxsize=4096)
def _parse_cached(expression: str) -> QuartzCron:
    return QuartzCron(expression, parse_spec(expression))


def validate_cron(expression: str) -> None:
    """Raise :class:`CronError` if ``expression`` is not a valid Quartz cron expression."""
    QuartzCron.parse(expression)


def _nearest_weekday(day: int, first_wd: int, length: int) -> tuple[int, ...]:
    """Quartz's 'W': the weekday nearest ``day``, never crossing into another month.

    ``day`` may exceed the month (31W in April): Quartz then takes the weekday of the date
    it overflows to (May 1st) and fires on the 30th only if that date is a Saturday; we
    reproduce that.
    """
    weekday = (first_wd + day - 1) % 7  # Monday = 0, possibly of the overflowed date
    if weekday == 5:  # Saturday: the Friday before, or Monday the 3rd for the 1st
        day = day + 2 if day == 1 else day - 1
    elif weekday == 6:  # Sunday: the Monday after, or Friday before the last day
        day = day - 2 if day == length else day + 1
    return (day,) if 1 <= day <= length else ()


def _as_utc_naive(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError(f"instant must be timezone-aware, got naive {t.isoformat()}")
    return t.astimezone(UTC).replace(tzinfo=None)


def _wall_to_utc_naive(wall: datetime, tz: tzinfo) -> datetime:
    return wall_to_utc(wall, tz).replace(tzinfo=None)


def _offset_range(tz: tzinfo, utc_naive: datetime) -> tuple[timedelta, timedelta]:
    """Smallest and largest UTC offset of ``tz`` within a day either side of the instant."""
    if isinstance(tz, timezone):  # fixed offset: the common WeData case, keep it cheap
        off = tz.utcoffset(None)
        return off, off
    a = offset_at(tz, utc_naive - _OFFSET_PROBE)
    b = offset_at(tz, utc_naive)
    c = offset_at(tz, utc_naive + _OFFSET_PROBE)
    return min(a, b, c), max(a, b, c)
