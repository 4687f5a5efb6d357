"""Resource files: CreateResourceFile (register an object that exists), GetResourceFile,
UpdateResourceFile (rename, point at another object, or re-read it), DeleteResourceFile (refused
while a submitted task names it), ListResourceFiles; and ``upload``, the bytes behind the signed
upload route (actions/resources/upload.py).

Reading an object (its size, its sha256) happens outside the database transaction: a slow
store never holds the database's write lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.executors.tasktypes import resource_refs
from wedata.principal import Caller
from wedata.services.common import Paged, like_pattern, new_uuid, page, parse_local
from wedata.services.errors import Duplicate, InUse, InvalidValue, NotFound
from wedata.services.folders import check_name, check_path
from wedata.services.resources.folders import folder_exists
from wedata.services.resources.paths import names, object_key, remote_path
from wedata.spec import models as M
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.objects import LOCAL, ObjectStore, ObjectStoreError, Stores
from wedata.storage.resource_tables import resource_files, resource_uploads

R = resource_files
U = resource_uploads
UPLOAD_MODE, COS_MODE = "UPLOAD_MODE", "COS_MODE"


@dataclass(frozen=True, slots=True)
class ResourceFile:
    row: Row[Any]
    creator_name: str
    update_user_name: str


@dataclass(frozen=True, slots=True)
class Uploaded:
    remote_path: str
    bucket: str
    region: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class _Object:
    store: ObjectStore
    remote_path: str
    size: int
    sha256: str
    mode: str


class ResourceFileService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, stores: Stores | None = None) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.stores = stores or Stores(settings)

    # ------------------------------------------------------------------------------------------
    # Objects

    def _store_for(self, bucket: str, region: str) -> ObjectStore:
        store = self.stores.active
        if bucket != store.bucket or (region or "") != (store.region or ""):
            raise InvalidValue(f"BucketName/CosRegion {bucket!r}/{region!r} is not this server's object store: use "
                               f"{store.bucket!r}/{store.region!r}")
        return store

    def _read_object(self, store: ObjectStore, project_id: str, path: str, field: str) -> _Object:
        key = object_key(project_id, path, field)
        try:
            size = store.size(key)
        except ObjectStoreError as exc:
            raise InvalidValue(f"{field}: {exc}") from None
        if size is None:
            raise NotFound(f"There is no object at {path} in the bucket {store.bucket}: upload it first "
                           "(`wedata resources upload`).")
        if size > self.stores.max_bytes:
            raise InvalidValue(f"The object at {path} is {size} bytes, over the limit of {self.stores.max_bytes} "
                               "bytes (WEDATA_RESOURCE_MAX_BYTES).")
        with self.db.read() as conn:
            up = conn.execute(select(U.c.size, U.c.sha256).where(
                U.c.store == store.kind, U.c.bucket == store.bucket, U.c.remote_path == path)).first()
        if up is not None and up.size == size:
            return _Object(store, path, size, up.sha256, UPLOAD_MODE)
        try:
            sha, read = store.digest(key)
        except ObjectStoreError:
            raise NotFound(f"There is no object at {path} in the bucket {store.bucket}.") from None
        return _Object(store, path, read, sha, COS_MODE)

    def upload(self, caller: Caller, project_id: str, folder: str, name: str, source: Path, sha256: str,
               size: int) -> Uploaded:
        """Store the bytes of ``source`` (already hashed by the route) at the object path of
        ``folder``/``name``, and refresh every resource file registered at that path."""
        folder = check_path(folder, "FolderPath", lenient=True)
        name = check_name(name, "Name")
        if size > self.stores.max_bytes:
            raise InvalidValue(f"The file is {size} bytes, over the limit of {self.stores.max_bytes} bytes "
                               "(WEDATA_RESOURCE_MAX_BYTES).")
        with self.db.read() as conn:
            if not folder_exists(conn, project_id, folder):
                raise NotFound(f"The resource folder {folder} does not exist in the project {project_id}: create it "
                               "first (CreateResourceFolder).")
        store = self.stores.active
        path = remote_path(project_id, folder, name)
        try:
            store.put_file(source, path[1:])
        except ObjectStoreError as exc:
            raise InvalidValue(str(exc)) from None
        self.stores.cache.add(source, sha256)
        now = self.clock.now()
        with self.db.write() as conn:
            conn.execute(U.delete().where(U.c.store == store.kind, U.c.bucket == store.bucket, U.c.remote_path == path))
            conn.execute(insert(U).values(project_id=project_id, store=store.kind, bucket=store.bucket,
                                          remote_path=path, size=size, sha256=sha256, uploader_uin=caller.uin,
                                          uploaded_at=now))
            conn.execute(update(R).where(R.c.store == store.kind, R.c.bucket == store.bucket,
                                         R.c.remote_path == path).values(
                size=size, sha256=sha256, source_mode=UPLOAD_MODE, update_user_uin=caller.uin, updated_at=now))
        return Uploaded(path, store.bucket, store.region, size, sha256)

    # ------------------------------------------------------------------------------------------
    # Actions

    def create(self, caller: Caller, req: M.CreateResourceFileRequest) -> str:
        name = check_name(req.resource_name, "ResourceName")
        folder = check_path(req.parent_folder_path, "ParentFolderPath", lenient=True)
        store = self._store_for(req.bucket_name, req.cos_region)
        with self.db.read() as conn:
            if not folder_exists(conn, req.project_id, folder):
                raise NotFound(f"The resource folder {folder} does not exist in the project {req.project_id}.")
        obj = self._read_object(store, req.project_id, req.resource_file, "ResourceFile")
        file_id, now = new_uuid(), self.clock.now()
        try:
            with self.db.write() as conn:
                if not folder_exists(conn, req.project_id, folder):
                    raise NotFound(f"The resource folder {folder} does not exist in the project {req.project_id}.")
                conn.execute(insert(R).values(
                    id=file_id, project_id=req.project_id, folder_path=folder, name=name, store=store.kind,
                    bucket=store.bucket, region=store.region, remote_path=obj.remote_path, size=obj.size,
                    sha256=obj.sha256, source_mode=obj.mode, bundle_id=req.bundle_id, bundle_info=req.bundle_info,
                    creator_uin=caller.uin, update_user_uin=caller.uin, created_at=now, updated_at=now,
                ))
        except IntegrityError:
            raise Duplicate(f"A resource file named {name} already exists in the folder {folder}.") from None
        return file_id

    def _load(self, conn: Connection, project_id: str, resource_id: str, *, lock: bool = False) -> Row[Any]:
        q = select(R).where(R.c.project_id == project_id, R.c.id == resource_id)
        row = conn.execute(q.with_for_update() if lock else q).first()
        if row is None:
            raise NotFound(f"The resource file {resource_id} does not exist in the project {project_id}.")
        return row

    def get(self, project_id: str, resource_id: str) -> ResourceFile:
        with self.db.read() as conn:
            row = self._load(conn, project_id, resource_id)
            who = _names(conn, project_id, {row.creator_uin, row.update_user_uin})
        return ResourceFile(row, who.get(row.creator_uin, row.creator_uin), who.get(row.update_user_uin,
                                                                                    row.update_user_uin))

    def update(self, caller: Caller, req: M.UpdateResourceFileRequest) -> None:
        name = check_name(req.resource_name, "ResourceName") if req.resource_name is not None else None
        with self.db.read() as conn:
            row = self._load(conn, req.project_id, req.resource_id)
        obj: _Object | None = None
        if req.resource_file is not None:
            if row.store != self.stores.active.kind or row.bucket != self.stores.active.bucket:
                raise InvalidValue(f"The resource file lives in the {row.store} bucket {row.bucket!r}, which is not "
                                   "this server's object store: it cannot be pointed at another object.")
            obj = self._read_object(self.stores.active, req.project_id, req.resource_file, "ResourceFile")
        values: dict[str, Any] = {"update_user_uin": caller.uin, "updated_at": self.clock.now()}
        if name is not None:
            values["name"] = name
        if obj is not None:
            values.update(remote_path=obj.remote_path, size=obj.size, sha256=obj.sha256, source_mode=obj.mode)
        if req.bundle_id is not None:
            values["bundle_id"] = req.bundle_id
        if req.bundle_info is not None:
            values["bundle_info"] = req.bundle_info
        try:
            with self.db.write() as conn:
                self._load(conn, req.project_id, req.resource_id, lock=True)
                conn.execute(update(R).where(R.c.id == req.resource_id).values(**values))
        except IntegrityError:
            raise Duplicate(f"A resource file named {name} already exists in the folder {row.folder_path}.") from None

    def delete(self, project_id: str, resource_id: str) -> None:
        """Only the registration goes: the object stays in the store (another file, or a task's
        past runs, may still name it)."""
        with self.db.write() as conn:
            row = self._load(conn, project_id, resource_id, lock=True)
            users = referencing_tasks(conn, project_id, row)
            if users:
                shown = ", ".join(users[:5]) + (" ..." if len(users) > 5 else "")
                raise InUse(f"The resource file {row.name} is used by the submitted task(s) {shown}: remove it from "
                            "them (ext key resourceFiles / ftp.file.name) and submit them first.")
            conn.execute(R.delete().where(R.c.id == row.id))

    def list(self, req: M.ListResourceFilesRequest) -> Paged[ResourceFile]:
        pg = page(req.page_number, req.page_size, min_size=10)
        where = [R.c.project_id == req.project_id]
        if req.resource_name:
            where.append(func.lower(R.c.name).like(like_pattern(req.resource_name), escape="\\"))
        if req.parent_folder_path:
            where.append(R.c.folder_path == check_path(req.parent_folder_path, "ParentFolderPath", lenient=True))
        if req.create_user_uin:
            where.append(R.c.creator_uin == req.create_user_uin)
        for text, column, op in ((req.modify_time_start, R.c.updated_at, ">="), (req.modify_time_end, R.c.updated_at, "<="),
                                 (req.create_time_start, R.c.created_at, ">="), (req.create_time_end, R.c.created_at, "<=")):
            if text:
                field = _FIELDS[(column.name, op)]
                when = parse_local(text, None, field)
                where.append(column >= when if op == ">=" else column <= when)
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(R).where(*where)).scalar_one()
            rows = conn.execute(select(R).where(*where).order_by(R.c.folder_path, R.c.name)
                                .offset(pg.offset).limit(pg.size)).all()
        return Paged([ResourceFile(r, r.creator_uin, r.update_user_uin) for r in rows], pg, total)


_FIELDS = {("updated_at", ">="): "ModifyTimeStart", ("updated_at", "<="): "ModifyTimeEnd",
           ("created_at", ">="): "CreateTimeStart", ("created_at", "<="): "CreateTimeEnd"}


def _names(conn: Connection, project_id: str, uins: set[str]) -> dict[str, str]:
    m = T.project_members
    rows = conn.execute(select(m.c.user_uin, m.c.user_name).where(m.c.project_id == project_id,
                                                                   m.c.user_uin.in_(uins)))
    return {u: n for u, n in rows if n}


def referencing_tasks(conn: Connection, project_id: str, row: Row[Any]) -> list[str]:
    """The submitted tasks of the project whose running version names the resource file."""
    t, v = T.tasks, T.task_versions
    own = names(row)
    found: list[str] = []
    q = (select(t.c.id, t.c.task_type_id, v.c.snapshot).join(v, v.c.version_id == t.c.prod_version_id)
         .where(t.c.project_id == project_id, t.c.prod_version_id.is_not(None)))
    for task_id, type_id, snapshot in conn.execute(q):
        conf = (snapshot or {}).get("TaskConfiguration") or {}
        ext = {str(p.get("ParamKey")): str(p.get("ParamValue") or "") for p in conf.get("TaskExtConfigurationList")
               or [] if isinstance(p, dict)}
        if own.intersection(resource_refs(int(type_id), ext)):
            found.append(task_id)
    return found


__all__ = ["LOCAL", "ResourceFile", "ResourceFileService", "Uploaded", "referencing_tasks"]
