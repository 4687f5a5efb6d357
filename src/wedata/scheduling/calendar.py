"""Scheduling calendars: sets of dates on which a task runs (or pauses).

WeData manages calendars outside the 2025-08-06 API (``DescribeScheduleCalendarPageList``), so
the self-hosted service keeps its own store; this module only holds the pure value type and the
rule "may the schedule fire on this wall-clock date?". A task refers to a calendar with
``CalendarOpen`` ("0"/"1") and ``CalendarId``; the store resolves the id to a :class:`Calendar`.

The date tested is the **scheduled (fire) wall date** in the task's zone, not the data date:
a T+1 daily task on a trading calendar runs on trading days (see docs/scheduling.md).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = [
    "Calendar",
    "CalendarMode",
    "DateFilter",
    "calendar_allows",
    "calendar_open",
    "parse_calendar_date",
]


class CalendarMode(enum.StrEnum):
    """How the listed dates are read."""

    RUN = "RUN"  # run only on the listed dates (a trading calendar)
    PAUSE = "PAUSE"  # run every day except the listed dates (a holiday list)


@dataclass(frozen=True, slots=True)
class Calendar:
    """A named set of dates; ``allows(d)`` says whether a schedule may fire on ``d``."""

    dates: frozenset[date]
    mode: CalendarMode = CalendarMode.RUN
    calendar_id: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        # Accept any iterable of dates at construction but store an immutable, hashable set.
        if not isinstance(self.dates, frozenset):
            object.__setattr__(self, "dates", frozenset(self.dates))
        if not isinstance(self.mode, CalendarMode):
            object.__setattr__(self, "mode", CalendarMode(str(self.mode).upper()))

    def allows(self, d: date) -> bool:
        listed = d in self.dates
        return listed if self.mode is CalendarMode.RUN else not listed

    @classmethod
    def from_strings(
        cls,
        values: Iterable[str],
        mode: CalendarMode | str = CalendarMode.RUN,
        *,
        calendar_id: str | None = None,
        name: str | None = None,
    ) -> Calendar:
        """Build from ``yyyy-MM-dd`` / ``yyyyMMdd`` strings (blank entries are ignored)."""
        dates = frozenset(parse_calendar_date(v) for v in values if v.strip())
        return cls(dates, CalendarMode(str(mode).upper()), calendar_id, name)

    def to_strings(self) -> list[str]:
        return [d.isoformat() for d in sorted(self.dates)]

    def next_allowed(self, d: date, *, limit_days: int = 366 * 10) -> date | None:
        """The first allowed date >= ``d`` (None when none within ``limit_days``)."""
        for i in range(limit_days + 1):
            cand = d + timedelta(days=i)
            if self.allows(cand):
                return cand
        return None


# What a Schedule accepts as its calendar: a Calendar, or a bare set of run dates.
DateFilter = Calendar | Set[date]


def calendar_allows(calendar: DateFilter | None, d: date) -> bool:
    """None means every day; a bare set means "run on these dates only"."""
    if calendar is None:
        return True
    if isinstance(calendar, Calendar):
        return calendar.allows(d)
    return d in calendar


def calendar_open(flag: str | int | bool | None) -> bool:
    """Read the wire's ``CalendarOpen`` ("0" | "1", sometimes an int or bool)."""
    if flag is None:
        return False
    if isinstance(flag, bool):
        return flag
    text = str(flag).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"CalendarOpen must be '0' or '1', got {flag!r}")


def parse_calendar_date(value: str | date) -> date:
    """``2025-03-10``, ``20250310`` or a date/datetime instance."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = value.strip()
    try:
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ValueError(f"invalid calendar date {value!r} (expected yyyy-MM-dd)") from exc
