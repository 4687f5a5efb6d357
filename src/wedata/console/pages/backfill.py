"""Data backfill (补录): the plans of a project, a form that creates one, and a plan's progress.

- ``/p/{project}/backfill``: the project's plans, newest first, 20 a page, each with its
  progress bars. The API has no action listing plans: after ListWorkflows (GetProject is
  tenant-wide; ListWorkflows checks the caller's membership) the plans' ids come from one query (``services.backfill.plans.plan_ids``) and each plan is read through
  GetDataBackfillPlan, as through the SDK.
- ``/p/{project}/backfill/new`` (``?workflow=`` picks the tasks' workflow, ``?task=`` ticks one):
  tasks, a date range, the data time order, the parent check and the parallelism.
  **Create** calls CreateDataBackfillPlan; a refused plan shows the form again as typed, with the
  action's code and message next to the field it names, and nothing is saved.
- ``/p/{project}/backfill/preview`` (htmx, from the form as it changes): how many instances
  the plan would hold, new / run again / taken, and what would refuse it. The API has no dry
  run: the form's values are decoded into a CreateDataBackfillPlanRequest exactly as the action
  decodes them, then ``services.backfill`` ``preview`` runs the create path's own validation,
  tasks, data times and classification (``create.build_members``) and writes nothing; its
  errors are the action's (same code, same message), shown next to the field.
- ``/p/{project}/backfill/{plan}``: GetDataBackfillPlan (complete and success percentages as
  progress bars) and each task's instances (ListDataBackfillInstances, first page); reloaded
  every second (htmx) until the plan is complete.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from starlette.responses import Response

from wedata.actions.registry import to_api_error
from wedata.console.client import ActionFailed
from wedata.console.frame import Pages, View
from wedata.console.reads import all_items
from wedata.protocol.errors import ApiError
from wedata.protocol.params import decode_json
from wedata.services.errors import ServiceError

log = logging.getLogger("wedata.console")
pages = Pages()
_encoder = msgspec.json.Encoder()

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


@pages.get("/p/{project_id}/backfill")
def plans(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    # GetProject is tenant-wide (as ListProjects): a project-bound read checks membership before
    # the plans' ids are read.
    a.data("ListWorkflows", ProjectId=project_id, PageSize=10)
    number = v.page()
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
    preview = _preview(v, project_id, values, picked) if workflow_id else {}
    return v.render("backfill_new.html", status=status, project=project, values=values, picked=picked,
                    workflows=workflows, tasks=tasks, error=error, error_field=field, orders=ORDERS,
                    parent_checks=PARENT_CHECKS, task_prefix=TASK_PREFIX, may_operate=v.may_operate(project_id),
                    **preview)


FORM_FIELDS = ("WorkflowId", "DataBackfillPlanName", "StartDate", "EndDate", "RedefineParallelNum", "DataTimeOrder",
               "CheckParentType")


def _form_values(source: Any) -> tuple[dict[str, str], set[str]]:
    """The form's fields and the ticked tasks, from a POSTed form or the preview's query."""
    values = {k: (source.get(k) or "").strip() for k in FORM_FIELDS}
    picked = {k[len(TASK_PREFIX):] for k in source if k.startswith(TASK_PREFIX)}
    return values, picked


def _plan_params(project_id: str, values: dict[str, str], picked: set[str]) -> dict[str, Any]:
    """The CreateDataBackfillPlan parameters the form means (create and preview send the same)."""
    params: dict[str, Any] = {
        "ProjectId": project_id,
        "TaskIds": sorted(picked),
        "DataBackfillRangeList": [{"StartDate": values.get("StartDate", ""), "EndDate": values.get("EndDate", "")}],
        "DataBackfillPlanName": values.get("DataBackfillPlanName", "") or None,
        "DataTimeOrder": values.get("DataTimeOrder", "") or None,
        "CheckParentType": values.get("CheckParentType", "") or None,
    }
    parallel = values.get("RedefineParallelNum", "")
    try:
        params["RedefineParallelNum"] = int(parallel) if parallel else None
    except ValueError:
        params["RedefineParallelNum"] = parallel  # the action names the field
    return params


def _preview(v: View, project_id: str, values: dict[str, str], picked: set[str]) -> dict[str, Any]:
    """``preview`` (services.backfill ``Preview``) or ``preview_error`` (an ActionFailed with the
    action's code and message) and ``preview_field``; nothing until tasks and both dates are given."""
    if not picked or not values.get("StartDate", "") or not values.get("EndDate", ""):
        return {"preview": None, "preview_error": None, "preview_field": None}
    action = "CreateDataBackfillPlan"
    error: ActionFailed | None = None
    result = None
    try:
        request = decode_json(_encoder.encode(_plan_params(project_id, values, picked)),
                              v.console.routes.routes[action].request_type)
        result = v.console.plans.preview(request)
    except ApiError as err:
        error = ActionFailed(action, err.code, err.message)
    except ServiceError as err:
        api = to_api_error(err)
        error = ActionFailed(action, api.code, api.message)
    except Exception:
        log.exception("console: the backfill preview failed")
        error = ActionFailed(action, "InternalError", "The preview failed; the plan can still be created.")
    return {"preview": result, "preview_error": error,
            "preview_field": field_of(error.message) if error is not None else None}


@pages.get("/p/{project_id}/backfill/preview")
def preview(v: View) -> Response:
    project_id = v.param("project_id")
    values, picked = _form_values(v.request.query_params)
    a = v.actions
    # Membership (and that the workflow is the project's), through the actions, before the service.
    if values.get("WorkflowId"):
        a.data("GetWorkflow", ProjectId=project_id, WorkflowId=values["WorkflowId"])
    else:
        a.data("ListWorkflows", ProjectId=project_id, PageSize=1)
    return v.render("_backfill_preview.html", **_preview(v, project_id, values, picked))


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
    values, picked = _form_values(v.form)
    try:
        created = a.data("CreateDataBackfillPlan", **_plan_params(project_id, values, picked))
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
