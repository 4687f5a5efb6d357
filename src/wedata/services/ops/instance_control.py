"""KillTaskInstancesAsync and SetSuccessTaskInstancesAsync (spec §2.7, §3.10-3.11), and the
instance-level steps the task operations share (killing every live instance of a task).

Every state change goes through the engine's one transition function (scheduler/transitions.py)
inside the job item's transaction; the engine is woken once it has committed.

Kill:
- a waiting instance (WAIT_EVENT, WAIT_UPSTREAM, WAIT_RUN) or one waiting for a retry
  (FAILED_RETRY) ends EXPIRED at once, without running;
- a RUNNING one is killed by the engine, through its kill protocol (scheduler/cycle.py:
  ``timers`` -> ``deadline_kill``): the running execution carries the reason with the
  ``killed:`` prefix and the instance a deadline that has passed; the engine signals the
  attempt's process group (SIGTERM, SIGKILL after ``kill_grace``) and ends the attempt EXPIRED
  without a retry. The item stays ACTING until the instance has really ended, and the request
  is made again if the engine consumed it without effect (e.g. the process was just starting);
- a finished instance (COMPLETED, EXPIRED, SKIP_RUNNING) cannot be killed: a failed item.

Set success: any instance that is not RUNNING and not already COMPLETED becomes COMPLETED (a
RUNNING one must be killed or left to finish first: a failed item). Decision (issue 16): its
JobErrorMsg says who set it and keeps the earlier failure ("set to success by user X
(SetSuccessTaskInstancesAsync); it had failed: ..."), and an attempt that ran keeps its EndTime
and CostTime; one that never ran gets EndTime now and no StartTime or CostTime. Its downstream instances'
dependency edges are met by the transition, and they are re-evaluated in the same transaction,
so a downstream instance that waited only for it is WAIT_RUN when the item commits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from wedata.clock import Clock, utcnow
from wedata.config import Settings
from wedata.scheduler.api import Tx, states, transition
from wedata.scheduling.datatimes import instance_key, parse_instance_key
from wedata.services.errors import InvalidValue, NotFound
from wedata.services.jobs import ACTING, FAIL, SUCCESS, ItemFailed, Job, JobKind, OpsJobService, Outcome
from wedata.services.killing import (  # the kill steps shared with workflow runs (services/triggers/)
    earlier_failure,
    expire_waiting,
    kill_one,
    note,
    request_kill,
    settle_readiness,
)
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_executions, task_instances

TI, E = task_instances, instance_executions
MAX_ITEMS = 1000
KILL, SET_SUCCESS = "INSTANCE_KILL", "INSTANCE_SET_SUCCESS"
# How long (real seconds, beyond twice the kill grace) a kill may take before the item fails.
KILL_TIMEOUT = 60.0


# -- input ---------------------------------------------------------------------------------------


def check_keys(keys: Sequence[str] | None, field: str = "InstanceKeyList") -> list[str]:
    """The distinct keys in order; InvalidValue for an empty or oversized list or a bad key."""
    out: list[str] = []
    seen: set[str] = set()
    for key in keys or []:
        text = key.strip()
        if text in seen:
            continue
        try:
            parse_instance_key(text)
        except ValueError as exc:
            raise InvalidValue(f"{field}: {exc}") from None
        seen.add(text)
        out.append(text)
        if len(out) > MAX_ITEMS:  # before parsing the rest of an oversized list (issue 15)
            break
    if not out:
        raise InvalidValue(f"{field} must name at least one instance")
    if len(out) > MAX_ITEMS:
        raise InvalidValue(f"{field} may name at most {MAX_ITEMS} instances")
    return out


def key_filter(keys: Iterable[str]) -> Any:
    """SQL: the instances with these keys (one OR term per task, IN over its data times)."""
    by_task: dict[str, list[datetime]] = {}
    for key in keys:
        task_id, data_time = parse_instance_key(key)
        by_task.setdefault(task_id, []).append(data_time)
    return or_(*(and_(TI.c.task_id == t, TI.c.data_time.in_(times)) for t, times in by_task.items()))


def require_instances(conn: Connection, project_id: str, keys: Sequence[str]) -> None:
    """ResourceNotFound up front when any key names no instance of the project."""
    found: set[str] = set()
    for i in range(0, len(keys), 200):
        chunk = keys[i : i + 200]
        for task_id, data_time in conn.execute(
            select(TI.c.task_id, TI.c.data_time).where(TI.c.project_id == project_id, key_filter(chunk))
        ):
            found.add(instance_key(task_id, data_time))
    missing = [k for k in keys if k not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise NotFound(f"The task instance(s) {shown} do not exist in the project {project_id}.")


def load(conn: Connection, project_id: str, key: str) -> Mapping[Any, Any] | None:
    task_id, data_time = parse_instance_key(key)
    return conn.execute(
        select(TI).where(TI.c.project_id == project_id, TI.c.task_id == task_id, TI.c.data_time == data_time)
    ).mappings().first()


# -- shared steps ---------------------------------------------------------------------------------


def kill_task_instances(tx: Tx, task_id: str, reason: str, *, running_too: bool = True) -> list[int]:
    """Kill every live instance of a task (PauseOpsTasksAsync / StopOpsTasksAsync with
    KillInstance): the waiting ones end EXPIRED, and with ``running_too`` the engine is asked to
    kill the running ones. Returns the ids of those it was asked to kill."""
    requested: list[int] = []
    wanted = (*states.PENDING, states.RUNNING) if running_too else tuple(states.PENDING)
    for _ in range(3):  # rows that moved meanwhile are read again
        rows = tx.conn.execute(
            select(TI).where(TI.c.task_id == task_id, TI.c.state.in_(wanted))
        ).mappings().all()
        changed = False
        for r in rows:
            got = kill_one(tx, r, reason)
            if got == "requested":
                requested.append(r["id"])
            changed = changed or got == "changed"
        if not changed:
            break
    return requested


class KillWatch:
    """Waits for requested kills to take hold and makes the request again when the engine
    consumed it without effect (its deadline cleared, the attempt still running)."""

    def __init__(self, clock: Clock, settings: Settings) -> None:
        self.clock = clock
        self.grace = settings.kill_grace
        self._asked: dict[int, datetime] = {}  # instance id -> real time of the last request
        self._lock = threading.Lock()  # job threads and handler threads share the watch

    @property
    def timeout(self) -> float:
        return KILL_TIMEOUT + 2 * self.grace

    def asked(self, instance_id: int) -> None:
        """A kill of this instance was just requested."""
        now = utcnow()
        with self._lock:
            if len(self._asked) > 10_000:  # bounded: forget requests long settled or abandoned
                horizon = now - timedelta(seconds=2 * self.timeout)
                self._asked = {k: v for k, v in self._asked.items() if v > horizon}
            self._asked[instance_id] = now

    def forget(self, instance_id: int) -> None:
        with self._lock:
            self._asked.pop(instance_id, None)

    def remind(self, conn: Connection, inst: Mapping[Any, Any], reason: str) -> None:
        """Request the kill again when the engine consumed the request (deadline cleared) and
        the attempt still runs a grace period later (e.g. it had not written its pid yet)."""
        with self._lock:
            last = self._asked.get(inst["id"])
        if inst["deadline_at"] is None and (last is None or (utcnow() - last).total_seconds() > self.grace + 2):
            request_kill(conn, inst, reason, self.clock.now())
            self.asked(inst["id"])


# -- the job kinds -----------------------------------------------------------------------------------


class KillKind(JobKind):
    def __init__(self, clock: Clock, settings: Settings) -> None:
        self.clock = clock
        self.watch = KillWatch(clock, settings)

    @staticmethod
    def reason(job: Job) -> str:
        return f"killed by user {job.caller} (KillTaskInstancesAsync)"

    def act(self, conn: Connection, job: Job, key: str) -> Outcome:
        for _ in range(3):
            inst = load(conn, job.project_id, key)
            if inst is None:
                raise ItemFailed("the instance no longer exists")
            tx = Tx(conn, self.clock.now(), job.caller)
            got = kill_one(tx, inst, self.reason(job))
            if got == "expired":
                settle_readiness(tx)
                return Outcome(SUCCESS, wake=True)
            if got == "requested":
                self.watch.asked(inst["id"])
                return Outcome(ACTING, wake=True)
            if got == "ended":
                raise ItemFailed(f"the instance is {inst['state']}: only waiting or running instances can be killed")
        raise ItemFailed("the instance kept changing state; try again")

    def settle(self, conn: Connection, job: Job, key: str, waited: float) -> Outcome | None:
        inst = load(conn, job.project_id, key)
        if inst is None:
            return Outcome(FAIL, "the instance no longer exists")
        state = inst["state"]
        if state != states.RUNNING:
            self.watch.forget(inst["id"])
        if state == states.EXPIRED:
            return Outcome(SUCCESS)
        if state in (states.COMPLETED, states.SKIP_RUNNING):
            return Outcome(FAIL, f"the instance ended {state} before the kill took effect")
        if state in states.PENDING:  # the attempt ended on its own meanwhile: end the retry too
            tx = Tx(conn, self.clock.now(), job.caller)
            if expire_waiting(tx, inst, self.reason(job)):
                settle_readiness(tx)
                return Outcome(SUCCESS, wake=True)
            return None
        if waited > self.watch.timeout:
            return Outcome(FAIL, f"the instance was still RUNNING {int(waited)} s after the kill request")
        self.watch.remind(conn, inst, self.reason(job))
        return None


def set_success_message(inst: Mapping[Any, Any], caller: str) -> str:
    """JobErrorMsg of an instance set to success: who did it, and what had happened before."""
    text = f"set to success by user {caller} (SetSuccessTaskInstancesAsync)"
    earlier = earlier_failure(inst)
    if earlier:
        return f"{text}; it had failed: {earlier}"
    if inst["state"] == states.SKIP_RUNNING:
        return f"{text}; it had been skipped"
    return f"{text} before it ran" if not inst["tries"] else text


class SetSuccessKind(JobKind):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def act(self, conn: Connection, job: Job, key: str) -> Outcome:
        for _ in range(3):
            inst = load(conn, job.project_id, key)
            if inst is None:
                raise ItemFailed("the instance no longer exists")
            state = inst["state"]
            if state == states.RUNNING:
                raise ItemFailed("the instance is RUNNING: kill it or let it finish before setting it to success")
            if state == states.COMPLETED:
                raise ItemFailed("the instance is already COMPLETED")
            now = self.clock.now()
            tx = Tx(conn, now, job.caller)
            reason = set_success_message(inst, job.caller)
            # An attempt that ran keeps its own EndTime and CostTime (EndTime - StartTime =
            # CostTime); an instance that never ran ends now, with no StartTime and no cost.
            ran = inst["started_at"] is not None and inst["ended_at"] is not None
            if transition(tx, inst, states.COMPLETED, reason, {
                "ended_at": inst["ended_at"] if ran else now, "retry_at": None, "deadline_at": None,
                "error_msg": reason, "claimed_by": None,
            }):
                note(conn, inst, now, reason)
                settle_readiness(tx)
                return Outcome(SUCCESS, wake=True)
        raise ItemFailed("the instance kept changing state; try again")


class InstanceOpsService:
    """KillTaskInstancesAsync and SetSuccessTaskInstancesAsync: validate, then hand to a job."""

    def __init__(self, db: Database, clock: Clock, settings: Settings, jobs: OpsJobService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.jobs = jobs
        jobs.register(KILL, KillKind(clock, settings))
        jobs.register(SET_SUCCESS, SetSuccessKind(clock))

    def _start(self, async_type: str, project_id: str, keys: Sequence[str] | None, caller: str) -> str:
        checked = check_keys(keys)
        with self.db.read() as conn:
            require_instances(conn, project_id, checked)
        return self.jobs.create(project_id, async_type, caller, checked)

    def kill(self, project_id: str, keys: Sequence[str] | None, caller: str) -> str:
        return self._start(KILL, project_id, keys, caller)

    def set_success(self, project_id: str, keys: Sequence[str] | None, caller: str) -> str:
        return self._start(SET_SUCCESS, project_id, keys, caller)
