"""``wedata tasks list|show|create|edit|submit|pause|resume``.

``create --from-file F`` sends F, a JSON object in CreateTask's shape (TaskBaseAttribute,
TaskConfiguration, TaskSchedulerConfiguration; ProjectId may be left out: the current project
is used). ``--code FILE`` sets TaskConfiguration.CodeContent from a plain-text file (the CLI
Base64-encodes it, as the API wants).

``edit`` opens $EDITOR (or $VISUAL) on the task in UpdateTask's ``Task`` shape, built from
GetTask: the editable base attributes (TaskName, OwnerUin, TaskDescription, TaskFolderPath), the
TaskConfiguration and the TaskSchedulerConfiguration, without the fields that are null and
without the derived downstream list. One exception, for people: CodeContent is shown and edited
as plain text and Base64-encoded again before UpdateTask is sent. Saving an unchanged file sends
nothing. JSON that does not parse is kept in a file whose path the error names, so no edit is
lost. Like UpdateTask itself, the result replaces the task's dev-side definition; `submit`
makes it the version the scheduler runs.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import click

from wedata.cli.errors import CliError
from wedata.cli.remote import finish_job, project_option, remote
from wedata.cli.render import output_option

TYPE_NAMES = {21: "JDBC SQL", 26: "Offline sync", 30: "Python", 31: "PySpark", 32: "DLC SQL", 34: "Hive SQL",
              35: "Shell", 36: "Spark SQL", 38: "Shell form", 46: "DLC Spark", 50: "DLC PySpark", 132: "Notebook"}
STATUS_NAMES = {"N": "new", "Y": "scheduling", "F": "offline", "O": "paused", "T": "going offline",
                "INVALID": "invalid"}
EDITABLE_BASE = ("TaskName", "OwnerUin", "TaskDescription", "TaskFolderPath")
DERIVED_SCHEDULE = ("DownstreamDependencyConfigList", "DownStreamDependencyConfigList")


def type_name(value: Any) -> str:
    try:
        return f"{value} {TYPE_NAMES[int(value)]}"
    except (KeyError, TypeError, ValueError):
        return str(value)


def status_name(value: Any) -> str:
    name = STATUS_NAMES.get(str(value))
    return f"{value} {name}" if name else str(value)


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def unb64(value: str | None) -> str:
    if not value:
        return ""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return value


def read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"{path} is not valid JSON ({exc}); it must hold {what}") from None


@click.group()
def tasks() -> None:
    """List, show, create, edit, submit, pause and resume tasks."""


@tasks.command("list")
@project_option
@click.option("--workflow", default=None, help="Only the tasks of this workflow (id or name).")
@click.option("--name", default=None, help="Only tasks whose name contains this text.")
@click.option("--status", default=None, type=click.Choice(list(STATUS_NAMES), case_sensitive=False),
              help="Only tasks in this status: N new, Y scheduling, O paused, F offline, T going offline.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1), help="At most this many tasks.")
@output_option
def list_tasks(project: str | None, workflow: str | None, name: str | None, status: str | None, limit: int,
               output: str) -> None:
    """List the tasks of the project (dev side: saved and submitted)."""
    from wedata.cli import render
    from wedata.cli.commands.workflows import workflow_id

    r = remote()
    project_id = r.project(project)
    params: dict[str, Any] = {"ProjectId": project_id}
    if workflow:
        params["WorkflowId"] = workflow_id(r, project_id, workflow)
    if name:
        params["TaskName"] = name
    if status:
        params["Status"] = status.upper()
    items = list(r.pages("ListTasks", params, limit=limit, min_size=10))
    if output == "json":
        render.print_json(items)
        return
    zone = render.display_zone()
    render.table(items, [
        ("TASK ID", "TaskId"), ("NAME", "TaskName"), ("TYPE", lambda t: type_name(t.get("TaskTypeId"))),
        ("STATUS", lambda t: status_name(t.get("Status"))), ("SUBMITTED", "Submit"), ("WORKFLOW", "WorkflowName"),
        ("OWNER", "OwnerUin"), (f"UPDATED ({zone})", lambda t: render.shift(t.get("LastUpdateTime"), zone)),
    ], empty="no tasks (create one with `wedata tasks create --from-file FILE`)")


@tasks.command("show")
@click.argument("task")
@project_option
@output_option
def show_task(task: str, project: str | None, output: str) -> None:
    """Show TASK (an id or a name): attributes, schedule, dependencies and code."""
    from wedata.cli import render

    r = remote()
    project_id = r.project(project)
    data = r.data("GetTask", {"ProjectId": project_id, "TaskId": r.task_id(project_id, task)})
    if output == "json":
        render.print_json(data)
        return
    zone = render.display_zone()
    base = data.get("TaskBaseAttribute") or {}
    conf = data.get("TaskConfiguration") or {}
    sched = data.get("TaskSchedulerConfiguration") or {}
    rows = [
        ("TaskId", base.get("TaskId")), ("Name", base.get("TaskName")), ("Type", type_name(base.get("TaskTypeId"))),
        ("Workflow", f"{base.get('WorkflowName')} ({base.get('WorkflowId')})"),
        ("Status", status_name(base.get("Status"))), ("Submitted", base.get("Submit")),
        ("Latest version", base.get("TaskLatestVersionNo")),
        ("Submitted version", base.get("TaskLatestSubmitVersionNo")), ("Owner", base.get("OwnerUin")),
        (f"Updated ({zone})", render.shift(base.get("LastUpdateTime"), zone)),
        ("Cycle", sched.get("CycleType")), ("Cron", sched.get("CrontabExpression")),
        ("Schedule zone", sched.get("ScheduleTimeZone")),
        ("Start / end (schedule zone)", f"{render.cell(sched.get('StartTime'))} / {render.cell(sched.get('EndTime'))}"),
        ("Self dependency", sched.get("SelfDepend")),
        ("Retries", f"{render.cell(sched.get('MaxRetryNumber'))} (wait {render.cell(sched.get('RetryWaitMinute'))} min)"),
        ("Upstream", ", ".join(d.get("TaskId", "") for d in sched.get("UpstreamDependencyConfigList") or []) or "-"),
    ]
    for label, value in rows:
        click.echo(f"{label + ':':<29}{render.cell(value)}")
    code = unb64(conf.get("CodeContent"))
    click.echo("Code:")
    for line in code.splitlines() or [""]:
        click.echo(f"    {line}")


@tasks.command("create")
@click.option("--from-file", "from_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="JSON in CreateTask's shape: TaskBaseAttribute, TaskConfiguration, TaskSchedulerConfiguration.")
@click.option("--code", "code_file", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="A plain-text file to use as the task's code (sets TaskConfiguration.CodeContent, Base64).")
@project_option
def create_task(from_file: Path, code_file: Path | None, project: str | None) -> None:
    """Create a task from a JSON file; prints its TaskId (then `wedata tasks submit` it)."""
    body = read_json(from_file, "a CreateTask request (TaskBaseAttribute, TaskConfiguration, ...)")
    if not isinstance(body, dict):
        raise CliError(f"{from_file} must hold a JSON object in CreateTask's shape")
    r = remote()
    if project or "ProjectId" not in body:
        body["ProjectId"] = r.project(project)
    if code_file is not None:
        try:
            code = code_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read {code_file}: {exc.strerror or exc}") from None
        conf = body.setdefault("TaskConfiguration", {})
        if not isinstance(conf, dict):
            raise CliError(f"TaskConfiguration in {from_file} must be a JSON object")
        conf["CodeContent"] = b64(code)
    click.echo(r.data("CreateTask", body)["TaskId"])


def edit_document(task: dict[str, Any]) -> dict[str, Any]:
    """The task in UpdateTask's ``Task`` shape, nulls left out, CodeContent as plain text."""
    base = task.get("TaskBaseAttribute") or {}
    conf = {k: v for k, v in (task.get("TaskConfiguration") or {}).items() if v is not None}
    sched = {k: v for k, v in (task.get("TaskSchedulerConfiguration") or {}).items()
             if v is not None and k not in DERIVED_SCHEDULE}
    if "CodeContent" in conf:
        conf["CodeContent"] = unb64(conf["CodeContent"])
    editable = {k: base.get(k) for k in EDITABLE_BASE if base.get(k) is not None}
    editable.setdefault("TaskDescription", "")
    return {"TaskBaseAttribute": editable, "TaskConfiguration": conf, "TaskSchedulerConfiguration": sched}


@tasks.command("edit")
@click.argument("task")
@project_option
def edit_task(task: str, project: str | None) -> None:
    """Edit TASK's JSON in $EDITOR and save it with UpdateTask (CodeContent shown as plain text)."""
    r = remote()
    project_id = r.project(project)
    task_id = r.task_id(project_id, task)
    current = edit_document(r.data("GetTask", {"ProjectId": project_id, "TaskId": task_id}))
    before = json.dumps(current, indent=2, ensure_ascii=False) + "\n"
    after = click.edit(before, extension=".json", require_save=True)
    if after is None or after == before:
        click.echo(f"no changes: task {task_id} left as it was", err=True)
        return
    try:
        doc = json.loads(after)
        if not isinstance(doc, dict):
            raise ValueError("the task must be a JSON object")
    except ValueError as exc:
        import tempfile

        fd, kept = tempfile.mkstemp(prefix=f"wedata-task-{task_id}-", suffix=".json")
        with open(fd, "w", encoding="utf-8") as f:
            f.write(after)
        raise CliError(f"the edited task is not valid JSON ({exc}); nothing was sent; your edit is in {kept}") from None
    conf = doc.get("TaskConfiguration")
    if isinstance(conf, dict) and isinstance(conf.get("CodeContent"), str):
        conf["CodeContent"] = b64(conf["CodeContent"])
    r.data("UpdateTask", {"ProjectId": project_id, "TaskId": task_id, "Task": doc})
    click.echo(f"updated task {task_id} (dev side; `wedata tasks submit {task_id}` to schedule this version)")


@tasks.command("submit")
@click.argument("task")
@project_option
@click.option("-m", "--message", default="submitted with the wedata CLI", show_default=True,
              help="Version remark (SubmitTask's VersionRemark).")
def submit_task(task: str, project: str | None, message: str) -> None:
    """Submit TASK's saved version to the scheduler; prints the VersionId."""
    r = remote()
    project_id = r.project(project)
    data = r.data("SubmitTask", {"ProjectId": project_id, "TaskId": r.task_id(project_id, task),
                                 "VersionRemark": message})
    click.echo(data.get("VersionId"))


@tasks.command("pause")
@click.argument("task", nargs=-1, required=True)
@project_option
@click.option("--kill", is_flag=True, help="Also kill the tasks' waiting and running instances.")
def pause_tasks(task: tuple[str, ...], project: str | None, kill: bool) -> None:
    """Pause TASK(s): no new instance starts until `wedata tasks resume`."""
    r = remote()
    project_id = r.project(project)
    ids = [r.task_id(project_id, t) for t in task]
    async_id = r.data("PauseOpsTasksAsync", {"ProjectId": project_id, "TaskIds": ids, "KillInstance": kill})["AsyncId"]
    finish_job(r.wait_job(project_id, async_id), f"pause {', '.join(ids)}")


@tasks.command("resume")
@click.argument("task", nargs=-1, required=True)
@project_option
@click.option("--backfill", is_flag=True,
              help="Run the instances whose time fell in the pause (default: skip them).")
def resume_tasks(task: tuple[str, ...], project: str | None, backfill: bool) -> None:
    """Resume paused (or offline) TASK(s) with StartOpsTasks."""
    r = remote()
    project_id = r.project(project)
    ids = [r.task_id(project_id, t) for t in task]
    data = r.data("StartOpsTasks", {"ProjectId": project_id, "TaskIds": ids, "EnableDataBackfill": backfill})
    if not data.get("Status"):
        raise CliError(f"StartOpsTasks did not resume {', '.join(ids)}")
    click.echo(f"resumed {', '.join(ids)}")
