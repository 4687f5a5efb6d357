"""Production-side (Ops) workflows: GetOpsWorkflow, ListOpsWorkflows (spec §1 E, §2.6, §3.13).

An Ops workflow is a workflow with at least one submitted task (``tasks.prod_version_id`` set);
any other workflow id is ``ResourceNotFound`` here. A list page is one query (the per-workflow
aggregates are grouped subqueries joined to it) plus one COUNT.

Decisions where WeData's documentation is silent:

- ``Status`` aggregates the statuses of the workflow's submitted tasks: all Y ``ALL_RUNNING``,
  all O ``ALL_FREEZED``, all F ``ALL_STOPPTED`` (WeData's spelling; the filter also accepts
  ``ALL_STOPPED``), all INVALID ``ALL_INVALID``, some Y ``PART_RUNNING``, otherwise (a mix of
  paused, offline, stopping, invalid) ``ALL_NO_RUNNING``. ``TaskCount`` counts the submitted tasks.
- ``ProjectName`` is the project's display name (WeData's examples show display names there).
- ``OwnerUin`` is written ``;uin;`` (several owners ``;a;b;``, spec §6.28); the OwnerUin filter
  matches any one of them.
- ``UpdateTime``/``UpdateUserUin`` are the latest of the workflow's own update (dev side) and the
  latest submission of one of its tasks (prod side), with who made it.
- GetOpsWorkflow's schedule (``CycleType``, ``StartTime``, ``EndTime``, ``SchedulerDesc``) is the
  workflow's unified schedule when it has one; otherwise that of its submitted tasks when they
  all share one cycle, cron expression and zone (``StartTime`` the earliest, ``EndTime`` the
  latest); otherwise null. Times are shown in UTC+8. ``InstanceInitStrategy`` is the tasks'
  common InitStrategy (null when they differ). ``StartupTime`` (delayed start) is 0: delayed
  starts are not supported.
- ListOpsWorkflows: ``WorkflowType`` ``Cycle``/``Manual`` (any case), cycle workflows only when
  not given (as documented); ``KeyWord`` a case-insensitive part of the name or of the id;
  ``FolderId`` includes sub-folders (an unknown folder matches nothing); ``CreateTime`` and
  ``ModifyTime`` are single times (``yyyy-MM-dd HH:mm:ss``, UTC+8): workflows created / updated
  at or after them; ``SortItem`` ``CreateTime`` (default) or ``TaskCount``, ``SortType`` ``DESC``
  (default) or ``ASC``, any case.

The service answers rows and records (records.py); actions/ops/wire.py renders them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal, or_, select

from wedata.clock import Clock
from wedata.config import Settings
from wedata.services.common import Page, Paged, parse_local
from wedata.services.errors import InvalidValue, NotFound, ServiceError
from wedata.services.ops.records import OpsWorkflow, WorkflowSchedule
from wedata.services.ops.task_reads import folder_join, prod_field, under_folder
from wedata.services.tasks.definition import SCHED
from wedata.services.tasks.schedule_desc import describe_schedule
from wedata.services.tasks.versions import SUBMIT
from wedata.storage import tables as T
from wedata.storage.db import Database

__all__ = ["OpsWorkflowService", "WORKFLOW_STATUSES"]

w, p, f = T.workflows, T.projects, T.workflow_folders
WORKFLOW_STATUSES = ("ALL_RUNNING", "ALL_FREEZED", "ALL_STOPPTED", "PART_RUNNING", "ALL_NO_RUNNING", "ALL_INVALID")
_STATUS_ALIASES = {"ALL_STOPPED": "ALL_STOPPTED"}
_SCHEDULE = ("CycleType", "CrontabExpression", "StartTime", "EndTime", "ExecutionStartTime", "ExecutionEndTime",
             "ScheduleTimeZone", "InitStrategy")  # fmt: skip


def _aggregates(project_id: str) -> Any:
    """Per workflow of the project: submitted tasks and how many are in each status."""
    tp = T.tasks.alias("prod_tasks")

    def count(status: str) -> Any:
        return func.sum(case((tp.c.status == status, 1), else_=0)).label(status.lower())

    return (
        select(tp.c.workflow_id, func.count().label("n"), count("Y"), count("O"), count("F"), count("INVALID"))
        .where(tp.c.project_id == project_id, tp.c.prod_version_id.is_not(None))
        .group_by(tp.c.workflow_id)
        .subquery("agg")
    )


def _submissions(project_id: str) -> Any:
    """Per workflow of the project: first and latest submission of one of its tasks."""
    sv, st = T.task_versions.alias("sub_versions"), T.tasks.alias("sub_tasks")
    return (
        select(st.c.workflow_id, func.min(sv.c.created_at).label("first_submit"),
               func.max(sv.c.created_at).label("latest_submit"))
        .select_from(sv.join(st, st.c.id == sv.c.task_id))
        .where(st.c.project_id == project_id, sv.c.kind == SUBMIT)
        .group_by(st.c.workflow_id)
        .subquery("subs")
    )


def _latest_submitter() -> Any:
    lv, lt = T.task_versions.alias("last_versions"), T.tasks.alias("last_tasks")
    return (
        select(lv.c.create_user_uin)
        .select_from(lv.join(lt, lt.c.id == lv.c.task_id))
        .where(lt.c.workflow_id == w.c.id, lv.c.kind == SUBMIT)
        .order_by(lv.c.created_at.desc(), lv.c.version_id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _status_expr(agg: Any) -> Any:
    return case(
        (agg.c.y == agg.c.n, "ALL_RUNNING"),
        (agg.c.o == agg.c.n, "ALL_FREEZED"),
        (agg.c.f == agg.c.n, "ALL_STOPPTED"),
        (agg.c.invalid == agg.c.n, "ALL_INVALID"),
        (agg.c.y > 0, "PART_RUNNING"),
        else_="ALL_NO_RUNNING",
    )


def latest_update(r: Any) -> tuple[datetime, str | None]:
    """(UpdateTime, UpdateUserUin) of a workflow row: the later of its own update and the latest
    submission of one of its tasks, with who made it."""
    if r.latest_submit is not None and r.latest_submit > r.updated_at:
        return r.latest_submit, r.latest_submitter
    return r.updated_at, r.update_user_uin


class OpsWorkflowService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def _select(self, project_id: str) -> tuple[Any, Any, Any]:
        """(select of workflow rows with their aggregates, the FROM clause, the status expression)."""
        agg, subs = _aggregates(project_id), _submissions(project_id)
        status = _status_expr(agg)
        joined = (
            w.join(agg, agg.c.workflow_id == w.c.id)
            .join(p, p.c.id == w.c.project_id)
            .outerjoin(subs, subs.c.workflow_id == w.c.id)
            .outerjoin(f, folder_join())
        )
        stmt = select(
            w, agg.c.n.label("task_count"), status.label("status"), subs.c.first_submit, subs.c.latest_submit,
            _latest_submitter().label("latest_submitter"), p.c.display_name.label("project_name"),
            f.c.id.label("folder_id"), f.c.name.label("folder_name"),
        ).select_from(joined)
        return stmt, joined, (status, subs)

    # ------------------------------------------------------------------------------------------

    def get_workflow(self, project_id: str, workflow_id: str) -> OpsWorkflow:
        stmt, _, _ = self._select(project_id)
        with self.db.read() as conn:
            r = conn.execute(stmt.where(w.c.project_id == project_id, w.c.id == workflow_id)).first()
            if r is None:
                raise NotFound(
                    f"The workflow {workflow_id} does not exist in the project {project_id} or has no submitted task."
                )
            schedule = _schedule(conn, r)
        return OpsWorkflow(row=r, schedule=schedule)

    def list_workflows(self, project_id: str, q: dict[str, Any], pg: Page) -> Paged[Any]:
        """``q``: the ListOpsWorkflows request fields by wire name (None = not given)."""
        stmt, joined, (status, subs) = self._select(project_id)
        agg_n = stmt.selected_columns.task_count
        cond = self._condition(project_id, q, status, subs)
        item = (q.get("SortItem") or "CreateTime").strip().lower()
        if item not in ("createtime", "taskcount"):
            raise InvalidValue(f"SortItem must be CreateTime or TaskCount, got {q.get('SortItem')!r}")
        direction = (q.get("SortType") or "DESC").strip().upper()
        if direction not in ("ASC", "DESC"):
            raise InvalidValue(f"SortType must be DESC or ASC, got {q.get('SortType')!r}")
        column = w.c.created_at if item == "createtime" else agg_n
        order = column.asc() if direction == "ASC" else column.desc()
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(joined).where(cond)).scalar_one()
            rows = conn.execute(stmt.where(cond).order_by(order, w.c.id).limit(pg.size).offset(pg.offset)).all()
        return Paged(list(rows), pg, total)

    @staticmethod
    def _condition(project_id: str, q: dict[str, Any], status: Any, subs: Any) -> ColumnElement[bool]:
        conds: list[ColumnElement[bool]] = [w.c.project_id == project_id]
        kind = (q.get("WorkflowType") or "cycle").strip().lower()
        if kind not in ("cycle", "manual"):
            raise InvalidValue(f"WorkflowType must be Cycle or Manual, got {q.get('WorkflowType')!r}")
        conds.append(w.c.workflow_type == kind)
        if q.get("FolderId"):
            folder = T.workflow_folders.alias("filter_folder")
            path = select(folder.c.path).where(folder.c.project_id == project_id, folder.c.id == q["FolderId"])
            conds.append(under_folder(w.c.folder_path, path.scalar_subquery()))
        if q.get("Status") not in (None, ""):
            text = str(q["Status"]).strip().upper()
            text = _STATUS_ALIASES.get(text, text)
            if text not in WORKFLOW_STATUSES:
                raise InvalidValue(f"Status must be one of {', '.join(WORKFLOW_STATUSES)}, got {q['Status']!r}")
            conds.append(status == text)
        if q.get("OwnerUin"):
            wrapped = literal(";") + w.c.owner_uin + literal(";")
            conds.append(wrapped.contains(f";{q['OwnerUin'].strip()};", autoescape=True))
        if q.get("KeyWord"):
            word = q["KeyWord"].strip()
            conds.append(or_(func.lower(w.c.name).contains(word.lower(), autoescape=True),
                             func.lower(w.c.id).contains(word.lower(), autoescape=True)))
        if q.get("CreateUserUin"):
            conds.append(w.c.create_user_uin == q["CreateUserUin"].strip())
        if q.get("CreateTime"):
            conds.append(w.c.created_at >= parse_local(q["CreateTime"], None, "CreateTime"))
        if q.get("ModifyTime"):
            since = parse_local(q["ModifyTime"], None, "ModifyTime")
            conds.append(or_(w.c.updated_at >= since, subs.c.latest_submit >= since))
        return and_(*conds)


# ----------------------------------------------------------------------------------------------
# GetOpsWorkflow's schedule.


def _display(value: str | None, zone: str | None) -> datetime | str | None:
    """A stored wall time of ``zone`` as a UTC datetime (the text as stored when unreadable)."""
    if not value:
        return None
    try:
        return parse_local(value, zone or None)
    except ServiceError:
        return value


def _schedule(conn: Connection, r: Any) -> WorkflowSchedule:
    t, v = T.tasks, T.task_versions
    rows = conn.execute(
        select(*(prod_field(SCHED, k).label(k) for k in _SCHEDULE))
        .select_from(t.join(v, v.c.version_id == t.c.prod_version_id))
        .where(t.c.workflow_id == r.id)
    ).all()
    strategies = {x.InitStrategy or "T_PLUS_0" for x in rows}
    init = strategies.pop() if len(strategies) == 1 else None
    config = r.scheduler_config
    if config:
        zone = config.get("ScheduleTimeZone")
        return WorkflowSchedule(
            init_strategy=init,
            cycle_type=config.get("CycleType"),
            start=_display(config.get("StartTime"), zone),
            end=_display(config.get("EndTime"), zone),
            desc=describe_schedule(config.get("CycleType"), config.get("CrontabExpression"), None,
                                   config.get("ExecutionStartTime"), config.get("ExecutionEndTime")).desc,
        )
    shapes = {(x.CycleType, " ".join((x.CrontabExpression or "").split()), x.ScheduleTimeZone) for x in rows}
    if len(shapes) != 1:
        return WorkflowSchedule(init_strategy=init)
    first = rows[0]
    starts = [parse_local(x.StartTime, x.ScheduleTimeZone) for x in rows if _readable(x.StartTime, x.ScheduleTimeZone)]
    ends = [parse_local(x.EndTime, x.ScheduleTimeZone) for x in rows if _readable(x.EndTime, x.ScheduleTimeZone)]
    return WorkflowSchedule(
        init_strategy=init,
        cycle_type=first.CycleType,
        start=min(starts) if starts else None,
        end=max(ends) if ends else None,
        desc=describe_schedule(first.CycleType, first.CrontabExpression, None,
                               first.ExecutionStartTime, first.ExecutionEndTime).desc,
    )


def _readable(value: str | None, zone: str | None) -> bool:
    if not value:
        return False
    try:
        parse_local(value, zone or None)
    except ServiceError:
        return False
    return True
