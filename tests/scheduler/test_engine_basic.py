"""Engine mechanics on a real database (SQLite and PostgreSQL), tasks written directly."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from tests.conftest import require_postgres
from tests.scheduler.helpers import World, fast_clock, new_db, running_engine, settings_for, utc
from wedata.scheduler import cycle
from wedata.scheduler.engine import Engine
from wedata.scheduler.transitions import Tx, cycle_tx
from wedata.storage.db import Database


def test_oneoff_runs_once(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-03-01 02:00:00"))
    w = World(db, clock.now())
    tid = w.task("echo hello-$WEDATA_TASK_ID")
    with running_engine(db, settings_for(tmp_path), clock):
        inst = w.wait_states(tid, {"COMPLETED"})[0]
    assert (inst["tries"], inst["total_run_num"], inst["life_round_num"], inst["instance_type"]) == (1, 1, 0, 2)
    (ex,) = w.executions(tid)
    assert ex["state"] == "COMPLETE" and ex["exit_code"] == 0
    assert f"hello-{tid}" in Path(ex["log_path"]).read_text()


def test_retries_with_wait_then_expires(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-03-01 02:00:00"), factor=60)  # one minute per second
    w = World(db, clock.now())
    tid = w.task("echo boom; exit 3", MaxRetryNumber=2, RetryWaitMinute=1)
    with running_engine(db, settings_for(tmp_path), clock):
        inst = w.wait_states(tid, {"EXPIRED"}, timeout=30)[0]
    assert (inst["tries"], inst["try_limit"], inst["total_run_num"]) == (3, 3, 3)
    assert "exit code 3" in inst["error_msg"]
    execs = w.executions(tid)
    assert [(e["try_no"], e["state"], e["exit_code"]) for e in execs] == [
        (1, "FAILED", 3), (2, "FAILED", 3), (3, "EXPIRED", 3)]
    gaps = [(b["started_at"] - a["ended_at"]).total_seconds() for a, b in zip(execs, execs[1:], strict=False)]
    assert all(g >= 60 for g in gaps), gaps  # RetryWait is honoured (clock minutes)
    assert all(g < 120 for g in gaps), gaps
    log = Path(execs[0]["log_path"]).read_text()
    assert log.count("boom") == 3 and "retry 2 of 3" in log and "instance EXPIRED" in log


def test_execution_ttl_kills_a_sleeper(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-03-01 02:00:00"), factor=60)
    w = World(db, clock.now())
    marker = tmp_path / "child-alive"
    tid = w.task(f"(sleep 30; touch {marker}) & sleep 30", ExecutionTTLMinute=1, MaxRetryNumber=3)
    with running_engine(db, settings_for(tmp_path), clock):
        inst = w.wait_states(tid, {"EXPIRED"}, timeout=15)[0]
    (ex,) = w.executions(tid)  # a timeout is not retried
    assert ex["state"] == "EXPIRED" and ex["exit_code"] in (143, 137)
    assert "ExecutionTTL" in inst["error_msg"]
    assert 55 <= (ex["ended_at"] - ex["started_at"]).total_seconds() < 150
    assert not marker.exists()  # the whole process group went


def test_dry_run_completes_without_executing(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-03-01 02:00:00"))
    w = World(db, clock.now())
    marker = tmp_path / "ran"
    tid = w.task(f"touch {marker}; exit 1", ScheduleType=1)
    with running_engine(db, settings_for(tmp_path), clock):
        inst = w.wait_states(tid, {"COMPLETED"})[0]
    assert inst["run_type"] == "APERIODIC_SKIP_RUN" and not marker.exists()
    assert [e["state"] for e in w.executions(tid)] == ["COMPLETE"]


def test_python_task_and_parameters(db: Database, tmp_path: Path) -> None:
    clock = fast_clock(utc("2025-03-01 02:00:00"))
    w = World(db, clock.now())
    up = w.task(
        "echo '${setValue(greeting=hello ${yyyyMMdd})}'\nprintf 'a\\tb\\tc\\n'",
        ParamTaskOutList=[{"ParamKey": "greeting", "ParamValue": ""}, {"ParamKey": "second", "ParamValue": "$[0][1]"}],
        start="2025-03-01 00:00:00",  # a one-off's data time: its first fire from StartTime
    )
    down = w.task(
        'import sys\nprint("got ${v} and ${w} on ${yyyy-MM-dd}", sys.version_info[0])',
        type_id=30,
        upstream=[(up, "DAY", "CURRENT_DAY")],
        ParamTaskInList=[{"ParamKey": "v", "FromTaskId": up, "FromParamKey": "greeting"},
                         {"ParamKey": "w", "FromTaskId": up, "FromParamKey": "second"}],
        ext=[{"ParamKey": "python_sub_version", "ParamValue": "python3"}],
        start="2025-03-01 00:00:00",
    )
    broken = w.task("echo ${x}", upstream=[(up, "DAY", "CURRENT_DAY")], MaxRetryNumber=0, start="2025-03-01 00:00:00",
                    ParamTaskInList=[{"ParamKey": "x", "FromTaskId": up, "FromParamKey": "nope"}])
    with running_engine(db, settings_for(tmp_path), clock):
        w.wait_states(down, {"COMPLETED"})
        w.wait_states(broken, {"EXPIRED"})
    (u,) = w.instances(up)
    assert u["outputs"] == {"greeting": "hello 20250301", "second": "b"}
    (ex,) = w.executions(down)
    assert "got hello 20250301 and b on 2025-03-01 3" in Path(ex["log_path"]).read_text()
    assert "got hello 20250301" in ex["code_content"]
    (bad,) = w.executions(broken)
    assert "produced no output parameter nope" in Path(bad["log_path"]).read_text()


def test_short_chain_keeps_pids_and_removes_run_dirs(db: Database, tmp_path: Path) -> None:
    """Attempts that end before their handle's own transaction still have their pid stored (with
    their end, issue 14), and their run directories are removed (off the engine's thread)."""
    clock = fast_clock(utc("2025-03-01 02:00:00"))
    w = World(db, clock.now())
    first = w.task("true", start="2025-03-01 00:00:00")
    ids = [first]
    for _ in range(4):
        ids.append(w.task("true", start="2025-03-01 00:00:00", upstream=[(ids[-1], "DAY", "CURRENT_DAY")]))
    settings = settings_for(tmp_path)
    with running_engine(db, settings, clock):
        w.wait_states(ids[-1], {"COMPLETED"})
        run_root = settings.home / "run"
        w.wait(lambda: not any(run_root.iterdir()), what="run directories removed")
    for tid in ids:
        (ex,) = w.executions(tid)
        assert ex["state"] == "COMPLETE" and isinstance(ex["pid"], int) and ex["pid"] > 0, ex
        assert ex["handle"]["pid"] == ex["pid"] and ex["handle"]["run_dir"]


def test_attempts_ending_in_one_cycle_are_recorded_each_with_its_own_end(db: Database, tmp_path: Path) -> None:
    """Four attempts whose exits one cycle records together (two succeed, two fail): each
    execution row gets its own state, exit code, pid and handle. On PostgreSQL the ends are one
    UPDATE from arrays, not one per attempt, sent in the statement that writes the cycle's
    history (Tx.defer)."""
    import time

    from tests.scheduler.helpers import statements
    from wedata.scheduler.engine import Engine

    clock = fast_clock(utc("2025-03-01 02:00:00"))
    w = World(db, clock.now())
    codes = {w.task("exit 0"): 0, w.task("exit 3", MaxRetryNumber=0): 3, w.task("true"): 0,
             w.task("exit 5", MaxRetryNumber=0): 5}
    engine = Engine(db, settings_for(tmp_path), clock)
    take = engine.node.take_exits
    since = time.monotonic()

    def four_at_once() -> list[tuple[int, int | None]]:
        # Hold the first exits until all four have ended (at most 20 s): one cycle takes them.
        with engine.node.cv:
            pending = len(engine.node._exits)
        if 0 < pending < 4 and time.monotonic() - since < 20:
            time.sleep(0.01)
            return []
        return take()

    engine.node.take_exits = four_at_once  # type: ignore[method-assign]
    with statements(db, "wedata-engine") as sent:
        engine.start()
        try:
            for tid in codes:
                w.wait_states(tid, {"COMPLETED", "EXPIRED"})
        finally:
            engine.stop()
    for tid, code in codes.items():
        (ex,) = w.executions(tid)
        assert ex["exit_code"] == code and (ex["state"] == "COMPLETE") == (code == 0), ex
        assert ex["ended_at"] is not None and isinstance(ex["pid"], int) and ex["handle"]["pid"] == ex["pid"], ex
        if code:
            assert ex["state"] != "COMPLETE" and f"exit code {code}" in (ex["error_msg"] or ""), ex
    ends = [s for s in sent if "UPDATE instance_executions" in s]
    if db.engine.dialect.name == "postgresql":
        (together,) = [s for s in ends if "UPDATE instance_executions AS e" in s]
        assert "INSERT INTO instance_transitions" in together, together
        # The claims' attempt rows too: with the history of their cycle, never on their own.
        assert not [s for s in sent if s.startswith("INSERT INTO instance_executions")]
        assert [s for s in sent if "INSERT INTO instance_executions" in s and "INSERT INTO instance_transitions" in s]
    else:
        assert len(ends) >= 1


def test_a_cycle_whose_connection_breaks_raises_the_databases_own_error(tmp_path: Path) -> None:
    """PostgreSQL kills the cycle's connection (a restart, an administrator): what leaves the cycle
    is the driver's OperationalError, which the engine logs as a database outage (one line, no
    traceback: tests/scheduler/test_faults.py). Clearing the cycle's Tx afterwards must not touch
    the broken connection: reading its ``info`` raised another error in its place."""
    require_postgres()
    db, cleanup = new_db(tmp_path, "postgres")
    try:
        engine = Engine(db, settings_for(tmp_path), fast_clock(utc("2025-03-01 02:00:00")))
        seen: list[Tx | None] = []
        with pytest.raises(OperationalError), db.write() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with db.engine.connect() as other:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid or 0)})")
            tx = Tx(conn, engine.clock.now(), engine.node.actor)
            try:
                engine._cycle_tx(tx, [], False, cycle.After())
            finally:
                seen.append(cycle_tx(conn))
        assert seen == [None]  # and no cycle's Tx is left behind for the next user of the thread
        db.dispose()
    finally:
        cleanup()
