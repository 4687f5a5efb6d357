"""Wall-clock time as text: ``yyyy-MM-dd HH:mm:ss``, the format of almost every WeData time
field, of InstanceKeys and of schedule bounds. Pure; imports nothing of wedata, so both the
schedule (cycles.py) and the data-time rules (datatimes.py) build on it."""

from __future__ import annotations

from datetime import date, datetime

# The wall-time text of almost every WeData time field: the pattern as WeData writes it, and
# the same for strftime/strptime (the one definition; services render and parse with it).
WALL_PATTERN = "yyyy-MM-dd HH:mm:ss"
WALL_FORMAT = "%Y-%m-%d %H:%M:%S"

# The calendar the cron evaluator and the engine support (the years Quartz's cron accepts). A
# time a client gives outside it is refused with a clear error, never stored or computed on.
MIN_YEAR = 1970
MAX_YEAR = 2099
SUPPORTED_RANGE = f"between {MIN_YEAR}-01-01 00:00:00 and {MAX_YEAR}-12-31 23:59:59"


def check_supported(value: datetime | date, field: str) -> None:
    """ValueError naming ``field`` when ``value`` lies outside MIN_YEAR..MAX_YEAR."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"{field} must be {SUPPORTED_RANGE}, got {value.isoformat(sep=' ') if isinstance(value, datetime) else value.isoformat()}")


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
