"""Output parameters of an attempt (``ParamTaskOutList``), read from its output.

Convention (docs/engine.md):

- A line ``${setValue(key=value)}`` (alone on its line, surrounding blanks ignored) publishes
  ``key`` = ``value``; the last one printed for a key wins.
- The task's **result** (what ``$[n][m]`` selectors read) is its last non-empty output line
  that is not a setValue line, split into cells on tabs, or on commas when there is no tab
  (``scheduling.parameters.parse_text_result``). A SQL task's result is its last result set
  (row n, column m of it), handed in by the engine from the attempt's outcome.
- A declared output whose definition is a selector takes the selected cell(s); a constant
  definition is rendered with the instance's parameters; a setValue for the same key wins over
  both. An output that cannot be produced is simply absent: a downstream instance that
  references it fails with a log line naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from wedata.scheduling.parameters import (
    ParameterError,
    RenderContext,
    output_parameter_value,
    parse_text_result,
)

SET_VALUE = re.compile(r"^\s*\$\{setValue\(\s*([^=()\s][^=()]*?)\s*=(.*)\)\}\s*$")
# Only this much of an attempt's output is examined (the tail holds the result line).
MAX_SCAN = 64 * 1024 * 1024


@dataclass
class Outputs:
    values: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # declared key -> why it is absent


@dataclass
class Scanned:
    """What an attempt's output says: its setValue lines and its result line. A remote worker
    scans its own output and sends this back with the attempt's end (executors/worker.py)."""

    set_values: dict[str, str] = field(default_factory=dict)
    result: str = ""  # the last non-empty line that is not a setValue line

    def to_json(self) -> dict[str, object]:
        return {"set_values": dict(self.set_values), "result": self.result}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Scanned:
        values = data.get("set_values")
        result = data.get("result")
        return cls({str(k): str(v) for k, v in values.items()} if isinstance(values, Mapping) else {},
                   result if isinstance(result, str) else "")


def _lines(path: str, offset: int) -> Iterator[str]:
    with open(path, "rb") as f:
        f.seek(offset)
        remaining = MAX_SCAN
        for raw in f:
            remaining -= len(raw)
            if remaining < 0:
                break
            yield raw.decode("utf-8", "replace").rstrip("\r\n")


def scan(path: str, offset: int) -> Scanned:
    out = Scanned()
    try:
        for line in _lines(path, offset):
            m = SET_VALUE.match(line)
            if m:
                out.set_values[m.group(1)] = m.group(2)
            elif line.strip():
                out.result = line
    except OSError:
        pass
    return out


def collect(path: str, offset: int, declared: Mapping[str, str], context: RenderContext | None,
            result_rows: Sequence[Sequence[str]] | None = None, scanned: Scanned | None = None) -> Outputs:
    """``result_rows``: the task's result when it has a tabular one of its own (a SQL task's last
    result set); otherwise the result line of the output. ``scanned``: the output as already
    scanned elsewhere (a remote worker's); else the log file ``path`` is read from ``offset``."""
    got = scanned if scanned is not None else scan(path, offset)
    rows: Sequence[Sequence[str]] | None = result_rows
    if rows is None and got.result:
        rows = parse_text_result(got.result)
    out = Outputs(values=dict(got.set_values))
    for key, definition in declared.items():
        if key in got.set_values:
            continue
        try:
            out.values[key] = output_parameter_value(definition, rows, context)
        except ParameterError as exc:
            out.missing[key] = str(exc)
    return out
