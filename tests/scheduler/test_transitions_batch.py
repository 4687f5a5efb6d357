"""transition_many: the batched form of the one transition function (the PostgreSQL fast path).

The same checks, history and edge effects as transition(), per move; a move whose row changed
since it was read loses alone; an illegal move anywhere writes nothing; and the batch costs a
fixed number of statements, not two or three per instance."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select, update

from tests.scheduler.helpers import World, new_db
from tests.scheduler.test_transitions import DT, NOW, history, load, make
from wedata.scheduler import states
from wedata.scheduler.transitions import IllegalTransition, Move, Tx, transition, transition_many
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_deps, task_instances
from wedata.storage.quality_tables import quality_holds

TI = task_instances


class Statements:
    """Counts the statements this thread sends to the database."""

    def __init__(self, db: Database) -> None:
        self.db, self.n, self.thread = db, 0, threading.get_ident()

    def __enter__(self) -> Statements:
        event.listen(self.db.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_: Any) -> None:
        event.remove(self.db.engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        if threading.get_ident() == self.thread:
            self.n += 1


def reach(db: Database, w: World, task_id: str, state: str) -> dict[str, Any]:
    """An instance in ``state``, got there by legal moves (WAIT_RUN -> RUNNING -> ...)."""
    inst = make(db, w, task_id, states.WAIT_RUN)
    for step in {states.RUNNING: [states.RUNNING],
                 states.COMPLETED: [states.RUNNING, states.COMPLETED]}[state]:
        with db.write() as conn:
            tx = Tx(conn, NOW, "t")
            assert transition(tx, inst, step, "setup")
            tx.flush()
        inst = load(db, inst["id"])
    return inst


def edge(iid: int, up: str, *, on_failed: bool = False) -> dict[str, Any]:
    return {"instance_id": iid, "upstream_task_id": up, "upstream_data_time": DT, "kind": "task", "met": False,
            "on_missing": False, "on_failed": on_failed}


def met(db: Database) -> dict[int, bool]:
    with db.read() as conn:
        return dict(conn.execute(select(instance_deps.c.instance_id, instance_deps.c.met)).all())


def test_many_moves_in_few_statements_with_history_and_effects(db: Database) -> None:
    w = World(db, NOW)
    ups = [w.task("true") for _ in range(6)]
    running = []
    for tid in ups:
        i = make(db, w, tid, states.WAIT_RUN)
        with db.write() as conn:
            transition(Tx(conn, NOW, "t"), i, states.RUNNING, "go", {"tries": 1})
        running.append(load(db, i["id"]))
    downs = [make(db, w, w.task("true"), states.WAIT_UPSTREAM) for _ in range(6)]
    with db.write() as conn:
        conn.execute(insert(instance_deps), [edge(d["id"], u) for d, u in zip(downs[:3], ups[:3], strict=True)]
                     + [edge(d["id"], u, on_failed=True) for d, u in zip(downs[3:5], ups[3:5], strict=True)]
                     + [edge(downs[5]["id"], ups[5])])
    # Four succeed (two with equal values: one group), one expires, one fails for a retry.
    moves = [Move(running[0], states.COMPLETED, "ok", {"cost_ms": 5}),
             Move(running[1], states.COMPLETED, "ok", {"cost_ms": 5}),
             Move(running[2], states.COMPLETED, "ok", {"cost_ms": 7, "outputs": {"a": "1"}}),
             Move(running[3], states.EXPIRED, "exit code 1", {"error_msg": "boom"}),
             Move(running[4], states.COMPLETED, "ok", {"cost_ms": 5}, actor="100000000001"),
             Move(running[5], states.FAILED_RETRY, "exit code 2", {"retry_at": NOW + timedelta(minutes=5)})]
    with db.write() as conn, Statements(db) as counted:
        tx = Tx(conn, NOW, "scheduler:n1")
        assert transition_many(tx, moves) == [True] * 6
        wake = set(tx.wake)
        tx.flush()
    # 4 groups of values -> 4 UPDATEs; one per edge effect (satisfy, satisfy-on-failure); the
    # history INSERT. Per instance it would be 6 UPDATEs and 5 edge UPDATEs.
    assert counted.n <= 7
    assert wake == {d["id"] for d in downs[:5]}
    assert met(db) == {**{d["id"]: True for d in downs[:5]}, downs[5]["id"]: False}
    got = [load(db, r["id"]) for r in running]
    assert [g["state"] for g in got] == [states.COMPLETED] * 3 + [states.EXPIRED, states.COMPLETED,
                                                                  states.FAILED_RETRY]
    assert [g["row_version"] for g in got] == [r["row_version"] + 1 for r in running]
    assert got[2]["outputs"] == {"a": "1"} and got[3]["error_msg"] == "boom" and got[0]["cost_ms"] == 5
    assert got[5]["retry_at"] == NOW + timedelta(minutes=5) and got[5]["updated_at"] == NOW
    assert history(db, running[4]["id"])[-1] == (states.RUNNING, states.COMPLETED, "100000000001", "ok")
    assert history(db, running[3]["id"])[-1] == (states.RUNNING, states.EXPIRED, "scheduler:n1", "exit code 1")


def test_a_changed_row_loses_alone_and_a_held_key_satisfies_nothing(db: Database) -> None:
    w = World(db, NOW)
    a, b, c = w.task("true"), w.task("true"), w.task("true")
    ia, ib, ic = (reach(db, w, t, states.RUNNING) for t in (a, b, c))
    da, db_ = make(db, w, w.task("true"), states.WAIT_UPSTREAM), make(db, w, w.task("true"), states.WAIT_UPSTREAM)
    with db.write() as conn:
        conn.execute(insert(instance_deps), [edge(da["id"], a), edge(db_["id"], b)])
        # Another actor moved b since it was read; c's key is held by a data-quality check.
        conn.execute(update(TI).where(TI.c.id == ib["id"]).values(row_version=TI.c.row_version + 1))
        conn.execute(insert(quality_holds).values(task_id=a, data_time=DT, life_round_num=0, state="CHECKING",
                                                  reason="check", updated_at=NOW))
    with db.write() as conn:
        tx = Tx(conn, NOW, "scheduler:n1")
        got = transition_many(tx, [Move(i, states.COMPLETED, "ok") for i in (ia, ib, ic)])
        wake = set(tx.wake)
        tx.flush()
    assert got == [True, False, True] and wake == set()
    assert met(db) == {da["id"]: False, db_["id"]: False}
    assert load(db, ib["id"])["state"] == states.RUNNING and len(history(db, ib["id"])) == 2


def test_an_illegal_move_in_the_batch_writes_nothing(db: Database) -> None:
    w = World(db, NOW)
    ok = make(db, w, w.task("true"), states.WAIT_RUN)
    bad = reach(db, w, w.task("true"), states.COMPLETED)
    with pytest.raises(IllegalTransition), db.write() as conn:
        transition_many(Tx(conn, NOW, "t"), [Move(ok, states.RUNNING, "go"), Move(bad, states.RUNNING, "go")])
    assert load(db, ok["id"])["state"] == states.WAIT_RUN and load(db, ok["id"])["row_version"] == 0


def test_a_rerun_batch_unsatisfies_in_order(db: Database) -> None:
    """Moves that take edges back (terminal -> waiting) run one by one, as transition() would."""
    w = World(db, NOW)
    up, down = w.task("true"), w.task("true")
    u = reach(db, w, up, states.COMPLETED)
    d = make(db, w, down, states.WAIT_UPSTREAM)
    other = reach(db, w, w.task("true"), states.COMPLETED)
    with db.write() as conn:
        conn.execute(insert(instance_deps), [{**edge(d["id"], up), "met": True}])
    with db.write() as conn:
        tx = Tx(conn, NOW, "t")
        got = transition_many(tx, [Move(u, states.WAIT_RUN, "rerun", {"life_round_num": 1, "tries": 0}),
                                   Move(other, states.WAIT_RUN, "rerun", {"life_round_num": 1, "tries": 0})])
        wake = set(tx.wake)
        tx.flush()
    assert got == [True, True] and wake == {d["id"]} and met(db) == {d["id"]: False}
    assert load(db, u["id"])["life_round_num"] == 1


def test_observers_see_each_change_once_and_a_cycle_writes_its_history_in_one_insert(db: Database) -> None:
    """The engine's cycle shows the observers its endings before dispatch (flush(write=False))
    and writes every history row of the cycle, claims included, in one INSERT at its end."""
    from wedata.scheduler import observers

    w = World(db, NOW)
    ending = reach(db, w, w.task("true"), states.RUNNING)
    ready = make(db, w, w.task("true"), states.WAIT_RUN)
    seen: list[list[tuple[int, str]]] = []
    observers.observe(db.engine, "test-batches", lambda _c, rows: seen.append(
        [(r["instance_id"], r["to_state"]) for r in rows]))
    inserts: list[str] = []

    def count(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO INSTANCE_TRANSITIONS"):
            inserts.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.write() as conn:
            tx = Tx(conn, NOW, "scheduler:n1")
            assert transition(tx, ending, states.COMPLETED, "exit 0")
            tx.flush(write=False)
            assert seen == [[(ending["id"], states.COMPLETED)]] and inserts == []
            tx.flush(write=False)  # nothing new: no second notice
            assert len(seen) == 1
            with tx.savepoint() as undone:  # a change undone before the end is neither seen nor written
                assert transition(tx, ready, states.RUNNING, "claim that fails")
                raise RuntimeError("undo")
            assert undone.error is not None
            assert transition(tx, ready, states.RUNNING, "attempt 1 started")
            tx.flush()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
        observers.unobserve(db.engine, "test-batches")
    assert seen == [[(ending["id"], states.COMPLETED)], [(ready["id"], states.RUNNING)]]
    assert len(inserts) == 1
    assert history(db, ending["id"])[-1] == (states.RUNNING, states.COMPLETED, "scheduler:n1", "exit 0")
    assert [h[3] for h in history(db, ready["id"])][-1] == "attempt 1 started"
    assert "claim that fails" not in [h[3] for h in history(db, ready["id"])]


def test_on_sqlite_the_batch_statements_search_their_rows_never_scan_the_table(tmp_path: Path) -> None:
    """SQLite plans ``(id, row_version) IN (...)`` alone as a scan of every instance; the batch's
    statements carry IN lists on the indexed columns too (storage/rowkeys.py). PostgreSQL plans
    the row values from its indexes, but scans tables this small anyway: SQLite only."""
    db, cleanup = new_db(tmp_path, "sqlite")
    try:
        _batch_plans_search(db)
    finally:
        cleanup()


def _batch_plans_search(db: Database) -> None:
    w = World(db, NOW)
    ups = [w.task("true") for _ in range(3)]
    running = [reach(db, w, tid, states.RUNNING) for tid in ups]
    downs = [make(db, w, w.task("true"), states.WAIT_UPSTREAM) for _ in range(3)]
    with db.write() as conn:
        conn.execute(insert(instance_deps), [edge(d["id"], u) for d, u in zip(downs, ups, strict=True)])
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    with db.write() as conn:
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            tx = Tx(conn, NOW, "t")
            assert transition_many(tx, [Move(r, states.COMPLETED, "ok", {"cost_ms": 1}) for r in running]) == [True] * 3
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert tx.wake == {d["id"] for d in downs}
        plans = {}
        for statement, parameters in sent:
            table = statement.split()[1]
            plans[table] = " / ".join(r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
    assert set(plans) == {"task_instances", "instance_deps"}
    assert "SEARCH task_instances USING INTEGER PRIMARY KEY" in plans["task_instances"], plans
    assert "SEARCH instance_deps USING INDEX ix_instance_deps_upstream" in plans["instance_deps"], plans
    assert "SCAN task_instances" not in plans["task_instances"] and "SCAN instance_deps" not in plans["instance_deps"]


def test_deferred_writes_go_with_the_history_and_a_failed_savepoint_takes_its_own(db: Database) -> None:
    """Tx.defer (PostgreSQL): the deferred writes are sent in the statement that writes the
    history, their rows handed back; a savepoint that fails drops the writes it deferred."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite writes at once (no round trip to save)")
    from wedata.storage.bulk import pg_insert_statement
    from wedata.storage.engine_tables import instance_executions as E

    w = World(db, NOW)
    a, b = make(db, w, w.task("true"), states.WAIT_RUN), make(db, w, w.task("true"), states.WAIT_RUN)

    def attempt(inst: dict[str, Any]) -> dict[str, Any]:
        return {"instance_id": inst["id"], "life_round_num": 0, "try_no": 1, "run_type": "PERIODIC",
                "state": "RUNNING", "started_at": NOW, "log_path": "x.log", "log_offset": 0}

    got: list[Any] = []
    with db.write() as conn, Statements(db) as counted:
        tx = Tx(conn, NOW, "t")
        assert transition(tx, a, states.RUNNING, "go", {"tries": 1})
        tx.defer(lambda p: pg_insert_statement(conn, E, [attempt(a)], prefix=p, returning=("id", "instance_id")),
                 got.extend)
        with tx.savepoint() as sp:
            assert transition(tx, b, states.RUNNING, "go", {"tries": 1})
            tx.defer(lambda p: pg_insert_statement(conn, E, [attempt(b)], prefix=p))
            raise RuntimeError("undone")
        assert not sp.committed
        before = counted.n
        tx.flush()
        assert counted.n == before + 1 and tx.deferred == [] and tx.history == []
    with db.read() as conn:
        rows = conn.execute(select(E.c.id, E.c.instance_id)).all()
    assert [tuple(r) for r in rows] == [tuple(r) for r in got] and got[0][1] == a["id"]
    assert [h[:2] for h in history(db, a["id"])][-1] == (states.WAIT_RUN, states.RUNNING)
    assert load(db, b["id"])["state"] == states.WAIT_RUN and len(history(db, b["id"])) == 1
