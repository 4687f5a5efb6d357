"""The production side of trigger workflows: GetOpsTriggerWorkflow, ListOpsTriggerWorkflows,
UpdateOpsTriggerTasksOwner.

Records, not Structs (actions/triggers/wire.py renders them). Decisions where WeData is silent:

- Production means submitted, as for periodic Ops workflows: the DAG holds the workflow's tasks
  that have a submitted version and the submitted edges among them; ListOpsTriggerWorkflows
  lists the trigger workflows with at least one submitted task, ``TaskCount`` counting those.
- GetOpsTriggerWorkflow with ``WorkflowExecutionId`` colours the DAG by that run: each task's
  ``ExecutionState`` (PENDING ... SKIP) and ``ExecutionStartTime`` are its task run's; a task
  that did not run in it has none. A run of another workflow is ``ResourceNotFound``.
- ListOpsTriggerWorkflows ``Filters``: ``Keyword`` (a part of the name, any case, or the exact
  id), ``WorkflowId``, ``FolderId`` (the folder and below), ``InChargeUin`` (one of the owners);
  unknown names are ``InvalidParameterValue``. ``OrderFields``: ``TaskCount``, ``CreateTime``,
  ``ModifyTime`` with ``ASC``/``DESC``; newest first by default. One query per page (+ COUNT).
- UpdateOpsTriggerTasksOwner: ``OwnerIds`` (one or more uins) become the owner of every task in
  ``TaskIds`` (required: at most 1000 tasks of this project's trigger workflows, submitted,
  ``ResourceNotFound`` naming the others); several owners are stored ``a;b`` (at most 32
  characters in all). All or nothing, synchronous: ``SuccessCount`` = the tasks changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, literal, or_, select, update

from wedata.clock import Clock
from wedata.config import Settings
from wedata.services.common import Page, Paged, like_pattern, page
from wedata.services.errors import InvalidValue, NotFound
from wedata.services.triggers.runs import check_task_ids
from wedata.services.triggers.workflows import load_trigger_workflow
from wedata.services.workflows.workflows import TRIGGER
from wedata.spec import models as M
from wedata.storage import instance_owner
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances
from wedata.storage.trigger_tables import trigger_task_runs, trigger_workflow_runs, trigger_workflows

TI, R, TR, TW = task_instances, trigger_workflow_runs, trigger_task_runs, trigger_workflows
w, t, v, f, p = T.workflows, T.tasks, T.task_versions, T.workflow_folders, T.projects
FILTERS = ("Keyword", "WorkflowId", "FolderId", "InChargeUin")
ORDER = {"TaskCount": "task_count", "CreateTime": "created_at", "ModifyTime": "updated_at"}


@dataclass(frozen=True, slots=True)
class DagTask:
    row: Any  # tasks joined with its workflow, folder, project and submitted version
    policy: str
    run: Any  # its task run in the chosen execution (instance state, start)


@dataclass(frozen=True, slots=True)
class Dag:
    tasks: list[DagTask]
    links: list[tuple[str, str]]  # (upstream, downstream)
    workflow_id: str


def _ids_contain(column: ColumnElement[Any], value: str) -> ColumnElement[bool]:
    wrapped = literal(";") + func.coalesce(column, "") + literal(";")
    return wrapped.contains(f";{value.strip().strip(';')};", autoescape=True)


def _under(column: ColumnElement[Any], path: Any) -> ColumnElement[bool]:
    prefix = path + literal("/")
    return or_(column == path, func.substr(column, 1, func.length(prefix)) == prefix)


class TriggerOpsService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    # -- GetOpsTriggerWorkflow ------------------------------------------------------------------

    def dag(self, project_id: str, workflow_id: str, execution_id: str | None) -> Dag:
        with self.db.read() as conn:
            load_trigger_workflow(conn, project_id, workflow_id)
            if execution_id is not None:
                found = conn.execute(select(R.c.execution_id).where(
                    R.c.project_id == project_id, R.c.workflow_id == workflow_id, R.c.execution_id == execution_id,
                )).first()
                if found is None:
                    raise NotFound(f"The workflow run {execution_id} does not exist in the workflow {workflow_id}.")
            rows = conn.execute(
                select(t.c.id, t.c.name, t.c.owner_uin, t.c.task_type_id, t.c.project_id, w.c.id.label("workflow_id"),
                       w.c.name.label("workflow_name"), f.c.id.label("folder_id"), f.c.name.label("folder_name"),
                       p.c.display_name.label("project_name"), v.c.snapshot)
                .select_from(t.join(w, w.c.id == t.c.workflow_id).join(v, v.c.version_id == t.c.prod_version_id)
                             .outerjoin(f, and_(f.c.project_id == w.c.project_id, f.c.path == w.c.folder_path))
                             .outerjoin(p, p.c.id == w.c.project_id))
                .where(t.c.workflow_id == workflow_id).order_by(t.c.id)
            ).all()
            ids = [r.id for r in rows]
            e = T.task_dependencies
            links = [(up, down) for down, up in conn.execute(
                select(e.c.task_id, e.c.upstream_task_id).where(e.c.side == "prod", e.c.task_id.in_(ids))
                .order_by(e.c.upstream_task_id, e.c.task_id)) if up in ids] if ids else []
            runs: dict[str, Any] = {}
            if execution_id is not None:
                for rr in conn.execute(
                    select(TR.c.task_id, TR.c.trigger_policy, TI.c.state, TI.c.started_at)
                    .select_from(TR.join(TI, TI.c.id == TR.c.instance_id))
                    .where(TR.c.workflow_execution_id == execution_id)
                ):
                    runs[rr.task_id] = rr
        tasks = []
        for r in rows:
            sched = (r.snapshot or {}).get("TaskSchedulerConfiguration") or {}
            run = runs.get(r.id)
            policy = run.trigger_policy if run is not None else sched.get("DependencyTriggerPolicy") or "ALL_SUCCESS"
            tasks.append(DagTask(r, policy, run))
        return Dag(tasks, links, workflow_id)

    # -- ListOpsTriggerWorkflows ----------------------------------------------------------------

    def list_workflows(self, req: M.ListOpsTriggerWorkflowsRequest) -> Paged[Row[Any]]:
        pg: Page = page(req.page_number, req.page_size, max_size=200)
        counts = (select(t.c.workflow_id, func.count().label("task_count")).where(t.c.prod_version_id.is_not(None))
                  .group_by(t.c.workflow_id).subquery("submitted"))
        joined = (w.join(TW, TW.c.workflow_id == w.c.id).join(counts, counts.c.workflow_id == w.c.id)
                  .outerjoin(f, and_(f.c.project_id == w.c.project_id, f.c.path == w.c.folder_path)))
        conds = [w.c.project_id == req.project_id, w.c.workflow_type == TRIGGER, *self._filters(req)]
        order = self._order(req.order_fields, counts.c.task_count)
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(joined).where(*conds)).scalar_one()
            rows = conn.execute(
                select(w, counts.c.task_count, f.c.id.label("folder_id"), f.c.name.label("folder_name"),
                       TW.c.triggers, TW.c.execute_user_uin)
                .select_from(joined).where(*conds).order_by(*order).limit(pg.size).offset(pg.offset)
            ).all()
        return Paged(list(rows), pg, int(total))

    @staticmethod
    def _filters(req: M.ListOpsTriggerWorkflowsRequest) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        for i, flt in enumerate(req.filters or []):
            name = (flt.name or "").strip()
            values = [str(x).strip() for x in flt.values or [] if str(x).strip()]
            at = f"Filters[{i}]"
            if name not in FILTERS:
                raise InvalidValue(f"{at}.Name: unknown filter {flt.name!r} (known: {', '.join(FILTERS)})")
            if not values:
                raise InvalidValue(f"{at}.Values must hold at least one value")
            if name == "Keyword":
                conds.append(or_(*(or_(func.lower(w.c.name).like(like_pattern(x), escape="\\"), w.c.id == x)
                                   for x in values)))
            elif name == "WorkflowId":
                conds.append(w.c.id.in_(values))
            elif name == "FolderId":
                folder = T.workflow_folders.alias("filter_folder")
                paths = [select(folder.c.path).where(folder.c.project_id == req.project_id, folder.c.id == x)
                         .scalar_subquery() for x in values]
                conds.append(or_(*(_under(w.c.folder_path, path) for path in paths)))
            else:  # InChargeUin
                conds.append(or_(*(_ids_contain(w.c.owner_uin, x) for x in values)))
        return conds

    @staticmethod
    def _order(fields: Sequence[M.OrderField] | None, task_count: Any) -> list[Any]:
        out: list[Any] = []
        for i, o in enumerate(fields or []):
            if o.name not in ORDER:
                raise InvalidValue(f"OrderFields[{i}].Name must be one of {', '.join(ORDER)}, got {o.name!r}")
            direction = (o.direction or "").strip().upper()
            if direction not in ("ASC", "DESC"):
                raise InvalidValue(f"OrderFields[{i}].Direction must be ASC or DESC, got {o.direction!r}")
            column = task_count if o.name == "TaskCount" else w.c[ORDER[o.name]]
            out.append(column.asc() if direction == "ASC" else column.desc())
        if not out:
            out.append(w.c.created_at.desc())
        out.append(w.c.id)
        return out

    # -- UpdateOpsTriggerTasksOwner -------------------------------------------------------------

    def update_owner(self, project_id: str, owner_ids: Sequence[str], task_ids: Sequence[str] | None,
                     caller_uin: str) -> int:
        owners = list(dict.fromkeys(str(o).strip() for o in owner_ids or []))
        if not owners or any(not o or ";" in o for o in owners):
            raise InvalidValue(f"OwnerIds must hold one or more user ids, got {list(owner_ids or [])!r}")
        owner = ";".join(owners)
        if len(owner) > 32:
            raise InvalidValue(f"OwnerIds: {owner!r} is longer than the 32 characters an owner may take")
        if task_ids is None:
            raise InvalidValue("TaskIds must name the tasks whose owner changes")
        ids = check_task_ids(task_ids)
        assert ids is not None
        now = self.clock.now()
        with self.db.write() as conn:
            found = set(conn.execute(
                select(t.c.id).select_from(t.join(w, w.c.id == t.c.workflow_id))
                .where(t.c.project_id == project_id, t.c.id.in_(ids), w.c.workflow_type == TRIGGER,
                       t.c.prod_version_id.is_not(None)).with_for_update(of=t)
            ).scalars())
            missing = [x for x in ids if x not in found]
            if missing:
                raise NotFound(f"TaskIds: the task(s) {', '.join(missing[:10])} are not submitted trigger tasks of "
                               f"the project {project_id}.")
            conn.execute(update(t).where(t.c.id.in_(ids)).values(owner_uin=owner, last_ops_at=now,
                                                                 last_ops_user_name=caller_uin))
            instance_owner.follow(conn, ids, owner)
        return len(ids)
