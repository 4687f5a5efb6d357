"""open_lake: one shared database per file in a process, file-lock waits between processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from wedata.executors.sql.contract import CancelToken, SqlTarget, lake_engine_path, lake_path
from wedata.executors.sql.lake import LakeBusy, open_lake
from wedata.executors.sql.runner import run_sql

HOLD = """
import sys, time, duckdb
from wedata.executors.sql.lake import open_lake
with open_lake(sys.argv[1]) as con:
    con.execute("CREATE TABLE IF NOT EXISTS held AS SELECT 1 AS x")
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": ":".join(sys.path)})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_paths(tmp_path: Path) -> None:
    assert lake_path(tmp_path) == tmp_path / "lake" / "lake.duckdb"
    assert lake_engine_path(tmp_path, "mart") == tmp_path / "lake" / "mart.duckdb"


def test_threads_of_a_process_share_one_database(tmp_path: Path) -> None:
    path = lake_path(tmp_path)
    with open_lake(path) as a, open_lake(path, read_only=True) as b:
        a.execute("CREATE TABLE t AS SELECT 42 AS v")
        assert b.execute("SELECT v FROM t").fetchall() == [(42,)]  # the same database
    # Two long statements of two threads run at the same time, not one after the other.
    target = SqlTarget("duckdb", lake=path)
    times: list[float] = []

    def run() -> None:
        started = time.monotonic()
        out = run_sql(target, "SELECT count(*) FROM range(60000000) a WHERE a.range % 7 = 3")
        assert out.status == "SUCCESS"
        times.append(time.monotonic() - started)

    alone_started = time.monotonic()
    run()
    alone = time.monotonic() - alone_started
    threads = [threading.Thread(target=run) for _ in range(2)]
    both_started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(times) == 3 and time.monotonic() - both_started < 2 * alone + 1.0


def test_the_file_is_released_when_the_last_user_is_done(tmp_path: Path) -> None:
    path = lake_path(tmp_path)
    with open_lake(path) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS v")
    # Another process can now open it (it would fail on DuckDB's lock otherwise).
    out = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({str(path)!r}).close()"],
                         capture_output=True, text=True, env={"PYTHONPATH": ":".join(sys.path)})
    assert out.returncode == 0, out.stderr


def test_runs_of_two_processes_are_serialized(tmp_path: Path) -> None:
    path = lake_path(tmp_path)
    proc = hold(path, 1.5)
    waits: list[str] = []
    started = time.monotonic()
    with open_lake(path, timeout=30, on_wait=waits.append) as con:
        assert con.execute("SELECT x FROM held").fetchall() == [(1,)]
    assert time.monotonic() - started >= 1.0 and waits == ["the lake file lake.duckdb is in use by another run; "
                                                            "waiting for it"]
    proc.wait(10)


def test_a_reader_gives_up_after_its_timeout(tmp_path: Path) -> None:
    path = lake_path(tmp_path)
    proc = hold(path, 5)
    try:
        with pytest.raises(LakeBusy, match="in use by another process"), open_lake(path, read_only=True, timeout=0.3):
            pass
        token = CancelToken()
        threading.Timer(0.3, token.cancel).start()
        with pytest.raises(LakeBusy, match="canceled"), open_lake(path, timeout=30, cancel=token):
            pass
    finally:
        proc.kill()
        proc.wait(10)
