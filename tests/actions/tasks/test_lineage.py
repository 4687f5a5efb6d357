"""Dev-side lineage lists (ListUpstreamTasks, ListDownstreamTasks) through the official SDK."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support import ADMIN_UIN, Api, ServerProcess, unique

DTO_KEYS = {
    "TaskId", "TaskName", "WorkflowId", "WorkflowName", "ProjectId", "Status", "TaskTypeId", "TaskTypeDesc",
    "ScheduleDesc", "StartTime", "EndTime", "DelayTime", "CycleType", "OwnerUin", "TaskAction", "InitStrategy",
    "CrontabExpression",
}
PAGE_KEYS = {"TotalCount", "TotalPageNumber", "PageNumber", "PageSize", "Items"}


def new_project(api: Api) -> str:
    name = unique("tdp")
    return str(api.data("CreateProject", {"Project": {"ProjectName": name, "DisplayName": name}})["ProjectId"])


def new_workflow(api: Api, project: str) -> tuple[str, str]:
    name = unique("wf")
    params = {"ProjectId": project, "WorkflowName": name, "ParentFolderPath": "/"}
    return str(api.data("CreateWorkflow", params)["WorkflowId"]), name


def create_task(
    api: Api,
    project: str,
    workflow: str,
    schedule: dict[str, Any],
    upstream: list[str] | None = None,
    type_id: str = "35",
) -> tuple[str, str]:
    name = unique("t")
    sched = dict(schedule)
    if upstream:
        sched["UpstreamDependencyConfigList"] = [
            {"TaskId": u, "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"} for u in upstream
        ]
    data = api.data(
        "CreateTask",
        {
            "ProjectId": project,
            "TaskBaseAttribute": {"TaskName": name, "TaskTypeId": type_id, "WorkflowId": workflow},
            "TaskConfiguration": {"CodeContent": base64.b64encode(b"echo hi").decode()},
            "TaskSchedulerConfiguration": sched,
        },
    )
    return str(data["TaskId"]), name


def upstream(api: Api, project: str, task_id: str, **paging: Any) -> dict[str, Any]:
    data: dict[str, Any] = api.data("ListUpstreamTasks", {"ProjectId": project, "TaskId": task_id, **paging})
    return data


def downstream(api: Api, project: str, task_id: str, **paging: Any) -> dict[str, Any]:
    data: dict[str, Any] = api.data("ListDownstreamTasks", {"ProjectId": project, "TaskId": task_id, **paging})
    return data


MINUTE = {
    "CycleType": "MINUTE_CYCLE",
    "CrontabExpression": "0 */5 * * * ? *",
    "StartTime": "2025-08-21 00:00:00",
    "ExecutionStartTime": "00:00",
    "ExecutionEndTime": "23:59",
}
DAY_T1 = {
    "CycleType": "DAY_CYCLE",
    "CrontabExpression": "0 0 2 * * ? *",
    "StartTime": "2025-01-01 00:00:00",
    "EndTime": "2030-12-31 23:59:59",
    "InitStrategy": "T_PLUS_1",
}
CRON = {"CycleType": "CRONTAB_CYCLE", "CrontabExpression": "0 15 10 ? * MON-FRI", "StartTime": "2025-03-01 00:00:00"}
HOURS = {"CycleType": "HOUR_CYCLE", "CrontabExpression": "0 30 0,3,4 * * ? *", "StartTime": "2025-03-01 00:00:00"}
WEEK = {"CycleType": "WEEK_CYCLE", "CrontabExpression": "0 0 2 ? * MON,FRI *", "StartTime": "2025-03-01 00:00:00"}
MONTH = {"CycleType": "MONTH_CYCLE", "CrontabExpression": "0 30 1 L * ? *", "StartTime": "2025-03-01 00:00:00"}


@pytest.fixture(scope="module")
def graph(api: Api) -> dict[str, Any]:
    """Six upstream tasks of several cycles (two workflows) feeding one daily task."""
    project = new_project(api)
    (w1, w1_name), (w2, w2_name) = new_workflow(api, project), new_workflow(api, project)
    tasks: dict[str, Any] = {"project": project, "w1": (w1, w1_name), "w2": (w2, w2_name)}
    tasks["minute"] = create_task(api, project, w1, MINUTE)
    tasks["day"] = create_task(api, project, w2, DAY_T1, type_id="30")
    tasks["cron"] = create_task(api, project, w1, CRON)
    tasks["hours"] = create_task(api, project, w1, HOURS)
    tasks["week"] = create_task(api, project, w1, WEEK)
    tasks["month"] = create_task(api, project, w1, MONTH)
    ups = [tasks[k][0] for k in ("minute", "day", "cron", "hours", "week", "month")]
    tasks["sink"] = create_task(api, project, w1, {"CycleType": "DAY_CYCLE", "StartTime": "2025-02-01 00:00:00"}, ups)
    return tasks


# ------------------------------------------------------------------------------------------------
# ListUpstreamTasks


def test_upstream_items_have_every_field(api: Api, graph: dict[str, Any]) -> None:
    project = graph["project"]
    raw = api.raw("ListUpstreamTasks", {"ProjectId": project, "TaskId": graph["sink"][0], "PageSize": 20})
    page = raw["Data"]
    assert set(page) == PAGE_KEYS
    assert (page["TotalCount"], page["TotalPageNumber"], page["PageNumber"], page["PageSize"]) == (6, 1, 1, 20)
    assert all(set(item) == DTO_KEYS for item in page["Items"])
    items = {item["TaskId"]: item for item in page["Items"]}
    w1, w1_name = graph["w1"]
    w2, w2_name = graph["w2"]

    minute_id, minute_name = graph["minute"]
    assert items[minute_id] == {
        "TaskId": minute_id,
        "TaskName": minute_name,
        "WorkflowId": w1,
        "WorkflowName": w1_name,
        "ProjectId": project,
        "Status": "N",
        "TaskTypeId": 35,
        "TaskTypeDesc": "Shell",
        # The very sentence of the TaskDependDto example.
        "ScheduleDesc": "从2025年08月21日 00:00:00开始,每天00:00~23:59内，每间隔5分钟执行一次",
        "StartTime": "2025-08-21 00:00:00",
        "EndTime": "2099-12-31 23:59:59",
        "DelayTime": None,
        "CycleType": "I",
        "OwnerUin": ADMIN_UIN,
        "TaskAction": "",
        "InitStrategy": "T+0",
        "CrontabExpression": "0 */5 * * * ? *",
    }

    day_id, day_name = graph["day"]
    assert items[day_id] == {
        "TaskId": day_id,
        "TaskName": day_name,
        "WorkflowId": w2,
        "WorkflowName": w2_name,
        "ProjectId": project,
        "Status": "N",
        "TaskTypeId": 30,
        "TaskTypeDesc": "Python",
        "ScheduleDesc": "从2025年01月01日 00:00:00开始,每天02:00执行一次",
        "StartTime": "2025-01-01 00:00:00",
        "EndTime": "2030-12-31 23:59:59",
        "DelayTime": 120,
        "CycleType": "D",
        "OwnerUin": ADMIN_UIN,
        "TaskAction": "",
        "InitStrategy": "T+1",
        "CrontabExpression": "0 0 2 * * ? *",
    }


@pytest.mark.parametrize(
    ("key", "cycle", "desc", "delay", "action"),
    [
        # A crontab schedule is shown as its expression (the ListDownstreamTasks example).
        ("cron", "C", "0 15 10 ? * MON-FRI", None, ""),
        ("hours", "H", "从2025年03月01日 00:00:00开始,每天00:30、03:30、04:30各执行一次", 30, "0,3,4"),
        ("week", "W", "从2025年03月01日 00:00:00开始,每周一、周五的02:00执行一次", 120, "1,5"),
        ("month", "M", "从2025年03月01日 00:00:00开始,每月最后一天的01:30执行一次", 90, "L"),
    ],
)
def test_upstream_schedule_fields_per_cycle(
    api: Api, graph: dict[str, Any], key: str, cycle: str, desc: str, delay: int | None, action: str
) -> None:
    items = upstream(api, graph["project"], graph["sink"][0], PageSize=20)["Items"]
    item = next(i for i in items if i["TaskId"] == graph[key][0])
    assert (item["CycleType"], item["ScheduleDesc"], item["DelayTime"], item["TaskAction"]) == (
        cycle, desc, delay, action
    )
    assert item["InitStrategy"] == "T+0" and item["StartTime"] == "2025-03-01 00:00:00"


def test_upstream_paging(api: Api, graph: dict[str, Any]) -> None:
    project, sink = graph["project"], graph["sink"][0]
    first = upstream(api, project, sink, PageSize=4)
    second = upstream(api, project, sink, PageNumber=2, PageSize=4)
    assert (first["TotalCount"], first["TotalPageNumber"], len(first["Items"])) == (6, 2, 4)
    assert (second["PageNumber"], len(second["Items"])) == (2, 2)
    ids = [i["TaskId"] for i in first["Items"] + second["Items"]]
    expected = {graph[k][0] for k in ("minute", "day", "cron", "hours", "week", "month")}
    assert len(ids) == 6 and set(ids) == expected
    assert upstream(api, project, sink, PageNumber=3, PageSize=4)["Items"] == []
    # Defaults: page 1 of 10.
    default = upstream(api, project, sink)
    assert (default["PageNumber"], default["PageSize"], len(default["Items"])) == (1, 10, 6)


def test_task_without_upstream(api: Api, graph: dict[str, Any]) -> None:
    page = upstream(api, graph["project"], graph["minute"][0])
    assert (page["TotalCount"], page["TotalPageNumber"], page["Items"]) == (0, 0, [])


# ------------------------------------------------------------------------------------------------
# ListDownstreamTasks


def test_downstream(api: Api, graph: dict[str, Any]) -> None:
    project = graph["project"]
    sink_id, sink_name = graph["sink"]
    w1, w1_name = graph["w1"]
    for key in ("minute", "day", "month"):
        page = downstream(api, project, graph[key][0])
        assert (page["TotalCount"], page["TotalPageNumber"]) == (1, 1)
        assert page["Items"] == [
            {
                "TaskId": sink_id,
                "TaskName": sink_name,
                "WorkflowId": w1,
                "WorkflowName": w1_name,
                "ProjectId": project,
                "Status": "N",
                "TaskTypeId": 35,
                "TaskTypeDesc": "Shell",
                "ScheduleDesc": "从2025年02月01日 00:00:00开始,每天00:00执行一次",
                "StartTime": "2025-02-01 00:00:00",
                "EndTime": "2099-12-31 23:59:59",
                "DelayTime": 0,
                "CycleType": "D",
                "OwnerUin": ADMIN_UIN,
                "TaskAction": "",
                "InitStrategy": "T+0",
                "CrontabExpression": "0 0 0 * * ? *",
            }
        ]
    page = downstream(api, project, sink_id)
    assert (page["TotalCount"], page["Items"]) == (0, [])


def test_several_downstream_tasks(api: Api) -> None:
    project = new_project(api)
    workflow, _ = new_workflow(api, project)
    root, _ = create_task(api, project, workflow, {})
    children = {create_task(api, project, workflow, {}, [root])[0] for _ in range(3)}
    page = downstream(api, project, root, PageSize=2)
    rest = downstream(api, project, root, PageSize=2, PageNumber=2)
    assert (page["TotalCount"], page["TotalPageNumber"]) == (3, 2)
    assert {i["TaskId"] for i in page["Items"] + rest["Items"]} == children
    for child in children:
        assert [i["TaskId"] for i in upstream(api, project, child)["Items"]] == [root]


def test_schedule_zone_is_shown_in_utc8(api: Api) -> None:
    project = new_project(api)
    workflow, _ = new_workflow(api, project)
    sched = {"ScheduleTimeZone": "UTC+4", "StartTime": "2025-07-25 00:00:00", "EndTime": "2099-12-31 23:59:59"}
    parent, _ = create_task(api, project, workflow, sched)
    child, _ = create_task(api, project, workflow, {}, [parent])
    item = upstream(api, project, child)["Items"][0]
    # As in the ListUpstreamTasks example: a UTC+4 schedule's period, shown in UTC+8.
    assert (item["StartTime"], item["EndTime"]) == ("2025-07-25 04:00:00", "2100-01-01 03:59:59")


def test_cross_project_upstream(api: Api) -> None:
    home, away = new_project(api), new_project(api)
    (home_wf, _), (away_wf, away_wf_name) = new_workflow(api, home), new_workflow(api, away)
    foreign, _ = create_task(api, away, away_wf, {})
    local, _ = create_task(api, home, home_wf, {}, [foreign])
    item = upstream(api, home, local)["Items"][0]
    assert (item["TaskId"], item["ProjectId"], item["WorkflowName"]) == (foreign, away, away_wf_name)
    assert downstream(api, away, foreign)["Items"][0]["ProjectId"] == home
    # A deleted project's tasks are gone from the lists (count and page agree).
    api.call("DeleteProject", {"ProjectId": away})
    page = upstream(api, home, local)
    assert (page["TotalCount"], page["Items"]) == (0, [])


# ------------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("action", ["ListUpstreamTasks", "ListDownstreamTasks"])
def test_errors(api: Api, server: ServerProcess, graph: dict[str, Any], action: str) -> None:
    project, sink = graph["project"], graph["sink"][0]
    assert api.error(action, {"ProjectId": project, "TaskId": "20000101000000000"}).code == "ResourceNotFound"
    # A task of another project is not found in this one.
    other = new_project(api)
    assert api.error(action, {"ProjectId": other, "TaskId": sink}).code == "ResourceNotFound"
    for paging in ({"PageSize": 0}, {"PageSize": 201}, {"PageNumber": 0}):
        assert api.error(action, {"ProjectId": project, "TaskId": sink, **paging}).code == "InvalidParameterValue"
    assert api.error(action, {"ProjectId": project}, raw=True).code == "MissingParameter"
    assert api.error(action, {"ProjectId": project, "TaskId": sink, "Depth": 2}, raw=True).code == "UnknownParameter"
    assert api.error(action, {"ProjectId": project, "TaskId": 5}, raw=True).code == "InvalidParameterValue"
    outsider = server.new_user()
    err = outsider.error(action, {"ProjectId": project, "TaskId": sink})
    assert err.code == "UnauthorizedOperation.UserNotInProject"


def test_deleted_project(api: Api) -> None:
    project = new_project(api)
    workflow, _ = new_workflow(api, project)
    parent, _ = create_task(api, project, workflow, {})
    child, _ = create_task(api, project, workflow, {}, [parent])
    assert upstream(api, project, child)["TotalCount"] == 1
    api.call("DeleteProject", {"ProjectId": project})
    assert api.error("ListUpstreamTasks", {"ProjectId": project, "TaskId": child}).code == "ResourceNotFound"
    assert api.error("ListDownstreamTasks", {"ProjectId": project, "TaskId": parent}).code == "ResourceNotFound"
