"""`wedata server` runs its engine in a child process of its own (cli/engine_process.py): the
submissions made through the API reach it at once, it dies with the server, a dead engine process
is started again, and one that cannot start stops the server with its reason."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.actions.instances.test_instances import new_space, submit, wait_for
from tests.support import ServerProcess
from tests.waiting import wait_until

# Only a wake from the API makes the engine look at a submission before this (its own full
# look for changed tasks comes every plan_interval seconds).
SLOW_LOOK = {"WEDATA_PLAN_INTERVAL": "60"}


def engine_children(srv: ServerProcess) -> list[psutil.Process]:
    assert srv.proc is not None
    return [p for p in psutil.Process(srv.proc.pid).children() if p.status() != psutil.STATUS_ZOMBIE]


def healthz(srv: ServerProcess) -> dict[str, object]:
    with urllib.request.urlopen(f"http://{srv.endpoint}/healthz", timeout=5) as r:
        body: dict[str, object] = json.loads(r.read())
        return body


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_the_engine_runs_in_a_child_and_a_submission_reaches_it_at_once(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "home", env=SLOW_LOOK).start()
    try:
        (child,) = engine_children(srv)
        assert f"engine in pid {child.pid}" in srv.log_path.read_text()
        assert healthz(srv)["dispatch"] == "running"
        api = srv.admin()
        space = new_space(api)
        started = time.monotonic()
        task = submit(api, space, "echo hello from the engine process")
        wait_for(api, space, task, {"COMPLETED"}, timeout=15)
        # Not the engine's own look (60 s away): the API's wake crossed to the child.
        assert time.monotonic() - started < 15
        assert f"[engine {child.pid}]" in srv.log_path.read_text()  # its lines are told apart
    finally:
        srv.stop()


def test_the_engine_process_goes_with_the_server(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "home").start()
    (child,) = engine_children(srv)
    assert srv.proc is not None
    os.kill(srv.proc.pid, signal.SIGKILL)  # the server alone, not its process group
    srv.proc.wait(10)
    wait_until(lambda: gone(child.pid), bool, what="the engine process to die with the server", patience=10)

    again = ServerProcess(tmp_path / "home2").start()
    (child,) = engine_children(again)
    assert again.proc is not None
    os.kill(again.proc.pid, signal.SIGTERM)  # a clean stop ends both (uvicorn exits by the signal again)
    assert again.proc.wait(20) == -signal.SIGTERM
    assert gone(child.pid)
    # Stopped by the server before it ended (not killed with it): its engine left its node row.
    assert re.search(rf"\[engine {child.pid}\] scheduler engine \S+ stopped", again.log_path.read_text())


def test_a_dead_engine_process_is_started_again(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "home", env=SLOW_LOOK).start()
    try:
        (child,) = engine_children(srv)
        child.kill()
        wait_until(lambda: [p.pid for p in engine_children(srv)], lambda pids: pids and pids != [child.pid],
                   what="another engine process", patience=20)
        wait_until(lambda: healthz(srv)["dispatch"], lambda state: state == "running",
                   what="the new engine to run", patience=20)
        log = srv.log_path.read_text()
        assert f"the engine process {child.pid} exited (-9)" in log
        api = srv.admin()
        space = new_space(api)
        task = submit(api, space, "echo after the restart")
        wait_for(api, space, task, {"COMPLETED"}, timeout=15)  # the new child gets the wakes too
    finally:
        srv.stop()


def test_an_engine_that_cannot_start_stops_the_server_with_its_reason(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the run-as user is only looked up when the server runs as root")
    srv = ServerProcess(tmp_path / "home", env={"WEDATA_SANDBOX": "user", "WEDATA_RUN_AS_USER": "wedata-no-such-user"})
    with pytest.raises(RuntimeError, match="server exited early") as info:
        srv.start()
    assert "the scheduler engine could not start" in str(info.value)
    assert "wedata-no-such-user" in str(info.value)
    assert srv.proc is not None and srv.proc.wait(5) != 0


def test_with_the_engine_in_a_thread_the_server_has_no_child(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "home", env={"WEDATA_ENGINE": "thread"}).start()
    try:
        assert engine_children(srv) == []
        assert "engine in this process" in srv.log_path.read_text()
        api = srv.admin()
        space = new_space(api)
        task = submit(api, space, "echo in a thread")
        wait_for(api, space, task, {"COMPLETED"}, timeout=15)
    finally:
        srv.stop()


def test_a_bad_engine_mode_is_refused(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "home", env={"WEDATA_ENGINE": "fiber"})
    out = subprocess.run([*srv.command(), "server", "--port", str(srv.port)], env=srv.env(), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0
    assert "WEDATA_ENGINE must be one of process, thread, got 'fiber'" in out.stderr


def test_a_wake_never_waits_for_an_engine_that_does_not_read() -> None:
    """API threads send the wakes: a full socket drops them (the engine's polls catch up)."""
    from wedata.cli.engine_process import EngineProcess

    handle = EngineProcess(runtime=None, child_env={})
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # nobody reads `theirs`
    handle._sock = ours

    def flood() -> None:
        for _ in range(5000):  # ~6 MB of wakes, far more than the socket holds
            handle.wake(plan=True, tasks=[f"task-{i:016d}" for i in range(50)])

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    sender.join(20)
    try:
        assert not sender.is_alive(), "a wake waited for the engine"
    finally:
        ours.close()
        theirs.close()
