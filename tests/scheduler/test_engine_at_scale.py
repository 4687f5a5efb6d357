"""What keeps the engine's cost per state change flat as the number of tasks grows (issue 14):
the full look for changed tasks (other processes' submissions) reads every task, so it is spaced
to take at most 1/LOOK_SHARE of the engine's time, and a change made by another process is still
planned, one spaced look later; the cycle's transaction runs without JIT or parallel plans on
PostgreSQL (scheduler/engine.py), set per transaction or, in a process of its own, per connection."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.scheduler.helpers import World, fast_clock, running_engine, settings_for, utc
from tests.waiting import wait_until
from wedata.scheduler.engine import LOOK_SHARE, OLTP_PLANS
from wedata.storage.db import Database

SLOW = 0.05  # seconds added to each full look, as 100,000 tasks would (167 ms there)


def test_a_slow_look_is_spaced_and_still_finds_another_process_change(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-03-01 02:00:00"))
    w = World(db, clock.now())
    with running_engine(db, settings_for(tmp_path, plan_interval=0.1), clock) as engine:
        looks: list[float] = []
        real = engine.planner.changed

        def slow_changed(conn: Any, only: Any = None) -> Any:
            if only is None:  # the full look (a named task is a primary-key read)
                looks.append(time.monotonic())
                time.sleep(SLOW)
            return real(conn, only)

        engine.planner.changed = slow_changed  # type: ignore[method-assign]
        # Three looks while nothing changes, however long a loaded machine takes to start the
        # engine (a fixed 3 s once held only two: the first look came 1.4 s in).
        wait_until(lambda: len(looks), lambda n: n >= 3, what="three full looks", patience=10)
        # Written straight into the database, as another process would: no wake.
        start = time.monotonic()
        tid = w.task("true")
        inst = w.wait_states(tid, {"COMPLETED"}, timeout=10)[0]
        found = time.monotonic() - start
    spacing = SLOW * LOOK_SHARE  # 1 s, against plan_interval 0.1 s
    # While nothing changed (the looks before the write; once a look finds a change, the batch
    # is planned and looked at again at once).
    idle = [t for t in looks if t < start]
    gaps = [b - a for a, b in zip(idle, idle[1:], strict=False)]
    assert len(gaps) >= 2, looks
    assert min(gaps) >= spacing * 0.9, gaps
    assert found < spacing + 2.0 and inst["tries"] == 1


def test_the_cycle_runs_without_jit_or_parallel_plans_on_postgresql(db: Database, tmp_path: Path) -> None:
    """PostgreSQL misjudges how many instances are due when most lie in the past and the day's
    in the future (state and time taken as independent): the cycle's transaction turns JIT and
    parallel plans off for itself (42 ms and 10 ms a cycle at 100,000 tasks), and only for itself."""
    if db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has neither JIT nor parallel plans")
    from wedata.scheduler import observers

    seen: list[tuple[str, str]] = []

    def record(conn: Any, changes: Any) -> None:
        if all(c["from_state"] is None for c in changes):
            return  # instances created by the planner's transaction, not a cycle
        seen.append((conn.exec_driver_sql("SHOW jit").scalar(),
                     conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar()))

    clock = fast_clock(utc("2025-03-01 02:00:00"))
    w = World(db, clock.now())
    observers.observe(db.engine, "test-settings", record)
    try:
        with running_engine(db, settings_for(tmp_path), clock):
            w.wait_states(w.task("true"), {"COMPLETED"})
    finally:
        observers.unobserve(db.engine, "test-settings")
    assert seen and all(s == ("off", "0") for s in seen), seen
    with db.read() as conn:  # the pool's connections keep the server's defaults
        assert conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar() != "0"


def test_an_engine_in_a_process_of_its_own_sets_them_once_per_connection(db: Database, tmp_path: Path) -> None:
    """``wedata scheduler`` and the server's engine process serve no API: their connections carry
    the plan settings from their start (``Database.engine_sessions``) and the cycle sends no
    ``SET LOCAL`` (a round trip a cycle); behind PgBouncer's transaction pooling (no prepared
    statements) a session setting would leak to other clients, so there it stays per transaction."""
    if db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has neither JIT nor parallel plans")
    from sqlalchemy import event

    from wedata.scheduler import observers

    bouncer = Database(db.url, prepare_threshold=None)
    try:
        assert bouncer.engine_sessions(OLTP_PLANS) is False
        with bouncer.read() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar() == "on"
    finally:
        bouncer.dispose()
    own = Database(db.url)
    statements: list[str] = []
    seen: list[tuple[str, str]] = []

    def record(conn: Any, changes: Any) -> None:
        if any(c["from_state"] is not None for c in changes):  # a cycle's, not the planner's
            seen.append((conn.exec_driver_sql("SHOW jit").scalar(),
                         conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar()))

    try:
        with own.read() as conn:
            conn.exec_driver_sql("SELECT 1")  # a connection made before: it must not stay in the pool
        assert own.engine_sessions(OLTP_PLANS) is True
        with own.read() as conn:
            assert (conn.exec_driver_sql("SHOW jit").scalar(),
                    conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar()) == ("off", "0")
        event.listen(own.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        observers.observe(own.engine, "test-settings", record)
        clock = fast_clock(utc("2025-03-01 02:00:00"))
        w = World(own, clock.now())
        with running_engine(own, settings_for(tmp_path), clock):
            w.wait_states(w.task("true"), {"COMPLETED"})
    finally:
        observers.unobserve(own.engine, "test-settings")
        own.dispose()
    assert seen and all(s == ("off", "0") for s in seen), seen
    assert statements and not [s for s in statements if "SET LOCAL" in s]
