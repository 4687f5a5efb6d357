"""Many clients at once: handlers run in a thread pool, SQLite writers queue (in a pool of their
own when asked, so the reads never wait behind them), a credential's requests in flight are bounded, and
list limits are checked before any lookup.

No timings are asserted (tools/bench/mixed.py reports those); these tests check outcomes:
every concurrent write lands exactly once on both backends, the in-flight bound refuses the
surplus with RequestLimitExceeded and is released on every path (errors included).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.support import ADMIN_UIN, Api, ServerProcess, unique

CODE = "ZWNobyBoaQ=="


def new_space(api: Api) -> tuple[str, str]:
    project = api.data("CreateProject", {"Project": {"ProjectName": unique("cc"), "DisplayName": "cc"}})["ProjectId"]
    wf = api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": unique("wf"), "ParentFolderPath": "/"})
    return project, wf["WorkflowId"]


def create_task(api: Api, project: str, workflow: str, name: str) -> str:
    return str(api.data("CreateTask", {
        "ProjectId": project,
        "TaskBaseAttribute": {"TaskName": name, "TaskTypeId": "35", "WorkflowId": workflow},
        "TaskConfiguration": {"CodeContent": CODE},
        "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 1 * * ? *",
                                       "StartTime": "2099-01-01 00:00:00"},
    })["TaskId"])  # fmt: skip


def code_of(fn: Any, *args: Any) -> str:
    """``ok`` or the error code of the SDK call ``fn(*args)``."""
    try:
        fn(*args)
        return "ok"
    except TencentCloudSDKException as exc:
        return str(exc.code)


def test_concurrent_writers_and_readers_all_succeed(api: Api) -> None:
    """16 clients create, update, submit and read tasks at once: no "database is locked", no
    InternalError, every task saved once with its last update (SQLite writes queue on one lock,
    reads run beside them)."""
    project, workflow = new_space(api)
    prefix = unique("c")

    def client(k: int) -> list[str]:
        ids, codes = [], []
        for i in range(6):
            name = f"{prefix}_{k}_{i}"
            tid = create_task(api, project, workflow, name)
            ids.append(tid)
            codes.append(code_of(api.call, "SubmitTask", {"ProjectId": project, "TaskId": tid, "VersionRemark": "v"}))
            codes.append(code_of(api.call, "UpdateTask", {"ProjectId": project, "TaskId": tid, "Task": {
                "TaskBaseAttribute": {"TaskName": name, "OwnerUin": ADMIN_UIN, "TaskDescription": f"d{k}"},
                "TaskConfiguration": {"CodeContent": CODE},
                "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 2 * * ? *"}}}))  # fmt: skip
            codes.append(code_of(api.data, "ListTasks", {"ProjectId": project, "TaskName": prefix}))
        assert set(codes) == {"ok"}, codes
        return ids

    with ThreadPoolExecutor(16) as pool:
        ids = [tid for part in pool.map(client, range(16)) for tid in part]
    assert len(set(ids)) == 16 * 6
    listed = api.data("ListTasks", {"ProjectId": project, "TaskName": prefix, "PageSize": 100})
    assert listed["TotalCount"] == 16 * 6
    for tid in ids[::17]:
        task = api.data("GetTask", {"ProjectId": project, "TaskId": tid})
        assert task["TaskBaseAttribute"]["TaskDescription"].startswith("d")
        assert task["TaskSchedulerConfiguration"]["CrontabExpression"] == "0 0 2 * * ? *"


def test_reads_are_answered_while_writers_wait_for_the_sqlite_write_lock(tmp_path: Path) -> None:
    """With ``WEDATA_API_WRITE_THREADS`` set, another process holds SQLite's write lock (as the engine's process does during a long
    transaction). Six UpdateTasks queue for it, more than the handler threads; a GetTask and a
    ListTasks are still answered while the lock is held, and every update lands once it is
    released."""
    srv = ServerProcess(tmp_path / "home", env={"WEDATA_SCHEDULER": "0", "WEDATA_API_WRITE_THREADS": "2"}).start()
    try:
        api = srv.admin()
        project, workflow = new_space(api)
        tid = create_task(api, project, workflow, "held")
        holder = sqlite3.connect(srv.home / "wedata.db", timeout=5, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        released = False
        try:
            with ThreadPoolExecutor(8) as pool:
                writes = [pool.submit(code_of, api.call, "UpdateTask", {"ProjectId": project, "TaskId": tid, "Task": {
                    "TaskBaseAttribute": {"TaskName": "held", "OwnerUin": ADMIN_UIN, "TaskDescription": f"d{i}"},
                    "TaskConfiguration": {"CodeContent": CODE},
                    "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 2 * * ? *"}}})
                    for i in range(6)]  # fmt: skip
                deadline = time.monotonic() + 1.0  # let every update reach the server and queue
                while time.monotonic() < deadline and not any(f.done() for f in writes):
                    time.sleep(0.05)
                assert not any(f.done() for f in writes), [f.result() for f in writes if f.done()]
                read = pool.submit(api.data, "GetTask", {"ProjectId": project, "TaskId": tid})
                listed = pool.submit(api.data, "ListTasks", {"ProjectId": project})
                # Answered while the lock is still held (a read that queued behind the writers
                # would wait for them, and they for the lock).
                assert read.result(timeout=15)["TaskBaseAttribute"]["TaskName"] == "held"
                assert listed.result(timeout=15)["TotalCount"] == 1
                assert not any(f.done() for f in writes)
                holder.execute("COMMIT")
                released = True
                assert [f.result(timeout=60) for f in writes] == ["ok"] * 6
        finally:
            if not released:
                holder.execute("COMMIT")
            holder.close()
        description = api.data("GetTask", {"ProjectId": project, "TaskId": tid})["TaskBaseAttribute"]["TaskDescription"]
        assert description in {f"d{i}" for i in range(6)}
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def one_in_flight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server where a credential may have one request in flight (two handler threads)."""
    s = ServerProcess(Path(tmp_path_factory.mktemp("inflight")),
                      env={"WEDATA_MAX_INFLIGHT": "1", "WEDATA_API_THREADS": "2"}).start()  # fmt: skip
    yield s
    s.stop()


def burst(api: Api, action: str, params: dict[str, Any], n: int = 24) -> list[tuple[str, str]]:
    """``n`` threads send the same request at the same instant; their answers (code, message)."""
    gate = threading.Barrier(n)

    def one(_: int) -> tuple[str, str]:
        gate.wait()
        try:
            api.raw(action, params)
            return "ok", ""
        except TencentCloudSDKException as exc:
            return str(exc.code), str(exc.message)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_in_flight_bound_refuses_the_surplus_and_is_released(one_in_flight: ServerProcess) -> None:
    admin = one_in_flight.admin()
    project, workflow = new_space(admin)
    for i in range(30):
        create_task(admin, project, workflow, unique(f"t{i}"))
    other = one_in_flight.new_user()
    listing = {"ProjectId": project, "PageSize": 100}
    # 24 requests sent at one instant overlap in the server unless the test process (its threads
    # sign under one GIL) was slowed so much that they reached it one after another: on a loaded
    # machine a burst once came through without any surplus. Up to five bursts, then.
    for _ in range(5):
        answers = burst(admin, "ListTasks", listing)
        codes = {code for code, _ in answers}
        if "RequestLimitExceeded" in codes:
            break
    assert codes == {"ok", "RequestLimitExceeded"}, answers
    message = next(m for c, m in answers if c == "RequestLimitExceeded")
    assert "in flight" in message and "at most 1 " in message
    # Released on every path: bursts of errors (unknown task, bad value, unknown field) leave
    # nothing counted, so one request at a time always passes afterwards.
    for params in ({"ProjectId": project, "TaskId": "20990101000000000"}, {"ProjectId": project, "TaskId": "a\x00"},
                   {"ProjectId": project, "TaskId": "x", "Nope": 1}):  # fmt: skip
        codes = {code for code, _ in burst(admin, "GetTask", params, n=12)}
        assert codes <= {"ResourceNotFound", "InvalidParameterValue", "UnknownParameter", "RequestLimitExceeded"}
        assert codes - {"RequestLimitExceeded"}, codes
    for _ in range(10):
        assert admin.data("ListTasks", listing)["TotalCount"] == 30
    # Per credential: another user is not refused because of the admin's requests.
    assert other.data("ListTenantRoles")


def test_backfill_task_limit_is_checked_before_any_lookup(api: Api) -> None:
    project, _ = new_space(api)
    body = {"ProjectId": project, "TaskIds": [f"9{i:016d}" for i in range(10_000)],
            "DataBackfillRangeList": [{"StartDate": "2025-01-01", "EndDate": "2025-01-01"}]}  # fmt: skip
    err = api.error("CreateDataBackfillPlan", body, raw=True)
    assert err.code == "LimitExceeded"
    assert "at most 200" in err.message
    # Duplicates count once: 10,000 copies of one unknown id reach the lookup (and fail there).
    body["TaskIds"] = ["99999999999999999"] * 10_000
    assert api.error("CreateDataBackfillPlan", body, raw=True).code != "LimitExceeded"


@pytest.mark.parametrize(
    ("action", "params", "field"),
    [
        ("CreateProjectMember", {"UserUins": [str(300_000_000_000 + i) for i in range(1001)],
                                 "RoleIds": ["308335260676890624"]}, "UserUins"),
        ("DeleteProjectMember", {"UserUins": [str(300_000_000_000 + i) for i in range(1001)]}, "UserUins"),
        ("ListTasks", {"TaskFolderPathList": [f"/f{i}" for i in range(1001)]}, "TaskFolderPathList"),
        ("StopOpsTasksAsync", {"TaskIds": [f"9{i:016d}" for i in range(1001)]}, "TaskIds"),
        ("KillTaskInstancesAsync", {"InstanceKeyList": [f"9{i:016d}_2025-01-01 00:00:00" for i in range(1001)]},
         "InstanceKeyList"),
    ],  # fmt: skip
    ids=["CreateProjectMember", "DeleteProjectMember", "ListTasks", "StopOpsTasksAsync", "KillTaskInstancesAsync"],
)
def test_oversized_lists_are_refused(api: Api, action: str, params: dict[str, Any], field: str) -> None:
    project, _ = new_space(api)
    before = api.data("ListProjectMembers", {"ProjectId": project, "PageSize": 100})["TotalCount"]
    err = api.error(action, {"ProjectId": project, **params}, raw=True)
    assert err.code == "InvalidParameterValue", err.message
    assert field in err.message and "1000" in err.message
    assert api.data("ListProjectMembers", {"ProjectId": project, "PageSize": 100})["TotalCount"] == before
    listed = api.data("ListProjects", {"ProjectIds": [project], "PageSize": 10})
    assert listed["TotalCount"] == 1
    err = api.error("ListProjects", {"ProjectIds": [str(i) for i in range(1001)]}, raw=True)
    assert err.code == "InvalidParameterValue" and "ProjectIds" in err.message
