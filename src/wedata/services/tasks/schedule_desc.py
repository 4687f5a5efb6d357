"""The human-readable schedule of a task, as WeData's dependency lists show it.

``TaskDependDto`` carries three derived fields: ``ScheduleDesc`` (a Chinese sentence such as
"从2025年08月21日 00:00:00开始,每天00:00~23:59内，每间隔5分钟执行一次"), ``DelayTime`` (minutes
after the start of the period at which the task fires, e.g. 120 for a daily task at 02:00) and
``TaskAction`` (the "elastic cycle" list: the hours of an hour task, the days of a week or month
task). They are read back from the task's CycleType and CrontabExpression; an expression that
does not have the shape its cycle derives (and CRONTAB_CYCLE) is shown as the expression itself,
as the official ListDownstreamTasks example does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["ScheduleView", "describe_schedule"]

_WEEKDAYS_CN = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")  # ISO order
_QUARTZ_DOW = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # Quartz: 1 = Sunday


@dataclass(frozen=True, slots=True)
class ScheduleView:
    desc: str | None
    delay_minutes: int | None
    action: str


class _Unreadable(ValueError):
    """The expression is not in the shape the cycle's description needs."""


def _int(token: str, lo: int, hi: int) -> int:
    if not token.isdigit() or not lo <= int(token) <= hi:
        raise _Unreadable(token)
    return int(token)


def _hhmm(hour: int, minute: int) -> str:
    return f"{hour:02d}:{minute:02d}"


def _start_prefix(start_time: str | None) -> str:
    try:
        start = datetime.strptime((start_time or "").strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return ""
    return start.strftime("从%Y年%m月%d日 %H:%M:%S开始,")


def _window(start: str | None, end: str | None) -> str:
    return f"{(start or '').strip() or '00:00'}~{(end or '').strip() or '23:59'}"


def _hour_interval(field: str) -> tuple[int, int] | None:
    """``*`` / ``*/k`` / ``a/k`` -> (first hour, step); a list is None."""
    if field == "*":
        return 0, 1
    base, slash, step = field.partition("/")
    if not slash:
        return None
    first = 0 if base == "*" else _int(base, 0, 23)
    return first, _int(step, 1, 23)


def _iso_weekdays(field: str) -> list[int]:
    """Quartz day-of-week (names, or numbers with 1 = Sunday; lists and ranges) -> ISO days."""

    def quartz(token: str) -> int:
        if token in _QUARTZ_DOW:
            return _QUARTZ_DOW.index(token) + 1
        return _int(token, 1, 7)

    days: set[int] = set()
    for part in field.split(","):
        lo, dash, hi = part.partition("-")
        a, b = (quartz(lo), quartz(hi)) if dash else (quartz(part), quartz(part))
        if a > b:
            raise _Unreadable(part)
        days.update(7 if q == 1 else q - 1 for q in range(a, b + 1))
    return sorted(days)


def _month_day_cn(token: str) -> str:
    if token == "L":
        return "最后一天"
    if token == "LW":
        return "最后一个工作日"
    if token.endswith("W"):
        return f"{_int(token[:-1], 1, 31)}日最近的工作日"
    return f"{_int(token, 1, 31)}日"


def describe_schedule(
    cycle_type: str | None,
    crontab: str | None,
    start_time: str | None,
    execution_start: str | None = None,
    execution_end: str | None = None,
) -> ScheduleView:
    """The (ScheduleDesc, DelayTime, TaskAction) of a task's schedule."""
    expr = " ".join((crontab or "").split()) or None
    if expr is None or cycle_type in (None, "CRONTAB_CYCLE"):
        return ScheduleView(expr, None, "")
    fields = expr.upper().split()
    if len(fields) == 6:
        fields.append("*")
    if len(fields) != 7:
        return ScheduleView(expr, None, "")
    try:
        return _describe(cycle_type, fields, _start_prefix(start_time), execution_start, execution_end)
    except _Unreadable:
        return ScheduleView(expr, None, "")


def _describe(
    cycle: str, f: list[str], prefix: str, execution_start: str | None, execution_end: str | None
) -> ScheduleView:
    sec, minute, hour, dom, month, dow, year = f
    if cycle == "MINUTE_CYCLE":
        base, slash, step = minute.partition("/")
        n = _int(step, 1, 59) if slash else (1 if minute == "*" else None)
        if n is None or hour != "*":
            raise _Unreadable(minute)
        lead = "" if base in ("*", "0", "") else f"从第{_int(base, 0, 59)}分钟起"
        desc = f"{prefix}每天{_window(execution_start, execution_end)}内，{lead}每间隔{n}分钟执行一次"
        return ScheduleView(desc, None, "")
    m = _int(minute, 0, 59)
    if cycle == "HOUR_CYCLE":
        interval = _hour_interval(hour)
        if interval is None:
            hours = sorted({_int(x, 0, 23) for x in hour.split(",")})
            times = "、".join(_hhmm(x, m) for x in hours)
            return ScheduleView(f"{prefix}每天{times}各执行一次", m, ",".join(str(x) for x in hours))
        first_hour, every = interval
        start = "" if (first_hour, m) == (0, 0) else f"从{_hhmm(first_hour, m)}起"
        desc = f"{prefix}每天{_window(execution_start, execution_end)}内，{start}每间隔{every}小时执行一次"
        return ScheduleView(desc, m, "")
    h = _int(hour, 0, 23)
    at = _hhmm(h, m)
    delay = h * 60 + m
    if cycle == "DAY_CYCLE":
        return ScheduleView(f"{prefix}每天{at}执行一次", delay, "")
    if cycle == "WEEK_CYCLE":
        days = _iso_weekdays(dow)
        names = "、".join(_WEEKDAYS_CN[d - 1] for d in days)
        return ScheduleView(f"{prefix}每{names}的{at}执行一次", delay, ",".join(str(d) for d in days))
    if cycle == "MONTH_CYCLE":
        names = "、".join(_month_day_cn(d) for d in dom.split(","))
        return ScheduleView(f"{prefix}每月{names}的{at}执行一次", delay, dom)
    if cycle == "YEAR_CYCLE":
        months = "、".join(f"{_int(x, 1, 12)}月" for x in month.split(","))
        names = "、".join(_month_day_cn(d) for d in dom.split(","))
        return ScheduleView(f"{prefix}每年{months}的{names} {at}执行一次", delay, "")
    if cycle == "ONEOFF_CYCLE":
        if year.isdigit() and dom.isdigit() and month.isdigit():
            when = f"{int(year)}年{_int(month, 1, 12):02d}月{_int(dom, 1, 31):02d}日 {at}:{_int(sec, 0, 59):02d}"
            return ScheduleView(f"在{when}执行一次", delay, "")
        return ScheduleView(f"{prefix}在{at}执行一次", delay, "")
    raise _Unreadable(cycle)
