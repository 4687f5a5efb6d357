"""Dev-side lineage lists: the direct upstream and downstream tasks of a task.

Edges live once in ``task_dependencies`` (side ``dev`` for the saved definitions; ``task_id`` is
the downstream end) and are read here both ways. A page is one query joining the other end's
task, workflow and project (plus one COUNT); the schedule fields are read out of the task's JSON
definition in SQL so that code content is never loaded for a list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select

from wedata.clock import Clock
from wedata.config import Settings
from wedata.scheduling.cycletypes import CycleType, InitStrategy
from wedata.services.common import DEFAULT_ZONE, Page, fmt_time, parse_local
from wedata.services.errors import NotFound, ServiceError
from wedata.services.tasks.schedule_desc import describe_schedule
from wedata.services.tasks.types import TASK_TYPE_NAMES
from wedata.storage import tables as T
from wedata.storage.db import Database

__all__ = ["DependencyView", "TaskDependencyService", "WorkflowEdge"]

DEV = "dev"
_SCHEDULE_FIELDS = (
    "CycleType",
    "CrontabExpression",
    "StartTime",
    "EndTime",
    "InitStrategy",
    "ExecutionStartTime",
    "ExecutionEndTime",
    "ScheduleTimeZone",
)


@dataclass(frozen=True, slots=True)
class DependencyView:
    """One row of ListUpstreamTasks / ListDownstreamTasks; actions/tasks/wire.py makes it a
    TaskDependDto."""

    task_id: str
    task_name: str
    workflow_id: str
    workflow_name: str
    project_id: str
    status: str
    task_type_id: int
    task_type_desc: str | None
    schedule_desc: str | None
    start_time: str | None
    end_time: str | None
    delay_time: int | None
    cycle_type: str | None
    owner_uin: str
    task_action: str
    init_strategy: str | None
    crontab_expression: str | None


@dataclass(frozen=True, slots=True)
class WorkflowEdge:
    """One dev edge into a task of a workflow, with what a graph shows of its upstream end (which
    may be a task of another workflow: a cross-workflow dependency)."""

    upstream_task_id: str
    task_id: str  # the downstream end, a task of the workflow
    upstream_name: str
    upstream_type_id: int
    upstream_workflow_id: str
    upstream_workflow_name: str


def _scheduler_field(name: str) -> ColumnElement[Any]:
    return T.tasks.c.definition[("TaskSchedulerConfiguration", name)].as_string().label(name)


def _cycle_letter(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return CycleType.parse(value).letter
    except ValueError:
        return None


def _init_strategy(value: str | None) -> str | None:
    try:
        return InitStrategy.parse(value).legacy
    except ValueError:
        return None


def _display_time(value: str | None, zone: str | None) -> str | None:
    """A wall time of the task's ScheduleTimeZone, shown in the default display zone (UTC+8)."""
    if not value:
        return None
    if not zone or zone.replace(" ", "").upper() == DEFAULT_ZONE.upper():
        return value
    try:
        return fmt_time(parse_local(value, zone))
    except ServiceError:
        return value  # a stored time we cannot read is shown as stored, not turned into an error


class TaskDependencyService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def list_upstream(self, project_id: str, task_id: str, page: Page) -> tuple[list[DependencyView], int]:
        return self._list(project_id, task_id, page, upstream=True)

    def list_downstream(self, project_id: str, task_id: str, page: Page) -> tuple[list[DependencyView], int]:
        return self._list(project_id, task_id, page, upstream=False)

    def _list(self, project_id: str, task_id: str, page: Page, *, upstream: bool) -> tuple[list[DependencyView], int]:
        e, t, w, p = T.task_dependencies, T.tasks, T.workflows, T.projects
        # Upstream tasks of X are the edges whose downstream end is X, and the reverse.
        mine, other = (e.c.task_id, e.c.upstream_task_id) if upstream else (e.c.upstream_task_id, e.c.task_id)
        joined = (
            e.join(t, t.c.id == other)
            .join(w, w.c.id == t.c.workflow_id)
            .join(p, (p.c.id == t.c.project_id) & p.c.deleted_at.is_(None))
        )
        where = (e.c.side == DEV) & (mine == task_id)
        stmt = (
            select(
                t.c.id,
                t.c.name,
                t.c.workflow_id,
                w.c.name.label("workflow_name"),
                t.c.project_id,
                t.c.status,
                t.c.task_type_id,
                t.c.owner_uin,
                t.c.cycle_type,
                *(_scheduler_field(n) for n in _SCHEDULE_FIELDS),
            )
            .select_from(joined)
            .where(where)
            .order_by(e.c.created_at, t.c.id)
            .limit(page.size)
            .offset(page.offset)
        )
        with self.db.read() as conn:
            found = conn.execute(
                select(t.c.id).where(t.c.id == task_id, t.c.project_id == project_id)
            ).first()
            if found is None:
                raise NotFound(f"The task {task_id} does not exist in the project {project_id}.")
            total = conn.execute(select(func.count()).select_from(joined).where(where)).scalar_one()
            rows = conn.execute(stmt).all()
        return [self._view(r._mapping) for r in rows], int(total)

    def workflow_edges(self, project_id: str, workflow_id: str) -> list[WorkflowEdge]:
        """Every dev edge into the workflow's tasks, in one query (the graph of a workflow: what
        ListUpstreamTasks answers task by task). Upstream tasks of deleted projects are left out,
        as ListUpstreamTasks leaves them out."""
        e, t, w, p = T.task_dependencies, T.tasks, T.workflows, T.projects
        down = t.alias("down")
        rows = self._read(
            select(e.c.upstream_task_id, e.c.task_id, t.c.name, t.c.task_type_id, t.c.workflow_id,
                   w.c.name.label("workflow_name"))
            .select_from(
                e.join(down, down.c.id == e.c.task_id)
                .join(t, t.c.id == e.c.upstream_task_id)
                .join(w, w.c.id == t.c.workflow_id)
                .join(p, (p.c.id == t.c.project_id) & p.c.deleted_at.is_(None))
            )
            .where(e.c.side == DEV, down.c.project_id == project_id, down.c.workflow_id == workflow_id)
            .order_by(e.c.task_id, e.c.created_at, e.c.upstream_task_id)
        )
        return [WorkflowEdge(r.upstream_task_id, r.task_id, r.name, r.task_type_id, r.workflow_id, r.workflow_name)
                for r in rows]

    def workflow_links(self, project_id: str, workflow_id: str) -> list[tuple[str, str]]:
        """Every dev edge into the workflow's tasks as (upstream task id, task id), nothing else:
        what a grid needs to order its rows, without ``workflow_edges``' joins to the upstream
        task, its workflow and its project (a quarter of the cost for a 300-task workflow)."""
        e, down = T.task_dependencies, T.tasks.alias("down")
        rows = self._read(
            select(e.c.upstream_task_id, e.c.task_id)
            .select_from(e.join(down, down.c.id == e.c.task_id))
            .where(e.c.side == DEV, down.c.project_id == project_id, down.c.workflow_id == workflow_id)
        )
        return [(r[0], r[1]) for r in rows]

    def workflow_tasks(self, project_id: str, workflow_id: str, limit: int) -> list[Any]:
        """The workflow's tasks as a graph names them (id, name, type), by name, at most
        ``limit``: one light query where ListTasks renders every task's whole definition."""
        t = T.tasks
        return self._read(
            select(t.c.id, t.c.name, t.c.task_type_id)
            .where(t.c.project_id == project_id, t.c.workflow_id == workflow_id)
            .order_by(t.c.name, t.c.id)
            .limit(limit)
        )

    def _read(self, stmt: Any) -> list[Any]:
        with self.db.read() as conn:
            return list(conn.execute(stmt).all())

    @staticmethod
    def _view(r: Any) -> DependencyView:
        cycle = r["CycleType"] or r["cycle_type"]
        zone = r["ScheduleTimeZone"]
        plan = describe_schedule(
            cycle, r["CrontabExpression"], r["StartTime"], r["ExecutionStartTime"], r["ExecutionEndTime"]
        )
        return DependencyView(
            task_id=r["id"],
            task_name=r["name"],
            workflow_id=r["workflow_id"],
            workflow_name=r["workflow_name"],
            project_id=r["project_id"],
            status=r["status"],
            task_type_id=r["task_type_id"],
            task_type_desc=TASK_TYPE_NAMES.get(r["task_type_id"]),
            schedule_desc=plan.desc,
            start_time=_display_time(r["StartTime"], zone),
            end_time=_display_time(r["EndTime"], zone),
            delay_time=plan.delay_minutes,
            cycle_type=_cycle_letter(cycle),
            owner_uin=r["owner_uin"],
            task_action=plan.action,
            init_strategy=_init_strategy(r["InitStrategy"]),
            crontab_expression=r["CrontabExpression"],
        )
