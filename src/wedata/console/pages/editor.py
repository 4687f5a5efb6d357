"""The task editor: base attributes, the code in an editor, the schedule with its live preview;
create, save and submit.

- ``/p/{project}/workflows/{workflow}/tasks/new``: an empty form for a task of that workflow.
- ``/p/{project}/tasks/{task}/edit``: the form filled from GetTask, with the upstream
  dependencies (and their cycle mapping) and the link to the task's versions.
- ``POST /p/{project}/tasks/save``: CreateTask (no TaskId yet) or UpdateTask with every field of
  the form (UpdateTask keeps what a body leaves out, docs/tasks.md, so nothing else changes);
  a refused save shows the form again, as typed, with the action's error next to the field it
  names.
- ``POST /p/{project}/tasks/{task}/submit``: SubmitTask with the version remark.
- ``/p/{project}/schedule``: the htmx fragment under the cron field: the schedule in words and
  its next 10 fire times (console/schedule.py: our cron evaluator), loaded as the user types.

The code is a plain ``<textarea name="CodeContent">`` (it works, and posts, without script);
static/console.js puts the vendored CodeMirror 5 over it with the mode of the task type (SQL,
Shell, Python) and copies the text back before the form posts. The code goes to the API base64
encoded, as CodeContent is on the wire.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from starlette.responses import Response

from wedata.console.client import ActionFailed
from wedata.console.frame import Pages, View
from wedata.console.render import decode_code
from wedata.console.schedule import preview

pages = Pages()

# The form's fields, by their wire names: TaskBaseAttribute's, then TaskSchedulerConfiguration's.
BASE = ("TaskName", "TaskDescription", "OwnerUin")
SCHEDULE = ("CycleType", "CrontabExpression", "ScheduleTimeZone", "StartTime", "EndTime", "SelfDepend",
            "MaxRetryAttempts", "RetryWait", "ExecutionTTL")
FIELDS = (*BASE, "TaskTypeId", "WorkflowId", "CodeContent", *SCHEDULE)
CYCLES = ("ONEOFF_CYCLE", "MINUTE_CYCLE", "HOUR_CYCLE", "DAY_CYCLE", "WEEK_CYCLE", "MONTH_CYCLE", "YEAR_CYCLE",
          "CRONTAB_CYCLE")
SELF_DEPEND = ("serial", "parallel", "orderly")
# The types the editor creates, and the editor mode of each (static/console.js).
TYPES = {"35": ("Shell", "shell"), "30": ("Python", "python"), "32": ("DLC SQL", "sql"),
         "21": ("JDBC SQL", "sql"), "36": ("Spark SQL", "sql"), "34": ("Hive SQL", "sql")}
# Form field -> the attribute of GetTask's TaskSchedulerConfiguration.
SCHEDULE_ATTRS = {"CycleType": "cycle_type", "CrontabExpression": "crontab_expression",
                  "ScheduleTimeZone": "schedule_time_zone", "StartTime": "start_time", "EndTime": "end_time",
                  "SelfDepend": "self_depend", "MaxRetryAttempts": "max_retry_attempts", "RetryWait": "retry_wait",
                  "ExecutionTTL": "execution_ttl"}


def mode_of(type_id: Any) -> str:
    known = TYPES.get(str(type_id))
    return known[1] if known else "shell"


def field_of(message: str) -> str | None:
    """The form field an API error names (the earliest of ours in the message)."""
    best: tuple[int, str] | None = None
    for name in FIELDS:
        m = re.search(rf"\b{name}\b", message)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), name)
    return best[1] if best else None


def form_from_task(task: Any) -> dict[str, str]:
    base, conf, sched = task.task_base_attribute, task.task_configuration, task.task_scheduler_configuration
    values = {
        "TaskId": base.task_id, "TaskName": base.task_name or "", "TaskDescription": base.task_description or "",
        "OwnerUin": base.owner_uin or "", "TaskTypeId": str(base.task_type_id), "WorkflowId": base.workflow_id,
        "CodeContent": decode_code(conf.code_content if conf else None),
    }
    if sched is not None:
        for name, attr in SCHEDULE_ATTRS.items():
            value = getattr(sched, attr, None)
            values[name] = "" if value is None else str(value)
    return values


def _number(value: str) -> int | str:
    """A whole number as int; anything else as typed, for the action to refuse by name."""
    return int(value) if re.fullmatch(r"-?\d{1,9}", value) else value


def _schedule(form: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in SCHEDULE:
        value = form.get(name, "").strip()
        if value:
            out[name] = _number(value) if name in ("MaxRetryAttempts", "RetryWait", "ExecutionTTL") else value
    return out


def _code(form: dict[str, str]) -> str:
    text = form.get("CodeContent", "").replace("\r\n", "\n")
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _editor(v: View, project_id: str, values: dict[str, str], *, task: Any = None, error: ActionFailed | None = None,
            notice: str = "", status: int = 200) -> Response:
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    values = {**dict.fromkeys(("TaskId", *FIELDS), ""), **values}
    upstream: list[Any] = []
    if task is not None:
        upstream = list(task.task_scheduler_configuration.upstream_dependency_config_list or []) \
            if task.task_scheduler_configuration else []
    names: dict[str, str] = {}
    if upstream:
        found, _ = a.try_data("ListUpstreamTasks", ProjectId=project_id, TaskId=values["TaskId"], PageSize=200)
        names = {u.task_id: u.task_name for u in (found.items or [])} if found else {}
    sched = preview(values.get("CycleType", ""), values.get("CrontabExpression", ""),
                    values.get("ScheduleTimeZone", ""), values.get("StartTime", ""), values.get("EndTime", ""))
    return v.render("editor.html", status=status, project=project, project_id=project_id, values=values,
                    task=task, upstream=upstream, upstream_names=names, error=error,
                    error_field=field_of(error.message) if error else None, notice=notice, cycles=CYCLES,
                    self_depend=SELF_DEPEND, types=TYPES, mode=mode_of(values.get("TaskTypeId")),
                    schedule=sched)


@pages.get("/p/{project_id}/workflows/{workflow_id}/tasks/new")
def new_task(v: View) -> Response:
    project_id, workflow_id = v.param("project_id"), v.param("workflow_id")
    v.actions.data("GetWorkflow", ProjectId=project_id, WorkflowId=workflow_id)
    values = {"TaskId": "", "WorkflowId": workflow_id, "TaskTypeId": "35", "CycleType": "DAY_CYCLE",
              "CrontabExpression": "0 0 0 * * ? *", "ScheduleTimeZone": "UTC+8", "SelfDepend": "serial",
              "CodeContent": ""}
    return _editor(v, project_id, values)


@pages.get("/p/{project_id}/tasks/{task_id}/edit")
def edit_task(v: View) -> Response:
    project_id, task_id = v.param("project_id"), v.param("task_id")
    task = v.actions.data("GetTask", ProjectId=project_id, TaskId=task_id)
    notice = {"saved": "Saved.", "created": "Created.", "submitted": "Submitted: the scheduler runs this version."}
    return _editor(v, project_id, form_from_task(task), task=task, notice=notice.get(v.arg("done"), ""))


@pages.post("/p/{project_id}/tasks/save")
def save_task(v: View) -> Response:
    project_id = v.param("project_id")
    form = {k: v.form.get(k, "") for k in ("TaskId", *FIELDS)}
    a = v.actions
    task_id = form["TaskId"].strip()
    try:
        if task_id:
            a.call("UpdateTask", ProjectId=project_id, TaskId=task_id, Task={
                "TaskBaseAttribute": {"TaskName": form["TaskName"], "OwnerUin": form["OwnerUin"],
                                      "TaskDescription": form["TaskDescription"]},
                "TaskConfiguration": {"CodeContent": _code(form)},
                "TaskSchedulerConfiguration": _schedule(form),
            })
            done = "saved"
        else:
            base = {"TaskName": form["TaskName"], "TaskTypeId": form["TaskTypeId"], "WorkflowId": form["WorkflowId"],
                    "OwnerUin": form["OwnerUin"].strip() or None,
                    "TaskDescription": form["TaskDescription"] or None}
            task_id = a.data("CreateTask", ProjectId=project_id, TaskBaseAttribute=base,
                             TaskConfiguration={"CodeContent": _code(form)},
                             TaskSchedulerConfiguration=_schedule(form)).task_id
            done = "created"
    except ActionFailed as err:
        if err.forbidden or (err.not_found and task_id):
            raise
        task = a.data("GetTask", ProjectId=project_id, TaskId=task_id) if task_id else None
        return _editor(v, project_id, form, task=task, error=err, status=400)
    return v.redirect(f"/p/{project_id}/tasks/{task_id}/edit?done={done}")


@pages.post("/p/{project_id}/tasks/{task_id}/submit")
def submit_task(v: View) -> Response:
    project_id, task_id = v.param("project_id"), v.param("task_id")
    a = v.actions
    try:
        a.call("SubmitTask", ProjectId=project_id, TaskId=task_id, VersionRemark=v.form.get("VersionRemark", ""))
    except ActionFailed as err:
        if err.forbidden or err.not_found:
            raise
        task = a.data("GetTask", ProjectId=project_id, TaskId=task_id)
        return _editor(v, project_id, form_from_task(task), task=task, error=err, status=400)
    return v.redirect(f"/p/{project_id}/tasks/{task_id}/edit?done=submitted")


@pages.get("/p/{project_id}/schedule")
def schedule_preview(v: View) -> Response:
    sched = preview(v.arg("CycleType"), v.arg("CrontabExpression"), v.arg("ScheduleTimeZone"), v.arg("StartTime"),
                    v.arg("EndTime"))
    return v.render("_schedule.html", schedule=sched)
