"""Parsing of Quartz cron expressions into value sets and day rules (no evaluation here).

Grammar: ``second minute hour day-of-month month day-of-week [year]``, fields separated by
spaces or tabs, case-insensitive, as Quartz 2.3.2's ``CronExpression`` reads them:

* every field: ``*``, ``v``, ``v-w`` (wrapping allowed, e.g. hours ``22-2``), ``*/s``, ``v/s``,
  ``v-w/s`` and comma lists of these; months also ``JAN``-``DEC``, days of week ``SUN``-``SAT``
  (1 = SUN ... 7 = SAT, as Quartz);
* day-of-month alone: ``?``, ``L``, ``L-n``, ``LW``, ``L-nW``, ``nW``;
* day-of-week alone: ``?``, ``L`` (= 7, Saturday, as Quartz), ``nL`` (last n-day of the month),
  ``n#k`` (k-th n-day of the month);
* exactly one of day-of-month and day-of-week is ``?``; the year is 1970-2099.

Quartz silently misreads some inputs it accepts (it ignores a step after a name,
``MON-FRI/2`` = ``MON-FRI``; reads ``MONDAY`` as ``MON``; uses only the first value of
``1W,15W`` or ``6#3,2``; ignores trailing text like ``6L-2`` or an eighth field). We reject
those with a message instead of running something the author did not mean; docs/cron.md lists
them. Everything we accept, Quartz accepts and evaluates the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "FIELD_NAMES",
    "MAX_YEAR",
    "MIN_YEAR",
    "CronError",
    "CronSpec",
    "DomKind",
    "DomRule",
    "DowKind",
    "DowRule",
    "parse_spec",
]

from wedata.scheduling.walltime import MAX_YEAR, MIN_YEAR  # noqa: E402  (one definition)

SECOND, MINUTE, HOUR, DOM, MONTH, DOW, YEAR = range(7)
FIELD_NAMES = ("second", "minute", "hour", "day-of-month", "month", "day-of-week", "year")
_BOUNDS = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (MIN_YEAR, MAX_YEAR))
# Largest step per field; Quartz rejects "*/60" in seconds, "*/24" in hours, "*/8" in days of week...
_MAX_STEP = (59, 59, 23, 31, 12, 7, MAX_YEAR - MIN_YEAR)

_MONTHS = {
    n: i + 1
    for i, n in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAYS = {n: i + 1 for i, n in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}

_ITEM_RE = re.compile(r"(\*|\d+|[A-Z]+)(?:-(\d+|[A-Z]+))?(?:/(\d+))?")
_DOM_LAST_RE = re.compile(r"L(?:-(\d+))?(W?)")
_DOM_NEAREST_RE = re.compile(r"(\d+)W")
_DOW_LAST_RE = re.compile(r"(\d+|[A-Z]+)L")
_DOW_NTH_RE = re.compile(r"(\d+|[A-Z]+)#(\d+)")
_DOW_LAST_PREFIX_RE = re.compile(r"(?:\d+|[A-Z]{3})L")


class CronError(ValueError):
    """An invalid cron expression; ``field`` and ``token`` say where (None when not one field)."""

    expression: str
    field: str | None
    token: str | None
    reason: str

    def __init__(self, expression: str, reason: str, field: str | None = None, token: str | None = None):
        self.expression = expression
        self.field = field
        self.token = token
        self.reason = reason
        where = f"{field} field: " if field else ""
        super().__init__(f"invalid cron expression {expression!r}: {where}{reason}")

    def __reduce__(self) -> tuple[type[CronError], tuple[str, str, str | None, str | None]]:
        # Keep the keyword-ish attributes through pickling (e.g. across Celery workers).
        return (type(self), (self.expression, self.reason, self.field, self.token))


class DomKind(Enum):
    ANY = "?"
    SET = "set"  # plain values
    LAST = "L"  # last day minus offset: L, L-n
    LAST_WEEKDAY = "LW"  # weekday nearest to (last day minus offset): LW, L-nW
    NEAREST_WEEKDAY = "W"  # weekday nearest to day n: nW


class DowKind(Enum):
    ANY = "?"
    SET = "set"  # plain values, 1 = SUN ... 7 = SAT
    LAST = "L"  # last such weekday of the month: nL
    NTH = "#"  # n-th such weekday of the month: n#k


@dataclass(frozen=True, slots=True)
class DomRule:
    kind: DomKind
    values: tuple[int, ...] = ()  # SET
    day: int = 0  # NEAREST_WEEKDAY: the target day; LAST/LAST_WEEKDAY: offset from the last day


@dataclass(frozen=True, slots=True)
class DowRule:
    kind: DowKind
    values: tuple[int, ...] = ()  # SET
    weekday: int = 0  # LAST/NTH, Quartz numbering 1 = SUN ... 7 = SAT
    nth: int = 0  # NTH, 1-5


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A parsed expression: sorted value tuples plus the two day rules (one of them ANY)."""

    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    dom: DomRule
    months: tuple[int, ...]
    dow: DowRule
    years: tuple[int, ...]


class _FieldParser:
    """Parses one field; raises CronError naming the field and the offending token."""

    def __init__(self, expression: str, index: int, text: str):
        self.expression = expression
        self.index = index
        self.name = FIELD_NAMES[index]
        self.text = text
        self.low, self.high = _BOUNDS[index]

    def error(self, reason: str, token: str | None = None) -> CronError:
        return CronError(self.expression, reason, self.name, self.text if token is None else token)

    def items(self) -> list[str]:
        parts = self.text.split(",")
        for part in parts:
            if not part:
                raise self.error("empty value in list")
        return parts

    def number(self, token: str, item: str) -> int:
        if token.isdigit():
            value = int(token)
            if not self.low <= value <= self.high:
                raise self.error(f"value {value} out of range {self.low}-{self.high}", item)
            return value
        names = _MONTHS if self.index == MONTH else _DAYS if self.index == DOW else None
        if names is None:
            raise self.error(f"unexpected {token!r}: expected a number {self.low}-{self.high}", item)
        if token not in names:
            kind = "month name (JAN-DEC)" if self.index == MONTH else "day name (SUN-SAT)"
            raise self.error(f"unknown {kind} {token!r}", item)
        return names[token]

    def values(self) -> tuple[int, ...]:
        """Plain value list (no L/W/#/?): sorted, deduplicated."""
        out: set[int] = set()
        for item in self.items():
            out.update(self.item_values(item))
        return tuple(sorted(out))

    def item_values(self, item: str) -> list[int]:
        self.reject_special(item)
        m = _ITEM_RE.fullmatch(item)
        if not m:
            raise self.error(f"unexpected {item!r}", item)
        start_tok, end_tok, step_tok = m.groups()
        if start_tok == "*" and end_tok is not None:
            raise self.error("'*' cannot start a range", item)
        named = not start_tok.isdigit() and start_tok != "*"
        if end_tok is not None and named != (not end_tok.isdigit()):
            raise self.error("a range cannot mix names and numbers", item)
        if step_tok is not None and (named or (end_tok is not None and not end_tok.isdigit())):
            # Quartz 2.3.2 silently drops a step written after a name (MON-FRI/2 runs Mon-Fri).
            raise self.error("a step after a name is ignored by Quartz; write the range with numbers", item)
        step = 1
        if step_tok is not None:
            step = int(step_tok)
            if not 1 <= step <= _MAX_STEP[self.index]:
                raise self.error(f"step {step} out of range 1-{_MAX_STEP[self.index]}", item)
        if start_tok == "*":
            start, end = self.low, self.high
        else:
            start = self.number(start_tok, item)
            if end_tok is not None:
                end = self.number(end_tok, item)
            elif step_tok is not None:
                end = self.high  # "v/s": from v to the end of the field
            else:
                return [start]
        if end >= start:
            return list(range(start, end + 1, step))
        if self.index == YEAR:
            raise self.error(f"range {start}-{end} runs backwards", item)
        # Wrapping range (hours 22-2, NOV-FEB, FRI-MON): walk past the top and wrap around.
        span = self.high - self.low + 1
        return [(v - self.low) % span + self.low for v in range(start, end + span + 1, step)]

    def reject_special(self, item: str) -> None:
        """Explain '?', 'L', 'W' and '#' where they are not allowed (they were not the whole field)."""
        alone = item == self.text
        if "?" in item:
            if self.index not in (DOM, DOW):
                raise self.error("'?' is only allowed in the day-of-month and day-of-week fields", item)
            raise self.error(
                "'?' must be the only value of the field" if not alone else "unexpected '?'", item
            )
        if self.index == DOM:
            if "L" in item or "W" in item:
                raise self.error(
                    "'L' and 'W' must be the only value of the field"
                    if not alone
                    else "expected L, L-n, LW, L-nW or nW (n a day 1-31, offset 0-30)",
                    item,
                )
        elif self.index == DOW:
            if "#" in item or item.startswith("L") or _DOW_LAST_PREFIX_RE.match(item):
                raise self.error(
                    "'L' and '#' must be the only value of the field"
                    if not alone
                    else "expected L, nL or n#k (n a day 1-7 or SUN-SAT, k 1-5)",
                    item,
                )
        elif "#" in item or item in ("L", "W", "LW") or item.startswith("L-"):
            raise self.error(
                "'L', 'W' and '#' are only allowed in the day-of-month and day-of-week fields", item
            )

    def dom_rule(self) -> DomRule:
        text = self.text
        if text == "?":
            return DomRule(DomKind.ANY)
        m = _DOM_LAST_RE.fullmatch(text)
        if m:
            offset = int(m.group(1)) if m.group(1) is not None else 0
            if offset > 30:
                raise self.error(f"offset from the last day {offset} out of range 0-30")
            return DomRule(DomKind.LAST_WEEKDAY if m.group(2) else DomKind.LAST, day=offset)
        m = _DOM_NEAREST_RE.fullmatch(text)
        if m:
            day = int(m.group(1))
            if not 1 <= day <= 31:
                raise self.error(f"value {day} out of range 1-31 before 'W'")
            return DomRule(DomKind.NEAREST_WEEKDAY, day=day)
        return DomRule(DomKind.SET, values=self.values())

    def dow_rule(self) -> DowRule:
        text = self.text
        if text == "?":
            return DowRule(DowKind.ANY)
        if text == "L":
            # Quartz: "L" alone in day-of-week simply means 7 (Saturday).
            return DowRule(DowKind.SET, values=(7,))
        m = _DOW_LAST_RE.fullmatch(text)
        if m:
            return DowRule(DowKind.LAST, weekday=self.number(m.group(1), text))
        m = _DOW_NTH_RE.fullmatch(text)
        if m:
            weekday = self.number(m.group(1), text)
            nth = int(m.group(2))
            if not 1 <= nth <= 5:
                raise self.error(f"occurrence {nth} after '#' out of range 1-5")
            return DowRule(DowKind.NTH, weekday=weekday, nth=nth)
        return DowRule(DowKind.SET, values=self.values())


def parse_spec(expression: str) -> CronSpec:
    """Parse a Quartz cron expression; raises :class:`CronError`."""
    if not isinstance(expression, str):
        raise CronError(repr(expression), "expression must be a string")
    fields = expression.upper().split()
    if len(fields) not in (6, 7):
        raise CronError(
            expression,
            f"expected 6 or 7 fields (second minute hour day-of-month month day-of-week [year]), "
            f"got {len(fields)}",
        )
    if len(fields) == 6:
        fields.append("*")
    parsers = [_FieldParser(expression, i, text) for i, text in enumerate(fields)]
    dom = parsers[DOM].dom_rule()
    dow = parsers[DOW].dow_rule()
    if (dom.kind is DomKind.ANY) == (dow.kind is DowKind.ANY):
        both = dom.kind is DomKind.ANY
        raise CronError(
            expression,
            "day-of-month and day-of-week cannot both be '?'"
            if both
            else "one of day-of-month and day-of-week must be '?' (Quartz does not support specifying both)",
            FIELD_NAMES[DOW],
            fields[DOW],
        )
    return CronSpec(
        seconds=parsers[SECOND].values(),
        minutes=parsers[MINUTE].values(),
        hours=parsers[HOUR].values(),
        dom=dom,
        months=parsers[MONTH].values(),
        dow=dow,
        years=parsers[YEAR].values(),
    )
