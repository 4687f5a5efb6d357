"""Workflows and workflow folders through the official SDK, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import ADMIN_UIN, Api, ServerProcess, unique

SCHEDULE = {
    "ScheduleTimeZone": "UTC+8",
    "CycleType": "DAY_CYCLE",
    "SelfDepend": "orderly",
    "StartTime": "2025-01-01 00:00:00",
    "EndTime": "2099-12-31 23:59:59",
    "CrontabExpression": "0 30 2 * * ?",
}
DETAIL_KEYS = {
    "WorkflowName",
    "OwnerUin",
    "CreateUserUin",
    "WorkflowType",
    "WorkflowParams",
    "WorkflowSchedulerConfiguration",
    "WorkflowDesc",
    "Path",
    "BundleId",
    "BundleInfo",
}
SCHEDULE_KEYS = {
    "ScheduleTimeZone",
    "CycleType",
    "SelfDepend",
    "StartTime",
    "EndTime",
    "DependencyWorkflow",
    "ExecutionStartTime",
    "ExecutionEndTime",
    "CrontabExpression",
    "CalendarOpen",
    "CalendarName",
    "CalendarId",
    "MinuteOffset",
}
INFO_KEYS = {
    "WorkflowId",
    "WorkflowName",
    "WorkflowType",
    "OwnerUin",
    "CreateTime",
    "ModifyTime",
    "UpdateUserUin",
    "WorkflowDesc",
    "CreateUserUin",
}
WALL = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MISSING_WORKFLOW = "00000000-0000-4000-8000-000000000000"
DATA_ENGINEER = "308335260676890624"  # a project role id (ListProjectRoles)


def new_project(api: Api) -> str:
    data = api.data("CreateProject", {"Project": {"ProjectName": unique("wfp"), "DisplayName": "workflows"}})
    return str(data["ProjectId"])


def mkdir(api: Api, project: str, parent: str, name: str) -> str:
    data = api.data(
        "CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": parent, "FolderName": name}
    )
    assert UUID.match(data["FolderId"])
    return str(data["FolderId"])


def create(api: Api, project: str, name: str, folder: str = "/", **extra: Any) -> str:
    params = {"ProjectId": project, "WorkflowName": name, "ParentFolderPath": folder, **extra}
    workflow_id = api.data("CreateWorkflow", params)["WorkflowId"]
    assert UUID.match(workflow_id)
    return str(workflow_id)


def get(api: Api, project: str, workflow_id: str) -> dict[str, Any]:
    data: dict[str, Any] = api.data("GetWorkflow", {"ProjectId": project, "WorkflowId": workflow_id})
    return data


def folder(api: Api, project: str, folder_id: str) -> dict[str, Any]:
    data: dict[str, Any] = api.data("GetWorkflowFolder", {"ProjectId": project, "FolderId": folder_id})
    return data


def children(api: Api, project: str, parent: str) -> list[str]:
    data = api.data(
        "ListWorkflowFolders", {"ProjectId": project, "ParentFolderPath": parent, "PageSize": 200}
    )
    return [item["FolderPath"] for item in data["Items"]]


def listing(api: Api, project: str, **filters: Any) -> dict[str, Any]:
    data: dict[str, Any] = api.data("ListWorkflows", {"ProjectId": project, "PageSize": 200, **filters})
    return data


def names(api: Api, project: str, **filters: Any) -> list[str]:
    return sorted(item["WorkflowName"] for item in listing(api, project, **filters)["Items"])


def code(api: Api, action: str, params: dict[str, Any], *, raw: bool = False) -> str:
    return str(api.error(action, params, raw=raw).code)


@pytest.fixture(scope="module")
def project(api: Api) -> str:
    return new_project(api)


# ----------------------------------------------------------------------------------------------
# Folders.


def test_create_get_and_list_folders(api: Api) -> None:
    project = new_project(api)
    a = mkdir(api, project, "/", "默认文件夹")
    b = mkdir(api, project, "/默认文件夹", "sub")
    c = mkdir(api, project, "/默认文件夹/sub", "child")
    mkdir(api, project, "/", "another")

    assert folder(api, project, c) == {
        "ProjectId": project,
        "FolderId": c,
        "FolderPath": "/默认文件夹/sub/child",
        "CreateUserUin": ADMIN_UIN,
        "ParentFolderPath": "/默认文件夹/sub",
        "FolderName": "child",
    }
    assert folder(api, project, a)["ParentFolderPath"] == "/"
    # Direct children only, by name.
    assert children(api, project, "/") == ["/another", "/默认文件夹"]
    assert children(api, project, "/默认文件夹") == ["/默认文件夹/sub"]
    assert children(api, project, "/默认文件夹/sub/child") == []
    page = api.data("ListWorkflowFolders", {"ProjectId": project, "ParentFolderPath": "/默认文件夹"})
    assert page == {
        "PageNumber": 1,
        "PageSize": 10,
        "TotalCount": 1,
        "TotalPageNumber": 1,
        "Items": [
            {"ProjectId": project, "FolderId": b, "FolderPath": "/默认文件夹/sub", "CreateUserUin": ADMIN_UIN}
        ],
    }


def test_folder_paging(api: Api) -> None:
    project = new_project(api)
    made = sorted(f"/f{i:02d}" for i in range(12))
    for path in made:
        mkdir(api, project, "/", path[1:])
    first = api.data("ListWorkflowFolders", {"ProjectId": project, "ParentFolderPath": "/", "PageSize": 10})
    second = api.data(
        "ListWorkflowFolders",
        {"ProjectId": project, "ParentFolderPath": "/", "PageSize": 10, "PageNumber": 2},
    )
    assert (first["TotalCount"], first["TotalPageNumber"], second["PageNumber"]) == (12, 2, 2)
    assert [i["FolderPath"] for i in first["Items"] + second["Items"]] == made
    for bad in ({"PageSize": 9}, {"PageSize": 201}, {"PageNumber": 0}):
        params = {"ProjectId": project, "ParentFolderPath": "/", **bad}
        assert code(api, "ListWorkflowFolders", params) == "InvalidParameterValue"


def test_bad_folder_input_changes_nothing(api: Api) -> None:
    project = new_project(api)
    mkdir(api, project, "/", "a")
    mkdir(api, project, "/a", "b")
    before = (children(api, project, "/"), children(api, project, "/a"))
    for parent in ("a", "a/b", "/a//b", "/a/", "//", "", " /a", "/a/./b"):
        params = {"ProjectId": project, "ParentFolderPath": parent, "FolderName": "x"}
        assert code(api, "CreateWorkflowFolder", params) == "InvalidParameterValue", parent
    for name in ("", " ", "x/y", "/", ".", "..", " x", "x ", "a\tb", "n" * 129):
        params = {"ProjectId": project, "ParentFolderPath": "/a", "FolderName": name}
        assert code(api, "CreateWorkflowFolder", params) == "InvalidParameterValue", name
    # The parent must exist; the name must be free among its siblings.
    assert (
        code(
            api,
            "CreateWorkflowFolder",
            {"ProjectId": project, "ParentFolderPath": "/nope", "FolderName": "x"},
        )
        == "ResourceNotFound"
    )
    assert (
        code(
            api,
            "CreateWorkflowFolder",
            {"ProjectId": project, "ParentFolderPath": "/a/b/c", "FolderName": "x"},
        )
        == "ResourceNotFound"
    )
    assert (
        code(api, "CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": "/", "FolderName": "a"})
        == "InvalidParameter.DuplicateName"
    )
    assert (
        code(api, "CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": "/a", "FolderName": "b"})
        == "InvalidParameter.DuplicateName"
    )
    # Wire-level checks: an extra field, a missing one, a wrong type.
    good = {"ProjectId": project, "ParentFolderPath": "/", "FolderName": "x"}
    assert code(api, "CreateWorkflowFolder", {**good, "FolderPath": "/x"}, raw=True) == "UnknownParameter"
    assert (
        code(api, "CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": "/"}, raw=True)
        == "MissingParameter"
    )
    assert code(api, "CreateWorkflowFolder", {**good, "FolderName": 7}, raw=True) == "InvalidParameterValue"
    assert (children(api, project, "/"), children(api, project, "/a")) == before
    # Unknown ids and paths.
    assert (
        code(api, "GetWorkflowFolder", {"ProjectId": project, "FolderId": MISSING_WORKFLOW})
        == "ResourceNotFound"
    )
    assert (
        code(api, "ListWorkflowFolders", {"ProjectId": project, "ParentFolderPath": "/nope"})
        == "ResourceNotFound"
    )
    assert (
        code(api, "ListWorkflowFolders", {"ProjectId": project, "ParentFolderPath": "a"})
        == "InvalidParameterValue"
    )
    assert (
        code(
            api,
            "UpdateWorkflowFolder",
            {"ProjectId": project, "FolderId": MISSING_WORKFLOW, "FolderName": "z"},
        )
        == "ResourceNotFound"
    )
    assert (
        code(api, "DeleteWorkflowFolder", {"ProjectId": project, "FolderId": MISSING_WORKFLOW})
        == "ResourceNotFound"
    )


def test_folder_ids_are_scoped_to_their_project(api: Api) -> None:
    one, two = new_project(api), new_project(api)
    fid = mkdir(api, one, "/", "mine")
    mkdir(api, two, "/", "mine")  # the same path in another project is fine
    assert code(api, "GetWorkflowFolder", {"ProjectId": two, "FolderId": fid}) == "ResourceNotFound"
    assert code(api, "DeleteWorkflowFolder", {"ProjectId": two, "FolderId": fid}) == "ResourceNotFound"
    assert (
        code(api, "UpdateWorkflowFolder", {"ProjectId": two, "FolderId": fid, "FolderName": "x"})
        == "ResourceNotFound"
    )
    assert folder(api, one, fid)["FolderPath"] == "/mine"


def test_rename_folder_moves_its_subtree(api: Api) -> None:
    project = new_project(api)
    r = mkdir(api, project, "/", "r_x")
    s = mkdir(api, project, "/r_x", "s")
    t = mkdir(api, project, "/r_x/s", "t")
    # Look-alikes that a careless prefix match (LIKE 'r_x%') would catch.
    other = mkdir(api, project, "/", "rax")
    other_child = mkdir(api, project, "/rax", "s")
    sibling = mkdir(api, project, "/", "r_x2")
    wf_s = create(api, project, unique("wf"), "/r_x/s")
    wf_r = create(api, project, unique("wf"), "/r_x")
    wf_other = create(api, project, unique("wf"), "/rax/s")

    rename = {"ProjectId": project, "FolderId": r, "FolderName": "renamed"}
    assert api.data("UpdateWorkflowFolder", rename) == {"Status": True}
    assert folder(api, project, r)["FolderPath"] == "/renamed"
    assert folder(api, project, r)["FolderName"] == "renamed"
    assert folder(api, project, s) | {"FolderId": None} == {
        "ProjectId": project,
        "FolderId": None,
        "FolderPath": "/renamed/s",
        "CreateUserUin": ADMIN_UIN,
        "ParentFolderPath": "/renamed",
        "FolderName": "s",
    }
    assert (folder(api, project, t)["FolderPath"], folder(api, project, t)["ParentFolderPath"]) == (
        "/renamed/s/t",
        "/renamed/s",
    )
    assert get(api, project, wf_s)["Path"].startswith("/renamed/s/")
    assert get(api, project, wf_r)["Path"].startswith("/renamed/")
    assert children(api, project, "/renamed/s") == ["/renamed/s/t"]
    assert (
        code(api, "ListWorkflowFolders", {"ProjectId": project, "ParentFolderPath": "/r_x"})
        == "ResourceNotFound"
    )
    assert [i["WorkflowId"] for i in listing(api, project, ParentFolderPath="/renamed/s")["Items"]] == [wf_s]
    assert listing(api, project, ParentFolderPath="/r_x/s")["TotalCount"] == 0
    # The look-alikes did not move.
    assert folder(api, project, other)["FolderPath"] == "/rax"
    assert folder(api, project, other_child)["FolderPath"] == "/rax/s"
    assert folder(api, project, sibling)["FolderPath"] == "/r_x2"
    assert get(api, project, wf_other)["Path"].startswith("/rax/s/")

    # Renaming onto a sibling's name is refused and changes nothing; the same name is a no-op.
    before = children(api, project, "/")
    assert (
        code(api, "UpdateWorkflowFolder", {**rename, "FolderName": "rax"}) == "InvalidParameter.DuplicateName"
    )
    assert code(api, "UpdateWorkflowFolder", {**rename, "FolderName": "a/b"}) == "InvalidParameterValue"
    assert code(api, "UpdateWorkflowFolder", {**rename, "FolderName": ""}) == "InvalidParameterValue"
    assert api.data("UpdateWorkflowFolder", rename) == {"Status": True}
    assert children(api, project, "/") == before
    assert folder(api, project, t)["FolderPath"] == "/renamed/s/t"
    # A nested folder renames in place.
    assert api.data("UpdateWorkflowFolder", {"ProjectId": project, "FolderId": s, "FolderName": "s2"}) == {
        "Status": True
    }
    assert folder(api, project, t)["FolderPath"] == "/renamed/s2/t"
    assert get(api, project, wf_s)["Path"].startswith("/renamed/s2/")


def test_delete_folder_only_when_empty(api: Api) -> None:
    project = new_project(api)
    top = mkdir(api, project, "/", "top")
    sub = mkdir(api, project, "/top", "sub")
    wf = create(api, project, unique("wf"), "/top/sub")

    err = api.error("DeleteWorkflowFolder", {"ProjectId": project, "FolderId": top})
    assert err.code == "FailedOperation" and "not empty" in err.message and "1 sub-folder" in err.message
    err = api.error("DeleteWorkflowFolder", {"ProjectId": project, "FolderId": sub})
    assert err.code == "FailedOperation" and "1 workflow" in err.message
    assert children(api, project, "/top") == ["/top/sub"]

    assert api.data("DeleteWorkflow", {"ProjectId": project, "WorkflowId": wf}) == {"Status": True}
    assert api.data("DeleteWorkflowFolder", {"ProjectId": project, "FolderId": sub}) == {"Status": True}
    assert code(api, "GetWorkflowFolder", {"ProjectId": project, "FolderId": sub}) == "ResourceNotFound"
    assert code(api, "DeleteWorkflowFolder", {"ProjectId": project, "FolderId": sub}) == "ResourceNotFound"
    assert api.data("DeleteWorkflowFolder", {"ProjectId": project, "FolderId": top}) == {"Status": True}
    assert children(api, project, "/") == []
    # The path is free again.
    mkdir(api, project, "/", "top")


# ----------------------------------------------------------------------------------------------
# Workflows.


def test_create_and_get_workflow_with_defaults(api: Api, project: str) -> None:
    name = unique("wf")
    wf = create(api, project, name)
    detail = get(api, project, wf)
    assert set(detail) == DETAIL_KEYS
    assert detail == {
        "WorkflowName": name,
        "OwnerUin": ADMIN_UIN,
        "CreateUserUin": ADMIN_UIN,
        "WorkflowType": "cycle",
        "WorkflowParams": [],
        "WorkflowSchedulerConfiguration": None,
        "WorkflowDesc": "",
        "Path": "/" + name,
        "BundleId": None,
        "BundleInfo": None,
    }


def test_create_and_get_workflow_with_every_field(api: Api, project: str) -> None:
    parent = unique("dir")
    mkdir(api, project, "/", parent)
    name = unique("映射场景")
    schedule = {
        "ScheduleTimeZone": "UTC+8",
        "CycleType": "MINUTE_CYCLE",
        "SelfDepend": "parallel",
        "StartTime": "2025-09-11 00:00:00",
        "EndTime": "2099-12-31 23:59:59",
        "CrontabExpression": "0 */5 * * * ?",
        "DependencyWorkflow": "yes",
        "ModifyCycleValue": "1",
        "ClearLink": True,
        "MainCyclicConfig": "HOUR",
        "SubordinateCyclicConfig": "CURRENT_HOUR",
        "ExecutionStartTime": "08:00",
        "ExecutionEndTime": "20:30",
        "CalendarOpen": "1",
        "CalendarId": "105",
        "MinuteOffset": 3,
    }
    wf = create(
        api,
        project,
        name,
        "/" + parent,
        WorkflowType="cycle",
        WorkflowDesc="描述",
        OwnerUin="100028579606",
        WorkflowParams=[
            {"ParamKey": "bizdate", "ParamValue": "${yyyyMMdd}"},
            {"ParamKey": "n", "ParamValue": ""},
        ],
        WorkflowSchedulerConfiguration=schedule,
        BundleId="b-1",
        BundleInfo='{"k": 1}',
    )
    detail = get(api, project, wf)
    assert detail == {
        "WorkflowName": name,
        "OwnerUin": "100028579606",
        "CreateUserUin": ADMIN_UIN,
        "WorkflowType": "cycle",
        "WorkflowParams": [
            {"ParamKey": "bizdate", "ParamValue": "${yyyyMMdd}"},
            {"ParamKey": "n", "ParamValue": ""},
        ],
        "WorkflowSchedulerConfiguration": {
            "ScheduleTimeZone": "UTC+8",
            "CycleType": "MINUTE_CYCLE",
            "SelfDepend": "parallel",
            "StartTime": "2025-09-11 00:00:00",
            "EndTime": "2099-12-31 23:59:59",
            "DependencyWorkflow": "yes",
            "ExecutionStartTime": "08:00",
            "ExecutionEndTime": "20:30",
            "CrontabExpression": "0 */5 * * * ?",
            "CalendarOpen": "1",
            "CalendarName": None,
            "CalendarId": "105",
            "MinuteOffset": 3,
        },
        "WorkflowDesc": "描述",
        "Path": f"/{parent}/{name}",
        "BundleId": "b-1",
        "BundleInfo": '{"k": 1}',
    }
    # A manual workflow, and the unified schedule's defaults.
    manual = create(api, project, unique("wf"), WorkflowType="manual")
    assert get(api, project, manual)["WorkflowType"] == "manual"
    minimal = create(api, project, unique("wf"), WorkflowSchedulerConfiguration=SCHEDULE)
    config = get(api, project, minimal)["WorkflowSchedulerConfiguration"]
    assert set(config) == SCHEDULE_KEYS
    assert config == {
        **SCHEDULE,
        "DependencyWorkflow": "no",
        "ExecutionStartTime": "00:00",
        "ExecutionEndTime": "23:59",
        "CalendarOpen": "0",
        "CalendarName": None,
        "CalendarId": None,
        "MinuteOffset": None,
    }


BAD_SCHEDULES: list[dict[str, Any]] = [
    {"CrontabExpression": "not a cron"},
    {"CrontabExpression": "0 61 * * * ?"},
    {"CrontabExpression": "0 0 0 * * * ?"},  # dom and dow both given
    {"CrontabExpression": "0 */5 * * * ?"},  # fires every 5 minutes, not once a day
    {"CycleType": "FORTNIGHT_CYCLE"},
    {"SelfDepend": "sometimes"},
    {"ScheduleTimeZone": "Mars/Olympus"},
    {"StartTime": "2025-01-01"},
    {"EndTime": "2099-13-01 00:00:00"},
    {"StartTime": "2030-01-01 00:00:00", "EndTime": "2029-01-01 00:00:00"},
    {"DependencyWorkflow": "maybe"},
    {"ModifyCycleValue": "2"},
    {"ModifyCycleValue": "1"},  # without MainCyclicConfig
    {"ModifyCycleValue": "1", "MainCyclicConfig": "FORTNIGHT"},
    {"ModifyCycleValue": "1", "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_HOUR"},
    {"ExecutionStartTime": "25:00"},
    {"ExecutionEndTime": "8h"},
    {"CalendarOpen": "2"},
    {"CalendarOpen": "1"},  # without CalendarId
    {"MinuteOffset": 60},
    {"MinuteOffset": -1},
]


def test_bad_workflow_input_changes_nothing(api: Api) -> None:
    project = new_project(api)
    mkdir(api, project, "/", "d")
    taken = create(api, project, "taken", "/d")
    before = listing(api, project)

    def refused(expected: str, raw: bool = False, **params: Any) -> None:
        body = {"ProjectId": project, "WorkflowName": unique("wf"), "ParentFolderPath": "/d", **params}
        assert code(api, "CreateWorkflow", body, raw=raw) == expected, params

    refused("ResourceNotFound", ParentFolderPath="/nope")
    for path in ("d", "/d/", "/d//e", ""):
        refused("InvalidParameterValue", ParentFolderPath=path)
    for name in ("", "a/b", " x", "x" * 257):
        refused("InvalidParameterValue", WorkflowName=name)
    refused("InvalidParameter.DuplicateName", WorkflowName="taken")
    refused(
        "InvalidParameter.DuplicateName", WorkflowName="taken", ParentFolderPath="/"
    )  # unique per project
    refused("InvalidParameterValue", WorkflowType="daily")
    refused("InvalidParameterValue", OwnerUin="somebody")
    refused(
        "InvalidParameterValue",
        WorkflowParams=[{"ParamKey": "a", "ParamValue": "1"}, {"ParamKey": "a", "ParamValue": "2"}],
    )
    refused("InvalidParameterValue", WorkflowParams=[{"ParamKey": "", "ParamValue": "1"}])
    refused("InvalidParameterValue", WorkflowType="manual", WorkflowSchedulerConfiguration=SCHEDULE)
    for bad in BAD_SCHEDULES:
        refused("InvalidParameterValue", WorkflowSchedulerConfiguration={**SCHEDULE, **bad})
    # Wire-level checks.
    refused("UnknownParameter", raw=True, WorkflowId=MISSING_WORKFLOW)
    refused("UnknownParameter", raw=True, WorkflowSchedulerConfiguration={**SCHEDULE, "Extra": 1})
    refused("InvalidParameterValue", raw=True, WorkflowParams="a=1")
    refused(
        "MissingParameter",
        raw=True,
        WorkflowSchedulerConfiguration={k: v for k, v in SCHEDULE.items() if k != "CrontabExpression"},
    )
    assert (
        code(api, "CreateWorkflow", {"ProjectId": project, "ParentFolderPath": "/"}, raw=True)
        == "MissingParameter"
    )
    assert listing(api, project) == before
    assert get(api, project, taken)["Path"] == "/d/taken"


def test_workflow_ids_and_access(api: Api, server: ServerProcess, project: str) -> None:
    wf = create(api, project, unique("wf"))
    fid = mkdir(api, project, "/", unique("dir"))
    other = new_project(api)
    # Unknown workflow, or a workflow of another project.
    for pid, wid in ((project, MISSING_WORKFLOW), (other, wf)):
        for action in ("GetWorkflow", "DeleteWorkflow"):
            assert code(api, action, {"ProjectId": pid, "WorkflowId": wid}) == "ResourceNotFound"
        assert (
            code(api, "UpdateWorkflow", {"ProjectId": pid, "WorkflowId": wid, "WorkflowDesc": "x"})
            == "ResourceNotFound"
        )
    # An unknown project.
    missing = "1" * 19
    calls: list[tuple[str, dict[str, Any]]] = [
        ("CreateWorkflow", {"WorkflowName": unique("wf"), "ParentFolderPath": "/"}),
        ("GetWorkflow", {"WorkflowId": wf}),
        ("ListWorkflows", {}),
        ("UpdateWorkflow", {"WorkflowId": wf, "WorkflowDesc": "hacked"}),
        ("DeleteWorkflow", {"WorkflowId": wf}),
        ("CreateWorkflowFolder", {"ParentFolderPath": "/", "FolderName": unique("dir")}),
        ("GetWorkflowFolder", {"FolderId": fid}),
        ("ListWorkflowFolders", {"ParentFolderPath": "/"}),
        ("UpdateWorkflowFolder", {"FolderId": fid, "FolderName": "hacked"}),
        ("DeleteWorkflowFolder", {"FolderId": fid}),
    ]
    for action, params in calls:
        assert code(api, action, {"ProjectId": missing, **params}) == "ResourceNotFound", action
    # A user who is not a member of the project.
    stranger = server.new_user()
    before = (get(api, project, wf), folder(api, project, fid), listing(api, project)["TotalCount"])
    for action, params in calls:
        assert (
            code(stranger, action, {"ProjectId": project, **params})
            == "UnauthorizedOperation.UserNotInProject"
        ), action
    assert (get(api, project, wf), folder(api, project, fid), listing(api, project)["TotalCount"]) == before


def test_update_workflow_changes_only_the_fields_sent(api: Api, project: str) -> None:
    name = unique("wf")
    wf = create(
        api,
        project,
        name,
        WorkflowDesc="d0",
        WorkflowParams=[{"ParamKey": "a", "ParamValue": "1"}],
        WorkflowSchedulerConfiguration=SCHEDULE,
        BundleId="b0",
        BundleInfo="i0",
    )
    original = get(api, project, wf)
    upd = {"ProjectId": project, "WorkflowId": wf}

    new_name = unique("wf")
    assert api.data("UpdateWorkflow", {**upd, "WorkflowName": new_name}) == {"Status": True}
    assert get(api, project, wf) == {**original, "WorkflowName": new_name, "Path": "/" + new_name}

    assert api.data("UpdateWorkflow", {**upd, "WorkflowDesc": "", "OwnerUin": "100028579606"}) == {
        "Status": True
    }
    after = get(api, project, wf)
    assert after == {
        **original,
        "WorkflowName": new_name,
        "Path": "/" + new_name,
        "WorkflowDesc": "",
        "OwnerUin": "100028579606",
    }

    hourly = {
        **SCHEDULE,
        "CycleType": "HOUR_CYCLE",
        "CrontabExpression": "0 15 */2 * * ?",
        "SelfDepend": "serial",
    }
    api.data(
        "UpdateWorkflow",
        {**upd, "WorkflowParams": [], "WorkflowSchedulerConfiguration": hourly, "BundleId": "b1"},
    )
    after = get(api, project, wf)
    assert after["WorkflowParams"] == [] and after["BundleId"] == "b1" and after["BundleInfo"] == "i0"
    assert after["WorkflowSchedulerConfiguration"]["CycleType"] == "HOUR_CYCLE"
    assert after["WorkflowSchedulerConfiguration"]["CrontabExpression"] == "0 15 */2 * * ?"
    assert after["WorkflowDesc"] == "" and after["WorkflowName"] == new_name

    # Refused updates change nothing, not even the modification time.
    other = create(api, project, unique("wf"))
    manual = create(api, project, unique("wf"), WorkflowType="manual")
    row_before = next(i for i in listing(api, project)["Items"] if i["WorkflowId"] == wf)
    other_name = get(api, project, other)["WorkflowName"]
    assert (
        code(api, "UpdateWorkflow", {**upd, "WorkflowName": other_name}) == "InvalidParameter.DuplicateName"
    )
    assert code(api, "UpdateWorkflow", {**upd, "WorkflowName": "a/b"}) == "InvalidParameterValue"
    assert code(api, "UpdateWorkflow", {**upd, "OwnerUin": ""}) == "InvalidParameterValue"
    assert (
        code(
            api,
            "UpdateWorkflow",
            {
                **upd,
                "WorkflowDesc": "x",
                "WorkflowSchedulerConfiguration": {**SCHEDULE, "CrontabExpression": "bad"},
            },
        )
        == "InvalidParameterValue"
    )
    assert code(api, "UpdateWorkflow", {**upd, "WorkflowType": "manual"}, raw=True) == "UnknownParameter"
    assert (
        code(
            api,
            "UpdateWorkflow",
            {"ProjectId": project, "WorkflowId": manual, "WorkflowSchedulerConfiguration": SCHEDULE},
        )
        == "InvalidParameterValue"
    )
    assert get(api, project, wf) == after
    assert next(i for i in listing(api, project)["Items"] if i["WorkflowId"] == wf) == row_before
    assert get(api, project, manual)["WorkflowSchedulerConfiguration"] is None
    # Renaming to its own name is fine.
    assert api.data("UpdateWorkflow", {**upd, "WorkflowName": new_name}) == {"Status": True}


def test_update_records_who_and_when(api: Api, server: ServerProcess) -> None:
    project = new_project(api)
    wf = create(api, project, unique("wf"))
    item = listing(api, project)["Items"][0]
    assert set(item) == INFO_KEYS
    assert (
        item["WorkflowId"] == wf and item["UpdateUserUin"] == ADMIN_UIN and item["CreateUserUin"] == ADMIN_UIN
    )
    assert WALL.match(item["CreateTime"]) and WALL.match(item["ModifyTime"])
    # Shown in UTC+8.
    now_cst = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=8)
    shown = datetime.strptime(item["CreateTime"], "%Y-%m-%d %H:%M:%S")
    assert abs((shown - now_cst).total_seconds()) < 120


def test_list_workflows_filters_and_paging(api: Api) -> None:
    project = new_project(api)
    mkdir(api, project, "/", "x")
    mkdir(api, project, "/x", "y")
    made = []
    for i in range(12):
        made.append(
            create(api, project, f"Alpha_{i:02d}", "/x" if i < 4 else "/", BundleId="bb" if i % 2 else None)
        )
    create(api, project, "beta%", "/x/y", WorkflowType="manual", OwnerUin="100028579606")

    first = listing(api, project, PageSize=10)
    second = listing(api, project, PageSize=10, PageNumber=2)
    assert (first["TotalCount"], first["TotalPageNumber"], first["PageNumber"], first["PageSize"]) == (
        13,
        2,
        1,
        10,
    )
    assert len(first["Items"]) == 10 and len(second["Items"]) == 3
    assert len({i["WorkflowId"] for i in first["Items"] + second["Items"]}) == 13
    assert listing(api, project, PageNumber=3)["Items"] == []
    default = api.data("ListWorkflows", {"ProjectId": project})
    assert (default["PageNumber"], default["PageSize"], len(default["Items"])) == (1, 10, 10)

    assert len(names(api, project, Keyword="alpha")) == 12  # any case
    assert names(api, project, Keyword="a_0") == [f"Alpha_{i:02d}" for i in range(10)]
    assert names(api, project, Keyword="%") == ["beta%"]  # wildcards are literal
    assert names(api, project, Keyword="_%") == []
    assert names(api, project, Keyword=made[3]) == ["Alpha_03"]  # an id matches too
    assert names(api, project, ParentFolderPath="/x") == ["Alpha_00", "Alpha_01", "Alpha_02", "Alpha_03"]
    assert names(api, project, ParentFolderPath="/x/y") == ["beta%"]
    assert names(api, project, ParentFolderPath="/nowhere") == []
    assert len(names(api, project, ParentFolderPath="/")) == 8
    assert names(api, project, WorkflowType="manual") == ["beta%"]
    assert len(names(api, project, WorkflowType="cycle")) == 12
    assert names(api, project, BundleId="bb") == [f"Alpha_{i:02d}" for i in range(1, 12, 2)]
    assert names(api, project, OwnerUin="100028579606") == ["beta%"]
    assert len(names(api, project, CreateUserUin=ADMIN_UIN)) == 13
    assert names(api, project, CreateUserUin="1") == []
    assert names(api, project, Keyword="alpha", ParentFolderPath="/x", BundleId="bb") == [
        "Alpha_01",
        "Alpha_03",
    ]

    def window(delta_from: timedelta, delta_to: timedelta) -> list[str]:
        now = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=8)
        return [
            (now + delta_from).strftime("%Y-%m-%d %H:%M:%S"),
            (now + delta_to).strftime("%Y-%m-%d %H:%M:%S"),
        ]

    assert len(names(api, project, CreateTime=window(timedelta(minutes=-10), timedelta(minutes=10)))) == 13
    assert len(names(api, project, ModifyTime=window(timedelta(minutes=-10), timedelta(minutes=10)))) == 13
    assert names(api, project, CreateTime=window(timedelta(days=-3), timedelta(days=-2))) == []
    assert names(api, project, ModifyTime=window(timedelta(days=2), timedelta(days=3))) == []

    for bad in (
        {"PageSize": 9},
        {"PageSize": 201},
        {"PageNumber": 0},
        {"PageNumber": -1},
        {"WorkflowType": "daily"},
        {"ParentFolderPath": "x/"},
        {"ParentFolderPath": "/x//y"},
        {"CreateTime": ["2025-01-01"]},
        {"CreateTime": ["2025-01-01", "2025-01-02"]},
        {"ModifyTime": ["2025-01-02 00:00:00", "2025-01-01 00:00:00"]},
        {"ModifyTime": ["2025-01-01 00:00:00", "2025-01-02 00:00:00", "2025-01-03 00:00:00"]},
    ):
        assert code(api, "ListWorkflows", {"ProjectId": project, **bad}) == "InvalidParameterValue", bad
    assert code(api, "ListWorkflows", {"ProjectId": project, "Name": "x"}, raw=True) == "UnknownParameter"


def test_delete_workflow(api: Api, project: str) -> None:
    name = unique("wf")
    wf = create(api, project, name)
    keep = create(api, project, unique("wf"))
    assert api.data("DeleteWorkflow", {"ProjectId": project, "WorkflowId": wf}) == {"Status": True}
    assert code(api, "GetWorkflow", {"ProjectId": project, "WorkflowId": wf}) == "ResourceNotFound"
    assert code(api, "DeleteWorkflow", {"ProjectId": project, "WorkflowId": wf}) == "ResourceNotFound"
    assert names(api, project, Keyword=name) == []
    assert get(api, project, keep)["WorkflowType"] == "cycle"
    # The name is free again.
    create(api, project, name)


def test_delete_workflow_holding_tasks_is_refused(api: Api) -> None:
    project = new_project(api)
    wf = create(api, project, unique("wf"))
    task = {
        "ProjectId": project,
        "TaskBaseAttribute": {"TaskName": unique("t"), "TaskTypeId": "35", "WorkflowId": wf},
        "TaskConfiguration": {"CodeContent": base64.b64encode(b"echo hi").decode()},
        "TaskSchedulerConfiguration": {"StartTime": "2025-01-01 00:00:00"},
    }
    task_id = api.data("CreateTask", task)["TaskId"]
    err = api.error("DeleteWorkflow", {"ProjectId": project, "WorkflowId": wf})
    assert err.code == "ResourceInUse" and "1 task" in err.message
    assert get(api, project, wf)["WorkflowType"] == "cycle"
    assert api.data("GetTask", {"ProjectId": project, "TaskId": task_id})["TaskBaseAttribute"]["WorkflowId"] == wf
    # Without its task the workflow goes.
    api.data("DeleteTask", {"ProjectId": project, "TaskId": task_id})
    assert api.data("DeleteWorkflow", {"ProjectId": project, "WorkflowId": wf}) == {"Status": True}
    assert code(api, "GetWorkflow", {"ProjectId": project, "WorkflowId": wf}) == "ResourceNotFound"


def test_a_member_is_recorded_as_creator_owner_and_updater(api: Api, server: ServerProcess) -> None:
    project = new_project(api)
    member = server.new_user()
    member_uin = str(member.uin)  # type: ignore[attr-defined]
    api.call("CreateProjectMember", {"ProjectId": project, "UserUins": [member_uin], "RoleIds": [DATA_ENGINEER]})
    mine = create(member, project, unique("wf"))
    theirs = create(api, project, unique("wf"))
    fid = mkdir(member, project, "/", unique("dir"))
    assert folder(api, project, fid)["CreateUserUin"] == member_uin
    detail = get(api, project, mine)
    assert (detail["OwnerUin"], detail["CreateUserUin"]) == (member_uin, member_uin)
    assert [i["WorkflowId"] for i in listing(api, project, CreateUserUin=member_uin)["Items"]] == [mine]
    assert [i["WorkflowId"] for i in listing(api, project, OwnerUin=ADMIN_UIN)["Items"]] == [theirs]
    member.data("UpdateWorkflow", {"ProjectId": project, "WorkflowId": theirs, "WorkflowDesc": "edited"})
    item = listing(api, project, Keyword=theirs)["Items"][0]
    assert (item["UpdateUserUin"], item["CreateUserUin"], item["OwnerUin"]) == (member_uin, ADMIN_UIN, ADMIN_UIN)


def test_a_deleted_project_has_no_workflows(api: Api) -> None:
    project = new_project(api)
    wf = create(api, project, unique("wf"))
    fid = mkdir(api, project, "/", "d")
    assert api.data("DeleteProject", {"ProjectId": project}) == {"Status": True}
    assert code(api, "GetWorkflow", {"ProjectId": project, "WorkflowId": wf}) == "ResourceNotFound"
    assert code(api, "GetWorkflowFolder", {"ProjectId": project, "FolderId": fid}) == "ResourceNotFound"
    assert code(api, "ListWorkflows", {"ProjectId": project}) == "ResourceNotFound"
    assert code(api, "CreateWorkflow", {"ProjectId": project, "WorkflowName": unique("wf"), "ParentFolderPath": "/"}) == "ResourceNotFound"
    assert code(api, "CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": "/", "FolderName": "e"}) == "ResourceNotFound"


def test_update_with_nothing_to_change_is_not_an_edit(api: Api, server: ServerProcess) -> None:
    project = new_project(api)
    member = server.new_user()
    member_uin = str(member.uin)  # type: ignore[attr-defined]
    api.call("CreateProjectMember", {"ProjectId": project, "UserUins": [member_uin], "RoleIds": [DATA_ENGINEER]})
    wf = create(api, project, unique("wf"))
    before = listing(api, project)["Items"][0]
    assert member.data("UpdateWorkflow", {"ProjectId": project, "WorkflowId": wf}) == {"Status": True}
    # The updater would be the member had it counted as an edit.
    assert listing(api, project)["Items"][0] == before and before["UpdateUserUin"] == ADMIN_UIN
