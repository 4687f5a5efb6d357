"""Resource folders: CreateResourceFolder, GetResourceFolder, UpdateResourceFolder (rename; what
is below follows), DeleteResourceFolder (only when empty), ListResourceFolders (one level).

Paths follow the one folder-path rule (``services/folders.py``); the root ``/`` always exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.services.common import Paged, new_uuid, page
from wedata.services.errors import Duplicate, NotFound, OperationFailed
from wedata.services.folders import (
    MAX_PATH_LENGTH,
    ROOT,
    check_name,
    check_path,
    child_path,
    join_path,
    path_too_long,
)
from wedata.spec import models as M
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.resource_tables import resource_files, resource_folders

F = resource_folders
R = resource_files


@dataclass(frozen=True, slots=True)
class Folder:
    id: str
    project_id: str
    path: str
    parent_path: str
    name: str
    creator_uin: str
    creator_name: str
    created_at: datetime


def folder_exists(conn: Connection, project_id: str, path: str) -> bool:
    if path == ROOT:
        return True
    return conn.execute(select(F.c.id).where(F.c.project_id == project_id, F.c.path == path)).first() is not None


def _rebase(column: object, old: str, new: str) -> object:
    return literal(new) + func.substr(column, len(old) + 1)


class ResourceFolderService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def create(self, caller: Caller, req: M.CreateResourceFolderRequest) -> str:
        name = check_name(req.folder_name, "FolderName")
        parent = check_path(req.parent_folder_path, "ParentFolderPath", lenient=True)
        path = child_path(parent, name)
        folder_id, now = new_uuid(), self.clock.now()
        try:
            with self.db.write() as conn:
                if not folder_exists(conn, req.project_id, parent):
                    raise NotFound(f"The resource folder {parent} does not exist in the project {req.project_id}.")
                if folder_exists(conn, req.project_id, path):
                    raise Duplicate(f"The resource folder {path} already exists.")
                conn.execute(insert(F).values(id=folder_id, project_id=req.project_id, path=path, parent_path=parent,
                                              name=name, creator_uin=caller.uin, created_at=now, updated_at=now))
        except IntegrityError:
            raise Duplicate(f"The resource folder {path} already exists.") from None
        return folder_id

    def _query(self, project_id: str):  # type: ignore[no-untyped-def]
        m = T.project_members
        return (
            select(F, m.c.user_name)
            .outerjoin(m, (m.c.project_id == F.c.project_id) & (m.c.user_uin == F.c.creator_uin))
            .where(F.c.project_id == project_id)
        )

    @staticmethod
    def _folder(row: object) -> Folder:
        r = row  # a Row of F + user_name
        return Folder(r.id, r.project_id, r.path, r.parent_path, r.name, r.creator_uin,  # type: ignore[attr-defined]
                      r.user_name or r.creator_uin, r.created_at)  # type: ignore[attr-defined]

    def get(self, project_id: str, folder_id: str) -> Folder:
        with self.db.read() as conn:
            row = conn.execute(self._query(project_id).where(F.c.id == folder_id)).first()
        if row is None:
            raise NotFound(f"The resource folder {folder_id} does not exist in the project {project_id}.")
        return self._folder(row)

    def update(self, caller: Caller, req: M.UpdateResourceFolderRequest) -> None:
        name = check_name(req.folder_name, "FolderName")
        try:
            with self.db.write() as conn:
                row = conn.execute(select(F).where(F.c.project_id == req.project_id, F.c.id == req.folder_id)
                                   .with_for_update()).first()
                if row is None:
                    raise NotFound(f"The resource folder {req.folder_id} does not exist in the project "
                                   f"{req.project_id}.")
                if name == row.name:
                    return
                old, new = row.path, join_path(row.parent_path, name)
                if folder_exists(conn, req.project_id, new):
                    raise Duplicate(f"The resource folder {new} already exists.")
                below = F.c.path.startswith(old + "/", autoescape=True)
                deepest = conn.execute(select(func.max(func.length(F.c.path)))
                                       .where(F.c.project_id == req.project_id, below)).scalar()
                if len(new) - len(old) + max(int(deepest or 0), len(old)) > MAX_PATH_LENGTH:
                    raise path_too_long("A path below the folder")
                now = self.clock.now()
                conn.execute(update(F).where(F.c.project_id == req.project_id, below).values(
                    path=_rebase(F.c.path, old, new), parent_path=_rebase(F.c.parent_path, old, new)))
                conn.execute(update(F).where(F.c.id == row.id).values(name=name, path=new, updated_at=now))
                files_below = (R.c.folder_path == old) | R.c.folder_path.startswith(old + "/", autoescape=True)
                conn.execute(update(R).where(R.c.project_id == req.project_id, files_below).values(
                    folder_path=_rebase(R.c.folder_path, old, new)))
        except IntegrityError:
            raise Duplicate(f"A resource folder named {name} already exists there.") from None

    def delete(self, project_id: str, folder_id: str) -> None:
        with self.db.write() as conn:
            row = conn.execute(select(F).where(F.c.project_id == project_id, F.c.id == folder_id)
                               .with_for_update()).first()
            if row is None:
                raise NotFound(f"The resource folder {folder_id} does not exist in the project {project_id}.")
            sub = conn.execute(select(F.c.id).where(F.c.project_id == project_id, F.c.parent_path == row.path)
                               .limit(1)).first()
            held = conn.execute(select(R.c.id).where(R.c.project_id == project_id, R.c.folder_path == row.path)
                                .limit(1)).first()
            if sub is not None or held is not None:
                raise OperationFailed(f"The resource folder {row.path} is not empty: delete its files and folders "
                                      "first.")
            conn.execute(F.delete().where(F.c.id == row.id))

    def list(self, req: M.ListResourceFoldersRequest) -> Paged[Folder]:
        parent = check_path(req.parent_folder_path, "ParentFolderPath", lenient=True)
        pg = page(req.page_number, req.page_size, min_size=10)
        with self.db.read() as conn:
            if not folder_exists(conn, req.project_id, parent):
                raise NotFound(f"The resource folder {parent} does not exist in the project {req.project_id}.")
            where = (F.c.project_id == req.project_id) & (F.c.parent_path == parent)
            total = conn.execute(select(func.count()).select_from(F).where(where)).scalar_one()
            rows = conn.execute(self._query(req.project_id).where(F.c.parent_path == parent)
                                .order_by(F.c.name).offset(pg.offset).limit(pg.size)).all()
        return Paged([self._folder(r) for r in rows], pg, total)
