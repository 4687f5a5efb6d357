"""The engine: one thread that plans, promotes, dispatches and collects, driven by events.

What wakes it: an attempt exiting (the executor's callback, within a millisecond), an in-process
``wake()`` (an API call that changed something), or the next timer it knows of (the earliest
scheduled time of a ready instance, retry time or deadline, read from indexes). Nothing is held
only in memory: instance state, claims and executor handles are in the database, so a killed
engine resumes where it stopped (recovery.py) and several engines can share one database
(claims are optimistic, ``row_version``-checked transitions).

One iteration, each step one short transaction:

1. collect exits: end attempts (COMPLETED / FAILED_RETRY / EXPIRED), and re-evaluate exactly
   the dependents whose edges that changed;
2. plan (at most every ``plan_interval`` seconds, or when woken by a submission);
3. timers: retries whose RetryWait is over go back to WAIT_RUN; deadlines (ExecutionTTL kills,
   WaitExecutionTotalTTL expiries, kill requests);
4. dispatch: free slots per resource group, RunPriority then data time, claim, spawn.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from wedata.config import Settings
from wedata.executors.base import Executor, Handle
from wedata.executors.local import LocalExecutor
from wedata.executors.outputs import collect
from wedata.scheduler import recovery
from wedata.scheduler import states as S
from wedata.scheduler.clock import real_seconds
from wedata.scheduler.definitions import DefinitionCache, TaskDef
from wedata.scheduler.planner import Planner, PlanOutcome, load_snapshot, to_wall, workflow_params
from wedata.scheduler.readiness import evaluate, waiting_ids
from wedata.scheduler.runs import (
    Prepared,
    append_log,
    log_line,
    log_path,
    prepare,
    remove_run_dir,
    render_context,
)
from wedata.scheduler.transitions import Tx, transition
from wedata.services.common import Clock
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_executions, task_instances
from wedata.storage.tables import resource_groups, tasks

log = logging.getLogger("wedata.scheduler")

TI = task_instances
E = instance_executions
KILL_PREFIX = "killed:"


@dataclass
class EngineStats:
    iterations: int = 0
    dispatched: int = 0
    finished: int = 0
    planned: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + seconds


@dataclass
class _Launch:
    execution_id: int
    instance_id: int
    prepared: Prepared


class Engine:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        executor: Executor | None = None,
        *,
        kind: str = "server",
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.executor: Executor = executor or LocalExecutor()
        self.kind = kind
        self.host = socket.gethostname()
        self.node_id = f"{self.host[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.actor = f"scheduler:{self.node_id}"[:64]
        self.defs = DefinitionCache()
        self.planner = Planner(self.load_def, horizon_days=settings.plan_horizon_days, catch_up=settings.plan_catch_up)
        self.logs_dir = settings.logs_dir
        self.run_root = settings.home / "run"
        self.work_dir = settings.home / "work"
        self.stats = EngineStats()
        self._cv = threading.Condition()
        self._exits: list[tuple[int, int | None]] = []
        self._fail_reasons: dict[int, str] = {}  # execution id -> why it failed before running
        self._pending_handles: list[dict[str, Any]] = []
        self._woken = False
        self._plan_now = True
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._next_plan = 0.0
        self._next_sweep = 0.0
        self._next_heartbeat = 0.0
        self._slots: tuple[float, dict[str, int]] = (0.0, {})

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.run_root.mkdir(parents=True, exist_ok=True)
        recovery.register_node(self.db, self.node_id, self.host, self.kind)
        self.executor.start(self._on_exit)
        recovery.adopt_orphans(self, startup=True)
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
        self.executor.close()
        recovery.unregister_node(self.db, self.node_id)

    def wake(self, *, plan: bool = False) -> None:
        """Something changed (an API call): look again now rather than at the next timer."""
        with self._cv:
            self._woken = True
            self._plan_now = self._plan_now or plan
            self._cv.notify_all()

    def _on_exit(self, execution_id: int, exit_code: int | None) -> None:
        with self._cv:
            self._exits.append((execution_id, exit_code))
            self._cv.notify_all()

    def fail_before_run(self, execution_id: int, reason: str) -> None:
        self._fail_reasons[execution_id] = reason
        self._on_exit(execution_id, None)

    def load_def(self, version_id: str) -> TaskDef:
        def load(v: str) -> Any:
            with self.db.read() as conn:
                return load_snapshot(conn, v)

        return self.defs.get(version_id, load)

    # -- the loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cv:
                if self._stopping:
                    return
                self._woken = False
            try:
                wait = self._iterate()
            except Exception:
                log.exception("engine iteration failed")
                wait = 1.0
            with self._cv:
                if not self._exits and not self._woken and not self._stopping:
                    self._cv.wait(max(0.0, wait))

    def _iterate(self) -> float:
        self.stats.iterations += 1
        mono = time.monotonic()
        with self._cv:
            exits, self._exits = self._exits, []
            plan_now, self._plan_now = self._plan_now, False
        if exits:
            self._timed("finish", self._finish, exits)
        if plan_now or mono >= self._next_plan:
            self._timed("plan", self._plan)
            self._next_plan = mono + self.settings.plan_interval
        self._timed("timers", self._timers)
        self._timed("dispatch", self._dispatch)
        if self._pending_handles:
            with self.db.write() as conn:
                self._flush_handles(conn)
        if mono >= self._next_heartbeat:
            recovery.heartbeat(self.db, self.node_id)
            recovery.adopt_orphans(self)
            self._next_heartbeat = mono + self.settings.heartbeat_interval
        if mono >= self._next_sweep:
            self._timed("sweep", self._sweep)
            self._next_sweep = mono + self.settings.sweep_interval
        return self._wait_seconds(mono)

    def _timed(self, name: str, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.stats.add(name, time.perf_counter() - t0)

    def _wait_seconds(self, mono: float) -> float:
        now = self.clock.now()
        with self.db.read() as conn:
            nexts = [
                conn.execute(select(func.min(TI.c.scheduled_at)).where(TI.c.state == S.WAIT_RUN, TI.c.scheduled_at > now)).scalar(),
                conn.execute(select(func.min(TI.c.retry_at)).where(TI.c.state == S.FAILED_RETRY)).scalar(),
                conn.execute(select(func.min(TI.c.deadline_at)).where(TI.c.deadline_at.is_not(None))).scalar(),
            ]
        wait = min(self._next_plan, self._next_heartbeat, self._next_sweep) - mono
        for t in nexts:
            if t is not None:
                wait = min(wait, real_seconds(self.clock, (t - now).total_seconds()))
        return min(max(wait, 0.0), 5.0)

    # -- planning -------------------------------------------------------------------------------

    def _plan(self) -> None:
        for _ in range(100):  # bounded: a flood of submissions is planned over several iterations
            with self.db.read() as conn:
                rows = self.planner.changed(conn) or self.planner.due(conn, self.clock.now())
            if not rows:
                return
            out = PlanOutcome()
            for row in rows:
                try:
                    with self.db.write() as conn:
                        tx = Tx(conn, self.clock.now(), self.actor)
                        self.planner.plan(tx, row, out)
                        tx.flush()
                except Exception:
                    log.exception("planning task %s failed", row["id"])
                    with self.db.write() as conn:
                        self.planner._save(Tx(conn, self.clock.now(), self.actor), row["id"], row["prod_version_id"],
                                           row["status"], row["planned_through"], self.clock.now() + timedelta(minutes=5),
                                           "planning failed; see the server log")
            self.stats.planned += out.created

    # -- timers ---------------------------------------------------------------------------------

    def _timers(self) -> None:
        now = self.clock.now()
        kills: list[tuple[int, Handle]] = []
        with self.db.write() as conn:
            tx = Tx(conn, now, self.actor)
            retry = conn.execute(
                select(TI).where(TI.c.state == S.FAILED_RETRY, TI.c.retry_at <= now).limit(500)
            ).mappings().all()
            for r in retry:
                transition(tx, r, S.WAIT_RUN, "retry wait over", {"retry_at": None, "wait_since": now})
            if retry:
                evaluate(tx, [r["id"] for r in retry])
            due = conn.execute(select(TI).where(TI.c.deadline_at <= now).limit(500)).mappings().all()
            for r in due:
                if r["state"] == S.RUNNING:
                    kills.extend(self._deadline_kill(tx, r))
                elif r["state"] in S.PENDING:
                    msg = "waited longer than WaitExecutionTotalTTL"
                    transition(tx, r, S.EXPIRED, msg, {"deadline_at": None, "retry_at": None, "error_msg": msg,
                                                       "ended_at": now})
                else:
                    conn.execute(update(TI).where(TI.c.id == r["id"]).values(deadline_at=None))
            tx.flush()
            if tx.wake:
                evaluate(tx, tx.wake)
                tx.flush()
        for _eid, handle in kills:
            self.executor.kill(handle, self.settings.kill_grace)

    def _deadline_kill(self, tx: Tx, inst: Mapping[Any, Any]) -> list[tuple[int, Handle]]:
        ex = tx.conn.execute(
            select(E.c.id, E.c.handle, E.c.error_msg).where(E.c.instance_id == inst["id"], E.c.state == S.RUNNING)
        ).first()
        tx.conn.execute(
            update(TI).where(TI.c.id == inst["id"]).values(deadline_at=None, row_version=TI.c.row_version + 1)
        )
        if ex is None:
            return []
        reason = ex.error_msg if ex.error_msg and ex.error_msg.startswith(KILL_PREFIX) else f"{KILL_PREFIX} execution timeout (ExecutionTTL)"
        tx.conn.execute(update(E).where(E.c.id == ex.id).values(error_msg=reason))
        handle = ex.handle or {"run_dir": str(self.run_root / str(ex.id))}
        return [(ex.id, handle)]

    # -- dispatch -------------------------------------------------------------------------------

    def _slot_limits(self) -> dict[str, int]:
        at, cached = self._slots
        if time.monotonic() - at < 5.0:
            return cached
        with self.db.read() as conn:
            limits = {rid: int(n) for rid, n in conn.execute(select(resource_groups.c.id, resource_groups.c.max_concurrency))}
        self._slots = (time.monotonic(), limits)
        return limits

    def _dispatch(self) -> None:
        now = self.clock.now()
        limits = self._slot_limits()
        default = self.settings.default_slots
        launches: list[_Launch] = []
        with self.db.write() as conn:
            self._flush_handles(conn)
            tx = Tx(conn, now, self.actor)
            cands = conn.execute(
                select(TI, tasks.c.prod_version_id.label("prod_version"))
                .join(tasks, tasks.c.id == TI.c.task_id)
                .where(TI.c.state == S.WAIT_RUN, TI.c.scheduled_at <= now, tasks.c.status == "Y")
                .order_by(TI.c.priority, TI.c.data_time, TI.c.id)
                .limit(500)
            ).mappings().all()
            if not cands:
                return
            running_groups: dict[str, int] = {}
            for group_id, n in conn.execute(
                select(TI.c.resource_group_id, func.count()).where(TI.c.state == S.RUNNING).group_by(TI.c.resource_group_id)
            ):
                running_groups[group_id or ""] = running_groups.get(group_id or "", 0) + n
            busy_tasks = {
                r[0] for r in conn.execute(select(TI.c.task_id).where(TI.c.state == S.RUNNING).distinct())
            }
            wf_params: dict[str, dict[str, str]] = {}
            for c in cands:
                tdef = self._def_for(c)
                if tdef is None:
                    continue
                if tdef.dry_run:
                    self._dry_run(tx, c)
                    continue
                group = c["resource_group_id"] or ""
                limit = limits.get(group, default) if group else default
                if running_groups.get(group, 0) >= limit:
                    continue
                if c["self_depend"] != "parallel" and c["task_id"] in busy_tasks:
                    continue
                launch = self._claim(tx, c, tdef, wf_params)
                if launch is None:
                    continue
                launches.append(launch)
                running_groups[group] = running_groups.get(group, 0) + 1
                busy_tasks.add(c["task_id"])
            tx.flush()
        t0 = time.perf_counter()
        for launch in launches:
            self._spawn(launch)
        self.stats.add("spawn", time.perf_counter() - t0)
        self.stats.dispatched += len(launches)

    def _def_for(self, inst: Mapping[Any, Any]) -> TaskDef | None:
        # The current submitted version runs (WeData runs what is in production now).
        for version in (inst.get("prod_version"), inst["version_id"]):
            if version:
                try:
                    return self.load_def(version)
                except ValueError:
                    continue
        return None

    def _dry_run(self, tx: Tx, inst: Mapping[Any, Any]) -> None:
        run_type = inst["run_type"] + "_SKIP_RUN" if not inst["run_type"].endswith("_SKIP_RUN") else inst["run_type"]
        tries = inst["tries"] + 1
        if not transition(tx, inst, S.COMPLETED, "dry run (ScheduleType 1): not executed", {
            "tries": tries, "total_run_num": inst["total_run_num"] + 1, "started_at": tx.now, "ended_at": tx.now,
            "cost_ms": 0, "deadline_at": None, "run_type": run_type,
        }):
            return
        path = log_path(self.logs_dir, inst["task_id"], inst["data_time"], inst["life_round_num"])
        append_log(path, log_line(tx.now, "INFO", "dry run (ScheduleType 1): the task is set to success without executing"))
        tx.conn.execute(insert(E).values(
            instance_id=inst["id"], life_round_num=inst["life_round_num"], try_no=tries, run_type=run_type,
            state="COMPLETE", started_at=tx.now, ended_at=tx.now, log_path=str(path), log_offset=0,
            node_id=self.node_id,
        ))

    def _claim(self, tx: Tx, inst: Mapping[Any, Any], tdef: TaskDef, wf_params: dict[str, dict[str, str]]) -> _Launch | None:
        now = tx.now
        tries = inst["tries"] + 1
        ttl = tdef.execution_ttl_minutes
        values = {
            "tries": tries,
            "total_run_num": inst["total_run_num"] + 1,
            "started_at": now,
            "ended_at": None,
            "cost_ms": None,
            "error_msg": None,
            "retry_at": None,
            "claimed_by": self.node_id,
            "deadline_at": now + timedelta(minutes=ttl) if ttl > 0 else None,
            "try_limit": tdef.try_limit,
        }
        if not transition(tx, inst, S.RUNNING, f"attempt {tries} started", values):
            return None
        path = log_path(self.logs_dir, inst["task_id"], inst["data_time"], inst["life_round_num"])
        offset = append_log(path, log_line(now, "INFO", f"attempt {tries} of {tdef.try_limit} "
                                                       f"(life round {inst['life_round_num']}) on {self.host}"))
        eid = tx.conn.execute(
            insert(E).values(
                instance_id=inst["id"], life_round_num=inst["life_round_num"], try_no=tries, run_type=inst["run_type"],
                state=S.RUNNING, started_at=now, log_path=str(path), log_offset=offset, executor=self.executor.name,
                host=self.host, node_id=self.node_id,
            ).returning(E.c.id)
        ).scalar_one()
        if inst["workflow_id"] not in wf_params:
            wf_params[inst["workflow_id"]] = workflow_params(tx.conn, inst["workflow_id"])
        prepared = prepare(
            tx.conn, tdef, inst, eid,
            scheduled_wall=to_wall(inst["scheduled_at"], tdef.zone),
            workflow_params=wf_params[inst["workflow_id"]],
            log_file=path, run_root=self.run_root, cwd=self.work_dir,
        )
        tx.conn.execute(update(E).where(E.c.id == eid).values(code_content=prepared.code))
        return _Launch(eid, inst["id"], prepared)

    def _spawn(self, launch: _Launch) -> None:
        spec = launch.prepared.spec
        if spec is None:
            self.fail_before_run(launch.execution_id, launch.prepared.error or "the attempt could not be prepared")
            return
        try:
            handle = self.executor.submit(spec)
        except Exception as exc:  # OSError, ExecutorError: the attempt fails, the engine goes on
            self.fail_before_run(launch.execution_id, f"could not start the process: {exc}")
            return
        self._pending_handles.append({"eid": launch.execution_id, "handle": handle, "pid": handle.get("pid")})

    def _flush_handles(self, conn: Any) -> None:
        if not self._pending_handles:
            return
        from sqlalchemy import bindparam

        conn.execute(
            update(E).where(E.c.id == bindparam("eid")).values(handle=bindparam("handle"), pid=bindparam("pid")),
            self._pending_handles,
        )
        self._pending_handles = []

    # -- attempts ending --------------------------------------------------------------------------

    def _finish(self, exits: list[tuple[int, int | None]]) -> None:
        codes = dict(exits)
        footers: list[tuple[str, str]] = []
        cleanup: list[str] = []
        with self.db.write() as conn:
            self._flush_handles(conn)
            now = self.clock.now()
            tx = Tx(conn, now, self.actor)
            ids = list(codes)
            rows: list[Any] = []
            for i in range(0, len(ids), 500):
                rows.extend(conn.execute(
                    select(TI, tasks.c.prod_version_id.label("prod_version"), E.c.id.label("eid"),
                           E.c.state.label("e_state"), E.c.log_path, E.c.log_offset, E.c.error_msg.label("e_error"),
                           E.c.started_at.label("e_started"))
                    .select_from(E.join(TI, TI.c.id == E.c.instance_id).outerjoin(tasks, tasks.c.id == TI.c.task_id))
                    .where(E.c.id.in_(ids[i : i + 500]))
                ).mappings().all())
            for r in rows:
                if r["e_state"] != S.RUNNING or r["state"] != S.RUNNING:
                    continue  # already ended (e.g. set to success meanwhile)
                code = codes[r["eid"]]
                footer = self._end_attempt(tx, r, code)
                footers.append((r["log_path"], footer))
                cleanup.append(str(self.run_root / str(r["eid"])))
            tx.flush()
            if tx.wake:
                evaluate(tx, tx.wake)
                tx.flush()
        for path, text in footers:
            if path:
                append_log(path, text)
        for d in cleanup:
            remove_run_dir(d)
        self.stats.finished += len(footers)

    def _end_attempt(self, tx: Tx, r: Mapping[Any, Any], code: int | None) -> str:
        now = tx.now
        pre_failure = self._fail_reasons.pop(r["eid"], None)
        killed = r["e_error"] if r["e_error"] and r["e_error"].startswith(KILL_PREFIX) else None
        tdef = self._def_for(r)
        started = r["e_started"] or now
        cost = int((now - started).total_seconds() * 1000)
        common = {"ended_at": now, "cost_ms": cost, "deadline_at": None, "claimed_by": None}
        if code == 0 and not killed and not pre_failure:
            outputs: dict[str, str] = {}
            missing: dict[str, str] = {}
            if tdef is not None and r["log_path"]:
                ctx = render_context(tdef, r, to_wall(r["scheduled_at"], tdef.zone), {}, {})
                got = collect(r["log_path"], r["log_offset"] or 0, tdef.out_params, ctx)
                outputs, missing = got.values, got.missing
            tx.conn.execute(update(E).where(E.c.id == r["eid"]).values(state="COMPLETE", ended_at=now, exit_code=0))
            transition(tx, r, S.COMPLETED, "attempt succeeded", {**common, "outputs": outputs or None})
            lines = [log_line(now, "WARN", f"output parameter {k} not produced: {why}") for k, why in missing.items()]
            return "".join(lines) + log_line(now, "INFO", f"exit code 0; instance COMPLETED after {cost} ms")
        if pre_failure:
            reason = pre_failure
        elif killed:
            reason = killed[len(KILL_PREFIX):].strip()
        elif code is None:
            reason = "the process was lost (no exit status; e.g. killed while no scheduler watched it)"
        else:
            reason = f"exit code {code}"
        retry_left = r["tries"] < r["try_limit"] and not killed
        wait_min = tdef.retry_wait_minutes if tdef else 5
        msg = "the user code or execution environment raised an exception: " + reason
        if retry_left:
            state, detail = S.FAILED_RETRY, "FAILED"
            values = {**common, "retry_at": now + timedelta(minutes=wait_min), "error_msg": msg}
            tail = f"instance FAILED_RETRY, retry {r['tries'] + 1} of {r['try_limit']} in {wait_min} minute(s)"
        else:
            state, detail = S.EXPIRED, "EXPIRED"
            values = {**common, "retry_at": None, "error_msg": msg}
            tail = "instance EXPIRED" + ("" if killed else f" (no retry left of {r['try_limit']} tries)")
        tx.conn.execute(update(E).where(E.c.id == r["eid"]).values(
            state=detail, ended_at=now, exit_code=code, error_msg=(killed or reason)[:2000]))
        transition(tx, r, state, reason[:500], values)
        return log_line(now, "ERROR", f"{reason}; {tail}")

    # -- safety sweep ---------------------------------------------------------------------------

    def _sweep(self) -> None:
        now = self.clock.now()
        after = 0
        while True:
            with self.db.write() as conn:
                tx = Tx(conn, now, self.actor)
                ids = waiting_ids(tx, due_before=now, after_id=after, limit=2000)
                if not ids:
                    break
                evaluate(tx, ids, with_bypass=True)
                tx.flush()
                if tx.wake:
                    evaluate(tx, tx.wake)
                    tx.flush()
            after = ids[-1]
        with self.db.read() as conn:
            gone = self.planner.vanished(conn)
        for task_id in gone:
            with self.db.write() as conn:
                tx = Tx(conn, now, self.actor)
                self.planner.forget(tx, task_id, PlanOutcome())
                tx.flush()
        recovery.check_lost(self)


def next_timer(values: list[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None
