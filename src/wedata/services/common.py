"""Helpers shared by the services: id formats, time rendering and paging."""

from __future__ import annotations

import math
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Generic, TypeVar

from wedata.clock import utcnow
from wedata.scheduling.timezones import DEFAULT_ZONE
from wedata.scheduling.walltime import WALL_FORMAT, check_supported
from wedata.services.errors import InvalidValue

T = TypeVar("T")

# ----------------------------------------------------------------------------------------------
# Ids in WeData's formats.

_ID_ZONE = timezone(timedelta(hours=8))
_id_lock = threading.Lock()
_last_task_ms = 0


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_project_id() -> str:
    """19 digits, time-ordered like WeData's (e.g. 3003576285225394100)."""
    return str(1_000_000_000_000_000_000 + (time.time_ns() // 1000) * 1000 + secrets.randbelow(1000))[:19]


def new_resource_group_id() -> str:
    """20 digits, e.g. 20240401132517098618: a timestamp with milliseconds plus 3 random digits."""
    return datetime.now(_ID_ZONE).strftime("%Y%m%d%H%M%S%f")[:17] + f"{secrets.randbelow(1000):03d}"


def new_millis_id(now: datetime | None = None) -> str:
    """``yyyyMMddHHmmssSSS`` (the TaskId format), strictly increasing within this process.

    Uniqueness across processes is enforced by the primary key; callers retry on conflict.
    """
    global _last_task_ms
    with _id_lock:
        ms = int((now or utcnow()).replace(tzinfo=UTC).timestamp() * 1000)
        ms = max(ms, _last_task_ms + 1)
        _last_task_ms = ms
    # WeData's ids read as Beijing time (UTC+8), like the CreateTime shown next to them.
    return datetime.fromtimestamp(ms / 1000, _ID_ZONE).strftime("%Y%m%d%H%M%S%f")[:17]


# ----------------------------------------------------------------------------------------------
# Time rendering: stored in UTC, shown in the caller's zone (UTC+8 unless a TimeZone is given).


@lru_cache(maxsize=256)
def _zone(name: str):  # type: ignore[no-untyped-def]
    from wedata.scheduling.timezones import parse_zone

    try:
        return parse_zone(name)
    except ValueError as exc:
        raise InvalidValue(str(exc)) from None


def zone_of(name: str | None) -> object:
    return _zone(name or DEFAULT_ZONE)


def to_local(dt: datetime | None, zone: str | None = None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC).astimezone(_zone(zone or DEFAULT_ZONE)).replace(tzinfo=None)


def fmt_time(dt: datetime | None, zone: str | None = None) -> str | None:
    """``yyyy-MM-dd HH:mm:ss`` in the zone (the format of almost every WeData time field).

    ``isoformat`` cut before the offset rather than ``strftime(WALL_FORMAT)``: the same text for
    the years the platform stores (1970-2099, both give four digits), in half the time; a list
    page formats a few hundred times."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC).astimezone(_zone(zone or DEFAULT_ZONE)).isoformat(" ", "seconds")[:19]


def fmt_iso(dt: datetime | None, zone: str | None = None) -> str | None:
    """ISO-8601 with offset (``2025-08-28T17:23:10+08:00``), as Project.CreateTime uses."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC).astimezone(_zone(zone or DEFAULT_ZONE)).replace(microsecond=0).isoformat()


def parse_local(text: str, zone: str | None = None, field: str = "time") -> datetime:
    """Parse ``yyyy-MM-dd HH:mm:ss`` given in the zone into naive UTC.

    A filter bound may lie far outside the supported calendar (``CreateTime`` up to 2999 finds
    everything); only a bound that cannot be converted at all (year 1 or 9999 shifted across
    midnight by the zone) is refused, naming the field. Times that are *stored or scheduled*
    are held to 1970-2099 by :func:`supported`."""
    try:
        local = datetime.strptime(text.strip(), WALL_FORMAT)
    except (ValueError, AttributeError):
        raise InvalidValue(f"{field} must be formatted yyyy-MM-dd HH:mm:ss, got {text!r}") from None
    from wedata.scheduling.timezones import wall_to_utc

    try:
        return wall_to_utc(local, _zone(zone or DEFAULT_ZONE)).replace(tzinfo=None)
    except OverflowError:
        raise InvalidValue(f"{field} is out of range: {text!r}") from None


def supported(value: datetime | date, field: str) -> None:
    """InvalidValue naming ``field`` for a time outside the supported calendar (1970-2099)."""
    try:
        check_supported(value, field)
    except ValueError as exc:
        raise InvalidValue(str(exc)) from None


def parse_time_range(values: list[str] | None, zone: str | None, field: str) -> tuple[datetime, datetime] | None:
    """A two-element ``[from, to]`` filter such as ListTasks.ModifyTime."""
    if not values:
        return None
    if len(values) != 2:
        raise InvalidValue(f"{field} must hold exactly two times [from, to]")
    start, end = parse_local(values[0], zone, field), parse_local(values[1], zone, field)
    if start > end:
        raise InvalidValue(f"{field}: the start {values[0]} is after the end {values[1]}")
    return start, end + timedelta(microseconds=999_999)


# ----------------------------------------------------------------------------------------------
# Filters and paging.


def like_escaped(text: str) -> str:
    """``text`` matched literally by ``LIKE ... ESCAPE '\\'`` (its wildcards and the escape escaped)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(text: str) -> str:
    """A case-insensitive ``contains`` pattern for ``lower(col) LIKE ... ESCAPE '\\'``."""
    return f"%{like_escaped(text.lower())}%"



def as_int(value: int | str | None, field: str, default: int | None = None) -> int | None:
    """Coerce a field the spec types both as int and str (reference §6.2)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidValue(f"{field} must be an integer")
    if isinstance(value, int):
        return value
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidValue(f"{field} must be an integer, got {value!r}") from None


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def total_pages(self, total: int) -> int:
        return math.ceil(total / self.size) if total else 0


@dataclass(frozen=True, slots=True)
class Paged(Generic[T]):
    """One page of domain records and the total they were cut from (actions render it)."""

    items: list[T]
    page: Page
    total: int

    @property
    def total_pages(self) -> int:
        return self.page.total_pages(self.total)


def page(
    number: int | str | None,
    size: int | str | None,
    *,
    default_size: int = 10,
    min_size: int = 1,
    max_size: int = 200,
) -> Page:
    n = as_int(number, "PageNumber", 1)
    s = as_int(size, "PageSize", default_size)
    assert n is not None and s is not None
    if n < 1:
        raise InvalidValue(f"PageNumber must be >= 1, got {n}")
    if not min_size <= s <= max_size:
        raise InvalidValue(f"PageSize must be between {min_size} and {max_size}, got {s}")
    return Page(n, s)
