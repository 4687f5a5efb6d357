"""Reading workflow runs and task runs: GetTriggerWorkflowRun, ListTriggerWorkflowRuns,
GetTriggerTaskRun, ListTriggerTaskRuns.

Records, not Structs: a run is its ``trigger_workflow_runs`` row; a task run is a
``trigger_task_runs`` row joined with its engine instance, its task and its run
(:data:`TASK_RUN_COLUMNS`); actions/triggers/wire.py renders them (epoch-millisecond times).

``Filters`` (spec §3.21): ``Keyword`` (a part of the workflow's, or for task runs the task's,
name, or an exact id), ``WorkflowId``, ``FolderId`` (the workflow's folder), ``InChargeUin``
(the workflow's or task's owner), ``ExecuteUserUin``, ``ExecutionId``, ``WorkflowExecutionId``,
``TaskId``, ``ScheduleTimeGreaterEqual`` / ``ScheduleTimeLessEqual`` (epoch ms, or
``yyyy-MM-dd HH:mm:ss`` in UTC+8), and ``ExecutionState`` (this server's addition: PENDING,
QUEUED, RUNNING, SUCCESS, FAILED, SKIP). An unknown filter name is ``InvalidParameterValue``;
several values of one filter are OR-ed, filters are AND-ed. ``OrderFields``: ``CreateTime``,
``EndTime``, ``ScheduleTime``, ``TaskCount`` (runs only), ``ASC`` | ``DESC``; the default is
newest first. A manual run's ScheduleTime is its creation time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, exists, func, or_, select

from wedata.clock import Clock
from wedata.config import Settings
from wedata.services.common import Page, Paged, like_pattern, page, parse_local
from wedata.services.errors import InvalidValue, NotFound
from wedata.services.triggers.progress import TASK_RUN_STATE
from wedata.spec import models as M
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances
from wedata.storage.trigger_tables import trigger_task_runs, trigger_workflow_runs

TI, R, TR = task_instances, trigger_workflow_runs, trigger_task_runs
RUN_FILTERS = ("Keyword", "WorkflowId", "FolderId", "InChargeUin", "ExecuteUserUin", "ExecutionId",
               "WorkflowExecutionId", "TaskId", "ScheduleTimeGreaterEqual", "ScheduleTimeLessEqual", "ExecutionState")
ORDER_NAMES = ("CreateTime", "EndTime", "ScheduleTime", "TaskCount")
STATES = ("PENDING", "QUEUED", "RUNNING", "SUCCESS", "FAILED", "SKIP")


def _cols() -> tuple[Any, ...]:
    t, w = T.tasks, T.workflows
    return (
        TR.c.execution_id, TR.c.workflow_execution_id, TR.c.project_id, TR.c.task_id, TR.c.version_id,
        TR.c.instance_id, TR.c.created_at, TI.c.state, TI.c.data_time, TI.c.scheduled_at, TI.c.started_at,
        TI.c.ended_at, TI.c.cost_ms, TI.c.tries, TI.c.total_run_num, TI.c.life_round_num, TI.c.error_msg,
        TI.c.task_type_id, TI.c.resource_group_id, TI.c.wait_since, TI.c.updated_at,
        R.c.workflow_id, R.c.workflow_name, R.c.state.label("run_state"), R.c.execute_user_uin,
        R.c.trigger_type, R.c.params.label("run_params"), TR.c.trigger_policy,
        t.c.name.label("task_name"), t.c.owner_uin.label("task_owner"), w.c.folder_path.label("folder_path"),
    )


def _task_run_from() -> Any:
    t, w = T.tasks, T.workflows
    return (TR.join(TI, TI.c.id == TR.c.instance_id).join(R, R.c.execution_id == TR.c.workflow_execution_id)
            .outerjoin(t, t.c.id == TR.c.task_id).outerjoin(w, w.c.id == R.c.workflow_id))


def _ms_time(value: str, field: str) -> datetime:
    text = value.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC).replace(tzinfo=None)
    return parse_local(text, None, field)


def _filters(filters: Sequence[M.Filter] | None, *, task_runs: bool) -> list[ColumnElement[bool]]:
    w, t = T.workflows, T.tasks
    conds: list[ColumnElement[bool]] = []
    for i, f in enumerate(filters or []):
        name = (f.name or "").strip()
        values = [str(v).strip() for v in f.values or [] if str(v).strip()]
        at = f"Filters[{i}]"
        if name not in RUN_FILTERS:
            raise InvalidValue(f"{at}.Name: unknown filter {f.name!r} (known: {', '.join(RUN_FILTERS)})")
        if not values:
            raise InvalidValue(f"{at}.Values must hold at least one value")
        if name == "Keyword":
            conds.append(or_(*(
                or_(func.lower(t.c.name if task_runs else R.c.workflow_name).like(like_pattern(v), escape="\\"),
                    (TR.c.execution_id if task_runs else R.c.execution_id) == v)
                for v in values)))
        elif name == "WorkflowId":
            conds.append(R.c.workflow_id.in_(values))
        elif name == "FolderId":
            folders = select(T.workflow_folders.c.path).where(T.workflow_folders.c.id.in_(values))
            conds.append(w.c.folder_path.in_(folders))
        elif name == "InChargeUin":
            conds.append((t.c.owner_uin if task_runs else w.c.owner_uin).in_(values))
        elif name == "ExecuteUserUin":
            conds.append(R.c.execute_user_uin.in_(values))
        elif name == "ExecutionId":
            conds.append((TR.c.execution_id if task_runs else R.c.execution_id).in_(values))
        elif name == "WorkflowExecutionId":
            conds.append(R.c.execution_id.in_(values))
        elif name == "TaskId":
            if task_runs:
                conds.append(TR.c.task_id.in_(values))
            else:
                conds.append(exists().where(TR.c.workflow_execution_id == R.c.execution_id, TR.c.task_id.in_(values)))
        elif name in ("ScheduleTimeGreaterEqual", "ScheduleTimeLessEqual"):
            column = TI.c.scheduled_at if task_runs else R.c.created_at
            at_time = _ms_time(values[0], f"{at}.Values")
            conds.append(column >= at_time if name.endswith("GreaterEqual") else column <= at_time)
        else:  # ExecutionState
            bad = [v for v in values if v.upper() not in STATES]
            if bad:
                raise InvalidValue(f"{at}.Values: unknown ExecutionState {bad[0]!r} (known: {', '.join(STATES)})")
            wanted = {v.upper() for v in values}
            if task_runs:
                conds.append(TI.c.state.in_([s for s, v in TASK_RUN_STATE.items() if v in wanted]))
            else:
                conds.append(R.c.state.in_(wanted))
    return conds


def _order(fields: Sequence[M.OrderField] | None, *, task_runs: bool) -> list[Any]:
    columns = {
        "CreateTime": TR.c.created_at if task_runs else R.c.created_at,
        "EndTime": TI.c.ended_at if task_runs else R.c.ended_at,
        "ScheduleTime": TI.c.scheduled_at if task_runs else R.c.created_at,
        "TaskCount": None if task_runs else R.c.task_count,
    }
    out: list[Any] = []
    for i, f in enumerate(fields or []):
        column = columns.get(f.name)
        if column is None:
            names = [n for n, c in columns.items() if c is not None]
            raise InvalidValue(f"OrderFields[{i}].Name must be one of {', '.join(names)}, got {f.name!r}")
        direction = (f.direction or "").strip().upper()
        if direction not in ("ASC", "DESC"):
            raise InvalidValue(f"OrderFields[{i}].Direction must be ASC or DESC, got {f.direction!r}")
        out.append(column.asc() if direction == "ASC" else column.desc())
    key = TR.c.execution_id if task_runs else R.c.execution_id
    if not out:
        out.append((TR.c.created_at if task_runs else R.c.created_at).desc())
    out.append(key)
    return out


class TriggerRunReads:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    @staticmethod
    def _parent() -> tuple[Any, list[Any]]:
        """The Run Workflow node that started a run (nodes.py): R outer-joined to its task run."""
        p = TR.alias("parent_run")
        pt = T.tasks.alias("parent_task")
        cols = [p.c.execution_id.label("parent_task_execution_id"),
                p.c.workflow_execution_id.label("parent_workflow_execution_id"),
                pt.c.name.label("parent_task_execution_name")]
        return (lambda base: base.outerjoin(p, p.c.instance_id == R.c.parent_instance_id)
                .outerjoin(pt, pt.c.id == p.c.task_id)), cols

    def get_run(self, project_id: str, execution_id: str, filters: Sequence[M.Filter] | None,
                order: Sequence[M.OrderField] | None) -> tuple[Row[Any], list[Row[Any]]]:
        """GetTriggerWorkflowRun: the run and its task runs (filtered and ordered as asked; by
        default in the order of the task ids, upstream before downstream within a chain)."""
        with self.db.read() as conn:
            join, parent = self._parent()
            run = conn.execute(select(R, *parent).select_from(join(R))
                               .where(R.c.project_id == project_id, R.c.execution_id == execution_id)).first()
            if run is None:
                raise NotFound(f"The workflow run {execution_id} does not exist in the project {project_id}.")
            conds = [TR.c.workflow_execution_id == execution_id, *_filters(filters, task_runs=True)]
            ordering = _order(order, task_runs=True) if order else [TI.c.id]
            tasks = conn.execute(select(*_cols()).select_from(_task_run_from()).where(and_(*conds))
                                 .order_by(*ordering)).all()
        return run, list(tasks)

    def upstream_of(self, task_runs: Sequence[Row[Any]]) -> dict[str, list[str]]:
        """DependOnList: for each task run (ExecutionId), the TaskIds it waits for in its run."""
        from wedata.storage.engine_tables import instance_deps as D

        ids = {r.instance_id: r.execution_id for r in task_runs}
        out: dict[str, list[str]] = {r.execution_id: [] for r in task_runs}
        if not ids:
            return out
        with self.db.read() as conn:
            for iid, up in conn.execute(select(D.c.instance_id, D.c.upstream_task_id)
                                        .where(D.c.instance_id.in_(list(ids)), D.c.kind.in_(("trigger", "task")))
                                        .order_by(D.c.upstream_task_id)):
                out[ids[iid]].append(up)
        return out

    def list_runs(self, req: M.ListTriggerWorkflowRunsRequest) -> Paged[Row[Any]]:
        pg: Page = page(req.page_number, req.page_size, max_size=200)
        w = T.workflows
        where = and_(R.c.project_id == req.project_id, *_filters(req.filters, task_runs=False))
        joined = R.outerjoin(w, w.c.id == R.c.workflow_id)
        join, parent = self._parent()
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(joined).where(where)).scalar_one()
            rows = conn.execute(
                select(R, w.c.owner_uin.label("owner_uin"), w.c.folder_path.label("folder_path"), *parent)
                .select_from(join(joined))
                .where(where).order_by(*_order(req.order_fields, task_runs=False)).limit(pg.size).offset(pg.offset)
            ).all()
        return Paged(list(rows), pg, int(total))

    def get_task_run(self, project_id: str, execution_id: str) -> Row[Any]:
        with self.db.read() as conn:
            row = conn.execute(select(*_cols()).select_from(_task_run_from())
                               .where(TR.c.project_id == project_id, TR.c.execution_id == execution_id)).first()
        if row is None:
            raise NotFound(f"The task run {execution_id} does not exist in the project {project_id}.")
        return row

    def list_task_runs(self, req: M.ListTriggerTaskRunsRequest) -> Paged[Row[Any]]:
        pg: Page = page(req.page_number, req.page_size, max_size=200)
        where = and_(TR.c.project_id == req.project_id, *_filters(req.filters, task_runs=True))
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(_task_run_from()).where(where)).scalar_one()
            rows = conn.execute(select(*_cols()).select_from(_task_run_from()).where(where)
                                .order_by(*_order(req.order_fields, task_runs=True)).limit(pg.size)
                                .offset(pg.offset)).all()
        return Paged(list(rows), pg, int(total))

