"""The Gantt of a day: every instance of the project (or of one workflow) whose data time falls on
a chosen day, drawn on the server as SVG like the Gantt of a run (console/charts.py).

- ``/p/{project}/gantt?day=yyyy-MM-dd&workflow=<id>``: ``day`` defaults to today (UTC);
  ``workflow`` empty is the whole project.

Which instances: those whose **data time** is on the day (the date of the InstanceKey, in each
task's own zone, never shifted), not those that happened to run on it: the data time is what
the grid, the instance list and a backfill range speak of, and it is an index range per task
(``services.instances.workflow_runs.day``), while "ran that day" would have to scan the
history (an old data time backfilled today). The bars are the instances' real UTC times: a
backfilled instance of the day is drawn when it ran. At most 500 instances are drawn (the
page says how many there are).

Membership: GetWorkflow (a workflow) or ListWorkflows (the project; GetProject is tenant-wide)
is called first, through the actions; the instances are then read from the service.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.responses import Response

from wedata.console import charts
from wedata.console.frame import Pages, View
from wedata.console.reads import all_items

pages = Pages()

MAX_BARS = 500  # 1,000 rows cost ~120 ms of CPU to draw (tools/bench/console.py); a workflow narrows it


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def label(item: Any) -> str:
    """The task's name, and the data time's clock when it is not midnight (hourly tasks have
    24 instances a day)."""
    clock = item.data_time.time()
    return item.name if clock == time() else f"{item.name} {clock:%H:%M}"


@pages.get("/p/{project_id}/gantt")
def day_gantt(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    workflow_id = v.arg("workflow")
    now = utc_now()
    text = v.arg("day")
    error = ""
    try:
        day = date.fromisoformat(text) if text else now.date()
    except ValueError:
        day, error = now.date(), f"day: {text!r} is not a date formatted yyyy-MM-dd; showing today."
    # Membership first, through the actions (and the workflow must exist in the project).
    workflows, _ = all_items(a, "ListWorkflows", page_size=200, max_items=1000, ProjectId=project_id)
    workflow = a.data("GetWorkflow", ProjectId=project_id, WorkflowId=workflow_id) if workflow_id else None
    items, total = v.console.runs.day(project_id, day, workflow_id or None, MAX_BARS)
    chart = charts.gantt(items, now, label)
    return v.render("day_gantt.html", project=project, workflows=workflows, workflow=workflow,
                    workflow_id=workflow_id, day=day.isoformat(), previous=(day - timedelta(days=1)).isoformat(),
                    following=(day + timedelta(days=1)).isoformat(), chart=chart, total=total, error=error)
