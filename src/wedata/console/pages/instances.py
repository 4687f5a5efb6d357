"""Instances: the list with the API's filters, the instance panel, its live log, and operations.

- ``/p/{project}/instances``: ListTaskInstances with its filters (state, task name or id,
  workflow, data time from/to) and paging; the filters are the query string, so a filtered list
  is a link.
- ``/p/{project}/instance?key=...``: GetTaskInstance, its attempts (ListTaskInstanceExecutions),
  upstream and downstream instances (List{Up,Down}streamTaskInstances), the log, and the operate
  buttons (rerun, rerun with downstream, kill, set success) for users whose role operates.
- ``/p/{project}/instance/log``: one page of GetTaskInstanceLog from a cursor. While the round
  can still write, the fragment ends with an element htmx loads again 0.7 s later from the new
  cursor (so a line printed by a running task shows within about a second); when the API returns
  no cursor the log is complete and polling stops.
- ``POST /p/{project}/instance/operate``: starts RerunTaskInstancesAsync (RerunType 1 or 2),
  KillTaskInstancesAsync or SetSuccessTaskInstancesAsync, after the browser's confirmation
  (``hx-confirm``), and answers the job fragment; ``/p/{project}/jobs/{async}`` polls
  GetOpsAsyncJob every 0.5 s until the job is done, then reloads the instance panel.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from wedata.console.client import ActionFailed
from wedata.console.frame import Pages, View

pages = Pages()

PAGE_SIZE = 20
FILTERS = ("state", "task", "workflow", "from", "to")
JOB_DONE = ("SUCCESS", "FAIL", "PART_SUCCESS")

OPERATIONS: dict[str, tuple[str, dict[str, Any], str]] = {
    # name -> (action, extra parameters, the words of the confirmation and of the job)
    "rerun": ("RerunTaskInstancesAsync", {"RerunType": "1"}, "Rerun this instance"),
    "rerun_downstream": ("RerunTaskInstancesAsync", {"RerunType": "2"}, "Rerun this instance and its downstream"),
    "kill": ("KillTaskInstancesAsync", {}, "Kill this instance"),
    "set_success": ("SetSuccessTaskInstancesAsync", {}, "Set this instance to success"),
}


def _time(text: str, end: bool) -> str | None:
    """A date (yyyy-MM-dd) or a wall time from the filter form, as the API's wall time."""
    text = text.strip().replace("T", " ")
    if not text:
        return None
    if len(text) == 10:
        return text + (" 23:59:59" if end else " 00:00:00")
    if len(text) == 16:
        return text + (":59" if end else ":00")
    return text


@pages.get("/p/{project_id}/instances")
def instance_list(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    args = {k: v.arg(k) for k in FILTERS}
    number = v.page()
    params = {
        "ProjectId": project_id, "PageNumber": number, "PageSize": PAGE_SIZE,
        "InstanceState": args["state"] or None, "Keyword": args["task"] or None,
        "WorkflowId": args["workflow"] or None,
        "ScheduleTimeFrom": _time(args["from"], False), "ScheduleTimeTo": _time(args["to"], True),
    }
    data, error = a.try_data("ListTaskInstances", **params)
    template = "_instance_rows.html" if v.htmx and v.request.headers.get("hx-target") == "instance-rows" \
        else "instances.html"
    return v.render(template, project=project, data=data, error=error, args=args, page=number)


def _instance_context(v: View, project_id: str, key: str) -> dict[str, Any]:
    a = v.actions
    inst = a.data("GetTaskInstance", ProjectId=project_id, InstanceKey=key)
    executions, _ = a.try_data("ListTaskInstanceExecutions", ProjectId=project_id, InstanceKey=key, PageSize=200)
    upstream, _ = a.try_data("ListUpstreamTaskInstances", ProjectId=project_id, InstanceKey=key, PageSize=100)
    downstream, _ = a.try_data("ListDownstreamTaskInstances", ProjectId=project_id, InstanceKey=key, PageSize=100)
    return {"project_id": project_id, "inst": inst, "executions": executions, "upstream": upstream,
            "downstream": downstream, "operations": OPERATIONS, "may_operate": v.may_operate(project_id)}


@pages.get("/p/{project_id}/instance")
def instance(v: View) -> Response:
    project_id, key = v.param("project_id"), v.arg("key")
    context = _instance_context(v, project_id, key)
    if v.htmx and v.request.headers.get("hx-target") == "instance-head":
        return v.render("_instance_head.html", **context)
    project = v.actions.data("GetProject", ProjectId=project_id)
    return v.render("instance.html", project=project, **context)


@pages.get("/p/{project_id}/instance/log")
def instance_log(v: View) -> Response:
    project_id, key = v.param("project_id"), v.arg("key")
    cursor = v.arg("cursor") or None
    round_text = v.arg("round")
    params: dict[str, Any] = {"ProjectId": project_id, "InstanceKey": key, "NextCursor": cursor}
    if round_text.isdigit():
        params["LifeRoundNum"] = int(round_text)
    log = v.actions.data("GetTaskInstanceLog", **params)
    return v.render("_log.html", project_id=project_id, key=key, log=log, round=round_text,
                    first=cursor is None)


@pages.post("/p/{project_id}/instance/operate")
def operate(v: View) -> Response:
    project_id = v.param("project_id")
    key = v.form.get("key", "")
    name = v.form.get("operation", "")
    if name not in OPERATIONS:
        return v.render("_job.html", status=400, project_id=project_id, key=key, job=None, words="",
                        error="Unknown operation.")
    action, extra, words = OPERATIONS[name]
    try:
        answer = v.actions.data(action, ProjectId=project_id, InstanceKeyList=[key], **extra)
    except ActionFailed as err:
        status = 403 if err.forbidden else 400
        return v.render("_job.html", status=status, project_id=project_id, key=key, job=None, words=words,
                        error=f"{err.code}: {err.message}")
    job = v.actions.data("GetOpsAsyncJob", ProjectId=project_id, AsyncId=answer.async_id)
    return _job(v, project_id, key, job, words)


def _job(v: View, project_id: str, key: str, job: Any, words: str) -> Response:
    done = str(job.status) in JOB_DONE
    response = v.render("_job.html", project_id=project_id, key=key, job=job, words=words, error=None, done=done)
    if done:
        # The instance changed: its head and its log reload (hx-trigger "instance-changed from:body").
        response.headers["HX-Trigger"] = "instance-changed"
    return response


@pages.get("/p/{project_id}/jobs/{async_id}")
def job(v: View) -> Response:
    project_id = v.param("project_id")
    job = v.actions.data("GetOpsAsyncJob", ProjectId=project_id, AsyncId=v.param("async_id"))
    return _job(v, project_id, v.arg("key"), job, v.arg("words")[:100])
