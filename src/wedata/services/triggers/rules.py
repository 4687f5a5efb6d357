"""Trigger rules: each task run's ``DependencyTriggerPolicy`` (spec §3.8), evaluated when its
upstream task runs end.

Inside a workflow run, "B depends on A" is an ``instance_deps`` edge of kind ``trigger``
(written by runs.py). The transition function never satisfies that kind (it knows only
``task``/``self`` edges), so an upstream's end does not by itself let B go: this module decides,
in the transaction that ended the upstream (progress.py, the transition observer), one of

- **pass**: B's trigger edges are marked met and readiness moves it on (WAIT_RUN, then the
  engine dispatches it as any instance);
- **skip**: B ends ``SKIP_RUNNING`` without running (task run ``SKIP``), with the reason;
- **upstream failed**: B ends ``EXPIRED`` without running (task run ``FAILED``, "upstream failed");
- **wait**: nothing yet.

A skip or an upstream-failed end is itself an end, so the decision walks on to B's own
downstream in the same transaction (the skip propagation Airflow users expect: under ALL_SUCCESS
a skipped task skips its whole downstream; ALL_DONE or NONE_FAILED stop it).

What an upstream counts as: ``success`` (COMPLETED), ``failed`` (EXPIRED: failed for good,
killed, timed out, or itself upstream-failed) or ``skipped`` (SKIP_RUNNING); anything else has
not ended. Decisions where the spec is loose (docs/triggers.md has the table):

- the ``ALL_*``/``NONE_*`` policies decide once every upstream has ended (as the spec says:
  "all upstream terminal ⇒ ..."); the ``ONE_*`` policies as soon as their condition holds;
- ``ONE_DONE`` passes when one upstream succeeded or failed (a skip is not "done", as in
  Airflow); when all ended skipped it skips rather than wait for ever (so do ``ONE_FAILED`` and
  ``ONE_SUCCESS`` when all ended without their event, as the spec says);
- a task without upstream in its run passes at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select, update

from wedata.scheduler.api import Tx, evaluate, states, transition
from wedata.storage.engine_tables import instance_deps, task_instances
from wedata.storage.trigger_tables import trigger_task_runs

TI, D, TR = task_instances, instance_deps, trigger_task_runs
KIND = "trigger"  # instance_deps.kind of an edge inside a workflow run
PASS, SKIP, FAIL, WAIT = "pass", "skip", "upstream-failed", "wait"
POLICIES = (
    "ALL_SUCCESS", "ALL_FAILED", "ALL_DONE", "ALL_DONE_AT_LEAST_ONE_SUCCESS", "ALL_SKIPPED", "ONE_FAILED",
    "ONE_SUCCESS", "ONE_DONE", "NONE_FAILED", "ALL_DONE_NONE_FAILED_AT_LEAST_ONE_SUCCESS", "NONE_SKIPPED",
    "ALL_DONE_AT_LEAST_ONE_FAILED",
)
UPSTREAM_FAILED = "upstream failed"
_WAITING = (states.WAIT_EVENT, states.WAIT_UPSTREAM, states.WAIT_RUN)


def decide(policy: str, upstream: Sequence[str | None]) -> str:
    """PASS, SKIP, FAIL (upstream failed) or WAIT for a task whose upstream task runs are in the
    given instance states (None: no instance)."""
    n = len(upstream)
    ok = sum(1 for s in upstream if s == states.COMPLETED)
    failed = sum(1 for s in upstream if s == states.EXPIRED)
    skipped = sum(1 for s in upstream if s == states.SKIP_RUNNING)
    if n == 0:
        return PASS
    ended = ok + failed + skipped == n
    if policy == "ONE_FAILED":
        return PASS if failed else SKIP if ended else WAIT
    if policy == "ONE_SUCCESS":
        return PASS if ok else SKIP if ended else WAIT
    if policy == "ONE_DONE":
        return PASS if ok or failed else SKIP if ended else WAIT
    if not ended:
        return WAIT
    if policy == "ALL_FAILED":
        return PASS if failed == n else SKIP
    if policy == "ALL_DONE":
        return PASS
    if policy == "ALL_DONE_AT_LEAST_ONE_SUCCESS":
        return PASS if ok else SKIP
    if policy == "ALL_SKIPPED":
        return PASS if skipped == n else SKIP
    if policy == "NONE_FAILED":
        return PASS if not failed else FAIL
    if policy == "ALL_DONE_NONE_FAILED_AT_LEAST_ONE_SUCCESS":
        return PASS if not failed and ok else SKIP
    if policy == "NONE_SKIPPED":
        return PASS if not skipped else SKIP
    if policy == "ALL_DONE_AT_LEAST_ONE_FAILED":
        return PASS if failed else SKIP
    # ALL_SUCCESS (and the default for anything unknown).
    return PASS if ok == n else SKIP if skipped else FAIL


_UP = TI.alias("up")
# A waiting task run's trigger edges with the state of each upstream instance (one query).
_EDGES = (
    select(D.c.upstream_task_id, _UP.c.state)
    .select_from(D.outerjoin(_UP, and_(_UP.c.task_id == D.c.upstream_task_id,
                                       _UP.c.data_time == D.c.upstream_data_time)))
    .where(D.c.instance_id == bindparam("iid"), D.c.kind == KIND)
)
# The waiting task runs downstream of one ended instance, with their policy.
_DOWNSTREAM = (
    select(TI, TR.c.trigger_policy)
    .select_from(D.join(TI, TI.c.id == D.c.instance_id).join(TR, TR.c.instance_id == TI.c.id))
    .where(D.c.upstream_task_id == bindparam("task"), D.c.upstream_data_time == bindparam("time"),
           D.c.kind == KIND, TI.c.state.in_(_WAITING))
)
_MEET = update(D).where(D.c.instance_id == bindparam("iid"), D.c.kind == KIND, D.c.met.is_(False)).values(met=True)


def _why(policy: str, verdict: str, edges: Sequence[Any]) -> str:
    seen = ", ".join(f"{e.upstream_task_id} {_word(e.state)}" for e in edges[:10])
    if verdict == FAIL:
        return f"{UPSTREAM_FAILED}: DependencyTriggerPolicy {policy} and the upstream task runs ended ({seen})"
    return f"skipped: DependencyTriggerPolicy {policy} and the upstream task runs ended ({seen})"


def _word(state: str | None) -> str:
    return {states.COMPLETED: "SUCCESS", states.EXPIRED: "FAILED", states.SKIP_RUNNING: "SKIP"}.get(
        state or "", "not ended")


def apply(tx: Tx, inst: Any, policy: str) -> tuple[str, bool]:
    """Decide for one waiting task run and act; returns (verdict, whether it ended now)."""
    edges = tx.conn.execute(_EDGES, {"iid": inst["id"]}).all()
    verdict = decide(policy, [e.state for e in edges])
    if verdict == PASS:
        tx.conn.execute(_MEET, {"iid": inst["id"]})
        tx.wake.add(inst["id"])
        return verdict, False
    if verdict == WAIT:
        return verdict, False
    reason = _why(policy, verdict, edges)
    to = states.SKIP_RUNNING if verdict == SKIP else states.EXPIRED
    done = transition(tx, inst, to, reason, {
        "retry_at": None, "deadline_at": None, "error_msg": reason, "ended_at": tx.now, "claimed_by": None,
    })
    return verdict, done


def settle(conn: Connection, now: datetime, ended: Sequence[int], *, waiting: Sequence[int] = ()) -> None:
    """Decide for the waiting task runs downstream of the ``ended`` instances (and for the
    ``waiting`` task runs named directly: a rerun's), walking on through the ones that end."""
    tx = Tx(conn=conn, now=now, actor="scheduler")
    frontier = [(r.task_id, r.data_time) for r in conn.execute(
        select(TI.c.task_id, TI.c.data_time).where(TI.c.id.in_(list(ended))))] if ended else []
    if waiting:
        rows = conn.execute(
            select(TI, TR.c.trigger_policy).select_from(TI.join(TR, TR.c.instance_id == TI.c.id))
            .where(TI.c.id.in_(list(waiting)), TI.c.state.in_(_WAITING))
        ).mappings().all()
        for inst in rows:
            if apply(tx, inst, inst["trigger_policy"])[1]:
                frontier.append((inst["task_id"], inst["data_time"]))
    seen: set[int] = set()
    while frontier:
        task_id, data_time = frontier.pop()
        for inst in conn.execute(_DOWNSTREAM, {"task": task_id, "time": data_time}).mappings().all():
            if inst["id"] in seen:
                continue
            verdict, ended_now = apply(tx, inst, inst["trigger_policy"])
            if verdict != WAIT:
                seen.add(inst["id"])
            if ended_now:
                frontier.append((inst["task_id"], inst["data_time"]))
    woken, tx.wake = sorted(tx.wake), set()
    if woken:
        evaluate(tx, woken)
    tx.flush()
