"""Asynchronous operations on instances through the official SDK, with their effect on the
running engine: KillTaskInstancesAsync (the process group is really gone), SetSuccess (the
downstream instance really runs), RerunTaskInstancesAsync (new life round, old log kept,
downstream rerun in order, AllowRedoType, CheckParentType, SonRangeType, RedefineParallelNum,
RedefineParamList, RedefineSelfWorkflowDependency) and GetOpsAsyncJob; per-item failures, bad
input, and a job resumed after the server was killed. SQLite and PostgreSQL.

The server's clock starts at 2025-03-01 12:00:00 (UTC+8) and runs at normal speed, so an hourly
task has exactly 13 instances that have run (00:00 .. 12:00) and one-off tasks run at once.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.actions.instances.test_instances import Space, new_space, submit, wait_for
from tests.conftest import require_postgres
from tests.support import PG_URL, Api, ServerProcess, create_pg_database, drop_pg_database, unique
from tests.waiting import wait_until

CLOCK_START = "2025-03-01 04:00:00"  # UTC: 12:00 in UTC+8
ONEOFF_TIME = "2025-01-01 00:00:00"
HOURLY = {"CycleType": "HOUR_CYCLE", "CrontabExpression": "0 0 * * * ? *", "StartTime": "2025-03-01 00:00:00",
          "SelfDepend": "parallel"}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
JOB_KEYS = {"ProjectId", "AsyncId", "AsyncType", "Status", "ErrorDesc", "TotalSubProcessCount",
            "FinishedSubProcessCount", "SuccessSubProcessCount", "CreateUserUin", "CreateTime", "UpdateTime"}


def server_env() -> dict[str, str]:
    return {"WEDATA_CLOCK_START": CLOCK_START, "WEDATA_PLAN_INTERVAL": "0.2", "WEDATA_KILL_GRACE": "2"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def ops_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db_name = url = None
    if request.param == "postgres":
        require_postgres()
        db_name = create_pg_database(migrated=True)
        url = f"{PG_URL}/{db_name}"
    srv = ServerProcess(tmp_path_factory.mktemp(f"ops-{request.param}"), url, server_env()).start()
    yield srv
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


@pytest.fixture(scope="module")
def ops(ops_server: ServerProcess) -> Api:
    return ops_server.admin()


@pytest.fixture(scope="module")
def space(ops: Api) -> Space:
    return new_space(ops)


@pytest.fixture(scope="module")
def pids(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where sleepers write their pids; whatever is still alive at the end is killed."""
    folder = tmp_path_factory.mktemp("pids")
    yield folder
    reap(folder)


def reap(folder: Path) -> None:
    for f in folder.glob("*.pid"):
        text = f.read_text().strip()
        if text.isdigit() and alive(int(text)):
            os.kill(int(text), signal.SIGKILL)


@pytest.fixture(scope="module")
def finished(ops: Api, space: Space) -> str:
    """The key of a one-off instance that has completed (bad-input tests must leave it alone)."""
    task = submit(ops, space, "echo fine")
    wait_state(ops, space, key(task), {"COMPLETED"})
    return key(task)


@pytest.fixture(scope="module")
def stranger(ops_server: ServerProcess) -> Api:
    return ops_server.new_user()


@pytest.fixture(scope="module")
def other(ops: Api) -> Space:
    return new_space(ops)


# -- helpers -----------------------------------------------------------------------------------------


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_file(path: Path, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text().strip() if path.exists() else ""
        if text.isdigit():
            return int(text)
        time.sleep(0.02)
    raise AssertionError(f"{path} was not written")


def key(task_id: str, when: str = ONEOFF_TIME) -> str:
    return f"{task_id}_{when}"


def job(api: Api, project: str, async_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """GetOpsAsyncJob until the job has ended."""
    def observe() -> dict[str, Any]:
        data = api.data("GetOpsAsyncJob", {"ProjectId": project, "AsyncId": async_id})
        assert set(data) == JOB_KEYS
        return dict(data)

    return wait_until(observe, lambda d: d["Status"] not in ("INIT", "RUNNING"), what=f"job {async_id} to end",
                      patience=timeout, progress=lambda d: (d["Status"], d["FinishedSubProcessCount"]))


def run_op(api: Api, action: str, space: Space, keys: list[str], *, raw: bool = False, **extra: Any) -> dict[str, Any]:
    params = {"ProjectId": space.project, "InstanceKeyList": keys, **extra}
    # raw: sent unchanged through the CommonClient (the typed model cannot hold every shape)
    async_id = (api.raw(action, params)["Data"] if raw else api.data(action, params))["AsyncId"]
    assert UUID.match(async_id)
    return job(api, space.project, async_id)


def get(api: Api, space: Space, instance_key: str) -> dict[str, Any]:
    return api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": instance_key})


def wait_state(api: Api, space: Space, instance_key: str, states: set[str], timeout: float = 20.0,
               **fields: Any) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            data = get(api, space, instance_key)
        except TencentCloudSDKException as exc:  # not planned yet
            assert exc.code == "ResourceNotFound"
            time.sleep(0.05)
            continue
        if data["InstanceState"] in states and all(data[k] == v for k, v in fields.items()):
            return data
        time.sleep(0.05)
    raise AssertionError(f"{instance_key}: expected {states} {fields}, got {data}")


def depends_on(*uppers: str) -> dict[str, Any]:
    return {"UpstreamDependencyConfigList": [
        {"TaskId": up, "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"} for up in uppers]}


def sleeper(api: Api, space: Space, pids: Path, **sched: Any) -> tuple[str, Path, Path]:
    """A one-off task whose shell and its child sleep; their pid files."""
    name = unique("sleeper")
    shell, child = pids / f"{name}.shell.pid", pids / f"{name}.child.pid"
    task = submit(api, space, f"echo $$ > {shell}\nsleep 600 &\necho $! > {child}\nwait", name=name,
                  sched={"MaxRetryNumber": 3, "RetryWaitMinute": 0, **sched})
    return task, shell, child


def executions(api: Api, space: Space, instance_key: str) -> list[dict[str, Any]]:
    return list(api.data("ListTaskInstanceExecutions", {"ProjectId": space.project, "InstanceKey": instance_key,
                                                        "PageSize": 100})["Items"])


# -- kill ----------------------------------------------------------------------------------------------


def test_kill_ends_the_process_group_and_the_waiting_downstream_without_retry(
    ops: Api, space: Space, pids: Path
) -> None:
    task, shell, child = sleeper(ops, space, pids)
    down = submit(ops, space, "echo never", sched=depends_on(task))
    wait_state(ops, space, key(task), {"RUNNING"})
    shell_pid, child_pid = wait_file(shell), wait_file(child)
    assert alive(shell_pid) and alive(child_pid)
    wait_state(ops, space, key(down), {"WAIT_UPSTREAM"})

    async_id = ops.data("KillTaskInstancesAsync", {"ProjectId": space.project,
                                                   "InstanceKeyList": [key(task), key(down), key(task)]})["AsyncId"]
    first = ops.data("GetOpsAsyncJob", {"ProjectId": space.project, "AsyncId": async_id})
    assert set(first) == JOB_KEYS and first["AsyncType"] == "INSTANCE_KILL" and first["TotalSubProcessCount"] == 2
    done = job(ops, space.project, async_id)
    assert (done["Status"], done["TotalSubProcessCount"], done["FinishedSubProcessCount"],
            done["SuccessSubProcessCount"], done["ErrorDesc"]) == ("SUCCESS", 2, 2, 2, None)
    assert done["ProjectId"] == space.project and done["AsyncId"] == async_id
    assert done["CreateUserUin"] == "100000000001"
    assert ISO.match(done["CreateTime"]) and ISO.match(done["UpdateTime"])
    assert done["CreateTime"].startswith("2025-03-01T12:")  # the server's clock, in UTC+8

    killed = get(ops, space, key(task))
    assert killed["InstanceState"] == "EXPIRED" and killed["Tries"] == 1
    assert "killed by user 100000000001" in killed["JobErrorMsg"]
    deadline = time.monotonic() + 5
    while (alive(shell_pid) or alive(child_pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(shell_pid) and not alive(child_pid), "the whole process group is gone"
    waiting = get(ops, space, key(down))
    assert waiting["InstanceState"] == "EXPIRED" and waiting["Tries"] == 0 and waiting["TotalRunNum"] == 0
    time.sleep(1.0)  # MaxRetryNumber 3, RetryWait 0: a killed attempt is still not retried
    again = get(ops, space, key(task))
    assert (again["InstanceState"], again["Tries"], again["TotalRunNum"]) == ("EXPIRED", 1, 1)
    log = ops.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": key(task)})["LogInfo"]
    assert "killed by user" in log


def test_kill_reaches_a_child_that_ignores_sigterm(ops: Api, space: Space, pids: Path) -> None:
    """SIGTERM ends the wrapper at once; SIGKILL after the grace period (2 s here) reaches the
    rest of the process group, even with its leader gone."""
    child = pids / f"{unique('stubborn')}.pid"
    task = submit(ops, space, f"trap '' TERM\nsleep 600 &\necho $! > {child}\nwait\nwait")
    wait_state(ops, space, key(task), {"RUNNING"})
    child_pid = wait_file(child)
    assert run_op(ops, "KillTaskInstancesAsync", space, [key(task)])["Status"] == "SUCCESS"
    assert get(ops, space, key(task))["InstanceState"] == "EXPIRED"
    deadline = time.monotonic() + 6
    while alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child_pid)


def test_killing_a_finished_instance_is_a_failed_item_not_an_error(ops: Api, space: Space, pids: Path) -> None:
    finished = submit(ops, space, "echo finished")
    wait_state(ops, space, key(finished), {"COMPLETED"})
    before = get(ops, space, key(finished))
    alone = run_op(ops, "KillTaskInstancesAsync", space, [key(finished)])
    assert (alone["Status"], alone["TotalSubProcessCount"], alone["FinishedSubProcessCount"],
            alone["SuccessSubProcessCount"]) == ("FAIL", 1, 1, 0)
    assert key(finished) in alone["ErrorDesc"] and "COMPLETED" in alone["ErrorDesc"]
    assert get(ops, space, key(finished)) == before

    running, _, child = sleeper(ops, space, pids)
    wait_state(ops, space, key(running), {"RUNNING"})
    wait_file(child)
    mixed = run_op(ops, "KillTaskInstancesAsync", space, [key(finished), key(running)])
    assert (mixed["Status"], mixed["TotalSubProcessCount"], mixed["SuccessSubProcessCount"]) == ("PART_SUCCESS", 2, 1)
    assert key(finished) in mixed["ErrorDesc"] and key(running) not in mixed["ErrorDesc"]
    assert get(ops, space, key(running))["InstanceState"] == "EXPIRED"
    assert get(ops, space, key(finished)) == before


# -- set success -------------------------------------------------------------------------------------


def test_set_success_releases_the_downstream_and_refuses_a_running_instance(
    ops: Api, space: Space, pids: Path, tmp_path: Path
) -> None:
    failed = submit(ops, space, "exit 1", sched={"MaxRetryNumber": 0})
    marker = tmp_path / "downstream.ran"
    down = submit(ops, space, f"echo downstream-ran; touch {marker}", sched=depends_on(failed))
    running, _, child = sleeper(ops, space, pids)
    wait_state(ops, space, key(failed), {"EXPIRED"})
    wait_state(ops, space, key(running), {"RUNNING"})
    wait_file(child)
    wait_state(ops, space, key(down), {"WAIT_UPSTREAM"})

    result = run_op(ops, "SetSuccessTaskInstancesAsync", space, [key(failed), key(running)])
    assert (result["AsyncType"], result["Status"], result["TotalSubProcessCount"],
            result["SuccessSubProcessCount"]) == ("INSTANCE_SET_SUCCESS", "PART_SUCCESS", 2, 1)
    assert key(running) in result["ErrorDesc"] and "RUNNING" in result["ErrorDesc"]
    assert get(ops, space, key(failed))["InstanceState"] == "COMPLETED"
    ran = wait_state(ops, space, key(down), {"COMPLETED"})
    assert ran["Tries"] == 1 and marker.exists()
    assert get(ops, space, key(running))["InstanceState"] == "RUNNING"  # untouched by the refusal

    again = run_op(ops, "SetSuccessTaskInstancesAsync", space, [key(failed)])
    assert again["Status"] == "FAIL" and "already COMPLETED" in again["ErrorDesc"]
    cleanup = run_op(ops, "KillTaskInstancesAsync", space, [key(running)])
    assert cleanup["Status"] == "SUCCESS"


# -- rerun --------------------------------------------------------------------------------------------


def test_rerun_makes_a_new_round_keeps_the_old_log_and_reruns_the_downstream_after_it(
    ops: Api, space: Space, tmp_path: Path
) -> None:
    trace = tmp_path / "order.txt"
    parent = submit(ops, space, f"echo greeting=${{greeting}}\nsleep 0.3\necho parent >> {trace}",
                    conf={"TaskSchedulingParameterList": [{"ParamKey": "greeting", "ParamValue": "hello"}]})
    child = submit(ops, space, f"echo child >> {trace}", sched=depends_on(parent))
    wait_state(ops, space, key(child), {"COMPLETED"})

    result = run_op(ops, "RerunTaskInstancesAsync", space, [key(parent)], RerunType="2",
                    RedefineParamList={"K": "greeting", "V": "rerun"})
    assert (result["AsyncType"], result["Status"], result["TotalSubProcessCount"],
            result["SuccessSubProcessCount"]) == ("INSTANCE_RERUN", "SUCCESS", 2, 2)
    again = wait_state(ops, space, key(parent), {"COMPLETED"}, TotalRunNum=2)
    assert again["Tries"] == 1  # reset by the rerun, then one attempt
    child_again = wait_state(ops, space, key(child), {"COMPLETED"}, TotalRunNum=2)

    rounds = executions(ops, space, key(parent))
    assert [(e["LifeRoundNum"], e["RunType"], e["InstanceState"]) for e in rounds] == [
        (0, "APERIODIC", "COMPLETED"), (1, "RERUN", "COMPLETED")]
    old = ops.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": key(parent), "LifeRoundNum": 0})
    new = ops.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": key(parent)})
    assert "greeting=hello" in old["LogInfo"].split("<br>") and "greeting=rerun" not in old["LogInfo"]
    assert "greeting=rerun" in new["LogInfo"].split("<br>")
    assert new["CodeContent"].startswith("echo greeting=rerun<br>")
    # The child's new round started only after the parent's new round ended.
    assert trace.read_text().split() == ["parent", "child", "parent", "child"]
    assert child_again["StartTime"] >= again["EndTime"]


def test_allow_redo_type_is_enforced_per_instance(ops: Api, space: Space) -> None:
    never = submit(ops, space, "echo x", sched={"AllowRedoType": "NONE"})
    middle = submit(ops, space, "echo y", sched={"AllowRedoType": "ALL", **depends_on(never)})
    failures_only = submit(ops, space, "echo z", sched={"AllowRedoType": "FAILURE", **depends_on(middle)})
    wait_state(ops, space, key(failures_only), {"COMPLETED"})

    refused = run_op(ops, "RerunTaskInstancesAsync", space, [key(never)])
    assert (refused["Status"], refused["TotalSubProcessCount"], refused["SuccessSubProcessCount"]) == ("FAIL", 1, 0)
    assert "AllowRedoType is NONE" in refused["ErrorDesc"]

    below = run_op(ops, "RerunTaskInstancesAsync", space, [key(never)], RerunType="3")
    assert (below["Status"], below["TotalSubProcessCount"], below["SuccessSubProcessCount"]) == ("PART_SUCCESS", 2, 1)
    assert key(failures_only) in below["ErrorDesc"] and "FAILURE" in below["ErrorDesc"]
    assert key(middle) not in below["ErrorDesc"]
    wait_state(ops, space, key(middle), {"COMPLETED"}, TotalRunNum=2)
    time.sleep(0.5)
    assert get(ops, space, key(never))["TotalRunNum"] == 1
    assert get(ops, space, key(failures_only))["TotalRunNum"] == 1


def test_son_range_type_limits_the_downstream_to_the_workflow_or_the_project(ops: Api, space: Space) -> None:
    parent = submit(ops, space, "echo parent")
    other_wf = ops.data("CreateWorkflow", {"ProjectId": space.project, "WorkflowName": unique("wf2"),
                                           "ParentFolderPath": "/"})["WorkflowId"]
    elsewhere = submit(ops, Space(space.project, other_wf), "echo elsewhere", sched=depends_on(parent))
    same = submit(ops, space, "echo same", sched=depends_on(parent))
    wait_state(ops, space, key(elsewhere), {"COMPLETED"})
    wait_state(ops, space, key(same), {"COMPLETED"})

    in_workflow = run_op(ops, "RerunTaskInstancesAsync", space, [key(parent)], RerunType="2")
    assert (in_workflow["Status"], in_workflow["TotalSubProcessCount"]) == ("SUCCESS", 2)
    wait_state(ops, space, key(same), {"COMPLETED"}, TotalRunNum=2)
    in_project = run_op(ops, "RerunTaskInstancesAsync", space, [key(parent)], RerunType="2", SonRangeType="PROJECT")
    assert (in_project["Status"], in_project["TotalSubProcessCount"]) == ("SUCCESS", 3)
    wait_state(ops, space, key(elsewhere), {"COMPLETED"}, TotalRunNum=2)
    wait_state(ops, space, key(same), {"COMPLETED"}, TotalRunNum=3)


def test_check_parent_type_all_waits_for_a_failed_parent_none_does_not(ops: Api, space: Space) -> None:
    parent = submit(ops, space, "exit 1", sched={"MaxRetryNumber": 0})
    child = submit(ops, space, "echo child", sched=depends_on(parent))
    wait_state(ops, space, key(parent), {"EXPIRED"})
    wait_state(ops, space, key(child), {"WAIT_UPSTREAM"})
    assert run_op(ops, "SetSuccessTaskInstancesAsync", space, [key(child)])["Status"] == "SUCCESS"

    assert run_op(ops, "RerunTaskInstancesAsync", space, [key(child)])["Status"] == "SUCCESS"  # NONE
    wait_state(ops, space, key(child), {"COMPLETED"}, TotalRunNum=1)

    assert run_op(ops, "RerunTaskInstancesAsync", space, [key(child)], CheckParentType="ALL")["Status"] == "SUCCESS"
    held = wait_state(ops, space, key(child), {"WAIT_UPSTREAM"})
    time.sleep(0.8)
    assert get(ops, space, key(child))["InstanceState"] == "WAIT_UPSTREAM" and held["Tries"] == 0
    assert run_op(ops, "SetSuccessTaskInstancesAsync", space, [key(parent)])["Status"] == "SUCCESS"
    wait_state(ops, space, key(child), {"COMPLETED"}, TotalRunNum=2)


def test_redefine_parallel_num_caps_concurrency_and_params_reach_the_code(
    ops: Api, space: Space, tmp_path: Path
) -> None:
    trace = tmp_path / "trace.txt"
    code = (f'echo "$(date +%s.%N) start ${{mode}}" >> {trace}\n'
            'if [ "${mode}" = rerun ]; then sleep 0.6; fi\n'
            f'echo "$(date +%s.%N) end ${{mode}}" >> {trace}')
    task = submit(ops, space, code, sched=HOURLY,
                  conf={"TaskSchedulingParameterList": [{"ParamKey": "mode", "ParamValue": "periodic"}]})
    wait_for(ops, space, task, {"COMPLETED"}, count=13)
    chosen = [key(task, f"2025-03-01 {h:02d}:00:00") for h in range(1, 7)]
    # The list form of RedefineParamList (CreateDataBackfillPlan's) is accepted too (spec §6.3).
    result = run_op(ops, "RerunTaskInstancesAsync", space, chosen, raw=True, RedefineParallelNum=2,
                    RedefineParamList=[{"K": "mode", "V": "rerun"}])
    assert (result["Status"], result["TotalSubProcessCount"]) == ("SUCCESS", 6)
    for k in chosen:
        wait_state(ops, space, k, {"COMPLETED"}, TotalRunNum=2)
    spans: list[tuple[float, int]] = []
    for line in trace.read_text().splitlines():
        stamp, edge, mode = line.split()
        if mode == "rerun":
            spans.append((float(stamp), 1 if edge == "start" else -1))
    assert len(spans) == 12
    level = peak = 0
    for _, delta in sorted(spans, key=lambda s: (s[0], s[1])):
        level += delta
        peak = max(peak, level)
    assert peak == 2, peak  # never more than RedefineParallelNum, and it was used
    untouched = get(ops, space, key(task, "2025-03-01 09:00:00"))
    assert untouched["TotalRunNum"] == 1


def test_redefine_self_workflow_dependency(ops: Api) -> None:
    space = new_space(ops)
    sibling = submit(ops, space, "if [ ${HH} = 05 ]; then exit 1; fi", sched={**HOURLY, "MaxRetryNumber": 0})
    task = submit(ops, space, "echo ok", sched=HOURLY)
    wait_for(ops, space, task, {"COMPLETED"}, count=13)
    wait_for(ops, space, sibling, {"COMPLETED"}, count=12)
    six = key(task, "2025-03-01 06:00:00")
    five = key(sibling, "2025-03-01 05:00:00")
    assert get(ops, space, five)["InstanceState"] == "EXPIRED"

    off = run_op(ops, "RerunTaskInstancesAsync", space, [six], CheckParentType="ALL",
                 RedefineSelfWorkflowDependency="no")
    assert off["Status"] == "SUCCESS"
    wait_state(ops, space, six, {"COMPLETED"}, TotalRunNum=2)
    on = run_op(ops, "RerunTaskInstancesAsync", space, [six], CheckParentType="ALL",
                RedefineSelfWorkflowDependency="yes")
    assert on["Status"] == "SUCCESS"
    wait_state(ops, space, six, {"WAIT_UPSTREAM"})  # the workflow's 05:00 instances: one failed
    time.sleep(0.8)
    assert get(ops, space, six)["InstanceState"] == "WAIT_UPSTREAM"
    assert run_op(ops, "SetSuccessTaskInstancesAsync", space, [five])["Status"] == "SUCCESS"
    wait_state(ops, space, six, {"COMPLETED"}, TotalRunNum=3)


def test_rerun_refuses_running_and_waiting_named_instances(ops: Api, space: Space, pids: Path) -> None:
    running, _, child = sleeper(ops, space, pids)
    waiting = submit(ops, space, "echo later", sched=depends_on(running))
    wait_state(ops, space, key(running), {"RUNNING"})
    wait_state(ops, space, key(waiting), {"WAIT_UPSTREAM"})
    wait_file(child)
    result = run_op(ops, "RerunTaskInstancesAsync", space, [key(running), key(waiting)])
    assert (result["Status"], result["TotalSubProcessCount"], result["SuccessSubProcessCount"]) == ("FAIL", 2, 0)
    assert "RUNNING" in result["ErrorDesc"] and "WAIT_UPSTREAM" in result["ErrorDesc"]
    assert get(ops, space, key(running))["InstanceState"] == "RUNNING"
    assert run_op(ops, "KillTaskInstancesAsync", space, [key(running), key(waiting)])["Status"] == "SUCCESS"


# -- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["KillTaskInstancesAsync", "SetSuccessTaskInstancesAsync", "RerunTaskInstancesAsync"])
def test_instance_operations_reject_bad_input_up_front(
    ops: Api, space: Space, finished: str, stranger: Api, other: Space, action: str
) -> None:
    before = get(ops, space, finished)
    base = {"ProjectId": space.project}
    missing = finished.replace(ONEOFF_TIME, "2024-01-01 00:00:00")
    assert ops.error(action, {**base, "InstanceKeyList": [finished, missing]}).code == "ResourceNotFound"
    assert ops.error(action, {**base, "InstanceKeyList": ["nonsense"]}).code == "InvalidParameterValue"
    assert ops.error(action, {**base, "InstanceKeyList": []}).code == "InvalidParameterValue"
    too_many = [finished] * 2 + [f"x{i}_{ONEOFF_TIME}" for i in range(1001)]
    assert ops.error(action, {**base, "InstanceKeyList": too_many}).code == "InvalidParameterValue"
    assert ops.error(action, {"InstanceKeyList": [finished]}, raw=True).code == "MissingParameter"
    assert ops.error(action, {**base, "InstanceKeyList": [finished], "Extra": 1}, raw=True).code == "UnknownParameter"
    assert ops.error(action, {**base, "InstanceKeyList": finished}, raw=True).code == "InvalidParameterValue"
    assert ops.error(action, {"ProjectId": other.project, "InstanceKeyList": [finished]}).code == "ResourceNotFound"
    assert stranger.error(action, {**base, "InstanceKeyList": [finished]}).code == \
        "UnauthorizedOperation.UserNotInProject"
    assert ops.error(action, {"ProjectId": "1" * 19, "InstanceKeyList": [finished]}).code == "ResourceNotFound"
    time.sleep(0.2)
    assert get(ops, space, finished) == before  # nothing happened


@pytest.mark.parametrize(("extra", "code"), [
    ({"RerunType": "4"}, "InvalidParameterValue"),
    ({"RerunType": "self"}, "InvalidParameterValue"),
    ({"CheckParentType": "SOME"}, "InvalidParameterValue"),
    ({"SonRangeType": "GALAXY"}, "InvalidParameterValue"),
    ({"RedefineParallelNum": 0}, "InvalidParameterValue"),
    ({"RedefineParallelNum": "two"}, "InvalidParameterValue"),
    ({"RedefineSelfWorkflowDependency": "maybe"}, "InvalidParameterValue"),
    ({"RedefineParamList": "a=b"}, "InvalidParameterValue"),
    ({"RedefineParamList": {"K": "", "V": "x"}}, "InvalidParameterValue"),
    ({"RedefineParamList": [{"K": "a"}, {"V": "x"}]}, "InvalidParameterValue"),
    ({"RedefineParamList": {"K": "a", "V": "x", "Z": 1}}, "UnknownParameter"),
    ({"SkipEventListening": "often"}, "InvalidParameterValue"),
])
def test_rerun_rejects_bad_options(ops: Api, space: Space, finished: str, extra: dict[str, Any], code: str) -> None:
    params = {"ProjectId": space.project, "InstanceKeyList": [finished], **extra}
    assert ops.error("RerunTaskInstancesAsync", params, raw=True).code == code
    time.sleep(0.1)
    assert get(ops, space, finished)["TotalRunNum"] == 1


def test_get_ops_async_job_bad_input(ops: Api, space: Space, finished: str, stranger: Api, other: Space) -> None:
    async_id = ops.data("SetSuccessTaskInstancesAsync", {"ProjectId": space.project,
                                                         "InstanceKeyList": [finished]})["AsyncId"]
    assert ops.error("GetOpsAsyncJob", {"ProjectId": space.project, "AsyncId": str(uuid.uuid4())}).code == \
        "ResourceNotFound"
    assert ops.error("GetOpsAsyncJob", {"ProjectId": other.project, "AsyncId": async_id}).code == "ResourceNotFound"
    assert ops.error("GetOpsAsyncJob", {"ProjectId": space.project}, raw=True).code == "MissingParameter"
    assert stranger.error("GetOpsAsyncJob", {"ProjectId": space.project, "AsyncId": async_id}).code == \
        "UnauthorizedOperation.UserNotInProject"
    assert job(ops, space.project, async_id)["Status"] == "FAIL"  # already COMPLETED: a failed item


# -- restart --------------------------------------------------------------------------------------------


def test_an_unfinished_job_is_resumed_after_the_server_was_killed(ops_server: ServerProcess, tmp_path: Path) -> None:
    """What a worker killed in the middle of a job leaves behind: the job RUNNING, claimed by
    its dead process (with a lease that has not run out), its item not done. The restarted
    server resumes it at once and the item's effect reaches the engine."""
    from sqlalchemy import insert

    from wedata.storage.db import Database, sqlite_url
    from wedata.storage.ops_tables import ops_async_job_items, ops_async_jobs

    api = ops_server.admin()
    space = new_space(api)
    failed = submit(api, space, "exit 1", sched={"MaxRetryNumber": 0})
    marker = tmp_path / "released"
    down = submit(api, space, f"touch {marker}", sched=depends_on(failed))
    wait_state(api, space, key(failed), {"EXPIRED"})
    wait_state(api, space, key(down), {"WAIT_UPSTREAM"})
    assert ops_server.proc is not None
    dead_pid = ops_server.proc.pid
    ops_server.stop(signal.SIGKILL)

    db = Database(ops_server.database_url or sqlite_url(ops_server.home))
    async_id = str(uuid.uuid4())
    now = datetime.strptime(CLOCK_START, "%Y-%m-%d %H:%M:%S")
    with db.write() as conn:
        conn.execute(insert(ops_async_jobs).values(
            async_id=async_id, project_id=space.project, async_type="INSTANCE_SET_SUCCESS", status="RUNNING",
            params={}, total_count=1, finished_count=0, success_count=0, create_user_uin="100000000001",
            created_at=now, updated_at=now, claimed_by=f"{socket.gethostname()[:40]}:{dead_pid}:deadbeef",
            lease_until=datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=10),
        ))
        conn.execute(insert(ops_async_job_items).values(async_id=async_id, seq=0, item_key=key(failed),
                                                        status="INIT", updated_at=now))
    db.dispose()

    ops_server.start()
    resumed = job(api, space.project, async_id, timeout=20)
    assert (resumed["Status"], resumed["FinishedSubProcessCount"], resumed["SuccessSubProcessCount"]) == \
        ("SUCCESS", 1, 1)
    assert get(api, space, key(failed))["InstanceState"] == "COMPLETED"
    wait_state(api, space, key(down), {"COMPLETED"})
    assert marker.exists()
