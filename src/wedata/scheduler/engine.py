"""The engine: one thread that plans, promotes, dispatches and collects, driven by events.

What wakes it: an attempt exiting (the executor's callback, within a millisecond), an in-process
``wake()`` (an API call that changed something), or the next timer it knows of (the earliest
scheduled time of a ready instance, retry time or deadline, read from indexes). Nothing is held
only in memory: instance state, claims and executor handles are in the database, so a killed
engine resumes where it stopped (recovery.py) and several engines can share one database
(claims are optimistic, ``row_version``-checked transitions).

One iteration:

1. plan (at most every ``plan_interval`` seconds, or at once when woken by a submission);
2. one transaction (cycle.py): end the attempts that exited and re-evaluate exactly the
   dependents whose edges that changed; fire due timers (retries whose RetryWait is over,
   ExecutionTTL kills, WaitExecutionTotalTTL expiries, kill requests); dispatch ready instances
   to free slots per resource group, RunPriority then data time;
3. after the commit: spawn the claimed attempts, write log footers, kill what timed out;
4. heartbeat, adopt the attempts of dead schedulers, and now and then a safety sweep.

Faults (docs/engine.md, Faults): an iteration that fails keeps the exits it took (they go back
to the inbox until a cycle records them); a database outage is logged once per change of state
(storage/health.py); "no space left" pauses dispatch until space returns (diskguard.py); any
other failure is logged with its traceback, and the same failure repeated is summarised once a
minute instead of once a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, select

from wedata.clock import Clock, real_seconds
from wedata.config import Settings
from wedata.executors.base import Executor
from wedata.executors.local import LocalExecutor
from wedata.executors.routing import TaskExecutors
from wedata.executors.sandbox import SandboxSettings
from wedata.executors.sql.contract import SqlTaskResolver
from wedata.executors.sql_tasks import SqlTaskExecutor
from wedata.scheduler import attempt_rows, cycle, recovery, states
from wedata.scheduler.definitions import DefinitionCache
from wedata.scheduler.diskguard import DiskGuard
from wedata.scheduler.launcher import Launcher
from wedata.scheduler.node import EngineNode
from wedata.scheduler.notebooks import keep_notebook
from wedata.scheduler.planner import Planner, PlanOutcome
from wedata.scheduler.readiness import evaluate, waiting_ids
from wedata.scheduler.runs import RunDirRemover, append_log
from wedata.scheduler.transitions import Tx, in_cycle
from wedata.storage import instance_counts, instance_owner
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances
from wedata.storage.health import is_disk_full, outage_reason

log = logging.getLogger("wedata.scheduler")

TI = task_instances
KILL_PREFIX = cycle.KILL_PREFIX
_NEVER = datetime(9999, 1, 1)
_REPEAT_LOG_EVERY = 60.0  # seconds between summaries of the same iteration failure repeated
# A started attempt's handle (its pid) is stored with its end, or once it has waited this long
# (with the next cycle, or in a transaction of its own when idle; its run directory's pid file
# has it meanwhile, and its row has the run directory from the claim).
HANDLE_DELAY = 0.25
# The full look for changed tasks (other processes' submissions) reads every task: it is spaced
# so that it takes at most 1/LOOK_SHARE of the engine's time (Engine._look_interval).
LOOK_SHARE = 20
# PostgreSQL, for the cycle's transaction: no parallel plans and no JIT. With a million
# instances in the past and the day's WAIT_RUN instances in the future, PostgreSQL cannot tell
# that few are due (it takes state and scheduled time as independent): it expected ~160,000 due
# candidates where there were a few, and planned a parallel sort (10 ms of worker start-up a
# cycle) or compiled the statement with JIT (~40 ms a cycle). Where the process's connections
# serve the engine alone they carry these from their start (``Database.engine_sessions``, called
# by ``wedata scheduler`` and the server's engine process); otherwise each cycle sets them for its
# transaction, both in one round trip (no parameters: psycopg sends them as one simple query).
OLTP_PLANS = {"max_parallel_workers_per_gather": "0", "jit": "off"}
_OLTP_PLANS_LOCAL = "; ".join(f"SET LOCAL {name} = {value}" for name, value in OLTP_PLANS.items())


@dataclass
class EngineStats:
    iterations: int = 0
    dispatched: int = 0
    finished: int = 0
    planned: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + seconds


class Engine:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        executor: Executor | None = None,
        *,
        kind: str = "server",
        defs: DefinitionCache | None = None,
        sql_resolver: SqlTaskResolver | None = None,
    ) -> None:
        """``sql_resolver``: where SQL tasks run (their data source, checked and decrypted by the
        services; given by the composition root). Without it SQL attempts fail with a reason."""
        self.db = db
        self.settings = settings
        self.clock = clock
        if executor is None:
            executor = TaskExecutors(LocalExecutor(SandboxSettings.from_settings(settings)),
                                     SqlTaskExecutor(sql_resolver))
        self.node = EngineNode(db, settings, clock, executor, kind, defs)
        self.executor: Executor = self.node.executor
        self.node_id = self.node.node_id
        if settings.remote_groups:  # their attempts run on Celery workers (docs/workers.md)
            self.executor = self.node.executor = _with_remote_groups(self.executor, db, settings)
        self.planner = Planner(self.node.load_def, horizon_days=settings.plan_horizon_days, catch_up=settings.plan_catch_up,
                               defs=self.node.defs)
        self.stats = EngineStats()
        self._cv = self.node.cv
        self._remover = RunDirRemover()  # finished run directories go, off this thread (runs.py)
        # Attempts are started (and killed) off this thread, in order (launcher.py).
        self._launcher = Launcher(lambda seconds: self.stats.add("spawn", seconds))
        self._woken = False
        # True on the engine's thread between a cycle's start and its dispatch: what an observer
        # makes ready then is dispatched by that same cycle, so its poke() is not needed.
        self._dispatch_ahead = False
        self._plan_now = True  # look at every task for changes (and due plans) next iteration
        # Tasks an in-process change named (SubmitTask): planned next iteration by a look at
        # those rows alone; every task is looked at each plan_interval anyway.
        self._plan_tasks: set[str] = set()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._next_plan = 0.0
        self._look_seconds = 0.0  # how long the last full look for changed tasks took
        self._next_sweep = 0.0
        self._next_heartbeat = 0.0
        self._eligible: datetime | None = datetime.min  # next future WAIT_RUN time; min = unknown
        self.guard = DiskGuard([self.node.logs_dir, self.node.run_root], settings.min_free_mb * 1024 * 1024)
        self._last_failure: tuple[str, float, int] | None = None  # (what, logged at, repeats since)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        node = self.node
        node.logs_dir.mkdir(parents=True, exist_ok=True)
        node.run_root.mkdir(parents=True, exist_ok=True)
        recovery.register_node(self.db, node.node_id, node.host, node.kind)
        self.executor.start(node.report_exit)
        recovery.adopt_orphans(node, startup=True)
        self._thread = threading.Thread(target=self._run, name="wedata-engine", daemon=True)
        self._thread.start()
        log.info("scheduler engine %s started", self.node_id)

    def stop(self) -> None:
        """Stop scheduling. Running attempts keep running; the next start re-attaches them."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(10)
        self._launcher.close()  # what the last cycles claimed is started before the executor closes
        self._remover.close()
        self.executor.close()
        recovery.unregister_node(self.db, self.node_id)
        log.info("scheduler engine %s stopped", self.node_id)

    def wake(self, *, plan: bool = False, tasks: Collection[str] = ()) -> None:
        """Something changed (an API call): look again now rather than at the next timer.
        ``plan`` with ``tasks``: those tasks' submitted version or status changed, and nothing
        else; planning them is a look at their rows, not at every task, and it re-reads the
        timers itself when it makes instances."""
        with self._cv:
            self._woken = True
            if plan and tasks and len(self._plan_tasks) + len(tasks) <= self.planner.batch:
                self._plan_tasks.update(tasks)
            else:
                self._plan_now = self._plan_now or plan
                self.node.timer_due = datetime.min
                self._eligible = datetime.min
            self._cv.notify_all()

    def is_engine_thread(self) -> bool:
        return threading.current_thread() is self._thread

    @property
    def dispatch_state(self) -> str:
        """For /healthz: "running", or "paused: <why>" (diskguard.py)."""
        return self.guard.describe()

    def dispatch_pause(self) -> str | None:
        """Why dispatch is paused, or None (services show it on waiting instances)."""
        return self.guard.reason

    def poke(self) -> None:
        """Run one more iteration at once, without re-reading timers (cheaper than wake(): for
        work made ready inside the engine's own cycle, e.g. by a transition observer)."""
        if self._dispatch_ahead and self.is_engine_thread():
            return  # this cycle's dispatch is still to come and sees it (one iteration saved)
        with self._cv:
            self._woken = True
            self._cv.notify_all()

    # -- the loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cv:
                if self._stopping:
                    return
                self._woken = False
            try:
                wait = self._iterate()
            except Exception as exc:
                self._failed(exc)
                # Pause even with exits waiting (a failed cycle puts them back): retrying at
                # once would spin against a database that is down or a disk that is full.
                with self._cv:
                    if not self._stopping:
                        self._cv.wait(1.0)
                continue
            self.db.health.ok()
            self._last_failure = None
            with self._cv:
                if not self.node.has_exits() and not self._woken and not self._stopping and wait > 0:
                    self._cv.wait(wait)

    def _failed(self, exc: Exception) -> None:
        if self.db.health.failed(exc, "the scheduler engine"):
            return  # logged once per change of state
        if is_disk_full(exc):
            # The pause is logged once (diskguard.py); the database's own file when it has no name.
            self.guard.full(getattr(exc, "filename", None) or self.settings.home, exc)
            return
        what = f"{type(exc).__name__}: {exc}"
        now = time.monotonic()
        last = self._last_failure
        if last is None or last[0] != what:
            log.exception("engine iteration failed")
            self._last_failure = (what, now, 0)
        elif now - last[1] >= _REPEAT_LOG_EVERY:
            log.error("engine iteration failed again (%d times in %d s): %s", last[2] + 1, now - last[1], what)
            self._last_failure = (what, now, 0)
        else:
            self._last_failure = (what, last[1], last[2] + 1)

    def _iterate(self) -> float:
        self.stats.iterations += 1
        mono = time.monotonic()
        exits = self.node.take_exits()
        with self._cv:
            plan_now, self._plan_now = self._plan_now, False
            named, self._plan_tasks = self._plan_tasks, set()
        try:
            if plan_now or mono >= self._next_plan:
                self._timed("plan", self._plan)  # every task: the named ones too
                self._next_plan = mono + self._look_interval()
            elif named:
                self._timed("plan", self._plan, named)
            after = self._timed("cycle", self._cycle, exits, self.guard.check())
        except BaseException:
            # Not recorded: keep them (and their fail reasons) for the next iteration.
            self.node.requeue_exits(exits)
            with self._cv:
                self._plan_now = self._plan_now or plan_now or len(named) > 0
            raise
        self.node.forget_fail_reasons([eid for eid, _ in exits])
        self._timed("after", self._after, after)
        if mono >= self._next_heartbeat:
            recovery.heartbeat(self.db, self.node_id)
            recovery.adopt_orphans(self.node)
            self._next_heartbeat = mono + self.settings.heartbeat_interval
            # Deadlines written by another process (a kill request of an API server without an
            # engine, services/ops/instance_control.py) cannot wake() us: re-read the timers now and then.
            self.node.timer_due = datetime.min
        if mono >= self._next_sweep:
            self._timed("sweep", self._sweep)
            self._next_sweep = mono + self.settings.sweep_interval
        with self._cv:
            busy = self.node.has_exits() or self._woken
        if busy:
            return 0.0
        # Idle time: complete the stored handles (pids).
        # A handle usually goes with the next cycle's transaction (its attempt's end, most
        # often); one that waited HANDLE_DELAY is stored in a transaction of its own.
        age = self.node.handles_age()
        if age is not None and age >= HANDLE_DELAY:
            handles = self.node.take_handles()
            try:
                with self.db.write() as conn:
                    attempt_rows.store_handles(conn, handles)
            except BaseException:
                self.node.restore_handles(handles)
                raise
        return self._wait_seconds(mono)

    def _look_interval(self) -> float:
        """Seconds until the next full look for changed tasks: ``plan_interval``, or longer when
        the look itself is slow, so that it never takes more than 1/LOOK_SHARE of the engine's
        time (167 ms at 100,000 tasks: one look every 3.3 s instead of every second). What it
        finds are other processes' changes; this process's own submissions and status changes
        wake the engine with their tasks named and are planned at once, whatever the interval."""
        return max(self.settings.plan_interval, self._look_seconds * LOOK_SHARE)

    def _timed(self, name: str, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.stats.add(name, time.perf_counter() - t0)

    def _cycle(self, exits: list[tuple[int, int | None]], dispatch: bool = True) -> cycle.After:
        after = cycle.After()
        now = self.clock.now()
        node = self.node
        # The handles of attempts ending now go with their end's statement; the others wait
        # until they are HANDLE_DELAY old (then all in one statement): a busy loop does not pay
        # one more statement per cycle for the pid of the attempt it started the cycle before.
        ending = {eid for eid, _ in exits}
        age = node.handles_age()
        handles = node.take_handles(None if age is not None and age >= HANDLE_DELAY else ending)
        with_end = {h["eid"]: h for h in handles if h["eid"] in ending}
        try:
            with self.db.write() as conn:
                if not (self.db.is_sqlite or self.db.engine_sessions_set):
                    conn.exec_driver_sql(_OLTP_PLANS_LOCAL)
                attempt_rows.store_handles(conn, [h for h in handles if h["eid"] not in ending])
                self._cycle_tx(Tx(conn, now, node.actor), exits, dispatch, after, with_end)
        except BaseException:
            node.restore_handles(handles)
            raise
        return after

    def _cycle_tx(self, tx: Tx, exits: list[tuple[int, int | None]], dispatch: bool, after: cycle.After,
                  handles: dict[int, dict[str, Any]] | None = None) -> None:
        self._dispatch_ahead = dispatch
        # Observers called from the cycle's flushes may add their history to its statement
        # (transitions.cycle_tx; the backfill release does).
        try:
            with in_cycle(tx):
                self._cycle_steps(tx, exits, dispatch, after, handles or {})
        finally:
            self._dispatch_ahead = False

    def _cycle_steps(self, tx: Tx, exits: list[tuple[int, int | None]], dispatch: bool, after: cycle.After,
                     handles: dict[int, dict[str, Any]]) -> None:
        node, now, conn = self.node, tx.now, tx.conn
        if exits:
            cycle.finish(node, tx, exits, after, handles)
        if now >= node.timer_due:
            node.timer_due = _NEVER
            cycle.timers(node, tx, after)
            node.timer_at(cycle.next_timer(conn) or _NEVER)
        for _ in range(10):  # readiness settles in a step or two; bounded all the same
            if not tx.wake:
                break
            woken, tx.wake = tx.wake, set()
            evaluate(tx, woken)
        # Observers see this cycle's endings before dispatch, so what they make ready (a
        # backfill plan releasing its next instances, services/backfill/release.py) is
        # dispatched in this same cycle instead of one iteration later. Their rows are written
        # with the claims' at the end: one INSERT for the cycle.
        tx.flush(write=False)
        if dispatch:  # paused while the disk is full (diskguard.py): attempts still end
            cycle.dispatch(node, tx, after)
        self._dispatch_ahead = False  # what the claims' observers make ready needs a poke again
        tx.flush()  # the history, with the attempts' ends and new rows (Tx.defer, PostgreSQL)
        assert not tx.deferred, "a write deferred after the cycle's last flush"
        if tx.eligible_at is not None and (self._eligible is None or tx.eligible_at < self._eligible):
            self._eligible = tx.eligible_at

    def _after(self, after: cycle.After) -> None:
        # Starts and kills run on the launcher's thread, in this order (launcher.py). Watched
        # from now: the safety sweep must not take a queued attempt for a lost one.
        node, work = self.node, []
        for launch in after.launches:
            if launch.prepared.spec is not None:
                node.watch(launch.execution_id)
            work.append(partial(cycle.spawn, node, launch, self.guard))
        grace = self.settings.kill_grace
        work += [partial(self.executor.kill, handle, grace) for handle in after.kills]
        self._launcher.submit(work)
        self.stats.dispatched += len(after.launches)
        self.stats.finished += after.finished
        for path, text in after.footers:
            if path:
                self._write_footer(path, text)
        for run_dir, log_path in after.notebooks:
            keep_notebook(run_dir, log_path)
        self._remover.remove(after.cleanup)

    def _write_footer(self, path: str, text: str) -> None:
        """The attempt has ended and its state is committed: a footer that cannot be written is
        lost from the log file (its content is in the history and JobErrorMsg), nothing else."""
        try:
            append_log(path, text)
        except OSError as exc:
            if is_disk_full(exc):
                self.guard.full(path, exc)
            else:
                log.warning("cannot write the end of attempt to the log %s: %s", path, exc)

    def _wait_seconds(self, mono: float) -> float:
        now = self.clock.now()
        if self._eligible is not None and self._eligible <= now:
            # Unknown, or passed (what was due has been dispatched): read the next one.
            with self.db.read() as conn:
                self._eligible = conn.execute(
                    select(func.min(TI.c.scheduled_at)).where(TI.c.state == states.WAIT_RUN, TI.c.scheduled_at > now)
                ).scalar()
        wait = min(self._next_plan, self._next_heartbeat, self._next_sweep) - mono
        if self.guard.paused:
            wait = min(wait, self.guard.probe_interval)  # look for space again soon
        age = self.node.handles_age()
        if age is not None:
            wait = min(wait, HANDLE_DELAY - age)
        for t in (self._eligible, self.node.timer_due):
            if t is not None and t != _NEVER:
                wait = min(wait, real_seconds(self.clock, (t - now).total_seconds()))
        return min(max(wait, 0.0), 5.0)

    # -- planning -------------------------------------------------------------------------------

    def _plan(self, only: set[str] | None = None) -> None:
        """Plan changed tasks and move the horizon of due plans; with ``only``, plan those tasks
        if they changed and nothing else (the due plans wait for the next full look)."""
        # The look for changed tasks reads every task (167 ms at 100k tasks): while it finds
        # none, it is done once per plan_interval, not before each batch of due plans (when the
        # day rolls over, 100 batches of 1,000). A change waits no longer than it did: the
        # interval, or the batch in progress.
        look_at = 0.0
        for _ in range(100):  # bounded: a flood of submissions is planned over several iterations
            with self.db.read() as conn:
                rows: list[Any] = []
                if time.monotonic() >= look_at:
                    t0 = time.monotonic()
                    rows = self.planner.changed(conn, only)
                    if only is None:
                        self._look_seconds = time.monotonic() - t0
                    look_at = 0.0 if rows else time.monotonic() + self.settings.plan_interval
                if only is None:
                    rows = rows or self.planner.due(conn, self.clock.now())
            if not rows:
                return
            out = PlanOutcome()
            try:  # the whole batch in one transaction (fast path) ...
                with self.db.write() as conn:
                    tx = Tx(conn, self.clock.now(), self.node.actor)
                    self.planner.plan_many(tx, rows, out)
                    tx.flush()
            except Exception as exc:  # ... else task by task, so one bad definition holds up no other
                if _not_the_task(exc):
                    raise  # the database or the disk: no task's fault, the loop reports it
                out = PlanOutcome()
                for row in rows:
                    self._plan_one(row, out)
            self.stats.planned += out.created
            if out.created or out.removed or out.wake:
                self.node.timer_due = datetime.min  # new instances may carry deadlines ...
                self._eligible = datetime.min  # ... and future scheduled times
            if only is not None and len(rows) < self.planner.batch:
                return  # every named task that changed is planned: no second look

    def _plan_one(self, row: Any, out: PlanOutcome) -> None:
        try:
            with self.db.write() as conn:
                tx = Tx(conn, self.clock.now(), self.node.actor)
                self.planner.plan(tx, row, out)
                tx.flush()
        except Exception as exc:
            if _not_the_task(exc):
                raise
            log.exception("planning task %s failed", row["id"])
            with self.db.write() as conn:
                now = self.clock.now()
                tx = Tx(conn, now, self.node.actor)
                self.planner.postpone(tx, row, now + timedelta(minutes=5), "planning failed; see the server log")

    # -- safety sweep ---------------------------------------------------------------------------

    def _sweep(self) -> None:
        now = self.clock.now()
        after_id = 0
        while True:
            with self.db.write() as conn:
                tx = Tx(conn, now, self.node.actor)
                ids = waiting_ids(tx, due_before=now, after_id=after_id, limit=2000)
                if not ids:
                    break
                evaluate(tx, ids, with_bypass=True)
                if tx.wake:
                    evaluate(tx, tx.wake)
                tx.flush()
            after_id = ids[-1]
        with self.db.read() as conn:
            gone = self.planner.vanished(conn)
        for task_id in gone:
            with self.db.write() as conn:
                tx = Tx(conn, now, self.node.actor)
                self.planner.forget(tx, task_id, PlanOutcome())
                tx.flush()
        recovery.check_lost(self.node)
        self._eligible = datetime.min  # the sweep may have readied instances due later
        if not self.db.is_sqlite:  # the running counts of ListTaskInstances (PostgreSQL only)
            with self.db.write() as conn:
                instance_counts.fold(conn)
        # Owners not copied yet (instances a previous version made during an upgrade): a few
        # batches a sweep, so a large backlog never holds the loop for long.
        for _ in range(4):
            with self.db.write() as conn:
                if instance_owner.fill_missing(conn) < instance_owner.FILL_BATCH:
                    break


def _with_remote_groups(executor: Executor, db: Database, settings: Settings) -> Executor:
    """The engine's executor with the remote groups' attempts going to Celery (imported only
    when some group is remote: an engine without remote groups never loads Celery)."""
    from wedata.executors.celery import CeleryExecutor, RemoteGroups
    from wedata.storage.remote_runs import RemoteRunStore

    remote = CeleryExecutor(RemoteRunStore(db), settings.broker_url, lease=settings.worker_lease,
                            visibility_timeout=settings.broker_visibility_timeout)
    return RemoteGroups(executor, remote, settings.remote_groups)


def _not_the_task(exc: BaseException) -> bool:
    """A failure of the database or the disk rather than of what was being worked on."""
    return outage_reason(exc) is not None or is_disk_full(exc)
