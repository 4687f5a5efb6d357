"""The wire-shaped task record: the ``Task`` dict (GetTask, version snapshots) and its
``TaskBaseAttribute`` section (also the items of ListTasks).

This module is the documented exception to "services return domain records, actions/<domain>/
wire.py builds the Structs". The task model is itself wire-shaped: a task's definition is
stored as a plain dict under its wire names (definition.py), and a version's snapshot (SAVE and
SUBMIT, versions.py) is the full ``Task`` dict rendered here, which is what GetTaskVersion and
GetOpsTask show and what the scheduler reads to run a submitted task. A second, "domain" form
of the same fields would only be converted back to these names, field by field, in two places
that would have to agree forever. So the dict built here *is* the domain record; it is never a
``spec.models`` Struct: the one step from this dict to the response Struct (``msgspec.convert``)
happens in actions/tasks/wire.py (GetOpsTask takes the same step for the production snapshot
in the ops action package).

Every key of the generated Structs is present (``None`` where unset); the deprecated scheduler
twins are emitted next to the new names (``WaitExecutionTotalTTL`` as a string, spec §6.1), and
both spellings of the downstream list are filled. ``TaskLatestVersionNo`` is ``V<n>``;
``Submit`` is true when the latest saved version is the one last submitted (spec §4).
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from sqlalchemy import Row, Select, bindparam, select

from wedata.services.common import fmt_time
from wedata.services.projects.access import standing_columns
from wedata.services.tasks.definition import CONF, SCHED, TWINS, encode_code
from wedata.services.tasks.edges import DEV, Config, brief, edges_json
from wedata.storage import tables as T


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of JSON data; a msgspec round trip is several times faster than deepcopy."""
    return msgspec.json.decode(msgspec.json.encode(value))  # type: ignore[no-any-return]


def task_select() -> Select[Any]:
    """tasks + the workflow's name and type + the resource group's name (one row per task)."""
    t, w, g = T.tasks, T.workflows, T.resource_groups
    return select(t, w.c.name.label("workflow_name"), w.c.workflow_type, g.c.name.label("resource_group_name")).select_from(
        t.join(w, w.c.id == t.c.workflow_id).outerjoin(g, g.c.id == t.c.resource_group_id)
    )


def _list_select() -> Select[Any]:
    """task_select without the definition (what ListTasks' TaskBaseAttribute does not show): a
    page of tasks then decodes no JSON (~1.5 kB a task)."""
    t, w, g = T.tasks, T.workflows, T.resource_groups
    return select(*(c for c in t.c if c.name not in ("definition", "name_folded")), w.c.name.label("workflow_name"), w.c.workflow_type,
                  g.c.name.label("resource_group_name")).select_from(
        t.join(w, w.c.id == t.c.workflow_id).outerjoin(g, g.c.id == t.c.resource_group_id)
    )


# The rows of a page of ListTasks (base_attribute), newest first; built once.
TASK_PAGE_BY_IDS = (
    _list_select().where(T.tasks.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(T.tasks.c.created_at.desc(), T.tasks.c.id.desc())
)

# Built once (GetTask is the hottest read): building costs more than executing.
TASK_BY_ID = task_select().where(T.tasks.c.project_id == bindparam("project_id"), T.tasks.c.id == bindparam("task_id"))

# PostgreSQL: TASK_BY_ID with the task's dev edges as a JSON array (``edges``, edges.py
# ``edges_json``): GetTask in one round trip instead of two. (SQLite has no round trip to
# save: it keeps two statements, edges.py ``edges_of``.)
TASK_WITH_EDGES_BY_ID = TASK_BY_ID.add_columns(edges_json(DEV, T.tasks.c.id))

# GetTask's: either of the above with the caller's standing in the project (bound ``uin``;
# services/projects/access.py ``standing_columns``), so the access check costs no statement.
TASK_AND_STANDING_BY_ID = TASK_BY_ID.add_columns(*standing_columns())
TASK_WITH_EDGES_AND_STANDING_BY_ID = TASK_WITH_EDGES_BY_ID.add_columns(*standing_columns())


def _task_for_update() -> Any:
    """The row of TASK_BY_ID, locked (FOR UPDATE OF tasks) in the same statement. The names come
    from scalar subqueries, not joins: when the lock waits on a concurrent writer, PostgreSQL
    re-checks the newest task row against the query's joins as they were (its EvalPlanQual), so
    a joined row could drop the task from the answer; subqueries are evaluated for that row."""
    t, w, g = T.tasks, T.workflows, T.resource_groups

    def of_workflow(column: Any) -> Any:
        return select(column).where(w.c.id == t.c.workflow_id).scalar_subquery()

    group_name = select(g.c.name).where(g.c.id == t.c.resource_group_id).scalar_subquery()
    return (
        select(t, of_workflow(w.c.name).label("workflow_name"), of_workflow(w.c.workflow_type).label("workflow_type"),
               group_name.label("resource_group_name"))
        .where(t.c.project_id == bindparam("project_id"), t.c.id == bindparam("task_id"))
        .with_for_update(of=t)
    )


# Writers lock the task and read it in one statement (one round trip less than lock, then read).
TASK_FOR_UPDATE = _task_for_update()


def version_no(n: int | None) -> str | None:
    return None if n is None else f"V{n}"


def is_submitted(row: Row[Any]) -> bool:
    return row.latest_submit_version_no is not None and row.latest_submit_version_no == row.latest_version_no


def base_attribute(row: Row[Any], zone: str | None = None) -> dict[str, Any]:
    return {
        "TaskId": row.id,
        "TaskTypeId": row.task_type_id,
        "WorkflowId": row.workflow_id,
        "TaskName": row.name,
        "TaskLatestVersionNo": version_no(row.latest_version_no),
        "TaskLatestSubmitVersionNo": version_no(row.latest_submit_version_no),
        "WorkflowName": row.workflow_name,
        "Status": row.status,
        "Submit": is_submitted(row),
        "CreateTime": fmt_time(row.created_at, zone),
        "LastUpdateTime": fmt_time(row.updated_at, zone),
        "LastUpdateUserName": row.update_user_name,
        "LastOpsTime": fmt_time(row.last_ops_at, zone),
        "LastOpsUserName": row.last_ops_user_name,
        "OwnerUin": row.owner_uin,
        "TaskDescription": row.description,
        "UpdateUserUin": row.update_user_uin,
        "CreateUserUin": row.create_user_uin,
        "TaskFolderPath": row.folder_path,
    }


def render_task(
    row: Row[Any],
    upstream: dict[str, Config],
    downstream: dict[str, Config],
    *,
    encode: bool = True,
    zone: str | None = None,
) -> dict[str, Any]:
    """The ``Task`` dict of a task row and its edges. ``encode=False`` keeps CodeContent as
    plain text (the form stored in version snapshots)."""
    definition = row.definition or {}
    conf = _copy(definition.get(CONF) or {})
    if encode:
        conf["CodeContent"] = encode_code(conf.get("CodeContent"))
    conf["ResourceGroupName"] = row.resource_group_name
    sched = _copy(definition.get(SCHED) or {})
    for new, old in TWINS.items():
        value = sched.get(new)
        sched[old] = value if value is None or old != "WaitExecutionTotalTTL" else str(value)
    sched["UpstreamDependencyConfigList"] = [brief(tid, c) for tid, c in upstream.items()]
    down = [brief(tid, c) for tid, c in downstream.items()]
    sched["DownstreamDependencyConfigList"] = down
    sched["DownStreamDependencyConfigList"] = copy.deepcopy(down)
    return {
        "TaskBaseAttribute": base_attribute(row, zone),
        "TaskConfiguration": conf,
        "TaskSchedulerConfiguration": sched,
    }


def encode_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A stored snapshot (plain-text code) in wire form (Base64 code)."""
    task = copy.deepcopy(snapshot)
    conf = task.get(CONF) or {}
    conf["CodeContent"] = encode_code(conf.get("CodeContent"))
    return task
