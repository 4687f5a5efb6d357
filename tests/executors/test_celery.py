"""Remote workers through Celery (docs/workers.md), on real processes: a server whose resource
groups are all remote (``WEDATA_REMOTE_GROUPS=*``) on SQLite, and real ``wedata worker``
processes on Redis (RabbitMQ in the last test). The server's clock runs 20 times faster than
real time, so an ExecutionTTL of one minute passes in 3 s; the worker lease is 3 s.

What is checked: an attempt runs on the worker (its log names the worker), its log is read live
through the SDK from the server while it runs and its outputs reach a downstream task; a kill
and an ExecutionTTL end the worker's process group; ``kill -9`` of a worker in the middle of 20
two-second runs loses nothing and runs nothing twice at the same time; the same basic run over
RabbitMQ.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.actions.instances.test_instances import Space, instances, new_space, submit, wait_for
from tests.executors.celery_support import (
    AMQP_URL,
    REDIS_URL,
    WorkerProcess,
    alive,
    executions,
    holders,
    new_group,
    require_broker,
    server_env,
)
from tests.support import Api, ServerProcess, bwrap_works, unique
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("celery")]

FACTOR = 20
FAST_CLOCK = {"WEDATA_CLOCK_START": "2025-03-01 04:00:00", "WEDATA_CLOCK_FACTOR": str(FACTOR)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    require_broker(6379, "Redis")
    srv = ServerProcess(tmp_path_factory.mktemp("celery-server"), None, server_env(REDIS_URL, **FAST_CLOCK)).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Api:
    return server.admin()


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


@pytest.fixture(scope="module")
def group(api: Api) -> str:
    return new_group(api)


@pytest.fixture(scope="module")
def worker(server: ServerProcess, group: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    w = WorkerProcess(server, tmp_path_factory.mktemp("w") / "w1", [group], REDIS_URL).start()
    yield w
    w.stop()


def log_of(api: Api, space: Space, key: str, cursor: str | None = None) -> dict[str, Any]:
    req = {"ProjectId": space.project, "InstanceKey": key}
    if cursor is not None:
        req["NextCursor"] = cursor
    return dict(api.data("GetTaskInstanceLog", req))


def wait_file(path: Path) -> str:
    return wait_until(lambda: path.read_text().strip() if path.exists() else "", bool, what=f"{path} written",
                      patience=20)


def test_a_remote_attempt_runs_on_the_worker_its_log_is_live_and_its_outputs_reach_downstream(
        api: Api, space: Space, group: str, worker: WorkerProcess, server: ServerProcess, tmp_path: Path) -> None:
    go = tmp_path / "go"
    up_name = unique("producer")
    up = submit(api, space, f"echo first\necho '${{setValue(rows=42)}}'\n"
                            f"while [ ! -e {go} ]; do sleep 0.05; done\necho last\nprintf 'x\\ty\\tz\\n'",
                name=up_name, conf={"ResourceGroup": group}, sched={"ParamTaskOutList": [
                    {"ParamKey": "rows", "ParamValue": "0"}, {"ParamKey": "col", "ParamValue": "$[0][2]"}]})
    down = submit(api, space, 'print("rows=${n} col=${c}")', type_id="30",
                  conf={"ResourceGroup": group,
                        "TaskExtConfigurationList": [{"ParamKey": "python_sub_version", "ParamValue": "python3"}]},
                  sched={"UpstreamDependencyConfigList": [{"TaskId": up, "MainCyclicConfig": "DAY",
                                                           "SubordinateCyclicConfig": "CURRENT_DAY"}],
                         "ParamTaskInList": [
                             {"ParamKey": "n", "FromTaskId": up, "FromParamKey": "rows", "ParamDesc": f"p.{up_name}.rows"},
                             {"ParamKey": "c", "FromTaskId": up, "FromParamKey": "col", "ParamDesc": f"p.{up_name}.col"}]})
    (item,) = wait_for(api, space, up, {"RUNNING"})
    key = item["InstanceKey"]
    # Live, through the server, while the attempt runs on the worker.
    live = wait_until(lambda: log_of(api, space, key), lambda d: "first" in d["LogInfo"].split("<br>"),
                      what="the first line of the running attempt", patience=20)
    lines = live["LogInfo"].split("<br>")
    assert "last" not in lines and live["NextCursor"] is not None and live["NextCursor"].isdigit()
    assert any(f"running on worker {worker_host()}:{worker.pid}:" in line for line in lines), lines
    assert any(" INFO attempt 1 of 5 (life round 0) on " in line for line in lines), lines
    go.touch()
    wait_for(api, space, up, {"COMPLETED"})
    rest = log_of(api, space, key, live["NextCursor"])
    rest_lines = rest["LogInfo"].split("<br>")
    assert "last" in rest_lines and "first" not in rest_lines
    assert any("exit code 0; instance COMPLETED" in line for line in rest_lines), rest_lines
    assert rest["NextCursor"] is None  # ended and read to the end
    # The log came from the database: the engine host's file has only the engine's own lines.
    (engine_file,) = (server.home / "logs" / up).rglob("0.log")
    assert "first" not in engine_file.read_text()
    (attempt,) = executions(worker.db_file, key)
    assert (attempt["executor"], attempt["state"], attempt["exit_code"]) == ("celery", "COMPLETE", 0)

    (d,) = wait_for(api, space, down, {"COMPLETED"})
    down_log = log_of(api, space, d["InstanceKey"])
    assert "rows=42 col=z" in down_log["LogInfo"].split("<br>")
    assert down_log["CodeContent"] == 'print("rows=42 col=z")'


def worker_host() -> str:
    import socket

    return socket.gethostname()[:40]


def sleeper(folder: Path) -> str:
    """A shell task whose process group has a child that sleeps; both write their pids."""
    return f"echo $$ > {folder}/parent.pid\nsleep 600 &\necho $! > {folder}/child.pid\necho sleeping\nwait"


def gone(pid: int) -> bool:
    wait_until(lambda: alive(pid), lambda a: not a, what=f"process {pid} to end", patience=10)
    return True


def test_kill_reaches_the_worker_and_ends_its_process_group(
        api: Api, space: Space, group: str, worker: WorkerProcess, tmp_path: Path) -> None:
    task = submit(api, space, sleeper(tmp_path), conf={"ResourceGroup": group}, sched={"MaxRetryNumber": 2})
    (item,) = wait_for(api, space, task, {"RUNNING"})
    parent, child = int(wait_file(tmp_path / "parent.pid")), int(wait_file(tmp_path / "child.pid"))
    assert alive(parent) and alive(child)
    async_id = api.data("KillTaskInstancesAsync", {"ProjectId": space.project,
                                                   "InstanceKeyList": [item["InstanceKey"]]})["AsyncId"]
    done = wait_until(lambda: api.data("GetOpsAsyncJob", {"ProjectId": space.project, "AsyncId": async_id}),
                      lambda d: d["Status"] not in ("INIT", "RUNNING"), what="the kill job", patience=30,
                      progress=lambda d: d["Status"])
    assert (done["Status"], done["SuccessSubProcessCount"]) == ("SUCCESS", 1)
    assert gone(parent) and gone(child)
    (ended,) = instances(api, space, task)
    assert (ended["InstanceState"], ended["Tries"]) == ("EXPIRED", 1)  # a kill is not retried
    detail = api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    assert "killed by user" in detail["JobErrorMsg"]
    (attempt,) = executions(worker.db_file, item["InstanceKey"])
    assert attempt["executor"] == "celery" and attempt["state"] == "EXPIRED"
    assert attempt["exit_code"] in (143, 137)  # SIGTERM (or SIGKILL after the grace) to the group
    assert "kill requested" in worker.log()


def test_execution_ttl_ends_the_workers_process_group(
        api: Api, space: Space, group: str, worker: WorkerProcess, tmp_path: Path) -> None:
    task = submit(api, space, sleeper(tmp_path), conf={"ResourceGroup": group},
                  sched={"ExecutionTTLMinute": 1, "MaxRetryNumber": 3})
    parent, child = int(wait_file(tmp_path / "parent.pid")), int(wait_file(tmp_path / "child.pid"))
    (item,) = wait_for(api, space, task, {"EXPIRED"})
    assert item["Tries"] == 1  # a timeout is not retried
    assert gone(parent) and gone(child)
    detail = api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    assert "ExecutionTTL" in detail["JobErrorMsg"]
    assert 60_000 <= detail["CostTime"] <= 60_000 + 6 * FACTOR * 1000  # 1 minute of the server's clock
    text = log_of(api, space, item["InstanceKey"])["LogInfo"]
    assert "sleeping" in text and "execution timeout" in text and "running on worker" in text


def test_kill_9_of_a_worker_loses_nothing_and_runs_nothing_twice_at_once(
        api: Api, space: Space, server: ServerProcess, worker: WorkerProcess, tmp_path: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    group = new_group(api)  # 8 slots: two workers of 4
    first = WorkerProcess(server, tmp_path_factory.mktemp("w") / "k1", [group], REDIS_URL).start()
    second = WorkerProcess(server, tmp_path_factory.mktemp("w") / "k2", [group], REDIS_URL).start()
    marks = tmp_path / "marks"
    marks.mkdir()
    # Each run appends "start", a tick every 0.2 s and "end" (with its pid and the time) to a
    # file of its own instance: a run killed half-way leaves a start without an end. Its start
    # also names the worker it runs under, the one of its ancestors that is a worker (the runs
    # are unsandboxed here: $$ is a host pid).
    walk = (f'w=$$; while [ "$w" -gt 1 ] && [ "$w" -ne {first.pid} ] && [ "$w" -ne {second.pid} ]; do '
            "w=$(sed 's/.*) //' /proc/$w/stat | cut -d' ' -f2); done\n")
    code = (f'f={marks}/$WEDATA_TASK_ID\n{walk}echo "start $$ $(date +%s.%N) $w" >> $f\n'
            f'for i in $(seq 10); do echo "tick $$ $(date +%s.%N)" >> $f; sleep 0.2; done\n'
            f'echo "end $$ $(date +%s.%N)" >> $f')
    try:
        tasks = [submit(api, space, code, conf={"ResourceGroup": group},
                        sched={"MaxRetryNumber": 2, "RetryWaitMinute": 0}) for _ in range(20)]
        # Kill the second worker in the middle of a run of its own (each lasts 2 s): a fixed
        # pause after it took an attempt once landed after that run had ended, on a loaded machine.
        wait_until(lambda: runs_in_progress_of(marks, second.pid), lambda n: n >= 1,
                   what="a run of the second worker in progress", patience=30)
        second.kill9()
        for t in tasks:
            wait_for(api, space, t, {"COMPLETED"}, timeout=40)
    finally:
        first.stop()
        second.stop()
    retried = cut = 0
    for t in tasks:
        (item,) = instances(api, space, t)
        runs = parse_marks(marks / t)
        # The last run ended. Every run before it was the killed worker's: killed half-way (no
        # end), or ended too late for the worker to record its end (its attempt is then lost and
        # runs again: at least once, as Celery's late acknowledgement is); a run of the worker
        # that lives on never runs again. Every run that started is an attempt of the database;
        # the retry policy held; no two runs of the instance overlapped.
        assert runs[-1]["end"] is not None
        for r in runs[:-1]:
            assert r["worker"] == second.pid, (r, first.pid, second.pid)
            cut += r["end"] is None
        attempts = executions(worker.db_file, item["InstanceKey"])
        assert len(attempts) == item["TotalRunNum"] == item["Tries"] <= item["TryLimit"] == 3
        assert [a["state"] for a in attempts] == ["FAILED"] * (len(attempts) - 1) + ["COMPLETE"]
        for a in attempts[:-1]:
            assert "lost" in (a["error_msg"] or ""), a
        # An attempt with no run: the killed worker had taken it, and died before its run wrote
        # a start (on a loaded machine, while the run's shell still walked /proc).
        unstarted = len(attempts) - len(runs)
        assert unstarted >= 0, (attempts, runs)
        assert holders(worker.db_file, [a["id"] for a in attempts[:-1]]) == [second.pid] * (len(attempts) - 1)
        for before, after in zip(runs, runs[1:], strict=False):
            assert before["last"] < after["start"], (before, after)
            assert not alive(before["pid"])
        retried += len(attempts) > 1
    assert cut >= 1  # the kill came in the middle of a run (the wait above), which ran again elsewhere
    assert retried <= 4  # ... only the attempts the killed worker held (4 slots)


def runs_in_progress_of(marks: Path, worker: int) -> int:
    """How many runs of ``worker`` have started and not ended (their marks; a line still being
    written is skipped)."""
    return sum(1 for path in marks.iterdir() for run in parse_marks(path, partial=True)
               if run["worker"] == worker and run["end"] is None)


def parse_marks(path: Path, *, partial: bool = False) -> list[dict[str, Any]]:
    """The runs of one instance from its marks: pid, worker (its start's), start, end, last."""
    runs: dict[int, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if partial and len(parts) != (4 if parts[:1] == ["start"] else 3):
            continue  # being written
        word, pid_text, when, *worker = parts
        run = runs.setdefault(int(pid_text), {"pid": int(pid_text), "worker": None, "start": None, "end": None,
                                              "last": 0.0})
        run[word if word != "tick" else "last"] = float(when)
        run["last"] = max(run["last"], float(when))
        if worker:
            run["worker"] = int(worker[0])
    return sorted(runs.values(), key=lambda r: r["start"] or 0.0)


def test_a_worker_runs_attempts_inside_its_own_sandbox(
        api: Api, space: Space, server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> None:
    if not bwrap_works():
        pytest.skip("bubblewrap does not work on this machine")
    group = new_group(api, "s_test")
    w = WorkerProcess(server, tmp_path_factory.mktemp("w") / "boxed", [group], REDIS_URL,
                      env={"WEDATA_SANDBOX": "bwrap", "WEDATA_ALLOW_UNISOLATED": "0"}).start()
    try:
        # The server's home (its database and key file) is on this machine too: hidden.
        task = submit(api, space, f"echo inside; ls -A {server.home} | wc -l; cat {server.home}/keys/secret.key "
                                  "|| echo no-key; echo pid1=$(cat /proc/1/comm)", conf={"ResourceGroup": group})
        (item,) = wait_for(api, space, task, {"COMPLETED"})
    finally:
        w.stop()
    text = log_of(api, space, item["InstanceKey"])["LogInfo"].split("<br>")
    assert "inside" in text and "0" in text and "no-key" in text, text
    assert "pid1=bwrap" in text, text  # its own PID namespace
    assert any("isolation bwrap)" in line and "running on worker" in line for line in text), text


def test_the_same_run_over_rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> None:
    require_broker(5672, "RabbitMQ")
    srv = ServerProcess(tmp_path_factory.mktemp("celery-amqp"), None, server_env(AMQP_URL)).start()
    w: WorkerProcess | None = None
    try:
        api = srv.admin()
        space = new_space(api)
        group = new_group(api)
        # Sent before any worker declared the group's queue: it must wait there, not be dropped.
        task = submit(api, space, "echo over rabbitmq\necho '${setValue(v=7)}'", conf={"ResourceGroup": group},
                      sched={"ParamTaskOutList": [{"ParamKey": "v", "ParamValue": "0"}]})
        wait_for(api, space, task, {"RUNNING"})
        w = WorkerProcess(srv, tmp_path_factory.mktemp("w") / "amqp", [group], AMQP_URL).start()
        (item,) = wait_for(api, space, task, {"COMPLETED"})
        text = log_of(api, space, item["InstanceKey"])["LogInfo"].split("<br>")
        assert "over rabbitmq" in text
        assert any(f":{w.pid}:" in line and "running on worker" in line for line in text), text
        detail = api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
        assert detail["InstanceState"] == "COMPLETED"
    finally:
        if w is not None:
            w.stop()
        srv.stop()
