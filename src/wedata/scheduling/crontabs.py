"""CrontabExpression <-> CycleType: derive the expression from console-style fields, and check
that a given expression fits its cycle.

``CrontabExpression`` is authoritative (spec §6.9): for non-CRONTAB cycles the server derives it
from the cycle settings, and an expression sent by a client is validated against its cycle with
the rules below (documented in docs/scheduling.md). All derived expressions have 7 fields and
seconds ``0``; day-of-week uses Quartz names (``MON``..``SUN``) so nobody has to remember that
Quartz counts Sunday as 1.

Rules (fields: sec min hour dom month dow [year]):

- every cycle: valid Quartz, fires at least once, seconds a single number; ``0`` unless
  CRONTAB_CYCLE (instances are never more frequent than one a minute).
- MINUTE_CYCLE: minute ``*``, ``*/n`` or ``a/n`` with n dividing 60 (the console offers
  5/10/15/20/30) and a < n; hour free (a cron-level window); every day, every month.
- HOUR_CYCLE: minute a single number; hour free (``*``, ``*/k``, ``a/k``, lists, ranges);
  every day, every month.
- DAY_CYCLE: minute and hour single numbers; every day, every month (once a day, fixed time).
- WEEK_CYCLE: minute and hour single numbers; day-of-month ``?``; day-of-week listed.
- MONTH_CYCLE: minute and hour single numbers; day-of-month listed (``L``, ``W`` allowed);
  every month; day-of-week ``?``.
- YEAR_CYCLE: minute and hour single numbers; day-of-month and month listed; dow ``?``.
- ONEOFF_CYCLE: minute and hour single numbers; the first fire at or after StartTime is the one
  run (a specific date with a year field is what derive_crontab produces).
- CRONTAB_CYCLE: anything else Quartz accepts.
- The year field, when present, must be ``*`` except for ONEOFF_CYCLE and CRONTAB_CYCLE.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from wedata.scheduling.cron import QuartzCron, validate_cron
from wedata.scheduling.cycletypes import CycleType

__all__ = [
    "CONSOLE_MINUTE_INTERVALS",
    "CrontabCycleError",
    "CrontabSyntaxError",
    "derive_crontab",
    "validate_crontab_for_cycle",
]

CONSOLE_MINUTE_INTERVALS = (5, 10, 15, 20, 30)
_DOW_NAMES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")  # ISO order, Monday = 1
_ANY = ("*", "?")


class CrontabCycleError(ValueError):
    """A CrontabExpression that is not valid Quartz or does not fit its CycleType."""

    def __init__(self, cycle_type: CycleType, expression: str, reason: str) -> None:
        super().__init__(
            f"CrontabExpression {expression!r} does not fit CycleType {cycle_type.value}: {reason}"
        )
        self.cycle_type = cycle_type
        self.expression = expression
        self.reason = reason


class CrontabSyntaxError(CrontabCycleError):
    """Not valid Quartz at all: called a syntax error, whatever the cycle (issue 16)."""

    def __init__(self, cycle_type: CycleType, expression: str, error: ValueError) -> None:
        where = getattr(error, "field", None)
        detail = getattr(error, "reason", None) or str(error)
        reason = f"{where} field: {detail}" if where else detail
        super().__init__(cycle_type, expression, reason)
        self.args = (f"CrontabExpression {expression!r} has a syntax error: {reason}",)

    def __str__(self) -> str:
        return str(self.args[0])


def _hhmm(value: str) -> tuple[int, int]:
    hh, sep, mm = value.strip().partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or int(hh) > 23 or int(mm) > 59:
        raise ValueError(f"invalid HH:mm time {value!r}")
    return int(hh), int(mm)


def _iso_weekday(value: int | str) -> int:
    if isinstance(value, int) or str(value).strip().isdigit():
        n = int(value)
        if not 1 <= n <= 7:
            raise ValueError(f"week day must be 1 (Monday) .. 7 (Sunday), got {value!r}")
        return n
    name = str(value).strip().upper()[:3]
    if name not in _DOW_NAMES:
        raise ValueError(f"unknown week day {value!r}")
    return _DOW_NAMES.index(name) + 1


def _month_day(value: int | str) -> str:
    text = str(value).strip().upper()
    if text in ("L", "LW"):
        return text
    if not text.isdigit() or not 1 <= int(text) <= 31:
        raise ValueError(f"month day must be 1..31 or L, got {value!r}")
    return str(int(text))


def _int_list(values: Sequence[int], lo: int, hi: int, what: str) -> str:
    items = sorted({int(v) for v in values})
    if not items or items[0] < lo or items[-1] > hi:
        raise ValueError(f"{what} must be within {lo}..{hi}, got {list(values)!r}")
    return ",".join(str(v) for v in items)


def derive_crontab(
    cycle_type: CycleType | str,
    *,
    minute_interval: int | None = None,
    hour_interval: int | None = None,
    hours: Sequence[int] | None = None,
    minute: int = 0,
    start_hour: int = 0,
    at: str = "00:00",
    week_days: Sequence[int | str] | None = None,
    month_days: Sequence[int | str] | None = None,
    months: Sequence[int] | None = None,
    run_at: datetime | None = None,
    crontab_expression: str | None = None,
) -> str:
    """The Quartz expression for console-style cycle settings.

    - MINUTE: ``minute_interval`` in 5/10/15/20/30 (default 5) -> ``0 */5 * * * ? *``.
      (``MinuteOffset`` is not folded in: the Schedule applies it.)
    - HOUR: ``hours`` (listed hours) or ``hour_interval`` 1..12 from ``start_hour`` (default
      every hour), at ``minute`` past -> ``0 0 */2 * * ? *``, ``0 30 0,3,4 * * ? *``.
    - DAY: ``at`` HH:mm -> ``0 30 2 * * ? *``.
    - WEEK: ``week_days`` (1 = Monday .. 7 = Sunday, or names) at ``at`` -> ``0 0 0 ? * MON,FRI *``.
    - MONTH: ``month_days`` (1..31, ``L``) at ``at`` -> ``0 0 0 1,15,L * ? *``.
    - YEAR: ``months`` and ``month_days`` at ``at`` -> ``0 0 0 1 1,7 ? *``.
    - ONEOFF: ``run_at`` -> ``0 30 9 10 3 ? 2025``.
    - CRONTAB: ``crontab_expression``, validated.
    """
    cycle = CycleType.parse(cycle_type)
    h, m = _hhmm(at)
    if cycle is CycleType.MINUTE_CYCLE:
        n = 5 if minute_interval is None else int(minute_interval)
        if n not in CONSOLE_MINUTE_INTERVALS:
            raise ValueError(
                f"minute interval must be one of {CONSOLE_MINUTE_INTERVALS}, got {minute_interval!r}"
            )
        expr = f"0 */{n} * * * ? *"
    elif cycle is CycleType.HOUR_CYCLE:
        if not 0 <= minute <= 59:
            raise ValueError(f"minute must be within 0..59, got {minute!r}")
        if hours:
            hour_field = _int_list(hours, 0, 23, "hours")
        else:
            k = 1 if hour_interval is None else int(hour_interval)
            if not 1 <= k <= 12:
                raise ValueError(f"hour interval must be within 1..12, got {hour_interval!r}")
            if not 0 <= start_hour <= 23:
                raise ValueError(f"start hour must be within 0..23, got {start_hour!r}")
            if k == 1 and start_hour == 0:
                hour_field = "*"
            else:
                hour_field = f"{'*' if start_hour == 0 else start_hour}/{k}"
        expr = f"0 {minute} {hour_field} * * ? *"
    elif cycle is CycleType.DAY_CYCLE:
        expr = f"0 {m} {h} * * ? *"
    elif cycle is CycleType.WEEK_CYCLE:
        if not week_days:
            raise ValueError("a week cycle needs week_days")
        days = sorted({_iso_weekday(d) for d in week_days})
        expr = f"0 {m} {h} ? * {','.join(_DOW_NAMES[d - 1] for d in days)} *"
    elif cycle is CycleType.MONTH_CYCLE:
        if not month_days:
            raise ValueError("a month cycle needs month_days")
        expr = f"0 {m} {h} {_month_days_field(month_days)} * ? *"
    elif cycle is CycleType.YEAR_CYCLE:
        if not months or not month_days:
            raise ValueError("a year cycle needs months and month_days")
        expr = f"0 {m} {h} {_month_days_field(month_days)} {_int_list(months, 1, 12, 'months')} ? *"
    elif cycle is CycleType.ONEOFF_CYCLE:
        if run_at is None:
            raise ValueError("a one-off cycle needs run_at")
        t = run_at
        expr = f"{t.second} {t.minute} {t.hour} {t.day} {t.month} ? {t.year}"
    else:
        if not crontab_expression:
            raise ValueError("a crontab cycle needs crontab_expression")
        expr = " ".join(crontab_expression.split())
    validate_crontab_for_cycle(cycle, expr)
    return expr


def _month_days_field(values: Sequence[int | str]) -> str:
    days = {_month_day(v) for v in values}
    numbers = sorted(int(d) for d in days if d.isdigit())
    specials = sorted(d for d in days if not d.isdigit())
    return ",".join([str(d) for d in numbers] + specials)


def _is_int(token: str) -> bool:
    return token.isdigit()


def _minute_step_ok(token: str) -> bool:
    if token == "*":
        return True
    base, slash, step = token.partition("/")
    if not slash or not step.isdigit():
        return False
    n = int(step)
    start = 0 if base == "*" else (int(base) if base.isdigit() else -1)
    return 1 <= n < 60 and 60 % n == 0 and 0 <= start < n


def validate_crontab_for_cycle(cycle_type: CycleType | str, expression: str) -> None:
    """Raise :class:`CrontabCycleError` (a ValueError) unless ``expression`` fits the cycle."""
    cycle = CycleType.parse(cycle_type)
    expr = " ".join((expression or "").split())

    def fail(reason: str) -> CrontabCycleError:
        return CrontabCycleError(cycle, expr, reason)

    try:
        validate_cron(expr)
    except ValueError as exc:
        raise CrontabSyntaxError(cycle, expr, exc) from exc
    f = expr.upper().split()
    if len(f) == 6:
        f.append("*")
    sec, minute, hour, dom, month, dow, year = f
    if not _is_int(sec):
        raise fail("the seconds field must be a single number (at most one instance a minute)")
    if cycle is not CycleType.CRONTAB_CYCLE and int(sec) != 0:
        raise fail("the seconds field must be 0")
    if cycle not in (CycleType.ONEOFF_CYCLE, CycleType.CRONTAB_CYCLE) and year != "*":
        raise fail("the year field must be * (or absent)")
    every_day = dom in _ANY and dow in _ANY and month == "*"
    if cycle is CycleType.MINUTE_CYCLE:
        if not _minute_step_ok(minute):
            raise fail(
                "a minute task fires every n minutes: the minute field must be */n or a/n with n dividing 60"
            )
        if not every_day:
            raise fail("a minute task runs every day: day-of-month, month and day-of-week must be * or ?")
    elif cycle is CycleType.HOUR_CYCLE:
        if not _is_int(minute):
            raise fail("an hour task fires at a fixed minute: the minute field must be a single number")
        if not every_day:
            raise fail("an hour task runs every day: day-of-month, month and day-of-week must be * or ?")
    elif cycle is CycleType.CRONTAB_CYCLE:
        pass
    else:
        if not (_is_int(minute) and _is_int(hour)):
            raise fail("the task fires once at a fixed time: minute and hour must be single numbers")
        if cycle is CycleType.DAY_CYCLE and not every_day:
            raise fail("a day task runs every day: day-of-month, month and day-of-week must be * or ?")
        if cycle is CycleType.WEEK_CYCLE and not (dom == "?" and month == "*" and dow not in _ANY):
            raise fail("a week task lists days of the week: day-of-month ?, month *, day-of-week listed")
        if cycle is CycleType.MONTH_CYCLE and not (dom not in _ANY and month == "*" and dow == "?"):
            raise fail("a month task lists days of the month: day-of-month listed, month *, day-of-week ?")
        if cycle is CycleType.YEAR_CYCLE and not (dom not in _ANY and month != "*" and dow == "?"):
            raise fail("a year task lists dates: day-of-month and month listed, day-of-week ?")
    if QuartzCron.parse(expr).next_wall_after(datetime(1970, 1, 1)) is None:
        raise fail("the expression never fires")
