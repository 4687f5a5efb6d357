"""Charts drawn on the server as SVG geometry: a Gantt chart of a workflow's run and a task's
duration history. The templates (``_gantt.svg.html``, ``_durations.svg.html``) turn the shapes
into SVG elements, autoescaped; every bar has a ``<title>`` (a tooltip and an accessible name),
and each page shows the same figures as a table, so nothing is only in the picture.

Times are the instances' UTC instants (``services.instances.workflow_runs.Timed``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from wedata.console.render import state_class, state_words
from wedata.scheduling.walltime import format_wall

LABEL_W = 220  # the task names' column
PLOT_W = 860
ROW_H = 22
BAR_H = 14
AXIS_H = 24
TICKS = 6


def seconds_text(seconds: float | None) -> str:
    """12.3 s, 4 min 05 s, 2 h 03 min."""
    if seconds is None:
        return ""
    s = max(0.0, seconds)
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(int(s), 60)
    if m < 60:
        return f"{m} min {sec:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    w: float
    css: str


@dataclass(frozen=True, slots=True)
class GanttRow:
    y: float
    name: str
    task_id: str
    state: str
    css: str
    words: str
    wait: Bar | None
    run: Bar | None
    title: str
    started: str
    ended: str
    waited: str
    ran: str
    key: str = ""  # the instance's InstanceKey
    data_time: str = ""


@dataclass
class Gantt:
    rows: list[GanttRow] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    width: int = LABEL_W + PLOT_W
    height: int = AXIS_H
    data_time: str = ""
    start: str = ""
    end: str = ""


def _clock(t: datetime) -> str:
    return t.strftime("%H:%M:%S")


def gantt(items: Sequence[Any], now: datetime, label: Callable[[Any], str] | None = None) -> Gantt:
    """Bars for the instances of one run (or of a day): waiting (from the scheduled time, or the
    chart's start when that is earlier) then running (to the end, or to ``now`` while it runs).
    ``label`` names a row (default: the task's name)."""
    chart = Gantt()
    if not items:
        return chart
    starts = [i.started_at for i in items if i.started_at is not None]
    t0 = min(starts) if starts else min(i.scheduled_at for i in items)
    ends = [i.ended_at or (now if i.started_at is not None else None) for i in items]
    t1 = max([e for e in ends if e is not None] + [t0 + timedelta(seconds=1)])
    span = (t1 - t0).total_seconds()

    def x(t: datetime) -> float:
        return LABEL_W + max(0.0, min(1.0, (t - t0).total_seconds() / span)) * PLOT_W

    for n, item in enumerate(items):
        y = AXIS_H + n * ROW_H
        end = item.ended_at or (now if item.started_at is not None else None)
        wait_from = max(item.scheduled_at, t0)
        wait_to = item.started_at or (now if item.ended_at is None and item.scheduled_at <= now else None)
        wait = Bar(x(wait_from), max(1.0, x(wait_to) - x(wait_from)), "wait") if wait_to and wait_to > wait_from else None
        run = Bar(x(item.started_at), max(2.0, x(end) - x(item.started_at)), state_class(item.state)) \
            if item.started_at is not None and end is not None else None
        waited = (item.started_at - item.scheduled_at).total_seconds() if item.started_at else None
        ran = (end - item.started_at).total_seconds() if item.started_at and end else None
        words = state_words(item.state)
        name = label(item) if label is not None else item.name
        title = f"{name}: {words}"
        if waited is not None and waited > 0:
            title += f", waited {seconds_text(waited)}"
        if ran is not None:
            title += f", ran {seconds_text(ran)}" + ("" if item.ended_at else " so far")
        wall = format_wall(item.data_time)
        chart.rows.append(GanttRow(y, name, item.task_id, item.state, state_class(item.state), words, wait, run,
                                   title, format_wall(item.started_at) if item.started_at else "",
                                   format_wall(item.ended_at) if item.ended_at else "",
                                   seconds_text(waited) if waited and waited > 0 else "", seconds_text(ran),
                                   f"{item.task_id}_{wall}", wall))
    chart.ticks = [(LABEL_W + PLOT_W * k / (TICKS - 1), _clock(t0 + timedelta(seconds=span * k / (TICKS - 1))))
                   for k in range(TICKS)]
    chart.height = AXIS_H + len(items) * ROW_H + 4
    chart.data_time = format_wall(items[0].data_time)
    chart.start, chart.end = format_wall(t0), format_wall(t1)
    return chart


CHART_H = 180
COL_W = 24


@dataclass(frozen=True, slots=True)
class Column:
    x: float
    y: float
    h: float
    css: str
    title: str
    key: str
    data_time: str
    words: str
    duration: str


@dataclass
class Durations:
    columns: list[Column] = field(default_factory=list)
    width: int = 60
    height: int = CHART_H + 30
    top: str = ""  # the longest duration, the y axis' top
    average: str = ""


def durations(items: Sequence[Any], now: datetime) -> Durations:
    """One column per instance (oldest on the left), as tall as it ran: ``cost_ms``, or start to
    end, or start to ``now`` while it runs; instances that never started have no column height."""
    chart = Durations()
    ordered = sorted(items, key=lambda i: i.data_time)
    secs: list[float | None] = []
    for i in ordered:
        if i.cost_ms is not None and i.ended_at is not None:
            secs.append(i.cost_ms / 1000)
        elif i.started_at is not None:
            secs.append(((i.ended_at or now) - i.started_at).total_seconds())
        else:
            secs.append(None)
    known = [s for s in secs if s is not None]
    top = max(known + [1.0])
    for n, (item, s) in enumerate(zip(ordered, secs, strict=True)):
        h = 0.0 if s is None else max(2.0, CHART_H * s / top)
        wall = format_wall(item.data_time)
        words = state_words(item.state)
        text = seconds_text(s) if s is not None else "did not run"
        chart.columns.append(Column(50 + n * COL_W, CHART_H - h + 10, h, state_class(item.state),
                                    f"{wall}: {text} ({words})", f"{item.task_id}_{wall}", wall, words, text))
    chart.width = 60 + len(ordered) * COL_W
    chart.top = seconds_text(top)
    chart.average = seconds_text(sum(known) / len(known)) if known else ""
    return chart
