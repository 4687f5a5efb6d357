"""Task instances through the official SDK, on SQLite and PostgreSQL: tasks are created and
submitted with the SDK, the server's engine runs them, and GetTaskInstance, ListTaskInstances,
GetTaskInstanceLog and ListTaskInstanceExecutions read the result. Bad input answers the right
code. Engine behaviour over time (dependencies, retries, timeouts, crashes) is in
test_instances_engine.py.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.actions.standing import refuses_as_before_the_read
from tests.support import Api, ServerProcess, unique
from tests.waiting import wait_until

WALL = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
ITEM_KEYS = {
    "ProjectId", "InstanceKey", "FolderId", "FolderName", "WorkflowId", "WorkflowName", "TaskId", "TaskName",
    "CurRunDate", "InstanceState", "InstanceType", "OwnerUinList", "TotalRunNum", "TaskType", "TaskTypeId",
    "CycleType", "TryLimit", "Tries", "StartTime", "EndTime", "CostTime", "SchedulerTime", "LastUpdateTime",
    "ExecutorGroupId", "ExecutorGroupName",
}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class Space:
    project: str
    workflow: str


def new_space(api: Api) -> Space:
    project = api.data("CreateProject", {"Project": {"ProjectName": unique("ip"), "DisplayName": "inst"}})["ProjectId"]
    workflow = api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": unique("wf"), "ParentFolderPath": "/"})[
        "WorkflowId"
    ]
    return Space(project, workflow)


def submit(api: Api, space: Space, code: str, *, name: str | None = None, type_id: str = "35",
           sched: dict[str, Any] | None = None, conf: dict[str, Any] | None = None) -> str:
    """Create and submit a task (one-off by default, so it runs once, now)."""
    task_id: str = api.data("CreateTask", {
        "ProjectId": space.project,
        "TaskBaseAttribute": {"TaskName": name or unique("t"), "TaskTypeId": type_id, "WorkflowId": space.workflow},
        "TaskConfiguration": {"CodeContent": b64(code), **(conf or {})},
        "TaskSchedulerConfiguration": {"CycleType": "ONEOFF_CYCLE", "StartTime": "2025-01-01 00:00:00",
                                       **(sched or {})},
    })["TaskId"]
    api.data("SubmitTask", {"ProjectId": space.project, "TaskId": task_id, "VersionRemark": "go"})
    return task_id


def instances(api: Api, space: Space, task_id: str, **filters: Any) -> list[dict[str, Any]]:
    data = api.data("ListTaskInstances", {"ProjectId": space.project, "Keyword": task_id, "PageSize": 100, **filters})
    return list(data["Items"])


def wait_for(api: Api, space: Space, task_id: str, states: set[str], count: int = 1,
             timeout: float = 30.0) -> list[dict[str, Any]]:
    """Until ``count`` instances of the task are in ``states``; ``timeout``: how long their
    states may stay unchanged (the wait goes on while they move)."""
    return wait_until(
        lambda: instances(api, space, task_id),
        lambda items: sum(1 for i in items if i["InstanceState"] in states) >= count,
        what=f"{count} instance(s) of {task_id} in {sorted(states)}", patience=timeout, interval=0.1,
        progress=lambda items: sorted((i["CurRunDate"], i["InstanceState"], i["TotalRunNum"]) for i in items))


def full_log(api: Api, space: Space, key: str, **kw: Any) -> tuple[str, int]:
    """Every page of an ended instance's log, joined; and the number of pages."""
    text, cursor, pages = [], None, 0
    while True:
        req = {"ProjectId": space.project, "InstanceKey": key, **kw}
        if cursor is not None:
            req["NextCursor"] = cursor
        data = api.data("GetTaskInstanceLog", req)
        pages += 1
        text.append(data["LogInfo"])
        cursor = data["NextCursor"]
        if cursor is None:
            return "<br>".join(t for t in text if t), pages
        assert pages < 100


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


@pytest.fixture(scope="module")
def done(api: Api, space: Space) -> dict[str, Any]:
    """A one-off Shell task that ran to completion."""
    task_id = submit(api, space, "echo hello from ${yyyyMMdd}\necho second line", name=unique("done"))
    (item,) = wait_for(api, space, task_id, {"COMPLETED"})
    return item


# ------------------------------------------------------------------------------------------------
# GetTaskInstance / ListTaskInstances


def test_a_submitted_task_runs_and_is_listed_with_every_field(api: Api, space: Space, done: dict[str, Any]) -> None:
    assert set(done) == ITEM_KEYS
    task_id = done["TaskId"]
    assert done["InstanceKey"] == f"{task_id}_2025-01-01 00:00:00" and done["CurRunDate"] == "2025-01-01 00:00:00"
    assert (done["InstanceState"], done["InstanceType"], done["CycleType"]) == ("COMPLETED", 2, "ONEOFF_CYCLE")
    assert (done["TaskType"], done["TaskTypeId"], done["TryLimit"], done["Tries"], done["TotalRunNum"]) == (
        "Shell", 35, 5, 1, 1)
    assert done["ProjectId"] == space.project and done["WorkflowId"] == space.workflow
    assert done["WorkflowName"] and done["TaskName"].startswith("done_") and done["OwnerUinList"]
    for field in ("StartTime", "EndTime", "SchedulerTime", "LastUpdateTime"):
        assert WALL.match(done[field]), field
    assert isinstance(done["CostTime"], int) and done["CostTime"] >= 0
    assert done["StartTime"] <= done["EndTime"]
    detail = api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": done["InstanceKey"]})
    assert set(detail) == ITEM_KEYS | {"JobErrorMsg"} and detail["JobErrorMsg"] == ""
    assert {k: detail[k] for k in ITEM_KEYS} == done


def test_time_zone_shifts_wall_times_but_not_the_data_time(api: Api, space: Space, done: dict[str, Any]) -> None:
    key = done["InstanceKey"]
    utc6 = api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": key, "TimeZone": "UTC+6"})
    assert utc6["CurRunDate"] == done["CurRunDate"] and utc6["InstanceKey"] == key
    for field in ("StartTime", "EndTime", "SchedulerTime", "LastUpdateTime"):
        shifted = datetime.strptime(done[field], "%Y-%m-%d %H:%M:%S") - timedelta(hours=2)
        assert utc6[field] == shifted.strftime("%Y-%m-%d %H:%M:%S"), field
    listed = instances(api, space, done["TaskId"], TimeZone="UTC+6")[0]
    assert listed["StartTime"] == utc6["StartTime"]


def test_list_filters_sorting_and_paging(api: Api, space: Space, done: dict[str, Any]) -> None:
    failed = submit(api, space, "exit 7", name=unique("fail"), sched={"MaxRetryNumber": 0})
    python = submit(api, space, "print('py')", name=unique("py"), type_id="30")
    wait_for(api, space, failed, {"EXPIRED"})
    wait_for(api, space, python, {"COMPLETED"})
    base = {"ProjectId": space.project, "PageSize": 100}

    def keys(**f: Any) -> set[str]:
        return {i["TaskId"] for i in api.data("ListTaskInstances", {**base, **f})["Items"]}

    mine = {done["TaskId"], failed, python}
    assert mine <= keys()
    assert keys(InstanceState="EXPIRED") & mine == {failed}
    assert keys(InstanceState="8") & mine == {failed}  # legacy numeric code
    assert keys(TaskTypeId=30) & mine == {python}
    assert keys(Keyword="py_") & mine == {python}
    assert keys(Keyword=f"{failed},{python}") == {failed, python}
    assert keys(CycleType="ONEOFF_CYCLE") >= mine and not keys(CycleType="DAY_CYCLE") & mine
    assert keys(WorkflowId=space.workflow) == mine
    assert keys(InstanceType=2) >= mine and not keys(InstanceType=0) & mine
    assert not keys(OwnerUin="999")
    start = done["StartTime"]
    assert done["TaskId"] in keys(StartTimeFrom=start, StartTimeTo=start)
    later = (datetime.strptime(start, "%Y-%m-%d %H:%M:%S") + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert not keys(StartTimeFrom=later)
    assert done["TaskId"] in keys(ScheduleTimeTo=done["SchedulerTime"], LastUpdateTimeFrom="2000-01-01 00:00:00")
    page1 = api.data("ListTaskInstances", {"ProjectId": space.project, "PageSize": 1, "SortColumn": "START_TIME",
                                           "SortType": "ASC", "WorkflowId": space.workflow})
    assert (page1["TotalCount"], page1["TotalPageNumber"], page1["PageNumber"], page1["PageSize"]) == (3, 3, 1, 1)
    ordered = [api.data("ListTaskInstances", {"ProjectId": space.project, "PageSize": 1, "PageNumber": n,
                                              "SortColumn": "START_TIME", "SortType": "ASC",
                                              "WorkflowId": space.workflow})["Items"][0]["StartTime"] for n in (1, 2, 3)]
    assert ordered == sorted(ordered)
    desc = api.data("ListTaskInstances", {**base, "WorkflowId": space.workflow, "SortColumn": "COST_TIME"})["Items"]
    assert [i["CostTime"] for i in desc] == sorted((i["CostTime"] for i in desc), reverse=True)


def test_a_folder_lists_the_instances_of_its_workflows_page_by_page_in_order(api: Api) -> None:
    """FolderId: the instances of every workflow in the folder and none of another workflow;
    each page is the same slice of the whole list, both ways, with ties in the order."""
    space = new_space(api)
    name = unique("fold")
    folder = api.data("CreateWorkflowFolder", {"ProjectId": space.project, "ParentFolderPath": "/",
                                               "FolderName": name})["FolderId"]
    spaces = [Space(space.project, api.data("CreateWorkflow", {
        "ProjectId": space.project, "WorkflowName": unique("fw"), "ParentFolderPath": f"/{name}"})["WorkflowId"])
        for _ in range(2)]
    # The same data times in both workflows: ties in the order, broken by the instance.
    mine = {submit(api, s, "true", sched={"StartTime": f"2025-01-0{day} 00:00:00"}) for s in spaces for day in (1, 2)}
    outside = submit(api, space, "true")
    for task_id in mine | {outside}:
        wait_for(api, space, task_id, {"COMPLETED"})
    # A few workflows are read one walk each, merged (services/paging.py merged_keys): in every
    # order, with another filter and with a time range too.
    shown = {"SCHEDULE_DATE": "SchedulerTime", "START_TIME": "StartTime", "COST_TIME": "CostTime"}
    for column, extra in (("SCHEDULE_DATE", {}), ("START_TIME", {}), ("COST_TIME", {}),
                          ("SCHEDULE_DATE", {"InstanceState": "COMPLETED"}),
                          ("SCHEDULE_DATE", {"ScheduleTimeFrom": "2020-01-01 00:00:00",
                                             "ScheduleTimeTo": "2099-01-01 00:00:00"})):
        for sort in ("DESC", "ASC"):
            base = {"ProjectId": space.project, "FolderId": folder, "SortColumn": column, "SortType": sort, **extra}
            whole = api.data("ListTaskInstances", {**base, "PageSize": 100})
            assert whole["TotalCount"] == 4 and {i["TaskId"] for i in whole["Items"]} == mine, (column, extra)
            values = [i[shown[column]] for i in whole["Items"]]
            # (CostTime is text, HH:MM:SS.mmm: for runs this short its text order is its order.)
            assert values == sorted(values, reverse=sort == "DESC"), (column, sort)
            pages = [api.data("ListTaskInstances", {**base, "PageSize": 1, "PageNumber": n})["Items"]
                     for n in range(1, 6)]
            assert [i["InstanceKey"] for page in pages for i in page] == [i["InstanceKey"] for i in whole["Items"]]
    assert api.data("ListTaskInstances", {"ProjectId": space.project, "FolderId": folder,
                                          "InstanceState": "RUNNING"})["TotalCount"] == 0
    none = api.data("ListTaskInstances", {"ProjectId": space.project, "FolderId": "no-such-folder"})
    assert (none["TotalCount"], none["Items"]) == (0, [])


def test_pages_sorted_by_start_and_end_are_slices_of_the_whole(api: Api) -> None:
    """START_TIME, END_TIME and COST_TIME without a filter: on PostgreSQL a page is found among
    the running counts by day of the start and of the end (migration 0033) or by cost band
    (0034); every page is the slice of the whole list, both ways."""
    space = new_space(api)
    tasks = {submit(api, space, "true") for _ in range(5)}
    for task_id in tasks:
        wait_for(api, space, task_id, {"COMPLETED"})
    shown = {"START_TIME": "StartTime", "END_TIME": "EndTime", "COST_TIME": "CostTime"}
    for column, field in shown.items():
        for sort in ("ASC", "DESC"):
            base = {"ProjectId": space.project, "SortColumn": column, "SortType": sort}
            whole = api.data("ListTaskInstances", {**base, "PageSize": 100})
            assert whole["TotalCount"] == 5 and {i["TaskId"] for i in whole["Items"]} == tasks
            times = [i[field] for i in whole["Items"]]
            assert times == sorted(times, reverse=sort == "DESC"), (column, sort)
            pages = [i["InstanceKey"] for n in range(1, 5)
                     for i in api.data("ListTaskInstances", {**base, "PageSize": 2, "PageNumber": n})["Items"]]
            assert pages == [i["InstanceKey"] for i in whole["Items"]], (column, sort)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"PageSize": 101}, "InvalidParameterValue"),
        ({"PageSize": 0}, "InvalidParameterValue"),
        ({"PageNumber": 0}, "InvalidParameterValue"),
        ({"SortColumn": "NAME"}, "InvalidParameterValue"),
        ({"SortType": "UP"}, "InvalidParameterValue"),
        ({"InstanceState": "DONE"}, "InvalidParameterValue"),
        ({"InstanceType": 5}, "InvalidParameterValue"),
        ({"CycleType": "FORTNIGHT"}, "InvalidParameterValue"),
        ({"TimeZone": "Mars/Base"}, "InvalidParameterValue"),
        ({"StartTimeFrom": "2025-13-01"}, "InvalidParameterValue"),
        ({"StartTimeFrom": "2025-02-01 00:00:00", "StartTimeTo": "2025-01-01 00:00:00"}, "InvalidParameterValue"),
    ],
)
def test_list_rejects_bad_input(api: Api, space: Space, params: dict[str, Any], code: str) -> None:
    assert api.error("ListTaskInstances", {"ProjectId": space.project, **params}).code == code


def test_bad_keys_projects_and_callers(api: Api, space: Space, server: ServerProcess, done: dict[str, Any]) -> None:
    key = done["InstanceKey"]
    other = new_space(api)
    stranger = server.new_user()
    for action in ("GetTaskInstance", "GetTaskInstanceLog", "ListTaskInstanceExecutions"):
        assert api.error(action, {"ProjectId": space.project, "InstanceKey": "nonsense"}).code == "InvalidParameterValue"
        missing = f"{done['TaskId']}_2024-01-01 00:00:00"
        assert api.error(action, {"ProjectId": space.project, "InstanceKey": missing}).code == "ResourceNotFound"
        assert api.error(action, {"ProjectId": other.project, "InstanceKey": key}).code == "ResourceNotFound"
        err = stranger.error(action, {"ProjectId": space.project, "InstanceKey": key})
        assert err.code == "UnauthorizedOperation.UserNotInProject"
    assert api.error("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": key, "Extra": 1},
                     raw=True).code == "UnknownParameter"
    assert api.error("ListTaskInstances", {"ProjectId": "1" * 19}).code == "ResourceNotFound"


def test_get_task_instance_refuses_before_it_says_what_is_missing(api: Api, server: ServerProcess) -> None:
    """GetTaskInstance reads the caller's standing with the instance, and the registry decides
    after the read (actions/registry.py ``standing_in_read``): it refuses exactly as before the
    read, whatever the read met (a bad key, a bad zone, no such instance), and sees a membership
    change at the next request."""
    space = new_space(api)
    task_id = submit(api, space, "true", name=unique("standing"))
    (item,) = wait_for(api, space, task_id, {"COMPLETED"})
    key, missing = item["InstanceKey"], f"{task_id}_2024-01-01 00:00:00"
    got = refuses_as_before_the_read(api, server, "GetTaskInstance", space.project, {"InstanceKey": key}, [
        {"InstanceKey": missing}, {"InstanceKey": "nonsense"}, {"InstanceKey": key, "TimeZone": "Mars/Olympus"}])
    assert got["InstanceKey"] == key and got["InstanceState"] == "COMPLETED"


# ------------------------------------------------------------------------------------------------
# GetTaskInstanceLog


def test_log_has_the_output_and_the_rendered_code(api: Api, space: Space, done: dict[str, Any]) -> None:
    data = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": done["InstanceKey"]})
    assert set(data) == {"InstanceKey", "ProjectId", "CodeContent", "LogInfo", "NextCursor"}
    assert data["CodeContent"] == "echo hello from 20250101<br>echo second line"
    lines = data["LogInfo"].split("<br>")
    assert "hello from 20250101" in lines and "second line" in lines
    # The scheduler's lines say the zone of their time (issue 16).
    assert re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+08:00 INFO attempt 1 of 5", lines[0])
    assert data["NextCursor"] is None  # ended and read to the end
    same = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": done["InstanceKey"],
                                           "LifeRoundNum": 0, "LogLevel": "All"})
    assert same["LogInfo"] == data["LogInfo"]
    errors = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": done["InstanceKey"],
                                             "LogLevel": "Error"})
    assert errors["LogInfo"] == ""
    info = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": done["InstanceKey"],
                                           "LogLevel": "Info"})
    assert "second line" in info["LogInfo"]


def test_log_bad_input(api: Api, space: Space, done: dict[str, Any]) -> None:
    base = {"ProjectId": space.project, "InstanceKey": done["InstanceKey"]}
    assert api.error("GetTaskInstanceLog", {**base, "LifeRoundNum": 1}).code == "ResourceNotFound"
    assert api.error("GetTaskInstanceLog", {**base, "LifeRoundNum": -1}).code == "ResourceNotFound"
    assert api.error("GetTaskInstanceLog", {**base, "LogLevel": "Loud"}).code == "InvalidParameterValue"
    assert api.error("GetTaskInstanceLog", {**base, "NextCursor": "abc"}).code == "InvalidParameterValue"
    assert api.error("GetTaskInstanceLog", {**base, "NextCursor": "99999999"}).code == "InvalidParameterValue"


def test_a_long_log_is_paged_with_next_cursor(api: Api, space: Space) -> None:
    task_id = submit(api, space, "seq 1 120000")
    (item,) = wait_for(api, space, task_id, {"COMPLETED"})
    text, pages = full_log(api, space, item["InstanceKey"])
    assert pages >= 3
    numbers = [line for line in text.split("<br>") if line.isdigit()]
    assert numbers == [str(n) for n in range(1, 120001)]


def test_the_log_streams_while_running(api: Api, space: Space) -> None:
    marker = unique("go")
    task_id = submit(api, space, f"echo first\nfor _ in $(seq 600); do [ -e /tmp/{marker} ] && break; sleep 0.05; done\necho last")
    (item,) = wait_for(api, space, task_id, {"RUNNING"})
    deadline = time.monotonic() + 10
    while True:
        data = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
        if "first" in data["LogInfo"].split("<br>") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert "first" in data["LogInfo"].split("<br>") and "last" not in data["LogInfo"]
    cursor = data["NextCursor"]
    assert cursor is not None and cursor.isdigit()  # running: come back for more
    open(f"/tmp/{marker}", "w").close()
    try:
        wait_for(api, space, task_id, {"COMPLETED"})
    finally:
        import os

        os.unlink(f"/tmp/{marker}")
    rest = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"],
                                           "NextCursor": cursor})
    assert "last" in rest["LogInfo"].split("<br>") and "first" not in rest["LogInfo"]


# ------------------------------------------------------------------------------------------------
# ListTaskInstanceExecutions


def test_executions_one_item_per_attempt(api: Api, space: Space) -> None:
    task_id = submit(api, space, "echo try; exit 4", sched={"MaxRetryNumber": 2, "RetryWaitMinute": 0})
    (item,) = wait_for(api, space, task_id, {"EXPIRED"})
    assert (item["Tries"], item["TryLimit"], item["TotalRunNum"]) == (3, 3, 3)
    data = api.data("ListTaskInstanceExecutions", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    assert (data["TotalCount"], data["TotalPageNumber"], data["PageNumber"], data["PageSize"]) == (3, 1, 1, 10)
    got = [(e["LifeRoundNum"], e["Tries"], e["InstanceState"], e["RunType"]) for e in data["Items"]]
    assert got == [(0, 1, "FAILED_RETRY", "APERIODIC"), (0, 2, "FAILED_RETRY", "APERIODIC"),
                   (0, 3, "EXPIRED", "APERIODIC")]
    first, last = data["Items"][0], data["Items"][-1]
    assert set(first) == {"InstanceKey", "LifeRoundNum", "InstanceState", "RunType", "Tries", "ExecutionPhaseList",
                          "CostTime"}
    assert [p["DetailState"] for p in first["ExecutionPhaseList"]] == ["WAIT_RUN", "RUNNING", "FAILED"]
    assert [p["DetailState"] for p in last["ExecutionPhaseList"]] == ["WAIT_RUN", "RUNNING", "EXPIRED"]
    for p in first["ExecutionPhaseList"]:
        assert WALL.match(p["StartTime"]) and WALL.match(p["EndTime"])
    paged = api.data("ListTaskInstanceExecutions", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"],
                                                    "PageSize": 2, "PageNumber": 2})
    assert [e["Tries"] for e in paged["Items"]] == [3] and paged["TotalPageNumber"] == 2
    log, _ = full_log(api, space, item["InstanceKey"])
    assert log.split("<br>").count("try") == 3 and "exit code 4" in log
    for bad in ({"PageSize": 201}, {"PageNumber": 0}, {"TimeZone": "nowhere"}):
        err = api.error("ListTaskInstanceExecutions", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"],
                                                       **bad})
        assert err.code == "InvalidParameterValue"


def test_a_daily_task_is_planned_through_tomorrow_and_waits_for_its_time(api: Api, space: Space) -> None:
    task_id = submit(api, space, "true", sched={"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 0 * * ? *"})
    items = wait_for(api, space, task_id, {"COMPLETED"})
    deadline = time.monotonic() + 10
    while len(items) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        items = instances(api, space, task_id)
    today, tomorrow = sorted(items, key=lambda i: i["CurRunDate"])
    assert (today["InstanceState"], tomorrow["InstanceState"]) == ("COMPLETED", "WAIT_RUN")
    assert tomorrow["InstanceType"] == 1 and tomorrow["CycleType"] == "DAY_CYCLE"
    day = datetime.strptime(today["CurRunDate"], "%Y-%m-%d %H:%M:%S")
    assert tomorrow["CurRunDate"] == (day + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert tomorrow["SchedulerTime"] == tomorrow["CurRunDate"]  # T+0, UTC+8 task shown in UTC+8
    assert (tomorrow["Tries"], tomorrow["TotalRunNum"], tomorrow["StartTime"], tomorrow["EndTime"]) == (0, 0, None, None)
    data = api.data("ListTaskInstanceExecutions", {"ProjectId": space.project, "InstanceKey": tomorrow["InstanceKey"]})
    (coming,) = data["Items"]
    assert (coming["Tries"], coming["InstanceState"], coming["RunType"], coming["CostTime"]) == (
        0, "WAIT_RUN", "PERIODIC", None)
    assert [(p["DetailState"], p["EndTime"]) for p in coming["ExecutionPhaseList"]] == [("WAIT_RUN", None)]
    log = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": tomorrow["InstanceKey"]})
    assert (log["LogInfo"], log["CodeContent"], log["NextCursor"]) == ("", None, "0")
