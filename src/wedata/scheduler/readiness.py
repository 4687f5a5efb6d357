"""Readiness: which waiting state an instance belongs in, re-evaluated only where something changed.

WAIT_EVENT (an unmet event listener) -> WAIT_UPSTREAM (an unmet dependency edge) -> WAIT_RUN
(everything met; the dispatcher then waits for the scheduled time and a free slot). The inputs
are the ``met`` flags of ``instance_event_waits`` and ``instance_deps``, so evaluating N instances
is three indexed queries, whatever the number of tasks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update

from wedata.scheduler import states
from wedata.scheduler.deps import bypassable
from wedata.scheduler.event_consume import consume_waiting
from wedata.scheduler.transitions import Move, Tx, transition_many
from wedata.storage.engine_tables import instance_deps, instance_event_waits, task_instances

TI = task_instances
# workflow_id: the history row carries it, so the trigger observers skip periodic workflows'
# instances without a read (services/triggers/scope.py).
_COLS = (
    TI.c.id, TI.c.state, TI.c.row_version, TI.c.task_id, TI.c.data_time, TI.c.life_round_num,
    TI.c.tries, TI.c.skip_events, TI.c.scheduled_at, TI.c.workflow_id,
)


def unmet_events(tx: Tx, ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    W = instance_event_waits
    for i in range(0, len(ids), 500):
        for iid, n in tx.conn.execute(
            select(W.c.instance_id, func.count())
            .where(W.c.instance_id.in_(ids[i : i + 500]), W.c.met.is_(False))
            .group_by(W.c.instance_id)
        ):
            out[iid] = n
    return out


def target_state(events_unmet: int, deps_unmet: int, skip_events: bool) -> str:
    if events_unmet and not skip_events:
        return states.WAIT_EVENT
    if deps_unmet:
        return states.WAIT_UPSTREAM
    return states.WAIT_RUN


_D, _W = instance_deps, instance_event_waits
_UNMET_DEPS = (
    select(func.count()).where(_D.c.instance_id == TI.c.id, _D.c.met.is_(False)).correlate(TI).scalar_subquery()
)
_UNMET_EVENTS = (
    select(func.count()).where(_W.c.instance_id == TI.c.id, _W.c.met.is_(False)).correlate(TI).scalar_subquery()
)
# The instances with their unmet edge and event counts: one query (this is on every hop's path).
_WITH_COUNTS = select(*_COLS, _UNMET_DEPS.label("unmet_deps"), _UNMET_EVENTS.label("unmet_events")).where(
    TI.c.id.in_(bindparam("ids", expanding=True)), TI.c.state.in_(states.WAITING)
)


def _load(tx: Tx, ids: list[int]) -> list[Any]:
    rows: list[Any] = []
    for i in range(0, len(ids), 500):
        rows.extend(tx.conn.execute(_WITH_COUNTS, {"ids": ids[i : i + 500]}).mappings().all())
    return rows


def evaluate(tx: Tx, instance_ids: Iterable[int], *, with_bypass: bool = False) -> int:
    """Move each given waiting instance to the waiting state its edges call for.

    ``with_bypass`` also applies PollingNullStrategy EXECUTING conditions that depend on time or
    on absence (NOT_EXIST, PARENT_TIMEOUT) to instances whose scheduled time has come; the
    periodic sweep asks for it, the event path does not need it. Returns the number moved.
    """
    ids = sorted(set(instance_ids))
    if not ids:
        return 0
    rows = _load(tx, ids)
    if not rows:
        return 0
    reload = False
    if with_bypass:
        due = [r["id"] for r in rows if r["scheduled_at"] <= tx.now and r["unmet_deps"]]
        passing = bypassable(tx.conn, due, tx.now) if due else set()
        for iid, utid, udt in passing:
            tx.conn.execute(
                update(instance_deps)
                .where(
                    instance_deps.c.instance_id == iid,
                    instance_deps.c.upstream_task_id == utid,
                    instance_deps.c.upstream_data_time == udt,
                )
                .values(met=True)
            )
        reload = bool(passing)
    # Instances waiting for events take the open event cases fired for them (docs/events.md).
    on_events = [r["id"] for r in rows if r["unmet_events"] and not r["skip_events"]]
    if on_events and consume_waiting(tx.conn, on_events, tx.now):
        reload = True
    if reload:
        rows = _load(tx, ids)
    moves: list[Move] = []
    for r in rows:
        want = target_state(r["unmet_events"], r["unmet_deps"], bool(r["skip_events"]))
        if want != r["state"]:
            moves.append(Move(r, want, _REASONS[want]))
    # One statement for all of them (a layer of a DAG becomes ready at once).
    return sum(transition_many(tx, moves)) if moves else 0


_REASONS = {
    states.WAIT_RUN: "dependencies met",
    states.WAIT_UPSTREAM: "waiting for upstream instances",
    states.WAIT_EVENT: "waiting for events",
}


def waiting_ids(tx: Tx, *, due_before: datetime | None = None, limit: int = 5000, after_id: int = 0) -> list[int]:
    """A page of WAIT_EVENT / WAIT_UPSTREAM instances for the safety sweep (by id)."""
    q = select(TI.c.id).where(TI.c.state.in_((states.WAIT_EVENT, states.WAIT_UPSTREAM)), TI.c.id > after_id)
    if due_before is not None:
        q = q.where(TI.c.scheduled_at <= due_before)
    return [r[0] for r in tx.conn.execute(q.order_by(TI.c.id).limit(limit))]
