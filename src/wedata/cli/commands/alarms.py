"""``wedata alarms list``: the project's alarm rules (ListOpsAlarmRules)."""

from __future__ import annotations

from typing import Any

import click

from wedata.cli.remote import project_option, remote
from wedata.cli.render import output_option

_STATUS = {0: "off", 1: "on"}
_LEVEL = {1: "normal", 2: "major", 3: "urgent"}


@click.group()
def alarms() -> None:
    """List alarm rules."""


@alarms.command("list")
@project_option
@click.option("--task", default=None, help="Only the rules watching this task (id or name).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1), help="At most this many rules.")
@output_option
def list_alarms(project: str | None, task: str | None, limit: int, output: str) -> None:
    """List the project's alarm rules."""
    from wedata.cli import render

    r = remote()
    project_id = r.project(project)
    params: dict[str, Any] = {"ProjectId": project_id}
    if task:
        params["TaskId"] = r.task_id(project_id, task)
    items = list(r.pages("ListOpsAlarmRules", params, limit=limit))
    if output == "json":
        render.print_json(items)
        return
    render.table(items, [
        ("RULE ID", "AlarmRuleId"), ("NAME", "AlarmRuleName"), ("TYPES", "AlarmTypes"),
        ("WATCHES", lambda a: render.cell(a.get("MonitorObjectIds"))),
        ("LEVEL", lambda a: _LEVEL.get(a.get("AlarmLevel"), a.get("AlarmLevel"))),  # type: ignore[arg-type]
        ("STATUS", lambda a: _STATUS.get(a.get("Status"), a.get("Status"))),  # type: ignore[arg-type]
        ("OWNER", "OwnerUin"),
    ], empty="no alarm rules")
