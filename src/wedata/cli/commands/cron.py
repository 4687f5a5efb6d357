"""``wedata cron explain "EXPR"``: a Quartz cron expression in words and its next fire times.

Offline: no server and no profile are needed. The expression is evaluated by
``wedata.scheduling.cron``, the evaluator the scheduler itself uses, in the given zone (default
UTC+8, WeData's default ScheduleTimeZone) with the scheduler's DST rule; the fire times are
wall-clock times of that zone and each line says its offset.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from wedata.cli.errors import CliError


@click.group()
def cron() -> None:
    """Explain cron expressions offline (no server needed)."""


@cron.command("explain")
@click.argument("expression")
@click.option("--tz", "zone", default="UTC+8", show_default=True,
              help="Schedule zone: a WeData offset (UTC+8, UTC-3:30) or an IANA name (Europe/Paris).")
@click.option("-n", "count", default=10, show_default=True, type=click.IntRange(0, 1000),
              help="How many next fire times to print.")
@click.option("--after", default=None, metavar="TIME",
              help="List fire times after this wall time of the zone, yyyy-MM-dd HH:mm:ss (default: now).")
def explain(expression: str, zone: str, count: int, after: str | None) -> None:
    """Say when EXPRESSION (Quartz: sec min hour day month weekday [year]) fires, and list the next fires."""
    from wedata.cli.cron_words import describe
    from wedata.scheduling.cron import CronError, QuartzCron
    from wedata.scheduling.timezones import parse_zone

    try:
        tz = parse_zone(zone)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        cron_expr = QuartzCron.parse(expression)
        words = describe(expression)
    except CronError as exc:
        raise CliError(f"syntax error: {exc}") from None
    if after:
        try:
            start = datetime.strptime(after.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
        except ValueError:
            raise click.BadParameter(f"{after!r} is not yyyy-MM-dd HH:mm:ss", param_hint="--after") from None
    else:
        start = datetime.now(UTC).astimezone(tz)
    click.echo(f"{words} ({zone})")
    if count == 0:
        return
    what = "The next fire time" if count == 1 else f"Next {count} fire times"
    click.echo(f"{what} in {zone}, after {start.strftime('%Y-%m-%d %H:%M:%S')}:")
    t = start
    shown = 0
    while shown < count:
        fire = cron_expr.next_after(t, tz)
        if fire is None:
            click.echo("  (no more fire times)")
            break
        offset = fire.utcoffset()
        label = _offset_name(offset.total_seconds() if offset is not None else 0)
        click.echo(f"  {fire.strftime('%Y-%m-%d %H:%M:%S %a')}  {label}")
        shown += 1
        t = fire


def _offset_name(seconds: float) -> str:
    total = int(seconds) // 60
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total), 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")
