"""The grid's rows and the charts' geometry, built on the server without a browser: every text
escaped, every cell where its data time is, bars where their times are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from wedata.console import charts
from wedata.console.dag import Node
from wedata.console.pages.grid import grid_body
from wedata.services.instances.workflow_runs import GridWindow, Timed

T0 = datetime(2026, 3, 1)
EVIL = "<img src=x onerror=alert(1)>&\"'"


def test_grid_rows_escape_every_name_and_put_each_cell_under_its_data_time() -> None:
    times = [T0, T0 + timedelta(days=1), T0 + timedelta(days=2)]
    rows = [Node("t1", EVIL, "35"), Node("t 2", "plain", "35")]
    window = GridWindow(times, {"t1": ["COMPLETED", None, "EXPIRED"], "t 2": [None, "RUNNING", None],
                                "t3": ["COMPLETED", None, None]})  # t3: not a row of this page, not drawn
    body = str(grid_body([*rows, Node("idle", "no runs", "35")], window, "/console/p/1/instance"))
    assert "<img" not in body and "&lt;img src=x onerror=alert(1)&gt;&amp;&#34;&#39;" in body
    first, second, idle = body.split("\n")
    assert idle.count("st-empty") == 3 and "no runs" in idle and "t3" not in body
    cells = first.split("<td>")[1:]
    assert len(cells) == 3
    assert 'data-state="COMPLETED"' in cells[0] and "st-ok" in cells[0]
    assert 'href="/console/p/1/instance?key=t1_2026-03-01+00%3A00%3A00"' in cells[0]
    assert "st-empty" in cells[1]
    assert 'data-state="EXPIRED"' in cells[2] and "2026-03-03 00:00:00 · failed" in cells[2]
    cells = second.split("<td>")[1:]
    assert ["st-empty" in c for c in cells] == [True, False, True]
    assert "key=t+2_2026-03-02" in cells[1] and 'title="plain · 2026-03-02 00:00:00 · running"' in cells[1]


def timed(name: str, sched: int, start: int | None, end: int | None, state: str = "COMPLETED") -> Timed:
    def at(seconds: int | None) -> datetime | None:
        return None if seconds is None else T0 + timedelta(seconds=seconds)

    return Timed(name, name, T0, state, T0 + timedelta(seconds=sched), at(start), at(end),
                 None if start is None or end is None else (end - start) * 1000)


def test_gantt_bars_wait_from_the_schedule_and_run_from_start_to_end() -> None:
    now = T0 + timedelta(seconds=200)
    chart = charts.gantt([timed("a", 0, 0, 100), timed("b", 0, 100, None, "RUNNING"),
                          timed("c", 0, None, None, "WAIT_UPSTREAM")], now)
    a, b, c = chart.rows
    plot = charts.PLOT_W / 200  # the chart spans 0 .. now
    assert a.wait is None and a.run is not None
    assert (a.run.x, a.run.w) == (charts.LABEL_W, 100 * plot) and a.run.css == "st-ok"
    assert b.wait is not None and b.run is not None
    assert (b.wait.x, b.wait.w) == (charts.LABEL_W, 100 * plot)  # waited for a
    assert b.run.x == charts.LABEL_W + 100 * plot and b.run.w == 100 * plot  # runs until now
    assert b.title == "b: running, waited 1 min 40 s, ran 1 min 40 s so far"
    assert c.run is None and c.wait is not None and c.wait.w == 200 * plot  # still waiting
    assert a.ran == "1 min 40 s" and c.started == "" and chart.data_time == "2026-03-01 00:00:00"
    assert chart.ticks[0] == (charts.LABEL_W, "00:00:00") and chart.ticks[-1][1] == "00:03:20"
    assert charts.gantt([], now).rows == []


@dataclass
class Plain:
    task_id: str
    data_time: datetime
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    cost_ms: int | None


def test_duration_columns_are_oldest_first_and_as_tall_as_the_run() -> None:
    now = T0 + timedelta(days=5)
    items = [Plain("t", T0 + timedelta(days=2), "RUNNING", now - timedelta(seconds=30), None, None),
             Plain("t", T0, "COMPLETED", T0, T0 + timedelta(seconds=60), 60_000),
             Plain("t", T0 + timedelta(days=1), "EXPIRED", T0, T0 + timedelta(seconds=15), 15_000),
             Plain("t", T0 + timedelta(days=3), "WAIT_UPSTREAM", None, None, None)]
    chart = charts.durations(items, now)
    assert [c.data_time[:10] for c in chart.columns] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    full, quarter, half, none = chart.columns
    assert full.h == charts.CHART_H and quarter.h == charts.CHART_H / 4 and half.h == charts.CHART_H / 2
    assert none.h == 0 and none.duration == "did not run"
    assert full.title == "2026-03-01 00:00:00: 1 min 00 s (succeeded)" and quarter.css == "st-failed"
    assert chart.top == "1 min 00 s" and chart.average == "35.0 s"
    assert full.key == "t_2026-03-01 00:00:00"
