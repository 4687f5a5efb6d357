"""Time zones for schedules: WeData's zone names and our wall-clock DST rule.

WeData names zones as fixed UTC offsets (``UTC+8``, ``UTC-3:30``, ``UTC+0``); we also accept
``UTC``/``GMT`` forms and IANA names (``Asia/Shanghai``). Fixed offsets are always returned as
:class:`datetime.timezone` objects named in WeData's canonical form, IANA names as
:class:`zoneinfo.ZoneInfo`.

Our DST rule (deliberately not Quartz's; see docs/cron.md): schedules iterate in wall-clock
time and every wall-clock fire time runs exactly once.

* A wall time inside a spring-forward gap (it never appears on the clock) runs at the instant
  it would have had with the offset in force before the jump, i.e. ``wall + gap`` in the new
  offset (02:30 on the US spring-forward day runs at 03:30 EDT).
* A wall time that occurs twice (fall back) runs once, at its first occurrence.

Both cases are exactly PEP 495's ``fold=0`` interpretation, which is what
:func:`wall_to_utc` uses.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from enum import Enum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DEFAULT_ZONE",
    "UTC",
    "WallKind",
    "format_offset_zone",
    "local_transition",
    "offset_at",
    "parse_zone",
    "utc_to_wall",
    "wall_kind",
    "wall_to_utc",
    "zone_name",
]

DEFAULT_ZONE = "UTC+8"

# Offsets in use on Earth run from UTC-12:00 to UTC+14:00.
_MIN_OFFSET = timedelta(hours=-12)
_MAX_OFFSET = timedelta(hours=14)

# "UTC", "GMT", "UTC+8", "GMT-3:30", "UTC+08:00", "UTC+0800"; the prefix is case-insensitive.
_OFFSET_RE = re.compile(r"(?i)(?:UTC|GMT)(?:(?P<sign>[+-])(?P<hh>\d{1,2})(?::?(?P<mm>\d{2}))?)?")


def format_offset_zone(offset: timedelta) -> str:
    """WeData's canonical name of a fixed offset: ``UTC+8``, ``UTC-3:30``, ``UTC+0``."""
    total_minutes, rest = divmod(int(offset.total_seconds()), 60)
    if rest:
        raise ValueError(f"offset {offset} is not a whole number of minutes")
    sign = "-" if total_minutes < 0 else "+"
    hours, minutes = divmod(abs(total_minutes), 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


@lru_cache(maxsize=512)
def parse_zone(name: str) -> tzinfo:
    """Parse a schedule time zone: a WeData offset (``UTC+8``) or an IANA name.

    Raises ``ValueError`` with the offending name for anything else.
    """
    if not isinstance(name, str):
        raise ValueError(f"time zone must be a string, got {type(name).__name__}")
    text = name.strip()
    if not text:
        raise ValueError("time zone must not be empty")
    m = _OFFSET_RE.fullmatch(text)
    if m:
        return _fixed_zone(name, m)
    if text.upper().startswith(("UTC", "GMT")) and "/" not in text:
        # Looks like an offset but is malformed ("UTC+", "UTC+8:3", "UTC 8"): say so rather than
        # reporting an unknown IANA zone.
        raise ValueError(
            f"invalid time zone {name!r}: expected an offset like UTC+8, UTC-3:30 or UTC+0, "
            "or an IANA name like Asia/Shanghai"
        )
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # ValueError/OSError: keys that are not valid paths ("../x", "a//b", too long).
        raise ValueError(
            f"unknown time zone {name!r}: expected an offset like UTC+8, UTC-3:30 or UTC+0, "
            "or an IANA name like Asia/Shanghai"
        ) from exc


def _fixed_zone(name: str, m: re.Match[str]) -> timezone:
    if m.group("sign") is None:
        offset = timedelta(0)
    else:
        hours, minutes = int(m.group("hh")), int(m.group("mm") or 0)
        if minutes >= 60:
            raise ValueError(f"invalid time zone {name!r}: minutes {minutes} out of range 0-59")
        offset = timedelta(hours=hours, minutes=minutes)
        if m.group("sign") == "-":
            offset = -offset
    if not _MIN_OFFSET <= offset <= _MAX_OFFSET:
        raise ValueError(f"invalid time zone {name!r}: offset out of range UTC-12 to UTC+14")
    return timezone(offset, format_offset_zone(offset))


def zone_name(tz: tzinfo) -> str:
    """The name to store or show for a zone from :func:`parse_zone` (``UTC+8``, ``Asia/Shanghai``)."""
    if isinstance(tz, ZoneInfo):
        return tz.key
    if isinstance(tz, timezone):
        return format_offset_zone(tz.utcoffset(None))
    raise ValueError(f"unsupported time zone object {tz!r}")


def wall_to_utc(wall: datetime, tz: tzinfo) -> datetime:
    """The instant (aware, UTC) at which wall-clock time ``wall`` in ``tz`` runs, by our DST rule.

    ``fold=0`` is forced: a nonexistent wall time maps to ``wall + gap`` after the jump and an
    ambiguous one to its first occurrence (PEP 495).
    """
    if wall.tzinfo is not None:
        raise ValueError(f"wall-clock time must be naive, got {wall.isoformat()}")
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def utc_to_wall(t: datetime, tz: tzinfo) -> datetime:
    """The naive wall-clock time in ``tz`` at aware instant ``t``."""
    if t.tzinfo is None:
        raise ValueError(f"instant must be timezone-aware, got naive {t.isoformat()}")
    return t.astimezone(tz).replace(tzinfo=None, fold=0)


def offset_at(tz: tzinfo, utc_naive: datetime) -> timedelta:
    """UTC offset of ``tz`` at the instant given as a naive UTC datetime."""
    local = tz.fromutc(utc_naive.replace(tzinfo=tz))
    off = local.utcoffset()
    if off is None:  # pragma: no cover - every concrete tzinfo we accept has offsets
        raise ValueError(f"time zone {tz!r} has no UTC offset")
    return off


def local_transition(
    tz: tzinfo, utc_naive: datetime, span: timedelta
) -> tuple[datetime | None, timedelta, timedelta] | None:
    """The UTC offset change of ``tz`` within ``span`` either side of an instant (naive UTC).

    Returns ``(None, off, off)`` when the offset is constant there, ``(T, before, after)`` for
    exactly one change at instant ``T`` (naive UTC, whole seconds; ``after`` applies from
    ``T`` on), and None when there is more than one change in the window.
    """
    if isinstance(tz, timezone):
        off = tz.utcoffset(None)
        return None, off, off
    lo_t, hi_t = utc_naive - span, utc_naive + span
    before, after = offset_at(tz, lo_t), offset_at(tz, hi_t)
    if before == after:
        return (None, before, before) if offset_at(tz, utc_naive) == before else None
    # Bisect on whole seconds: offset_at(lo) == before, offset_at(hi) != before.
    lo = int((lo_t - _EPOCH).total_seconds())
    hi = int((hi_t - _EPOCH).total_seconds()) + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if offset_at(tz, _EPOCH + timedelta(seconds=mid)) == before:
            lo = mid
        else:
            hi = mid
    at = _EPOCH + timedelta(seconds=hi)
    if offset_at(tz, at) != after:
        return None  # an intermediate offset: more than one change
    return at, before, after


_EPOCH = datetime(1970, 1, 1)


class WallKind(Enum):
    """How a wall-clock time exists in a zone."""

    REGULAR = "regular"
    NONEXISTENT = "nonexistent"  # skipped by a spring-forward jump
    AMBIGUOUS = "ambiguous"  # occurs twice around a fall-back


def wall_kind(wall: datetime, tz: tzinfo) -> WallKind:
    """Classify a naive wall time in ``tz`` (PEP 495: the two folds disagree only in transitions)."""
    off0 = wall.replace(tzinfo=tz, fold=0).utcoffset()
    off1 = wall.replace(tzinfo=tz, fold=1).utcoffset()
    if off0 is None or off1 is None or off0 == off1:
        return WallKind.REGULAR
    # fold=0 takes the offset before the transition: smaller before a jump forward.
    return WallKind.NONEXISTENT if off0 < off1 else WallKind.AMBIGUOUS
