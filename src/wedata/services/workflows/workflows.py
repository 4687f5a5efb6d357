"""Workflows and workflow folders (the dev-side tree of a task-scheduling project).

Folders form a tree of absolute paths (``/`` is the root, which has no row); a workflow lives in
one folder (or directly in ``/``) and its ``Path`` is the folder path plus ``/`` plus its name.
Decisions where WeData's documentation is silent:

- A project starts with no folder: WeData's console shows ``/默认文件夹``, but nothing in the API
  needs it, and a workflow may sit directly in ``/``.
- A parent folder that does not exist is ``ResourceNotFound`` (it is an unknown resource, not a
  malformed value); a malformed path (``a/b``, ``/a//b``, ``/a/``) is ``InvalidParameterValue``.
- Folder names are unique among the sub-folders of one parent; workflow names are unique in the
  project (tasks refer to workflows by name in the console).
- Renaming a folder rewrites the paths of every folder and workflow below it, in one
  transaction. Task folders are relative to their workflow (spec §6.17) and are unaffected.
- A folder that still holds sub-folders or workflows cannot be deleted (``FailedOperation``).
- A workflow that still holds tasks cannot be deleted (``ResourceInUse``): deleting tasks has
  its own rules (downstream instances, production versions) that DeleteTask owns, and a silent
  cascade would destroy production schedules.
- A manual workflow has no unified schedule (it is only ever run by hand).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, and_, func, literal, or_, select
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.services.common import Page, new_uuid, page, parse_time_range
from wedata.services.errors import Duplicate, InUse, InvalidValue, NotFound, OperationFailed, Unsupported
from wedata.services.folders import (
    MAX_PATH_LENGTH,
    ROOT,
    check_name,
    check_path,
    child_path,
    join_path,
    path_too_long,
)
from wedata.services.workflows.schedule import canonical_schedule
from wedata.storage import tables as T
from wedata.storage.db import Database

# Workflow names are one path segment (their Path is folder path + name), longer than folders'.
MAX_WORKFLOW_NAME = 256
WORKFLOW_TYPES = ("cycle", "manual")
# The workflow_type of a trigger workflow (workflow-scheduling projects, services/triggers/):
# never accepted from a WorkflowType field, only set by ``create_workflow(trigger=...)``.
TRIGGER = "trigger"
# Called inside the CreateWorkflow/UpdateWorkflow transaction of a trigger workflow with the
# connection and the WorkflowId: the triggers service writes its own row there, so a workflow
# and its trigger settings are created (or changed) together or not at all.
WorkflowHook = Callable[[Connection, str], None]

# Called inside the UpdateWorkflow/CreateWorkflow transaction when a unified schedule is saved:
# (conn, project_id, workflow_id, canonical config dict, caller uin). The tasks service applies
# the schedule to the workflow's tasks (spec §6.32) by registering one with add_schedule_listener.
ScheduleListener = Callable[[Connection, str, str, dict[str, Any], str], None]


# ----------------------------------------------------------------------------------------------
# Paths (the name rules are services/folders.py).


def workflow_path(row: Row[Any]) -> str:
    """``Path`` of WorkflowDetail: folder path + "/" + name (``/wf`` for a root workflow)."""
    return join_path(row.folder_path, row.name)


# ----------------------------------------------------------------------------------------------
# Look-ups shared with other services (tasks validate WorkflowId through these).


def load_workflow(conn: Connection, project_id: str, workflow_id: str, *, for_update: bool = False,
                  key_kept: bool = False) -> Row[Any]:
    """The workflows row of a workflow of the project, or NotFound. ``for_update`` locks it;
    with ``key_kept`` (the caller changes the row but not its id) FOR NO KEY UPDATE on PostgreSQL,
    which rows inserted meanwhile that refer to the workflow do not wait for (their foreign-key
    check takes KEY SHARE): a trigger's fire holds the workflow's trigger settings and then writes
    such rows, while an update of the workflow holds the workflow and then writes its trigger
    settings; with FOR UPDATE the two deadlocked."""
    stmt = select(T.workflows).where(T.workflows.c.project_id == project_id, T.workflows.c.id == workflow_id)
    if for_update:
        stmt = stmt.with_for_update(key_share=key_kept)
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(f"The workflow {workflow_id} does not exist in the project {project_id}.")
    return row


def _load_folder(conn: Connection, project_id: str, folder_id: str, *, for_update: bool = False) -> Row[Any]:
    f = T.workflow_folders
    stmt = select(f).where(f.c.project_id == project_id, f.c.id == folder_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(f"The workflow folder {folder_id} does not exist in the project {project_id}.")
    return row


def _require_folder_path(conn: Connection, project_id: str, path: str, field: str) -> None:
    """The folder at ``path`` must exist (the root always does). Locks it on PostgreSQL so that
    a concurrent delete or rename cannot leave the new child under a vanished folder."""
    if path == ROOT:
        return
    f = T.workflow_folders
    stmt = select(f.c.id).where(f.c.project_id == project_id, f.c.path == path).with_for_update()
    if conn.execute(stmt).first() is None:
        raise NotFound(f"{field} {path} does not exist in the project {project_id}.")


def _is_unique_violation(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate" in text


class WorkflowService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self._schedule_listeners: list[ScheduleListener] = []

    def add_schedule_listener(self, listener: ScheduleListener) -> None:
        """Run ``listener`` in the same transaction whenever a workflow's unified schedule is saved."""
        self._schedule_listeners.append(listener)

    # ------------------------------------------------------------------------------------------
    # Workflows: look-ups for other services.

    def get_row(self, conn: Connection | None, project_id: str, workflow_id: str) -> Row[Any]:
        """The workflows row (id, name, folder_path, workflow_type, owner_uin, scheduler_config,
        ...) or NotFound. Pass the caller's connection to read inside its transaction."""
        if conn is not None:
            return load_workflow(conn, project_id, workflow_id)
        with self.db.read() as own:
            return load_workflow(own, project_id, workflow_id)

    def scheduler_config(self, conn: Connection | None, project_id: str, workflow_id: str) -> dict[str, Any] | None:
        """The stored unified schedule (WorkflowSchedulerConfigurationInfo wire names, validated
        and canonical: full CycleType name, defaults filled), or None when the workflow has none."""
        config = self.get_row(conn, project_id, workflow_id).scheduler_config
        return dict(config) if config else None

    # ------------------------------------------------------------------------------------------
    # Workflows.

    def create_workflow(
        self,
        project_id: str,
        caller_uin: str,
        *,
        name: str,
        parent_folder_path: str,
        workflow_type: str | None,
        description: str | None,
        owner_uin: str | None,
        params: Sequence[tuple[str, str]] | None,
        scheduler_config: dict[str, Any] | None,
        bundle_id: str | None,
        bundle_info: str | None,
        trigger: WorkflowHook | None = None,
    ) -> str:
        """Create a workflow. With ``trigger`` it is a trigger workflow (workflow_type
        ``trigger``, no unified schedule) and ``trigger`` runs in the same transaction."""
        name = check_name(name, "WorkflowName", max_length=MAX_WORKFLOW_NAME)
        folder = check_path(parent_folder_path, "ParentFolderPath")
        kind = TRIGGER if trigger is not None else _check_type(workflow_type)
        owner = _check_owner(owner_uin) if owner_uin is not None else caller_uin
        stored_params = _check_params(params) if params is not None else []
        config = _check_config(kind, scheduler_config)
        now = self.clock.now()
        workflow_id = new_uuid()
        try:
            with self.db.write() as conn:
                if trigger is not None:
                    require_schedule_mode(conn, project_id, "workflow", "Trigger workflows")
                else:
                    require_schedule_mode(conn, project_id, "task", "Periodic workflows")
                _require_folder_path(conn, project_id, folder, "ParentFolderPath")
                self._check_name_free(conn, project_id, name, None)
                conn.execute(
                    T.workflows.insert().values(
                        id=workflow_id,
                        project_id=project_id,
                        name=name,
                        folder_path=folder,
                        workflow_type=kind,
                        description=description or "",
                        owner_uin=owner,
                        create_user_uin=caller_uin,
                        update_user_uin=caller_uin,
                        params=stored_params,
                        scheduler_config=config,
                        bundle_id=bundle_id,
                        bundle_info=bundle_info,
                        created_at=now,
                        updated_at=now,
                    )
                )
                if config is not None:
                    self._notify_schedule(conn, project_id, workflow_id, config, caller_uin)
                if trigger is not None:
                    trigger(conn, workflow_id)
        except IntegrityError as exc:
            if _is_unique_violation(exc):
                raise Duplicate(f"A workflow named {name!r} already exists in the project.") from None
            raise
        return workflow_id

    def get_workflow(self, project_id: str, workflow_id: str, *, trigger: bool = False) -> Row[Any]:
        """GetWorkflow (or, with ``trigger``, GetTriggerWorkflow): the row of a workflow of that kind."""
        row = self.get_row(None, project_id, workflow_id)
        if (row.workflow_type == TRIGGER) != trigger:
            raise _wrong_kind(row)
        return row

    def list_workflows(
        self,
        project_id: str,
        *,
        page_number: int | str | None,
        page_size: int | str | None,
        keyword: str | None = None,
        parent_folder_path: str | None = None,
        workflow_type: str | None = None,
        bundle_id: str | None = None,
        owner_uin: str | None = None,
        create_user_uin: str | None = None,
        modify_time: list[str] | None = None,
        create_time: list[str] | None = None,
    ) -> tuple[list[Row[Any]], int, Page]:
        pg = page(page_number, page_size, min_size=10, max_size=200)
        w = T.workflows
        conds = [w.c.project_id == project_id, w.c.workflow_type != TRIGGER]
        if keyword:
            # The console's search box: a part of the name (any case), or the exact id.
            conds.append(or_(func.lower(w.c.name).contains(keyword.lower(), autoescape=True), w.c.id == keyword))
        if parent_folder_path is not None and parent_folder_path != "":
            conds.append(w.c.folder_path == check_path(parent_folder_path, "ParentFolderPath"))
        if workflow_type:
            conds.append(w.c.workflow_type == _check_type(workflow_type))
        if bundle_id:
            conds.append(w.c.bundle_id == bundle_id)
        if owner_uin:
            conds.append(w.c.owner_uin == owner_uin)
        if create_user_uin:
            conds.append(w.c.create_user_uin == create_user_uin)
        for column, values, field in ((w.c.updated_at, modify_time, "ModifyTime"), (w.c.created_at, create_time, "CreateTime")):
            rng = parse_time_range(values, None, field)
            if rng:
                conds.append(column.between(*rng))
        where = and_(*conds)
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(w).where(where)).scalar_one()
            rows = conn.execute(
                select(w).where(where).order_by(w.c.updated_at.desc(), w.c.id).limit(pg.size).offset(pg.offset)
            ).all()
        return list(rows), int(total), pg

    def update_workflow(
        self,
        project_id: str,
        workflow_id: str,
        caller_uin: str,
        *,
        name: str | None,
        owner_uin: str | None,
        description: str | None,
        params: Sequence[tuple[str, str]] | None,
        scheduler_config: dict[str, Any] | None,
        bundle_id: str | None,
        bundle_info: str | None,
        trigger: Callable[[Connection, str], bool] | None = None,
    ) -> None:
        """Change only the fields given (None = not sent). ``trigger`` (trigger workflows only)
        writes the trigger settings in the same transaction and says whether it changed any."""
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = check_name(name, "WorkflowName", max_length=MAX_WORKFLOW_NAME)
        if owner_uin is not None:
            values["owner_uin"] = _check_owner(owner_uin)
        if description is not None:
            values["description"] = description
        if params is not None:
            values["params"] = _check_params(params)
        if bundle_id is not None:
            values["bundle_id"] = bundle_id
        if bundle_info is not None:
            values["bundle_info"] = bundle_info
        try:
            with self.db.write() as conn:
                row = load_workflow(conn, project_id, workflow_id, for_update=True, key_kept=True)
                if (row.workflow_type == TRIGGER) != (trigger is not None):
                    raise _wrong_kind(row)
                config = _check_config(row.workflow_type, scheduler_config)
                if config is not None:
                    values["scheduler_config"] = config
                touched = trigger(conn, workflow_id) if trigger is not None else False
                if not values and not touched:
                    return  # nothing sent: not an edit, the modification time stays
                if "name" in values:
                    self._check_name_free(conn, project_id, values["name"], workflow_id)
                values.update(update_user_uin=caller_uin, updated_at=self.clock.now())
                conn.execute(T.workflows.update().where(T.workflows.c.id == workflow_id).values(**values))
                if config is not None:
                    self._notify_schedule(conn, project_id, workflow_id, config, caller_uin)
        except IntegrityError as exc:
            if _is_unique_violation(exc):
                raise Duplicate(f"A workflow named {name!r} already exists in the project.") from None
            raise

    def delete_workflow(self, project_id: str, workflow_id: str, *, trigger: bool = False) -> None:
        try:
            with self.db.write() as conn:
                row = load_workflow(conn, project_id, workflow_id, for_update=True)
                if (row.workflow_type == TRIGGER) != trigger:
                    raise _wrong_kind(row)
                tasks = conn.execute(
                    select(func.count()).select_from(T.tasks).where(T.tasks.c.workflow_id == workflow_id)
                ).scalar_one()
                if tasks:
                    raise InUse(
                        f"The workflow {workflow_id} still holds {tasks} task(s): delete them "
                        "(DeleteTask) before deleting the workflow."
                    )
                conn.execute(T.workflows.delete().where(T.workflows.c.id == workflow_id))
        except IntegrityError:
            # A task was created in the workflow between the count and the delete.
            raise InUse(f"The workflow {workflow_id} still holds tasks: delete them first.") from None

    def _check_name_free(self, conn: Connection, project_id: str, name: str, own_id: str | None) -> None:
        w = T.workflows
        stmt = select(w.c.id).where(w.c.project_id == project_id, w.c.name == name)
        if own_id is not None:
            stmt = stmt.where(w.c.id != own_id)
        if conn.execute(stmt).first() is not None:
            raise Duplicate(f"A workflow named {name!r} already exists in the project.")

    def _notify_schedule(
        self, conn: Connection, project_id: str, workflow_id: str, config: dict[str, Any], caller_uin: str
    ) -> None:
        for listener in self._schedule_listeners:
            listener(conn, project_id, workflow_id, dict(config), caller_uin)

    # ------------------------------------------------------------------------------------------
    # Folders.

    def create_folder(self, project_id: str, caller_uin: str, parent_folder_path: str, name: str) -> str:
        parent = check_path(parent_folder_path, "ParentFolderPath")
        name = check_name(name, "FolderName")
        path = child_path(parent, name)
        folder_id = new_uuid()
        try:
            with self.db.write() as conn:
                _require_folder_path(conn, project_id, parent, "ParentFolderPath")
                self._check_folder_free(conn, project_id, path)
                conn.execute(
                    T.workflow_folders.insert().values(
                        id=folder_id,
                        project_id=project_id,
                        path=path,
                        parent_path=parent,
                        name=name,
                        creator_uin=caller_uin,
                        created_at=self.clock.now(),
                    )
                )
        except IntegrityError as exc:
            if _is_unique_violation(exc):
                raise Duplicate(f"A folder named {name!r} already exists in {parent}.") from None
            raise
        return folder_id

    def get_folder(self, project_id: str, folder_id: str) -> Row[Any]:
        with self.db.read() as conn:
            return _load_folder(conn, project_id, folder_id)

    def list_folders(
        self, project_id: str, parent_folder_path: str, page_number: int | str | None, page_size: int | str | None
    ) -> tuple[list[Row[Any]], int, Page]:
        """Direct sub-folders of a folder, by name."""
        parent = check_path(parent_folder_path, "ParentFolderPath")
        pg = page(page_number, page_size, min_size=10, max_size=200)
        f = T.workflow_folders
        where = and_(f.c.project_id == project_id, f.c.parent_path == parent)
        with self.db.read() as conn:
            if parent != ROOT and conn.execute(
                select(f.c.id).where(f.c.project_id == project_id, f.c.path == parent)
            ).first() is None:
                raise NotFound(f"ParentFolderPath {parent} does not exist in the project {project_id}.")
            total = conn.execute(select(func.count()).select_from(f).where(where)).scalar_one()
            rows = conn.execute(
                select(f).where(where).order_by(f.c.name, f.c.id).limit(pg.size).offset(pg.offset)
            ).all()
        return list(rows), int(total), pg

    def rename_folder(self, project_id: str, folder_id: str, name: str) -> None:
        """Rename a folder; every folder and workflow below it follows (their paths change)."""
        name = check_name(name, "FolderName")
        f, w = T.workflow_folders, T.workflows
        try:
            with self.db.write() as conn:
                row = _load_folder(conn, project_id, folder_id, for_update=True)
                if row.name == name:
                    return
                old, new = row.path, join_path(row.parent_path, name)
                self._check_folder_free(conn, project_id, new)
                longest = conn.execute(
                    select(func.max(func.length(f.c.path))).where(
                        f.c.project_id == project_id, f.c.path.startswith(old + "/", autoescape=True)
                    )
                ).scalar()
                if longest is not None and longest - len(old) + len(new) > MAX_PATH_LENGTH:
                    raise path_too_long("A sub-folder path")
                conn.execute(f.update().where(f.c.id == folder_id).values(name=name, path=new))
                # Descendants: swap the old prefix for the new one in SQL (one statement per
                # column, whatever the size of the subtree).
                cut = len(old) + 1  # 1-based position just after the old prefix

                def moved(column: Any) -> Any:
                    return literal(new) + func.substr(column, cut)

                under = f.c.path.startswith(old + "/", autoescape=True)
                conn.execute(
                    f.update()
                    .where(f.c.project_id == project_id, under)
                    .values(
                        path=moved(f.c.path),
                        parent_path=moved(f.c.parent_path),
                    )
                )
                conn.execute(
                    w.update()
                    .where(
                        w.c.project_id == project_id,
                        or_(w.c.folder_path == old, w.c.folder_path.startswith(old + "/", autoescape=True)),
                    )
                    .values(folder_path=moved(w.c.folder_path))
                )
        except IntegrityError as exc:
            if _is_unique_violation(exc):
                raise Duplicate(f"A folder named {name!r} already exists there.") from None
            raise

    def delete_folder(self, project_id: str, folder_id: str) -> None:
        f, w = T.workflow_folders, T.workflows
        with self.db.write() as conn:
            row = _load_folder(conn, project_id, folder_id, for_update=True)
            subfolders = conn.execute(
                select(func.count()).select_from(f).where(f.c.project_id == project_id, f.c.parent_path == row.path)
            ).scalar_one()
            workflows = conn.execute(
                select(func.count()).select_from(w).where(w.c.project_id == project_id, w.c.folder_path == row.path)
            ).scalar_one()
            if subfolders or workflows:
                raise OperationFailed(
                    f"The folder {row.path} is not empty: it holds {subfolders} sub-folder(s) and "
                    f"{workflows} workflow(s). Delete or move them first."
                )
            conn.execute(f.delete().where(f.c.id == folder_id))

    def _check_folder_free(self, conn: Connection, project_id: str, path: str) -> None:
        f = T.workflow_folders
        if conn.execute(select(f.c.id).where(f.c.project_id == project_id, f.c.path == path)).first() is not None:
            raise Duplicate(f"The folder {path} already exists.")


# ----------------------------------------------------------------------------------------------
# Field checks.


def _wrong_kind(row: Row[Any]) -> Unsupported:
    if row.workflow_type == TRIGGER:
        return Unsupported(f"The workflow {row.id} is a trigger workflow (ScheduleMode workflow): use the "
                           "*TriggerWorkflow actions.")
    return Unsupported(f"The workflow {row.id} is a periodic workflow (ScheduleMode task): use the *Workflow actions.")


def require_schedule_mode(conn: Connection, project_id: str, mode: str, what: str) -> None:
    """Refuse ``what`` unless the project schedules by ``mode`` (``task`` or ``workflow``): a
    project's ScheduleMode is fixed at creation and decides which actions it has (spec §6.27)."""
    p = T.projects
    have = conn.execute(select(p.c.schedule_mode).where(p.c.id == project_id)).scalar()
    if have is not None and have != mode:
        other = "trigger workflows and trigger tasks" if have == "workflow" else "periodic workflows and tasks"
        raise Unsupported(
            f"{what} is not available in the project {project_id}: its ScheduleMode is {have!r}, which "
            f"schedules {other} (ScheduleMode {mode!r} projects have {what})."
        )


def _check_type(value: str | None) -> str:
    if value is None or value == "":
        return "cycle"
    if value not in WORKFLOW_TYPES:
        raise InvalidValue(f"WorkflowType must be cycle or manual, got {value!r}")
    return value


def _check_owner(value: str) -> str:
    # Uins are numeric strings; several owners are written ";"-joined elsewhere in WeData.
    parts = [p for p in value.split(";") if p]
    if not parts or not all(p.isdigit() for p in parts):
        raise InvalidValue(f"OwnerUin must be a user id (digits), got {value!r}")
    return value


def _check_params(params: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    for key, value in params:
        if not key or not key.strip():
            raise InvalidValue("WorkflowParams: ParamKey must not be empty")
        if key in seen:
            raise InvalidValue(f"WorkflowParams: the ParamKey {key!r} is given twice")
        seen.add(key)
        out.append({"ParamKey": key, "ParamValue": value})
    return out


def _check_config(workflow_type: str, config: dict[str, Any] | None) -> dict[str, Any] | None:
    if config is None:
        return None
    if workflow_type == "manual":
        raise InvalidValue("A manual workflow has no unified schedule: WorkflowSchedulerConfiguration is not allowed")
    return canonical_schedule(config)
