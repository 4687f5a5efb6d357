"""``wedata backfill TASK.. --from D --to D``: a data backfill plan, followed with a progress bar.

The plan is CreateDataBackfillPlan over the tasks and the date range (dates of the instances'
data times, in each task's own schedule zone). The command prints the plan id, then follows
GetDataBackfillPlan (CompletePercent, SuccessPercent) with a live rich progress bar on a
terminal (a line per change otherwise) until every instance of the plan has ended, and prints
the outcome from ListDataBackfillInstances. Exit code 0 if and only if every instance
COMPLETED.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from wedata.cli.errors import CliError
from wedata.cli.remote import project_option, remote


def _date(value: str, option: str) -> str:
    from datetime import datetime

    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d").strftime("%Y-%m-%d")
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date yyyy-MM-dd", param_hint=option) from None


def plan_instances(r: Any, project_id: str, plan_id: str, task_ids: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for task_id in task_ids:
        out.extend(r.pages("ListDataBackfillInstances", {"ProjectId": project_id, "DataBackfillPlanId": plan_id,
                                                         "TaskId": task_id}, limit=1_000_000))
    return out


def follow_plan(r: Any, project_id: str, plan_id: str, total: int, *, interval: float = 0.5) -> dict[str, Any]:
    """Poll the plan until CompletePercent reaches 100; progress on stderr."""
    params = {"ProjectId": project_id, "DataBackfillPlanId": plan_id}
    label = f"backfill {plan_id[:8]} ({total} instance{'s' if total != 1 else ''})"
    if sys.stderr.isatty():
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

        from wedata.cli.render import console

        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                   TextColumn("{task.fields[detail]}"), TimeElapsedColumn())
        with Progress(*columns, console=console(stderr=True), refresh_per_second=8) as progress:
            bar = progress.add_task(label, total=100, detail="")
            while True:
                plan = r.data("GetDataBackfillPlan", params)
                done, ok = plan.get("CompletePercent") or 0, plan.get("SuccessPercent") or 0
                progress.update(bar, completed=done, detail=f"ok {ok}%  failed {max(done - ok, 0)}%")
                if done >= 100:
                    return dict(plan)
                time.sleep(interval)
    last = None
    while True:
        plan = r.data("GetDataBackfillPlan", params)
        done, ok = plan.get("CompletePercent") or 0, plan.get("SuccessPercent") or 0
        if (done, ok) != last:
            click.echo(f"{label}: {done}% done, {ok}% ok", err=True)
            last = (done, ok)
        if done >= 100:
            return dict(plan)
        time.sleep(interval)


@click.command()
@click.argument("task", nargs=-1, required=True)
@project_option
@click.option("--from", "start", required=True, metavar="DATE", help="First data date, yyyy-MM-dd (task zone).")
@click.option("--to", "end", required=True, metavar="DATE", help="Last data date, yyyy-MM-dd (inclusive).")
@click.option("--parallel", default=None, type=click.IntRange(1, 10_000),
              help="At most this many of the plan's instances run at once (default: each task's own).")
@click.option("--order", default=None, type=click.Choice(["NORMAL", "ORDER", "REVERSE"], case_sensitive=False),
              help="NORMAL (default), ORDER: oldest data time first, one after another; REVERSE: newest first.")
@click.option("--check-parents", default=None, type=click.Choice(["NONE", "MAKE_SCOPE", "ALL"], case_sensitive=False),
              help="NONE (default): parents in the plan need only have ended; MAKE_SCOPE: they must succeed; "
                   "ALL: every parent, in the plan or not, must have succeeded.")
@click.option("--name", default=None, help="Plan name (default: a generated one).")
@click.option("--detach", is_flag=True, help="Create the plan, print its id and exit.")
def backfill(task: tuple[str, ...], project: str | None, start: str, end: str, parallel: int | None,
             order: str | None, check_parents: str | None, name: str | None, detach: bool) -> None:
    """Backfill TASK(s) (ids or names) for every data time from --from to --to, with live progress."""
    r = remote()
    project_id = r.project(project)
    task_ids = [r.task_id(project_id, t) for t in task]
    body: dict[str, Any] = {
        "ProjectId": project_id, "TaskIds": task_ids,
        "DataBackfillRangeList": [{"StartDate": _date(start, "--from"), "EndDate": _date(end, "--to")}],
    }
    for key, value in (("RedefineParallelNum", parallel), ("DataTimeOrder", order and order.upper()),
                       ("CheckParentType", check_parents and check_parents.upper()), ("DataBackfillPlanName", name)):
        if value is not None:
            body[key] = value
    plan_id = r.data("CreateDataBackfillPlan", body)["DataBackfillPlanId"]
    click.echo(plan_id)
    if detach:
        return
    total = sum(r.data("ListDataBackfillInstances", {"ProjectId": project_id, "DataBackfillPlanId": plan_id,
                                                     "TaskId": t, "PageSize": 1}).get("TotalCount") or 0
                for t in task_ids)
    follow_plan(r, project_id, plan_id, total)
    items = plan_instances(r, project_id, plan_id, task_ids)
    failed = [i for i in items if i.get("State") != "COMPLETED"]
    click.echo(f"backfill {plan_id}: {len(items) - len(failed)} of {len(items)} instance(s) COMPLETED", err=True)
    if failed:
        shown = ", ".join(f"{i.get('TaskId')}_{i.get('CurRunDate')} {i.get('State')}" for i in failed[:10])
        more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        raise CliError(f"{len(failed)} instance(s) did not complete: {shown}{more}")
