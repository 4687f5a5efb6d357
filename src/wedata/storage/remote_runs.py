"""The database side of remote runs (tables in worker_tables.py; the design in docs/workers.md).

:class:`RemoteRunStore` is what the Celery executor (engine side, executors/celery.py) and the
worker (executors/worker.py) are given: they live in ``executors/``, which does not import
``storage/``, and declare what they need as protocols (executors/remote.py); this class
provides it. The module functions work inside a caller's transaction: the engine writes its own
lines of a remote attempt's log (header, footer) and reads a remote attempt's outputs there, and
GetTaskInstanceLog reads the chunks.

Clocks: a worker's machine may have a wrong clock. Nothing is decided on it (an engine tells a
worker alive by its heartbeat *changing*, measured on the engine's clock; ExecutionTTL is the
engine's), and what a worker stores (heartbeats, start and end times, log chunk times) and the
times of its log lines are on the *database's* clock: :meth:`RemoteRunStore.sync_clock` measures
the offset at each heartbeat (PostgreSQL's ``now()``; a SQLite database is on the worker's own
machine, offset 0).

Fencing: the worker's every write is ``WHERE execution_id = ? AND worker_id = me AND state =
'running'``; an engine ends a run only from ``running`` (lost) or claims it before any worker
(killed). Whoever changes the row first wins; the other learns it from the row count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Integer,
    Text,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError

from wedata.clock import utcnow
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_executions
from wedata.storage.worker_tables import instance_log_chunks, remote_runs, worker_nodes

E = instance_executions
R = remote_runs
# Rows of workers stopped, or silent, this long (the database's clock) go when a worker registers.
WORKER_ROW_RETENTION = timedelta(days=1)
C = instance_log_chunks
W = worker_nodes
RUNNING, ENDED, LOST, KILLED = "running", "ended", "lost", "killed"


@dataclass(frozen=True)
class WorkerRow:
    """A worker that has not said it stopped, as an engine sees it."""

    worker_id: str
    groups: frozenset[str]
    heartbeat_at: datetime


@dataclass(frozen=True)
class RunRow:
    """What an engine watching a remote attempt sees of it (None fields: no row yet)."""

    execution_id: int
    state: str | None  # None: no worker has taken it yet (queued)
    exit_code: int | None
    worker_id: str | None
    heartbeat_at: datetime | None
    worker_stopped: bool


@dataclass(frozen=True)
class Claim:
    """A run a worker has just taken: the attempt's handle (with its spec) and where its log goes on."""

    handle: dict[str, Any]
    log_seq: int
    log_bytes: int


@dataclass(frozen=True)
class RunControl:
    """What a worker polls for each of its runs."""

    execution_id: int
    state: str
    kill_requested: bool
    kill_grace: float | None


# -- log chunks (inside a caller's transaction) -------------------------------------------------------


def _size(text: str) -> int:
    return len(text.encode("utf-8", "replace"))


# One statement (one round trip) per chunk: the next seq and byte position are read by the
# INSERT itself (an aggregate without GROUP BY gives one row, 0 and 0 for an empty log). Built
# once: the engine appends a header and a footer for every remote attempt.
_APPEND_AT_END = insert(C).from_select(
    ["execution_id", "seq", "pos", "size", "text", "created_at"],
    select(bindparam("eid", type_=C.c.execution_id.type), func.coalesce(func.max(C.c.seq) + 1, 0),
           func.coalesce(func.max(C.c.pos + C.c.size), 0), bindparam("size", type_=Integer),
           bindparam("text", type_=Text), bindparam("at", type_=DateTime))
    .where(C.c.execution_id == bindparam("eid")))


def append_chunk(conn: Connection, execution_id: int, text: str, now: datetime | None = None) -> None:
    """Append ``text`` to a remote attempt's log (the engine's header and footer lines). The
    worker is fenced out before the engine writes after it, so the next position is the end."""
    if not text:
        return
    conn.execute(_APPEND_AT_END, {"eid": execution_id, "size": _size(text), "text": text, "at": now or utcnow()})


def remote_outputs(conn: Connection, execution_id: int) -> Mapping[str, Any] | None:
    """The outputs a worker scanned from its attempt's output (None: none recorded)."""
    value = conn.execute(select(R.c.outputs).where(R.c.execution_id == execution_id)).scalar()
    return value if isinstance(value, Mapping) else None


def read_chunks(conn: Connection, execution_ids: Sequence[int], offset: int, limit: int) -> tuple[bytes, int]:
    """Up to ``limit`` bytes from byte ``offset`` of the log made of these attempts' chunks, in
    the order given; and the log's total size so far."""
    if not execution_ids:
        return b"", 0
    ends = dict(conn.execute(
        select(C.c.execution_id, func.max(C.c.pos + C.c.size)).where(C.c.execution_id.in_(execution_ids))
        .group_by(C.c.execution_id)
    ).all())
    base: dict[int, int] = {}
    total = 0
    for eid in execution_ids:
        base[eid] = total
        total += int(ends.get(eid) or 0)
    if offset >= total:
        return b"", total
    stop = min(total, offset + limit)
    out = bytearray()
    for eid in execution_ids:
        start, end = base[eid], base[eid] + int(ends.get(eid) or 0)
        if end <= offset or start >= stop:
            continue
        lo, hi = offset - start, stop - start  # the wanted range, in this attempt's own bytes
        rows = conn.execute(
            select(C.c.pos, C.c.text).where(C.c.execution_id == eid, C.c.pos + C.c.size > lo, C.c.pos < hi)
            .order_by(C.c.seq)
        ).all()
        for pos, text in rows:
            data = text.encode("utf-8", "replace")
            out += data[max(0, lo - pos): max(0, hi - pos)]
    return bytes(out), total


# -- the store given to the executors ------------------------------------------------------------------


class RemoteRunStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._skew = timedelta(0)  # the database's clock minus this machine's

    def now(self) -> datetime:
        """Naive UTC on the database's clock (as of the last :meth:`sync_clock`)."""
        return utcnow() + self._skew

    def sync_clock(self) -> float:
        """Measure how far this machine's clock is from the database's; returns the seconds."""
        if self.db.is_sqlite:
            return 0.0
        with self.db.read() as conn:
            before = utcnow()
            db_now = conn.execute(sql_text("SELECT now() AT TIME ZONE 'UTC'")).scalar_one()
            after = utcnow()
        self._skew = db_now - (before + (after - before) / 2)
        return self._skew.total_seconds()

    # engine side ---------------------------------------------------------------------------------

    def runs(self, execution_ids: Iterable[int]) -> list[RunRow]:
        ids = list(execution_ids)
        out: list[RunRow] = []
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            with self.db.read() as conn:
                rows = conn.execute(
                    select(R.c.execution_id, R.c.state, R.c.exit_code, R.c.worker_id, W.c.heartbeat_at,
                           W.c.stopped_at)
                    .select_from(R.outerjoin(W, W.c.worker_id == R.c.worker_id))
                    .where(R.c.execution_id.in_(part))
                ).all()
            seen = set()
            for eid, state, code, worker, beat, stopped in rows:
                seen.add(eid)
                out.append(RunRow(eid, state, code, worker, beat, stopped is not None))
            out += [RunRow(eid, None, None, None, None, False) for eid in part if eid not in seen]
        return out

    def workers(self) -> list[WorkerRow]:
        """The workers that have not stopped (one dead by kill -9 is among them: its heartbeat
        no longer changes)."""
        with self.db.read() as conn:
            rows = conn.execute(select(W.c.worker_id, W.c.groups, W.c.heartbeat_at).where(W.c.stopped_at.is_(None)))
            return [WorkerRow(w, frozenset(g for g in (groups or "").split(",") if g), beat) for w, groups, beat in rows]

    def declare_lost(self, execution_id: int, worker_id: str | None) -> bool:
        """Its worker is dead: the run is lost (the worker, should it come back, is fenced out)."""
        with self.db.write() as conn:
            return bool(conn.execute(
                update(R).where(R.c.execution_id == execution_id, R.c.worker_id == worker_id, R.c.state == RUNNING)
                .values(state=LOST, ended_at=utcnow())
            ).rowcount)

    def request_kill(self, execution_id: int, token: str, grace: float) -> str:
        """Ask the worker running it to kill it: ``running`` (its worker will, within its poll
        interval), ``killed`` (no worker had taken it: now none ever will) or the state it had
        already ended in."""
        now = utcnow()
        for _ in range(3):
            with self.db.write() as conn:
                done = conn.execute(
                    update(R).where(R.c.execution_id == execution_id, R.c.state == RUNNING)
                    .values(kill_requested_at=now, kill_grace=grace)
                ).rowcount
                if done:
                    return RUNNING
                state = conn.execute(select(R.c.state).where(R.c.execution_id == execution_id)).scalar()
                if state is not None:
                    return str(state)
            try:
                with self.db.write() as conn:
                    conn.execute(insert(R).values(execution_id=execution_id, token=token, state=KILLED,
                                                  ended_at=now, kill_requested_at=now, kill_grace=grace,
                                                  log_seq=0, log_bytes=0))
                return KILLED
            except IntegrityError:
                continue  # a worker took it in between: ask it
        return RUNNING

    # worker side ---------------------------------------------------------------------------------

    def register_worker(self, worker_id: str, host: str, pid: int, groups: Sequence[str], slots: int,
                        isolation: str) -> None:
        """Insert this worker's row (again, when its heartbeat found it gone), and delete the rows
        of workers gone for :data:`WORKER_ROW_RETENTION`: stopped then, or silent since (killed,
        machine lost) with no run still marked running. Each worker started adds a row, so a
        cluster whose workers restart daily would otherwise keep them all, and every engine would
        keep reading the dead among the live (:meth:`workers`)."""
        now = self.now()
        cutoff = now - WORKER_ROW_RETENTION
        with self.db.write() as conn:
            conn.execute(insert(W).values(worker_id=worker_id, host=host, pid=pid, groups=",".join(groups),
                                          slots=slots, isolation=isolation, started_at=now, heartbeat_at=now))
            still_running = select(R.c.worker_id).where(R.c.state == "running", R.c.worker_id.is_not(None))
            conn.execute(delete(W).where(or_(W.c.stopped_at < cutoff, W.c.heartbeat_at < cutoff),
                                         W.c.worker_id.not_in(still_running)))

    def heartbeat(self, worker_id: str) -> bool:
        """False when the worker's row is gone (deleted after a day of silence, see
        :meth:`register_worker`): the worker registers again."""
        with self.db.write() as conn:
            done = conn.execute(update(W).where(W.c.worker_id == worker_id).values(heartbeat_at=self.now()))
            return bool(done.rowcount)

    def stop_worker(self, worker_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(update(W).where(W.c.worker_id == worker_id).values(stopped_at=self.now()))

    def claim(self, execution_id: int, token: str, worker_id: str) -> Claim | str:
        """Take the attempt, or say why not (a stale, duplicate or forged message)."""
        with self.db.write() as conn:
            row = conn.execute(select(E.c.state, E.c.handle).where(E.c.id == execution_id)).first()
            if row is None:
                return "no such attempt"
            handle = row.handle if isinstance(row.handle, dict) else {}
            if handle.get("token") != token:
                return "its fencing token does not match the attempt's"
            if row.state != "RUNNING":
                return f"the attempt has already ended ({row.state})"
            if conn.execute(select(R.c.state).where(R.c.execution_id == execution_id)).first() is not None:
                return "another delivery of it was taken already"
            seq, pos = conn.execute(
                select(func.coalesce(func.max(C.c.seq) + 1, 0), func.coalesce(func.max(C.c.pos + C.c.size), 0))
                .where(C.c.execution_id == execution_id)
            ).one()
            try:
                with conn.begin_nested():
                    conn.execute(insert(R).values(execution_id=execution_id, token=token, worker_id=worker_id,
                                                  state=RUNNING, started_at=self.now(), log_seq=seq, log_bytes=pos))
            except IntegrityError:
                return "another delivery of it was taken already"
            return Claim(handle, int(seq), int(pos))

    def append_log(self, execution_id: int, worker_id: str, seq: int, pos: int, texts: Sequence[str]) -> bool:
        """Chunks ``seq``, ``seq+1``, ... at byte ``pos`` on; False: fenced out (not written)."""
        with self.db.write() as conn:
            return self._append(conn, execution_id, worker_id, seq, pos, texts)

    def _append(self, conn: Connection, execution_id: int, worker_id: str, seq: int, pos: int,
                texts: Sequence[str]) -> bool:
        rows = []
        now = self.now()
        for text in texts:
            size = _size(text)
            rows.append({"execution_id": execution_id, "seq": seq, "pos": pos, "size": size, "text": text,
                         "created_at": now})
            seq, pos = seq + 1, pos + size
        won = conn.execute(
            update(R).where(R.c.execution_id == execution_id, R.c.worker_id == worker_id, R.c.state == RUNNING)
            .values(log_seq=seq, log_bytes=pos)
        ).rowcount
        if not won:
            return False
        if rows:
            conn.execute(insert(C), rows)
        return True

    def finish(self, execution_id: int, worker_id: str, exit_code: int | None, outputs: Mapping[str, Any] | None,
               seq: int, pos: int, texts: Sequence[str]) -> bool:
        """The last chunks and the exit, together; False: fenced out (nothing written)."""
        with self.db.write() as conn:
            if not self._append(conn, execution_id, worker_id, seq, pos, texts):
                return False
            conn.execute(update(R).where(R.c.execution_id == execution_id, R.c.worker_id == worker_id)
                         .values(state=ENDED, ended_at=self.now(), exit_code=exit_code, outputs=dict(outputs or {})))
            return True

    def controls(self, execution_ids: Iterable[int]) -> list[RunControl]:
        ids = list(execution_ids)
        if not ids:
            return []
        with self.db.read() as conn:
            rows = conn.execute(
                select(R.c.execution_id, R.c.state, R.c.kill_requested_at, R.c.kill_grace)
                .where(R.c.execution_id.in_(ids))
            ).all()
        return [RunControl(eid, state, at is not None, grace) for eid, state, at, grace in rows]
