"""Output: tables (rich, imported only when something is printed), JSON, and times with their zone.

Every listing takes ``-o json`` (the API's items, as the server sent them, for scripts) and
otherwise prints a table. Times are shown in one display zone (``wedata --tz``, ``WEDATA_TZ``,
else this machine's current UTC offset) and every column of times names it, e.g.
``STARTED (UTC+2)``. Data times (``CurRunDate``, the time in an InstanceKey) are never shifted:
they are the task's own schedule time, and their column says "task zone".
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import click

from wedata.cli.errors import CliError

SERVER_ZONE = "UTC+8"  # the zone the API renders times in when a request has no TimeZone
WALL = "%Y-%m-%d %H:%M:%S"

output_option = click.option(
    "-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True,
    help="table for people; json prints the API's items unchanged, for scripts.",
)


def local_zone_name() -> str:
    """This machine's current UTC offset in WeData's syntax (UTC+8, UTC-3:30, UTC+0)."""
    offset = time.localtime().tm_gmtoff
    sign = "-" if offset < 0 else "+"
    hours, rest = divmod(abs(offset) // 60, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def _offset(zone: str) -> timezone:
    from wedata.scheduling.timezones import parse_zone

    try:
        tz = parse_zone(zone)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if isinstance(tz, timezone):
        return tz
    offset = datetime.now(tz).utcoffset() or timedelta(0)
    return timezone(offset)


def display_zone() -> str:
    ctx = click.get_current_context(silent=True)
    zone = ctx.find_root().meta.get("wedata.tz") if ctx else None
    if zone:
        _offset(zone)  # validate
        return str(zone)
    return local_zone_name()


def shift(text: Any, to_zone: str, from_zone: str = SERVER_ZONE) -> str:
    """A ``yyyy-MM-dd HH:mm:ss`` (or ISO) time of ``from_zone`` in ``to_zone``; '' for none."""
    if text in (None, ""):
        return ""
    raw = str(text)
    try:
        if "T" in raw:
            parsed = datetime.fromisoformat(raw)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=_offset(from_zone))
        else:
            parsed = datetime.strptime(raw, WALL).replace(tzinfo=_offset(from_zone))
    except ValueError:
        return raw
    return parsed.astimezone(_offset(to_zone)).strftime(WALL)


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Not a terminal (a pipe, a file): no colours, and no wrapping at 80 columns.
    if stream.isatty():
        return Console(file=stream, stderr=stderr, highlight=False)
    return Console(file=stream, stderr=stderr, highlight=False, width=400, no_color=True)


Column = tuple[str, str | Callable[[Mapping[str, Any]], Any]]

STATE_STYLES = {
    "COMPLETED": "green", "EXPIRED": "red", "RUNNING": "cyan", "FAILED_RETRY": "yellow",
    "SKIP_RUNNING": "dim", "WAIT_RUN": "blue", "WAIT_UPSTREAM": "blue", "WAIT_EVENT": "blue",
    "SUCCESS": "green", "FAIL": "red", "PART_SUCCESS": "yellow",
}


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    return str(value)


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], *, empty: str = "nothing to show",
          footer: str | None = None) -> None:
    """Print rows as a table; ``columns`` are (header, wire key or function of the row)."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    rows = list(rows)
    out = console()
    if not rows:
        click.echo(empty, err=True)
        return
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for header, _ in columns:
        t.add_column(header, overflow="fold")
    for row in rows:
        values = []
        for _, key in columns:
            text = cell(key(row) if callable(key) else row.get(key))
            style = STATE_STYLES.get(text)
            values.append(f"[{style}]{escape(text)}[/]" if style else escape(text))
        t.add_row(*values)
    out.print(t)
    if footer:
        click.echo(footer, err=True)


def page_footer(data: Mapping[str, Any], shown: int) -> str | None:
    total = data.get("TotalCount")
    if isinstance(total, int) and total > shown:
        return f"showing {shown} of {total}; use --limit to see more"
    return None


def fmt_ms(ms: Any) -> str:
    if not isinstance(ms, int | float):
        return cell(ms)
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
