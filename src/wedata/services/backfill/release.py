"""How a backfill plan's instances reach the engine: the gate, releases, and what finishing does.

Every member instance of a plan carries one extra ``instance_deps`` row of kind ``gate``
(upstream_task_id ``backfill-gate``, never met). The transition function never satisfies that
kind, so the instance waits in WAIT_UPSTREAM (readiness counts it as an unmet edge) until a
release pass removes it and moves the instance to WAIT_RUN, where the engine dispatches it as
any other instance. While the gate is there, the planner leaves the instance's edges alone. Releasing is where the plan's rules live:

- **parallelism**: at most ``RedefineParallelNum`` members released and not done at once (so
  never more than that many RUNNING); without it, a non-parallel task has one at a time;
- **DataTimeOrder**: ORDER / REVERSE release one instance per task at a time, each only after
  the previous one (in that order) is done; NORMAL has no order constraint;
- **dependencies**: only members whose other edges are all met are released, in the plan's
  order (data time, then dependency level), so capacity never goes to an instance that cannot
  run; a workflow self-dependency holds cycle t until the workflow's members of earlier cycles
  are done;
- **the periodic schedule is never starved**: in a resource group of N slots, backfill members
  of all plans together hold at most N-1 (released and not done); in a one-slot group a member
  is only released while no periodic instance waits for that slot.

Releases are triggered by instances ending (the transition observer registered by the service,
inside the engine's transaction), at creation, and by a watchdog every few seconds (which also
reconciles anything missed). Everything is in the database; nothing is held in memory but caches.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, DateTime, bindparam, case, delete, exists, func, or_, select, update

from wedata.scheduler.api import Move, Tx, evaluate, states, touch_instance, transition_many
from wedata.storage.backfill_tables import backfill_members, backfill_plans
from wedata.storage.bulk import pg_together
from wedata.storage.engine_tables import instance_deps, instance_event_waits, task_instances

log = logging.getLogger("wedata.backfill")

BM, BP, D, TI = backfill_members, backfill_plans, instance_deps, task_instances
GATE_TASK = "backfill-gate"  # upstream_task_id of the gate edge (never a TaskId: those are digits)
GATE_KIND = "gate"
HELD, RELEASED, DONE, CANCELLED = "held", "released", "done", "cancelled"
LIVE = (HELD, RELEASED)
RUNNING_PLAN = "RUNNING"
_UNLIMITED = 1 << 30


def gate_row(data_time: datetime) -> dict[str, Any]:
    return {"upstream_task_id": GATE_TASK, "upstream_data_time": data_time, "kind": GATE_KIND, "met": False,
            "on_missing": False, "on_failed": False, "timeout_minutes": None}


def adjust_edges(rows: list[dict[str, Any]], members: set[tuple[str, datetime]], check: str,
                 override_self: bool) -> None:
    """Apply CheckParentType to the freshly computed edges of one member (in place).

    A parent that is itself a member of the plan is always waited for (the dependency order
    between the plan's tasks); with NONE it only has to have *finished* (a failed parent lets
    the child run: ``on_failed``). Parents outside the plan are checked only with ALL.
    RedefineParallelNum overrides the task's own self-dependency (its ``self`` edge)."""
    for r in rows:
        key = (r["upstream_task_id"], r["upstream_data_time"])
        if r["kind"] == "self" and override_self:
            r["met"] = True
        elif r["kind"] in ("task", "self") and key in members:
            r["met"] = False
            if check == "NONE":
                r["on_failed"] = True
        elif check != "ALL":
            r["met"] = True


# -- plan configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRule:
    ascending: bool
    one_at_a_time: bool  # ORDER/REVERSE, or a non-parallel task without RedefineParallelNum
    wait_ttl: int  # WaitExecutionTotalTTL minutes (fail strategy), -1: none


@dataclass(frozen=True)
class PlanRules:
    plan_id: str
    parallel: int | None
    order: str
    tasks: Mapping[str, TaskRule]
    workflows_in_order: frozenset[str]  # workflows whose cycle t waits for cycle t-1

    @classmethod
    def from_row(cls, plan_id: str, config: Mapping[str, Any]) -> PlanRules:
        return cls(
            plan_id=plan_id,
            parallel=config.get("parallel"),
            order=str(config.get("order") or "NORMAL"),
            tasks={tid: TaskRule(bool(t["asc"]), bool(t["one"]), int(t.get("wait_ttl", -1)))
                   for tid, t in (config.get("tasks") or {}).items()},
            workflows_in_order=frozenset(config.get("wf_order") or ()),
        )


def rules_config(parallel: int | None, order: str, tasks: Iterable[Any]) -> dict[str, Any]:
    """The ``backfill_plans.config`` JSON from the build step's TaskInfo list."""
    out: dict[str, Any] = {"parallel": parallel, "order": order, "tasks": {}, "wf_order": []}
    wf: set[str] = set()
    for x in tasks:
        tdef = x.tdef
        one = order != "NORMAL" or (parallel is None and tdef.self_depend.value != "parallel")
        ttl = tdef.wait_ttl_minutes if tdef.wait_ttl_minutes >= 0 and tdef.wait_ttl_strategy == "fail" else -1
        out["tasks"][x.task_id] = {"asc": x.ascending, "one": one, "wait_ttl": ttl}
        if x.workflow_dependency:
            wf.add(x.workflow_id)
    out["wf_order"] = sorted(wf)
    return out


# -- finishing ----------------------------------------------------------------------------------

_COPY = {
    "final_state": select(TI.c.state).where(TI.c.id == BM.c.instance_id).scalar_subquery(),
    "started_at": select(TI.c.started_at).where(TI.c.id == BM.c.instance_id).scalar_subquery(),
    "ended_at": select(TI.c.ended_at).where(TI.c.id == BM.c.instance_id).scalar_subquery(),
    "cost_ms": select(TI.c.cost_ms).where(TI.c.id == BM.c.instance_id).scalar_subquery(),
}


_FIRST = bindparam("first", type_=DateTime)
_COUNT_DONE = (
    update(BP)
    .where(BP.c.id == bindparam("plan"))
    .values(
        done_count=BP.c.done_count + bindparam("n"),
        success_count=BP.c.success_count + bindparam("ok"),
        started_at=case((BP.c.started_at.is_(None) | (BP.c.started_at > _FIRST), _FIRST), else_=BP.c.started_at),
    )
)
_DONE_RETURNING = (BM.c.plan_id, BM.c.final_state, BM.c.started_at)
_MARK_DONE = (
    update(BM)
    .where(BM.c.instance_id.in_(bindparam("ids", expanding=True)), BM.c.status.in_(LIVE))
    .values(status=DONE, **_COPY)
    .returning(*_DONE_RETURNING)
)


def _count_done(conn: Connection, rows: Iterable[Any]) -> set[str]:
    """Add members just done, ``(plan_id, final_state, started_at)``, to their plans' progress."""
    agg: dict[str, list[Any]] = {}
    for plan_id, state, started in rows:
        a = agg.setdefault(plan_id, [0, 0, None])
        a[0] += 1
        a[1] += state == states.COMPLETED
        if started is not None and (a[2] is None or started < a[2]):
            a[2] = started
    for plan_id, (n, ok, first) in agg.items():
        conn.execute(_COUNT_DONE, {"plan": plan_id, "n": n, "ok": ok, "first": first})
    return set(agg)


def _mark_and_count_done() -> Any:
    """PostgreSQL: :data:`_MARK_DONE` and :data:`_COUNT_DONE` in one statement (a data-modifying
    CTE), one round trip of the engine's cycle instead of two for every instance that ends."""
    done = _MARK_DONE.cte("done")
    agg = (
        select(done.c.plan_id, func.count().label("n"),
               func.count().filter(done.c.final_state == states.COMPLETED).label("ok"),
               func.min(done.c.started_at).label("first"))
        .group_by(done.c.plan_id)
        .subquery("agg")
    )
    return (
        update(BP)
        .where(BP.c.id == agg.c.plan_id)
        .values(
            done_count=BP.c.done_count + agg.c.n,
            success_count=BP.c.success_count + agg.c.ok,
            started_at=case((BP.c.started_at.is_(None) | (BP.c.started_at > agg.c.first), agg.c.first),
                            else_=BP.c.started_at),
        )
        .returning(BP.c.id)
    )


_MARK_AND_COUNT_DONE = _mark_and_count_done()


def mark_done(conn: Connection, instance_ids: Sequence[int]) -> set[str]:
    """Members whose instance just reached a terminal state are done; the outcome of the plan's
    round is copied (a later rerun must not rewrite the plan's history). Returns their plans."""
    ids = sorted(set(instance_ids))
    if conn.dialect.name == "postgresql":
        plans: set[str] = set()
        for i in range(0, len(ids), 500):
            plans.update(conn.execute(_MARK_AND_COUNT_DONE, {"ids": ids[i : i + 500]}).scalars())
        return plans
    rows: list[Any] = []
    for i in range(0, len(ids), 500):
        rows.extend(conn.execute(_MARK_DONE, {"ids": ids[i : i + 500]}).all())
    return _count_done(conn, rows)


def reconcile(conn: Connection) -> None:
    """What the observer may have missed: members of live plans whose instance is terminal, and
    members whose instance was removed (e.g. its task taken offline)."""
    terminal = exists().where(TI.c.id == BM.c.instance_id, TI.c.state.in_(states.TERMINAL))
    rows: list[Any] = list(conn.execute(
        update(BM).where(BM.c.status.in_(LIVE), terminal).values(status=DONE, **_COPY).returning(*_DONE_RETURNING)
    ))
    rows += conn.execute(
        update(BM)
        .where(BM.c.status.in_(LIVE), BM.c.instance_id.is_(None))
        .values(status=DONE, final_state=states.EXPIRED, note="the instance was removed before it ran")
        .returning(*_DONE_RETURNING)
    ).all()
    _count_done(conn, rows)


# -- releasing ----------------------------------------------------------------------------------

# Statements are built once: on PostgreSQL, building and caching a statement per call cost more
# than running it (the pass runs on the engine's thread after every batch of endings).
_UNMET_EVENTS = exists().where(instance_event_waits.c.instance_id == TI.c.id, instance_event_waits.c.met.is_(False))
# "Nothing but the gate is unmet" as a per-row count over the instance's own edges (an index
# range on the edge table's primary key): an anti-join would let PostgreSQL scan every unmet edge.
_UNMET = (
    select(func.count()).where(D.c.instance_id == BM.c.instance_id, D.c.met.is_(False), D.c.kind != GATE_KIND)
    .correlate(BM).scalar_subquery()
)
_EARLIER = BM.alias("earlier")
# workflow_id: the release's history rows carry it, so the trigger observers know a periodic
# workflow's instance without a read of their own (services/triggers/scope.py), on every release.
_COLUMNS = (
    BM.c.id.label("member_id"), TI.c.id, TI.c.state, TI.c.row_version, TI.c.task_id, TI.c.data_time,
    TI.c.life_round_num, TI.c.tries, TI.c.scheduled_at, TI.c.skip_events, TI.c.resource_group_id,
    TI.c.workflow_id, _UNMET_EVENTS.label("events_unmet"),
)


def _ready_query(in_order: bool, heads: bool) -> Any:
    cond = [BM.c.plan_id == bindparam("plan"), BM.c.status == HELD, _UNMET == 0]
    if in_order:  # a workflow self-dependency: cycle t waits for the workflow's earlier cycles
        cond.append(or_(
            BM.c.workflow_id.not_in(bindparam("wf_order", expanding=True)),
            ~exists().where(_EARLIER.c.plan_id == BM.c.plan_id, _EARLIER.c.workflow_id == BM.c.workflow_id,
                            _EARLIER.c.data_time < BM.c.data_time, _EARLIER.c.status.in_(LIVE)),
        ))
    q = select(*_COLUMNS).select_from(BM.join(TI, TI.c.id == BM.c.instance_id))
    if heads:
        return q.where(*cond, BM.c.seq.in_(bindparam("seqs", expanding=True))).order_by(BM.c.seq)
    return q.where(*cond).order_by(BM.c.seq).limit(bindparam("lim"))


_READY = {(w, h): _ready_query(w, h) for w in (False, True) for h in (False, True)}
_HEAD = select(func.min(BM.c.seq)).where(
    BM.c.plan_id == bindparam("plan"), BM.c.task_id == bindparam("task"), BM.c.status == HELD
)
_IN_FLIGHT = (
    select(BM.c.plan_id, BM.c.task_id, TI.c.resource_group_id, func.count())
    .select_from(BM.join(TI, TI.c.id == BM.c.instance_id))
    .where(BM.c.status == RELEASED)
    .group_by(BM.c.plan_id, BM.c.task_id, TI.c.resource_group_id)
)
_PERIODIC_WAITING = {
    grouped: select(TI.c.id).where(
        TI.c.state == states.WAIT_RUN, TI.c.scheduled_at <= bindparam("now"), TI.c.run_type != "ADDITION",
        TI.c.resource_group_id == bindparam("group") if grouped else TI.c.resource_group_id.is_(None),
    ).limit(1)
    for grouped in (False, True)
}
_RELEASE_MEMBERS = update(BM).where(BM.c.id.in_(bindparam("ids", expanding=True))).values(status=RELEASED)
# Releasing removes the gate: an instance with a gate edge is held, and the planner leaves the
# edges of held instances alone (scheduler/deps.py pending_instances).
_OPEN_GATES = delete(D).where(D.c.instance_id.in_(bindparam("ids", expanding=True)), D.c.kind == GATE_KIND)
# PostgreSQL: both as parts of one statement (storage/bulk.py pg_together: one round trip), sent
# at once, or, inside the engine's cycle, deferred to its last statement (Tx.defer): nothing in
# the cycle reads the members' status or the gate edges of what it released before then
# (dispatch reads the instances' state; a later release pass in the cycle comes after that
# statement, Tx.flush). Two parts, as a data-modifying WITH cannot nest.
_RELEASE_PG = "UPDATE backfill_members SET status = %({p}st)s WHERE id = ANY(%({p}m)s::bigint[])"
_OPEN_GATES_PG = "DELETE FROM instance_deps WHERE instance_id = ANY(%({p}i)s::bigint[]) AND kind = %({p}k)s"


@dataclass
class Candidate:
    member_id: int
    task_id: str
    group: str
    row: Mapping[Any, Any]  # the instance columns the transition function needs

    @property
    def instance_id(self) -> int:
        return int(self.row["id"])


class Releaser:
    """One release pass over the given plans, inside the caller's transaction.

    ``slots(group)`` is the engine's concurrency of a resource group ("" = the default group).
    """

    def __init__(self, conn: Connection, now: datetime, slots: Callable[[str], int], actor: str,
                 into: Tx | None = None) -> None:
        self.conn = conn
        self.into = into
        self.now = now
        self.slots = slots
        self.actor = actor
        self.by_group: dict[str, int] = defaultdict(int)
        self.by_plan: dict[str, int] = defaultdict(int)
        self.by_task: dict[tuple[str, str], int] = defaultdict(int)
        self._periodic_waiting: dict[str, bool] = {}
        self.released: list[int] = []
        for plan_id, task_id, group, n in conn.execute(_IN_FLIGHT):
            self.by_group[group or ""] += n
            self.by_plan[plan_id] += n
            self.by_task[(plan_id, task_id)] += n

    def group_cap(self, group: str) -> int:
        """Backfill may hold every slot of a group but one; a one-slot group is shared by taking
        turns: a member is released only while no periodic instance is waiting for the slot."""
        limit = self.slots(group)
        if limit > 1:
            return limit - 1
        if group not in self._periodic_waiting:
            row = self.conn.execute(_PERIODIC_WAITING[bool(group)], {"now": self.now, "group": group}).first()
            self._periodic_waiting[group] = row is not None
        return 0 if self._periodic_waiting[group] else 1

    def candidates(self, rules: PlanRules, room: int) -> list[Candidate]:
        in_order = bool(rules.workflows_in_order)
        params: dict[str, Any] = {"plan": rules.plan_id}
        if in_order:
            params["wf_order"] = sorted(rules.workflows_in_order)
        if rules.order == "NORMAL":
            # Over-fetch a little: one-at-a-time tasks and full groups may pass some over.
            params["lim"] = min(room, 500) * 2 + 8
            rows = self.conn.execute(_READY[(in_order, False)], params).mappings().all()
        else:
            # Strict order per task: only each idle task's next member may go, and only if ready.
            heads = []
            for task_id in rules.tasks:
                if self.by_task[(rules.plan_id, task_id)]:
                    continue
                head = self.conn.execute(_HEAD, {"plan": rules.plan_id, "task": task_id}).scalar()
                if head is not None:
                    heads.append(head)
            if not heads:
                return []
            rows = self.conn.execute(_READY[(in_order, True)], {**params, "seqs": heads}).mappings().all()
        return [Candidate(r["member_id"], r["task_id"], r["resource_group_id"] or "", r) for r in rows]

    def pass_over(self, plans: Sequence[PlanRules]) -> list[int]:
        """Release what the rules allow; returns the released instance ids (now WAIT_RUN)."""
        for rules in plans:
            room = (rules.parallel - self.by_plan[rules.plan_id]) if rules.parallel else _UNLIMITED
            if room <= 0:
                continue
            chosen: list[Candidate] = []
            for c in self.candidates(rules, room):
                if room <= 0:
                    break
                rule = rules.tasks.get(c.task_id)
                if rule is not None and rule.one_at_a_time and self.by_task[(rules.plan_id, c.task_id)] >= 1:
                    continue
                if self.by_group[c.group] >= self.group_cap(c.group):
                    continue
                chosen.append(c)
                room -= 1
                self.by_group[c.group] += 1
                self.by_plan[rules.plan_id] += 1
                self.by_task[(rules.plan_id, c.task_id)] += 1
            self._apply(rules, chosen)
        return self.released

    def _apply(self, rules: PlanRules, chosen: list[Candidate]) -> None:
        if not chosen:
            return
        ids = [c.instance_id for c in chosen]
        conn, now = self.conn, self.now
        members = [c.member_id for c in chosen]
        slow: list[Candidate] = []
        direct: list[Candidate] = []
        for c in chosen:
            # The candidate query checked that the gate was its only unmet edge: straight to
            # WAIT_RUN, unless it still waits for events (readiness decides those).
            r = c.row
            ok = r["state"] == states.WAIT_UPSTREAM and not (r["events_unmet"] and not r["skip_events"])
            (direct if ok else slow).append(c)
        # Readiness (below) reads the edges of the slow ones: their gates go at once.
        deferred = self._release(ids, members, defer=not slow)
        tx = Tx(conn, now, self.actor)
        reason = f"released by backfill plan {rules.plan_id}"
        # All in one statement (transition_many): a release is on the engine's cycle.
        won = transition_many(tx, [Move(c.row, states.WAIT_RUN, reason, self._wait_values(rules, c)) for c in direct])
        lost = [c for c, applied in zip(direct, won, strict=True) if not applied]
        if deferred and lost:  # changed meanwhile: readiness decides, on their edges without the gate
            conn.execute(_OPEN_GATES, {"ids": [c.instance_id for c in lost]})
        slow += lost
        for c in slow:
            # WaitExecutionTotalTTL counts from the release: waiting behind the plan's own queue
            # is not the instance waiting for its upstream or for resources.
            touch_instance(conn, c.instance_id, self._wait_values(rules, c))
        if slow:
            evaluate(tx, [c.instance_id for c in slow])
        tx.flush(into=self.into)
        self.released.extend(ids)

    def _release(self, ids: list[int], members: list[int], *, defer: bool) -> bool:
        """Mark the members released and remove their instances' gates. On PostgreSQL inside the
        engine's cycle, with ``defer``, both are deferred writes of the cycle's Tx: returns True."""
        conn = self.conn
        if conn.dialect.name != "postgresql":
            conn.execute(_RELEASE_MEMBERS, {"ids": members})
            conn.execute(_OPEN_GATES, {"ids": ids})
            return False
        parts = [lambda p: (_RELEASE_PG.format(p=p), {f"{p}st": RELEASED, f"{p}m": members}),
                 lambda p: (_OPEN_GATES_PG.format(p=p), {f"{p}i": ids, f"{p}k": GATE_KIND})]
        if defer and self.into is not None:
            for part in parts:
                self.into.defer(part)
            return True
        pg_together(conn, [part(f"r{i}_") for i, part in enumerate(parts)])
        return False

    def _wait_values(self, rules: PlanRules, c: Candidate) -> dict[str, Any]:
        rule = rules.tasks.get(c.task_id)
        ttl = rule.wait_ttl if rule else -1
        return {"wait_since": self.now, "deadline_at": self.now + timedelta(minutes=ttl) if ttl >= 0 else None}


def _live_query(some: bool, lock: bool) -> Any:
    q = select(BP.c.id, BP.c.config).where(BP.c.status == RUNNING_PLAN).order_by(BP.c.created_at, BP.c.id)
    if some:
        q = q.where(BP.c.id.in_(bindparam("ids", expanding=True)))
    return q.with_for_update(skip_locked=True) if lock else q


_LIVE = {(some, lock): _live_query(some, lock) for some in (False, True) for lock in (False, True)}


def live_plans(conn: Connection, cache: dict[str, PlanRules], plan_ids: Iterable[str] | None = None,
               *, lock: bool = False) -> list[PlanRules]:
    """The RUNNING plans (oldest first), optionally only ``plan_ids``. With ``lock`` each plan
    row is locked FOR UPDATE SKIP LOCKED on PostgreSQL, so two schedulers never release for the
    same plan at once (a plan being released or deleted elsewhere is skipped: whoever holds it
    does the work, and the watchdog comes back)."""
    params: dict[str, Any] = {}
    if plan_ids is not None:
        params["ids"] = sorted(set(plan_ids))
        if not params["ids"]:
            return []
    q = _LIVE[(plan_ids is not None, lock and conn.dialect.name == "postgresql")]
    out = []
    for plan_id, config in conn.execute(q, params):
        rules = cache.get(plan_id)
        if rules is None:
            rules = cache[plan_id] = PlanRules.from_row(plan_id, config or {})
        out.append(rules)
    return out


def finish_plans(conn: Connection, plans: Sequence[PlanRules], now: datetime) -> list[str]:
    """Plans without held or released members are DONE. Returns their ids."""
    done = []
    for rules in plans:
        left = conn.execute(
            select(BM.c.id).where(BM.c.plan_id == rules.plan_id, BM.c.status.in_(LIVE)).limit(1)
        ).first()
        if left is None:
            conn.execute(
                update(BP).where(BP.c.id == rules.plan_id, BP.c.status == RUNNING_PLAN)
                .values(status="DONE", ended_at=now, updated_at=now)
            )
            done.append(rules.plan_id)
    return done


def release_and_finish(conn: Connection, now: datetime, cache: dict[str, PlanRules], slots: Callable[[str], int],
                       actor: str, plan_ids: Iterable[str] | None = None, *, into: Tx | None = None) -> list[int]:
    """One pass: release for the RUNNING plans, mark the finished ones DONE. ``into``: the
    engine cycle's Tx, whose statement then writes the release's history (Tx.flush)."""
    plans = live_plans(conn, cache, plan_ids, lock=True)
    if not plans:
        return []
    releaser = Releaser(conn, now, slots, actor, into)
    released = releaser.pass_over(plans)
    # A plan with nothing in flight after the pass has either nothing left or only members
    # that wait for something outside the plan: look which.
    finish_plans(conn, [p for p in plans if not releaser.by_plan[p.plan_id]], now)
    return released


def any_running(conn: Connection) -> bool:
    return conn.execute(select(BP.c.id).where(BP.c.status == RUNNING_PLAN).limit(1)).first() is not None
