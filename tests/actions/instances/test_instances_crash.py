"""Crash safety: ``kill -9`` the server while instances run, restart it, lose and duplicate
nothing. SQLite and PostgreSQL, through the official SDK.

While the server is dead, attempts keep running (their processes are in their own sessions): one
ends while no server watches (the restarted server reads the exit code it left behind), one
still runs after the restart (it is re-attached and watched to its end; it is the upstream of a
chain whose downstream then runs once). One attempt is killed too: the restarted server finds it
gone within seconds and retries it per its policy.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.actions.instances.test_instances import instances, new_space, submit, wait_for
from tests.conftest import require_postgres
from tests.support import PG_URL, ServerProcess, create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgres"])
def server_home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    db_name = url = None
    if request.param == "postgres":
        require_postgres()
        db_name = create_pg_database(migrated=True)
        url = f"{PG_URL}/{db_name}"
    srv = ServerProcess(tmp_path / "home", url, {"WEDATA_PLAN_INTERVAL": "0.2", "WEDATA_HEARTBEAT_INTERVAL": "0.5"})
    yield srv.start()
    srv.stop(signal.SIGKILL)
    if db_name:
        drop_pg_database(db_name)


def test_kill_9_loses_nothing_and_duplicates_nothing(server_home: ServerProcess, tmp_path: Path) -> None:
    try:
        crash_and_recover(server_home, tmp_path)
    finally:  # whatever happened, let the test's processes end
        for name in ("go", "go2"):
            (tmp_path / name).touch()


def crash_and_recover(srv: ServerProcess, tmp_path: Path) -> None:
    api = srv.admin()
    space = new_space(api)
    trace, flag, pid_file, go, go2 = (tmp_path / n for n in ("survivor.txt", "victim.flag", "victim.pid", "go", "go2"))
    survivor = submit(api, space, f"echo start >> {trace}\nfor _ in $(seq 600); do [ -e {go} ] && break; sleep 0.05; done\n"
                                  f"echo end >> {trace}\necho survivor-done")
    victim = submit(api, space, f"if [ -e {flag} ]; then echo second-attempt; exit 0; fi\ntouch {flag}\n"
                                f"echo $$ > {pid_file}\nsleep 60",
                    sched={"MaxRetryNumber": 1, "RetryWaitMinute": 0})
    first = submit(api, space, f"for _ in $(seq 600); do [ -e {go2} ] && break; sleep 0.05; done\necho first-done")
    second = submit(api, space, "echo second-done", sched={"UpstreamDependencyConfigList": [
        {"TaskId": first, "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"}]})
    for task in (survivor, victim, first):
        wait_for(api, space, task, {"RUNNING"})
    wait_for(api, space, second, {"WAIT_UPSTREAM"})
    deadline = time.monotonic() + 10
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)

    srv.stop(signal.SIGKILL)  # the server's process group only: attempts live in their own sessions
    victim_pid = int(pid_file.read_text())
    os.killpg(os.getpgid(victim_pid), signal.SIGKILL)  # ... and one attempt dies with it
    go.touch()  # the survivor finishes while no server watches it; "first" is still running
    time.sleep(0.3)

    restarted = time.monotonic()
    srv.start()
    (v,) = wait_for(api, space, victim, {"COMPLETED"}, timeout=20)
    recovered_in = time.monotonic() - restarted
    # "first" was re-attached while it still ran: it stays RUNNING until it really ends.
    assert instances(api, space, first)[0]["InstanceState"] == "RUNNING"
    assert instances(api, space, second)[0]["InstanceState"] == "WAIT_UPSTREAM"
    go2.touch()
    for task in (survivor, first, second):
        wait_for(api, space, task, {"COMPLETED"}, timeout=20)
    assert recovered_in < 8, recovered_in  # the lost attempt is detected within seconds

    def executions(task: str) -> list[dict[str, object]]:
        (item,) = instances(api, space, task)  # still exactly one instance per task
        return list(api.data("ListTaskInstanceExecutions", {"ProjectId": space.project,
                                                           "InstanceKey": item["InstanceKey"]})["Items"])

    # The survivor ran exactly once, its exit code read after the restart.
    assert [(e["Tries"], e["InstanceState"]) for e in executions(survivor)] == [(1, "COMPLETED")]
    assert trace.read_text().split() == ["start", "end"]
    (s,) = instances(api, space, survivor)
    log = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": s["InstanceKey"]})["LogInfo"]
    assert log.split("<br>").count("survivor-done") == 1 and "exit code 0" in log
    # The killed attempt counts as failed and was retried by policy.
    assert [(e["Tries"], e["InstanceState"]) for e in executions(victim)] == [(1, "FAILED_RETRY"), (2, "COMPLETED")]
    vlog = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": v["InstanceKey"]})["LogInfo"]
    assert "process was lost" in vlog and "second-attempt" in vlog
    # The chain resumed: the downstream ran once, after its upstream completed.
    assert [e["InstanceState"] for e in executions(first)] == ["COMPLETED"]
    assert [e["InstanceState"] for e in executions(second)] == ["COMPLETED"]
    (f,) = instances(api, space, first)
    (d,) = instances(api, space, second)
    assert d["StartTime"] >= f["EndTime"]
