"""Data backfill (补录): the plans of a project, a form that creates one, and a plan's progress.

- ``/p/{project}/backfill``: the project's plans, newest first, 20 a page, each with its
  progress bars. The API has no action listing plans: after ListWorkflows (GetProject is
  tenant-wide; ListWorkflows checks the caller's membership) the plans' ids come from one query (``services.backfill.plans.plan_ids``) and each plan is read through
  GetDataBackfillPlan, as through the SDK.
- ``/p/{project}/backfill/new`` (``?workflow=`` picks the tasks' workflow, ``?task=`` ticks one):
  tasks, a date range, the data time order, the parent check and the parallelism.
  **Create** calls CreateDataBackfillPlan; a refused plan shows the form again as typed, with the
  action's code and message next to the field it names, and nothing is saved.
- ``/p/{project}/backfill/{plan}``: GetDataBackfillPlan (complete and success percentages as
  progress bars) and each task's instances (ListDataBackfillInstances, first page); reloaded
  every second (htmx) until the plan is complete.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from wedata.console.client import ActionFailed
from wedata.console.frame import Pages, View
from wedata.console.reads import all_items

pages = Pages()

PAGE_SIZE = 20
MAX_TASKS_SHOWN = 20
MEMBERS_SHOWN = 20
ORDERS = (("NORMAL", "any order (oldest released first)"), ("ORDER", "oldest first, one after another"),
          ("REVERSE", "newest first, one after another"))
PARENT_CHECKS = (("NONE", "parents in the plan must have finished"), ("MAKE_SCOPE", "parents in the plan must succeed"),
                 ("ALL", "every parent must have succeeded"))
TASK_PREFIX = "task:"
# The fields an error is shown next to; an error naming the range list itself goes by the dates.
FIELDS = ("TaskIds", "StartDate", "EndDate", "DataTimeOrder", "CheckParentType", "RedefineParallelNum",
          "DataBackfillPlanName", "DataBackfillRangeList")


def field_of(message: str) -> str | None:
    """The form field an error message names first (``DataBackfillRangeList.0: StartDate ...``
    names StartDate)."""
    found = [(m.start(), name) for name in FIELDS[:-1] if (m := re.search(rf"\b{name}\b", message))]
    if found:
        return min(found)[1]
    return "StartDate" if "DataBackfillRangeList" in message else None


def _int(value: str, default: int = 1) -> int:
    try:
        return max(1, int(value))
    except ValueError:
        return default


@pages.get("/p/{project_id}/backfill")
def plans(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    # GetProject is tenant-wide (as ListProjects): a project-bound read checks membership before
    # the plans' ids are read.
    a.data("ListWorkflows", ProjectId=project_id, PageSize=10)
    number = _int(v.arg("page"))
    ids, total = v.console.plans.plan_ids(project_id, PAGE_SIZE, (number - 1) * PAGE_SIZE)
    rows = []
    for plan_id in ids:
        plan, error = a.try_data("GetDataBackfillPlan", ProjectId=project_id, DataBackfillPlanId=plan_id)
        rows.append({"id": plan_id, "plan": plan, "error": error})
    return v.render("backfill_plans.html", project=project, rows=rows, total=total, page=number,
                    pages=max(1, -(-total // PAGE_SIZE)), may_operate=v.may_operate(project_id))


def _form_page(v: View, project: Any, values: dict[str, str], picked: set[str],
               error: ActionFailed | None = None, status: int = 200) -> Response:
    project_id = project.project_id
    a = v.actions
    workflows, _ = all_items(a, "ListWorkflows", page_size=200, max_items=1000, ProjectId=project_id)
    workflow_id = values.get("WorkflowId") or ""
    tasks: list[Any] = []
    if workflow_id:
        a.data("GetWorkflow", ProjectId=project_id, WorkflowId=workflow_id)  # membership, and that it exists
        tasks = v.console.edges.workflow_tasks(project_id, workflow_id, 1000)
    field = field_of(error.message) if error else None
    return v.render("backfill_new.html", status=status, project=project, values=values, picked=picked,
                    workflows=workflows, tasks=tasks, error=error, error_field=field, orders=ORDERS,
                    parent_checks=PARENT_CHECKS, task_prefix=TASK_PREFIX, may_operate=v.may_operate(project_id))


@pages.get("/p/{project_id}/backfill/new")
def new_plan(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    values = {"WorkflowId": v.arg("workflow"), "DataTimeOrder": "NORMAL", "CheckParentType": "NONE"}
    picked: set[str] = set()
    task_id = v.arg("task")
    if task_id:
        task = a.data("GetTask", ProjectId=project_id, TaskId=task_id)
        values["WorkflowId"] = task.task_base_attribute.workflow_id or ""
        picked.add(task_id)
    return _form_page(v, project, values, picked)


@pages.post("/p/{project_id}/backfill")
def create_plan(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    form = v.form
    values = {k: form.get(k, "").strip() for k in ("WorkflowId", "DataBackfillPlanName", "StartDate", "EndDate",
                                                     "RedefineParallelNum", "DataTimeOrder", "CheckParentType")}
    picked = {k[len(TASK_PREFIX):] for k in form if k.startswith(TASK_PREFIX)}
    params: dict[str, Any] = {
        "ProjectId": project_id,
        "TaskIds": sorted(picked),
        "DataBackfillRangeList": [{"StartDate": values["StartDate"], "EndDate": values["EndDate"]}],
        "DataBackfillPlanName": values["DataBackfillPlanName"] or None,
        "DataTimeOrder": values["DataTimeOrder"] or None,
        "CheckParentType": values["CheckParentType"] or None,
    }
    parallel = values["RedefineParallelNum"]
    try:
        params["RedefineParallelNum"] = int(parallel) if parallel else None
    except ValueError:
        params["RedefineParallelNum"] = parallel  # the action names the field
    try:
        created = a.data("CreateDataBackfillPlan", **params)
    except ActionFailed as err:
        return _form_page(v, project, values, picked, err, status=403 if err.forbidden else 400)
    return v.redirect(f"/p/{project_id}/backfill/{created.data_backfill_plan_id}")


@pages.get("/p/{project_id}/backfill/{plan_id}")
def plan(v: View) -> Response:
    project_id, plan_id = v.param("project_id"), v.param("plan_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    detail = a.data("GetDataBackfillPlan", ProjectId=project_id, DataBackfillPlanId=plan_id)
    sections = []
    for task_id in (detail.task_ids or [])[:MAX_TASKS_SHOWN]:
        data, error = a.try_data("ListDataBackfillInstances", ProjectId=project_id, DataBackfillPlanId=plan_id,
                                 TaskId=task_id, PageSize=MEMBERS_SHOWN)
        sections.append({"task_id": task_id, "items": (data.items or []) if data else [],
                         "total": (data.total_count or 0) if data else 0, "error": error})
    template = "_backfill_plan.html" if v.htmx else "backfill_plan.html"
    return v.render(template, project=project, plan=detail, plan_id=plan_id, sections=sections,
                    more_tasks=max(0, len(detail.task_ids or []) - MAX_TASKS_SHOWN))
