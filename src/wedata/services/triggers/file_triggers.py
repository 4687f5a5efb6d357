"""FILE_ARRIVAL triggers: files seen, batches, and the run each batch starts.

Every look (services/triggers/watch.py: ``scan``) records the file versions not seen before in
``trigger_files`` (path + size + mtime/ETag, unique per trigger; two processes recording the
same file insert one row). Versions not yet consumed form the pending **batch**. It fires when

- ``TriggerWaitTime`` has passed since its first file was seen (files arriving meanwhile join
  the batch; a stream of files cannot postpone the run forever), and
- ``TriggerMinimumInterval`` has passed since the trigger's previous batch fired.

One run per batch: its parameters name the files (``trigger_files``: the paths or URLs, comma
separated, sorted; ``trigger_file_count``; ``trigger_path``: the watched FileArrivalPath), and
the batch's rows are marked with the fire in the run's own transaction — only if none was
taken meanwhile by another process, else the whole run rolls back. So a file version is named
by exactly one run, across restarts and processes. A file rewritten later (new size or mtime)
is a new arrival; a file that disappeared before its batch fired is consumed without being
named (a batch left with no file starts no run).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from wedata.services.triggers.origin import RunOrigin
from wedata.services.triggers.trigger_config import FileSpec
from wedata.services.triggers.watch import Found
from wedata.storage.db import Database, insert_ignore
from wedata.storage.trigger_firing_tables import trigger_cursors, trigger_files, trigger_fires

log = logging.getLogger("wedata.triggers.firing")
C, F, TF = trigger_cursors, trigger_fires, trigger_files


class BatchTaken(Exception):
    """Another process consumed some of the batch's files first: this run is rolled back."""


@dataclass(frozen=True, slots=True)
class Pending:
    id: int
    path: str
    seen_at: datetime


def file_key(f: Found) -> str:
    return hashlib.sha256(f"{f.path}\0{f.size}\0{f.signature}".encode()).hexdigest()


def record_seen(db: Database, workflow_id: str, spec: FileSpec, found: list[Found], now: datetime) -> list[Pending]:
    """Record the new file versions; the batch still pending (oldest first)."""
    keys = {file_key(f): f for f in found}
    where = (TF.c.workflow_id == workflow_id, TF.c.trigger_id == spec.trigger_id)
    with db.read() as conn:
        known = set(conn.execute(select(TF.c.file_key).where(*where)).scalars())
    new = [{"workflow_id": workflow_id, "trigger_id": spec.trigger_id, "file_key": k, "path": f.path,
            "size": f.size, "signature": f.signature[:128], "seen_at": now}
           for k, f in keys.items() if k not in known]
    if new:
        with db.write() as conn:
            conn.execute(insert_ignore(conn, TF), new)
        log.info("trigger %s of %s: %d new file(s) under %s", spec.trigger_id, workflow_id, len(new), spec.path)
    with db.read() as conn:
        rows = conn.execute(select(TF.c.id, TF.c.path, TF.c.seen_at).where(*where, TF.c.fire_id.is_(None))
                            .order_by(TF.c.id)).all()
    return [Pending(r.id, r.path, r.seen_at) for r in rows]


def batch_due_at(spec: FileSpec, pending: list[Pending], last_fire_at: datetime | None) -> datetime | None:
    if not pending:
        return None
    due = min(p.seen_at for p in pending) + spec.wait
    if last_fire_at is not None:
        due = max(due, last_fire_at + spec.min_interval)
    return due


def consume(workflow_id: str, spec: FileSpec, pending: list[Pending], present: set[str], now: datetime,
            note: str | None = None) -> tuple[Callable[[Connection, str | None], None], list[str]]:
    """What a batch names (its files still there), and the function that marks it fired inside
    the run's transaction."""
    ids = [p.id for p in pending]
    names = sorted({p.path for p in pending if p.path in present})

    def record(conn: Connection, execution_id: str | None) -> None:
        fid = conn.execute(insert(F).values(
            workflow_id=workflow_id, trigger_id=spec.trigger_id, fire_key=f"files:{min(ids)}", kind="file",
            fire_at=now, execution_id=execution_id, file_count=len(names), note=note, created_at=now,
        ).returning(F.c.id)).scalar_one()
        taken = conn.execute(update(TF).where(TF.c.id.in_(ids), TF.c.fire_id.is_(None)).values(fire_id=fid)).rowcount
        if taken != len(ids):
            raise BatchTaken(f"{len(ids) - taken} file(s) of the batch were taken by another process")
        conn.execute(update(C).where(C.c.workflow_id == workflow_id, C.c.trigger_id == spec.trigger_id)
                     .values(last_fire_at=now))

    return record, names


def origin_for(spec: FileSpec, names: list[str], record: Callable[[Connection, str | None], None]) -> RunOrigin:
    params = {"trigger_files": ",".join(names), "trigger_file_count": str(len(names)), "trigger_path": spec.path}
    return RunOrigin("Event", params=params, record=record)
