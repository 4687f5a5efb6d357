"""Several processes on one PostgreSQL (issue 14, item 4; docs/deploy.md):

- ``wedata server --workers 2``: two API processes share the port, the parent runs the engine;
  a killed API process is replaced and the others answer meanwhile;
- two ``wedata scheduler`` processes beside an API-only server: every instance runs exactly
  once, and a ``kill -9`` of one scheduler leaves the other to adopt its running attempts and
  carry on planning and dispatching.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.actions.instances.test_instances import instances, new_space, submit, wait_for
from tests.support import ROOT, ServerProcess, wedata_cli
from tests.waiting import wait_until

# Mostly waiting on real time: run in the waiting lane of `make test` (tools/ci/run-suite.sh).
pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def api_processes(parent: int) -> list[int]:
    """The uvicorn children serving the API (multiprocessing also starts a resource tracker)."""
    out = []
    for pid in children(parent):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing.spawn" in cmd or b"spawn_main" in cmd:
            out.append(pid)
    return out


def claiming_pids(pg_url: str) -> set[int]:
    """The pids of the schedulers holding RUNNING instances (a node id is host:pid:random)."""
    import psycopg

    with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql")) as conn:
        rows = conn.execute("SELECT DISTINCT claimed_by FROM task_instances WHERE state = 'RUNNING'").fetchall()
    return {int(r[0].split(":")[1]) for r in rows if r[0]}


def test_api_processes_share_the_port_and_the_parent_runs_the_engine(tmp_path: Path, pg_url: str) -> None:
    srv = ServerProcess(tmp_path / "home", pg_url, env={"WEDATA_API_PROCESSES": "2"}).start()
    try:
        assert srv.proc is not None
        workers = wait_until(lambda: api_processes(srv.proc.pid), lambda p: len(p) == 2,  # type: ignore[union-attr]
                             what="two API processes", patience=30)
        api = srv.admin()
        space = new_space(api)
        task = submit(api, space, "echo served by many")
        wait_for(api, space, task, {"COMPLETED"}, timeout=30)  # planned and run by the parent's engine
        os.kill(workers[0], signal.SIGKILL)
        # The other process answers at once (on a new connection: the client's kept-alive one
        # went down with the killed process); the supervisor replaces the dead one.
        api = srv.admin()
        for _ in range(20):
            assert api.data("ListTaskInstances", {"ProjectId": space.project, "PageSize": 10})["TotalCount"] >= 1
        again = wait_until(lambda: api_processes(srv.proc.pid), lambda p: len(p) == 2 and workers[0] not in p,  # type: ignore[union-attr]
                           what="a new API process in place of the killed one", patience=30)
        assert workers[1] in again
    finally:
        srv.stop()


def test_two_schedulers_run_each_instance_once_and_survive_a_kill_9(tmp_path: Path, pg_url: str) -> None:
    srv = ServerProcess(tmp_path / "home", pg_url, env={"WEDATA_SCHEDULER": "0"}).start()
    engines: list[subprocess.Popen[bytes]] = []
    try:
        api = srv.admin()
        space = new_space(api)
        env = srv.env() | {"WEDATA_PLAN_INTERVAL": "0.2", "WEDATA_NODE_LEASE": "4", "WEDATA_HEARTBEAT_INTERVAL": "1"}
        for n in range(2):
            with open(tmp_path / f"scheduler{n}.log", "wb") as log:
                engines.append(subprocess.Popen([*wedata_cli(), "scheduler"], env=env, cwd=ROOT, stdout=log,
                                                stderr=log, start_new_session=True))
        first = [submit(api, space, "sleep 2; echo once >> runs.txt") for _ in range(12)]
        wait_until(lambda: sum(1 for t in first for i in instances(api, space, t) if i["InstanceState"] == "RUNNING"),
                   lambda n: n >= 4, what="attempts running on both schedulers", patience=30, interval=0.1)
        victim = next(e for e in engines if e.pid in claiming_pids(pg_url))
        survivor = next(e for e in engines if e is not victim)
        os.killpg(victim.pid, signal.SIGKILL)  # the scheduler and nothing else: attempts run in their own sessions
        victim.wait(10)
        later = [submit(api, space, "echo after") for _ in range(3)]  # planned and dispatched by the survivor
        for task in first + later:
            (item,) = wait_for(api, space, task, {"COMPLETED"}, timeout=40)
            assert item["TotalRunNum"] == 1, item  # never run twice, none lost
        assert "adopted" in (tmp_path / f"scheduler{engines.index(survivor)}.log").read_text()
    finally:
        for engine in engines:
            if engine.poll() is None:
                engine.send_signal(signal.SIGTERM)
                engine.wait(15)
        srv.stop()
