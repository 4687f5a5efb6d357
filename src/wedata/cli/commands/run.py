"""``wedata run TASK [--date D]``: one run of a task now, followed to the end.

WeData has no "run now" action for a task-scheduling project, so the CLI composes one from the
actions that exist, the way an operator would in the console:

1. The data time (the time in an InstanceKey, in the task's schedule zone): ``--date``
   (``yyyy-MM-dd[ HH:mm[:ss]]``), else the data time of the task's latest fire at or before now,
   computed from its submitted schedule by ``wedata.scheduling`` as the scheduler does (a daily
   task firing at 06:00 has data time 00:00 of its day; InitStrategy T_PLUS_1 the day before).
2. The instance of that data time (GetTaskInstance):
   - it has ended (COMPLETED, EXPIRED, SKIP_RUNNING): **rerun** it (RerunTaskInstancesAsync,
     then GetOpsAsyncJob until the rerun is under way): a new execution of the same instance;
   - it does not exist yet, or it is waiting: a **one-off backfill plan** of exactly that data
     time (CreateDataBackfillPlan with the day as the range and the time's minute as the daily
     window; CheckParentType NONE, so it does not wait for upstream instances outside the
     plan). The plan creates the instance, or takes the waiting one over; for a daily or coarser
     task the window does not apply and the plan runs that day's instance, which the CLI then
     follows (ListDataBackfillInstances names it). Where WeData has no backfill (one-off tasks,
     workflow-scheduling projects) a waiting instance is simply followed;
   - it is running (or waiting for a retry): it is followed as it is.
3. The instance is followed (GetTaskInstance) until it ends, printing its state changes on
   stderr (``--log`` prints its log instead, as ``wedata logs -f``). The exit code is 0 if and
   only if it ended COMPLETED; otherwise 1, with the error the server recorded.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from wedata.cli.client import ApiError
from wedata.cli.errors import CliError
from wedata.cli.remote import project_option, remote

TERMINAL = ("COMPLETED", "EXPIRED", "SKIP_RUNNING")
WAITING = ("WAIT_EVENT", "WAIT_UPSTREAM", "WAIT_RUN")
WALL = "%Y-%m-%d %H:%M:%S"


def parse_date(value: str) -> datetime:
    for fmt in (WALL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
    raise click.BadParameter(f"{value!r}: use yyyy-MM-dd, yyyy-MM-dd HH:mm or yyyy-MM-dd HH:mm:ss",
                             param_hint="--date")


def latest_data_time(sched: dict[str, Any], task_id: str, now: datetime | None = None) -> datetime:
    """The data time of the task's latest fire at or before now (its submitted schedule, in its
    zone, as the scheduler computes it: cycle, StartTime/EndTime, daily window, InitStrategy)."""
    from wedata.scheduling.cycles import Schedule, previous_wall_time
    from wedata.scheduling.datatimes import schedule_data_time
    from wedata.scheduling.timezones import parse_zone

    def text(key: str) -> str | None:
        value = sched.get(key)
        return None if value in (None, "") else str(value)

    try:
        schedule = Schedule.from_strings(
            cycle_type=text("CycleType") or "DAY_CYCLE", crontab_expression=text("CrontabExpression"),
            zone=text("ScheduleTimeZone"), start_time=text("StartTime"), end_time=text("EndTime"),
            execution_start=text("ExecutionStartTime"), execution_end=text("ExecutionEndTime"),
            minute_offset=text("MinuteOffset"), init_strategy=text("InitStrategy"))
        wall_now = (now or datetime.now(UTC)).astimezone(parse_zone(schedule.zone)).replace(tzinfo=None)
        fire = previous_wall_time(schedule, wall_now.replace(microsecond=0) + timedelta(seconds=1))
    except ValueError as exc:
        raise CliError(f"cannot read the schedule of task {task_id}: {exc}; pass --date") from None
    if fire is None:
        raise CliError(f"task {task_id} has no scheduled time up to now (it starts {text('StartTime')} in "
                       f"{schedule.zone}): pass --date")
    return schedule_data_time(schedule, fire)


def instance_or_none(r: Any, project_id: str, key: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = r.data("GetTaskInstance", {"ProjectId": project_id, "InstanceKey": key})
        return found
    except ApiError as exc:
        if exc.code == "ResourceNotFound":
            return None
        raise


def backfill_one(r: Any, project_id: str, task_id: str, data_time: datetime) -> list[str]:
    """A one-off backfill plan of that data time; the keys of the instances it runs."""
    day, minute = data_time.strftime("%Y-%m-%d"), data_time.strftime("%H:%M")
    plan = r.data("CreateDataBackfillPlan", {
        "ProjectId": project_id, "TaskIds": [task_id],
        "DataBackfillRangeList": [{"StartDate": day, "EndDate": day, "ExecutionStartTime": minute,
                                   "ExecutionEndTime": minute}],
        "DataBackfillPlanName": f"wedata run {task_id} {data_time.strftime(WALL)}",
        "CheckParentType": "NONE",
    })["DataBackfillPlanId"]
    items = list(r.pages("ListDataBackfillInstances", {"ProjectId": project_id, "DataBackfillPlanId": plan,
                                                       "TaskId": task_id}, limit=1000))
    click.echo(f"started backfill plan {plan} ({len(items)} instance(s))", err=True)
    return [f"{task_id}_{i['CurRunDate']}" for i in items]


def start(r: Any, project_id: str, task_id: str, data_time: datetime) -> list[str]:
    """Make the instance of that data time run now (see the module docstring); the keys to follow."""
    key = f"{task_id}_{data_time.strftime(WALL)}"
    inst = instance_or_none(r, project_id, key)
    state = inst.get("InstanceState") if inst else None
    if state in TERMINAL:
        async_id = r.data("RerunTaskInstancesAsync", {"ProjectId": project_id, "InstanceKeyList": [key]})["AsyncId"]
        job = r.wait_job(project_id, async_id)
        if job.get("Status") != "SUCCESS":
            raise CliError(f"cannot rerun {key}: {job.get('ErrorDesc') or job.get('Status')}")
        click.echo(f"rerunning {key} (it had ended {state})", err=True)
        return [key]
    if state is None or state in WAITING:
        try:
            return backfill_one(r, project_id, task_id, data_time)
        except ApiError as exc:
            if state is None or exc.code != "UnsupportedOperation":
                raise
            click.echo(f"{key} is {state} (no backfill here: {exc.error_message}); following it", err=True)
            return [key]
    click.echo(f"{key} is already {state}; following it", err=True)
    return [key]


def follow(r: Any, project_id: str, keys: list[str], *, interval: float = 0.5) -> dict[str, dict[str, Any]]:
    """Poll the instances until every one has ended, printing state changes; their details."""
    last: dict[str, str | None] = dict.fromkeys(keys)
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(keys):
        for key in keys:
            if key in done:
                continue
            inst = r.data("GetTaskInstance", {"ProjectId": project_id, "InstanceKey": key})
            state = inst.get("InstanceState")
            if state != last[key]:
                click.echo(f"{key}: {state}", err=True)
                last[key] = state
            if state in TERMINAL:
                done[key] = inst
        if len(done) < len(keys):
            time.sleep(interval)
    return done


@click.command()
@click.argument("task")
@project_option
@click.option("--date", "date", default=None, metavar="DATA_TIME",
              help="The data time to run, yyyy-MM-dd[ HH:mm[:ss]] in the task's zone "
                   "(default: its latest scheduled time up to now).")
@click.option("--log", "show_log", is_flag=True, help="Print the run's log as it is written.")
@click.option("--detach", is_flag=True, help="Start the run and exit without following it.")
def run(task: str, project: str | None, date: str | None, show_log: bool, detach: bool) -> None:
    """Run TASK (an id or a name) once now and follow it to the end.

    Exits 0 if and only if the run ends COMPLETED. A finished instance of that data time is
    rerun; a missing or waiting one is run by a one-off backfill plan of that data time.
    """
    from wedata.cli import render
    from wedata.cli.commands.instances import latest_round, stream_log

    wanted = parse_date(date) if date else None
    r = remote()
    project_id = r.project(project)
    task_id = r.task_id(project_id, task)
    try:
        prod = r.data("GetOpsTask", {"ProjectId": project_id, "TaskId": task_id})
    except ApiError as exc:
        if exc.code == "ResourceNotFound":
            raise CliError(f"{exc} (a task runs once it was submitted: `wedata tasks submit {task_id}`)") from None
        raise
    sched = prod.get("TaskSchedulerConfiguration") or {}
    data_time = wanted or latest_data_time(sched, task_id)
    keys = start(r, project_id, task_id, data_time)
    if detach:
        for key in keys:
            click.echo(key)
        return
    if show_log and len(keys) == 1:
        stream_log(r, project_id, keys[0], latest_round(r, project_id, keys[0]), follow=True)
    ended = follow(r, project_id, keys)
    failed = [k for k, inst in ended.items() if inst.get("InstanceState") != "COMPLETED"]
    for key, inst in ended.items():
        click.echo(f"{key} {inst.get('InstanceState')} (cost {render.fmt_ms(inst.get('CostTime'))})")
    if failed:
        reasons = "; ".join(f"{k}: {ended[k].get('InstanceState')} {ended[k].get('JobErrorMsg') or ''}".strip()
                            for k in failed)
        raise CliError(f"{reasons} (see `wedata logs '{failed[0]}'`)")
