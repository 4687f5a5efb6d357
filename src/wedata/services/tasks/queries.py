"""ListTasks: the filters of ListTasksRequest as one SQL condition on ``tasks`` alone (the
workflow folder filter is a list of the folder's workflows, read first), so the count and the
page's ids need no join.

- ``TaskName`` matches a case-insensitive substring (the console's search box);
- ``TaskFolderPathList`` / ``WorkflowFolderPathList``: a folder includes all its sub-folders;
  ``/`` is the root and therefore matches every task; several paths are OR-ed;
- ``TaskNodeTypeList`` maps node categories to their TaskTypeIds (services.task_types);
- ``Submit`` true = the latest saved version is the submitted one;
- ``BundleId`` is TaskConfiguration.BundleId, kept in the column ``bundle_id`` on every save.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, false, or_, select, true

from wedata.services.common import as_int, parse_time_range
from wedata.services.errors import InvalidValue
from wedata.services.folders import under
from wedata.services.tasks import search
from wedata.services.tasks.types import NODE_TYPES, task_type_ids
from wedata.services.workflows.workflows import TRIGGER
from wedata.spec import models as M
from wedata.storage import tables as T

STATUSES = ("N", "Y", "F", "O", "T", "INVALID")



def _path(value: str, field: str) -> str:
    text = (value or "").strip()
    if not text.startswith("/"):
        raise InvalidValue(f"{field}: {value!r} must be an absolute path starting with /")
    if text != "/" and text.endswith("/"):
        text = text.rstrip("/") or "/"
    if "//" in text:
        raise InvalidValue(f"{field}: {value!r} has an empty path segment")
    return text


def _under(column: Any, paths: list[str], field: str) -> ColumnElement[bool]:
    conds: list[ColumnElement[bool]] = []
    for raw in paths:
        p = _path(raw, field)
        if p == "/":
            return true()
        conds.append(under(column, p))
    return or_(*conds)


# The project's trigger workflows (their ``workflow_type``, services/workflows), built once: every
# ListTasks reads them to keep its kind of tasks.
_TRIGGER_WORKFLOWS = select(T.workflows.c.id).where(T.workflows.c.project_id == bindparam("project_id"),
                                                     T.workflows.c.workflow_type == TRIGGER)


def trigger_workflow_ids(conn: Connection, project_id: str) -> list[str]:
    return list(conn.execute(_TRIGGER_WORKFLOWS, {"project_id": project_id}).scalars())


def workflow_ids(conn: Connection, project_id: str, where: ColumnElement[bool]) -> list[str]:
    """The project's workflows matching ``where``, read first: a literal list lets PostgreSQL
    check the condition on the tasks' list index (a sub-select would send it to the rows)."""
    w = T.workflows
    return [r[0] for r in conn.execute(select(w.c.id).where(w.c.project_id == project_id, where))]


def list_condition(conn: Connection, req: M.ListTasksRequest) -> ColumnElement[bool]:
    t, w = T.tasks, T.workflows
    conds: list[ColumnElement[bool]] = [t.c.project_id == req.project_id]
    if req.task_name:
        # On PostgreSQL the trigram index of the lowered name serves it (0027, 0036).
        conds.append(search.name_contains(req.task_name))
    if req.workflow_id:
        conds.append(t.c.workflow_id == req.workflow_id)
    if req.owner_uin:
        conds.append(t.c.owner_uin == req.owner_uin)
    if req.task_type_id not in (None, ""):
        conds.append(t.c.task_type_id == as_int(req.task_type_id, "TaskTypeId"))
    if req.status not in (None, ""):
        status = str(req.status).strip().upper()
        if status not in STATUSES:
            raise InvalidValue(f"Status must be one of {', '.join(STATUSES)}, got {req.status!r}")
        conds.append(t.c.status == status)
    if req.submit is not None:
        # The latest saved version is the submitted one (never submitted: not), written as the
        # indexed expression (storage/tables.py, 0028_submit_indexes): the count and the page
        # come from the index.
        conds.append(T.task_submitted == bool(req.submit))
    if req.bundle_id:
        conds.append(t.c.bundle_id == req.bundle_id)
    if req.create_user_uin:
        conds.append(t.c.create_user_uin == req.create_user_uin)
    modified = parse_time_range(req.modify_time, None, "ModifyTime")
    if modified:
        conds.append(t.c.updated_at.between(*modified))
    created = parse_time_range(req.create_time, None, "CreateTime")
    if created:
        conds.append(t.c.created_at.between(*created))
    if req.task_folder_path_list:
        # A task in the root has no folder path: it only matches the root filter "/".
        conds.append(_under(t.c.folder_path, req.task_folder_path_list, "TaskFolderPathList"))
    if req.workflow_folder_path_list:
        folders = _under(w.c.folder_path, req.workflow_folder_path_list, "WorkflowFolderPathList")
        ids_in = workflow_ids(conn, req.project_id, folders)
        conds.append(t.c.workflow_id.in_(ids_in) if ids_in else false())
    if req.task_node_type_list:
        ids: set[int] = set()
        for raw in req.task_node_type_list:
            name = (raw or "").strip().upper()
            if name not in NODE_TYPES:
                raise InvalidValue(f"TaskNodeTypeList: unknown node type {raw!r} (allowed: {', '.join(NODE_TYPES)})")
            ids |= task_type_ids(name)
        conds.append(t.c.task_type_id.in_(sorted(ids)) if ids else false())
    return and_(*conds)
