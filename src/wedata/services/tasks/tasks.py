"""Dev-side tasks: create, read, list, update (full and partial), delete, submit, versions, code.

The stored definition and its validation are in definition.py, dependency edges in edges.py,
versions in versions.py, the wire-shaped task record in wire.py. Every write runs in one
transaction that first locks the task row, validates everything, then writes: a request that
fails validation changes nothing.

Reads return domain records: task rows (ListTasks), version records (versions.py), the code, and
for GetTask the wire-shaped task record (the documented exception, see wire.py). The response
Structs are built in actions/tasks/wire.py.

Decisions where WeData's documentation is silent (the rest are in the helper modules):

- Unknown ``WorkflowId``, ``TaskFolderPath`` or ``ResourceGroup`` is ``ResourceNotFound`` (an
  unknown resource); an unknown dependency task is ``InvalidParameterValue`` (a bad value in a
  list). ``ResourceGroup`` must name an existing resource group (the scheduler queues by it);
  binding the group to the project is not required.
- Task names are unique per project (``InvalidParameter.DuplicateName``).
- UpdateTask: a field given replaces the stored one, a field left out (absent or null) keeps
  its value; a list given (parameters, events, dependencies, ...) replaces the whole list, ``[]``
  empties it. The spec marks the three sections required but every field in them optional and
  says nothing of defaults, and resetting what a partial body left out silently erased code,
  cron and retries (issue 16). So erasing the code takes ``CodeContent: ""``, and the cycle
  changes only when ``CycleType`` is given (the CrontabExpression is then derived for the new
  cycle unless given). UpdateTaskPartially differs in upserting list items by key and in
  ``FieldToRemoveList`` (patch.py). docs/tasks.md has the table.
- DeleteTask refuses a task that other tasks depend on (dev or prod edges): ``ResourceInUse``
  (spec §5). Hence no downstream instance can be waiting on it, and ``DeleteMode`` (whether to
  force-fail such instances, §6.15) has nothing to act on; it is validated and logged. A deleted
  task loses its dev and prod definitions, its versions and its edges.
- SubmitTask moves N, F, T and INVALID to Y, keeps O (paused) and Y (spec §4 decision 3).
- ``LastUpdateUserName`` is the updater's member name in the project, else their Uin.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, false, func, select, true, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.scheduler.api import Change, SchedulerApi
from wedata.services.common import Page, page
from wedata.services.errors import Duplicate, InUse, InvalidValue, NotFound, Unsupported
from wedata.services.paging import page_keys
from wedata.services.projects.access import Access, ProjectAccess
from wedata.services.tasks import edges as task_edges
from wedata.services.tasks.definition import (
    CONF,
    CONFIG_DEFAULTS,
    SCHED,
    SCHEDULER_DEFAULTS,
    encode_code,
    given_fields,
    merge_section,
    today_start,
    validate_configuration,
    validate_scheduler,
)
from wedata.services.tasks.fields import (
    _conf_given,
    _description,
    _folder,
    _name,
    _owner,
    _sched_given,
    _task_type,
)
from wedata.services.tasks.insert import insert_task
from wedata.services.tasks.paramcheck import CODE_FIELD, code_problems
from wedata.services.tasks.patch import (
    DOWNSTREAM,
    UPSTREAM,
    Removal,
    apply_removals,
    merge_scheduler,
    parse_removals,
)
from wedata.services.tasks.queries import list_condition, trigger_workflow_ids
from wedata.services.tasks.runnable import check_sources
from wedata.services.tasks.snapshot import (
    TASK_AND_STANDING_BY_ID,
    TASK_BY_ID,
    TASK_FOR_UPDATE,
    TASK_PAGE_BY_IDS,
    TASK_WITH_EDGES_AND_STANDING_BY_ID,
    render_task,
)
from wedata.services.tasks.sql_targets import SqlTargets
from wedata.services.tasks.types import node_category, task_type_desc
from wedata.services.tasks.unified import apply_workflow_schedule
from wedata.services.tasks.versions import (
    NO_EDGES,
    SAVE,
    SUBMIT,
    Edges,
    VersionDetail,
    VersionItem,
    get_version,
    list_versions,
    record_version,
)
from wedata.services.workflows.workflows import TRIGGER, require_schedule_mode
from wedata.spec import models as M
from wedata.storage import instance_owner
from wedata.storage import tables as T
from wedata.storage.db import Database, planned_each_time

log = logging.getLogger(__name__)

# Built once (every save runs them; building cost more than SQLite's work). A saved row's other
# columns come as execution parameters (TaskService._row_values).
_SAVE_ROW = update(T.tasks).where(T.tasks.c.id == bindparam("task_id")).values(
    latest_version_no=T.tasks.c.latest_version_no + 1)
_MEMBER_NAME = select(T.project_members.c.user_name).where(
    T.project_members.c.project_id == bindparam("project_id"), T.project_members.c.user_uin == bindparam("uin"))


@dataclass
class Draft:
    """The complete, validated state a write will store."""

    name: str
    owner: str
    description: str
    folder_path: str | None
    conf: dict[str, Any]
    sched: dict[str, Any]
    upstream: dict[str, task_edges.Config]
    downstream: dict[str, task_edges.Config] | None  # None: the downstream edges stay as they are




class TaskService:
    """Periodic tasks. The extension points a kind of task may change (services/triggers/tasks.py
    subclasses this for the tasks of trigger workflows, which are stored, validated, versioned
    and submitted exactly like these): ``TRIGGER_TASKS`` (which workflows hold this kind),
    :meth:`_check_targets` (where its dependencies may point) and :meth:`_mode_check` (which
    projects may create it)."""

    # True: the tasks of trigger workflows (workflow-scheduling projects); False: periodic tasks.
    TRIGGER_TASKS = False
    KIND_NAME = "periodic task"

    def __init__(self, db: Database, clock: Clock, settings: Settings, scheduler: SchedulerApi) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.scheduler = scheduler
        # Where SQL tasks run (services/tasks/sql_targets.py); set by the container, which
        # builds the data-source service after this one.
        self.sql_targets: SqlTargets | None = None

    # ------------------------------------------------------------------------------------------
    # Reads.

    def _row(self, conn: Connection, project_id: str, task_id: str, *, lock: bool = False,
             statement: Any = TASK_BY_ID, uin: str | None = None) -> Row[Any]:
        # lock: serialise concurrent writers of one task (no-op on SQLite, which has one writer).
        # uin: the caller's, for a statement carrying their standing (standing_columns).
        params = {"project_id": project_id, "task_id": task_id}
        if uin is not None:
            params["uin"] = uin
        row = conn.execute(TASK_FOR_UPDATE if lock else statement, params).first()
        if row is None:
            raise NotFound(f"The task {task_id} does not exist in the project {project_id}.")
        self._check_kind(row.workflow_type, f"The task {task_id}")
        return row

    # ------------------------------------------------------------------------------------------
    # Extension points (class docstring).

    def _check_kind(self, workflow_type: str, what: str) -> None:
        """Refuse a task (or workflow) of the other kind, naming the actions that serve it."""
        if (workflow_type == TRIGGER) == self.TRIGGER_TASKS:
            return
        if workflow_type == TRIGGER:
            raise Unsupported(f"{what} belongs to a trigger workflow (ScheduleMode workflow): use the "
                              "*TriggerTask actions.")
        raise Unsupported(f"{what} is a periodic task (ScheduleMode task): use the *Task actions.")

    def _mode_check(self, conn: Connection, project_id: str) -> None:
        """Only task-scheduling projects have periodic tasks."""
        require_schedule_mode(conn, project_id, "task", "Periodic tasks")

    def _check_targets(self, targets: dict[str, Any], workflow_id: str) -> None:
        """Periodic tasks may depend on periodic tasks of any workflow the caller may see, never
        on the tasks of a trigger workflow (no cross-mode dependencies, spec §6.27)."""
        for tid, r in targets.items():
            if r.workflow_type == TRIGGER:
                raise InvalidValue(f"The task {tid} belongs to a trigger workflow: a periodic task cannot depend on it.")

    def _kind_condition(self, conn: Connection, project_id: str) -> Any:
        """SQL on ``tasks`` alone: the task rows of this kind (list filters)."""
        triggers = trigger_workflow_ids(conn, project_id)
        if self.TRIGGER_TASKS:
            return T.tasks.c.workflow_id.in_(triggers) if triggers else false()
        return T.tasks.c.workflow_id.not_in(triggers) if triggers else true()

    def get_task(self, project_id: str, task_id: str, caller: Caller) -> tuple[dict[str, Any], Access | None]:
        """The wire-shaped task record (``Task`` under its wire names, Base64 code) and the
        caller's standing in the project, read by the same statement for the registry's check
        (actions/registry.py ``standing_in_read``; None: the project is not live)."""
        # PostgreSQL: the task, its edges and the standing in one round trip (snapshot.py).
        statement = TASK_AND_STANDING_BY_ID if self.db.is_sqlite else TASK_WITH_EDGES_AND_STANDING_BY_ID
        with self.db.read() as conn:
            row = self._row(conn, project_id, task_id, statement=statement, uin=caller.uin)
            up, down = task_edges.edges_of(conn, row, task_id)
        return render_task(row, up, down), ProjectAccess.standing_of(project_id, caller, row._mapping)

    def list_tasks(self, req: M.ListTasksRequest) -> tuple[list[Row[Any]], int, Page]:
        """One page of task rows (without their definitions; with workflow and resource group names), newest
        first, the total count and the page. The count and the page's ids read ``tasks`` alone
        (services/paging.py); the page's rows are then joined."""
        pg = page(req.page_number, req.page_size, min_size=10)
        t = T.tasks
        with self.db.read() as conn:
            with planned_each_time(conn):  # the count and the keys (not the rows by id: query.py)
                cond = list_condition(conn, req) & self._kind_condition(conn, req.project_id)
                total = conn.execute(select(func.count()).select_from(t).where(cond)).scalar_one()
                # A ModifyTime range is read first and sorted (services/paging.py).
                ids = page_keys(conn, t.c.id, [cond], [(t.c.created_at, True)], pg, total,
                                ranged=bool(req.modify_time))
            rows = conn.execute(TASK_PAGE_BY_IDS, {"ids": ids}).all() if ids else []
        return list(rows), int(total), pg

    def get_task_code(self, project_id: str, task_id: str) -> tuple[str, str]:
        """(CodeInfo, CodeFileSize): the Base64 code and, as WeData's example shows, its length."""
        with self.db.read() as conn:
            row = self._row(conn, project_id, task_id)
        code = encode_code(((row.definition or {}).get(CONF) or {}).get("CodeContent"))
        return code, str(len(code))

    def list_versions(self, req: M.ListTaskVersionsRequest) -> tuple[list[VersionItem], int, Page]:
        pg = page(req.page_number, req.page_size, min_size=10)
        with self.db.read() as conn:
            row = self._row(conn, req.project_id, req.task_id)
            items, total = list_versions(conn, row, req.task_version_type, req.used_version, pg)
        return items, total, pg

    def get_version(self, project_id: str, task_id: str, version_id: str | None) -> VersionDetail:
        with self.db.read() as conn:
            row = self._row(conn, project_id, task_id)
            return get_version(conn, row, version_id)

    # ------------------------------------------------------------------------------------------
    # Writes.

    def create_task(
        self, project_id: str, caller: Caller, base: dict[str, Any], conf: dict[str, Any], sched: dict[str, Any]
    ) -> str:
        from wedata.services.workflows.workflows import load_workflow

        now = self.clock.now()
        name = _name(base.get("TaskName"))
        type_id = _task_type(base.get("TaskTypeId"))
        owner = _owner(base.get("OwnerUin") or caller.uin)
        sched_given, up_items, _ = _sched_given(sched)
        draft = Draft(
            name=name,
            owner=owner,
            description=_description(base.get("TaskDescription")),
            folder_path=_folder(base.get("TaskFolderPath")),
            conf=validate_configuration({**CONFIG_DEFAULTS, **_conf_given(conf)}),
            sched=validate_scheduler({**SCHEDULER_DEFAULTS, **sched_given}, today_in_zone=today_start(now)),
            upstream=task_edges.normalize_dependencies(up_items, f"{SCHED}.{UPSTREAM}"),
            downstream=None,
        )
        with self.db.write() as conn:
            self._mode_check(conn, project_id)
            workflow = load_workflow(conn, project_id, str(base.get("WorkflowId") or ""))
            self._check_kind(workflow.workflow_type, f"The workflow {workflow.id}")
            self._check(conn, project_id, caller, None, workflow.id, type_id, draft)
            user_name = self._user_name(conn, project_id, caller.uin)
            values = {
                "project_id": project_id,
                "workflow_id": workflow.id,
                "task_type_id": type_id,
                "status": "N",
                "latest_version_no": 1,
                "create_user_uin": caller.uin,
                "created_at": now,
                **self._row_values(draft, caller.uin, user_name, now),
            }
            task_id = insert_task(conn, values, now)
            task_edges.write_upstream(conn, task_id, {}, draft.upstream, now)
            remark = self._save_warning(conn, task_id, type_id, draft, workflow.id)
            # A new task without dependencies has no edges: no need to read them back.
            edges = None if draft.upstream else NO_EDGES
            record_version(conn, task_id, SAVE, user_uin=caller.uin, now=now, remark=remark, edges=edges)
        return task_id

    def update_task(
        self,
        project_id: str,
        task_id: str,
        caller: Caller,
        base: dict[str, Any],
        conf: dict[str, Any],
        sched: dict[str, Any],
    ) -> None:
        """UpdateTask: what is given replaces, what is left out (absent or null) stays (module
        docstring); lists given replace the whole list."""
        self._update(project_id, task_id, caller, base, conf, sched, None, upsert=False)

    def update_task_partially(
        self,
        project_id: str,
        task_id: str,
        caller: Caller,
        new_setting: dict[str, Any] | None,
        field_to_remove: list[str] | None,
    ) -> None:
        setting = new_setting or {}
        self._update(project_id, task_id, caller, setting.get("TaskBaseAttribute"), setting.get(CONF),
                     setting.get(SCHED), parse_removals(field_to_remove), upsert=True)

    def _update(
        self,
        project_id: str,
        task_id: str,
        caller: Caller,
        base_raw: dict[str, Any] | None,
        conf_raw: dict[str, Any] | None,
        sched_raw: dict[str, Any] | None,
        removals: list[Removal] | None,
        *,
        upsert: bool,
    ) -> None:
        now = self.clock.now()
        base = given_fields(base_raw)
        conf_given = _conf_given(conf_raw)
        sched_given, up_items, down_items = _sched_given(sched_raw)
        up_new = task_edges.normalize_dependencies(up_items, f"{SCHED}.{UPSTREAM}")
        down_new = task_edges.normalize_dependencies(down_items, f"{SCHED}.{DOWNSTREAM}")
        with self.db.write() as conn:
            row = self._row(conn, project_id, task_id, lock=True)
            definition = row.definition or {}
            conf = dict(definition.get(CONF) or {})
            sched = dict(definition.get(SCHED) or {})
            stored = task_edges.load_edges(conn, task_id)
            upstream, downstream = dict(stored[0]), dict(stored[1])  # apply_removals edits in place
            _, down_changed = apply_removals(removals or [], conf, sched, upstream, downstream)
            conf = merge_section(conf, conf_given, CONF, upsert_lists=upsert)
            sched = merge_scheduler(sched, sched_given, upsert_lists=upsert)
            if upsert:
                upstream.update(up_new)
                downstream.update(down_new)
            else:  # UpdateTask: a list given is the whole list; one left out stays
                upstream = up_new if up_items is not None else upstream
                downstream = down_new if down_items is not None else downstream
            draft = Draft(
                name=_name(base.get("TaskName", row.name)),
                owner=_owner(base.get("OwnerUin", row.owner_uin)),
                description=_description(base.get("TaskDescription", row.description)),
                folder_path=_folder(base["TaskFolderPath"]) if "TaskFolderPath" in base else row.folder_path,
                conf=validate_configuration(conf),
                sched=validate_scheduler(sched, today_in_zone=today_start(now)),
                upstream=upstream,
                downstream=downstream if (down_changed or down_new or (not upsert and down_items is not None)) else None,
            )
            self._save(conn, project_id, caller, row, draft, now, stored)

    def delete_task(self, project_id: str, task_id: str, caller: Caller, delete_mode: bool | None) -> None:
        t, v = T.tasks, T.task_versions
        with self.db.write() as conn:
            self._row(conn, project_id, task_id, lock=True)
            users = task_edges.dependents(conn, task_id)
            if users:
                raise InUse(
                    f"The task {task_id} cannot be deleted: the task(s) {', '.join(users[:10])} depend on it. "
                    "Remove those dependencies first."
                )
            task_edges.delete_edges(conn, task_id)
            conn.execute(delete(v).where(v.c.task_id == task_id))
            try:
                with conn.begin_nested():
                    conn.execute(delete(t).where(t.c.id == task_id))
            except IntegrityError:
                raise InUse(f"The task {task_id} is still referenced (e.g. by its instances).") from None
        log.info(
            "task %s of project %s deleted by %s (DeleteMode=%s: no downstream task, nothing to force-fail)",
            task_id, project_id, caller.uin, bool(delete_mode),
        )

    def submit_task(self, project_id: str, task_id: str, caller: Caller, remark: str) -> str:
        if len(remark) > 1024:
            raise InvalidValue("VersionRemark must be at most 1024 characters")
        now = self.clock.now()
        t = T.tasks
        with self.db.write() as conn:
            row = self._row(conn, project_id, task_id, lock=True)
            self._check_runnable(row, project_id, caller)
            check_sources(conn, project_id, caller, row.task_type_id, row.definition)
            self._check_parameters(conn, row)
            status = row.status if row.status in ("Y", "O") else "Y"
            conn.execute(
                update(t).where(t.c.id == task_id).values(status=status, latest_submit_version_no=row.latest_version_no)
            )
            edges = task_edges.load_edges(conn, task_id)
            version_id = record_version(conn, task_id, SUBMIT, user_uin=caller.uin, now=now, remark=remark,
                                        edges=edges)
            conn.execute(update(t).where(t.c.id == task_id).values(prod_version_id=version_id))
            task_edges.publish(conn, task_id, now, upstream=edges[0])
        # An in-process engine plans the task now, not at its next poll.
        self.scheduler.notify(Change.TASKS, tasks=[task_id])
        return version_id

    @staticmethod
    def _check_parameters(conn: Connection, row: Row[Any]) -> None:
        """Every ${...} in the code renders (services/tasks/paramcheck.py)."""
        problems = code_problems(conn, row.task_type_id, row.definition or {}, row.workflow_id)
        if problems:
            raise InvalidValue(f"{CODE_FIELD}: {problems}")

    @staticmethod
    def _save_warning(
        conn: Connection, task_id: str | None, type_id: int, draft: Draft, workflow_id: str
    ) -> str:
        """The remark of a SAVE version whose code SubmitTask would refuse ("" when none), also
        logged: WeData's CreateTask/UpdateTask answers have no warning field."""
        problems = code_problems(conn, type_id, {CONF: draft.conf, SCHED: draft.sched}, workflow_id)
        if not problems:
            return ""
        log.warning("task %s saved with a code SubmitTask will refuse: %s", task_id or draft.name, problems)
        return f"warning: {CODE_FIELD}: {problems}"[:1024]

    def _check_runnable(self, row: Row[Any], project_id: str, caller: Caller) -> None:
        """Only task types the executors can run are scheduled; a dry run (ScheduleType 1) never
        executes, so it is accepted for any type. A SQL task must name a source it may use."""
        from wedata.executors.tasktypes import SQL_TASK_TYPES, SUPPORTED_TASK_TYPES

        definition = row.definition or {}
        sched = definition.get(SCHED) or {}
        if sched.get("ScheduleType") == 1:
            return
        if row.task_type_id in SQL_TASK_TYPES and self.sql_targets is not None:
            self.sql_targets.check_task(project_id, caller.uin, row.task_type_id, definition.get(CONF) or {})
        if row.task_type_id in SUPPORTED_TASK_TYPES:
            return
        raise Unsupported(
            f"Task type {row.task_type_id} ({task_type_desc(row.task_type_id)}) cannot be scheduled by this "
            "server yet: only Shell (35), Shell form mode (38), Python (30), Notebook (132) and SQL (21 JDBC, 23 TDSQL-PostgreSQL, 32 DLC, 134 StarRocks) "
            "tasks run. Save it, or submit it as a dry run (ScheduleType 1)."
        )

    def apply_workflow_schedule(
        self, conn: Connection, project_id: str, workflow_id: str, config: dict[str, Any], caller_uin: str
    ) -> None:
        """WorkflowService schedule listener: apply a unified schedule to the workflow's tasks."""
        user_name = self._user_name(conn, project_id, caller_uin)
        apply_workflow_schedule(conn, self.clock.now(), workflow_id, config, caller_uin, user_name)

    # ------------------------------------------------------------------------------------------
    # Shared write steps.

    def _check(
        self,
        conn: Connection,
        project_id: str,
        caller: Caller,
        current: Row[Any] | None,
        workflow_id: str,
        type_id: int,
        draft: Draft,
        stored: Edges | None = None,
    ) -> Edges:
        """Every rule that needs the database; returns the stored (upstream, downstream) edges
        (``stored``: those edges, when the caller read them in this transaction)."""
        from wedata.services.tasks.folders import folder_exists

        t = T.tasks
        me = current.id if current is not None else None
        clash = select(t.c.id).where(t.c.project_id == project_id, t.c.name == draft.name)
        if me is not None:
            clash = clash.where(t.c.id != me)
        if conn.execute(clash.limit(1)).first() is not None:
            raise Duplicate(f"A task named {draft.name!r} already exists in the project.")
        if draft.folder_path is not None and not folder_exists(
            conn, workflow_id, node_category(type_id), draft.folder_path
        ):
            raise NotFound(f"The task folder {draft.folder_path} does not exist in the workflow {workflow_id}.")
        group = draft.conf.get("ResourceGroup")
        if group is not None and conn.execute(
            select(T.resource_groups.c.id).where(T.resource_groups.c.id == group)
        ).first() is None:
            raise NotFound(f"The resource group {group} does not exist.")

        if stored is not None:
            up_now, down_now = stored
        else:
            up_now, down_now = task_edges.load_edges(conn, me) if me is not None else ({}, {})
        down_final = draft.downstream if draft.downstream is not None else down_now
        targets = task_edges.load_targets(conn, [*draft.upstream, *down_final], project_id, caller)
        self._check_targets(targets, workflow_id)
        linked = sorted((draft.upstream.keys() - up_now.keys()) | (down_final.keys() - down_now.keys()))
        if linked:
            # Two concurrent edits adding opposite edges (A<-B, B<-A) would each pass the cycle
            # check on PostgreSQL; locking the newly linked tasks serialises them.
            conn.execute(select(t.c.id).where(t.c.id.in_(linked)).with_for_update()).all()
        if me is not None:
            task_edges.assert_acyclic(conn, me, draft.upstream, down_final)
        for upstream_id in draft.upstream.keys() - up_now.keys():
            upstream_sched = (targets[upstream_id].definition or {}).get(SCHED) or {}
            if upstream_sched.get("AllowDownstreamDependency") == 0:
                raise InvalidValue(f"The task {upstream_id} does not allow other tasks to depend on it.")
        if down_final and draft.sched["AllowDownstreamDependency"] == 0:
            raise InvalidValue("AllowDownstreamDependency is 0 but the task has downstream dependencies.")
        task_edges.check_in_params(
            me or "(new task)",
            draft.sched["ParamTaskInList"],
            {u: task_edges.param_sources(targets[u].definition) for u in draft.upstream},
        )
        if me is not None:
            self._check_readers(conn, me, draft, down_now, down_final)
        return up_now, down_now

    @staticmethod
    def _check_readers(
        conn: Connection, me: str, draft: Draft, down_now: dict[str, task_edges.Config], down_final: dict[str, task_edges.Config]
    ) -> None:
        """Downstream tasks that read ``me``'s output parameters keep a valid source."""
        readers = sorted(set(down_now) | set(down_final))
        if not readers:
            return
        outputs = {p["ParamKey"] for p in draft.sched["ParamTaskOutList"] or []}
        rows = conn.execute(select(T.tasks.c.id, T.tasks.c.definition).where(T.tasks.c.id.in_(readers))).all()
        for r in rows:
            for p in ((r.definition or {}).get(SCHED) or {}).get("ParamTaskInList") or []:
                if p["FromTaskId"] != me:
                    continue
                if r.id not in down_final:
                    raise InvalidValue(
                        f"The task {r.id} reads the parameter {p['FromParamKey']!r} of {me}: "
                        "its dependency cannot be removed."
                    )
                if p["FromParamKey"] not in outputs:
                    raise InvalidValue(
                        f"The task {r.id} reads the output parameter {p['FromParamKey']!r}: it cannot be removed."
                    )

    def _save(self, conn: Connection, project_id: str, caller: Caller, row: Row[Any], draft: Draft, now: Any,
              stored: Edges | None = None) -> None:
        up_now, down_now = self._check(conn, project_id, caller, row, row.workflow_id, row.task_type_id, draft,
                                       stored)
        t = T.tasks
        user_name = self._user_name(conn, project_id, caller.uin)
        conn.execute(_SAVE_ROW, {"task_id": row.id, **self._row_values(draft, caller.uin, user_name, now)})
        if draft.owner != row.owner_uin:
            instance_owner.follow(conn, [row.id], draft.owner)
        task_edges.write_upstream(conn, row.id, up_now, draft.upstream, now)
        remark = self._save_warning(conn, row.id, row.task_type_id, draft, row.workflow_id)
        # Edges left as they were are the ones read (in their stored order): no need to read them back.
        same = draft.upstream == up_now and (draft.downstream is None or draft.downstream == down_now)
        record_version(conn, row.id, SAVE, user_uin=caller.uin, now=now, remark=remark,
                       edges=(up_now, down_now) if same else None)
        if draft.downstream is None:
            return
        for other in sorted(task_edges.write_downstream(conn, row.id, down_now, draft.downstream, now)):
            # The other task's upstream list changed: that is a new saved version of it.
            conn.execute(update(t).where(t.c.id == other).values(
                latest_version_no=t.c.latest_version_no + 1, updated_at=now, update_user_uin=caller.uin,
                update_user_name=user_name))
            record_version(conn, other, SAVE, user_uin=caller.uin, now=now)

    @staticmethod
    def _row_values(draft: Draft, uin: str, user_name: str | None, now: Any) -> dict[str, Any]:
        return {
            "name": draft.name,
            "owner_uin": draft.owner,
            "description": draft.description,
            "folder_path": draft.folder_path,
            "definition": {CONF: draft.conf, SCHED: draft.sched},
            "cycle_type": draft.sched["CycleType"],
            "resource_group_id": draft.conf.get("ResourceGroup"),
            "bundle_id": draft.conf.get("BundleId") or None,
            "update_user_uin": uin,
            "update_user_name": user_name,
            "updated_at": now,
        }

    @staticmethod
    def _user_name(conn: Connection, project_id: str, uin: str) -> str:
        name = conn.execute(_MEMBER_NAME, {"project_id": project_id, "uin": uin}).scalar_one_or_none()
        return name or uin
