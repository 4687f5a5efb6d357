"""Production-side task reads through the official SDK, on SQLite and PostgreSQL: GetOpsTask,
GetOpsTaskCode, ListOpsTasks, ListUpstreamOpsTasks, ListDownstreamOpsTasks. They show what was
submitted (not the dev edits made since), only submitted tasks, and answer the right codes for
bad input, unknown ids and outsiders.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, update

from tests.actions.projects.test_resource_groups import new_group
from tests.support import ADMIN_UIN, Api, ServerProcess, unique
from wedata.storage import tables as T

OPS_INFO_KEYS = {
    "TaskId", "TaskName", "OwnerUin", "Status", "FolderId", "FolderName", "WorkflowId", "WorkflowName",
    "ProjectId", "ProjectName", "UpdateUserUin", "TaskTypeId", "TaskTypeDesc", "CycleType", "ExecutorGroupId",
    "ScheduleDesc", "ExecutorGroupName", "LastSchedulerCommitTime", "FirstRunTime", "FirstSubmitTime",
    "CreateTime", "LastUpdateTime",
}
DEPEND_KEYS = {
    "TaskId", "TaskName", "WorkflowId", "WorkflowName", "ProjectId", "ProjectName", "Status", "TaskTypeId",
    "TaskTypeDesc", "FolderName", "FolderId", "FirstSubmitTime", "FirstRunTime", "ScheduleDesc", "CycleType",
    "OwnerUin", "ExecutionStartTime", "ExecutionEndTime",
}
CODE_V1 = "echo héllo ✓"
MISSING_TASK = "19990101000000000"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def set_status(server: ServerProcess, task_ids: list[str], status: str) -> None:
    """Set production statuses straight in the database: the Ops actions that pause or take
    tasks offline are not part of this test's subject (and may not be served yet)."""
    url = server.database_url or f"sqlite:///{server.home / 'wedata.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(update(T.tasks).where(T.tasks.c.id.in_(task_ids)).values(status=status))
    engine.dispose()


def create_task(api: Api, project: str, workflow: str, name: str, *, type_id: str = "35", code: str = "echo",
                conf: dict[str, Any] | None = None, sched: dict[str, Any] | None = None) -> str:
    return str(api.data("CreateTask", {
        "ProjectId": project,
        "TaskBaseAttribute": {"TaskName": name, "TaskTypeId": type_id, "WorkflowId": workflow},
        "TaskConfiguration": {"CodeContent": b64(code), **(conf or {})},
        "TaskSchedulerConfiguration": {"StartTime": "2099-01-01 00:00:00", **(sched or {})},
    })["TaskId"])


def submit(api: Api, project: str, task_id: str) -> None:
    api.data("SubmitTask", {"ProjectId": project, "TaskId": task_id, "VersionRemark": "release"})


@dataclass
class Prod:
    project: str
    display: str
    parent_folder: str
    sub_folder: str
    wf1: str
    wf1_name: str
    wf2: str
    group: str
    group_name: str
    t1: str  # Shell DAY 02:30, submitted, then edited (not resubmitted)
    t1_name: str
    t2: str  # Python HOUR, upstream t1, submitted; its dev dependency removed since
    t3: str  # never submitted, depends on t1 (dev)
    t4: str  # Shell MINUTE in wf2 (root folder), schedule zone UTC+0


@pytest.fixture(scope="module")
def prod(api: Api) -> Prod:
    display = unique("Ops项目")
    project = api.data("CreateProject", {"Project": {"ProjectName": unique("ops"), "DisplayName": display}})[
        "ProjectId"]
    parent_name = unique("f")
    parent = api.data("CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": "/",
                                               "FolderName": parent_name})["FolderId"]
    sub = api.data("CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": f"/{parent_name}",
                                            "FolderName": "sub"})["FolderId"]
    wf1_name = unique("Orders_WF")
    wf1 = api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": wf1_name,
                                      "ParentFolderPath": f"/{parent_name}/sub"})["WorkflowId"]
    wf2 = api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": unique("wf"),
                                      "ParentFolderPath": "/"})["WorkflowId"]
    group_name = unique("rg")
    group = new_group(api, Name=group_name)
    t1_name = unique("t1")
    t1 = create_task(api, project, wf1, t1_name, code=CODE_V1,
                     conf={"ResourceGroup": group, "SourceServiceId": "11;12", "TargetServiceId": "21"},
                     sched={"CycleType": "DAY_CYCLE", "CrontabExpression": "0 30 2 * * ? *"})
    submit(api, project, t1)
    t2 = create_task(api, project, wf1, unique("t2"), type_id="30", code="print(1)", sched={
        "CycleType": "HOUR_CYCLE", "CrontabExpression": "0 0 * * * ?",
        "UpstreamDependencyConfigList": [{"TaskId": t1, "MainCyclicConfig": "DAY"}]})
    submit(api, project, t2)
    t3 = create_task(api, project, wf1, unique("t3"), sched={
        "UpstreamDependencyConfigList": [{"TaskId": t1, "MainCyclicConfig": "DAY"}]})
    t4 = create_task(api, project, wf2, unique("t4"), sched={
        "CycleType": "MINUTE_CYCLE", "CrontabExpression": "0 */5 * * * ?", "ScheduleTimeZone": "UTC+0"})
    submit(api, project, t4)
    # Dev edits after submission: production keeps what was submitted.
    api.data("UpdateTaskPartially", {"ProjectId": project, "TaskId": t1, "NewSetting": {
        "TaskBaseAttribute": {"TaskName": t1_name + "_renamed"},
        "TaskConfiguration": {"CodeContent": b64("echo v2")}}})
    api.data("UpdateTaskPartially", {"ProjectId": project, "TaskId": t2, "FieldToRemoveList": [
        f"TaskSchedulerConfiguration/UpstreamDependencyConfigList:{t1}"]})
    return Prod(project, display, parent, sub, wf1, wf1_name, wf2, group, group_name, t1, t1_name, t2, t3, t4)


def ops_ids(api: Api, prod: Prod, **filters: Any) -> list[str]:
    data = api.data("ListOpsTasks", {"ProjectId": prod.project, "PageSize": "100", **filters})
    assert data["TotalCount"] == len(data["Items"])
    return sorted(i["TaskId"] for i in data["Items"])


# ------------------------------------------------------------------------------------------------
# GetOpsTask / GetOpsTaskCode


def test_get_ops_task_is_the_submitted_version(api: Api, prod: Prod) -> None:
    ops = api.data("GetOpsTask", {"ProjectId": prod.project, "TaskId": prod.t1})
    dev = api.data("GetTask", {"ProjectId": prod.project, "TaskId": prod.t1})
    for part in ("TaskBaseAttribute", "TaskConfiguration", "TaskSchedulerConfiguration"):
        assert set(ops[part]) == set(dev[part]), part
    base, conf, sched = ops["TaskBaseAttribute"], ops["TaskConfiguration"], ops["TaskSchedulerConfiguration"]
    assert base["TaskName"] == prod.t1_name and dev["TaskBaseAttribute"]["TaskName"] == prod.t1_name + "_renamed"
    assert base["Status"] == "Y" and base["OwnerUin"] == ADMIN_UIN
    assert (base["TaskLatestVersionNo"], base["TaskLatestSubmitVersionNo"], base["Submit"]) == ("V2", "V1", False)
    assert conf["CodeContent"] == b64(CODE_V1) and dev["TaskConfiguration"]["CodeContent"] == b64("echo v2")
    assert (conf["ResourceGroup"], conf["ResourceGroupName"]) == (prod.group, prod.group_name)
    assert (sched["CycleType"], sched["CrontabExpression"]) == ("DAY_CYCLE", "0 30 2 * * ? *")
    # Production edges: t2's submitted dependency on t1 stays although its dev edge is gone;
    # t3 depends on t1 only in dev.
    assert sched["UpstreamDependencyConfigList"] == []
    assert [d["TaskId"] for d in sched["DownstreamDependencyConfigList"]] == [prod.t2]
    assert sched["DownStreamDependencyConfigList"] == sched["DownstreamDependencyConfigList"]
    assert {d["TaskId"] for d in dev["TaskSchedulerConfiguration"]["DownstreamDependencyConfigList"]} == {prod.t3}
    up = api.data("GetOpsTask", {"ProjectId": prod.project, "TaskId": prod.t2})["TaskSchedulerConfiguration"]
    assert [(d["TaskId"], d["MainCyclicConfig"]) for d in up["UpstreamDependencyConfigList"]] == [(prod.t1, "DAY")]


def test_get_ops_task_code_is_plain_text_with_its_size_in_bytes(api: Api, prod: Prod) -> None:
    data = api.data("GetOpsTaskCode", {"ProjectId": prod.project, "TaskId": prod.t1})
    assert data == {"CodeContent": CODE_V1, "CodeFileSize": len(CODE_V1.encode())}
    assert data["CodeFileSize"] > len(CODE_V1)  # bytes, not characters


@pytest.mark.parametrize("action", ["GetOpsTask", "GetOpsTaskCode", "ListUpstreamOpsTasks", "ListDownstreamOpsTasks"])
def test_unsubmitted_and_unknown_tasks_are_not_found(api: Api, prod: Prod, action: str) -> None:
    for task_id in (prod.t3, MISSING_TASK):
        assert api.error(action, {"ProjectId": prod.project, "TaskId": task_id}).code == "ResourceNotFound"
    other = api.data("CreateProject", {"Project": {"ProjectName": unique("o"), "DisplayName": "o"}})["ProjectId"]
    # A task of another project is unknown in this one; an unknown project is unknown.
    assert api.error(action, {"ProjectId": other, "TaskId": prod.t1}).code == "ResourceNotFound"
    assert api.error(action, {"ProjectId": "1234567890123456789", "TaskId": prod.t1}).code == "ResourceNotFound"


def test_outsiders_and_malformed_requests(api: Api, prod: Prod, server: ServerProcess) -> None:
    outsider = server.new_user()
    for action in ("GetOpsTask", "GetOpsTaskCode", "ListOpsTasks", "ListUpstreamOpsTasks", "ListDownstreamOpsTasks"):
        params = {"ProjectId": prod.project, "TaskId": prod.t1} if action != "ListOpsTasks" else {
            "ProjectId": prod.project}
        assert outsider.error(action, params).code == "UnauthorizedOperation.UserNotInProject", action
    assert api.error("GetOpsTask", {"ProjectId": prod.project}, raw=True).code == "MissingParameter"
    assert api.error("GetOpsTask", {"ProjectId": prod.project, "TaskId": prod.t1, "Extra": 1}, raw=True).code == (
        "UnknownParameter")
    assert api.error("GetOpsTaskCode", {"ProjectId": prod.project, "TaskId": 5}, raw=True).code == (
        "InvalidParameterValue")
    assert api.error("ListOpsTasks", {"ProjectId": prod.project, "PageSize": [1]}, raw=True).code == (
        "InvalidParameterValue")


# ------------------------------------------------------------------------------------------------
# ListOpsTasks


def test_list_ops_tasks_lists_submitted_tasks_with_every_field(api: Api, prod: Prod) -> None:
    data = api.data("ListOpsTasks", {"ProjectId": prod.project})
    assert (data["TotalCount"], data["TotalPageNumber"], data["PageNumber"], data["PageSize"]) == (3, 1, 1, 10)
    items = {i["TaskId"]: i for i in data["Items"]}
    assert set(items) == {prod.t1, prod.t2, prod.t4}
    assert [i["TaskId"] for i in data["Items"]] == [prod.t4, prod.t2, prod.t1]  # newest first
    t1 = items[prod.t1]
    assert set(t1) == OPS_INFO_KEYS
    times = ("LastSchedulerCommitTime", "FirstSubmitTime", "CreateTime", "LastUpdateTime")
    assert t1 | dict.fromkeys(times) == {
        "TaskId": prod.t1, "TaskName": prod.t1_name, "OwnerUin": ADMIN_UIN, "Status": "Y",
        "FolderId": prod.sub_folder, "FolderName": "sub", "WorkflowId": prod.wf1, "WorkflowName": prod.wf1_name,
        "ProjectId": prod.project, "ProjectName": prod.display, "UpdateUserUin": ADMIN_UIN, "TaskTypeId": 35,
        "TaskTypeDesc": "Shell", "CycleType": "DAY_CYCLE", "ExecutorGroupId": prod.group,
        "ScheduleDesc": "从2099年01月01日 00:00:00开始,每天02:30执行一次(UTC+8)",
        "ExecutorGroupName": prod.group_name, "FirstRunTime": "2099-01-01 00:00:00",
        **dict.fromkeys(times),
    }
    assert t1["FirstSubmitTime"] == t1["LastSchedulerCommitTime"] == t1["LastUpdateTime"]
    assert t1["CreateTime"] <= t1["FirstSubmitTime"]
    t2, t4 = items[prod.t2], items[prod.t4]
    assert (t2["TaskTypeId"], t2["TaskTypeDesc"], t2["CycleType"], t2["ExecutorGroupId"], t2["ExecutorGroupName"]) == (
        30, "Python", "HOUR_CYCLE", None, None)
    assert (t4["FolderId"], t4["FolderName"], t4["CycleType"]) == (None, None, "MINUTE_CYCLE")
    # The task's own zone: 2099-01-01 00:00 at UTC+0 is 08:00 at UTC+8.
    assert t4["FirstRunTime"] == "2099-01-01 08:00:00" and t4["ScheduleDesc"].endswith("(UTC+0)")


def test_list_ops_tasks_renders_times_in_the_requested_zone(api: Api, prod: Prod) -> None:
    def item(**kw: Any) -> dict[str, Any]:
        data = api.data("ListOpsTasks", {"ProjectId": prod.project, "WorkflowId": prod.wf2, **kw})
        return dict(data["Items"][0])

    east, utc = item(), item(TimeZone="UTC+0")
    assert utc["FirstRunTime"] == "2099-01-01 00:00:00" and east["FirstRunTime"] == "2099-01-01 08:00:00"
    for key in ("CreateTime", "FirstSubmitTime", "LastSchedulerCommitTime"):
        assert (int(east[key][11:13]) - int(utc[key][11:13])) % 24 == 8, key


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"TaskTypeId": "30"}, ["t2"]),
        ({"TaskTypeId": "35"}, ["t1", "t4"]),
        ({"WorkflowId": "wf2"}, ["t4"]),
        ({"WorkflowName": "ORDERS_wf"}, ["t1", "t2"]),
        ({"OwnerUin": ADMIN_UIN}, ["t1", "t2", "t4"]),
        ({"OwnerUin": "100000000999"}, []),
        ({"FolderId": "parent"}, ["t1", "t2"]),
        ({"FolderId": "sub"}, ["t1", "t2"]),
        ({"FolderId": "e96fc104-c531-11ef-8c70-043f72d4907c"}, []),
        ({"SourceServiceId": "12"}, ["t1"]),
        ({"SourceServiceId": "1"}, []),
        ({"TargetServiceId": "21"}, ["t1"]),
        ({"ExecutorGroupId": "group"}, ["t1"]),
        ({"CycleType": "HOUR_CYCLE"}, ["t2"]),
        ({"CycleType": "I"}, ["t4"]),
        ({"CycleType": "WEEK_CYCLE"}, []),
        ({"Status": "Y"}, ["t1", "t2", "t4"]),
        ({"Status": "F"}, []),
        ({"TaskTypeId": "35", "CycleType": "DAY_CYCLE", "ExecutorGroupId": "group"}, ["t1"]),
    ],
)
def test_list_ops_tasks_filters(api: Api, prod: Prod, filters: dict[str, str], expected: list[str]) -> None:
    refs = {"wf2": prod.wf2, "parent": prod.parent_folder, "sub": prod.sub_folder, "group": prod.group}
    params = {k: refs.get(v, v) for k, v in filters.items()}
    assert ops_ids(api, prod, **params) == sorted(getattr(prod, name) for name in expected)


def test_list_ops_tasks_pages_with_string_paging(api: Api, prod: Prod) -> None:
    seen: list[str] = []
    for number in ("1", "2", "3"):
        data = api.data("ListOpsTasks", {"ProjectId": prod.project, "PageSize": "1", "PageNumber": number})
        assert (data["TotalCount"], data["TotalPageNumber"], data["PageNumber"], data["PageSize"]) == (
            3, 3, int(number), 1)
        seen += [i["TaskId"] for i in data["Items"]]
    assert sorted(seen) == sorted([prod.t1, prod.t2, prod.t4])
    assert api.data("ListOpsTasks", {"ProjectId": prod.project, "PageSize": "1", "PageNumber": "4"})["Items"] == []
    # Numbers are accepted too (the spec types the paging both ways).
    assert api.raw("ListOpsTasks", {"ProjectId": prod.project, "PageSize": 2, "PageNumber": 1})["Data"]["PageSize"] == 2


@pytest.mark.parametrize(
    "bad",
    [{"Status": "N"}, {"Status": "RUNNING"}, {"CycleType": "DAILY"}, {"TimeZone": "Mars/Olympus"},
     {"PageSize": "0"}, {"PageSize": "201"}, {"PageSize": "ten"}, {"PageNumber": "0"}, {"TaskTypeId": "shell"}],
)
def test_list_ops_tasks_bad_filters(api: Api, prod: Prod, bad: dict[str, str]) -> None:
    assert api.error("ListOpsTasks", {"ProjectId": prod.project, **bad}).code == "InvalidParameterValue"


def test_list_ops_tasks_status_follows_the_production_status(api: Api, prod: Prod, server: ServerProcess) -> None:
    set_status(server, [prod.t4], "O")
    try:
        assert ops_ids(api, prod, Status="O") == [prod.t4]
        assert ops_ids(api, prod, Status="Y") == sorted([prod.t1, prod.t2])
        assert api.data("GetOpsTask", {"ProjectId": prod.project, "TaskId": prod.t4})[
            "TaskBaseAttribute"]["Status"] == "O"
    finally:
        set_status(server, [prod.t4], "Y")


# ------------------------------------------------------------------------------------------------
# ListUpstreamOpsTasks / ListDownstreamOpsTasks


def test_production_dependency_lists(api: Api, prod: Prod) -> None:
    up = api.data("ListUpstreamOpsTasks", {"ProjectId": prod.project, "TaskId": prod.t2})
    assert (up["TotalCount"], up["TotalPageNumber"], up["PageNumber"], up["PageSize"]) == (1, 1, 1, 10)
    (item,) = up["Items"]
    assert set(item) == DEPEND_KEYS
    assert item | {"FirstSubmitTime": None} == {
        "TaskId": prod.t1, "TaskName": prod.t1_name, "WorkflowId": prod.wf1, "WorkflowName": prod.wf1_name,
        "ProjectId": prod.project, "ProjectName": prod.display, "Status": "Y", "TaskTypeId": 35,
        "TaskTypeDesc": "Shell", "FolderName": "sub", "FolderId": prod.sub_folder, "FirstSubmitTime": None,
        "FirstRunTime": "2099-01-01 00:00:00", "ScheduleDesc": "从2099年01月01日 00:00:00开始,每天02:30执行一次",
        "CycleType": "DAY_CYCLE", "OwnerUin": ADMIN_UIN, "ExecutionStartTime": None, "ExecutionEndTime": None,
    }
    assert item["FirstSubmitTime"]
    # The dev side no longer has this edge; production keeps it until t2 is submitted again.
    assert api.data("ListUpstreamTasks", {"ProjectId": prod.project, "TaskId": prod.t2})["Items"] == []
    down = api.data("ListDownstreamOpsTasks", {"ProjectId": prod.project, "TaskId": prod.t1, "PageSize": "5"})
    assert [(d["TaskId"], d["CycleType"], d["ExecutionStartTime"], d["ExecutionEndTime"]) for d in down["Items"]] == [
        (prod.t2, "HOUR_CYCLE", "00:00", "23:59")]
    assert (down["TotalCount"], down["PageSize"]) == (1, 5)
    none = api.data("ListUpstreamOpsTasks", {"ProjectId": prod.project, "TaskId": prod.t1})
    assert (none["TotalCount"], none["TotalPageNumber"], none["Items"]) == (0, 0, [])
    assert api.error("ListDownstreamOpsTasks", {"ProjectId": prod.project, "TaskId": prod.t1,
                                                "PageSize": "0"}).code == "InvalidParameterValue"


def test_resubmitting_updates_the_production_lists(api: Api, prod: Prod) -> None:
    x = create_task(api, prod.project, prod.wf2, unique("x"))
    submit(api, prod.project, x)
    y = create_task(api, prod.project, prod.wf2, unique("y"), sched={
        "UpstreamDependencyConfigList": [{"TaskId": x, "MainCyclicConfig": "DAY"}]})
    # Not submitted yet: x has no production downstream, y is no Ops task.
    assert api.data("ListDownstreamOpsTasks", {"ProjectId": prod.project, "TaskId": x})["Items"] == []
    submit(api, prod.project, y)
    assert [d["TaskId"] for d in api.data("ListDownstreamOpsTasks", {"ProjectId": prod.project,
                                                                      "TaskId": x})["Items"]] == [y]
    api.data("UpdateTaskPartially", {"ProjectId": prod.project, "TaskId": y, "FieldToRemoveList": [
        f"TaskSchedulerConfiguration/UpstreamDependencyConfigList:{x}"]})
    submit(api, prod.project, y)
    assert api.data("ListUpstreamOpsTasks", {"ProjectId": prod.project, "TaskId": y})["Items"] == []


def test_workflow_scheduling_projects_have_no_production_dependency_lists(api: Api) -> None:
    project = api.data("CreateProject", {"Project": {"ProjectName": unique("wfm"), "DisplayName": "wfm",
                                                     "ScheduleMode": "workflow"}})["ProjectId"]
    # Since trigger workflows own workflow-scheduling projects (issue 11), periodic workflows and
    # tasks cannot be created there (UnsupportedOperation naming the ScheduleMode), so the tasks
    # of such a project are trigger tasks: the periodic production lists do not serve them.
    err = api.error("CreateWorkflow", {"ProjectId": project, "WorkflowName": unique("wf"), "ParentFolderPath": "/"})
    assert err.code == "UnsupportedOperation" and "ScheduleMode" in err.message
    workflow = api.data("CreateTriggerWorkflow", {"ProjectId": project, "WorkflowName": unique("wf"),
                                                  "ParentFolderPath": "/"})["WorkflowId"]
    task = api.data("CreateTriggerTask", {
        "ProjectId": project, "TriggerTaskBaseAttribute": {"TaskName": unique("t"), "TaskTypeId": "35",
                                                           "WorkflowId": workflow},
        "TriggerTaskConfiguration": {"CodeContent": "ZWNobw=="}, "TriggerTaskSchedulerConfiguration": {}})["TaskId"]
    api.data("SubmitTriggerTask", {"ProjectId": project, "TaskId": task, "VersionRemark": "go"})
    for action in ("ListUpstreamOpsTasks", "ListDownstreamOpsTasks"):
        assert api.error(action, {"ProjectId": project, "TaskId": task}).code == "ResourceNotFound"


def test_other_resources_show_their_current_names(api: Api, prod: Prod) -> None:
    renamed = unique("renamed_wf")
    api.data("UpdateWorkflow", {"ProjectId": prod.project, "WorkflowId": prod.wf2, "WorkflowName": renamed})
    base = api.data("GetOpsTask", {"ProjectId": prod.project, "TaskId": prod.t4})["TaskBaseAttribute"]
    assert base["WorkflowName"] == renamed
    items = api.data("ListOpsTasks", {"ProjectId": prod.project, "WorkflowId": prod.wf2})["Items"]
    assert prod.t4 in {i["TaskId"] for i in items} and {i["WorkflowName"] for i in items} == {renamed}
