"""Workers whose machine clock is 2 minutes off (issue 14, "Faults"; docs/workers.md, "Faults"),
on real processes: ``wedata worker`` under libfaketime (``LD_PRELOAD`` with ``FAKETIME=+2m`` or
``-2m``; the monotonic clock is left alone, as on a machine whose wall clock is wrong) beside a
real server, with a private Redis (tests/brokertemp.py).

- TTLs and leases: on a server whose clock runs 20 times faster (SQLite), an ExecutionTTL of one
  minute ends an attempt on a worker 2 minutes ahead after one minute of the engine's clock, not
  at once, and the attempts of both workers (+2 and -2 minutes) complete with an 8 s lease and
  none is declared lost: liveness is a heartbeat *changing*, measured on the engine's clock. (A
  lease compared with the workers' wall clocks would be 2 minutes out, far beyond 8 s; 3 s, the
  other worker tests' lease, was once too short for a heartbeat on SQLite at a load average of
  12 in CI.)
- Ordering: on PostgreSQL (real clocks), a chain runs its upstream on the worker ahead and its
  downstream on the worker behind. Each worker measures its offset to the database's clock and
  says so; the lines of each instance's log are in time order and within the attempt's span;
  what the workers stored (heartbeats, start and end of their runs) is on the database's clock;
  the downstream started after the upstream ended.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.actions.instances.test_instances import instances, new_space, submit, wait_for
from tests.brokertemp import PrivateRedis
from tests.executors.celery_support import WorkerProcess, alive, new_group, server_env
from tests.support import ServerProcess
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("worker-clock")]

LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))),
                   Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"))
FAST_CLOCK = {"WEDATA_CLOCK_START": "2025-03-01 04:00:00", "WEDATA_CLOCK_FACTOR": "20"}
CLOCK_LEASE = {"WEDATA_WORKER_LEASE": "8"}
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \+08:00 ")


def skewed(offset: str) -> dict[str, str]:
    """The environment of a process whose wall clock is ``offset`` (``+2m``) off."""
    return {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    why = None if LIBFAKETIME.exists() else f"{LIBFAKETIME} is missing (Debian package faketime; tools/ci/install-faketime.sh)"
    why = why or PrivateRedis.available()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    broker = PrivateRedis().start()
    try:
        yield broker
    finally:
        broker.destroy()


def own_clock_offset(worker: WorkerProcess) -> float:
    """How far the worker's own log times are from this machine's clock when it became ready."""
    line = next(line for line in worker.log().splitlines() if line.endswith("ready."))
    stamp = datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")
    return (stamp - datetime.now()).total_seconds()


def test_ttl_and_leases_hold_with_workers_2_minutes_off(private_redis: PrivateRedis, tmp_path: Path) -> None:
    url = private_redis.url(0)
    srv = ServerProcess(tmp_path / "home", None, server_env(url, **FAST_CLOCK, **CLOCK_LEASE)).start()
    workers: list[WorkerProcess] = []
    try:
        api = srv.admin()
        space = new_space(api)
        group = new_group(api)
        for name, offset in (("ahead", "+2m"), ("behind", "-2m")):
            workers.append(WorkerProcess(srv, tmp_path / name, [group], url,
                                         env={**skewed(offset), **CLOCK_LEASE}).start())
        assert 100 < own_clock_offset(workers[0]) < 140 and -140 < own_clock_offset(workers[1]) < -100

        # A sleeper with an ExecutionTTL of 1 minute (3 s of real time).
        pids = tmp_path / "pids"
        pids.mkdir()
        ttl_task = submit(api, space, f"echo $$ > {pids}/$WEDATA_TASK_ID\nexec sleep 600",
                          conf={"ResourceGroup": group}, sched={"ExecutionTTLMinute": 1, "MaxRetryNumber": 2})
        # 16 attempts of a second, on both workers, with a lease of 8 s.
        short = [submit(api, space, "sleep 1; echo done", conf={"ResourceGroup": group}) for _ in range(16)]
        for task in short:
            (item,) = wait_for(api, space, task, {"COMPLETED"}, timeout=30)
            assert (item["Tries"], item["TotalRunNum"]) == (1, 1), item  # none declared lost, none retried
        (item,) = wait_for(api, space, ttl_task, {"EXPIRED"}, timeout=30)
        assert item["Tries"] == 1
        detail = api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
        assert "ExecutionTTL" in detail["JobErrorMsg"], detail["JobErrorMsg"]
        # One minute of the engine's clock (20 times real time), give or take the engine's cycle.
        assert 60_000 <= detail["CostTime"] <= 60_000 + 6 * 20 * 1000, detail["CostTime"]
        pid = int((pids / ttl_task).read_text())
        wait_until(lambda: alive(pid), lambda a: not a, what="the expired attempt's process to end", patience=10)
        for w in workers:  # both took attempts, neither gave any up
            log = w.log()
            assert "Task wedata.run_attempt" in log and "no heartbeat recorded" not in log, log[-2000:]
        assert "is lost" not in srv.log_path.read_text()
    finally:
        for w in workers:
            w.stop()
        srv.stop()


def stamps(text: str) -> list[datetime]:
    return [datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
            for line in text.split("<br>") if (m := _STAMP.match(line))]


def wall(value: str) -> datetime:
    return datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S")


def stored_times(pg_url: str) -> list[dict[str, Any]]:
    import psycopg

    with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql")) as conn:
        rows = conn.execute(
            "SELECT r.worker_id, r.started_at, r.ended_at, e.started_at, e.ended_at, "
            "w.heartbeat_at, now() AT TIME ZONE 'UTC' FROM remote_runs r "
            "JOIN instance_executions e ON e.id = r.execution_id JOIN worker_nodes w ON w.worker_id = r.worker_id"
        ).fetchall()
    keys = ("worker", "started", "ended", "engine_start", "engine_end", "heartbeat", "db_now")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def test_log_ordering_and_stored_times_follow_the_database_clock(
        private_redis: PrivateRedis, pg_url: str, tmp_path: Path) -> None:
    url = private_redis.url(0)
    srv = ServerProcess(tmp_path / "home", pg_url, server_env(url)).start()
    workers: list[WorkerProcess] = []
    try:
        api = srv.admin()
        space = new_space(api)
        ahead, behind = new_group(api), new_group(api)
        workers = [WorkerProcess(srv, tmp_path / "ahead", [ahead], url, env=skewed("+2m"), database_url=pg_url).start(),
                   WorkerProcess(srv, tmp_path / "behind", [behind], url, env=skewed("-2m"),
                                 database_url=pg_url).start()]
        up = submit(api, space, "echo up; sleep 1; echo up-done", conf={"ResourceGroup": ahead})
        down = submit(api, space, "echo down; sleep 1; echo down-done", conf={"ResourceGroup": behind},
                      sched={"UpstreamDependencyConfigList": [{"TaskId": up, "MainCyclicConfig": "DAY",
                                                               "SubordinateCyclicConfig": "CURRENT_DAY"}]})
        (d,) = wait_for(api, space, down, {"COMPLETED"}, timeout=30)
        (u,) = instances(api, space, up)
        assert u["InstanceState"] == "COMPLETED" and (u["TotalRunNum"], d["TotalRunNum"]) == (1, 1)
        assert wall(u["EndTime"]) <= wall(d["StartTime"])  # the order of the chain

        assert "s ahead of the database's" in workers[0].log() and "s behind the database's" in workers[1].log()
        for item, worker in ((u, workers[0]), (d, workers[1])):
            text = api.data("GetTaskInstanceLog", {"ProjectId": space.project,
                                                   "InstanceKey": item["InstanceKey"]})["LogInfo"]
            assert f":{worker.pid}:" in text  # it ran on that worker
            times = stamps(text)
            assert len(times) >= 3, text  # the engine's header and footer, the worker's line
            assert times == sorted(times), text  # in time order
            start, end = wall(item["StartTime"]), wall(item["EndTime"])
            assert all(start - timedelta(seconds=2) <= t <= end + timedelta(seconds=2) for t in times), \
                (text, item["StartTime"], item["EndTime"])

        rows = stored_times(pg_url)
        assert len(rows) == 2, rows
        for row in rows:  # on the database's clock, not 2 minutes off
            assert abs((row["started"] - row["engine_start"]).total_seconds()) < 5, row
            assert abs((row["ended"] - row["engine_end"]).total_seconds()) < 5, row
            assert abs((row["heartbeat"] - row["db_now"]).total_seconds()) < 5, row
    finally:
        for w in workers:
            w.stop()
        srv.stop()
