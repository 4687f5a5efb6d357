"""Data backfill plans (补录, spec §1 G, §2.8, §3.12): CreateDataBackfillPlan, GetDataBackfillPlan,
ListDataBackfillInstances, DeleteDataBackfillPlanAsync.

A plan re-executes (or creates) THE instances of its tasks' data times inside the ranges and lets
the engine run them under the plan's rules. The parts:

- build.py: request validation, tasks, data times, release order (reads only);
- create.py: the plan written in one transaction (instances, edges, members);
- release.py: the gate that holds members, and the release pass (parallelism, order,
  dependencies, a slot kept for the periodic schedule);
- delete.py: DeleteDataBackfillPlanAsync's job.

Reads return domain records (:class:`PlanDetail`, ``Paged[MemberRun]``); actions/backfill/wire.py
renders them.

How the engine drives plans: this service observes the transition function
(``scheduler.observers``). When a member instance ends, inside the engine's transaction, the
member is marked done and a release pass lets the next ones go; the in-process engine is woken
so it dispatches them at once. A watchdog thread (in processes that run an engine) repeats the
pass every few seconds and reconciles anything missed. The full contract, with the decisions
where the spec is silent, is docs/backfill.md.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.scheduler.api import Change, SchedulerApi, TaskDef, Tx, cycle_tx, observe, states
from wedata.services.backfill import build
from wedata.services.backfill import create as plan_writes
from wedata.services.backfill import release as plan_release
from wedata.services.backfill.delete import ASYNC_TYPE, DeletePlanKind, stop_plan
from wedata.services.common import Paged, new_uuid, page
from wedata.services.errors import NotFound, OperationFailed, Unsupported
from wedata.spec import models as M
from wedata.storage import tables as T
from wedata.storage.backfill_tables import backfill_members, backfill_plans
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances
from wedata.storage.savepoints import savepoint

log = logging.getLogger("wedata.backfill")

BM, BP, TI = backfill_members, backfill_plans, task_instances
WATCHDOG_SECONDS = 3.0
_ACTIVE_TTL = 1.0  # seconds the "no plan is running" answer is trusted by the observer


class _Jobs(Protocol):
    def register(self, async_type: str, kind: Any) -> None: ...

    def create(self, project_id: str, async_type: str, caller_uin: str, keys: Sequence[str],
               params: dict[str, Any] | None = None) -> str: ...


@dataclass(frozen=True, slots=True)
class PlanDetail:
    """GetDataBackfillPlan: the stored plan (``backfill_plans`` row), when its first member
    started (done or running now), and the caller's zone as checked."""

    plan: Mapping[str, Any]
    first_started: datetime | None
    zone: str | None

    @property
    def complete_percent(self) -> int:
        total = self.plan["total_count"]
        return int(self.plan["done_count"]) * 100 // total if total else 100

    @property
    def success_percent(self) -> int:
        total = self.plan["total_count"]
        return int(self.plan["success_count"]) * 100 // total if total else 100


@dataclass(frozen=True, slots=True)
class MemberRun:
    """One (task, data time) of a plan as ListDataBackfillInstances shows it: the outcome of the
    plan's own round (times are UTC, ``cost_ms`` milliseconds)."""

    task_name: str | None
    task_id: str
    data_time: datetime
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    cost_ms: int | None


@dataclass(frozen=True, slots=True)
class Preview:
    """What CreateDataBackfillPlan would do with a request, read without writing (the console's
    backfill form shows it; the API has no dry run). ``count`` is the plan's TotalCount: the
    instances it would hold, ``new`` of them created, ``redo`` run again, ``adopt`` taken while
    they wait. ``skipped`` have run and their task's AllowRedoType keeps them out; ``busy``
    (running or waiting for a retry) and ``in_plan`` (held by a live plan) would refuse the plan."""

    count: int
    new: int
    redo: int
    adopt: int
    skipped: int
    busy: int
    in_plan: int
    per_task: dict[str, int]


class BackfillService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, scheduler: SchedulerApi,
                 jobs: _Jobs | None = None) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.scheduler = scheduler
        self._rules: dict[str, plan_release.PlanRules] = {}
        self._slots: tuple[float, dict[str, int]] = (-1e9, {})
        # (when, any plan running, SchedulerApi.notified then): see _maybe_active.
        self._active: tuple[float, bool, int] = (-1e9, True, -1)
        self._watchdog: threading.Thread | None = None
        self._lock = threading.Lock()
        self.jobs = jobs
        if jobs is not None:
            jobs.register(ASYNC_TYPE, DeletePlanKind(clock, self.load_def))
        observe(db.engine, "backfill", self._on_transitions)

    # -- shared helpers -------------------------------------------------------------------------

    def load_def(self, version_id: str) -> TaskDef:
        return self.scheduler.load_def(version_id)

    def slots(self, group: str) -> int:
        """The engine's concurrency of a resource group ("" = the default group), as dispatch
        computes it (cached for a few seconds like the engine's own copy)."""
        at, limits = self._slots
        if time.monotonic() - at > 5.0:
            with self.db.read() as conn:
                limits = {rid: int(n) for rid, n in conn.execute(
                    select(T.resource_groups.c.id, T.resource_groups.c.max_concurrency))}
            self._slots = (time.monotonic(), limits)
        default = self.settings.default_slots
        return limits.get(group, default) if group else default

    def _wake_engine(self) -> None:
        self.scheduler.notify(Change.INSTANCES)

    def _engine_here(self) -> bool:
        return self.scheduler.engine_here

    # -- CreateDataBackfillPlan ----------------------------------------------------------------

    def create_plan(self, req: Any, caller_uin: str) -> str:
        parsed = build.parse_request(req)
        self._require_task_mode(parsed.project_id)
        for attempt in range(3):
            try:
                plan_id = self._create_once(parsed, caller_uin)
                break
            except (plan_writes.Conflict, IntegrityError):
                if attempt == 2:
                    raise OperationFailed("The instances changed while the plan was being created; retry.") from None
        self._active = (time.monotonic(), True, self.scheduler.notified)
        self._wake_engine()
        self._ensure_watchdog()
        return plan_id

    def _create_once(self, req: build.PlanRequest, caller_uin: str) -> str:
        plan_id = new_uuid()
        with self.db.write() as conn:
            now = self.clock.now()
            tasks, members, problems = plan_writes.build_members(conn, req, self.load_def)
            row = plan_writes.plan_row(plan_id, req, tasks, members, problems, caller_uin, now)
            tx = Tx(conn, now, caller_uin)
            plan_writes.write_plan(tx, row, members, req, self.load_def)
            plan_release.release_and_finish(conn, now, self._rules, self.slots, caller_uin, [plan_id])
        return plan_id

    def preview(self, req: Any) -> Preview:
        """CreateDataBackfillPlan's members for ``req`` (a CreateDataBackfillPlanRequest), counted
        and written nowhere: the same validation, tasks, data times and classification as
        :meth:`create_plan` (``create.build_members``), so the same errors. Its cost is bounded
        like a plan's: data times are pure (a month of a minute task in milliseconds) and at most
        ``build.MAX_MEMBERS``; the instances are read with the few columns the decision needs,
        one index range per task. The caller (the console) has checked membership."""
        parsed = build.parse_request(req)
        self._require_task_mode(parsed.project_id)
        with self.db.read() as conn:
            _, members, problems = plan_writes.build_members(conn, parsed, self.load_def, preview=True)
        kinds = {"new": 0, "redo": 0, "adopt": 0}
        per_task: dict[str, int] = dict.fromkeys(parsed.task_ids, 0)
        for m in members:
            kinds[m.kind] += 1
            per_task[m.want.task.task_id] += 1
        return Preview(len(members), kinds["new"], kinds["redo"], kinds["adopt"], problems.skipped,
                       len(problems.busy), len(problems.in_plan), per_task)

    def _require_task_mode(self, project_id: str) -> None:
        with self.db.read() as conn:
            mode = conn.execute(select(T.projects.c.schedule_mode).where(T.projects.c.id == project_id)).scalar()
        if mode == "workflow":
            raise Unsupported(f"The project {project_id} schedules workflows: it has no data backfill (use a "
                              "manual workflow run instead).")

    # -- GetDataBackfillPlan -------------------------------------------------------------------

    def _plan(self, conn: Connection, project_id: str, plan_id: str) -> Any:
        row = conn.execute(
            select(BP).where(BP.c.id == plan_id, BP.c.project_id == project_id, BP.c.status.in_(("RUNNING", "DONE")))
        ).mappings().first()
        if row is None:
            raise NotFound(f"The data backfill plan {plan_id} does not exist in the project {project_id}.")
        return row

    def get_plan(self, project_id: str, plan_id: str, zone: str | None) -> PlanDetail:
        from wedata.services.instances.query import check_zone

        zone = check_zone(zone)
        with self.db.read() as conn:
            plan = self._plan(conn, project_id, plan_id)
            # Members done carry the plan's progress (kept as they end); the ones running now
            # (at most the parallelism) may have started before any of them.
            running_since = conn.execute(
                select(func.min(TI.c.started_at))
                .select_from(BM.join(TI, TI.c.id == BM.c.instance_id))
                .where(BM.c.plan_id == plan_id, BM.c.status == plan_release.RELEASED, TI.c.life_round_num == BM.c.life_round_num)
            ).scalar()
        starts = [t for t in (plan["started_at"], running_since) if t is not None]
        return PlanDetail(plan, min(starts) if starts else None, zone)

    # -- the console's plan list (the API has no action listing plans) --------------------------

    def plan_ids(self, project_id: str, limit: int = 20, offset: int = 0) -> tuple[list[str], int]:
        """The ids of the project's plans (running or done), newest first, one page of them, and
        how many there are. The console asks after an action checked membership, then reads each
        plan through GetDataBackfillPlan."""
        cond = (BP.c.project_id == project_id, BP.c.status.in_(("RUNNING", "DONE")))
        with self.db.read() as conn:
            ids = conn.execute(
                select(BP.c.id).where(*cond).order_by(BP.c.created_at.desc(), BP.c.id)
                .limit(max(1, min(200, limit))).offset(max(0, offset))
            ).scalars().all()
            total = conn.execute(select(func.count()).select_from(BP).where(*cond)).scalar_one()
        return list(ids), int(total)

    # -- ListDataBackfillInstances -------------------------------------------------------------

    def list_instances(self, req: M.ListDataBackfillInstancesRequest) -> Paged[MemberRun]:
        pg = page(req.page_number, req.page_size, default_size=10, min_size=1, max_size=200)
        with self.db.read() as conn:
            plan = self._plan(conn, req.project_id, req.data_backfill_plan_id)
            if req.task_id not in plan["task_ids"]:
                raise NotFound(f"The task {req.task_id} is not part of the data backfill plan {plan['id']}.")
            rule = (plan["config"].get("tasks") or {}).get(req.task_id) or {}
            order = BM.c.data_time.asc() if rule.get("asc", True) else BM.c.data_time.desc()
            cond = (BM.c.plan_id == plan["id"], BM.c.task_id == req.task_id)
            rows = conn.execute(
                select(BM.c.data_time, BM.c.status, BM.c.final_state, BM.c.started_at, BM.c.ended_at, BM.c.cost_ms,
                       BM.c.life_round_num.label("m_round"), TI.c.state, TI.c.life_round_num, TI.c.started_at.label(
                           "i_started"), TI.c.ended_at.label("i_ended"), TI.c.cost_ms.label("i_cost"),
                       T.tasks.c.name)
                .select_from(BM.outerjoin(TI, TI.c.id == BM.c.instance_id).outerjoin(T.tasks, T.tasks.c.id == BM.c.task_id))
                .where(*cond).order_by(order).limit(pg.size).offset(pg.offset)
            ).mappings().all()
            total = conn.execute(select(func.count()).select_from(BM).where(*cond)).scalar_one()
        return Paged([self._run(req.task_id, r) for r in rows], pg, int(total))

    @staticmethod
    def _run(task_id: str, r: Mapping[Any, Any]) -> MemberRun:
        if r["status"] == plan_release.DONE:  # the outcome of the plan's round, as copied when it ended
            state, started, ended, cost = r["final_state"], r["started_at"], r["ended_at"], r["cost_ms"]
        elif r["state"] is None:  # the instance was removed (e.g. its task taken offline)
            state, started, ended, cost = states.EXPIRED, None, None, None
        elif r["life_round_num"] == r["m_round"]:
            state, started = r["state"], r["i_started"]
            ended_ = state in states.TERMINAL or state == states.FAILED_RETRY
            ended, cost = (r["i_ended"], r["i_cost"]) if ended_ else (None, None)
        else:  # moved on to a later round before the plan saw the end of its own
            state, started, ended, cost = r["state"], None, None, None
        return MemberRun(r["name"], task_id, r["data_time"], state, started, ended, cost)

    # -- DeleteDataBackfillPlanAsync -----------------------------------------------------------

    def delete_plan(self, project_id: str, plan_id: str, caller_uin: str) -> str:
        if self.jobs is None:
            raise Unsupported("Asynchronous operations are not available in this process.")
        with self.db.write() as conn:
            plan = self._plan(conn, project_id, plan_id)
            if conn.dialect.name == "postgresql":  # serialise with releases of this plan
                conn.execute(select(BP.c.id).where(BP.c.id == plan["id"]).with_for_update())
            keys = stop_plan(conn, plan["id"], self.clock.now(), caller_uin)
        self._rules.pop(plan_id, None)
        return self.jobs.create(project_id, ASYNC_TYPE, caller_uin, keys, {"DataBackfillPlanId": plan_id})

    # -- driving the engine --------------------------------------------------------------------

    def _maybe_active(self, conn: Connection) -> bool:
        """Whether any plan runs, asked at most once per ``_ACTIVE_TTL``. A "no" is trusted only
        while no change was notified since: a plan created by another process (the API beside
        the server's engine process) reaches this one as a wake, and its first ends must
        release the next members at once, not after the TTL or the watchdog."""
        at, active, seen = self._active
        notified = self.scheduler.notified
        if time.monotonic() - at < _ACTIVE_TTL and (active or seen == notified):
            return active
        active = plan_release.any_running(conn)
        self._active = (time.monotonic(), active, notified)
        return active

    def _on_transitions(self, conn: Connection, changes: Sequence[Mapping[str, Any]]) -> None:
        """The transition observer: inside the transaction of whoever changed the instances."""
        ended = [c["instance_id"] for c in changes if c["to_state"] in states.TERMINAL]
        if not ended:
            return
        # First: a plan created by another process (the API beside the server's engine process)
        # is not in this process's "is any plan running" answer until it expires; the watchdog
        # then releases what this pass skipped.
        self._ensure_watchdog()
        released: list[int] = []
        # Inside the engine's cycle its statement carries the release's history (cycle_tx).
        outer = cycle_tx(conn)
        mark = len(outer.deferred) if outer is not None else 0
        try:
            if not self._maybe_active(conn):
                return
            with savepoint(conn):
                plan_release.mark_done(conn, ended)
                released = plan_release.release_and_finish(conn, self.clock.now(), self._rules, self.slots, "backfill",
                                                           into=outer)
        except Exception:
            if outer is not None:
                del outer.deferred[mark:]  # the savepoint undid the moves: not their history either
            log.exception("backfill: releasing after %d ended instance(s) failed; the watchdog retries", len(ended))
        if released:
            self._wake_engine()

    def tick(self) -> int:
        """The watchdog's pass: reconcile, release, finish. Returns the number released."""
        with self.db.write() as conn:
            if not self._maybe_active(conn):
                return 0
            plan_release.reconcile(conn)
            released = plan_release.release_and_finish(conn, self.clock.now(), self._rules, self.slots, "backfill")
        if released:
            self._wake_engine()
        return len(released)

    def _ensure_watchdog(self) -> None:
        if self._watchdog is not None and self._watchdog.is_alive():
            return
        if not self._engine_here():
            return
        with self._lock:
            if self._watchdog is not None and self._watchdog.is_alive():
                return
            ref = weakref.ref(self)
            self._watchdog = threading.Thread(target=_watch, args=(ref,), name="wedata-backfill", daemon=True)
            self._watchdog.start()


def _watch(ref: weakref.ref[BackfillService]) -> None:
    """Runs while an engine is attached in this process and the service is alive."""
    while True:
        time.sleep(WATCHDOG_SECONDS)
        svc = ref()
        if svc is None or not svc._engine_here():
            return
        try:
            svc.tick()
        except Exception as exc:
            if not svc.db.health.failed(exc, "the backfill watchdog"):  # an outage: once per state change
                log.exception("backfill watchdog pass failed")
        else:
            svc.db.health.ok()
        del svc


__all__ = ["BackfillService", "MemberRun", "PlanDetail", "Preview"]
