"""Production task status through the official SDK, with the engine honouring it:
PauseOpsTasksAsync (O: nothing new runs, waiting instances hold; KillInstance), StopOpsTasksAsync
(T then F: never-started instances go, a running attempt finishes unless KillInstance),
StartOpsTasks (back to Y; EnableDataBackfill skips or runs what fell in the pause),
UpdateOpsTasksOwner, and their bad input. SQLite and PostgreSQL.

The server's clock starts at 2025-03-01 12:00:00 (UTC+8), runs 20 times faster than real time
(a clock minute is 3 s) and plans from the current time (no catch-up): a daily task has one
instance, tomorrow's, waiting for its time; one-off tasks run at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.actions.instances.test_instances import Space, instances, new_space, submit
from tests.actions.ops.test_ops_async import (
    CLOCK_START,
    ONEOFF_TIME,
    alive,
    depends_on,
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
from tests.support import ADMIN_UIN, PG_URL, Api, ServerProcess, create_pg_database, drop_pg_database, unique

DAILY = {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 0 * * ? *", "StartTime": "2025-03-01 00:00:00"}
TOMORROW = "2025-03-02 00:00:00"
# Every clock minute, for at most two clock hours: whatever the test's start, few instances.
MINUTELY = {"CycleType": "CRONTAB_CYCLE", "CrontabExpression": "0 * * * * ? *",
            "StartTime": "2025-03-01 12:00:00", "EndTime": "2025-03-01 14:00:00", "SelfDepend": "parallel"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def status_server(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db_name = url = None
    if request.param == "postgres":
        require_postgres()
        db_name = create_pg_database(migrated=True)
        url = f"{PG_URL}/{db_name}"
    env = {"WEDATA_CLOCK_START": CLOCK_START, "WEDATA_CLOCK_FACTOR": "20", "WEDATA_PLAN_INTERVAL": "0.2",
           "WEDATA_PLAN_CATCH_UP": "now", "WEDATA_KILL_GRACE": "2"}
    srv = ServerProcess(tmp_path_factory.mktemp(f"status-{request.param}"), url, env).start()
    yield srv
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


@pytest.fixture(scope="module")
def api(status_server: ServerProcess) -> Api:
    return status_server.admin()


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


@pytest.fixture(scope="module")
def pids(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where sleepers write their pids; whatever is still alive at the end is killed."""
    folder = tmp_path_factory.mktemp("pids")
    yield folder
    reap(folder)


def ops_task(api: Api, space: Space, task_id: str) -> dict[str, Any]:
    return dict(api.data("GetOpsTask", {"ProjectId": space.project, "TaskId": task_id})["TaskBaseAttribute"])


def status_job(api: Api, action: str, space: Space, tasks: list[str], **extra: Any) -> dict[str, Any]:
    async_id = api.data(action, {"ProjectId": space.project, "TaskIds": tasks, **extra})["AsyncId"]
    return job(api, space.project, async_id)


def every_instance(api: Api, space: Space, task_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for number in range(1, 20):
        page = api.data("ListTaskInstances", {"ProjectId": space.project, "Keyword": task_id, "PageSize": 100,
                                              "PageNumber": number, "SortColumn": "SCHEDULE_DATE", "SortType": "ASC"})
        items += page["Items"]
        if number >= page["TotalPageNumber"]:
            return items
    raise AssertionError("too many instances")


def by_time(api: Api, space: Space, task_id: str) -> dict[str, dict[str, Any]]:
    return {i["CurRunDate"]: i for i in every_instance(api, space, task_id)}


def wait_until(check: Any, timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


# -- pause / start ---------------------------------------------------------------------------------


def test_pause_holds_a_released_instance_until_the_task_is_started(api: Api, space: Space) -> None:
    upstream = submit(api, space, "exit 1", sched={"MaxRetryNumber": 0})
    task = submit(api, space, "echo held", sched=depends_on(upstream))
    wait_state(api, space, key(upstream), {"EXPIRED"})
    wait_state(api, space, key(task), {"WAIT_UPSTREAM"})

    paused = status_job(api, "PauseOpsTasksAsync", space, [task])
    assert (paused["AsyncType"], paused["Status"], paused["TotalSubProcessCount"],
            paused["SuccessSubProcessCount"]) == ("TASK_PAUSE", "SUCCESS", 1, 1)
    base = ops_task(api, space, task)
    assert base["Status"] == "O" and base["LastOpsUserName"] and base["LastOpsTime"]
    listed = api.data("ListOpsTasks", {"ProjectId": space.project, "Status": "O"})["Items"]
    assert task in {i["TaskId"] for i in listed}
    assert status_job(api, "PauseOpsTasksAsync", space, [task])["Status"] == "SUCCESS"  # already paused

    assert run_op(api, "SetSuccessTaskInstancesAsync", space, [key(upstream)])["Status"] == "SUCCESS"
    wait_state(api, space, key(task), {"WAIT_RUN"})
    time.sleep(1.0)  # 20 clock seconds: ready, but a paused task's instance is held back
    held = get(api, space, key(task))
    assert (held["InstanceState"], held["Tries"]) == ("WAIT_RUN", 0)

    started = api.data("StartOpsTasks", {"ProjectId": space.project, "TaskIds": [task]})
    assert started == {"Status": True}
    assert ops_task(api, space, task)["Status"] == "Y"
    # Scheduled long before the pause: not a data time "of the pause", so it runs.
    wait_state(api, space, key(task), {"COMPLETED"})


def test_pause_with_kill_instance_kills_the_running_and_the_waiting_instances(
    api: Api, space: Space, pids: Path
) -> None:
    task, shell, child = sleeper(api, space, pids)
    daily, daily_shell, daily_child = sleeper(api, space, pids, **DAILY)
    wait_state(api, space, key(task), {"RUNNING"})
    wait_state(api, space, key(daily, TOMORROW), {"WAIT_RUN"})
    shell_pid, child_pid = wait_file(shell), wait_file(child)

    paused = status_job(api, "PauseOpsTasksAsync", space, [task, daily], KillInstance=True)
    assert (paused["Status"], paused["TotalSubProcessCount"], paused["SuccessSubProcessCount"]) == ("SUCCESS", 2, 2)
    assert get(api, space, key(task))["InstanceState"] == "EXPIRED"
    assert get(api, space, key(daily, TOMORROW))["InstanceState"] == "EXPIRED"
    wait_until(lambda: not alive(shell_pid) and not alive(child_pid), 5, "the killed processes to be gone")
    assert ops_task(api, space, task)["Status"] == "O" and ops_task(api, space, daily)["Status"] == "O"
    assert not daily_shell.exists() and not daily_child.exists()  # tomorrow's never ran


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_start_after_a_pause_skips_or_backfills_the_data_times_of_the_pause(api: Api, space: Space) -> None:
    skip = submit(api, space, "echo tick", sched=MINUTELY)
    backfill = submit(api, space, "echo tick", sched=MINUTELY)
    for task in (skip, backfill):
        wait_until(lambda t=task: any(i["InstanceState"] == "COMPLETED" for i in every_instance(api, space, t)),
                   10, "a first tick")
    paused = status_job(api, "PauseOpsTasksAsync", space, [skip, backfill])
    assert paused["Status"] == "SUCCESS"
    pause_at = ops_task(api, space, skip)["LastOpsTime"]
    time.sleep(7.5)  # two to three clock minutes: their instances come due while paused
    assert api.data("StartOpsTasks", {"ProjectId": space.project, "TaskIds": [skip]})["Status"] is True
    assert api.data("StartOpsTasks", {"ProjectId": space.project, "TaskIds": [backfill],
                                      "EnableDataBackfill": True})["Status"] is True
    start_at = ops_task(api, space, skip)["LastOpsTime"]

    def of_pause(task: str) -> list[dict[str, Any]]:
        return [i for t, i in sorted(by_time(api, space, task).items()) if pause_at < t < start_at]

    skipped = of_pause(skip)
    assert len(skipped) >= 2, skipped
    assert all(i["InstanceState"] == "SKIP_RUNNING" and i["Tries"] == 0 for i in skipped)
    ran = wait_until(lambda: (lambda items: items if items and all(i["InstanceState"] == "COMPLETED"
                                                                    for i in items) else None)(of_pause(backfill)),
                     10, "the paused data times to run")
    assert len(ran) >= 2
    for task in (skip, backfill):  # and both schedule on: the next tick after the start runs
        wait_until(lambda t=task: any(d > start_at and i["InstanceState"] == "COMPLETED"
                                      for d, i in by_time(api, space, t).items()), 10, "a tick after the start")
    before = [i for d, i in by_time(api, space, skip).items() if d < pause_at]
    assert before and all(i["InstanceState"] == "COMPLETED" for i in before)


# -- stop / start ------------------------------------------------------------------------------------


def test_stop_takes_the_task_offline_and_a_running_attempt_finishes(api: Api, space: Space, tmp_path: Path) -> None:
    go = tmp_path / "go"
    task = submit(api, space, "echo daily", sched=DAILY)
    oneoff = submit(api, space, f"while [ ! -e {go} ]; do sleep 0.05; done\necho finished")
    wait_state(api, space, key(oneoff), {"RUNNING"})
    wait_state(api, space, key(task, TOMORROW), {"WAIT_RUN"})

    stopped = status_job(api, "StopOpsTasksAsync", space, [task, oneoff])
    assert (stopped["AsyncType"], stopped["Status"], stopped["SuccessSubProcessCount"]) == ("TASK_STOP", "SUCCESS", 2)
    assert ops_task(api, space, task)["Status"] == "F" and ops_task(api, space, oneoff)["Status"] == "F"
    # The never-started instance goes (the engine's take-down); the running attempt goes on.
    wait_until(lambda: not instances(api, space, task), 10, "tomorrow's instance to be removed")
    assert get(api, space, key(oneoff))["InstanceState"] == "RUNNING"
    go.touch()
    wait_state(api, space, key(oneoff), {"COMPLETED"})
    listed = api.data("ListOpsTasks", {"ProjectId": space.project, "Status": "F"})["Items"]
    assert {task, oneoff} <= {i["TaskId"] for i in listed}

    assert api.data("StartOpsTasks", {"ProjectId": space.project, "TaskIds": [task, oneoff]})["Status"] is True
    assert ops_task(api, space, task)["Status"] == "Y"
    wait_state(api, space, key(task, TOMORROW), {"WAIT_RUN"})  # planned again
    time.sleep(0.5)
    assert [i["TotalRunNum"] for i in instances(api, space, oneoff)] == [1]  # a one-off runs once


def test_stop_with_kill_instance_kills_the_running_attempt(api: Api, space: Space, pids: Path) -> None:
    task, shell, child = sleeper(api, space, pids)
    wait_state(api, space, key(task), {"RUNNING"})
    shell_pid, child_pid = wait_file(shell), wait_file(child)
    stopped = status_job(api, "StopOpsTasksAsync", space, [task], KillInstance=True)
    assert stopped["Status"] == "SUCCESS"
    assert ops_task(api, space, task)["Status"] == "F"
    killed = get(api, space, key(task))
    assert killed["InstanceState"] == "EXPIRED" and "KillInstance" in killed["JobErrorMsg"]
    wait_until(lambda: not alive(shell_pid) and not alive(child_pid), 5, "the killed processes to be gone")


def test_an_offline_task_cannot_be_paused_and_reruns_need_a_scheduling_task(api: Api, space: Space) -> None:
    task = submit(api, space, "echo once")
    wait_state(api, space, key(task), {"COMPLETED"})
    assert status_job(api, "StopOpsTasksAsync", space, [task])["Status"] == "SUCCESS"
    refused = status_job(api, "PauseOpsTasksAsync", space, [task])
    assert (refused["Status"], refused["SuccessSubProcessCount"]) == ("FAIL", 0)
    assert task in refused["ErrorDesc"] and "offline (F)" in refused["ErrorDesc"]
    assert ops_task(api, space, task)["Status"] == "F"
    rerun = run_op(api, "RerunTaskInstancesAsync", space, [key(task)])
    assert rerun["Status"] == "FAIL" and "offline (F)" in rerun["ErrorDesc"]
    assert status_job(api, "StopOpsTasksAsync", space, [task])["Status"] == "SUCCESS"  # already offline


# -- owner ---------------------------------------------------------------------------------------------


def test_update_owner_changes_the_owner_everywhere(api: Api, space: Space, stranger: Api) -> None:
    first, second = submit(api, space, "echo a"), submit(api, space, "echo b")
    new_owner = "100000000777"
    assert api.data("UpdateOpsTasksOwner", {"ProjectId": space.project, "TaskIds": [first, second],
                                            "OwnerUin": new_owner}) == {"Status": True}
    for task in (first, second):
        base = ops_task(api, space, task)
        assert base["OwnerUin"] == new_owner and base["LastOpsUserName"] == ADMIN_UIN
        dev = api.data("GetTask", {"ProjectId": space.project, "TaskId": task})["TaskBaseAttribute"]
        assert dev["OwnerUin"] == new_owner
    listed = api.data("ListOpsTasks", {"ProjectId": space.project, "OwnerUin": new_owner})["Items"]
    assert sorted(i["TaskId"] for i in listed) == sorted([first, second])

    base = {"ProjectId": space.project, "TaskIds": [first]}
    for bad in ("", "   ", "1" * 33):
        assert api.error("UpdateOpsTasksOwner", {**base, "OwnerUin": bad}).code == "InvalidParameterValue"
    assert api.error("UpdateOpsTasksOwner", {**base, "TaskIds": [first, "20990101000000000"],
                                             "OwnerUin": "100000000888"}).code == "ResourceNotFound"
    assert api.error("UpdateOpsTasksOwner", {"ProjectId": space.project, "TaskIds": [first]},
                     raw=True).code == "MissingParameter"
    assert stranger.error("UpdateOpsTasksOwner", {**base, "OwnerUin": stranger.uin}).code == \
        "UnauthorizedOperation.UserNotInProject"
    assert ops_task(api, space, first)["OwnerUin"] == new_owner  # nothing changed


# -- bad input -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stranger(status_server: ServerProcess) -> Api:
    return status_server.new_user()


@pytest.fixture(scope="module")
def targets(api: Api, space: Space) -> tuple[str, str, Space]:
    """A production task that ran, a task never submitted, another project."""
    task = submit(api, space, "echo fine")
    wait_state(api, space, key(task, ONEOFF_TIME), {"COMPLETED"})
    draft = api.data("CreateTask", {
        "ProjectId": space.project,
        "TaskBaseAttribute": {"TaskName": unique("draft"), "TaskTypeId": "35", "WorkflowId": space.workflow},
        "TaskConfiguration": {"CodeContent": ""},
        "TaskSchedulerConfiguration": {"CycleType": "ONEOFF_CYCLE", "StartTime": ONEOFF_TIME},
    })["TaskId"]
    return task, draft, new_space(api)


@pytest.mark.parametrize("action", ["PauseOpsTasksAsync", "StopOpsTasksAsync", "StartOpsTasks"])
def test_task_operations_reject_bad_input_up_front(
    api: Api, space: Space, stranger: Api, targets: tuple[str, str, Space], action: str
) -> None:
    task, draft, other = targets
    base = {"ProjectId": space.project}
    assert api.error(action, {**base, "TaskIds": [task, "20990101000000000"]}).code == "ResourceNotFound"
    assert api.error(action, {**base, "TaskIds": [draft]}).code == "ResourceNotFound"  # never submitted
    assert api.error(action, {**base, "TaskIds": []}).code == "InvalidParameterValue"
    assert api.error(action, {**base, "TaskIds": [" "]}).code == "InvalidParameterValue"
    assert api.error(action, {**base, "TaskIds": [str(i) for i in range(1001)]}).code == "InvalidParameterValue"
    assert api.error(action, {**base, "TaskIds": [task], "Extra": 1}, raw=True).code == "UnknownParameter"
    assert api.error(action, {**base, "TaskIds": task}, raw=True).code == "InvalidParameterValue"
    flag = "EnableDataBackfill" if action == "StartOpsTasks" else "KillInstance"
    assert api.error(action, {**base, "TaskIds": [task], flag: "yes"}, raw=True).code == "InvalidParameterValue"
    assert api.error(action, {"ProjectId": other.project, "TaskIds": [task]}).code == "ResourceNotFound"
    assert stranger.error(action, {**base, "TaskIds": [task]}).code == "UnauthorizedOperation.UserNotInProject"
    time.sleep(0.3)
    assert ops_task(api, space, task)["Status"] == "Y"  # nothing changed
    assert get(api, space, key(task, ONEOFF_TIME))["TotalRunNum"] == 1
