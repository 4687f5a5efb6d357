"""The SQL run queue: a background worker in every server process that claims QUEUED runs from
the database and executes them on a bounded pool of threads (``WEDATA_SQL_SCRIPT_THREADS``,
default 8), so that runs survive a restart and any API process of a cluster may execute them.

- **Concurrency per resource group**: at most ``max_concurrency`` runs of a group execute at
  once, counted over every process (a run without ``ExecutorGroupId`` is in the default group,
  ``WEDATA_DEFAULT_SLOTS``, 4 by default), like the engine's slots. Script runs have their own
  count: they do not take the slots of task instances. A claim is one transaction (serialised by
  SQLite's write lock, or a PostgreSQL advisory lock), oldest runs first.
- **Who executes what**: a claimed run records this process's ``runner_id`` (host, pid and a
  random part) and a heartbeat, refreshed every ``WEDATA_HEARTBEAT_INTERVAL`` seconds.
- **Recovery**: a RUNNING run whose process is gone — its pid no longer exists on this host, its
  pid is this process's own under an older runner id (a restart), or its heartbeat is older than
  ``WEDATA_NODE_LEASE`` — ends FAILED with the reason, at start-up and at every heartbeat. It is
  not run again: a script may have written half its changes. QUEUED runs simply wait for a
  worker.
- **Stopping the server** cancels what runs (in the databases) and ends those runs FAILED
  ("the server stopped while the run was executing").
- **StopSQLScriptRun** cancels a run executing here at once; a run executing in another
  process is cancelled by that process's worker, which looks for stop requests at every poll.
- **Expiry**: once a minute the results of runs that ended more than the retention ago are
  deleted (GetSQLRunResult then answers ``ResourceNotFound.ResultExpired``), and the run rows
  themselves 30 days after that.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, text, update

from wedata.clock import Clock, utcnow
from wedata.config import Settings
from wedata.executors.processes import pid_alive
from wedata.executors.sql.contract import CancelToken, ResultLimits
from wedata.services.datasources.datasources import DataSourceService
from wedata.services.sql import execute
from wedata.services.sql.records import FAILED, QUEUED, RUNNING
from wedata.services.workers import BackgroundWorker
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.sql_tables import sql_run_statements, sql_runs

log = logging.getLogger("wedata.sql.queue")
R, S = sql_runs, sql_run_statements
_CLAIM_LOCK = 0x5351_4C52_554E  # PostgreSQL advisory lock key of the claim ("SQLRUN")
_SWEEP_EVERY = 60.0
HISTORY_KEPT = timedelta(days=30)  # run rows outlive their results by this much
ORPHANED = ("The server process executing this run ({runner}) stopped before it finished; the run did not "
            "complete. Run it again.")
SHUTDOWN = "The server stopped while the run was executing; it did not finish. Run it again."


class SqlRunWorker(BackgroundWorker):
    def __init__(self, db: Database, clock: Clock, settings: Settings, datasources: DataSourceService) -> None:
        threads = max(1, settings.sql_script_threads)
        super().__init__("sql-runs", 0.5, pool_size=threads)
        self.db = db
        self.health = db.health  # an outage is one line per change of state (storage/health.py)
        self.clock = clock
        self.settings = settings
        self.threads = threads
        self.host = socket.gethostname()[:64]
        self.runner_id = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.lease = max(settings.node_lease, 3 * settings.heartbeat_interval)
        self._tokens: dict[str, CancelToken] = {}
        self._lock = threading.Lock()
        self._shutting_down = False
        self._last_beat = 0.0
        self._last_sweep = 0.0
        self.ctx = execute.ExecContext(
            db=db, clock=clock, settings=settings, datasources=datasources,
            limits=ResultLimits(max_rows=max(1, settings.sql_script_max_rows),
                                max_script_bytes=settings.sql_script_max_bytes),
            runner_id=self.runner_id, stopping=lambda: self._shutting_down,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._shutting_down = False
        try:
            self.recover()
        except Exception:
            log.exception("SQL runs: recovery at start failed")
        super().start()

    def stop(self, timeout: float = 10.0) -> None:
        self._shutting_down = True
        with self._lock:
            tokens = list(self._tokens.values())
        if tokens:
            log.info("SQL runs: the server stops; cancelling %d executing run(s) in their databases", len(tokens))
        for token in tokens:
            # Wait (a little) for each cancel to reach its database: the process ends right after.
            _cancel_soon(token, wait=2.0)
        deadline = time.monotonic() + min(timeout, 5.0)
        while time.monotonic() < deadline:
            with self._lock:
                if not self._tokens:
                    break
            time.sleep(0.05)
        try:
            self._fail(select(R.c.id).where(R.c.status == RUNNING, R.c.runner_id == self.runner_id), SHUTDOWN)
        except Exception:
            log.exception("SQL runs: ending this process's runs at shutdown failed")
        super().stop(timeout)

    def cancel(self, run_id: str) -> bool:
        """Cancel a run executing in this process (in its database); False if it runs elsewhere."""
        with self._lock:
            token = self._tokens.get(run_id)
        if token is None:
            return False
        _cancel_soon(token, wait=5.0)
        return True

    # -- the loop --------------------------------------------------------------------------------

    def poll(self) -> bool:
        now = time.monotonic()
        if now - self._last_beat >= self.settings.heartbeat_interval:
            self._last_beat = now
            self.heartbeat()
            self.recover()
        if now - self._last_sweep >= _SWEEP_EVERY:
            self._last_sweep = now
            self.sweep()
        self._stop_requested()
        if self._shutting_down or self.pool is None:
            return False
        for run in self.claim():
            token = CancelToken()
            with self._lock:
                self._tokens[run.id] = token
            self.pool.submit(self._execute, run, token)
        return False

    def _execute(self, run: Any, token: CancelToken) -> None:
        try:
            execute.execute_run(self.ctx, run, token)
        except Exception:
            log.exception("SQL run %s: recording its end failed", run.id)
        finally:
            with self._lock:
                self._tokens.pop(run.id, None)
            self.wake()  # a slot is free: claim the next run now

    def claim_at_once(self, conn: Any, run_id: str, group: str) -> Any | None:
        """Inside the transaction that stores a new run: take it for this process at once (the
        claimed row), when a thread here is free, the group has a free slot and none of its runs
        waits before it; None leaves it QUEUED for ``claim``. Saves a wake-up, a read and a
        commit per run (issue 9's overhead). The caller hands the row to ``dispatch`` after its
        commit, or to ``release`` when its transaction failed."""
        if self._shutting_down or self.pool is None:
            return None
        with self._lock:
            if self.threads - len(self._tokens) <= 0:
                return None
            self._tokens[run_id] = CancelToken()  # the thread is reserved from here on
        try:
            if not self.db.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})
            in_group = R.c.resource_group_id == group
            running = conn.execute(select(func.count()).where(R.c.status == RUNNING, in_group)).scalar() or 0
            limit = self.settings.default_slots
            if group:
                limit = conn.execute(select(T.resource_groups.c.max_concurrency)
                                     .where(T.resource_groups.c.id == group)).scalar() or limit
            waiting = conn.execute(select(exists().where(R.c.status == QUEUED, in_group, R.c.id != run_id))).scalar()
            if running >= int(limit) or waiting:
                self.release(run_id)
                return None
            conn.execute(update(R).where(R.c.id == run_id, R.c.status == QUEUED).values(
                status=RUNNING, runner_id=self.runner_id, started_at=self.clock.now(), heartbeat_at=utcnow()))
            return conn.execute(select(R).where(R.c.id == run_id)).one()
        except BaseException:
            self.release(run_id)
            raise

    def release(self, run_id: str) -> None:
        with self._lock:
            self._tokens.pop(run_id, None)

    def dispatch(self, run: Any) -> None:
        """Execute a run taken by ``claim_at_once`` (its transaction committed)."""
        with self._lock:
            token = self._tokens.get(run.id)
        if token is None or self.pool is None:  # stopped meanwhile: the run is failed by shutdown/recovery
            return
        self.pool.submit(self._execute, run, token)

    def claim(self) -> list[Any]:
        with self._lock:
            free = self.threads - len(self._tokens)
        if free <= 0:
            return []
        with self.db.read() as conn:
            if conn.execute(select(exists().where(R.c.status == QUEUED))).scalar() is not True:
                return []
        with self.db.write() as conn:
            if not self.db.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})
            running: dict[str, int] = {
                g: int(n) for g, n in conn.execute(
                    select(R.c.resource_group_id, func.count()).where(R.c.status == RUNNING)
                    .group_by(R.c.resource_group_id))
            }
            queued = conn.execute(select(R.c.id, R.c.resource_group_id).where(R.c.status == QUEUED)
                                  .order_by(R.c.created_at, R.c.id).limit(500)).all()
            groups = {q.resource_group_id for q in queued if q.resource_group_id}
            limits = {g: int(n) for g, n in conn.execute(
                select(T.resource_groups.c.id, T.resource_groups.c.max_concurrency)
                .where(T.resource_groups.c.id.in_(groups)))} if groups else {}
            default = self.settings.default_slots
            chosen: list[str] = []
            for q in queued:
                group = q.resource_group_id or ""
                if running.get(group, 0) >= limits.get(group, default):
                    continue
                running[group] = running.get(group, 0) + 1
                chosen.append(q.id)
                if len(chosen) >= free:
                    break
            if not chosen:
                return []
            conn.execute(update(R).where(R.c.id.in_(chosen), R.c.status == QUEUED).values(
                status=RUNNING, runner_id=self.runner_id, started_at=self.clock.now(), heartbeat_at=utcnow()))
            return list(conn.execute(select(R).where(R.c.id.in_(chosen), R.c.runner_id == self.runner_id,
                                                     R.c.status == RUNNING).order_by(R.c.created_at, R.c.id)).all())

    def heartbeat(self) -> None:
        with self._lock:
            mine = list(self._tokens)
        if not mine:
            return
        with self.db.write() as conn:
            conn.execute(update(R).where(R.c.id.in_(mine), R.c.runner_id == self.runner_id, R.c.status == RUNNING)
                         .values(heartbeat_at=utcnow()))

    def _stop_requested(self) -> None:
        """Stop requests for runs of this process made through another process."""
        with self._lock:
            mine = [run_id for run_id, token in self._tokens.items() if not token.cancelled]
        if not mine:
            return
        with self.db.read() as conn:
            asked = conn.execute(select(R.c.id).where(R.c.id.in_(mine), R.c.stop_requested_by.is_not(None))).scalars()
            for run_id in list(asked):
                self.cancel(run_id)

    # -- recovery and expiry -----------------------------------------------------------------------

    def recover(self) -> int:
        """End FAILED the RUNNING runs whose process is gone (see the module docstring)."""
        stale = utcnow() - timedelta(seconds=self.lease)
        with self.db.read() as conn:
            rows = conn.execute(select(R.c.id, R.c.runner_id, R.c.heartbeat_at).where(
                R.c.status == RUNNING, or_(R.c.runner_id.is_(None), R.c.runner_id != self.runner_id))).all()
        gone: dict[str, list[str]] = {}
        for r in rows:
            if self._dead(r.runner_id or "", r.heartbeat_at, stale):
                gone.setdefault(r.runner_id or "unknown", []).append(r.id)
        for runner, ids in gone.items():
            self._fail(select(R.c.id).where(R.c.id.in_(ids), R.c.status == RUNNING, R.c.runner_id == runner)
                       if runner != "unknown" else select(R.c.id).where(R.c.id.in_(ids), R.c.status == RUNNING),
                       ORPHANED.format(runner=_describe(runner)))
        count = sum(len(ids) for ids in gone.values())
        if count:
            log.warning("SQL runs: %d run(s) of stopped server processes ended FAILED", count)
        return count

    def _dead(self, runner_id: str, heartbeat_at: Any, stale: Any) -> bool:
        host, _, rest = runner_id.partition(":")
        pid_text = rest.partition(":")[0]
        if host == self.host and pid_text.isdigit():
            pid = int(pid_text)
            if pid == os.getpid() or not pid_alive(pid):
                return True
        return heartbeat_at is None or heartbeat_at < stale

    def _fail(self, ids: Any, reason: str) -> None:
        now = self.clock.now()
        with self.db.write() as conn:
            found = list(conn.execute(ids).scalars())
            if not found:
                return
            conn.execute(update(R).where(R.c.id.in_(found), R.c.status == RUNNING).values(
                status=FAILED, message=reason, ended_at=now))
            for run_id in found:
                execute.end_statements(conn, run_id, FAILED, reason, now, in_flight=True)

    def sweep(self) -> None:
        """Delete expired results, and the runs long past them."""
        now = self.clock.now()
        cutoff = now - timedelta(seconds=self.settings.sql_result_retention)
        with self.db.write() as conn:
            expired = and_(R.c.ended_at.is_not(None), R.c.ended_at <= cutoff, R.c.results_purged.is_(False))
            ids = list(conn.execute(select(R.c.id).where(expired).limit(1000)).scalars())
            if ids:
                conn.execute(update(S).where(S.c.run_id.in_(ids)).values(rows=None, columns=None))
                conn.execute(update(R).where(R.c.id.in_(ids)).values(results_purged=True))
            conn.execute(delete(R).where(R.c.ended_at.is_not(None), R.c.ended_at <= cutoff - HISTORY_KEPT))


def _describe(runner_id: str) -> str:
    host, _, rest = runner_id.partition(":")
    pid = rest.partition(":")[0]
    return f"pid {pid} on {host}" if pid else "unknown"


def _cancel_soon(token: CancelToken, wait: float = 0.0) -> None:
    """Cancel on a thread of its own: the executor's cancel hook talks to the database, which
    must not hold a stop request or the shutdown longer than ``wait`` seconds."""
    worker = threading.Thread(target=token.cancel, name="sql-run-cancel", daemon=True)
    worker.start()
    if wait:
        worker.join(wait)
