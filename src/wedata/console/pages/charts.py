"""Charts: the Gantt of a workflow's latest run and a task's duration history, drawn on the
server as SVG (console/charts.py) with the same figures as a table.

- ``/p/{project}/workflows/{workflow}/gantt``: GetWorkflow (the action checks membership), then
  the instances of the workflow's latest run with their times, one query
  (``services.instances.workflow_runs.timeline``): per task, waiting (scheduled time to start)
  and running (start to end).
- ``/p/{project}/tasks/{task}/durations``: GetTask, then the task's newest instances with their
  times (``workflow_runs.durations``, ``?n=`` of them, default 30, at most 100).
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response

from wedata.console import charts
from wedata.console.frame import Pages, View

pages = Pages()

def utc_now() -> datetime:
    """Naive UTC, as the instances' times are stored: the end of a bar still running."""
    return datetime.now(UTC).replace(tzinfo=None)


DEFAULT_RUNS = 30
MAX_RUNS = 100


@pages.get("/p/{project_id}/workflows/{workflow_id}/gantt")
def gantt(v: View) -> Response:
    project_id, workflow_id = v.param("project_id"), v.param("workflow_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    flow = a.data("GetWorkflow", ProjectId=project_id, WorkflowId=workflow_id)
    chart = charts.gantt(v.console.runs.timeline(project_id, workflow_id), utc_now())
    return v.render("gantt.html", project=project, workflow=flow, workflow_id=workflow_id, chart=chart)


@pages.get("/p/{project_id}/tasks/{task_id}/durations")
def durations(v: View) -> Response:
    project_id, task_id = v.param("project_id"), v.param("task_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    task = a.data("GetTask", ProjectId=project_id, TaskId=task_id)
    try:
        n = min(MAX_RUNS, max(1, int(v.arg("n") or DEFAULT_RUNS)))
    except ValueError:
        n = DEFAULT_RUNS
    chart = charts.durations(v.console.runs.durations(project_id, task_id, n), utc_now())
    return v.render("durations.html", project=project, task=task, task_id=task_id, chart=chart, n=n)
