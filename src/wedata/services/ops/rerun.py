"""RerunTaskInstancesAsync (spec §2.7, §3.6, §3.11): a new execution of finished instances.

A rerun re-executes the same instance (InstanceKey): ``LifeRoundNum`` + 1, ``Tries`` 0,
``RunType`` RERUN; the earlier rounds' executions and logs stay readable (GetTaskInstanceLog
with their LifeRoundNum). The instance goes back to the waiting state its dependency edges call
for, through the engine's transition function; the engine then runs it as any other.

Scope (``RerunType``): "1" the named instances, "2" them and their downstream instances, "3"
only the downstream ones. Downstream instances are followed through the instance dependency
edges (not the self-dependency of a task on its own previous instance), hop by hop, limited by
``SonRangeType``: WORKFLOW (default) keeps children in the same workflow as their parent,
PROJECT in the same project, ALL follows every edge. The job's items are the whole scope,
upstream before downstream, each in its own transaction.

Per instance:
- only a finished instance (COMPLETED, EXPIRED, SKIP_RUNNING) is rerun. A RUNNING one is a
  failed item; a waiting downstream instance needs nothing (it runs after its rerun parents:
  the parents leaving their terminal state un-met its edges), a waiting named one is a failed
  item;
- ``AllowRedoType`` of the task's production definition: ALL (default) allows it, FAILURE only
  after a failed run (EXPIRED), NONE never. A refusal is a failed item;
- the task must be scheduling (Status Y): a paused or offline task's rerun would never run.

Dependencies of the new round (``CheckParentType``): a parent that is part of this rerun (and
was rerun, or is waiting) always holds its children back until it completes again: the order
between the rerun instances is kept whatever the option, or "rerun self and downstream" would
rerun the children on stale data. Parents outside the operation are not checked with NONE
(default) and MAKE_SCOPE (the operation is the scope, so the two coincide for a rerun), and
must be successful with ALL (the instance waits in WAIT_UPSTREAM until they are).

Overrides of the new round: ``SkipEventListening`` true ignores the task's event listeners
(otherwise an event consumed by an earlier round still counts); ``RedefineParallelNum`` caps
how many instances of the task run at once (``task_instances.parallel_limit``);
``RedefineParamList`` (an object or a list of K/V pairs) overrides task parameters
(``task_instances.params``); ``RedefineSelfWorkflowDependency`` yes makes the instance also
wait for the previous cycle's instances of every task of its workflow (absent: the workflow's
own DependencyWorkflow setting).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from wedata.clock import Clock
from wedata.config import Settings
from wedata.scheduler.api import SATISFYING, SchedulerApi, TaskDef, Tx, states, target_state, transition
from wedata.scheduling.datatimes import instance_key, parse_instance_key, previous_data_time
from wedata.services.errors import InvalidValue
from wedata.services.jobs import SUCCESS, ItemFailed, Job, JobKind, OpsJobService, Outcome
from wedata.services.ops.instance_control import check_keys, require_instances, settle_readiness
from wedata.spec import models as M
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_deps, instance_event_waits, task_instances
from wedata.storage.ops_tables import ops_async_job_items
from wedata.storage.rowkeys import rows_in

TI, D, W, JI = task_instances, instance_deps, instance_event_waits, ops_async_job_items
RERUN = "INSTANCE_RERUN"
RERUN_TYPES = ("1", "2", "3")
CHECK_PARENT = ("NONE", "ALL", "MAKE_SCOPE")
SON_RANGES = ("WORKFLOW", "PROJECT", "ALL")
ALLOW_REDO = ("ALL", "FAILURE", "NONE")
_STATUS_WORDS = {"O": "paused (O)", "F": "offline (F)", "T": "going offline (T)", "INVALID": "invalid",
                 "N": "not submitted (N)"}


def _choice(value: str | None, field: str, allowed: Sequence[str], default: str) -> str:
    if value is None or value.strip() == "":
        return default
    text = value.strip().upper()
    if text not in allowed:
        raise InvalidValue(f"{field} must be one of {', '.join(allowed)}, got {value!r}")
    return text


def _params(value: Any) -> dict[str, str] | None:
    """RedefineParamList: a KVMap object or a list of KVPair (spec §6.3)."""
    if value is None:
        return None
    pairs = value if isinstance(value, list) else [value]
    out: dict[str, str] = {}
    for p in pairs:
        key = (p.k or "").strip()
        if not key:
            raise InvalidValue("RedefineParamList: every parameter needs a non-empty K")
        out[key] = "" if p.v is None else str(p.v)
    return out or None


# The same documented bound as a backfill plan's RedefineParallelNum (services/backfill/build.py).
MAX_PARALLEL = 10_000


def options(req: M.RerunTaskInstancesAsyncRequest) -> dict[str, Any]:
    """The validated options of a rerun request (stored with the job)."""
    rerun_type = (req.rerun_type or "1").strip() or "1"
    if rerun_type not in RERUN_TYPES:
        raise InvalidValue(f"RerunType must be 1 (self), 2 (self and downstream) or 3 (downstream), got {rerun_type!r}")
    parallel = req.redefine_parallel_num
    if parallel is not None and not 1 <= parallel <= MAX_PARALLEL:
        raise InvalidValue(f"RedefineParallelNum must be between 1 and {MAX_PARALLEL}, got {parallel}")
    wf_dep = req.redefine_self_workflow_dependency
    if wf_dep is not None and wf_dep.strip() != "":
        wf_dep = wf_dep.strip().lower()
        if wf_dep not in ("yes", "no"):
            raise InvalidValue(f"RedefineSelfWorkflowDependency must be yes or no, got {req.redefine_self_workflow_dependency!r}")
    else:
        wf_dep = None
    return {
        "rerun_type": rerun_type,
        "check_parent": _choice(req.check_parent_type, "CheckParentType", CHECK_PARENT, "NONE"),
        "son_range": _choice(req.son_range_type, "SonRangeType", SON_RANGES, "WORKFLOW"),
        "skip_events": bool(req.skip_event_listening),
        "parallel": parallel,
        "workflow_dep": wf_dep,
        "params": _params(req.redefine_param_list),
    }


# -- scope --------------------------------------------------------------------------------------------


def load_any(conn: Connection, key: str) -> Mapping[Any, Any] | None:
    """An instance by key in any project (SonRangeType ALL reaches other projects)."""
    task_id, data_time = parse_instance_key(key)
    return conn.execute(select(TI).where(TI.c.task_id == task_id, TI.c.data_time == data_time)).mappings().first()


def _children(conn: Connection, parents: list[tuple[str, datetime]]) -> list[Any]:
    rows: list[Any] = []
    for i in range(0, len(parents), 300):
        chunk = parents[i : i + 300]
        rows.extend(conn.execute(
            select(D.c.upstream_task_id, D.c.upstream_data_time, TI.c.task_id, TI.c.data_time,
                   TI.c.workflow_id, TI.c.project_id)
            .join(TI, TI.c.id == D.c.instance_id)
            .where(D.c.kind == "task", rows_in((D.c.upstream_task_id, D.c.upstream_data_time), chunk, indexed=2))
        ).all())
    return rows


def scope(conn: Connection, project_id: str, named: list[str], rerun_type: str, son_range: str) -> list[str]:
    """The instance keys a rerun touches, upstream before downstream (Kahn's order; ties by
    data time, then task)."""
    Key = tuple[str, datetime]
    roots: dict[Key, tuple[str, str]] = {}
    for key in named:
        inst = load_any(conn, key)
        if inst is not None and inst["project_id"] == project_id:
            roots[(inst["task_id"], inst["data_time"])] = (inst["workflow_id"], inst["project_id"])
    where: dict[Key, tuple[str, str]] = dict(roots)
    edges: dict[Key, set[Key]] = defaultdict(set)  # parent -> children
    reached: set[Key] = set()
    frontier = list(roots)
    while frontier:
        nxt: list[Key] = []
        for up_task, up_time, task_id, data_time, workflow_id, proj in _children(conn, frontier):
            parent, child = (up_task, up_time), (task_id, data_time)
            p_wf, p_proj = where[parent]
            if son_range == "WORKFLOW" and workflow_id != p_wf or son_range == "PROJECT" and proj != p_proj:
                continue
            edges[parent].add(child)
            reached.add(child)
            if child not in where:
                where[child] = (workflow_id, proj)
                nxt.append(child)
        frontier = nxt
    members = set(roots) | reached if rerun_type == "2" else reached if rerun_type == "3" else set(roots)
    indegree = {m: 0 for m in members}
    for parent, children in edges.items():
        if parent in members:
            for c in children:
                if c in members:
                    indegree[c] += 1
    order: list[Key] = []
    ready = deque(sorted((m for m, n in indegree.items() if n == 0), key=lambda k: (k[1], k[0])))
    while ready:
        k = ready.popleft()
        order.append(k)
        for c in sorted(edges.get(k, ()), key=lambda x: (x[1], x[0])):
            if c in indegree:
                indegree[c] -= 1
                if indegree[c] == 0:
                    ready.append(c)
    return [instance_key(t, d) for t, d in order]


# -- one instance -------------------------------------------------------------------------------------


class RerunKind(JobKind):
    def __init__(self, clock: Clock, scheduler: SchedulerApi) -> None:
        self.clock = clock
        self.scheduler = scheduler

    def _def(self, conn: Connection, version: str | None) -> TaskDef | None:
        if not version:
            return None
        try:
            return self.scheduler.load_def(version, conn)
        except ValueError:
            return None

    def expand(self, conn: Connection, job: Job, keys: list[str]) -> list[str]:
        p = job.params
        return scope(conn, job.project_id, p["named"], p["rerun_type"], p["son_range"])

    def act(self, conn: Connection, job: Job, key: str) -> Outcome:
        for _ in range(3):
            inst = load_any(conn, key)
            if inst is None:
                raise ItemFailed("the instance no longer exists")
            done = self._rerun(conn, job, key, inst)
            if done is not None:
                return done
        raise ItemFailed("the instance kept changing state; try again")

    def _rerun(self, conn: Connection, job: Job, key: str, inst: Mapping[Any, Any]) -> Outcome | None:
        state = inst["state"]
        if state == states.RUNNING:
            raise ItemFailed("the instance is RUNNING: kill it or wait for it to end before rerunning it")
        if state not in states.TERMINAL:
            if key in job.params["named"]:
                raise ItemFailed(f"the instance is {state}: only finished instances can be rerun")
            return Outcome(SUCCESS, "already waiting: it runs after its rerun upstream")
        t, v, w = T.tasks, T.task_versions, T.workflows
        task = conn.execute(
            select(t.c.status, t.c.prod_version_id, w.c.scheduler_config,
                   v.c.snapshot[("TaskSchedulerConfiguration", "AllowRedoType")].as_string().label("allow"))
            .select_from(t.outerjoin(w, w.c.id == t.c.workflow_id).outerjoin(v, v.c.version_id == t.c.prod_version_id))
            .where(t.c.id == inst["task_id"])
        ).first()
        if task is None:
            raise ItemFailed("its task no longer exists")
        if task.status != "Y":
            raise ItemFailed(f"its task is {_STATUS_WORDS.get(task.status, task.status)}: "
                             "only the instances of scheduling tasks (Status Y) can be rerun")
        tdef = self._def(conn, task.prod_version_id)
        allow = (task.allow or "ALL").upper()
        if allow == "NONE":
            raise ItemFailed("the task's AllowRedoType is NONE: its instances may not be rerun")
        if allow == "FAILURE" and state != states.EXPIRED:
            raise ItemFailed(f"the task's AllowRedoType is FAILURE: only failed instances may be rerun, this one is {state}")
        now = self.clock.now()
        p = job.params
        wf_dep = p["workflow_dep"] or str(((task.scheduler_config or {}).get("DependencyWorkflow")) or "no").lower()
        if wf_dep == "yes" and tdef is not None:
            self._add_workflow_edges(conn, inst, tdef)
        unmet = self._reset_edges(conn, job, inst)
        skip = bool(p["skip_events"])
        events = 0 if skip else conn.execute(
            select(func.count()).where(W.c.instance_id == inst["id"], W.c.met.is_(False))
        ).scalar_one()
        to = target_state(events, unmet, skip)
        wait_ttl = tdef.wait_ttl_minutes if tdef is not None else -1
        values = {
            "life_round_num": inst["life_round_num"] + 1, "tries": 0, "run_type": "RERUN",
            "started_at": None, "ended_at": None, "cost_ms": None, "error_msg": None, "retry_at": None,
            "claimed_by": None, "lease_until": None, "wait_since": now, "skip_events": skip,
            "params": p["params"], "parallel_limit": p["parallel"],
            "deadline_at": now + timedelta(minutes=wait_ttl)
            if tdef is not None and wait_ttl >= 0 and tdef.wait_ttl_strategy == "fail" else None,
        }
        if tdef is not None:
            values["try_limit"] = tdef.try_limit
        tx = Tx(conn, now, job.caller)
        if not transition(tx, inst, to, f"rerun by user {job.caller} (RerunTaskInstancesAsync)", values):
            return None  # changed meanwhile: read again
        settle_readiness(tx)
        return Outcome(SUCCESS, wake=True)

    def _reset_edges(self, conn: Connection, job: Job, inst: Mapping[Any, Any]) -> int:
        """Set each dependency edge's ``met`` for the new round (CheckParentType, module doc);
        returns how many stay unmet."""
        edges = conn.execute(
            select(D.c.upstream_task_id, D.c.upstream_data_time, D.c.kind, D.c.met, D.c.on_failed)
            .where(D.c.instance_id == inst["id"])
        ).all()
        if not edges:
            return 0
        real = [(e.upstream_task_id, e.upstream_data_time) for e in edges if e.kind in ("task", "self")]
        parent_states: dict[tuple[str, datetime], str] = {}
        for i in range(0, len(real), 300):
            # Locked (PostgreSQL; SQLite holds the write lock already, ops_jobs._item): a parent
            # cannot complete between this read and the edge written from it, unseen.
            for t, d, st in conn.execute(
                select(TI.c.task_id, TI.c.data_time, TI.c.state)
                .where(rows_in((TI.c.task_id, TI.c.data_time), real[i : i + 300], indexed=2))
                .order_by(TI.c.id).with_for_update()
            ):
                parent_states[(t, d)] = st
        keys = [instance_key(t, d) for t, d in real]
        in_scope = {
            k for (k,) in conn.execute(
                select(JI.c.item_key).where(JI.c.async_id == job.async_id, JI.c.status == SUCCESS,
                                            JI.c.item_key.in_(keys))
            )
        } if keys else set()
        check_all = job.params["check_parent"] == "ALL"
        unmet = 0
        for e in edges:
            up = (e.upstream_task_id, e.upstream_data_time)
            st = parent_states.get(up)
            by_state = st in SATISFYING or (st == states.EXPIRED and bool(e.on_failed))
            if e.kind not in ("task", "self"):
                met = bool(e.met) if check_all else True  # placeholders: nothing to check with NONE
            elif instance_key(*up) in in_scope or check_all:
                met = by_state
            else:
                met = True
            if met != bool(e.met):
                conn.execute(update(D).where(D.c.instance_id == inst["id"], D.c.upstream_task_id == up[0],
                                             D.c.upstream_data_time == up[1]).values(met=met))
            unmet += not met
        return unmet

    def _add_workflow_edges(self, conn: Connection, inst: Mapping[Any, Any], tdef: TaskDef) -> None:
        """Workflow self-dependency: wait for the previous cycle's instances of every task of
        the workflow (those that exist; ``_reset_edges`` then decides their ``met``)."""
        prev = previous_data_time(tdef.schedule, inst["data_time"])
        if prev is None:
            return
        have = {(r[0], r[1]) for r in conn.execute(
            select(D.c.upstream_task_id, D.c.upstream_data_time).where(D.c.instance_id == inst["id"]))}
        rows = [
            {"instance_id": inst["id"], "upstream_task_id": t, "upstream_data_time": prev, "kind": "task",
             "met": False, "on_missing": False, "on_failed": False, "timeout_minutes": None}
            for (t,) in conn.execute(
                select(TI.c.task_id).where(TI.c.workflow_id == inst["workflow_id"], TI.c.data_time == prev)
            )
            if (t, prev) not in have
        ]
        if rows:
            conn.execute(insert(D), rows)


class RerunService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, jobs: OpsJobService,
                 scheduler: SchedulerApi) -> None:
        self.db = db
        self.jobs = jobs
        jobs.register(RERUN, RerunKind(clock, scheduler))

    def rerun(self, req: M.RerunTaskInstancesAsyncRequest, caller: str) -> str:
        keys = check_keys(req.instance_key_list)
        opts = options(req)
        with self.db.read() as conn:
            require_instances(conn, req.project_id, keys)
        return self.jobs.create(req.project_id, RERUN, caller, keys, {**opts, "named": keys})


__all__ = ["RERUN", "RerunKind", "RerunService", "options", "scope"]
