"""Event consumption: which waiting instance gets which event case, exactly once.

The engine records what an instance waits for as ``instance_event_waits`` rows (one per
``EventListenerList`` entry: event name, the dimension of the instance's data time for the
listener's ``EventSubType``, the listener's ``EventBroadcastType``, a ``met`` flag). A case
(``event_cases``) satisfies a wait when all of these hold:

- same project (the instance's project is the event's: a 2025 listener has no project field),
  same event name, and the wait's dimension equals the case's (exact string match);
- the case is open: not expired (``expires_at`` is null or after now) and not exhausted
  (``consume_limit`` < 0, or ``consumed_count`` < ``consume_limit``);
- ``consumer_id``, when the trigger named one, is the instance's task;
- the instance has not consumed this case before (a case counts once per instance);
- for a listener declared ``SINGLE``: no SINGLE listener has taken the case yet.

Consuming is two conditional UPDATEs in the caller's transaction: claim the case (the WHERE
clause re-checks openness, so two consumers can never both take the last unit, on PostgreSQL
the second blocks on the row lock and then finds the condition false), then meet the wait
(``met = false`` re-checked); if the wait was met meanwhile by someone else, the claim is given
back. Both directions use this module: a new case releases the instances already waiting
(:func:`release_for_case`), and an instance that starts waiting takes a case fired before it
existed (:func:`consume_waiting`, called by scheduler/readiness.py). Neither moves an instance's
state: the caller re-evaluates the returned instance ids.

No import from the scheduler package here, so that the scheduler may import this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, insert, or_, select, update

from wedata.storage.engine_tables import instance_event_waits, task_instances
from wedata.storage.event_tables import event_cases, event_consumptions

__all__ = ["case_open", "consume_waiting", "release_for_case"]

C, W, TI, L = event_cases, instance_event_waits, task_instances, event_consumptions
WAIT_EVENT = "WAIT_EVENT"  # scheduler.states.WAIT_EVENT (not imported: see the module docstring)
_BATCH = 500


def case_open(now: datetime) -> ColumnElement[bool]:
    """SQL: the case can still be consumed at ``now``."""
    return and_(
        or_(C.c.expires_at.is_(None), C.c.expires_at > now),
        or_(C.c.consume_limit < 0, C.c.consumed_count < C.c.consume_limit),
    )


def _not_consumed_by_instance() -> ColumnElement[bool]:
    return ~exists().where(L.c.case_id == C.c.id, L.c.instance_id == W.c.instance_id)


@dataclass(frozen=True, slots=True)
class _Wait:
    instance_id: int
    event_name: str
    single: bool
    task_id: str
    data_time: datetime


def _wait(row: Any) -> _Wait:
    return _Wait(
        row["instance_id"],
        row["event_name"],
        str(row["broadcast_type"] or "").upper() == "SINGLE",
        row["task_id"],
        row["data_time"],
    )


def _consume(conn: Connection, case_id: str, wait: _Wait, now: datetime) -> bool:
    """Give the case to the wait, atomically; False when the case or the wait is no longer free."""
    claim = [C.c.id == case_id, case_open(now)]
    values: dict[str, Any] = {"consumed_count": C.c.consumed_count + 1, "last_consumed_at": now}
    if wait.single:
        claim.append(C.c.single_taken.is_(False))
        values["single_taken"] = True
    if conn.execute(update(C).where(*claim).values(**values)).rowcount != 1:
        return False
    met = conn.execute(
        update(W)
        .where(W.c.instance_id == wait.instance_id, W.c.event_name == wait.event_name, W.c.met.is_(False))
        .values(met=True, met_at=now)
    )
    if met.rowcount != 1:
        # Met meanwhile by another case (a concurrent trigger): hand the unit back.
        back: dict[str, Any] = {"consumed_count": C.c.consumed_count - 1}
        if wait.single:
            back["single_taken"] = False
        conn.execute(update(C).where(C.c.id == case_id).values(**back))
        return False
    conn.execute(
        insert(L).values(
            case_id=case_id,
            instance_id=wait.instance_id,
            task_id=wait.task_id,
            data_time=wait.data_time,
            consumed_at=now,
        )
    )
    return True


def release_for_case(conn: Connection, case_id: str, now: datetime) -> list[int]:
    """A case was just fired: give it to the instances waiting for it, oldest data time first
    (all of them for a broadcast case, one for a SINGLE one). Returns the instances whose
    wait was met."""
    case = conn.execute(select(C).where(C.c.id == case_id)).mappings().first()
    if case is None:
        return []
    cond = [
        W.c.event_name == case["event_name"],
        W.c.dimension == case["dimension"],
        W.c.met.is_(False),
        TI.c.project_id == case["project_id"],
        TI.c.state == WAIT_EVENT,
        ~exists().where(L.c.case_id == case_id, L.c.instance_id == W.c.instance_id),
    ]
    if case["consumer_id"]:
        cond.append(TI.c.task_id == case["consumer_id"])
    rows = conn.execute(
        select(W.c.instance_id, W.c.event_name, W.c.broadcast_type, TI.c.task_id, TI.c.data_time)
        .select_from(W.join(TI, TI.c.id == W.c.instance_id))
        .where(*cond)
        .order_by(TI.c.data_time, TI.c.scheduled_at, TI.c.id)
    ).mappings().all()
    released: list[int] = []
    single_gone = False
    for row in rows:
        wait = _wait(row)
        if wait.single and single_gone:
            continue
        if _consume(conn, case_id, wait, now):
            released.append(wait.instance_id)
            continue
        # Why did it fail? Stop when nothing is left; skip the SINGLE listeners once one took it.
        state = conn.execute(
            select(case_open(now).label("open"), C.c.single_taken).where(C.c.id == case_id)
        ).first()
        if state is None or not state.open:
            break
        single_gone = bool(state.single_taken)
    return released


def consume_waiting(conn: Connection, instance_ids: Iterable[int], now: datetime) -> list[int]:
    """Instances that wait for events take the open cases fired for them (oldest case first,
    one case per unmet wait). Returns the instances whose waits changed."""
    ids = sorted(set(instance_ids))
    changed: set[int] = set()
    for i in range(0, len(ids), _BATCH):
        chunk = ids[i : i + _BATCH]
        rows = conn.execute(
            select(
                W.c.instance_id, W.c.event_name, W.c.broadcast_type, TI.c.task_id, TI.c.data_time,
                C.c.id.label("case_id"), C.c.single_taken,
            )
            .select_from(
                W.join(TI, TI.c.id == W.c.instance_id).join(
                    C,
                    and_(
                        C.c.project_id == TI.c.project_id,
                        C.c.event_name == W.c.event_name,
                        C.c.dimension == W.c.dimension,
                    ),
                )
            )
            .where(
                W.c.instance_id.in_(chunk),
                W.c.met.is_(False),
                case_open(now),
                or_(C.c.consumer_id.is_(None), C.c.consumer_id == TI.c.task_id),
                _not_consumed_by_instance(),
            )
            .order_by(W.c.instance_id, W.c.event_name, C.c.triggered_at, C.c.id)
        ).mappings().all()
        done: set[tuple[int, str]] = set()
        for row in rows:
            wait = _wait(row)
            key = (wait.instance_id, wait.event_name)
            if key in done or (wait.single and row["single_taken"]):
                continue
            if _consume(conn, row["case_id"], wait, now):
                done.add(key)
                changed.add(wait.instance_id)
    return sorted(changed)
