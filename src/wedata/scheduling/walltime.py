"""Wall-clock time as text: ``yyyy-MM-dd HH:mm:ss``, the format of almost every WeData time
field, of InstanceKeys and of schedule bounds. Pure; imports nothing of wedata, so both the
schedule (cycles.py) and the data-time rules (datatimes.py) build on it."""

from __future__ import annotations

from datetime import datetime

# The wall-time text of almost every WeData time field: the pattern as WeData writes it, and
# the same for strftime/strptime (the one definition; services render and parse with it).
WALL_PATTERN = "yyyy-MM-dd HH:mm:ss"
WALL_FORMAT = "%Y-%m-%d %H:%M:%S"


def format_wall(dt: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` (microseconds dropped)."""
    return f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d} {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"


def parse_wall(text: str) -> datetime:
    """Strict ``yyyy-MM-dd HH:mm:ss`` -> naive datetime."""
    s = text.strip()
    if (
        len(s) != 19
        or s[4] != "-"
        or s[7] != "-"
        or s[10] != " "
        or s[13] != ":"
        or s[16] != ":"
        or not (s[:4] + s[5:7] + s[8:10] + s[11:13] + s[14:16] + s[17:]).isdigit()
    ):
        raise ValueError(f"invalid time {text!r}, expected {WALL_PATTERN}")
    try:
        return datetime(int(s[:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:]))
    except ValueError as exc:
        raise ValueError(f"invalid time {text!r}: {exc}") from exc
