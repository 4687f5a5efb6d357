"""Trigger workflows (workflow-scheduling projects) and their runs.

- ``/p/{project}/trigger-workflows``: ListTriggerWorkflows (PAGE_SIZE a page, ``?keyword=``
  the action's Keyword) and the project's latest runs (ListTriggerWorkflowRuns, newest first).
- ``/p/{project}/trigger-workflows/{workflow}``: GetTriggerWorkflow (its triggers and run
  settings) and its runs (ListTriggerWorkflowRuns filtered by WorkflowId, newest first, paged,
  ``?state=`` the action's ExecutionState filter).
- ``/p/{project}/trigger-runs/{execution}``: GetTriggerWorkflowRun: the run (state, trigger,
  times, parameters) and each task run with its state, start, end, time taken, upstream and
  error, linking to its instance page (a task run is an engine instance: its JobId is the
  InstanceKey, docs/triggers.md), where its log streams. While the run has not finished the
  table reloads itself every RELOAD seconds (htmx).

In a task-scheduling project the trigger actions answer UnsupportedOperation; the page shows
that error. A caller who is not a member is refused by the actions (403).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from wedata.console.frame import Pages, View

pages = Pages()

PAGE_SIZE = 20
RECENT = 10
RELOAD = 2
FINISHED = ("SUCCESS", "FAILED", "SKIP")
NEWEST = [{"Name": "CreateTime", "Direction": "DESC"}]
STATES = ("QUEUED", "PENDING", "RUNNING", "SUCCESS", "FAILED", "SKIP")
# A run's or task run's ExecutionState -> the colour class the instance states use (render.py).
STATE_CLASS = {"SUCCESS": "st-ok", "FAILED": "st-failed", "RUNNING": "st-running", "QUEUED": "st-queued",
               "PENDING": "st-waiting", "SKIP": "st-skipped"}


def when(millis: str | int | None) -> str:
    """A trigger-domain time (epoch milliseconds) as UTC wall time."""
    if millis in (None, ""):
        return ""
    try:
        return datetime.fromtimestamp(int(millis) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OverflowError):
        return str(millis)


def took(millis: str | int | None) -> str:
    """A duration in milliseconds in words: "1 min 5 s", "0.4 s"."""
    if millis in (None, ""):
        return ""
    try:
        ms = int(float(millis))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(millis)
    if ms < 10_000:
        return f"{ms / 1000:.1f} s"
    seconds = ms // 1000
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return " ".join(p for p in (f"{hours} h" if hours else "", f"{minutes} min" if minutes else "",
                                f"{seconds} s" if seconds or not (hours or minutes) else "") if p)


def _helpers() -> dict[str, Any]:
    return {"when": when, "took": took, "state_class": lambda s: STATE_CLASS.get(s or "", "st-none")}


def _runs(v: View, project_id: str, number: int, size: int, **filters: str) -> tuple[Any, Any]:
    given = [{"Name": k, "Values": [val]} for k, val in filters.items() if val]
    return v.actions.try_data("ListTriggerWorkflowRuns", ProjectId=project_id, PageNumber=number, PageSize=size,
                              Filters=given or None, OrderFields=NEWEST)


def _pages(data: Any) -> int:
    return max(1, int(data.total_page_number or 1)) if data else 1


@pages.get("/p/{project_id}/trigger-workflows")
def workflows(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    keyword, number = v.arg("keyword"), v.page()
    data, error = a.try_data("ListTriggerWorkflows", ProjectId=project_id, PageNumber=number, PageSize=PAGE_SIZE,
                             Keyword=keyword or None)
    if error is not None and error.forbidden:
        raise error
    recent, recent_error = (None, None) if error else _runs(v, project_id, 1, RECENT)
    return v.render("trigger_workflows.html", project=project, data=data, error=error, keyword=keyword,
                    page=number, pages=_pages(data), recent=recent, recent_error=recent_error, **_helpers())


@pages.get("/p/{project_id}/trigger-workflows/{workflow_id}")
def workflow(v: View) -> Response:
    project_id, workflow_id = v.param("project_id"), v.param("workflow_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    flow = a.data("GetTriggerWorkflow", ProjectId=project_id, WorkflowId=workflow_id)
    state, number = v.arg("state"), v.page()
    runs, error = _runs(v, project_id, number, PAGE_SIZE, WorkflowId=workflow_id, ExecutionState=state)
    return v.render("trigger_workflow.html", project=project, workflow=flow, workflow_id=workflow_id, runs=runs,
                    error=error, state=state, states=STATES, page=number, pages=_pages(runs), **_helpers())


@pages.get("/p/{project_id}/trigger-runs/{execution_id}")
def run(v: View) -> Response:
    project_id, execution_id = v.param("project_id"), v.param("execution_id")
    a = v.actions
    detail = a.data("GetTriggerWorkflowRun", ProjectId=project_id, WorkflowExecutionId=execution_id)
    wrun = detail.trigger_workflow_run
    finished = wrun is not None and wrun.execution_state in FINISHED
    names = {t.task_id: t.task_name or t.task_id for t in detail.trigger_task_runs or []}
    context = {"project_id": project_id, "execution_id": execution_id, "run": wrun, "detail": detail,
               "tasks": detail.trigger_task_runs or [], "names": names, "finished": finished, "reload": RELOAD,
               **_helpers()}
    if v.htmx:
        return v.render("_trigger_run.html", **context)
    project = a.data("GetProject", ProjectId=project_id)
    return v.render("trigger_run.html", project=project, **context)
