"""ListTasks through the official SDK: every filter, paging, and bad values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.actions.tasks.test_tasks import BASE_KEYS, Space, create, new_space
from tests.support import ADMIN_UIN, Api, unique


def fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture(scope="module")
def world(api: Api) -> dict[str, Any]:
    """Two workflows (one in a workflow folder), task folders, and four tasks of four types."""
    first = new_space(api)
    project = first.project
    wf_dir = unique("wfd")
    api.call("CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": "/", "FolderName": wf_dir})
    api.call("CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": f"/{wf_dir}", "FolderName": "deep"})
    second_name = unique("wf2")
    second = api.data(
        "CreateWorkflow", {"ProjectId": project, "WorkflowName": second_name, "ParentFolderPath": f"/{wf_dir}/deep"}
    )["WorkflowId"]
    for parent, name in (("/", "f1"), ("/f1", "sub"), ("/", "f10")):
        api.call("CreateTaskFolder", {"ProjectId": project, "WorkflowId": first.workflow,
                                      "ParentTaskFolderPath": parent, "TaskFolderName": name,
                                      "TaskFolderType": "GENERAL"})
    other = Space(project, second, second_name)
    prefix = unique("lt")
    tasks = {
        "shell": create(api, first, f"{prefix}_shell", base={"TaskFolderPath": "/f1", "OwnerUin": "111"}),
        "python": create(api, first, f"{prefix}_Python", type_id="30", base={"TaskFolderPath": "/f1/sub"}),
        "hive": create(api, other, f"{prefix}_hive", type_id="34", conf={"BundleId": "bundle-1"},
                       base={"OwnerUin": "222"}),
        # A dry run (ScheduleType 1): the engine cannot run DLC SQL, but a dry run may be submitted.
        "dlc": create(api, other, f"{prefix}_dlc", type_id="32", sched={"ScheduleType": 1}),
        "f10": create(api, first, f"{prefix}_f10", base={"TaskFolderPath": "/f10"}),
    }
    api.call("SubmitTask", {"ProjectId": project, "TaskId": tasks["python"], "VersionRemark": "go"})
    api.call("SubmitTask", {"ProjectId": project, "TaskId": tasks["dlc"], "VersionRemark": "go"})
    api.call("UpdateTaskPartially", {"ProjectId": project, "TaskId": tasks["dlc"],
                                     "NewSetting": {"TaskBaseAttribute": {"TaskDescription": "edited"}}})
    return {"project": project, "first": first, "second": second, "wf_dir": wf_dir, "tasks": tasks, "prefix": prefix}


def ids(api: Api, world: dict[str, Any], **filters: Any) -> set[str]:
    data = api.raw("ListTasks", {"ProjectId": world["project"], "PageSize": 200, **filters})["Data"]
    assert data["TotalCount"] == len(data["Items"])
    by_id = {v: k for k, v in world["tasks"].items()}
    return {by_id[i["TaskId"]] for i in data["Items"]}


ALL = {"shell", "python", "hive", "dlc", "f10"}


def test_list_items_have_every_field(api: Api, world: dict[str, Any]) -> None:
    data = api.raw("ListTasks", {"ProjectId": world["project"], "TaskName": world["prefix"] + "_shell"})["Data"]
    assert set(data) == {"Items", "PageNumber", "PageSize", "TotalCount", "TotalPageNumber"}
    (item,) = data["Items"]
    assert set(item) == BASE_KEYS
    assert item["TaskId"] == world["tasks"]["shell"] and item["WorkflowName"] == world["first"].workflow_name
    assert (item["TaskTypeId"], item["OwnerUin"], item["TaskFolderPath"], item["TaskLatestVersionNo"]) == (
        35, "111", "/f1", "V1",
    )
    assert (data["PageNumber"], data["PageSize"], data["TotalCount"], data["TotalPageNumber"]) == (1, 10, 1, 1)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ALL),
        ({"TaskName": "PYTHON"}, {"python"}),  # a case-insensitive substring
        ({"TaskName": "_"}, ALL),
        ({"OwnerUin": "222"}, {"hive"}),
        ({"TaskTypeId": 34}, {"hive"}),
        ({"Status": "Y"}, {"python", "dlc"}),
        ({"Status": "N"}, {"shell", "hive", "f10"}),
        ({"Submit": True}, {"python"}),
        ({"Submit": False}, {"shell", "hive", "dlc", "f10"}),
        ({"BundleId": "bundle-1"}, {"hive"}),
        ({"CreateUserUin": ADMIN_UIN}, ALL),
        ({"CreateUserUin": "1"}, set()),
        ({"TaskFolderPathList": ["/f1"]}, {"shell", "python"}),  # with its sub-folders, not /f10
        ({"TaskFolderPathList": ["/f1/sub"]}, {"python"}),
        ({"TaskFolderPathList": ["/f1/sub", "/f10"]}, {"python", "f10"}),
        ({"TaskFolderPathList": ["/"]}, ALL),
        ({"TaskNodeTypeList": ["EMR"]}, {"hive"}),
        ({"TaskNodeTypeList": ["GENERAL"]}, {"shell", "python", "f10"}),
        ({"TaskNodeTypeList": ["DLC", "EMR"]}, {"hive", "dlc"}),
        ({"TaskNodeTypeList": ["DATA_QUALITY"]}, set()),
        ({"TaskNodeTypeList": ["GENERAL"], "Status": "Y"}, {"python"}),
    ],
)
def test_list_filters(api: Api, world: dict[str, Any], filters: dict[str, Any], expected: set[str]) -> None:
    assert ids(api, world, **filters) == expected


def test_list_workflow_filters(api: Api, world: dict[str, Any]) -> None:
    assert ids(api, world, WorkflowId=world["second"]) == {"hive", "dlc"}
    assert ids(api, world, WorkflowId=world["first"].workflow) == {"shell", "python", "f10"}
    assert ids(api, world, WorkflowFolderPathList=[f"/{world['wf_dir']}"]) == {"hive", "dlc"}  # recursive
    assert ids(api, world, WorkflowFolderPathList=[f"/{world['wf_dir']}/deep"]) == {"hive", "dlc"}
    assert ids(api, world, WorkflowFolderPathList=["/"]) == ALL
    assert ids(api, world, WorkflowFolderPathList=[f"/{world['wf_dir']}x"]) == set()


def test_list_time_ranges(api: Api, world: dict[str, Any]) -> None:
    now = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=8)  # the ranges are in UTC+8
    around = [fmt(now - timedelta(hours=1)), fmt(now + timedelta(hours=1))]
    past = [fmt(now - timedelta(days=3)), fmt(now - timedelta(days=2))]
    assert ids(api, world, CreateTime=around) == ALL
    assert ids(api, world, CreateTime=past) == set()
    assert ids(api, world, ModifyTime=around) == ALL
    assert ids(api, world, ModifyTime=past) == set()


def test_list_paging(api: Api) -> None:
    space: Space = new_space(api)
    prefix = unique("pg")
    made = [create(api, space, f"{prefix}_{i:02d}") for i in range(11)]
    page1 = api.data("ListTasks", {"ProjectId": space.project, "TaskName": prefix})
    page2 = api.data("ListTasks", {"ProjectId": space.project, "TaskName": prefix, "PageNumber": 2, "PageSize": 10})
    assert (page1["TotalCount"], page1["TotalPageNumber"], len(page1["Items"])) == (11, 2, 10)
    assert len(page2["Items"]) == 1 and page2["PageNumber"] == 2
    listed = [i["TaskId"] for i in page1["Items"] + page2["Items"]]
    assert listed == list(reversed(made))  # newest first
    page3 = api.data("ListTasks", {"ProjectId": space.project, "TaskName": prefix, "PageNumber": 3})
    assert page3["Items"] == [] and page3["TotalCount"] == 11


@pytest.mark.parametrize(
    "params",
    [
        {"PageSize": 5},
        {"PageSize": 201},
        {"PageNumber": 0},
        {"Status": "D"},
        {"TaskNodeTypeList": ["SPACE"]},
        {"TaskFolderPathList": ["f1"]},
        {"WorkflowFolderPathList": ["a/b"]},
        {"CreateTime": ["2025-01-01 00:00:00"]},
        {"ModifyTime": ["2025-01-02 00:00:00", "2025-01-01 00:00:00"]},
        {"ModifyTime": ["yesterday", "today"]},
    ],
)
def test_list_bad_values(api: Api, world: dict[str, Any], params: dict[str, Any]) -> None:
    err = api.error("ListTasks", {"ProjectId": world["project"], **params})
    assert err.code == "InvalidParameterValue", params


def test_list_wrong_types_and_unknown_project(api: Api, world: dict[str, Any]) -> None:
    err = api.error("ListTasks", {"ProjectId": world["project"], "Submit": "maybe"}, raw=True)
    assert err.code == "InvalidParameterValue"
    err = api.error("ListTasks", {"ProjectId": world["project"], "Folder": "/"}, raw=True)
    assert err.code == "UnknownParameter"
    assert api.error("ListTasks", {"ProjectId": "1234567890123456789"}).code == "ResourceNotFound"
    assert api.error("ListTasks", {}, raw=True).code == "MissingParameter"


def test_the_bundle_filter_follows_each_save_and_a_too_long_bundle_is_refused(api: Api, world: dict[str, Any]) -> None:
    """BundleId is a column kept with the definition (migration 0025_list_filters): an update
    moves the task between bundles, and a BundleId past 256 characters is refused, naming the
    field, with nothing saved."""
    space = world["first"]
    task = create(api, space, unique("bdl"), conf={"BundleId": "bundle-a"})

    def bundle(name: str) -> set[str]:
        data = api.raw("ListTasks", {"ProjectId": world["project"], "BundleId": name, "PageSize": 50})["Data"]
        return {i["TaskId"] for i in data["Items"]}

    assert bundle("bundle-a") == {task}
    api.call("UpdateTaskPartially", {"ProjectId": world["project"], "TaskId": task,
                                     "NewSetting": {"TaskConfiguration": {"BundleId": "bundle-b"}}})
    assert bundle("bundle-a") == set() and bundle("bundle-b") == {task}
    exc = api.error("UpdateTaskPartially", {"ProjectId": world["project"], "TaskId": task,
                                            "NewSetting": {"TaskConfiguration": {"BundleId": "b" * 257}}})
    assert exc.code == "InvalidParameterValue" and "TaskConfiguration.BundleId" in exc.message, exc.message
    assert "256" in exc.message
    assert bundle("bundle-b") == {task}
    got = api.raw("GetTask", {"ProjectId": world["project"], "TaskId": task})["Data"]
    assert got["TaskConfiguration"]["BundleId"] == "bundle-b"
    api.call("UpdateTaskPartially", {"ProjectId": world["project"], "TaskId": task,
                                     "NewSetting": {"TaskConfiguration": {"BundleId": "b" * 256}}})
    assert bundle("b" * 256) == {task} and bundle("bundle-b") == set()


def test_the_name_search_follows_a_rename_in_any_case(api: Api, world: dict[str, Any]) -> None:
    """TaskName searches the name as the database keeps it lowered (tasks.name_folded, a generated
    column, 0036_name_folded): a rename moves the task from the old name's search to the new one's,
    whatever the case of the name or the word."""
    space = world["first"]
    old, new = unique("OldName"), unique("NewName")
    task = create(api, space, old)

    def named(word: str) -> set[str]:
        data = api.raw("ListTasks", {"ProjectId": world["project"], "TaskName": word, "PageSize": 50})["Data"]
        assert data["TotalCount"] == len(data["Items"])
        return {i["TaskId"] for i in data["Items"]}

    assert named(old.lower()) == {task} and named(old.upper()) == {task}
    api.call("UpdateTaskPartially", {"ProjectId": world["project"], "TaskId": task,
                                     "NewSetting": {"TaskBaseAttribute": {"TaskName": new}}})
    assert named(old) == set() and named(old.lower()) == set()
    assert named(new.upper()) == {task} and named(new[3:-2].lower()) == {task}
    assert api.raw("GetTask", {"ProjectId": world["project"], "TaskId": task})["Data"]["TaskBaseAttribute"]["TaskName"] == new
