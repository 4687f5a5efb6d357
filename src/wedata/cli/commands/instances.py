"""``wedata instances list|show``, ``logs``, ``rerun``, ``kill``, ``set-success``.

``logs`` reads GetTaskInstanceLog page by page with its cursor, for one execution (LifeRoundNum:
the latest unless ``--round``; it is fixed when the command starts, so a rerun during ``-f``
does not mix two executions). With ``-f`` it keeps asking while the server returns a cursor,
i.e. while that execution can still write, printing lines as they arrive, and exits when the
execution has ended and everything was printed. ``rerun``, ``kill`` and ``set-success`` start
the async action and wait for its job (GetOpsAsyncJob); they exit 1 unless every instance
succeeded, printing the server's reasons.
"""

from __future__ import annotations

import re
import sys
import time
from datetime import datetime, timedelta
from typing import Any

import click

from wedata.cli.errors import CliError
from wedata.cli.remote import finish_job, instance_key, project_option, remote
from wedata.cli.render import output_option

STATES = ("WAIT_EVENT", "WAIT_UPSTREAM", "WAIT_RUN", "RUNNING", "FAILED_RETRY", "EXPIRED", "COMPLETED",
          "SKIP_RUNNING")
ALIASES = {"failed": "EXPIRED", "success": "COMPLETED", "succeeded": "COMPLETED", "running": "RUNNING",
           "skipped": "SKIP_RUNNING", "retrying": "FAILED_RETRY"}
TERMINAL = ("COMPLETED", "EXPIRED", "SKIP_RUNNING")
_SINCE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_state(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    state = ALIASES.get(text.lower(), text.upper())
    if state not in STATES:
        raise click.BadParameter(f"{value!r}: use one of {', '.join(s.lower() for s in STATES)} "
                                 f"or {', '.join(ALIASES)}", param_hint="--state")
    return state


def parse_since(value: str, zone_now: datetime) -> datetime:
    """``30m``, ``12h``, ``1d``, ``2w`` before now, or a ``yyyy-MM-dd[ HH:mm[:ss]]`` time."""
    text = value.strip()
    m = _SINCE.match(text)
    if m:
        return zone_now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise click.BadParameter(f"{value!r}: use a duration like 30m, 12h, 1d, 2w or a time yyyy-MM-dd[ HH:mm[:ss]]",
                             param_hint="--since")


def now_in(zone: str) -> datetime:
    from wedata.cli.render import _offset

    return datetime.now(_offset(zone)).replace(tzinfo=None, microsecond=0)


def instance_columns(zone: str) -> list[Any]:
    from wedata.cli import render

    return [
        ("INSTANCE KEY", "InstanceKey"), ("TASK", "TaskName"), ("DATA TIME (task zone)", "CurRunDate"),
        ("STATE", "InstanceState"), ("TRIES", lambda i: f"{i.get('Tries')}/{i.get('TryLimit')}"),
        (f"STARTED ({zone})", "StartTime"), (f"ENDED ({zone})", "EndTime"),
        ("COST", lambda i: render.fmt_ms(i.get("CostTime")) if i.get("StartTime") else ""),
    ]


@click.group()
def instances() -> None:
    """List and show task instances."""


@instances.command("list")
@project_option
@click.option("--state", default=None, metavar="STATE",
              help="Only instances in this state: failed (EXPIRED), success (COMPLETED), running, waiting states "
                   "by their API name (wait_upstream, wait_run, wait_event), retrying, skipped.")
@click.option("--since", default=None, metavar="WHEN",
              help="Only instances updated since WHEN: 30m, 12h, 1d, 2w ago, or a time yyyy-MM-dd[ HH:mm] "
                   "in the display zone (--tz).")
@click.option("--task", default=None, help="Only the instances of this task (id or name).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1), help="At most this many instances.")
@output_option
def list_instances(project: str | None, state: str | None, since: str | None, task: str | None, limit: int,
                   output: str) -> None:
    """List task instances, latest scheduled first."""
    from wedata.cli import render

    r = remote()
    zone = render.display_zone()
    project_id = r.project(project)
    params: dict[str, Any] = {"ProjectId": project_id, "TimeZone": zone}
    wanted = parse_state(state)
    if wanted:
        params["InstanceState"] = wanted
    if since:
        params["LastUpdateTimeFrom"] = parse_since(since, now_in(zone)).strftime(render.WALL)
    task_id = r.task_id(project_id, task) if task else None
    if task_id:
        params["Keyword"] = task_id
    items = [i for i in r.pages("ListTaskInstances", params, limit=limit)
             if task_id is None or i.get("TaskId") == task_id]
    if output == "json":
        render.print_json(items)
        return
    render.table(items, instance_columns(zone), empty="no instances")


@instances.command("show")
@click.argument("key")
@project_option
@output_option
def show_instance(key: str, project: str | None, output: str) -> None:
    """Show one instance (KEY is TaskId_yyyy-MM-dd HH:mm:ss) and its executions."""
    from wedata.cli import render

    r = remote()
    zone = render.display_zone()
    project_id = r.project(project)
    params = {"ProjectId": project_id, "InstanceKey": instance_key(key), "TimeZone": zone}
    detail = r.data("GetTaskInstance", params)
    executions = list(r.pages("ListTaskInstanceExecutions", params, limit=1000))
    if output == "json":
        render.print_json({**detail, "Executions": executions})
        return
    for label, value in (("InstanceKey", detail.get("InstanceKey")), ("Task", f"{detail.get('TaskName')} "
                         f"({detail.get('TaskId')})"), ("Data time (task zone)", detail.get("CurRunDate")),
                         ("State", detail.get("InstanceState")),
                         ("Tries", f"{detail.get('Tries')}/{detail.get('TryLimit')}"),
                         ("Runs", detail.get("TotalRunNum")),
                         (f"Scheduled ({zone})", detail.get("SchedulerTime")),
                         (f"Started ({zone})", detail.get("StartTime")), (f"Ended ({zone})", detail.get("EndTime")),
                         ("Cost", render.fmt_ms(detail.get("CostTime"))), ("Error", detail.get("JobErrorMsg") or "-")):
        click.echo(f"{label + ':':<24}{render.cell(value)}")
    render.table(executions, [
        ("ROUND", "LifeRoundNum"), ("TRY", "Tries"), ("RUN TYPE", "RunType"), ("STATE", "InstanceState"),
        ("COST", lambda e: render.fmt_ms(e.get("CostTime"))),
        (f"PHASES ({zone})", lambda e: "; ".join(
            f"{p.get('DetailState')} {p.get('StartTime') or ''}" for p in e.get("ExecutionPhaseList") or [])),
    ], empty="no executions yet")


def latest_round(r: Any, project_id: str, key: str) -> int:
    """The LifeRoundNum of the instance's latest execution."""
    first = r.data("ListTaskInstanceExecutions", {"ProjectId": project_id, "InstanceKey": key, "PageSize": 1})
    total = first.get("TotalCount") or 0
    if total <= 1:
        items = first.get("Items") or []
        return int(items[-1].get("LifeRoundNum") or 0) if items else 0
    last = r.data("ListTaskInstanceExecutions", {"ProjectId": project_id, "InstanceKey": key, "PageSize": 1,
                                                 "PageNumber": total})
    items = last.get("Items") or []
    return int(items[-1].get("LifeRoundNum") or 0) if items else 0


def stream_log(r: Any, project_id: str, key: str, life_round: int, *, follow: bool, level: str | None = None,
               interval: float = 0.5) -> None:
    """Print the execution's log; with ``follow``, until it has ended and everything was read."""
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"ProjectId": project_id, "InstanceKey": key, "LifeRoundNum": life_round}
        if level:
            params["LogLevel"] = level
        if cursor is not None:
            params["NextCursor"] = cursor
        data = r.data("GetTaskInstanceLog", params)
        text = data.get("LogInfo") or ""
        if text:
            for line in text.split("<br>"):
                click.echo(line)
            sys.stdout.flush()
        nxt = data.get("NextCursor")
        if nxt is None:
            return
        if nxt == cursor:
            if not follow:
                return
            time.sleep(interval)
        cursor = nxt


@click.command()
@click.argument("key")
@project_option
@click.option("-f", "--follow", is_flag=True, help="Keep printing while the instance runs; exit when it ends.")
@click.option("--round", "life_round", default=None, type=click.IntRange(0),
              help="Which execution (LifeRoundNum, 0 = the first run); default the latest.")
@click.option("--level", default=None, type=click.Choice(["Info", "Debug", "Warn", "Error", "All"], case_sensitive=False),
              help="Only the lines of this level (default All).")
def logs(key: str, project: str | None, follow: bool, life_round: int | None, level: str | None) -> None:
    """Print the log of instance KEY (TaskId_yyyy-MM-dd HH:mm:ss); -f follows it while it runs."""
    r = remote()
    project_id = r.project(project)
    key = instance_key(key)
    detail = r.data("GetTaskInstance", {"ProjectId": project_id, "InstanceKey": key})
    rnd = life_round if life_round is not None else latest_round(r, project_id, key)
    stream_log(r, project_id, key, rnd, follow=follow, level=level)
    if follow:
        end = r.data("GetTaskInstance", {"ProjectId": project_id, "InstanceKey": key})
        click.echo(f"-- {key}: {end.get('InstanceState')}", err=True)
    elif detail.get("InstanceState") not in TERMINAL:
        click.echo(f"-- {key} is {detail.get('InstanceState')}: `wedata logs -f` follows it", err=True)


def _keys(keys: tuple[str, ...]) -> list[str]:
    out = [instance_key(k) for k in keys]
    if not out:
        raise CliError("name at least one instance key (TaskId_yyyy-MM-dd HH:mm:ss)")
    return out


@click.command()
@click.argument("key", nargs=-1, required=True)
@project_option
@click.option("--downstream", is_flag=True, help="Also rerun their downstream instances (RerunType 2).")
@click.option("--check-parents", type=click.Choice(["NONE", "ALL", "MAKE_SCOPE"], case_sensitive=False),
              default=None, help="Upstream check of the new run (default NONE: start without checking).")
@click.option("--param", "params", multiple=True, metavar="K=V",
              help="Override a task parameter for this run (repeatable).")
def rerun(key: tuple[str, ...], project: str | None, downstream: bool, check_parents: str | None,
          params: tuple[str, ...]) -> None:
    """Rerun finished instances (KEY is TaskId_yyyy-MM-dd HH:mm:ss) and wait until it is under way."""
    r = remote()
    project_id = r.project(project)
    body: dict[str, Any] = {"ProjectId": project_id, "InstanceKeyList": _keys(key)}
    if downstream:
        body["RerunType"] = "2"
    if check_parents:
        body["CheckParentType"] = check_parents.upper()
    if params:
        pairs = []
        for p in params:
            k, eq, v = p.partition("=")
            if not eq or not k:
                raise click.BadParameter(f"{p!r} is not K=V", param_hint="--param")
            pairs.append({"K": k, "V": v})
        body["RedefineParamList"] = pairs
    async_id = r.data("RerunTaskInstancesAsync", body)["AsyncId"]
    finish_job(r.wait_job(project_id, async_id), "rerun")


@click.command()
@click.argument("key", nargs=-1, required=True)
@project_option
def kill(key: tuple[str, ...], project: str | None) -> None:
    """Kill waiting or running instances and wait until they have ended."""
    r = remote()
    project_id = r.project(project)
    async_id = r.data("KillTaskInstancesAsync", {"ProjectId": project_id, "InstanceKeyList": _keys(key)})["AsyncId"]
    finish_job(r.wait_job(project_id, async_id), "kill")


@click.command("set-success")
@click.argument("key", nargs=-1, required=True)
@project_option
def set_success(key: tuple[str, ...], project: str | None) -> None:
    """Mark instances that are not running as COMPLETED (their downstream may then run)."""
    r = remote()
    project_id = r.project(project)
    async_id = r.data("SetSuccessTaskInstancesAsync",
                      {"ProjectId": project_id, "InstanceKeyList": _keys(key)})["AsyncId"]
    finish_job(r.wait_job(project_id, async_id), "set success")
