"""Production task status operations (spec §1 E, §2.6, §3.1): PauseOpsTasksAsync,
StopOpsTasksAsync, StartOpsTasks, UpdateOpsTasksOwner.

The status lives in ``tasks.status`` and the engine honours it by itself: the dispatcher only
starts instances of tasks in Y, and the planner (scheduler/planner.py) reconciles a changed
status: a paused task (O) keeps its instances, held back, and gets no new ones; an offline task
(T, F) loses its instances that never started and its pending retries end EXPIRED, while a
running attempt finishes. These operations set the status (and wake the engine), and add:

- Pause: Y -> O. With ``KillInstance`` every live instance of the task is killed as well
  (waiting ones end EXPIRED, running ones are killed by the engine); the item is done when
  they have ended. An offline task cannot be paused (a failed item); a paused one stays paused.
- Stop: -> T, then F once the kills asked for (``KillInstance``, default false) have taken
  hold; without it the engine's take-down applies (running attempts finish).
- Start (synchronous): -> Y. ``EnableDataBackfill`` (default false) decides what becomes of
  the instances whose scheduled time fell between the pause (or stop) and now: false marks
  those that never started SKIP_RUNNING (not run; their downstream instances are released, as
  WeData's "not backfilled" implies), true runs them all, in the task's usual order. So that
  every data time of the pause has an instance either way, the task's plan is extended in the
  same transaction (the engine's Planner), not later by the engine.
- UpdateOpsTasksOwner (synchronous): the task's owner (GetTask, GetOpsTask, ListOpsTasks).

Each of them records ``LastOpsTime``/``LastOpsUserName`` on the task. Tasks never submitted
are not production tasks: ResourceNotFound, up front, as GetOpsTask answers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from wedata.clock import Clock
from wedata.config import Settings
from wedata.scheduler.api import Change, SchedulerApi, Tx, states, transition
from wedata.services.errors import InvalidValue, NotFound
from wedata.services.jobs import ACTING, FAIL, SUCCESS, ItemFailed, Job, JobKind, OpsJobService, Outcome
from wedata.services.ops.instance_control import KillWatch, kill_task_instances, settle_readiness
from wedata.storage import instance_owner
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances, task_plans
from wedata.storage.ops_tables import ops_task_pauses

log = logging.getLogger("wedata.ops")
t, TI, P, PAUSES = T.tasks, task_instances, task_plans, ops_task_pauses
PAUSE, STOP = "TASK_PAUSE", "TASK_STOP"
MAX_TASKS = 1000
OFFLINE = ("F", "T", "INVALID")
_WORDS = {"O": "paused (O)", "F": "offline (F)", "T": "going offline (T)", "INVALID": "invalid (INVALID)"}


def check_task_ids(ids: Sequence[str] | None) -> list[str]:
    seen: dict[str, None] = {}  # linear, and stops at the limit (issue 15)
    for raw in ids or []:
        text = raw.strip()
        if not text:
            raise InvalidValue("TaskIds must not contain empty ids")
        seen[text] = None
        if len(seen) > MAX_TASKS:
            raise InvalidValue(f"TaskIds may name at most {MAX_TASKS} tasks, got more")
    if not seen:
        raise InvalidValue("TaskIds must name at least one task")
    return list(seen)


def require_prod_tasks(conn: Connection, project_id: str, ids: list[str]) -> None:
    found = {
        r[0] for r in conn.execute(
            select(t.c.id).where(t.c.project_id == project_id, t.c.id.in_(ids), t.c.prod_version_id.is_not(None))
        )
    }
    missing = [i for i in ids if i not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise NotFound(f"The task(s) {shown} do not exist in production in the project {project_id} "
                       "(never submitted, or deleted).")


def user_name(conn: Connection, project_id: str, uin: str) -> str:
    m = T.project_members
    name = conn.execute(
        select(m.c.user_name).where(m.c.project_id == project_id, m.c.user_uin == uin)
    ).scalar_one_or_none()
    return name or uin


def set_status(conn: Connection, task_id: str, status: str, project_id: str, caller: str, now: datetime,
               *, only_from: Sequence[str] | None = None) -> bool:
    q = update(t).where(t.c.id == task_id)
    if only_from is not None:
        q = q.where(t.c.status.in_(only_from))
    return conn.execute(q.values(status=status, last_ops_at=now,
                                 last_ops_user_name=user_name(conn, project_id, caller))).rowcount == 1


def record_pause(conn: Connection, task_id: str, status: str, now: datetime, caller: str) -> None:
    conn.execute(delete(PAUSES).where(PAUSES.c.task_id == task_id))
    conn.execute(insert(PAUSES).values(task_id=task_id, status=status, paused_at=now, paused_by=caller))


def _task(conn: Connection, task_id: str) -> Any:
    row = conn.execute(select(t.c.id, t.c.status, t.c.prod_version_id).where(t.c.id == task_id)).first()
    if row is None or row.prod_version_id is None:
        raise ItemFailed("the task no longer exists in production")
    return row


class _StatusKind(JobKind):
    """Shared by pause and stop: kill the task's live instances when asked, wait for them."""

    verb = ""

    def __init__(self, clock: Clock, settings: Settings) -> None:
        self.clock = clock
        self.watch = KillWatch(clock, settings)

    def reason(self, job: Job) -> str:
        # Each operation in its own words (issue 16): a pause kills, a stop takes offline.
        what = "stopped by user {u}: the task was taken offline" if self.verb.startswith("Stop") else \
            "killed by user {u}: the task was paused"
        return f"{what.format(u=job.caller)} ({self.verb}, KillInstance)"

    def kill_all(self, conn: Connection, job: Job, task_id: str, *, running_too: bool = True) -> int:
        tx = Tx(conn, self.clock.now(), job.caller)
        requested = kill_task_instances(tx, task_id, self.reason(job), running_too=running_too)
        settle_readiness(tx)
        for iid in requested:
            self.watch.asked(iid)
        return len(requested)

    def still_running(self, conn: Connection, job: Job, task_id: str) -> list[Mapping[Any, Any]]:
        """The task's attempts that have not ended yet (reminding the engine to kill them)."""
        if not job.params.get("kill"):
            return []
        # A retry that appeared meanwhile (an attempt that failed on its own) ends too.
        self.kill_all(conn, job, task_id, running_too=False)
        rows = conn.execute(select(TI).where(TI.c.task_id == task_id, TI.c.state == states.RUNNING)).mappings().all()
        for r in rows:
            self.watch.remind(conn, r, self.reason(job))
        return list(rows)


class PauseKind(_StatusKind):
    verb = "PauseOpsTasksAsync"

    def act(self, conn: Connection, job: Job, key: str) -> Outcome:
        task = _task(conn, key)
        now = self.clock.now()
        if task.status in OFFLINE:
            raise ItemFailed(f"the task is {_WORDS[task.status]}: only a scheduling task (Y) can be paused")
        if task.status != "O":
            set_status(conn, key, "O", job.project_id, job.caller, now)
            record_pause(conn, key, "O", now, job.caller)
        running = self.kill_all(conn, job, key) if job.params.get("kill") else 0
        return Outcome(ACTING if running else SUCCESS, wake=True, plan=True)

    def settle(self, conn: Connection, job: Job, key: str, waited: float) -> Outcome | None:
        left = self.still_running(conn, job, key)
        if not left:
            return Outcome(SUCCESS, wake=True)
        if waited > self.watch.timeout:
            return Outcome(FAIL, f"paused, but {len(left)} instance(s) were still RUNNING {int(waited)} s "
                                 "after the kill request")
        return None


class StopKind(_StatusKind):
    verb = "StopOpsTasksAsync"

    def act(self, conn: Connection, job: Job, key: str) -> Outcome:
        task = _task(conn, key)
        now = self.clock.now()
        if task.status != "F":
            set_status(conn, key, "T", job.project_id, job.caller, now)
            record_pause(conn, key, "F", now, job.caller)
        if job.params.get("kill"):
            self.kill_all(conn, job, key)
        return Outcome(ACTING, wake=True, plan=True)

    def settle(self, conn: Connection, job: Job, key: str, waited: float) -> Outcome | None:
        left = self.still_running(conn, job, key)
        if left and waited <= self.watch.timeout:
            return None
        # T -> F (unless someone started the task again meanwhile).
        set_status(conn, key, "F", job.project_id, job.caller, self.clock.now(), only_from=("T",))
        if left:
            return Outcome(FAIL, f"taken offline, but {len(left)} instance(s) were still RUNNING "
                                 f"{int(waited)} s after the kill request", wake=True, plan=True)
        return Outcome(SUCCESS, wake=True, plan=True)


class TaskOpsService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, jobs: OpsJobService,
                 scheduler: SchedulerApi) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.jobs = jobs
        self.scheduler = scheduler
        jobs.register(PAUSE, PauseKind(clock, settings))
        jobs.register(STOP, StopKind(clock, settings))

    def _async(self, async_type: str, project_id: str, ids: Sequence[str] | None, kill: bool | None,
               caller: str) -> str:
        checked = check_task_ids(ids)
        with self.db.read() as conn:
            require_prod_tasks(conn, project_id, checked)
        return self.jobs.create(project_id, async_type, caller, checked, {"kill": bool(kill)})

    def pause(self, project_id: str, ids: Sequence[str] | None, kill: bool | None, caller: str) -> str:
        return self._async(PAUSE, project_id, ids, kill, caller)

    def stop(self, project_id: str, ids: Sequence[str] | None, kill: bool | None, caller: str) -> str:
        return self._async(STOP, project_id, ids, kill, caller)

    def start(self, project_id: str, ids: Sequence[str] | None, backfill: bool | None, caller: str) -> bool:
        checked = check_task_ids(ids)
        now = self.clock.now()
        with self.db.write() as conn:
            require_prod_tasks(conn, project_id, checked)
            tx = Tx(conn, now, caller)
            for task_id in checked:
                self._start_one(tx, project_id, task_id, bool(backfill), caller)
            settle_readiness(tx)
        self.scheduler.notify(Change.TASKS)
        return True

    def _start_one(self, tx: Tx, project_id: str, task_id: str, backfill: bool, caller: str) -> None:
        conn, now = tx.conn, tx.now
        status = conn.execute(select(t.c.status).where(t.c.id == task_id)).scalar_one()
        pause = conn.execute(select(PAUSES).where(PAUSES.c.task_id == task_id)).mappings().first()
        conn.execute(delete(PAUSES).where(PAUSES.c.task_id == task_id))
        if status == "Y":
            return
        set_status(conn, task_id, "Y", project_id, caller, now)
        if pause is None or backfill:
            return  # the engine plans (and catches up) as for any task back in scheduling
        self._plan_now(tx, task_id)
        skipped = conn.execute(
            select(TI).where(TI.c.task_id == task_id, TI.c.state.in_(states.WAITING), TI.c.total_run_num == 0,
                             TI.c.life_round_num == 0, TI.c.scheduled_at >= pause["paused_at"],
                             TI.c.scheduled_at <= now)
        ).mappings().all()
        reason = f"scheduled while the task was {_WORDS[pause['status']]}; started by user {caller} without " \
                 "EnableDataBackfill"
        for r in skipped:
            transition(tx, r, states.SKIP_RUNNING, reason, {"ended_at": now, "deadline_at": None, "error_msg": None})

    def _plan_now(self, tx: Tx, task_id: str) -> None:
        """Extend the task's plan up to now in this transaction (the engine's planner), so the
        data times of the pause have their instances before they are marked skipped."""
        self.scheduler.plan_task_now(tx, task_id)

    def update_owner(self, project_id: str, ids: Sequence[str] | None, owner: str | None, caller: str) -> bool:
        checked = check_task_ids(ids)
        text = (owner or "").strip()
        if not text or len(text) > 32:
            raise InvalidValue(f"OwnerUin must be a user id of 1 to 32 characters, got {owner!r}")
        now = self.clock.now()
        with self.db.write() as conn:
            require_prod_tasks(conn, project_id, checked)
            conn.execute(update(t).where(t.c.id.in_(checked)).values(
                owner_uin=text, last_ops_at=now, last_ops_user_name=user_name(conn, project_id, caller)))
            instance_owner.follow(conn, checked, text)
        return True
