"""The instance-level kill steps every operation that stops instances shares: KillTaskInstancesAsync
and the task operations (services/ops/instance_control.py) and KillTriggerWorkflowRuns
(services/triggers/runs.py). Moved here from ops so both domains use one kill path.

- a waiting instance (or one waiting for a retry) ends EXPIRED at once through the one
  transition function;
- a RUNNING one is killed by the engine through its kill protocol: the running execution
  carries the reason with the ``killed:`` prefix and the instance a deadline that has passed;
  the engine signals the attempt's process group and ends the attempt EXPIRED without a retry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from wedata.scheduler.api import KILL_PREFIX, Tx, append_log, evaluate, log_line, states, transition
from wedata.storage.engine_tables import instance_executions, task_instances

TI, E = task_instances, instance_executions

__all__ = ["earlier_failure", "expire_waiting", "kill_one", "note", "request_kill", "settle_readiness"]


def settle_readiness(tx: Tx) -> None:
    """Re-evaluate the downstream instances the changes touched (as the engine does), then
    write the history."""
    for _ in range(10):
        if not tx.wake:
            break
        woken, tx.wake = tx.wake, set()
        evaluate(tx, woken)
    tx.flush()


def note(conn: Connection, inst: Mapping[Any, Any], now: datetime, text: str) -> None:
    """A line in the log of the instance's current round, when the round has one."""
    path = conn.execute(
        select(E.c.log_path).where(E.c.instance_id == inst["id"], E.c.life_round_num == inst["life_round_num"],
                                   E.c.log_path.is_not(None)).order_by(E.c.try_no.desc()).limit(1)
    ).scalar()
    if path:
        with contextlib.suppress(OSError):  # a courtesy: the transition history has the same fact
            append_log(path, log_line(now, "INFO", text))


def earlier_failure(inst: Mapping[Any, Any]) -> str | None:
    """The reason the instance's last attempt failed, when it did and it is still recorded."""
    if inst["state"] == states.COMPLETED or not inst.get("error_msg"):
        return None
    return str(inst["error_msg"])


def expire_waiting(tx: Tx, inst: Mapping[Any, Any], reason: str) -> bool:
    """End a waiting instance (or one waiting for a retry) EXPIRED without running it; the
    message says when it was stopped and keeps the reason of an earlier failed attempt."""
    earlier = earlier_failure(inst)
    if inst["state"] == states.FAILED_RETRY or (earlier and inst["tries"]):
        reason = f"{reason} while it waited for a retry; the last attempt had failed: {earlier or 'unknown reason'}"
    elif not inst["tries"]:
        reason = f"{reason} before it ran"
    ok = transition(tx, inst, states.EXPIRED, reason, {
        "retry_at": None, "deadline_at": None, "error_msg": reason, "ended_at": tx.now, "claimed_by": None,
    })
    if ok:
        note(tx.conn, inst, tx.now, reason)
    return ok


def request_kill(conn: Connection, inst: Mapping[Any, Any], reason: str, now: datetime) -> bool:
    """Ask the engine to kill the running attempt of ``inst``. False: it no longer runs.

    No ``row_version`` bump: this is not a state change, and the engine's own end of the
    attempt, racing with it, must still apply.
    """
    conn.execute(
        update(E).where(E.c.instance_id == inst["id"], E.c.life_round_num == inst["life_round_num"],
                        E.c.state == states.RUNNING).values(error_msg=f"{KILL_PREFIX} {reason}")
    )
    return conn.execute(
        update(TI).where(TI.c.id == inst["id"], TI.c.state == states.RUNNING).values(deadline_at=now)
    ).rowcount == 1


def kill_one(tx: Tx, inst: Mapping[Any, Any], reason: str) -> str:
    """Kill ``inst``: "expired" (it was waiting: done), "requested" (running: the engine kills
    it), "ended" (already finished: nothing to do) or "changed" (moved meanwhile: read again)."""
    state = inst["state"]
    if state == states.RUNNING:
        return "requested" if request_kill(tx.conn, inst, reason, tx.now) else "changed"
    if state in states.PENDING:
        return "expired" if expire_waiting(tx, inst, reason) else "changed"
    return "ended"
