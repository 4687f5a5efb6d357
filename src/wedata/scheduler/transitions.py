"""The one transition function: every instance state change goes through :func:`transition`.

It checks the move against ``states.ALLOWED``, applies it with optimistic concurrency (the row's
``row_version`` must not have changed since it was read, so two schedulers, or the engine and an
API call, never both win), records who and why in ``instance_transitions``, and keeps the
instance-level dependency edges in step:

- an instance that COMPLETES (or is skipped) satisfies the edges that wait for its key;
- one that EXPIRES satisfies only edges that allow a failed parent (PARENT_EXPIRED);
- one that leaves a terminal state again (rerun) un-satisfies the edges of downstream
  instances that have not started yet;
- a key held by a data-quality check (``quality_holds``, written by the engine before the
  transition: ``storage.quality_tables.gate_success``) satisfies nothing; the quality service
  releases it through :func:`satisfy_key` when the check passes.

The downstream instances whose edges changed are collected in ``Tx.wake`` so the caller
re-evaluates exactly those (event-driven readiness: the cost of one change is the number of its
direct dependents, never the number of tasks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, insert, select, update

from wedata.scheduler import observers, states
from wedata.storage.bulk import pg_insert_many, pg_insert_statement, pg_together
from wedata.storage.engine_tables import instance_deps, instance_transitions, task_instances
from wedata.storage.quality_tables import quality_holds
from wedata.storage.rowkeys import row_params, rows_in_param

__all__ = ["Deferred", "IllegalTransition", "Move", "Tx", "cycle_tx", "in_cycle", "record_created", "satisfy_key", "transition", "transition_many"]

TI = task_instances
# The keys of a history row that are hints for the observers, not columns (Tx).
HINTS = ("workflow_id", "alarm_watched")


class IllegalTransition(Exception):
    """A move that states.ALLOWED does not permit."""

    def __init__(self, instance_id: int, from_state: str | None, to_state: str) -> None:
        super().__init__(f"instance {instance_id}: {from_state} -> {to_state} is not allowed")
        self.instance_id = instance_id
        self.from_state = from_state
        self.to_state = to_state


@dataclass
class SavepointResult:
    committed: bool = False
    error: BaseException | None = None


@dataclass
class Deferred:
    """A write that nothing in the transaction reads before its end (PostgreSQL only), built by
    :meth:`Tx.defer`: sent in the statement of :meth:`Tx.flush` that writes the history, one
    round trip for all of them. ``on_rows`` is given its RETURNING rows."""

    sql: str
    params: dict[str, Any]
    on_rows: Callable[[list[Any]], None] | None = None


@dataclass
class Tx:
    """One unit of engine work inside a database transaction.

    ``actor`` is who acts ("scheduler:<node>" or a user's uin); history rows are buffered and
    written in one batch by :meth:`flush` (call it before the transaction commits). Each row also
    carries hints for the observers, taken from the row the caller moved (None when it did not
    have them), so that they may skip what is not theirs without a read; they are not columns of
    ``instance_transitions`` and are not stored (:data:`HINTS`):

    - ``workflow_id``: the instance's workflow (services/triggers/scope.py);
    - ``alarm_watched``: whether an enabled alarm rule watches the instance (the engine reads it
      with the attempts it ends, scheduler/cycle.py; services/alarms/alarms.py).
    """

    conn: Connection
    now: datetime
    actor: str
    history: list[dict[str, Any]] = field(default_factory=list)
    wake: set[int] = field(default_factory=set)  # downstream instances to re-evaluate
    changed: int = 0
    eligible_at: datetime | None = None  # earliest future scheduled time of a new WAIT_RUN
    notified: int = 0  # history rows the observers have already seen (flush(write=False))
    deferred: list[Deferred] = field(default_factory=list)  # written by the next flush()

    def defer(self, build: Callable[[str], tuple[str, dict[str, Any]] | None],
              on_rows: Callable[[list[Any]], None] | None = None) -> bool:
        """Send a write with the history at the next :meth:`flush` (PostgreSQL). ``build(prefix)``
        makes the statement and its parameters, each parameter name starting with ``prefix``
        (storage/bulk.py's ``pg_insert_statement``), or None when it cannot: then nothing is
        deferred and this returns False (the caller writes at once). At most one deferred write
        of a flush returns rows: a second one is sent at once."""
        made = build(f"d{len(self.deferred)}_")
        if made is None:
            return False
        if on_rows is not None and any(d.on_rows is not None for d in self.deferred):
            on_rows(list(self.conn.exec_driver_sql(*made).all()))
            return True
        self.deferred.append(Deferred(made[0], made[1], on_rows))
        return True

    def _stored_rows(self) -> list[dict[str, Any]]:
        """The history rows as ``instance_transitions`` stores them (the hints left out)."""
        return [{k: v for k, v in h.items() if k not in HINTS} for h in self.history]

    def note_eligible(self, scheduled_at: datetime | None) -> None:
        if scheduled_at is not None and scheduled_at > self.now and (
            self.eligible_at is None or scheduled_at < self.eligible_at
        ):
            self.eligible_at = scheduled_at

    @contextmanager
    def savepoint(self) -> Iterator[SavepointResult]:
        """Run a block in a nested transaction; if it raises, undo its writes AND what it
        buffered here (history rows, wakes), and swallow the error into the result."""
        result = SavepointResult()
        mark, wake, changed, writes = len(self.history), set(self.wake), self.changed, len(self.deferred)
        try:
            with self.conn.begin_nested():
                yield result
            result.committed = True
        except Exception as exc:
            del self.history[mark:]
            del self.deferred[writes:]
            self.wake, self.changed = wake, changed
            self.notified = min(self.notified, mark)
            result.error = exc

    def flush(self, *, write: bool = True, into: Tx | None = None) -> None:
        """Hand the rows the observers have not seen to them and, unless ``write`` is False,
        write every buffered row to ``instance_transitions``.

        ``write=False`` is for the middle of the engine's cycle: the observers must see the
        attempts that ended before dispatch, but their history rows can wait for the cycle's
        end and go in the same INSERT as the claims' (one round trip a hop fewer on
        PostgreSQL). No observer reads ``instance_transitions``: each is given its rows.

        The writes the caller deferred (:meth:`defer`, PostgreSQL) go in the same statement as
        the history, before the observers are told. What the observers defer or record while
        they are told is written too, before this returns.

        ``into``: another transaction's Tx on the same connection (the engine's cycle, while an
        observer works in it: :func:`cycle_tx`); on PostgreSQL the history rows become one of
        its deferred writes instead of a statement now. The caller drops them from ``into`` if
        the savepoint it works in fails (``del into.deferred[mark:]``)."""
        while True:
            fresh = self.history[self.notified:]
            if write and into is not None and into is not self and self.history and self._defer_history(into):
                pass
            elif write and self.deferred:
                self._write_together()
            elif write and self.history:
                rows = self._stored_rows()
                # PostgreSQL: one statement whatever the number of rows (storage/bulk.py).
                if pg_insert_many(self.conn, instance_transitions, rows) is None:
                    self.conn.execute(insert(instance_transitions), rows)
            if write:
                self.history.clear()
                self.notified = 0
            elif fresh:
                self.notified = len(self.history)
            if fresh:
                # Observers (alarms) see the batch in the same transaction (observers.py).
                observers.notify(self.conn, fresh)
            if not (write and (self.history or self.deferred)):
                return

    def _defer_history(self, into: Tx) -> bool:
        """This Tx's history as a deferred write of ``into`` (False: it cannot be, write it now)."""
        rows, conn = self._stored_rows(), self.conn
        return into.defer(lambda prefix: pg_insert_statement(conn, instance_transitions, rows, prefix=prefix))

    def _write_together(self) -> None:
        """The deferred writes and the history: one statement (storage/bulk.py ``pg_together``)."""
        writes, self.deferred = self.deferred, []
        parts = [(w.sql, w.params) for w in writes]
        if self.history:
            rows = self._stored_rows()
            history = pg_insert_statement(self.conn, instance_transitions, rows, prefix="h")
            if history is None:  # rows it cannot carry as arrays: their own INSERT
                self.conn.execute(insert(instance_transitions), rows)
            else:
                parts.append(history)
        returning = next((i for i, w in enumerate(writes) if w.on_rows is not None), None)
        got = pg_together(self.conn, parts, rows_of=returning)
        if returning is not None:
            on_rows = writes[returning].on_rows
            assert on_rows is not None
            on_rows(got)


# The engine cycle's Tx while the cycle runs (engine.py, `in_cycle`). A context variable, not
# the connection's `info`: that dictionary belongs to the pooled DBAPI connection (it outlives the
# cycle) and reading it after the connection broke raises, which replaced a database outage's
# error with another one in the engine's log.
_CYCLE: ContextVar[Tx | None] = ContextVar("wedata_cycle_tx", default=None)


@contextmanager
def in_cycle(tx: Tx) -> Iterator[None]:
    """While the body runs, :func:`cycle_tx` answers ``tx`` for its connection (this thread)."""
    token = _CYCLE.set(tx)
    try:
        yield
    finally:
        _CYCLE.reset(token)


def cycle_tx(conn: Connection) -> Tx | None:
    """The engine cycle's Tx when ``conn`` is its connection and the cycle is running (an
    observer called from its flush), else None."""
    tx = _CYCLE.get()
    return tx if tx is not None and tx.conn is conn else None


def _dep_key(only_on_failed: bool) -> Any:
    D = instance_deps
    cond = [
        D.c.upstream_task_id == bindparam("_task"),
        D.c.upstream_data_time == bindparam("_time"),
        D.c.met.is_(False),
        D.c.kind.in_(("task", "self")),  # placeholders wait for re-resolution
        # A key held by a data-quality check (ExecFailBlock) satisfies nothing until released.
        ~exists().where(quality_holds.c.task_id == bindparam("_task"), quality_holds.c.data_time == bindparam("_time")),
    ]
    if only_on_failed:
        cond.append(D.c.on_failed.is_(True))
    return update(D).where(and_(*cond)).values(met=True).returning(D.c.instance_id)


# Built once: statement construction is a large share of the engine's per-instance cost.
#
# The edges are satisfied by a statement of their own, AFTER the move's UPDATE, never folded
# into it (a data-modifying CTE). Whoever rewrites a downstream instance's edges (a rerun,
# services/ops) first locks the upstream instance rows FOR UPDATE; the move's UPDATE of such a
# row waits for that transaction, and the next statement's snapshot then sees the rewritten
# edges. One statement keeps the snapshot it took before the wait: it misses them, and the
# downstream waits forever (tried on 2026-12-07: tests/actions/ops/test_ops_async.py
# ::test_son_range_type_limits_the_downstream_to_the_workflow_or_the_project failed every time).
_SATISFY = _dep_key(False)
_SATISFY_FAILED = _dep_key(True)
_UNSATISFY = (
    update(instance_deps)
    .where(
        instance_deps.c.upstream_task_id == bindparam("_task"),
        instance_deps.c.upstream_data_time == bindparam("_time"),
        instance_deps.c.met.is_(True),
        instance_deps.c.instance_id.in_(select(TI.c.id).where(TI.c.state.in_(states.PENDING))),
    )
    .values(met=False)
    .returning(instance_deps.c.instance_id)
)
_UPDATES: dict[frozenset[str], Any] = {}


def _update_statement(keys: frozenset[str]) -> Any:
    stmt = _UPDATES.get(keys)
    if stmt is None:
        stmt = (
            update(TI)
            .where(TI.c.id == bindparam("_id"), TI.c.row_version == bindparam("_rv"))
            .values({k: bindparam(k) for k in keys})
        )
        _UPDATES[keys] = stmt
    return stmt


def _effect_of(from_state: str | None, to_state: str) -> Any:
    if to_state in (states.COMPLETED, states.SKIP_RUNNING):
        return _SATISFY
    if to_state == states.EXPIRED:
        return _SATISFY_FAILED
    if from_state in states.TERMINAL and to_state in states.WAITING:
        return _UNSATISFY
    return None


def _record(tx: Tx, inst: Mapping[Any, Any], to_state: str, reason: str, vals: Mapping[Any, Any],
            actor: str | None) -> None:
    tx.changed += 1
    tx.history.append(
        {
            "instance_id": inst["id"],
            "from_state": inst["state"],
            "to_state": to_state,
            "life_round_num": vals.get("life_round_num", inst["life_round_num"]),
            "tries": vals.get("tries", inst["tries"]),
            "actor": actor or tx.actor,
            "reason": reason,
            "at": tx.now,
            "workflow_id": inst.get("workflow_id"),
            "alarm_watched": inst.get("alarm_watched"),
        }
    )
    if to_state == states.WAIT_RUN:
        tx.note_eligible(inst.get("scheduled_at"))


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
    if not states.is_allowed(from_state, to_state):
        raise IllegalTransition(inst["id"], from_state, to_state)
    vals = dict(values or {})
    vals.update(state=to_state, row_version=inst["row_version"] + 1, updated_at=tx.now)
    stmt = _update_statement(frozenset(vals))
    result = tx.conn.execute(stmt, {**vals, "_id": inst["id"], "_rv": inst["row_version"]})
    if result.rowcount != 1:
        return False
    _record(tx, inst, to_state, reason, vals, actor)
    effect = _effect_of(from_state, to_state)
    if effect is not None:
        key = {"_task": inst["task_id"], "_time": inst["data_time"]}
        tx.wake.update(r[0] for r in tx.conn.execute(effect, key))
    return True


@dataclass
class Move:
    """One transition of a batch (:func:`transition_many`): the arguments of :func:`transition`."""

    inst: Mapping[Any, Any]
    to_state: str
    reason: str
    values: Mapping[Any, Any] | None = None
    actor: str | None = None


def _deps_by_keys(only_on_failed: bool) -> Any:
    """``_dep_key`` for many keys at once (one statement, the held keys still satisfy nothing)."""
    D = instance_deps
    cond = [
        # Both columns listed as well: SQLite searches ix_instance_deps_upstream (storage/rowkeys.py).
        rows_in_param((D.c.upstream_task_id, D.c.upstream_data_time), "_keys", indexed=2),
        D.c.met.is_(False),
        D.c.kind.in_(("task", "self")),
        ~exists().where(quality_holds.c.task_id == D.c.upstream_task_id,
                        quality_holds.c.data_time == D.c.upstream_data_time),
    ]
    if only_on_failed:
        cond.append(D.c.on_failed.is_(True))
    return update(D).where(and_(*cond)).values(met=True).returning(D.c.instance_id)


_MANY_EFFECTS: dict[int, Any] = {id(_SATISFY): _deps_by_keys(False), id(_SATISFY_FAILED): _deps_by_keys(True)}
_BATCH_UPDATES: dict[frozenset[str], Any] = {}
_CHUNK = 500


def _batch_update_statement(keys: frozenset[str]) -> Any:
    stmt = _BATCH_UPDATES.get(keys)
    if stmt is None:
        stmt = (
            update(TI)
            .where(rows_in_param((TI.c.id, TI.c.row_version), "_keys"))  # SQLite: by primary key
            .values({**{k: bindparam(k) for k in keys}, "row_version": TI.c.row_version + 1})
            .returning(TI.c.id)
        )
        _BATCH_UPDATES[keys] = stmt
    return stmt


def _group_key(vals: Mapping[str, Any], index: int) -> Any:
    try:
        key = tuple(sorted(vals.items()))
        hash(key)
    except TypeError:  # an unhashable value (a JSON dict): a group of its own
        return ("one", index)
    return key


def transition_many(tx: Tx, moves: Sequence[Move]) -> list[bool]:
    """:func:`transition` for several instances at once, with the same checks and effects in a
    few statements instead of two or three per instance (each is a network round trip on
    PostgreSQL): one ``UPDATE ... WHERE (id, row_version) IN (...) RETURNING id`` per group of
    moves that set the same values, then one statement per kind of edge effect for all the keys.

    Returns, per move, whether it was applied (False: the row changed since it was read). Raises
    IllegalTransition, before anything is written, when one move is not allowed. Moves that
    un-satisfy edges (a rerun) depend on the order of the batch and are applied one by one.
    """
    for m in moves:
        if not states.is_allowed(m.inst["state"], m.to_state):
            raise IllegalTransition(m.inst["id"], m.inst["state"], m.to_state)
    ids = {m.inst["id"] for m in moves}
    if len(moves) < 2 or len(ids) != len(moves) or any(
        _effect_of(m.inst["state"], m.to_state) is _UNSATISFY for m in moves
    ):
        return [transition(tx, m.inst, m.to_state, m.reason, m.values, actor=m.actor) for m in moves]
    full: list[dict[str, Any]] = []
    groups: dict[Any, list[int]] = {}
    for i, m in enumerate(moves):
        vals = dict(m.values or {})
        vals.update(state=m.to_state, updated_at=tx.now)
        full.append(vals)
        groups.setdefault(_group_key(vals, i), []).append(i)
    won: set[int] = set()
    for members in groups.values():
        vals = full[members[0]]
        stmt = _batch_update_statement(frozenset(vals))
        for c in range(0, len(members), _CHUNK):
            keys = [(moves[i].inst["id"], moves[i].inst["row_version"]) for i in members[c : c + _CHUNK]]
            won.update(r[0] for r in tx.conn.execute(stmt, {**vals, **row_params("_keys", keys)}))
    applied: list[bool] = []
    effects: dict[int, list[tuple[Any, Any]]] = {}
    for m, vals in zip(moves, full, strict=True):
        ok = m.inst["id"] in won
        applied.append(ok)
        if not ok:
            continue
        _record(tx, m.inst, m.to_state, m.reason, vals, m.actor)
        effect = _effect_of(m.inst["state"], m.to_state)
        if effect is not None:
            effects.setdefault(id(effect), []).append((m.inst["task_id"], m.inst["data_time"]))
    for effect_id, keys in effects.items():
        many = _MANY_EFFECTS[effect_id]
        for c in range(0, len(keys), _CHUNK):
            tx.wake.update(r[0] for r in tx.conn.execute(many, row_params("_keys", keys[c : c + _CHUNK], indexed=2)))
    return applied


def satisfy_key(tx: Tx, task_id: str, data_time: datetime) -> None:
    """Satisfy the edges waiting for a COMPLETED key whose hold was just removed (a passed
    data-quality check); the downstream instances go to ``tx.wake``."""
    tx.wake.update(r[0] for r in tx.conn.execute(_SATISFY, {"_task": task_id, "_time": data_time}))


def record_created(tx: Tx, rows: Iterable[Mapping[Any, Any]], reason: str) -> None:
    """History for freshly inserted instances (the move from nothing to their first state)."""
    for row in rows:
        if not states.is_allowed(None, row["state"]):
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
                "workflow_id": row.get("workflow_id"),
            }
        )
