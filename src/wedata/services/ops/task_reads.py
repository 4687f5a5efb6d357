"""Production-side (Ops) task reads: GetOpsTask, GetOpsTaskCode, ListOpsTasks, ListUpstreamOpsTasks,
ListDownstreamOpsTasks (spec §1 E, §2.6).

The production definition of a task is the SUBMIT version ``tasks.prod_version_id`` names; its
``snapshot`` is the Task dict as GetOpsTask returns it, with plain-text code (task_versions.py).
A task that was never submitted is not an Ops task: ``ResourceNotFound``. Lists are one page
query plus one COUNT; schedule fields are read out of the snapshot JSON in SQL, so no code is
loaded for a list. The service answers rows and records (records.py); actions/ops/wire.py turns
them into the Task, TaskOpsInfo and OpsTaskDepend shapes the decisions below describe.

Decisions where WeData's documentation is silent:

- What a task *is* in production (name, schedule, resource group, code, upstream edges) comes
  from the snapshot; what the operators change on the production task itself comes from the
  live row: ``Status`` (Y/F/O/T/INVALID, changed by the Ops actions), ``OwnerUin`` (changed by
  UpdateOpsTasksOwner), ``LastOpsTime``/``LastOpsUserName``, and the version numbers and
  ``Submit`` flag of GetOpsTask's TaskBaseAttribute (they describe the task as a whole). Names
  of other resources (workflow, resource group) are their current names.
- GetOpsTask's dependency lists are the production edges now (``side = "prod"``): the upstream
  list is what was submitted, the downstream list the submitted tasks that depend on this one.
- ``ProjectName`` is the project's display name (WeData's examples show display names there).
- TaskOpsInfo: ``FolderId``/``FolderName`` are the workflow's folder (null for a workflow in
  ``/``); ``UpdateUserUin`` is who submitted the production version; ``LastSchedulerCommitTime``
  that submission's time and ``FirstSubmitTime`` the first submission's; ``FirstRunTime`` the
  schedule's ``StartTime`` (the first time the task may run, as WeData's example shows);
  ``LastUpdateTime`` the latest production change (an Ops operation or a submission);
  ``ScheduleDesc`` the schedule sentence with the task's zone appended, e.g. ``(UTC+8)``.
- ListOpsTasks filters: ``WorkflowName`` is a case-insensitive substring; ``FolderId`` (a
  workflow folder) includes its sub-folders (an unknown folder matches nothing);
  ``SourceServiceId``/``TargetServiceId`` match one of the ``;``-separated ids of the
  production TaskConfiguration; ``ExecutorGroupId`` its ResourceGroup; ``CycleType`` accepts
  the full, short or one-letter names; ``Status`` one of Y, F, O, T, INVALID. Newest first.
- OpsTaskDepend: the other end of an edge may not be in production (submitted before its
  upstream): it is listed with its dev definition and live status (``N``).
  ``ExecutionStartTime``/``ExecutionEndTime`` are given for minute and hour tasks only (the
  execution window applies to them, spec §6.10). Workflow-scheduling projects have no such
  lists: ``ResourceNotFound`` (spec §5).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, literal, or_, select
from sqlalchemy.sql.elements import Label

from wedata.clock import Clock
from wedata.config import Settings
from wedata.scheduling.cycletypes import CycleType
from wedata.services.common import Page, Paged, as_int, page, zone_of
from wedata.services.errors import InvalidValue, NotFound
from wedata.services.ops.records import OpsTask
from wedata.services.tasks.definition import CONF, SCHED
from wedata.services.tasks.edges import PROD, edges_json, edges_of
from wedata.services.tasks.versions import SUBMIT
from wedata.storage import tables as T
from wedata.storage.db import Database

__all__ = ["OpsTaskService", "first_submit_time", "folder_join", "last_change", "ops_page", "prod_field",
           "under_folder"]

t, v, w, p, f, g = T.tasks, T.task_versions, T.workflows, T.projects, T.workflow_folders, T.resource_groups
BASE = "TaskBaseAttribute"
OPS_STATUSES = ("Y", "F", "O", "T", "INVALID")
_SCHEDULE = ("CycleType", "CrontabExpression", "StartTime", "ExecutionStartTime", "ExecutionEndTime",
             "ScheduleTimeZone")  # fmt: skip


def prod_field(section: str, key: str, *, dev_fallback: bool = False) -> ColumnElement[Any]:
    """A string field of the production snapshot (or, for a task not in production, of its dev
    definition, which has the same TaskConfiguration/TaskSchedulerConfiguration paths)."""
    value: ColumnElement[Any] = v.c.snapshot[(section, key)].as_string()
    if dev_fallback and section != BASE:
        value = func.coalesce(value, t.c.definition[(section, key)].as_string())
    return value


def first_submit_time() -> Any:
    """SQL: the time of the task's first submission (correlated to ``tasks``)."""
    first = T.task_versions.alias("first_submit")
    return (
        select(func.min(first.c.created_at))
        .where(first.c.task_id == t.c.id, first.c.kind == SUBMIT)
        .scalar_subquery()
    )


def folder_join() -> ColumnElement[bool]:
    """The workflow's folder row (the root ``/`` has none)."""
    return and_(f.c.project_id == w.c.project_id, f.c.path == w.c.folder_path)


def last_change(r: Any) -> Any:
    """A ListOpsTasks row's latest production change: its submission or an Ops operation."""
    return max(x for x in (r.submitted_at, r.last_ops_at) if x is not None)


def _schedule_labels(*, dev_fallback: bool = False) -> list[Label[Any]]:
    return [prod_field(SCHED, k, dev_fallback=dev_fallback).label(k) for k in _SCHEDULE]


class OpsTaskService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    # ------------------------------------------------------------------------------------------
    # One task.

    @staticmethod
    def _prod_row(conn: Connection, project_id: str, task_id: str, *columns: Any) -> Any:
        row = conn.execute(
            select(t, *columns)
            .select_from(t.join(v, v.c.version_id == t.c.prod_version_id))
            .where(t.c.project_id == project_id, t.c.id == task_id)
        ).first()
        if row is None:
            raise NotFound(f"The task {task_id} does not exist in production in the project {project_id}.")
        return row

    def get_task(self, project_id: str, task_id: str) -> OpsTask:
        """GetOpsTask: the production task row (snapshot, group and workflow names) and edges."""
        group_name = (
            select(g.c.name).where(g.c.id == prod_field(CONF, "ResourceGroup")).scalar_subquery().label("group_name")
        )
        workflow_name = select(w.c.name).where(w.c.id == t.c.workflow_id).scalar_subquery().label("workflow_name")
        # PostgreSQL: the edges in the same round trip, as GetTask reads them (tasks/snapshot.py).
        edges = () if self.db.is_sqlite else (edges_json(PROD, t.c.id),)
        with self.db.read() as conn:
            row = self._prod_row(conn, project_id, task_id, v.c.snapshot, group_name, workflow_name, *edges)
            up, down = edges_of(conn, row, task_id, PROD)
        return OpsTask(row=row, upstream=up, downstream=down)

    def get_code(self, project_id: str, task_id: str) -> tuple[str, int]:
        """GetOpsTaskCode: (plain-text production code, its size in bytes)."""
        with self.db.read() as conn:
            row = self._prod_row(conn, project_id, task_id, prod_field(CONF, "CodeContent").label("code"))
        code = row.code or ""
        return code, len(code.encode("utf-8"))

    # ------------------------------------------------------------------------------------------
    # ListOpsTasks.

    def list_tasks(self, project_id: str, filters: dict[str, Any], pg: Page, zone: str | None) -> Paged[Any]:
        """``filters``: the ListOpsTasks request fields by wire name (None = not given). Rows:
        the production task with its names, submissions and schedule fields (by wire name)."""
        zone_of(zone)  # InvalidParameterValue for an unknown zone, before anything else
        cond = _list_condition(project_id, filters)
        joined = (
            t.join(v, v.c.version_id == t.c.prod_version_id)
            .join(w, w.c.id == t.c.workflow_id)
            .join(p, p.c.id == t.c.project_id)
            .outerjoin(f, folder_join())
        )
        stmt: Select[Any] = (
            select(
                t.c.id, t.c.owner_uin, t.c.status, t.c.task_type_id, t.c.workflow_id, t.c.project_id,
                t.c.created_at, t.c.last_ops_at,
                prod_field(BASE, "TaskName").label("task_name"),
                w.c.name.label("workflow_name"), p.c.display_name.label("project_name"),
                f.c.id.label("folder_id"), f.c.name.label("folder_name"),
                v.c.create_user_uin.label("submitter"), v.c.created_at.label("submitted_at"),
                prod_field(CONF, "ResourceGroup").label("group_id"),
                select(g.c.name).where(g.c.id == prod_field(CONF, "ResourceGroup")).scalar_subquery()
                .label("group_name"),
                first_submit_time().label("first_submit"),
                *_schedule_labels(),
            )
            .select_from(joined)
            .where(cond)
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .limit(pg.size)
            .offset(pg.offset)
        )
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(joined).where(cond)).scalar_one()
            rows = conn.execute(stmt).all()
        return Paged(list(rows), pg, total)

    # ------------------------------------------------------------------------------------------
    # ListUpstreamOpsTasks / ListDownstreamOpsTasks.

    def list_dependencies(self, project_id: str, task_id: str, pg: Page, *, upstream: bool) -> Paged[Any]:
        """Rows: the task at the other end of each production edge (its dev definition when it
        is not in production), with its names, first submission and schedule fields."""
        e = T.task_dependencies
        mine, other = (e.c.task_id, e.c.upstream_task_id) if upstream else (e.c.upstream_task_id, e.c.task_id)
        joined = (
            e.join(t, t.c.id == other)
            .outerjoin(v, v.c.version_id == t.c.prod_version_id)
            .join(w, w.c.id == t.c.workflow_id)
            .join(p, and_(p.c.id == t.c.project_id, p.c.deleted_at.is_(None)))
            .outerjoin(f, folder_join())
        )
        where = and_(e.c.side == PROD, mine == task_id, other != task_id)
        stmt = (
            select(
                t.c.id, t.c.name, t.c.status, t.c.task_type_id, t.c.workflow_id, t.c.project_id, t.c.owner_uin,
                t.c.cycle_type,
                func.coalesce(prod_field(BASE, "TaskName"), t.c.name).label("task_name"),
                w.c.name.label("workflow_name"), p.c.display_name.label("project_name"),
                f.c.id.label("folder_id"), f.c.name.label("folder_name"),
                first_submit_time().label("first_submit"),
                *_schedule_labels(dev_fallback=True),
            )
            .select_from(joined)
            .where(where)
            .order_by(e.c.created_at, t.c.id)
            .limit(pg.size)
            .offset(pg.offset)
        )
        with self.db.read() as conn:
            mode = conn.execute(
                select(p.c.schedule_mode)
                .select_from(t.join(v, v.c.version_id == t.c.prod_version_id).join(p, p.c.id == t.c.project_id))
                .where(t.c.project_id == project_id, t.c.id == task_id)
            ).first()
            if mode is None:
                raise NotFound(f"The task {task_id} does not exist in production in the project {project_id}.")
            if mode.schedule_mode == "workflow":
                raise NotFound(
                    f"The project {project_id} schedules workflows: its tasks have no production dependency list."
                )
            total = conn.execute(select(func.count()).select_from(joined).where(where)).scalar_one()
            rows = conn.execute(stmt).all()
        return Paged(list(rows), pg, total)


# ----------------------------------------------------------------------------------------------
# ListOpsTasks filters.


def under_folder(column: ColumnElement[Any], path: Any) -> ColumnElement[bool]:
    """``column`` (a folder path) is the folder ``path`` or below it (no LIKE: paths may hold
    ``_`` and ``%``)."""
    prefix = path + literal("/")
    return or_(column == path, func.substr(column, 1, func.length(prefix)) == prefix)


def _ids_contain(column: ColumnElement[Any], value: str) -> ColumnElement[bool]:
    """``column`` holds ``;``-separated ids, one of which is ``value``."""
    wrapped = literal(";") + func.coalesce(column, "") + literal(";")
    return wrapped.contains(f";{value.strip()};", autoescape=True)


def _list_condition(project_id: str, q: dict[str, Any]) -> ColumnElement[bool]:
    conds: list[ColumnElement[bool]] = [t.c.project_id == project_id, t.c.prod_version_id.is_not(None)]
    type_id = as_int(q.get("TaskTypeId"), "TaskTypeId")
    if type_id is not None:
        conds.append(t.c.task_type_id == type_id)
    if q.get("WorkflowId"):
        conds.append(t.c.workflow_id == q["WorkflowId"])
    if q.get("WorkflowName"):
        conds.append(func.lower(w.c.name).contains(q["WorkflowName"].lower(), autoescape=True))
    if q.get("OwnerUin"):
        conds.append(t.c.owner_uin == q["OwnerUin"].strip())
    if q.get("FolderId"):
        folder = T.workflow_folders.alias("filter_folder")
        under = select(folder.c.path).where(folder.c.project_id == project_id, folder.c.id == q["FolderId"])
        conds.append(under_folder(w.c.folder_path, under.scalar_subquery()))
    if q.get("SourceServiceId"):
        conds.append(_ids_contain(prod_field(CONF, "SourceServiceId"), q["SourceServiceId"]))
    if q.get("TargetServiceId"):
        conds.append(_ids_contain(prod_field(CONF, "TargetServiceId"), q["TargetServiceId"]))
    if q.get("ExecutorGroupId"):
        conds.append(prod_field(CONF, "ResourceGroup") == q["ExecutorGroupId"].strip())
    cycle = q.get("CycleType")
    if cycle not in (None, ""):
        try:
            full = CycleType.parse(cycle).value
        except ValueError:
            raise InvalidValue(f"CycleType: unknown cycle type {cycle!r}") from None
        conds.append(prod_field(SCHED, "CycleType") == full)
    status = q.get("Status")
    if status not in (None, ""):
        text = str(status).strip().upper()
        if text not in OPS_STATUSES:
            raise InvalidValue(f"Status must be one of {', '.join(OPS_STATUSES)}, got {status!r}")
        conds.append(t.c.status == text)
    return and_(*conds)


def ops_page(number: int | str | None, size: int | str | None) -> Page:
    """Ops lists: default 10, 1..200 (the SDK states no limit; the dev-side maximum applies)."""
    return page(number, size, min_size=1, max_size=200)
