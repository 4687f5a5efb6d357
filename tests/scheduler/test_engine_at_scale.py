"""What keeps the engine's cost per state change flat as the number of tasks grows (issue 14):
the full look for changed tasks (other processes' submissions) reads every task, so it is spaced
to take at most 1/LOOK_SHARE of the engine's time, and a change made by another process is still
planned, one spaced look later; the cycle's transaction runs without JIT or parallel plans on
PostgreSQL (scheduler/engine.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.scheduler.helpers import World, fast_clock, running_engine, settings_for, utc
from wedata.scheduler.engine import LOOK_SHARE
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
        time.sleep(3.0)
        # Written straight into the database, as another process would: no wake.
        start = time.monotonic()
        tid = w.task("true")
        inst = w.wait_states(tid, {"COMPLETED"}, timeout=10)[0]
        found = time.monotonic() - start
    spacing = SLOW * LOOK_SHARE  # 1 s, against plan_interval 0.1 s
    # While nothing changed (the 3 s before the write; once a look finds a change, the batch
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
