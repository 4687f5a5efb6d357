"""Messages that say what happened (issue 16), through the official SDK on SQLite and PostgreSQL:
a kill, a stop, a timeout, an upstream failure and a set success each read in their own words in
JobErrorMsg and the log, keep the earlier failure, and set success keeps EndTime and CostTime
consistent. The server's clock runs 20 times faster (an ExecutionTTL minute is 3 s).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.actions.instances.test_instances import Space, full_log, new_space, submit
from tests.actions.ops.test_ops_async import (
    depends_on,
    executions,
    get,
    job,
    key,
    reap,
    run_op,
    sleeper,
    wait_file,
    wait_state,
)
from tests.conftest import require_postgres
from tests.support import ADMIN_UIN, PG_URL, Api, ServerProcess, create_pg_database, drop_pg_database

EXCEPTION = "the user code or execution environment raised an exception: "
ZONED_LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+08:00 (INFO|WARN|ERROR) ")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def msg_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db_name = url = None
    if request.param == "postgres":
        require_postgres()
        db_name = create_pg_database(migrated=True)
        url = f"{PG_URL}/{db_name}"
    env = {"WEDATA_CLOCK_START": "2025-03-01 04:00:00", "WEDATA_CLOCK_FACTOR": "20", "WEDATA_PLAN_INTERVAL": "0.2",
           "WEDATA_KILL_GRACE": "2"}
    srv = ServerProcess(tmp_path_factory.mktemp(f"messages-{request.param}"), url, env).start()
    yield srv
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


@pytest.fixture(scope="module")
def api(msg_server: ServerProcess) -> Api:
    return msg_server.admin()


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


@pytest.fixture(scope="module")
def pids(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("pids")
    yield folder
    reap(folder)


def scheduler_lines(api: Api, space: Space, instance_key: str) -> list[str]:
    text, _ = full_log(api, space, instance_key)
    return [line for line in text.split("<br>") if ZONED_LINE.match(line)]


def test_a_kill_says_who_killed_it_not_that_the_code_raised(api: Api, space: Space, pids: Path) -> None:
    task, shell, _ = sleeper(api, space, pids)
    wait_state(api, space, key(task), {"RUNNING"})
    wait_file(shell)
    assert run_op(api, "KillTaskInstancesAsync", space, [key(task)])["Status"] == "SUCCESS"
    killed = get(api, space, key(task))
    assert killed["InstanceState"] == "EXPIRED"
    assert killed["JobErrorMsg"] == f"killed by user {ADMIN_UIN} (KillTaskInstancesAsync)"
    lines = scheduler_lines(api, space, key(task))
    assert lines[-1].endswith(f"ERROR killed by user {ADMIN_UIN} (KillTaskInstancesAsync); instance EXPIRED")


def test_a_kill_while_waiting_for_a_retry_keeps_the_failure(api: Api, space: Space) -> None:
    task = submit(api, space, "echo failing; exit 3", sched={"MaxRetryNumber": 1, "RetryWaitMinute": 600})
    wait_state(api, space, key(task), {"FAILED_RETRY"})
    assert run_op(api, "KillTaskInstancesAsync", space, [key(task)])["Status"] == "SUCCESS"
    killed = get(api, space, key(task))
    assert killed["InstanceState"] == "EXPIRED"
    assert killed["JobErrorMsg"] == (
        f"killed by user {ADMIN_UIN} (KillTaskInstancesAsync) while it waited for a retry; "
        f"the last attempt had failed: {EXCEPTION}exit code 3")
    lines = scheduler_lines(api, space, key(task))
    assert any("ERROR exit code 3; instance FAILED_RETRY" in line for line in lines)  # the failure stays
    assert "while it waited for a retry" in lines[-1]


def test_a_stop_with_kill_instance_says_the_task_was_taken_offline(api: Api, space: Space, pids: Path) -> None:
    task, shell, _ = sleeper(api, space, pids)
    wait_state(api, space, key(task), {"RUNNING"})
    wait_file(shell)
    async_id = api.data("StopOpsTasksAsync", {"ProjectId": space.project, "TaskIds": [task],
                                              "KillInstance": True})["AsyncId"]
    assert job(api, space.project, async_id)["Status"] == "SUCCESS"
    stopped = get(api, space, key(task))
    assert stopped["JobErrorMsg"] == (
        f"stopped by user {ADMIN_UIN}: the task was taken offline (StopOpsTasksAsync, KillInstance)")


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_a_timeout_says_it_timed_out(api: Api, space: Space) -> None:
    task = submit(api, space, "echo sleeping; sleep 600", sched={"ExecutionTTLMinute": 1, "MaxRetryNumber": 3})
    expired = wait_state(api, space, key(task), {"EXPIRED"}, timeout=30)
    assert expired["JobErrorMsg"] == (
        "execution timeout: attempt 1 ran longer than ExecutionTTL (1 minute(s)); killed and not retried "
        "(executionTTLStrategy fail)")
    assert "killed by user" not in expired["JobErrorMsg"] and EXCEPTION not in expired["JobErrorMsg"]
    assert scheduler_lines(api, space, key(task))[-1].endswith("; instance EXPIRED")


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_an_upstream_failure_is_named_as_the_cause(api: Api, space: Space) -> None:
    up = submit(api, space, "exit 1", sched={"MaxRetryNumber": 0})
    wait_state(api, space, key(up), {"EXPIRED"})
    down = submit(api, space, "echo never", sched={"WaitExecutionTotalTTLMinute": 1, **depends_on(up)})
    expired = wait_state(api, space, key(down), {"EXPIRED"})
    assert expired["JobErrorMsg"] == (
        f"upstream failure: the upstream instance(s) {key(up)} failed (EXPIRED); waited longer than "
        "WaitExecutionTotalTTL (1 minute(s)) after its scheduled time")
    assert expired["Tries"] == 0


def test_set_success_keeps_the_attempt_times_and_the_failure(api: Api, space: Space) -> None:
    failed = submit(api, space, "echo oops; exit 1", sched={"MaxRetryNumber": 0})
    before = wait_state(api, space, key(failed), {"EXPIRED"})
    waiting = submit(api, space, "echo down", sched=depends_on(failed))
    wait_state(api, space, key(waiting), {"WAIT_UPSTREAM"})
    assert run_op(api, "SetSuccessTaskInstancesAsync", space, [key(failed)])["Status"] == "SUCCESS"
    after = get(api, space, key(failed))
    assert after["InstanceState"] == "COMPLETED"
    assert after["JobErrorMsg"] == (
        f"set to success by user {ADMIN_UIN} (SetSuccessTaskInstancesAsync); it had failed: {EXCEPTION}exit code 1")
    # The attempt's own times: EndTime - StartTime is still CostTime.
    assert (after["StartTime"], after["EndTime"], after["CostTime"]) == (
        before["StartTime"], before["EndTime"], before["CostTime"])
    lines = scheduler_lines(api, space, key(failed))
    assert "ERROR exit code 1" in lines[-2] and lines[-1].split(" INFO ", 1)[1] == after["JobErrorMsg"]
    (attempt,) = executions(api, space, key(failed))
    assert attempt["InstanceState"] == "COMPLETED"
    assert [p["DetailState"] for p in attempt["ExecutionPhaseList"]][-2:] == ["EXPIRED", "COMPLETE"]
    # The downstream ran; set to success before it ran, an instance has an EndTime and no cost.
    wait_state(api, space, key(waiting), {"COMPLETED"})
    never = submit(api, space, "echo never", sched=depends_on(submit(api, space, "exit 1",
                                                                       sched={"MaxRetryNumber": 0})))
    wait_state(api, space, key(never), {"WAIT_UPSTREAM"})
    assert run_op(api, "SetSuccessTaskInstancesAsync", space, [key(never)])["Status"] == "SUCCESS"
    unrun: dict[str, Any] = get(api, space, key(never))
    assert unrun["JobErrorMsg"] == f"set to success by user {ADMIN_UIN} (SetSuccessTaskInstancesAsync) before it ran"
    assert unrun["EndTime"] and not unrun["StartTime"] and unrun["Tries"] == 0
