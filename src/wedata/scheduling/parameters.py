"""Scheduling parameters and time variables: ``${yyyyMMdd-1d}``, ``${dt}``, ``$[0][1]``.

Syntax handled by :func:`render` (full rules and examples in docs/scheduling.md):

- ``${name}``: a parameter, looked up in RedefineParamList overrides, then the task's input
  parameters (values passed from upstream, substituted verbatim), then the task's, the
  workflow's and the project's parameters. Values other than inputs are rendered themselves,
  so ``dt = ${yyyyMMdd-1d}`` works; reference cycles raise :class:`ParameterCycleError`.
- ``${<format><terms>}``: the instance **data time** formatted with ``yyyy yy MM dd HH mm ss``
  (Java case: MM month, mm minute) and any separators, after applying the terms left to right:
  ``±N`` + ``y M w d H h m`` (``h`` = ``H``; a bare ``±N`` means days), or a WeData shortcut
  ``+TS +TE +MS +ME +QS +QE +HYS +HYE +YS +YE +PME +PYE`` (ten-day, month, quarter,
  half-year, year start/end; previous month/year end). ``+QS`` is our addition.
- ``${timestamp}`` / ``${timestamp_ms}``: epoch seconds / milliseconds of the data time in the
  task zone; unit terms move the time, a bare ``±N`` adds seconds (milliseconds).
- ``${UTC+0_yyyyMMdd}``: the same, with the data time first converted to another ``UTC±H[:MM]``.
- ``$(...)``: the same time expressions against the **planned (scheduled) time**. Anything else
  in ``$(...)`` is left alone, so shell command substitution keeps working.
- ``$[n][m]``, ``$[n][*]``, ``$[*][n]``, ``$[*][*]``, ``$[n]``: result selectors, only when the
  context carries a result (output-parameter definitions); otherwise left alone.
- ``$${...}``, ``$$(...)``, ``$$[...]``: the escape, rendered as the literal ``${...}``,
  ``$(...)``, ``$[...]`` without looking inside (Terraform's and Maven's spelling; the same for
  Shell, Python and SQL code). ``$$`` before anything else is left alone (the shell's pid).
- ``${setValue(key=value)}``: an output line the task prints (docs/engine.md); left verbatim.

Unknown ``${...}`` names raise :class:`UnknownVariableError` naming each (a malformed time
expression such as ``${yyyyMMd}`` is called that), with the line it is on, unless the context is
not strict, in which case they are left verbatim. ``RenderContext.foreign`` names the ``${...}``
that belong to the code's own language (a Shell task's own variables,
scheduling/shellnames.py): those are left verbatim even when strict.
"""

from __future__ import annotations

import calendar as _stdcal
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from wedata.scheduling.datatimes import add_months
from wedata.scheduling.timezones import DEFAULT_ZONE, parse_zone, utc_to_wall, wall_to_utc

__all__ = [
    "ParameterCycleError",
    "ParameterError",
    "RenderContext",
    "ResultSelectorError",
    "UnknownVariableError",
    "Unresolved",
    "evaluate_time_expression",
    "is_result_selector",
    "looks_like_time",
    "output_parameter_value",
    "own_output_constants",
    "parse_text_result",
    "referenced_names",
    "render",
    "resolve_parameters",
    "select_result",
]


class ParameterError(ValueError):
    """A parameter or time expression that cannot be rendered."""


@dataclass(frozen=True, slots=True)
class Unresolved:
    """One ``${...}`` that cannot be rendered: where it is (1-based lines of the text rendered,
    or the parameter whose value holds it) and what it looks like."""

    name: str
    lines: tuple[int, ...] = ()
    in_params: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        if not self.name:
            return "empty parameter name"
        return "malformed time expression" if looks_like_time(self.name) else "unknown parameter"

    def describe(self) -> str:
        where = []
        if self.lines:
            where.append(("line " if len(self.lines) == 1 else "lines ") + ", ".join(str(n) for n in self.lines))
        where.extend(f"in the value of parameter {p}" for p in self.in_params)
        return f"{self.kind} ${{{self.name}}}" + (f" ({'; '.join(where)})" if where else "")


class UnknownVariableError(ParameterError):
    """``${...}`` that are neither a parameter nor a time expression, each named once."""

    def __init__(self, names: Sequence[str | Unresolved]) -> None:
        self.problems = tuple(n if isinstance(n, Unresolved) else Unresolved(n) for n in names)
        self.names = tuple(p.name for p in self.problems)
        super().__init__("; ".join(p.describe() for p in self.problems))


class ParameterCycleError(ParameterError):
    def __init__(self, chain: Sequence[str]) -> None:
        self.chain = tuple(chain)
        super().__init__("parameter reference cycle: " + " -> ".join(self.chain))


class ResultSelectorError(ParameterError):
    """A ``$[..]`` selector outside the result (a missing output fails the downstream)."""


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What a template is rendered against. Times are naive wall-clock times in ``zone``."""

    data_time: datetime
    scheduled_time: datetime | None = None  # the planned time; defaults to data_time
    zone: str = DEFAULT_ZONE
    task_params: Mapping[str, str] = field(default_factory=dict)
    workflow_params: Mapping[str, str] = field(default_factory=dict)
    project_params: Mapping[str, str] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)  # ParamTaskInList values, verbatim
    overrides: Mapping[str, str] = field(default_factory=dict)  # RedefineParamList
    result: Sequence[Sequence[str]] | None = None  # tabular result for $[..] selectors
    strict: bool = True
    # The text inside a ${...} that belongs to the code's language (a Shell variable): verbatim.
    foreign: Callable[[str], bool] | None = None

    @property
    def planned_time(self) -> datetime:
        return self.data_time if self.scheduled_time is None else self.scheduled_time


# -- time expressions --------------------------------------------------------------------------

_ANCHORS = ("PME", "PYE", "HYE", "HYS", "TE", "TS", "ME", "MS", "QE", "QS", "YE", "YS")
_TERM = re.compile(r"([+-])(\d{1,9})([yMwdHhm]?)|\+(" + "|".join(_ANCHORS) + ")")
_TERMS = re.compile(r"(?:[+-]\d{1,9}[yMwdHhm]?|\+(?:" + "|".join(_ANCHORS) + "))*")
_FORMAT_TOKEN = re.compile(r"yyyy|yy|MM|dd|HH|mm|ss|[^A-Za-z0-9${}()\[\]]")
_ZONE_PREFIX = re.compile(r"(?:UTC|GMT)(?:[+-]\d{1,2}(?::?\d{2})?)?_")
_FIELDS = frozenset(("yyyy", "yy", "MM", "dd", "HH", "mm", "ss"))

Term = tuple[int, str]  # (signed amount, unit) or (0, anchor)


@dataclass(frozen=True, slots=True)
class _TimeExpr:
    zone: str | None
    kind: str  # "format" | "timestamp" | "timestamp_ms"
    tokens: tuple[str, ...]
    terms: tuple[Term, ...]


def _tokenize_format(text: str) -> tuple[str, ...] | None:
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        m = _FORMAT_TOKEN.match(text, pos)
        if m is None:
            return None
        tokens.append(m.group(0))
        pos = m.end()
    return tuple(tokens) if any(t in _FIELDS for t in tokens) else None


@lru_cache(maxsize=4096)
def _parse_time_expr(text: str) -> _TimeExpr | None:
    zone: str | None = None
    body = text
    zm = _ZONE_PREFIX.match(body)
    if zm is not None:
        zone, body = zm.group(0)[:-1], body[zm.end() :]
    # The format is the shortest head after which everything is offset terms: a format's own
    # separators ("-", ":") never start a term because terms need digits or a shortcut name.
    for i in range(len(body) + 1):
        head, tail = body[:i], body[i:]
        if not head or _TERMS.fullmatch(tail) is None:
            continue
        tokens: tuple[str, ...] = ()
        if head in ("timestamp", "timestamp_ms"):
            kind = head
        else:
            parsed = _tokenize_format(head)
            if parsed is None:
                continue
            kind, tokens = "format", parsed
        terms: list[Term] = []
        for m in _TERM.finditer(tail):
            if m.group(4):
                terms.append((0, m.group(4)))
            else:
                terms.append((int(m.group(2)) * (-1 if m.group(1) == "-" else 1), m.group(3)))
        return _TimeExpr(zone, kind, tokens, tuple(terms))
    return None


_TIME_LETTERS = frozenset("yYMdDHhmsS")


def looks_like_time(text: str) -> bool:
    """Whether ``text`` (inside ``${}``) was meant as a time expression: a zone prefix, a
    ``timestamp`` form, or a leading run of date letters holding a year, month, day or hour
    field (``yyyyMMd``, ``YYYYMMDD``, ``yyyyMMdd-1x``). Used to word errors, never to render."""
    body = text.strip()
    zm = _ZONE_PREFIX.match(body)
    if zm is not None or body.startswith("timestamp"):
        return True
    m = re.match(r"[A-Za-z]+", body)
    if m is None:
        return False
    run = m.group(0)
    return set(run) <= _TIME_LETTERS and any(f in run for f in ("yy", "YY", "MM", "dd", "DD", "HH"))


def _last_day(t: datetime) -> int:
    return _stdcal.monthrange(t.year, t.month)[1]


def _anchor(t: datetime, name: str) -> datetime:
    """WeData's date shortcuts; the time of day is kept."""
    if name == "TS":
        return t.replace(day=1 if t.day <= 10 else 11 if t.day <= 20 else 21)
    if name == "TE":
        return t.replace(day=10 if t.day <= 10 else 20 if t.day <= 20 else _last_day(t))
    if name == "MS":
        return t.replace(day=1)
    if name == "ME":
        return t.replace(day=_last_day(t))
    if name in ("QS", "QE"):
        first = t.replace(month=(t.month - 1) // 3 * 3 + 1, day=1)
        return first if name == "QS" else add_months(first, 2).replace(day=_last_day(add_months(first, 2)))
    if name == "HYS":
        return t.replace(month=1 if t.month <= 6 else 7, day=1)
    if name == "HYE":
        return t.replace(month=6, day=30) if t.month <= 6 else t.replace(month=12, day=31)
    if name == "YS":
        return t.replace(month=1, day=1)
    if name == "YE":
        return t.replace(month=12, day=31)
    if name == "PME":
        return t.replace(day=1) - timedelta(days=1)
    if name == "PYE":
        return t.replace(year=t.year - 1, month=12, day=31)
    raise ParameterError(f"unknown date shortcut +{name}")  # pragma: no cover - regex-guarded


def _shift(t: datetime, amount: int, unit: str) -> datetime:
    if unit == "y":
        return add_months(t, 12 * amount)
    if unit == "M":
        return add_months(t, amount)
    if unit == "w":
        return t + timedelta(weeks=amount)
    if unit in ("d", ""):
        return t + timedelta(days=amount)
    if unit in ("H", "h"):
        return t + timedelta(hours=amount)
    return t + timedelta(minutes=amount)


def _evaluate(expr: _TimeExpr, base: datetime, zone: str) -> str:
    t = base
    if expr.zone is not None:
        t = utc_to_wall(wall_to_utc(base, parse_zone(zone)), parse_zone(expr.zone))
    numeric = 0  # bare +-N on timestamps: seconds / milliseconds added to the number
    try:
        for amount, unit in expr.terms:
            if amount == 0 and unit in _ANCHORS:
                t = _anchor(t, unit)
            elif unit == "" and expr.kind != "format":
                numeric += amount
            else:
                t = _shift(t, amount, unit)
    except (OverflowError, ValueError) as exc:
        raise ParameterError(f"time expression out of range: {exc}") from exc
    if expr.kind != "format":
        # The instant of the wall time in its zone (the task zone unless a prefix was given).
        instant = wall_to_utc(t, parse_zone(expr.zone or zone))
        seconds = int(instant.timestamp())
        return str(seconds + numeric) if expr.kind == "timestamp" else str(seconds * 1000 + numeric)
    parts: list[str] = []
    for tok in expr.tokens:
        if tok == "yyyy":
            parts.append(f"{t.year:04d}")
        elif tok == "yy":
            parts.append(f"{t.year % 100:02d}")
        elif tok == "MM":
            parts.append(f"{t.month:02d}")
        elif tok == "dd":
            parts.append(f"{t.day:02d}")
        elif tok == "HH":
            parts.append(f"{t.hour:02d}")
        elif tok == "mm":
            parts.append(f"{t.minute:02d}")
        elif tok == "ss":
            parts.append(f"{t.second:02d}")
        else:
            parts.append(tok)
    return "".join(parts)


def evaluate_time_expression(text: str, base: datetime, zone: str = DEFAULT_ZONE) -> str | None:
    """Render one time expression (the text inside ``${}``) against ``base``; None if ``text``
    is not a time expression."""
    expr = _parse_time_expr(text.strip())
    return None if expr is None else _evaluate(expr, base, zone)


# -- result selectors ----------------------------------------------------------------------------

_SELECTOR = re.compile(r"\$\[\s*(\d+|\*)\s*\](?:\[\s*(\d+|\*)\s*\])?")


def is_result_selector(text: str) -> bool:
    return _SELECTOR.fullmatch(text.strip()) is not None


def _cell(rows: Sequence[Sequence[str]], r: int, c: int, selector: str) -> str:
    if r >= len(rows) or c >= len(rows[r]):
        raise ResultSelectorError(f"{selector} is outside the result ({len(rows)} row(s))")
    return str(rows[r][c])


def select_result(selector: str, rows: Sequence[Sequence[str]]) -> str:
    """Apply a ``$[..]`` selector to a tabular result (rows of strings, 0-based).

    One cell -> the cell; one row or column -> cells joined with ``,``; ``$[*][*]`` -> a JSON
    array of arrays. ``$[n]`` is ``$[n][0]``.
    """
    m = _SELECTOR.fullmatch(selector.strip())
    if m is None:
        raise ResultSelectorError(f"not a result selector: {selector!r}")
    row, col = m.group(1), m.group(2) or "0"
    if row != "*" and col != "*":
        return _cell(rows, int(row), int(col), selector)
    if row != "*":
        r = int(row)
        if r >= len(rows):
            raise ResultSelectorError(f"{selector} is outside the result ({len(rows)} row(s))")
        return ",".join(str(v) for v in rows[r])
    if col != "*":
        return ",".join(_cell(rows, r, int(col), selector) for r in range(len(rows)))
    return json.dumps([[str(v) for v in r] for r in rows], ensure_ascii=False)


def parse_text_result(text: str, *, last_line_only: bool = True) -> list[list[str]]:
    """The tabular "result" of a Shell/Python task's stdout (spec §6.25).

    Rows are non-empty lines (only the last one by default); cells are split on tabs when the
    line has any, otherwise on commas, and stripped.
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if last_line_only:
        lines = lines[-1:]
    return [[c.strip() for c in (ln.split("\t") if "\t" in ln else ln.split(","))] for ln in lines]


# -- rendering -----------------------------------------------------------------------------------

# The escape ``$$`` before a bracket comes first: ``$${x}`` is the literal ``${x}``.
_PLACEHOLDER = re.compile(r"\$\$(?=[{(\[])|\$\{([^{}]*)\}|\$\(([^()]*)\)|\$\[[^\[\]]*\](?:\[[^\[\]]*\])?")
_SET_VALUE = re.compile(r"setValue\s*\(.*\)", re.DOTALL)


class _Renderer:
    def __init__(self, context: RenderContext) -> None:
        self.ctx = context
        self.unknown: dict[str, tuple[list[int], list[str]]] = {}  # name -> (lines, params)
        self.cache: dict[str, str] = {}
        self.stack: list[str] = []

    def lookup(self, name: str) -> str | None:
        ctx = self.ctx
        if name in ctx.overrides:
            return self.param(name, ctx.overrides[name])
        if name in ctx.inputs:
            return ctx.inputs[name]  # produced by an upstream run: data, never a template
        for scope in (ctx.task_params, ctx.workflow_params, ctx.project_params):
            if name in scope:
                return self.param(name, scope[name])
        return None

    def param(self, name: str, raw: str) -> str:
        if name in self.cache:
            return self.cache[name]
        if name in self.stack:
            raise ParameterCycleError([*self.stack[self.stack.index(name) :], name])
        self.stack.append(name)
        try:
            value = self.render(raw)
        finally:
            self.stack.pop()
        self.cache[name] = value
        return value

    def render(self, text: str) -> str:
        if "$" not in text:
            return text
        return _PLACEHOLDER.sub(self.replace, text)

    def note_unknown(self, name: str, m: re.Match[str]) -> None:
        lines, params = self.unknown.setdefault(name, ([], []))
        if self.stack:  # inside a parameter's value: name the parameter, not a line
            if self.stack[-1] not in params:
                params.append(self.stack[-1])
            return
        line = m.string.count("\n", 0, m.start()) + 1
        if line not in lines:
            lines.append(line)

    def replace(self, m: re.Match[str]) -> str:
        whole = m.group(0)
        ctx = self.ctx
        if whole == "$$":
            return "$"  # the escape: the bracket after it is copied as it is
        if whole.startswith("${"):
            inner = m.group(1)
            name = inner.strip()
            value = self.lookup(name) if name else None
            if value is not None:
                return value
            expr = _parse_time_expr(name)
            if expr is not None:
                return _evaluate(expr, ctx.data_time, ctx.zone)
            if _SET_VALUE.fullmatch(name) or (ctx.foreign is not None and ctx.foreign(inner)):
                return whole
            self.note_unknown(name, m)
            return whole
        if whole.startswith("$("):
            expr = _parse_time_expr(m.group(2).strip())
            return whole if expr is None else _evaluate(expr, ctx.planned_time, ctx.zone)
        if ctx.result is not None and _SELECTOR.fullmatch(whole):
            return select_result(whole, ctx.result)
        return whole

    def error(self) -> UnknownVariableError:
        return UnknownVariableError(
            [Unresolved(n, tuple(lines), tuple(params)) for n, (lines, params) in self.unknown.items()]
        )


def render(text: str, context: RenderContext) -> str:
    """Substitute every parameter, time expression and (with a result) selector in ``text``."""
    r = _Renderer(context)
    out = r.render(text)
    if r.unknown and context.strict:
        raise r.error()
    return out


def referenced_names(text: str) -> list[str]:
    """The ``${...}`` contents in ``text`` that are not time expressions (parameter names)."""
    names: list[str] = []
    for m in _PLACEHOLDER.finditer(text):
        inner = m.group(1)
        if inner is None or _SET_VALUE.fullmatch(inner.strip()):
            continue
        name = inner.strip()
        if _parse_time_expr(name) is None and name not in names:
            names.append(name)
    return names


def resolve_parameters(context: RenderContext) -> dict[str, str]:
    """Every parameter visible to the task with its rendered value (precedence applied),
    e.g. to export them as environment variables."""
    ctx = context
    names: list[str] = []
    for scope in (ctx.project_params, ctx.workflow_params, ctx.task_params, ctx.inputs, ctx.overrides):
        names.extend(n for n in scope if n not in names)
    r = _Renderer(ctx)
    out = {}
    for name in names:
        value = r.lookup(name)
        assert value is not None
        out[name] = value
    if r.unknown and ctx.strict:
        raise r.error()
    return out


def own_output_constants(out_params: Mapping[str, str]) -> dict[str, str]:
    """A task's ParamTaskOutList entries that are constants (not ``$[..]`` selectors): its code
    may read them as ``${key}`` (a selector's value exists only after the run)."""
    return {k: v for k, v in out_params.items() if not is_result_selector(v)}


def output_parameter_value(
    definition: str, rows: Sequence[Sequence[str]] | None, context: RenderContext | None = None
) -> str:
    """The value an ``OutTaskParameter`` produces: a ``$[..]`` selector over the task's result,
    or a constant (rendered against ``context`` when given, so ``${yyyyMMdd}`` works)."""
    if is_result_selector(definition):
        if rows is None:
            raise ResultSelectorError(f"{definition} needs a result, but the task produced none")
        return select_result(definition, rows)
    if context is None:
        return definition
    return render(definition, context)
