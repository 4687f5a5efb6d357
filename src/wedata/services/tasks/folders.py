"""Task folders: a folder tree per (workflow, node category) that tasks are filed in.

Paths are absolute inside their tree (``/a/b``); ``/`` is the tree's root, which always exists
and is never stored. A task's ``folder_path`` (tasks table) names a folder in the tree of its
own category (``task_types.node_category``), so renaming or deleting a folder looks at the tasks
of that category only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, literal, select, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.services.common import Page, new_uuid
from wedata.services.errors import Duplicate, InvalidValue, NotFound, OperationFailed
from wedata.services.folders import (
    MAX_NAME_LENGTH,
    MAX_PATH_LENGTH,
    ROOT,
    check_name,
    check_path,
    child_path,
    join_path,
    path_too_long,
    under,
)
from wedata.services.tasks.types import FOLDER_TYPES, node_category, task_type_ids
from wedata.storage import tables as T
from wedata.storage.db import Database

__all__ = [
    "FOLDER_TYPES",
    "MAX_NAME_LENGTH",
    "ROOT",
    "TaskFolderRow",
    "TaskFolderService",
    "folder_exists",
    "node_category",
]



@dataclass(frozen=True, slots=True)
class TaskFolderRow:
    """A task_folders row; actions/tasks/wire.py makes it a TaskFolderDetail or TaskFolder."""

    id: str
    project_id: str
    workflow_id: str
    folder_type: str
    path: str
    parent_path: str
    name: str
    creator_uin: str
    created_at: datetime


def validate_folder_type(folder_type: str) -> str:
    if folder_type not in FOLDER_TYPES:
        raise InvalidValue(f"TaskFolderType must be one of {', '.join(FOLDER_TYPES)}, got {folder_type!r}.")
    return folder_type


def folder_exists(conn: Connection, workflow_id: str, category: str, path: str | None) -> bool:
    """Whether ``path`` names a folder of the workflow's ``category`` tree (the root always does).

    For the tasks service: a task's TaskFolderPath must name an existing folder of its category.
    ``path`` is normalised like a request path; an invalid one raises InvalidValue.
    """
    norm = check_path(path, "TaskFolderPath", lenient=True)
    if norm == ROOT:
        return True
    f = T.task_folders
    stmt = select(f.c.id).where(f.c.workflow_id == workflow_id, f.c.folder_type == category, f.c.path == norm)
    return conn.execute(stmt).first() is not None


def _rebase(column, old: str, new: str):  # type: ignore[no-untyped-def]
    """SQL for ``column`` with its ``old`` prefix replaced by ``new`` (portable: || and substr)."""
    return literal(new) + func.substr(column, len(old) + 1)


class TaskFolderService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    # ------------------------------------------------------------------------------------------
    # Lookups

    @staticmethod
    def _require_workflow(conn: Connection, project_id: str, workflow_id: str) -> None:
        w = T.workflows
        row = conn.execute(select(w.c.id).where(w.c.id == workflow_id, w.c.project_id == project_id)).first()
        if row is None:
            raise NotFound(f"The workflow {workflow_id} does not exist in the project {project_id}.")

    @staticmethod
    def _load(conn: Connection, project_id: str, workflow_id: str, folder_id: str) -> TaskFolderRow:
        f = T.task_folders
        row = conn.execute(
            select(f).where(f.c.id == folder_id, f.c.workflow_id == workflow_id, f.c.project_id == project_id)
        ).first()
        if row is None:
            raise NotFound(f"The task folder {folder_id} does not exist in the workflow {workflow_id}.")
        return TaskFolderRow(**row._mapping)

    @staticmethod
    def _sibling_exists(conn: Connection, workflow_id: str, folder_type: str, path: str) -> bool:
        f = T.task_folders
        stmt = select(f.c.id).where(f.c.workflow_id == workflow_id, f.c.folder_type == folder_type, f.c.path == path)
        return conn.execute(stmt).first() is not None

    # ------------------------------------------------------------------------------------------
    # Actions

    def create(
        self, project_id: str, workflow_id: str, folder_type: str, parent_path: str, name: str, creator_uin: str
    ) -> str:
        folder_type = validate_folder_type(folder_type)
        parent = check_path(parent_path, "ParentTaskFolderPath", lenient=True)
        name = check_name(name, "TaskFolderName")
        path = child_path(parent, name)
        folder_id = new_uuid()
        try:
            with self.db.write() as conn:
                self._require_workflow(conn, project_id, workflow_id)
                if parent != ROOT and not self._sibling_exists(conn, workflow_id, folder_type, parent):
                    raise NotFound(f"The parent folder {parent} does not exist in the {folder_type} folders.")
                if self._sibling_exists(conn, workflow_id, folder_type, path):
                    raise Duplicate(f"A task folder named {name!r} already exists in {parent}.")
                conn.execute(
                    T.task_folders.insert().values(
                        id=folder_id,
                        project_id=project_id,
                        workflow_id=workflow_id,
                        folder_type=folder_type,
                        path=path,
                        parent_path=parent,
                        name=name,
                        creator_uin=creator_uin,
                        created_at=self.clock.now(),
                    )
                )
        except IntegrityError:
            # A concurrent create of the same path won the unique constraint.
            raise Duplicate(f"A task folder named {name!r} already exists in {parent}.") from None
        return folder_id

    def get(self, project_id: str, workflow_id: str, folder_id: str) -> TaskFolderRow:
        with self.db.read() as conn:
            self._require_workflow(conn, project_id, workflow_id)
            return self._load(conn, project_id, workflow_id, folder_id)

    def list_children(
        self, project_id: str, workflow_id: str, folder_type: str, parent_path: str, page: Page
    ) -> tuple[list[TaskFolderRow], int]:
        """Direct children of ``parent_path``, by name; one query for the page plus a count."""
        folder_type = validate_folder_type(folder_type)
        parent = check_path(parent_path, "ParentTaskFolderPath", lenient=True)
        f = T.task_folders
        where = and_(f.c.workflow_id == workflow_id, f.c.folder_type == folder_type, f.c.parent_path == parent)
        with self.db.read() as conn:
            self._require_workflow(conn, project_id, workflow_id)
            if parent != ROOT and not self._sibling_exists(conn, workflow_id, folder_type, parent):
                raise NotFound(f"The folder {parent} does not exist in the {folder_type} folders.")
            total = conn.execute(select(func.count()).select_from(f).where(where)).scalar_one()
            rows = conn.execute(
                select(f).where(where).order_by(f.c.name, f.c.id).limit(page.size).offset(page.offset)
            ).all()
        return [TaskFolderRow(**r._mapping) for r in rows], int(total)

    def rename(self, project_id: str, workflow_id: str, folder_id: str, new_name: str) -> None:
        """Rename a folder; the paths of its sub-folders and of the tasks filed below follow."""
        new_name = check_name(new_name, "TaskFolderName")
        f, t = T.task_folders, T.tasks
        try:
            with self.db.write() as conn:
                self._require_workflow(conn, project_id, workflow_id)
                row = self._load(conn, project_id, workflow_id, folder_id)
                if new_name == row.name:
                    return
                old, new = row.path, join_path(row.parent_path, new_name)
                if len(new) - len(old) + self._deepest(conn, row) > MAX_PATH_LENGTH:
                    raise path_too_long("A sub-folder path")
                if self._sibling_exists(conn, workflow_id, row.folder_type, new):
                    raise Duplicate(f"A task folder named {new_name!r} already exists in {row.parent_path}.")
                conn.execute(update(f).where(f.c.id == folder_id).values(name=new_name, path=new))
                in_tree = and_(f.c.workflow_id == workflow_id, f.c.folder_type == row.folder_type)
                below = f.c.path.startswith(old + "/", autoescape=True)
                # Both columns are rewritten from their pre-update values (SQL SET semantics).
                conn.execute(
                    update(f)
                    .where(in_tree, below)
                    .values(parent_path=_rebase(f.c.parent_path, old, new), path=_rebase(f.c.path, old, new))
                )
                type_ids = task_type_ids(row.folder_type)
                if type_ids:
                    conn.execute(
                        update(t)
                        .where(
                            t.c.workflow_id == workflow_id,
                            t.c.task_type_id.in_(sorted(type_ids)),
                            under(t.c.folder_path, old),
                        )
                        .values(folder_path=_rebase(t.c.folder_path, old, new))
                    )
        except IntegrityError:
            raise Duplicate(f"A task folder named {new_name!r} already exists.") from None

    @staticmethod
    def _deepest(conn: Connection, row: TaskFolderRow) -> int:
        """The longest path in the folder's subtree (folders and the tasks filed there)."""
        f, t = T.task_folders, T.tasks
        longest = conn.execute(
            select(func.max(func.length(f.c.path))).where(
                f.c.workflow_id == row.workflow_id, f.c.folder_type == row.folder_type, under(f.c.path, row.path)
            )
        ).scalar()
        type_ids = task_type_ids(row.folder_type)
        if type_ids:
            tasks_longest = conn.execute(
                select(func.max(func.length(t.c.folder_path))).where(
                    t.c.workflow_id == row.workflow_id,
                    t.c.task_type_id.in_(sorted(type_ids)),
                    under(t.c.folder_path, row.path),
                )
            ).scalar()
            longest = max(longest or 0, tasks_longest or 0)
        return int(longest or len(row.path))

    def delete(self, project_id: str, workflow_id: str, folder_id: str) -> None:
        """Delete an empty folder; one that still holds sub-folders or tasks is refused."""
        f, t = T.task_folders, T.tasks
        with self.db.write() as conn:
            self._require_workflow(conn, project_id, workflow_id)
            row = self._load(conn, project_id, workflow_id, folder_id)
            child = conn.execute(
                select(f.c.id)
                .where(f.c.workflow_id == workflow_id, f.c.folder_type == row.folder_type, f.c.parent_path == row.path)
                .limit(1)
            ).first()
            if child is not None:
                raise OperationFailed(f"The task folder {row.path} is not empty: it has sub-folders.")
            type_ids = task_type_ids(row.folder_type)
            if type_ids:
                task = conn.execute(
                    select(t.c.id)
                    .where(
                        t.c.workflow_id == workflow_id,
                        t.c.task_type_id.in_(sorted(type_ids)),
                        under(t.c.folder_path, row.path),
                    )
                    .limit(1)
                ).first()
                if task is not None:
                    raise OperationFailed(f"The task folder {row.path} is not empty: it holds tasks.")
            conn.execute(f.delete().where(f.c.id == folder_id))
