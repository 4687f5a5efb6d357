"""Holding and releasing downstream instances of a checked task (ExecFailBlock).

The engine holds a key (task, data time) when a successful attempt of a task with a blocking
group ends (``storage.quality_tables.gate_success``): its downstream edges stay unmet, so the
downstream instances wait in WAIT_UPSTREAM. This module ends a hold:

- :func:`fail` when a blocking check did not pass: the hold stays, ``FAILED`` with the reason,
  and the waiting downstream instances show it as their JobErrorMsg (``waiting: held by ...``),
  until a later successful attempt of the task (a rerun) passes, the group stops blocking, or an
  operator sets the downstream instance to success;
- :func:`release` when it passed (or nothing blocks any more): the hold row goes, the edges are
  satisfied through the engine's door (``scheduler.api.satisfy_key``), readiness is re-evaluated
  in the same transaction, and the reason is cleared from the downstream instances.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, select, update

from wedata.scheduler.api import SchedulerApi, Tx, satisfy_key, states, touch_instance
from wedata.storage.engine_tables import instance_deps, task_instances
from wedata.storage.quality_tables import FAILED, quality_holds, quality_task_gates

H, D, TI, G = quality_holds, instance_deps, task_instances, quality_task_gates
HELD_PREFIX = "waiting: held by the data quality check"


def _waiting_downstream(conn: Connection, task_id: str, data_time: datetime) -> list[Any]:
    return list(conn.execute(
        select(TI.c.id, TI.c.error_msg).join(D, D.c.instance_id == TI.c.id)
        .where(D.c.upstream_task_id == task_id, D.c.upstream_data_time == data_time, D.c.met.is_(False),
               TI.c.state.in_(states.WAITING))
    ).all())


def fail(conn: Connection, task_id: str, data_time: datetime, life_round: int, reason: str, now: datetime) -> bool:
    """Keep the key held as FAILED with ``reason``; False when the hold is not this round's
    (a rerun started meanwhile, or it was released)."""
    done = conn.execute(update(H).where(H.c.task_id == task_id, H.c.data_time == data_time,
                                        H.c.life_round_num == life_round)
                        .values(state=FAILED, reason=reason[:2000], updated_at=now)).rowcount
    if not done:
        return False
    shown = f"{HELD_PREFIX} of {task_id} {data_time:%Y-%m-%d %H:%M:%S}: {reason}"[:2000]
    for iid, _ in _waiting_downstream(conn, task_id, data_time):
        touch_instance(conn, iid, {"error_msg": shown})
    return True


def release(scheduler: SchedulerApi, conn: Connection, task_id: str, data_time: datetime, now: datetime,
            actor: str, life_round: int | None = None) -> bool:
    """Remove the hold of a key (of ``life_round`` only, when given) and let its downstream
    edges be satisfied; readiness is re-evaluated in ``conn``'s transaction. The caller notifies
    the engine (``Change.INSTANCES``) after commit. False when there was no such hold."""
    cond = [H.c.task_id == task_id, H.c.data_time == data_time]
    if life_round is not None:
        cond.append(H.c.life_round_num == life_round)
    if not conn.execute(delete(H).where(and_(*cond))).rowcount:
        return False
    for iid, msg in _waiting_downstream(conn, task_id, data_time):
        if msg and msg.startswith(HELD_PREFIX):
            touch_instance(conn, iid, {"error_msg": None})
    up = conn.execute(select(TI.c.state).where(TI.c.task_id == task_id, TI.c.data_time == data_time)).scalar()
    if up in (states.COMPLETED, states.SKIP_RUNNING):
        tx = Tx(conn, now, actor)
        satisfy_key(tx, task_id, data_time)
        woken, tx.wake = sorted(tx.wake), set()
        scheduler.reevaluate(tx, woken)
        tx.flush()
    return True


def release_unblocked(scheduler: SchedulerApi, conn: Connection, task_ids: list[str], now: datetime,
                      actor: str) -> int:
    """Release every hold of these tasks that no blocking group covers any more (a group was
    modified or deleted). Returns how many were released."""
    if not task_ids:
        return 0
    blocking = {r[0] for r in conn.execute(select(G.c.task_id).where(G.c.task_id.in_(task_ids), G.c.block.is_(True)))}
    released = 0
    for task_id, data_time in conn.execute(select(H.c.task_id, H.c.data_time).where(H.c.task_id.in_(task_ids))).all():
        if task_id not in blocking and release(scheduler, conn, task_id, data_time, now, actor):
            released += 1
    return released
