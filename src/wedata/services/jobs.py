"""Asynchronous ops jobs: the AsyncId of the ``*Async`` actions and GetOpsAsyncJob (spec §2.7, §6.22).

An operation (kill, rerun, set success, pause, stop ...) is recorded as one job and one item
per sub-process (an instance or a task), committed before the action answers, so the action
returns its AsyncId at once and nothing is lost if the server stops. A worker thread of the
server process (started and stopped by app.py) carries jobs out:

1. it claims a job with a lease (``claimed_by``/``lease_until``, real time); a job whose worker
   died (lease over, or its process on this host is gone) is claimed again and resumed from
   its unfinished items;
2. a kind may first ``expand`` the named items into the full list (a rerun adds the downstream
   instances, upstream before downstream) in the transaction that moves the job to RUNNING;
3. each item is ``act``-ed in its own transaction, together with its item row and the job's
   counters, so an item is done exactly once. An effect that takes hold later (a kill: the
   process must exit) leaves the item ACTING, and ``settle`` is asked again until it has;
4. the job ends SUCCESS (every item succeeded), FAIL (none did) or PART_SUCCESS, with the reason
   of each failed item in ``ErrorDesc``.

An item that cannot be done (a COMPLETED instance to kill, a RUNNING one to set to success) is
a failed item with its reason, never an error of the whole job. ``get`` answers the job's row;
actions/ops/wire.py renders it as OpsAsyncJobDetail.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import OperationalError

from wedata.clock import Clock, utcnow
from wedata.config import Settings
from wedata.executors.processes import pid_alive
from wedata.scheduler.api import Change, SchedulerApi
from wedata.services.common import new_uuid
from wedata.services.errors import NotFound
from wedata.services.workers import BackgroundWorker
from wedata.storage.db import Database
from wedata.storage.health import outage_reason
from wedata.storage.ops_tables import ops_async_job_items, ops_async_jobs

log = logging.getLogger("wedata.ops")

J, JI = ops_async_jobs, ops_async_job_items
INIT, RUNNING, SUCCESS, FAIL, PART_SUCCESS = "INIT", "RUNNING", "SUCCESS", "FAIL", "PART_SUCCESS"
ACTING = "ACTING"  # item only: effect requested, not yet taken hold
LEASE = timedelta(seconds=30)
POLL_SECONDS = 1.0
SETTLE_PAUSE = 0.1
ERROR_DESC_MAX = 4000


class ItemFailed(Exception):
    """Raised by a kind: this item cannot be done (the reason is shown in ErrorDesc)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Job:
    async_id: str
    project_id: str
    async_type: str
    params: dict[str, Any]
    caller: str


@dataclass
class Outcome:
    """What became of an item: SUCCESS, FAIL (with a reason) or ACTING (ask ``settle`` later).
    ``wake``/``plan``: an in-process engine should look (and re-plan) once this has committed."""

    status: str
    reason: str | None = None
    wake: bool = False
    plan: bool = False


class JobKind:
    """How one AsyncType carries out its items. Subclasses override ``act`` (and, for effects
    that take hold later, ``settle``; for jobs whose items grow, ``expand``)."""

    def expand(self, conn: Connection, job: Job, keys: list[str]) -> list[str]:
        return keys

    def act(self, conn: Connection, job: Job, key: str) -> Outcome:
        raise NotImplementedError

    def settle(self, conn: Connection, job: Job, key: str, waited: float) -> Outcome | None:
        """An ACTING item: its final outcome, or None while it has not taken hold yet.
        ``waited`` is the real time in seconds since the item was acted on."""
        return Outcome(SUCCESS)


@dataclass
class _Runner:
    """The bookkeeping of one claimed job while a pool thread works on it."""

    job: Job
    token: str
    renewed: float = field(default_factory=time.monotonic)
    lost: bool = False


class OpsJobService(BackgroundWorker):
    def __init__(self, db: Database, clock: Clock, settings: Settings, scheduler: SchedulerApi) -> None:
        # Jobs run on a pool; stopping lets each finish its current item (drained).
        super().__init__("wedata-ops-jobs", POLL_SECONDS, pool_size=4, drain_pool_on_stop=True)
        self.db = db
        self.health = db.health
        self.clock = clock
        self.settings = settings
        self.scheduler = scheduler
        self.kinds: dict[str, JobKind] = {}
        self.host = socket.gethostname()[:40]
        self.node = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def register(self, async_type: str, kind: JobKind) -> None:
        self.kinds[async_type] = kind

    # -- creating and reading -------------------------------------------------------------------

    def create(self, project_id: str, async_type: str, caller_uin: str, keys: Sequence[str],
               params: dict[str, Any] | None = None) -> str:
        """Record a job and its items (committed when this returns) and wake the worker."""
        if async_type not in self.kinds:
            raise ValueError(f"no job kind registered for {async_type}")
        async_id = new_uuid()
        now = self.clock.now()
        with self.db.write() as conn:
            conn.execute(insert(J).values(
                async_id=async_id, project_id=project_id, async_type=async_type, status=INIT,
                params=params or {}, total_count=len(keys), finished_count=0, success_count=0,
                create_user_uin=caller_uin, created_at=now, updated_at=now,
            ))
            _insert_items(conn, async_id, keys, now)
        self.wake()
        return async_id

    def get(self, project_id: str, async_id: str) -> Mapping[Any, Any]:
        """The job's row (``ops_async_jobs``)."""
        with self.db.read() as conn:
            row = conn.execute(
                select(J).where(J.c.async_id == async_id, J.c.project_id == project_id)
            ).mappings().first()
        if row is None:
            raise NotFound(f"The async operation {async_id} does not exist in the project {project_id}.")
        return row

    # -- the worker -----------------------------------------------------------------------------

    def start_worker(self) -> None:
        self.start()

    def stop_worker(self, timeout: float = 10.0) -> None:
        """Stop claiming. Jobs being worked on stop after their current item; the rest of each
        is resumed by the next worker (their claim is released, so at once)."""
        self.stop(timeout)

    def poll(self) -> bool:
        self.run_once()
        return False

    def run_once(self) -> int:
        """Claim what is due and hand it to the pool (or run it here without a pool)."""
        started = 0
        for async_id in self._claimable():
            with self._lock:
                if async_id in self._busy:
                    continue
            runner = self._claim(async_id)
            if runner is None:
                continue
            started += 1
            with self._lock:
                self._busy.add(async_id)
            pool = self.pool
            if pool is None:
                self._run_job(runner)
            else:
                pool.submit(self._run_job, runner)
        return started

    def _claimable(self) -> list[str]:
        now = utcnow()
        with self.db.read() as conn:
            rows = conn.execute(
                select(J.c.async_id, J.c.claimed_by, J.c.lease_until)
                .where(J.c.status.in_((INIT, RUNNING)))
                .order_by(J.c.created_at)
                .limit(50)
            ).all()
        return [r.async_id for r in rows if self._free(r.claimed_by, r.lease_until, now)]

    def _free(self, claimed_by: str | None, lease_until: datetime | None, now: datetime) -> bool:
        if claimed_by is None or lease_until is None or lease_until < now:
            return True
        host, _, rest = claimed_by.partition(":")
        pid = rest.partition(":")[0]
        # A claim of a dead process of this host is free at once (a restarted server resumes
        # its jobs without waiting for the lease), like the engine's own recovery.
        return host == self.host and pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid))

    def _claim(self, async_id: str) -> _Runner | None:
        now = utcnow()
        with self.db.write() as conn:
            row = conn.execute(select(J).where(J.c.async_id == async_id)).mappings().first()
            if row is None or row["status"] not in (INIT, RUNNING):
                return None
            if not self._free(row["claimed_by"], row["lease_until"], now):
                return None
            done = conn.execute(
                update(J)
                .where(J.c.async_id == async_id, _same_claim(row["claimed_by"]))
                .values(claimed_by=self.node, lease_until=now + LEASE)
            ).rowcount
            if done != 1:
                return None
        job = Job(row["async_id"], row["project_id"], row["async_type"], dict(row["params"] or {}),
                  row["create_user_uin"])
        return _Runner(job, self.node)

    def _renew(self, runner: _Runner, force: bool = False) -> bool:
        if not force and time.monotonic() - runner.renewed < LEASE.total_seconds() / 3:
            return not runner.lost
        with self.db.write() as conn:
            ok = conn.execute(
                update(J).where(J.c.async_id == runner.job.async_id, J.c.claimed_by == runner.token)
                .values(lease_until=utcnow() + LEASE)
            ).rowcount == 1
        runner.renewed = time.monotonic()
        runner.lost = not ok
        return ok

    def _run_job(self, runner: _Runner) -> None:
        try:
            self._work(runner)
        except Exception as exc:
            if self.health is None or not self.health.failed(exc, f"ops job {runner.job.async_id}"):
                log.exception("ops job %s failed; it is resumed when its lease ends", runner.job.async_id)
        finally:
            with self._lock:
                self._busy.discard(runner.job.async_id)

    def _work(self, runner: _Runner) -> None:
        job = runner.job
        kind = self.kinds.get(job.async_type)
        if kind is None:
            log.error("ops job %s: no kind registered for %s; left for a server that has one",
                      job.async_id, job.async_type)
            return
        self._start(kind, runner)
        while not self.stopping:
            with self.db.read() as conn:
                todo = conn.execute(
                    select(JI.c.seq, JI.c.item_key).where(JI.c.async_id == job.async_id, JI.c.status == INIT)
                    .order_by(JI.c.seq).limit(200)
                ).all()
            if not todo:
                break
            for seq, key in todo:
                if self.stopping or not self._renew(runner):
                    self._release(runner)
                    return
                self._item(job, seq, key, lambda conn, k: kind.act(conn, job, k))
        if not self.stopping:
            self._settle_all(kind, runner)
        if self.stopping or runner.lost:
            self._release(runner)
            return
        self._finish(runner)

    def _start(self, kind: JobKind, runner: _Runner) -> None:
        """INIT -> RUNNING, expanding the items first (in the same transaction)."""
        job = runner.job
        with self.db.write() as conn:
            now = self.clock.now()
            # A write first: the transaction (SQLite: and its lock) begins here, so the savepoint
            # below is inside it and the expansion reads a state nobody changes meanwhile.
            conn.execute(update(J).where(J.c.async_id == job.async_id).values(updated_at=now))
            status = conn.execute(select(J.c.status).where(J.c.async_id == job.async_id)).scalar_one()
            if status != INIT:
                return
            keys = [r[0] for r in conn.execute(
                select(JI.c.item_key).where(JI.c.async_id == job.async_id).order_by(JI.c.seq))]
            try:
                with conn.begin_nested():
                    expanded = kind.expand(conn, job, keys)
            except Exception:
                # Never retried forever: the job ends FAIL with every named item failed.
                log.exception("ops job %s: preparing its items failed", job.async_id)
                reason = "internal error while preparing the operation (see the server log)"
                conn.execute(update(JI).where(JI.c.async_id == job.async_id).values(
                    status=FAIL, reason=reason, updated_at=now))
                conn.execute(update(J).where(J.c.async_id == job.async_id).values(
                    status=RUNNING, finished_count=len(keys), success_count=0, updated_at=now))
                return
            if expanded != keys:
                conn.execute(delete(JI).where(JI.c.async_id == job.async_id))
                _insert_items(conn, job.async_id, expanded, now)
            conn.execute(update(J).where(J.c.async_id == job.async_id).values(
                status=RUNNING, total_count=len(expanded), updated_at=now))

    def _item(self, job: Job, seq: int, key: str, fn: Callable[[Connection, str], Outcome | None],
              *, lock_first: bool = True) -> bool:
        """Run ``fn`` for one item in one transaction with its bookkeeping. False: not settled."""
        try:
            got = self._attempt(job, seq, key, fn, lock_first)
            if got is None:
                return False
            outcome = got
        except ItemFailed as exc:
            outcome = Outcome(FAIL, exc.reason)
            with self.db.write() as conn:
                self._record(conn, job, seq, outcome)
        except Exception as exc:
            if outage_reason(exc) is not None:
                raise  # not the item's fault: left unsettled, the job resumes when it can
            log.exception("ops job %s: item %s failed unexpectedly", job.async_id, key)
            outcome = Outcome(FAIL, "internal error while processing this item (see the server log)")
            with self.db.write() as conn:
                self._record(conn, job, seq, outcome)
        if outcome.wake:
            try:
                self.scheduler.notify(Change.TASKS if outcome.plan else Change.INSTANCES)
            except Exception:
                log.exception("waking the engine failed")
        return True

    def _attempt(self, job: Job, seq: int, key: str, fn: Callable[[Connection, str], Outcome | None],
                 lock_first: bool) -> Outcome | None:
        for attempt in range(3):
            try:
                with self.db.write() as conn:
                    # Write first: on SQLite this takes the write lock before ``fn`` reads, so
                    # what it reads cannot change before it writes (the engine commits in
                    # between otherwise: a parent completing unseen would strand a child).
                    if lock_first:
                        conn.execute(update(J).where(J.c.async_id == job.async_id).values(updated_at=self.clock.now()))
                    outcome = fn(conn, key)
                    if outcome is not None:
                        self._record(conn, job, seq, outcome)
                    return outcome
            except OperationalError as exc:  # a deadlock or lock timeout: the item is tried again
                if attempt == 2 or outage_reason(exc) is not None:
                    raise
                log.warning("ops job %s: item %s met a lock conflict; retrying", job.async_id, key)
        return None

    def _record(self, conn: Connection, job: Job, seq: int, outcome: Outcome) -> None:
        now = self.clock.now()
        values: dict[str, Any] = {"status": outcome.status, "reason": outcome.reason, "updated_at": now}
        if outcome.status == ACTING:
            values["acted_at"] = utcnow()
        conn.execute(update(JI).where(JI.c.async_id == job.async_id, JI.c.seq == seq).values(**values))
        counters: dict[str, Any] = {"updated_at": now}
        if outcome.status in (SUCCESS, FAIL):
            counters["finished_count"] = J.c.finished_count + 1
            if outcome.status == SUCCESS:
                counters["success_count"] = J.c.success_count + 1
        conn.execute(update(J).where(J.c.async_id == job.async_id).values(**counters))

    def _settle_all(self, kind: JobKind, runner: _Runner) -> None:
        job = runner.job
        while not self.stopping:
            with self.db.read() as conn:
                acting = conn.execute(
                    select(JI.c.seq, JI.c.item_key, JI.c.acted_at)
                    .where(JI.c.async_id == job.async_id, JI.c.status == ACTING).order_by(JI.c.seq)
                ).all()
            if not acting:
                return
            for seq, key, acted_at in acting:
                if not self._renew(runner):
                    return
                waited = (utcnow() - (acted_at or utcnow())).total_seconds()

                def settle(conn: Connection, k: str, w: float = waited) -> Outcome | None:
                    return kind.settle(conn, job, k, w)

                self._item(job, seq, key, settle, lock_first=False)  # polled: no lock for nothing
            self.sleep(SETTLE_PAUSE)

    def _finish(self, runner: _Runner) -> None:
        job = runner.job
        with self.db.write() as conn:
            counts = conn.execute(
                select(JI.c.status, func.count()).where(JI.c.async_id == job.async_id).group_by(JI.c.status)
            ).all()
            by = {s: n for s, n in counts}
            if by.get(INIT) or by.get(ACTING):
                return  # not done after all (should not happen): resumed later
            failed = conn.execute(
                select(JI.c.item_key, JI.c.reason).where(JI.c.async_id == job.async_id, JI.c.status == FAIL)
                .order_by(JI.c.seq).limit(50)
            ).all()
            total = sum(by.values())
            ok = by.get(SUCCESS, 0)
            status = SUCCESS if ok == total else FAIL if ok == 0 else PART_SUCCESS
            conn.execute(update(J).where(J.c.async_id == job.async_id, J.c.claimed_by == runner.token).values(
                status=status, error_desc=_error_desc(failed, total - ok), total_count=total,
                finished_count=total, success_count=ok, updated_at=self.clock.now(),
                claimed_by=None, lease_until=None,
            ))

    def _release(self, runner: _Runner) -> None:
        with self.db.write() as conn:
            conn.execute(update(J).where(J.c.async_id == runner.job.async_id, J.c.claimed_by == runner.token)
                         .values(claimed_by=None, lease_until=None))


def _same_claim(claimed_by: str | None) -> Any:
    return J.c.claimed_by.is_(None) if claimed_by is None else J.c.claimed_by == claimed_by


def _insert_items(conn: Connection, async_id: str, keys: Sequence[str], now: datetime) -> None:
    rows = [{"async_id": async_id, "seq": i, "item_key": k, "status": INIT, "updated_at": now}
            for i, k in enumerate(keys)]
    for i in range(0, len(rows), 1000):
        conn.execute(insert(JI), rows[i : i + 1000])


def _error_desc(failed: Sequence[Any], count: int) -> str | None:
    if not count:
        return None
    parts = [f"{key}: {reason or 'failed'}" for key, reason in failed]
    text = f"{count} item(s) failed: " + "; ".join(parts)
    if count > len(failed):
        text += f"; and {count - len(failed)} more"
    return text if len(text) <= ERROR_DESC_MAX else text[: ERROR_DESC_MAX - 3] + "..."


__all__ = ["ACTING", "FAIL", "SUCCESS", "ItemFailed", "Job", "JobKind", "OpsJobService", "Outcome"]
