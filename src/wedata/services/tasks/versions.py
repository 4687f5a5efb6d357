"""Task versions (spec §2.5, §4): SAVE snapshots of the dev definition and SUBMIT publications.

- CreateTask records SAVE ``V1``; every UpdateTask / UpdateTaskPartially (and every change of a
  task's upstream edges made from its upstream's side) records the next SAVE version.
- SubmitTask records a SUBMIT version carrying the number of the SAVE version it publishes, so
  ``TaskLatestSubmitVersionNo <= TaskLatestVersionNo`` and ``Submit`` means they are equal.
- ``VersionId`` is ``<TaskId>_<yyyyMMddHHmmssSSS>`` (services.common.new_millis_id).

The scheduler contract: ``tasks.prod_version_id`` names the SUBMIT version in production, and
its ``snapshot`` is the full ``Task`` dict exactly as GetOpsTask returns it (all three sections,
both names of every deprecated twin, the dependency lists as they were at submission) except
that ``TaskConfiguration.CodeContent`` is plain text. The dependencies the scheduler follows are
the ``side = "prod"`` edges written at the same time (task_edges.publish).
GetTaskVersion shows a snapshot with Base64 code and, as WeData does, with the version-number
fields of its TaskBaseAttribute nulled.

Reads return domain records (``VersionItem``, ``VersionDetail``); actions/tasks/wire.py turns
them into TaskVersion / TaskVersionDetail. The snapshot inside a ``VersionDetail`` is the
wire-shaped task record (services/tasks/snapshot.py explains that exception).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, func, insert, not_, select

from wedata.services.common import Page, new_millis_id
from wedata.services.errors import InvalidValue, NotFound
from wedata.services.tasks.edges import Config, load_edges
from wedata.services.tasks.snapshot import encode_snapshot, render_task, task_select
from wedata.storage import tables as T

SAVE, SUBMIT = "SAVE", "SUBMIT"

Edges = tuple[dict[str, Config], dict[str, Config]]  # (upstream, downstream) as load_edges returns them
NO_EDGES: Edges = ({}, {})


# Built once: every save and submit snapshots the task.
_TASK = task_select().where(T.tasks.c.id == bindparam("task_id"))


@dataclass(frozen=True, slots=True)
class VersionItem:
    """One version in a list (ListTaskVersions): its row, and whether it is in production."""

    version_id: str
    version_no: int
    remark: str
    create_user_uin: str
    created_at: datetime
    approve_status: str | None
    approve_user_uin: str | None
    status: str | None  # a SUBMIT version's task status (the task's own when in use); None for SAVE
    used: bool


@dataclass(frozen=True, slots=True)
class VersionDetail:
    """One version with its snapshot (GetTaskVersion). ``task`` is the wire-shaped task record
    with Base64 code and the version-number fields of its TaskBaseAttribute nulled."""

    version_id: str
    version_no: int
    remark: str
    create_user_uin: str
    created_at: datetime
    approve_status: str | None
    approve_user_uin: str | None
    approved_at: datetime | None
    task: dict[str, Any]


_INSERT_VERSION = insert(T.task_versions)  # built once; the row comes as execution parameters


def record_version(
    conn: Connection, task_id: str, kind: str, *, user_uin: str, now: datetime, remark: str = "",
    edges: Edges | None = None,
) -> str:
    """Snapshot the task's current dev state as a version of ``kind``; return its VersionId.
    ``edges``: the task's dev edges exactly as ``load_edges`` would return them now, when the
    caller has them (read in this transaction and not changed since); None reads them."""
    row = conn.execute(_TASK, {"task_id": task_id}).one()
    up, down = edges if edges is not None else load_edges(conn, task_id)
    snapshot = render_task(row, up, down, encode=False)
    version_id = f"{task_id}_{new_millis_id(now)}"
    conn.execute(_INSERT_VERSION, {
        "version_id": version_id, "task_id": task_id, "kind": kind, "version_no": row.latest_version_no,
        "remark": remark, "create_user_uin": user_uin, "created_at": now, "snapshot": snapshot,
        "status": row.status if kind == SUBMIT else None,
    })
    return version_id


def _used(task: Row[Any]) -> Any:
    """SQL: the version is the one in production (a SAVE version: the one it was taken from)."""
    v = T.task_versions
    prod_id = task.prod_version_id
    if prod_id is None:
        return None
    return ((v.c.kind == SUBMIT) & (v.c.version_id == prod_id)) | (
        (v.c.kind == SAVE) & (v.c.version_no == task.latest_submit_version_no)
    )


def _item(row: Any, task: Row[Any]) -> VersionItem:
    if row.kind == SUBMIT:
        used = row.version_id == task.prod_version_id
        status = task.status if used else row.status
    else:
        used = task.prod_version_id is not None and row.version_no == task.latest_submit_version_no
        status = None
    return VersionItem(
        version_id=row.version_id,
        version_no=row.version_no,
        remark=row.remark,
        create_user_uin=row.create_user_uin,
        created_at=row.created_at,
        approve_status=row.approve_status,
        approve_user_uin=row.approve_user_uin,
        status=status,
        used=used,
    )


def list_versions(
    conn: Connection, task: Row[Any], kind: str | None, used: bool | None, pg: Page
) -> tuple[list[VersionItem], int]:
    """One page of the task's versions of ``kind`` (newest first) and their total count."""
    kind = (kind or SAVE).strip().upper()
    if kind not in (SAVE, SUBMIT):
        raise InvalidValue(f"TaskVersionType must be SAVE or SUBMIT, got {kind!r}")
    v = T.task_versions
    where = [v.c.task_id == task.id, v.c.kind == kind]
    used_sql = _used(task)
    if used is True:
        if used_sql is None:
            where.append(v.c.version_id.is_(None))  # nothing is in production: no row matches
        else:
            where.append(used_sql)
    elif used is False and used_sql is not None:
        where.append(not_(used_sql))
    cond = and_(*where)
    total = conn.execute(select(func.count()).select_from(v).where(cond)).scalar_one()
    rows = conn.execute(
        select(v.c.version_id, v.c.kind, v.c.version_no, v.c.remark, v.c.create_user_uin, v.c.created_at,
               v.c.status, v.c.approve_status, v.c.approve_user_uin)
        .where(cond)
        .order_by(v.c.created_at.desc(), v.c.version_id.desc())
        .limit(pg.size)
        .offset(pg.offset)
    ).all()
    return [_item(r, task) for r in rows], int(total)


def get_version(conn: Connection, task: Row[Any], version_id: str | None) -> VersionDetail:
    """The named version, or the latest SUBMIT version when none is named."""
    v = T.task_versions
    stmt = select(v).where(v.c.task_id == task.id)
    if version_id:
        row = conn.execute(stmt.where(v.c.version_id == version_id)).first()
        if row is None:
            raise NotFound(f"The version {version_id} of the task {task.id} does not exist.")
    else:
        row = conn.execute(
            stmt.where(v.c.kind == SUBMIT).order_by(v.c.created_at.desc(), v.c.version_id.desc()).limit(1)
        ).first()
        if row is None:
            raise NotFound(f"The task {task.id} has no submitted version.")
    snapshot = encode_snapshot(row.snapshot)
    base = snapshot.get("TaskBaseAttribute") or {}
    base["TaskLatestVersionNo"] = None
    base["TaskLatestSubmitVersionNo"] = None
    return VersionDetail(
        version_id=row.version_id,
        version_no=row.version_no,
        remark=row.remark,
        create_user_uin=row.create_user_uin,
        created_at=row.created_at,
        approve_status=row.approve_status,
        approve_user_uin=row.approve_user_uin,
        approved_at=row.approved_at,
        task=snapshot,
    )
