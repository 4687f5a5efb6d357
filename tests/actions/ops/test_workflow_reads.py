"""Production-side workflows through the official SDK, on SQLite and PostgreSQL: GetOpsWorkflow and
ListOpsWorkflows show the workflows that have submitted tasks, with the aggregate status of
those tasks, every filter and sort, and the right codes for bad input and outsiders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.actions.ops.test_task_reads import create_task, set_status, submit
from tests.support import ADMIN_UIN, Api, ServerProcess, unique

WALL = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DETAIL_KEYS = {
    "WorkflowId", "WorkflowDesc", "WorkflowType", "CreateTime", "CreateUserUin", "UpdateTime", "StartupTime",
    "StartTime", "EndTime", "CycleType", "FolderId", "InstanceInitStrategy", "SchedulerDesc", "FirstSubmitTime",
    "LatestSubmitTime", "Status", "OwnerUin", "WorkflowName",
}
ITEM_KEYS = {
    "TaskCount", "FolderName", "FolderId", "WorkflowId", "WorkflowName", "WorkflowType", "WorkflowDesc", "OwnerUin",
    "ProjectId", "ProjectName", "Status", "CreateTime", "UpdateTime", "UpdateUserUin",
}
DAY = {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 30 2 * * ? *"}
UNIFIED = {
    "ScheduleTimeZone": "UTC+8", "CycleType": "DAY_CYCLE", "SelfDepend": "serial",
    "StartTime": "2098-03-01 00:00:00", "EndTime": "2099-12-31 23:59:59", "CrontabExpression": "0 0 0 * * ? *",
}


@dataclass
class Flows:
    project: str
    display: str
    parent: str
    sub: str
    mixed: str  # /parent/sub: a DAY and an HOUR task submitted, one task not; two owners
    mixed_tasks: list[str]
    shared: str  # /: two submitted DAY tasks with one schedule, T_PLUS_1
    shared_tasks: list[str]
    unified: str  # /: a unified workflow schedule, one submitted task
    draft: str  # /: no submitted task
    manual: str  # /: a manual workflow with a submitted task


def workflow(api: Api, project: str, name: str, folder: str = "/", **extra: Any) -> str:
    return str(api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": name, "ParentFolderPath": folder,
                                           **extra})["WorkflowId"])


@pytest.fixture(scope="module")
def flows(api: Api) -> Flows:
    display = unique("运维流")
    project = api.data("CreateProject", {"Project": {"ProjectName": unique("opw"), "DisplayName": display}})[
        "ProjectId"]
    parent_name = unique("f")
    parent = api.data("CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": "/",
                                               "FolderName": parent_name})["FolderId"]
    sub = api.data("CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": f"/{parent_name}",
                                            "FolderName": "sub"})["FolderId"]
    mixed = workflow(api, project, unique("Mixed_Flow"), f"/{parent_name}/sub", OwnerUin=f"{ADMIN_UIN};100000000777",
                     WorkflowDesc="mixed")
    mixed_tasks = [create_task(api, project, mixed, unique("m"), sched=DAY),
                   create_task(api, project, mixed, unique("m"), sched={"CycleType": "HOUR_CYCLE",
                                                                         "CrontabExpression": "0 0 * * * ?"})]
    for t in mixed_tasks:
        submit(api, project, t)
    create_task(api, project, mixed, unique("m"))  # never submitted
    shared = workflow(api, project, unique("shared"))
    shared_tasks = [
        create_task(api, project, shared, unique("s"), sched={**DAY, "InitStrategy": "T_PLUS_1"}),
        create_task(api, project, shared, unique("s"), sched={**DAY, "InitStrategy": "T_PLUS_1",
                                                                 "StartTime": "2098-06-01 00:00:00"}),
    ]
    for t in shared_tasks:
        submit(api, project, t)
    unified = workflow(api, project, unique("unified"), WorkflowSchedulerConfiguration=UNIFIED)
    submit(api, project, create_task(api, project, unified, unique("u")))
    draft = workflow(api, project, unique("draft"))
    create_task(api, project, draft, unique("d"))
    manual = workflow(api, project, unique("manual"), WorkflowType="manual")
    submit(api, project, create_task(api, project, manual, unique("h")))
    return Flows(project, display, parent, sub, mixed, mixed_tasks, shared, shared_tasks, unified, draft, manual)


def listed(api: Api, flows: Flows, **filters: Any) -> list[str]:
    data = api.data("ListOpsWorkflows", {"ProjectId": flows.project, "PageSize": 100, **filters})
    assert data["TotalCount"] == len(data["Items"])
    return [i["WorkflowId"] for i in data["Items"]]


def detail(api: Api, flows: Flows, workflow_id: str) -> dict[str, Any]:
    return dict(api.data("GetOpsWorkflow", {"ProjectId": flows.project, "WorkflowId": workflow_id}))


# ------------------------------------------------------------------------------------------------
# GetOpsWorkflow


def test_get_ops_workflow_with_every_field(api: Api, flows: Flows) -> None:
    d = detail(api, flows, flows.mixed)
    assert set(d) == DETAIL_KEYS
    times = ("CreateTime", "UpdateTime", "FirstSubmitTime", "LatestSubmitTime")
    assert d | dict.fromkeys(times) == {
        "WorkflowId": flows.mixed, "WorkflowDesc": "mixed", "WorkflowType": "cycle", "CreateUserUin": ADMIN_UIN,
        "StartupTime": 0, "FolderId": flows.sub, "InstanceInitStrategy": "T_PLUS_0", "Status": "ALL_RUNNING",
        "OwnerUin": f";{ADMIN_UIN};100000000777;", "WorkflowName": d["WorkflowName"],
        # Its tasks have different schedules: the workflow has none of its own.
        "CycleType": None, "StartTime": None, "EndTime": None, "SchedulerDesc": None,
        **dict.fromkeys(times),
    }
    assert all(WALL.match(d[k]) for k in times)
    assert d["CreateTime"] <= d["FirstSubmitTime"] <= d["LatestSubmitTime"] == d["UpdateTime"]


def test_get_ops_workflow_schedule_from_tasks_or_the_unified_schedule(api: Api, flows: Flows) -> None:
    shared = detail(api, flows, flows.shared)
    assert (shared["CycleType"], shared["StartTime"], shared["EndTime"], shared["SchedulerDesc"],
            shared["InstanceInitStrategy"]) == (
        "DAY_CYCLE", "2098-06-01 00:00:00", "2099-12-31 23:59:59", "每天02:30执行一次", "T_PLUS_1")
    unified = detail(api, flows, flows.unified)
    assert (unified["CycleType"], unified["StartTime"], unified["EndTime"], unified["SchedulerDesc"]) == (
        "DAY_CYCLE", "2098-03-01 00:00:00", "2099-12-31 23:59:59", "每天00:00执行一次")
    assert (unified["FolderId"], unified["OwnerUin"]) == (None, f";{ADMIN_UIN};")


def test_workflows_without_submitted_tasks_are_not_found(api: Api, flows: Flows, server: ServerProcess) -> None:
    for workflow_id in (flows.draft, "29542955-4f93-44dc-9a16-a6a8231f42cd"):
        assert api.error("GetOpsWorkflow", {"ProjectId": flows.project, "WorkflowId": workflow_id}).code == (
            "ResourceNotFound")
    assert api.error("GetOpsWorkflow", {"ProjectId": "1234567890123456789", "WorkflowId": flows.mixed}).code == (
        "ResourceNotFound")
    outsider = server.new_user()
    assert outsider.error("GetOpsWorkflow", {"ProjectId": flows.project, "WorkflowId": flows.mixed}).code == (
        "UnauthorizedOperation.UserNotInProject")
    assert outsider.error("ListOpsWorkflows", {"ProjectId": flows.project}).code == (
        "UnauthorizedOperation.UserNotInProject")
    assert api.error("GetOpsWorkflow", {"ProjectId": flows.project}, raw=True).code == "MissingParameter"
    assert api.error("ListOpsWorkflows", {"ProjectId": flows.project, "Sort": "x"}, raw=True).code == (
        "UnknownParameter")


def test_aggregate_status_of_the_submitted_tasks(api: Api, flows: Flows, server: ServerProcess) -> None:
    project = flows.project
    wf = workflow(api, project, unique("status"))
    a, b = create_task(api, project, wf, unique("a")), create_task(api, project, wf, unique("b"))
    submit(api, project, a)
    submit(api, project, b)
    cases = [
        ({a: "Y", b: "Y"}, "ALL_RUNNING"),
        ({a: "O", b: "O"}, "ALL_FREEZED"),
        ({a: "F", b: "F"}, "ALL_STOPPTED"),
        ({a: "INVALID", b: "INVALID"}, "ALL_INVALID"),
        ({a: "Y", b: "O"}, "PART_RUNNING"),
        ({a: "O", b: "F"}, "ALL_NO_RUNNING"),
        ({a: "T", b: "T"}, "ALL_NO_RUNNING"),
    ]
    for statuses, expected in cases:
        for task_id, status in statuses.items():
            set_status(server, [task_id], status)
        assert detail(api, flows, wf)["Status"] == expected, statuses
        assert wf in listed(api, flows, Status=expected)
        assert wf not in listed(api, flows, Status="ALL_RUNNING" if expected != "ALL_RUNNING" else "ALL_FREEZED")
        if expected == "ALL_STOPPTED":
            assert wf in listed(api, flows, Status="all_stopped")  # the English doc's spelling


# ------------------------------------------------------------------------------------------------
# ListOpsWorkflows


def test_list_ops_workflows_with_every_field(api: Api, flows: Flows) -> None:
    data = api.data("ListOpsWorkflows", {"ProjectId": flows.project, "KeyWord": "mixed_flow"})
    assert (data["TotalCount"], data["TotalPageNumber"], data["PageNumber"], data["PageSize"]) == (1, 1, 1, 10)
    (item,) = data["Items"]
    assert set(item) == ITEM_KEYS
    assert item | {"CreateTime": None, "UpdateTime": None, "WorkflowName": None} == {
        "TaskCount": 2, "FolderName": "sub", "FolderId": flows.sub, "WorkflowId": flows.mixed, "WorkflowName": None,
        "WorkflowType": "cycle", "WorkflowDesc": "mixed", "OwnerUin": f";{ADMIN_UIN};100000000777;",
        "ProjectId": flows.project, "ProjectName": flows.display, "Status": "ALL_RUNNING", "CreateTime": None,
        "UpdateTime": None, "UpdateUserUin": ADMIN_UIN,
    }
    assert WALL.match(item["CreateTime"]) and item["UpdateTime"] == detail(api, flows, flows.mixed)["UpdateTime"]


def test_only_workflows_with_submitted_tasks_and_cycle_ones_by_default(api: Api, flows: Flows) -> None:
    default = listed(api, flows)
    assert {flows.mixed, flows.shared, flows.unified} <= set(default)
    assert flows.draft not in default and flows.manual not in default
    assert listed(api, flows, WorkflowType="Manual") == [flows.manual]
    assert set(listed(api, flows, WorkflowType="cycle")) == set(default)


def test_list_ops_workflows_filters(api: Api, flows: Flows) -> None:
    assert listed(api, flows, FolderId=flows.parent) == [flows.mixed]
    assert listed(api, flows, FolderId=flows.sub) == [flows.mixed]
    assert listed(api, flows, FolderId="e96fc104-c531-11ef-8c70-043f72d4907c") == []
    assert listed(api, flows, OwnerUin="100000000777") == [flows.mixed]
    assert flows.shared in listed(api, flows, OwnerUin=ADMIN_UIN)
    assert listed(api, flows, KeyWord=flows.unified[4:20].upper()) == [flows.unified]
    assert listed(api, flows, KeyWord="MIXED_flow") == [flows.mixed]
    assert listed(api, flows, KeyWord=unique("nothing")) == []
    assert listed(api, flows, CreateUserUin="100000000999") == []
    assert flows.mixed in listed(api, flows, CreateUserUin=ADMIN_UIN)
    assert listed(api, flows, CreateTime="2999-01-01 00:00:00") == []
    assert flows.mixed in listed(api, flows, CreateTime="2000-01-01 00:00:00")
    assert listed(api, flows, ModifyTime="2999-01-01 00:00:00") == []
    assert flows.mixed in listed(api, flows, ModifyTime="2000-01-01 00:00:00")


def test_list_ops_workflows_sorts_and_pages(api: Api, flows: Flows) -> None:
    by_count = api.data("ListOpsWorkflows", {"ProjectId": flows.project, "PageSize": 100, "SortItem": "TaskCount",
                                             "SortType": "ASC"})["Items"]
    counts = [i["TaskCount"] for i in by_count]
    assert counts == sorted(counts) and counts[-1] >= 2
    desc = api.data("ListOpsWorkflows", {"ProjectId": flows.project, "PageSize": 100, "SortItem": "TaskCount",
                                         "SortType": "desc"})["Items"]
    assert [i["TaskCount"] for i in desc] == sorted(counts, reverse=True)
    created = api.data("ListOpsWorkflows", {"ProjectId": flows.project, "PageSize": 100})["Items"]
    assert [i["CreateTime"] for i in created] == sorted((i["CreateTime"] for i in created), reverse=True)
    oldest_first = listed(api, flows, SortItem="CreateTime", SortType="ASC")
    assert oldest_first[0] == flows.mixed
    pages = [api.data("ListOpsWorkflows", {"ProjectId": flows.project, "PageSize": 1, "PageNumber": n,
                                           "SortItem": "CreateTime", "SortType": "ASC"}) for n in (1, 2)]
    assert [p["Items"][0]["WorkflowId"] for p in pages] == oldest_first[:2]
    assert pages[0]["TotalPageNumber"] == len(oldest_first)


@pytest.mark.parametrize(
    "bad",
    [{"Status": "RUNNING"}, {"SortItem": "Name"}, {"SortType": "UP"}, {"WorkflowType": "daily"},
     {"CreateTime": "yesterday"}, {"ModifyTime": "2025-01-01"}, {"PageSize": 0}, {"PageNumber": 0}],
)
def test_list_ops_workflows_bad_filters(api: Api, flows: Flows, bad: dict[str, Any]) -> None:
    assert api.error("ListOpsWorkflows", {"ProjectId": flows.project, **bad}).code == "InvalidParameterValue"
