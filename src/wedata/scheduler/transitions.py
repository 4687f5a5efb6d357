"""The one transition function: every instance state change goes through :func:`transition`.

It checks the move against ``states.ALLOWED``, applies it with optimistic concurrency (the row's
``row_version`` must not have changed since it was read, so two schedulers, or the engine and an
API call, never both win), records who and why in ``instance_transitions``, and keeps the
instance-level dependency edges in step:

- an instance that COMPLETES (or is skipped) satisfies the edges that wait for its key;
- one that EXPIRES satisfies only edges that allow a failed parent (PARENT_EXPIRED);
- one that leaves a terminal state again (rerun) un-satisfies the edges of downstream
  instances that have not started yet.

The downstream instances whose edges changed are collected in ``Tx.wake`` so the caller
re-evaluates exactly those (event-driven readiness: the cost of one change is the number of its
direct dependents, never the number of tasks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from wedata.scheduler import states as S
from wedata.storage.engine_tables import instance_deps, instance_transitions, task_instances

__all__ = ["IllegalTransition", "Tx", "record_created", "transition"]

TI = task_instances


class IllegalTransition(Exception):
    """A move that states.ALLOWED does not permit."""

    def __init__(self, instance_id: int, from_state: str | None, to_state: str) -> None:
        super().__init__(f"instance {instance_id}: {from_state} -> {to_state} is not allowed")
        self.instance_id = instance_id
        self.from_state = from_state
        self.to_state = to_state


@dataclass
class Tx:
    """One unit of engine work inside a database transaction.

    ``actor`` is who acts ("scheduler:<node>" or a user's uin); history rows are buffered and
    written in one batch by :meth:`flush` (call it before the transaction commits).
    """

    conn: Connection
    now: datetime
    actor: str
    history: list[dict[str, Any]] = field(default_factory=list)
    wake: set[int] = field(default_factory=set)  # downstream instances to re-evaluate
    changed: int = 0

    def flush(self) -> None:
        if self.history:
            self.conn.execute(insert(instance_transitions), self.history)
            self.history.clear()


def _satisfy(tx: Tx, task_id: str, data_time: datetime, only_on_failed: bool) -> None:
    cond = [
        instance_deps.c.upstream_task_id == task_id,
        instance_deps.c.upstream_data_time == data_time,
        instance_deps.c.met.is_(False),
        instance_deps.c.kind.in_(("task", "self")),  # placeholders wait for re-resolution
    ]
    if only_on_failed:
        cond.append(instance_deps.c.on_failed.is_(True))
    rows = tx.conn.execute(
        update(instance_deps).where(and_(*cond)).values(met=True).returning(instance_deps.c.instance_id)
    ).all()
    tx.wake.update(r[0] for r in rows)


def _unsatisfy(tx: Tx, task_id: str, data_time: datetime) -> None:
    """A rerun takes back what the earlier success gave to instances that have not started."""
    waiting = select(TI.c.id).where(TI.c.state.in_(S.PENDING))
    rows = tx.conn.execute(
        update(instance_deps)
        .where(
            instance_deps.c.upstream_task_id == task_id,
            instance_deps.c.upstream_data_time == data_time,
            instance_deps.c.met.is_(True),
            instance_deps.c.instance_id.in_(waiting),
        )
        .values(met=False)
        .returning(instance_deps.c.instance_id)
    ).all()
    tx.wake.update(r[0] for r in rows)


def transition(
    tx: Tx,
    inst: Mapping[Any, Any],
    to_state: str,
    reason: str,
    values: Mapping[Any, Any] | None = None,
    *,
    actor: str | None = None,
) -> bool:
    """Move ``inst`` (a row with id, state, row_version, task_id, data_time, life_round_num,
    tries) to ``to_state``, setting ``values`` on the row in the same statement.

    Returns False when the row changed since it was read (another actor won; nothing written).
    Raises IllegalTransition for a move the state table forbids.
    """
    from_state = inst["state"]
    if not S.is_allowed(from_state, to_state):
        raise IllegalTransition(inst["id"], from_state, to_state)
    vals = dict(values or {})
    vals.update(state=to_state, row_version=inst["row_version"] + 1, updated_at=tx.now)
    result = tx.conn.execute(
        update(TI).where(TI.c.id == inst["id"], TI.c.row_version == inst["row_version"]).values(**vals)
    )
    if result.rowcount != 1:
        return False
    tx.changed += 1
    tx.history.append(
        {
            "instance_id": inst["id"],
            "from_state": from_state,
            "to_state": to_state,
            "life_round_num": vals.get("life_round_num", inst["life_round_num"]),
            "tries": vals.get("tries", inst["tries"]),
            "actor": actor or tx.actor,
            "reason": reason,
            "at": tx.now,
        }
    )
    task_id, data_time = inst["task_id"], inst["data_time"]
    if to_state in (S.COMPLETED, S.SKIP_RUNNING):
        _satisfy(tx, task_id, data_time, only_on_failed=False)
    elif to_state == S.EXPIRED:
        _satisfy(tx, task_id, data_time, only_on_failed=True)
    elif from_state in S.TERMINAL and to_state in S.WAITING:
        _unsatisfy(tx, task_id, data_time)
    return True


def record_created(tx: Tx, rows: Iterable[Mapping[Any, Any]], reason: str) -> None:
    """History for freshly inserted instances (the move from nothing to their first state)."""
    for row in rows:
        if not S.is_allowed(None, row["state"]):
            raise IllegalTransition(row["id"], None, row["state"])
        tx.history.append(
            {
                "instance_id": row["id"],
                "from_state": None,
                "to_state": row["state"],
                "life_round_num": row.get("life_round_num", 0),
                "tries": row.get("tries", 0),
                "actor": tx.actor,
                "reason": reason,
                "at": tx.now,
            }
        )
