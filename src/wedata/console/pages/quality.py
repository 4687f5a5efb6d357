"""Data quality: a project's monitoring tasks (rule groups), their rules and their runs.

- ``/p/{project}/quality``: ListQualityRuleGroups (newest change first, PAGE_SIZE a page,
  ``?table=`` the action's TableName filter: part of the table's name), each group with its
  table, how it runs (after production tasks, on its own cycle, not configured), its rule count;
  below, the project's latest RECENT executions (ListQualityRuleGroupExecResultsByPage), each
  with its verdict, time and every rule's value.
- ``/p/{project}/quality/groups/{group}``: the group (ListQualityRuleGroups filtered by
  RuleGroupId), its rules (ListQualityRules, up to MAX_RULES) with their alarm conditions, and
  its run history (ListQualityRuleGroupExecResultsByPage filtered by RuleGroupId, newest first,
  PAGE_SIZE a page): per execution its status, when, what was checked (the task and data time,
  or its own cycle), and per rule pass / triggered / failed to run with the measured value.

A caller who is not a member of the project is refused by the actions (403).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from wedata.console.client import ActionFailed
from wedata.console.frame import Pages, View

pages = Pages()

PAGE_SIZE = 20
RECENT = 10
MAX_RULES = 200
NEWEST = [{"Name": "CreateTime", "Direction": "DESC"}]

# docs/quality.md: a group execution's Status, a rule's ExecResultStatus, the group's MonitorType.
GROUP_STATUS = {3: ("normal", "verdict-pass"), 4: ("abnormal: a rule triggered", "verdict-triggered"),
                6: ("failed: a rule could not run", "verdict-error")}
RULE_VERDICT = {1: ("pass", "verdict-pass"), 2: ("triggered", "verdict-triggered"), 3: ("failed to run", "verdict-error")}
MONITOR = {1: "not configured", 2: "after production tasks", 3: "on its own cycle"}
TRIGGER = {1: "run by hand", 2: "after a task run", 3: "its own cycle"}
OPERATORS = {"<": "<", "<=": "≤", "==": "=", "=>": "≥", ">=": "≥", ">": ">", "!=": "≠"}


def condition(rule: Any) -> str:
    """A rule's alarm condition (CompareRule) in words: "triggers when value > 10"."""
    compare = rule.compare_rule
    if compare is None or not compare.items:
        return ""
    parts = []
    for item in compare.items:
        values = [str(x.value) for x in item.value_list or [] if x.value is not None]
        kind = item.compare_type
        if kind == 1:
            parts.append(f"value {OPERATORS.get(item.operator or '', item.operator or '')} {', '.join(values)}")
        elif kind == 2:
            parts.append(f"change {OPERATORS.get(item.operator or '', item.operator or '')} {', '.join(values)} %")
        elif kind == 3:
            inside = "inside" if item.value_compute_type == 4 else "outside"
            parts.append(f"value {inside} {' .. '.join(values)}")
        elif kind == 4:
            parts.append(f"a value not in {', '.join(values)}")
        elif kind == 5:
            parts.append("never (the value is recorded)")
    joined = " or ".join(parts) if not compare.compute_expression else f"{compare.compute_expression}: " + "; ".join(parts)
    return "triggers when " + joined


def checked_instance(e: Any) -> str | None:
    """The InstanceKey of the task run an execution checked (``<TaskId>_<data time>``), read from
    its ExecDetail ("task <id>, data time <yyyy-MM-dd HH:mm:ss>", actions/quality/wire.py): the
    list has no InstanceKey field. None for an execution of the group's own cycle."""
    detail = e.exec_detail or ""
    if not detail.startswith("task ") or ", data time " not in detail:
        return None
    task, data_time = detail[len("task "):].split(", data time ", 1)
    return f"{task}_{data_time}"


def _execs(v: View, project_id: str, number: int, size: int, group_id: str | None = None) -> tuple[Any, Any]:
    filters = [{"Name": "RuleGroupId", "Values": [group_id]}] if group_id else None
    return v.actions.try_data("ListQualityRuleGroupExecResultsByPage", ProjectId=project_id, PageNumber=number,
                              PageSize=size, Filters=filters)


def _context() -> dict[str, Any]:
    return {"group_status": GROUP_STATUS, "rule_verdict": RULE_VERDICT, "monitor": MONITOR, "trigger": TRIGGER,
            "checked_instance": checked_instance}


@pages.get("/p/{project_id}/quality")
def groups(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    table, number = v.arg("table"), v.page()
    data, error = a.try_data("ListQualityRuleGroups", ProjectId=project_id, PageNumber=number, PageSize=PAGE_SIZE,
                             Filters=[{"Name": "TableName", "Values": [table]}] if table else None)
    if error is not None and error.forbidden:
        raise error
    recent, recent_error = _execs(v, project_id, 1, RECENT)
    return v.render("quality.html", project=project, data=data, error=error, table=table, page=number,
                    pages=max(1, -(-(data.total_count or 0) // PAGE_SIZE)) if data else 1, recent=recent,
                    recent_error=recent_error, **_context())


@pages.get("/p/{project_id}/quality/groups/{group_id}")
def group(v: View) -> Response:
    project_id, group_id = v.param("project_id"), v.param("group_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    by_id = [{"Name": "RuleGroupId", "Values": [group_id]}]
    found = a.data("ListQualityRuleGroups", ProjectId=project_id, PageNumber=1, PageSize=1, Filters=by_id)
    if not found.items:
        raise ActionFailed("ListQualityRuleGroups", "ResourceNotFound",
                           f"The monitoring task {group_id} does not exist in this project.")
    # One page: PageSize 200 is the action's most, and MAX_RULES.
    listed = a.data("ListQualityRules", ProjectId=project_id, PageNumber=1, PageSize=MAX_RULES, Filters=by_id,
                    OrderFields=NEWEST)
    rules = list(listed.items or [])
    truncated = (listed.total_count or 0) > len(rules)
    number = v.page()
    history, error = _execs(v, project_id, number, PAGE_SIZE, group_id)
    total = (history.total_count or 0) if history else 0
    return v.render("quality_group.html", project=project, group=found.items[0], rules=rules, truncated=truncated,
                    history=history, error=error, page=number, pages=max(1, -(-total // PAGE_SIZE)),
                    condition=condition, **_context())
