"""A Quartz cron expression in English words, for ``wedata cron explain``.

Pure text work over the expression's fields; the expression is first parsed by
``wedata.scheduling.cron`` (the evaluator the scheduler uses), so an expression it rejects is
reported with the evaluator's own message and never described. The words aim at the shapes
people write (a time of day, every n minutes or hours, weekdays, the n-th weekday, last day,
nearest weekday, months, years); anything else is described field by field, still exactly.
"""

from __future__ import annotations

from wedata.scheduling.cron_parse import CronSpec, DomKind, DowKind, parse_spec

DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")  # Quartz 1 = SUN
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _int(token: str) -> int | None:
    return int(token) if token.isdigit() else None


def _step(token: str) -> tuple[str, int] | None:
    """``*/n`` or ``a/n`` -> (start token, n)."""
    base, slash, step = token.partition("/")
    if slash and step.isdigit() and "-" not in base and "," not in base:
        return base, int(step)
    return None


def _unit_phrase(token: str, unit: str, values: tuple[int, ...]) -> str:
    if token == "*":
        return f"every {unit}"
    stepped = _step(token)
    if stepped:
        base, n = stepped
        lead = "" if base in ("*", "0") else f" from {unit} {base}"
        return f"every {n} {unit}s{lead}"
    lo, dash, hi = token.partition("-")
    if dash and lo.isdigit() and hi.isdigit() and "/" not in hi:
        return f"every {unit} from {lo} through {hi}"
    return f"at {unit}{'s' if len(values) > 1 else ''} {_and([str(v) for v in values])}"


def _time_phrase(f: list[str], spec: CronSpec) -> str:
    sec, minute, hour = f[0], f[1], f[2]
    s, m, h = _int(sec), _int(minute), _int(hour)
    if s is not None and m is not None:
        clock = f":{m:02d}" + (f":{s:02d}" if s else "")
        if h is not None:
            return f"at {h:02d}:{m:02d}" + (f":{s:02d}" if s else "")
        if hour == "*":
            return f"every hour at {clock}"
        stepped = _step(hour)
        if stepped:
            base, n = stepped
            lead = "" if base in ("*", "0") else f" from {int(base):02d}{clock}"
            return f"every {n} hours at {clock}{lead}"
        lo, dash, hi = hour.partition("-")
        if dash and lo.isdigit() and hi.isdigit():
            first, last = (f"{int(x):02d}{clock}" for x in (lo, hi))
            return f"every hour from {first} through {last}"
        times = [f"{x:02d}:{m:02d}" + (f":{s:02d}" if s else "") for x in spec.hours]
        return f"at {_and(times)}"
    parts: list[str] = []
    if s is None:
        parts.append(_unit_phrase(sec, "second", spec.seconds))
        if minute != "*":
            parts.append(_unit_phrase(minute, "minute", spec.minutes))
    else:
        parts.append(_unit_phrase(minute, "minute", spec.minutes))
        if s:
            parts.append(f"at second {s}")
    if hour != "*":
        lo, dash, hi = hour.partition("-")
        if h is not None:
            parts.append(f"between {h:02d}:00 and {h:02d}:59")
        elif dash and lo.isdigit() and hi.isdigit():
            parts.append(f"between {int(lo):02d}:00 and {int(hi):02d}:59")
        else:
            parts.append(_unit_phrase(hour, "hour", spec.hours).replace("at hours", "during hours"))
    return ", ".join(parts)


def _dow_names(token: str, values: tuple[int, ...]) -> str:
    lo, dash, hi = token.partition("-")
    if dash and "," not in token and "/" not in token:
        return f"{DAY_NAMES[values[0] - 1] if lo.isdigit() else _day(lo)} through {_day(hi)}"
    return _and([DAY_NAMES[v - 1] for v in values])


def _day(token: str) -> str:
    if token.isdigit():
        return DAY_NAMES[int(token) - 1]
    names = [d[:3].upper() for d in DAY_NAMES]
    return DAY_NAMES[names.index(token.upper())]


def _day_phrase(f: list[str], spec: CronSpec) -> str:
    dom, dow = f[3], f[5]
    if spec.dow.kind is DowKind.LAST:
        return f"on the last {DAY_NAMES[spec.dow.weekday - 1]} of the month"
    if spec.dow.kind is DowKind.NTH:
        return f"on the {ORDINALS[spec.dow.nth]} {DAY_NAMES[spec.dow.weekday - 1]} of the month"
    if spec.dow.kind is DowKind.SET and dow not in ("*", "?"):
        if dow.upper() == "L":
            return "on Saturday"
        return f"on {_dow_names(dow, spec.dow.values)}"
    rule = spec.dom
    if rule.kind is DomKind.LAST:
        return "on the last day of the month" if not rule.day else \
            f"{rule.day} day{'s' if rule.day > 1 else ''} before the last day of the month"
    if rule.kind is DomKind.LAST_WEEKDAY:
        return "on the last weekday (Mon-Fri) of the month" if not rule.day else \
            f"on the weekday (Mon-Fri) nearest {rule.day} days before the last day of the month"
    if rule.kind is DomKind.NEAREST_WEEKDAY:
        return f"on the weekday (Mon-Fri) nearest day {rule.day} of the month"
    if rule.kind is DomKind.SET and dom not in ("*", "?"):
        stepped = _step(dom)
        if stepped:
            base, n = stepped
            return f"every {n} days of the month from day {1 if base == '*' else base}"
        return f"on day{'s' if len(rule.values) > 1 else ''} {_and([str(v) for v in rule.values])} of the month"
    return "every day"


def _month_phrase(token: str, spec: CronSpec) -> str:
    if token == "*":
        return ""
    lo, dash, hi = token.partition("-")
    if dash and "," not in token and "/" not in token:
        return f"from {MONTH_NAMES[_month(lo) - 1]} through {MONTH_NAMES[_month(hi) - 1]}"
    return "in " + _and([MONTH_NAMES[m - 1] for m in spec.months])


def _month(token: str) -> int:
    if token.isdigit():
        return int(token)
    return [m[:3].upper() for m in MONTH_NAMES].index(token.upper()) + 1


def _year_phrase(token: str, spec: CronSpec) -> str:
    if token == "*":
        return ""
    lo, dash, hi = token.partition("-")
    if dash and lo.isdigit() and hi.isdigit() and "," not in token:
        return f"from {lo} through {hi}"
    return "in " + _and([str(y) for y in spec.years])


def describe(expression: str) -> str:
    """The expression in words, e.g. ``at 09:30, on Monday through Friday``."""
    spec = parse_spec(expression)
    fields = expression.split()
    if len(fields) == 6:
        fields.append("*")
    time_text = _time_phrase(fields, spec)
    day_text = _day_phrase(fields, spec)
    parts = [time_text]
    if day_text != "every day" or not time_text.startswith("every"):
        parts.append(day_text)
    parts += [p for p in (_month_phrase(fields[4], spec), _year_phrase(fields[6], spec)) if p]
    text = ", ".join(parts)
    return text[0].upper() + text[1:]
