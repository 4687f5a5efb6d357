"""Task folders through the official SDK, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from tests.support import ADMIN_UIN, Api, ServerProcess, unique

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MISSING = "00000000-0000-4000-8000-000000000000"
DETAIL_KEYS = {
    "ProjectId",
    "TaskFolderId",
    "TaskFolderPath",
    "CreateUserUin",
    "ParentTaskFolderPath",
    "TaskFolderName",
    "WorkflowId",
    "TaskFolderType",
}
PAGE_KEYS = {"PageNumber", "PageSize", "TotalCount", "TotalPageNumber", "Items"}
ITEM_KEYS = {"ProjectId", "TaskFolderId", "TaskFolderPath", "CreateUserUin"}


def new_project(api: Api) -> str:
    name = unique("tfp")
    return str(
        api.data("CreateProject", {"Project": {"ProjectName": name, "DisplayName": name}})["ProjectId"]
    )


def new_workflow(api: Api, project: str) -> str:
    params = {"ProjectId": project, "WorkflowName": unique("wf"), "ParentFolderPath": "/"}
    return str(api.data("CreateWorkflow", params)["WorkflowId"])


@pytest.fixture(scope="module")
def space(api: Api) -> tuple[str, str]:
    """A project and a workflow shared by the tests that only add folders with unique names."""
    project = new_project(api)
    return project, new_workflow(api, project)


def mkdir(api: Api, project: str, workflow: str, parent: str, name: str, kind: str = "GENERAL") -> str:
    data = api.data(
        "CreateTaskFolder",
        {
            "ProjectId": project,
            "WorkflowId": workflow,
            "ParentTaskFolderPath": parent,
            "TaskFolderName": name,
            "TaskFolderType": kind,
        },
    )
    assert UUID.match(data["TaskFolderId"])
    return str(data["TaskFolderId"])


def detail(api: Api, project: str, workflow: str, folder_id: str) -> dict[str, Any]:
    data: dict[str, Any] = api.data(
        "GetTaskFolder", {"ProjectId": project, "WorkflowId": workflow, "TaskFolderId": folder_id}
    )
    return data


def children(api: Api, project: str, workflow: str, parent: str, kind: str = "GENERAL") -> list[str]:
    data = api.data(
        "ListTaskFolders",
        {
            "ProjectId": project,
            "WorkflowId": workflow,
            "ParentTaskFolderPath": parent,
            "TaskFolderType": kind,
            "PageSize": 200,
        },
    )
    return [item["TaskFolderPath"] for item in data["Items"]]


def rename(api: Api, project: str, workflow: str, folder_id: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = api.data(
        "UpdateTaskFolder",
        {"ProjectId": project, "WorkflowId": workflow, "TaskFolderId": folder_id, "TaskFolderName": name},
    )
    return data


def remove(api: Api, project: str, workflow: str, folder_id: str) -> dict[str, Any]:
    data: dict[str, Any] = api.data(
        "DeleteTaskFolder", {"ProjectId": project, "WorkflowId": workflow, "TaskFolderId": folder_id}
    )
    return data


def shell_task(api: Api, project: str, workflow: str, folder: str | None) -> str:
    base: dict[str, Any] = {"TaskName": unique("sh"), "TaskTypeId": "35", "WorkflowId": workflow}
    if folder is not None:
        base["TaskFolderPath"] = folder
    data = api.data(
        "CreateTask",
        {
            "ProjectId": project,
            "TaskBaseAttribute": base,
            "TaskConfiguration": {"CodeContent": base64.b64encode(b"echo hi").decode()},
            "TaskSchedulerConfiguration": {},
        },
    )
    return str(data["TaskId"])


def task_folder_path(api: Api, project: str, task_id: str) -> str | None:
    data = api.data("GetTask", {"ProjectId": project, "TaskId": task_id})
    path: str | None = data["TaskBaseAttribute"]["TaskFolderPath"]
    return path


# ------------------------------------------------------------------------------------------------
# CreateTaskFolder / GetTaskFolder


def test_create_root_folder_and_get_it(api: Api, space: tuple[str, str]) -> None:
    project, workflow = space
    name = unique("tf")
    folder_id = mkdir(api, project, workflow, "/", name)
    raw = api.raw("GetTaskFolder", {"ProjectId": project, "WorkflowId": workflow, "TaskFolderId": folder_id})
    assert set(raw["Data"]) == DETAIL_KEYS
    assert raw["Data"] == {
        "ProjectId": project,
        "TaskFolderId": folder_id,
        "TaskFolderPath": f"/{name}",
        "CreateUserUin": ADMIN_UIN,
        # WeData shows a root child's parent as "" (GetTaskFolder example).
        "ParentTaskFolderPath": "",
        "TaskFolderName": name,
        "WorkflowId": workflow,
        "TaskFolderType": "GENERAL",
    }


def test_create_nested_folders(api: Api, space: tuple[str, str]) -> None:
    project, workflow = space
    top, mid = unique("a"), "中文_目录"
    mkdir(api, project, workflow, "/", top)
    mid_id = mkdir(api, project, workflow, f"/{top}", mid)
    # A trailing slash on the parent is the same folder.
    leaf_id = mkdir(api, project, workflow, f"/{top}/{mid}/", "leaf")
    got = detail(api, project, workflow, mid_id)
    assert (got["TaskFolderPath"], got["ParentTaskFolderPath"], got["TaskFolderName"]) == (
        f"/{top}/{mid}",
        f"/{top}",
        mid,
    )
    got = detail(api, project, workflow, leaf_id)
    assert (got["TaskFolderPath"], got["ParentTaskFolderPath"]) == (f"/{top}/{mid}/leaf", f"/{top}/{mid}")


def test_folder_types_and_workflows_are_separate_trees(api: Api) -> None:
    project = new_project(api)
    first, second = new_workflow(api, project), new_workflow(api, project)
    # The same path may exist once per (workflow, TaskFolderType).
    ids = {
        mkdir(api, project, first, "/", "same"),
        mkdir(api, project, first, "/", "same", "DLC"),
        mkdir(api, project, first, "/", "same", "ACROSS_WORKFLOWS"),
        mkdir(api, project, second, "/", "same"),
    }
    assert len(ids) == 4
    assert children(api, project, first, "/") == ["/same"]
    assert children(api, project, first, "/", "DLC") == ["/same"]
    assert children(api, project, first, "/", "EMR") == []
    # A parent of one tree is not a parent in another.
    err = api.error(
        "CreateTaskFolder",
        {
            "ProjectId": project,
            "WorkflowId": first,
            "ParentTaskFolderPath": "/same",
            "TaskFolderName": "x",
            "TaskFolderType": "EMR",
        },
    )
    assert err.code == "ResourceNotFound"


def test_create_duplicate_name(api: Api, space: tuple[str, str]) -> None:
    project, workflow = space
    name = unique("dup")
    first = mkdir(api, project, workflow, "/", name)
    before = children(api, project, workflow, "/")
    err = api.error(
        "CreateTaskFolder",
        {
            "ProjectId": project,
            "WorkflowId": workflow,
            "ParentTaskFolderPath": "/",
            "TaskFolderName": name,
            "TaskFolderType": "GENERAL",
        },
    )
    assert err.code == "InvalidParameter.DuplicateName"
    assert children(api, project, workflow, "/") == before
    assert detail(api, project, workflow, first)["TaskFolderPath"] == f"/{name}"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("TaskFolderName", ""),
        ("TaskFolderName", "   "),
        ("TaskFolderName", "a/b"),
        ("TaskFolderName", " padded"),
        ("TaskFolderName", "x" * 129),
        ("TaskFolderName", "tab\there"),
        # One name rule with workflow folders (services/folders.py): no "." or "..".
        ("TaskFolderName", "."),
        ("TaskFolderName", ".."),
        ("ParentTaskFolderPath", "/.."),
        ("TaskFolderType", "general"),
        ("TaskFolderType", "DATA_QUALITY"),
        ("TaskFolderType", ""),
        ("ParentTaskFolderPath", "relative"),
        ("ParentTaskFolderPath", "/a//b"),
    ],
)
def test_create_bad_values(api: Api, space: tuple[str, str], field: str, value: str) -> None:
    project, workflow = space
    params = {
        "ProjectId": project,
        "WorkflowId": workflow,
        "ParentTaskFolderPath": "/",
        "TaskFolderName": unique("bad"),
        "TaskFolderType": "GENERAL",
        field: value,
    }
    before = children(api, project, workflow, "/")
    assert api.error("CreateTaskFolder", params).code == "InvalidParameterValue"
    assert children(api, project, workflow, "/") == before


def test_create_unknown_parent_and_workflow(api: Api, space: tuple[str, str]) -> None:
    project, workflow = space
    base = {
        "ProjectId": project,
        "WorkflowId": workflow,
        "ParentTaskFolderPath": "/",
        "TaskFolderType": "GENERAL",
    }
    err = api.error(
        "CreateTaskFolder", {**base, "ParentTaskFolderPath": f"/{unique('nope')}", "TaskFolderName": "x"}
    )
    assert err.code == "ResourceNotFound"
    err = api.error("CreateTaskFolder", {**base, "WorkflowId": MISSING, "TaskFolderName": "x"})
    assert err.code == "ResourceNotFound"
    # A workflow of another project is not found in this one.
    other = new_project(api)
    foreign = new_workflow(api, other)
    err = api.error("CreateTaskFolder", {**base, "WorkflowId": foreign, "TaskFolderName": "x"})
    assert err.code == "ResourceNotFound"
    assert children(api, other, foreign, "/") == []


def test_create_missing_unknown_and_mistyped_fields(api: Api, space: tuple[str, str]) -> None:
    project, workflow = space
    good = {
        "ProjectId": project,
        "WorkflowId": workflow,
        "ParentTaskFolderPath": "/",
        "TaskFolderName": unique("f"),
        "TaskFolderType": "GENERAL",
    }
    before = children(api, project, workflow, "/")
    for field in ("ParentTaskFolderPath", "TaskFolderName", "TaskFolderType", "WorkflowId"):
        params = {k: v for k, v in good.items() if k != field}
        assert api.error("CreateTaskFolder", params, raw=True).code == "MissingParameter", field
    assert api.error("CreateTaskFolder", {**good, "Color": "red"}, raw=True).code == "UnknownParameter"
    assert (
        api.error("CreateTaskFolder", {**good, "TaskFolderName": 7}, raw=True).code == "InvalidParameterValue"
    )
    assert children(api, project, workflow, "/") == before


def test_get_errors(api: Api, space: tuple[str, str]) -> None:
    project, workflow = space
    folder_id = mkdir(api, project, workflow, "/", unique("g"))
    other_workflow = new_workflow(api, project)
    for params in (
        {"WorkflowId": workflow, "TaskFolderId": MISSING},
        # The folder exists, but not in this workflow.
        {"WorkflowId": other_workflow, "TaskFolderId": folder_id},
        {"WorkflowId": MISSING, "TaskFolderId": folder_id},
    ):
        assert api.error("GetTaskFolder", {"ProjectId": project, **params}).code == "ResourceNotFound"
    # ... nor in another project.
    other = new_project(api)
    err = api.error("GetTaskFolder", {"ProjectId": other, "WorkflowId": workflow, "TaskFolderId": folder_id})
    assert err.code == "ResourceNotFound"
    assert api.error("GetTaskFolder", {"ProjectId": project, "WorkflowId": workflow}, raw=True).code == (
        "MissingParameter"
    )


# ------------------------------------------------------------------------------------------------
# ListTaskFolders


def test_list_direct_children_paged(api: Api) -> None:
    project = new_project(api)
    workflow = new_workflow(api, project)
    names = [f"f{i:02d}" for i in range(12)]
    for name in reversed(names):
        mkdir(api, project, workflow, "/", name)
    mkdir(api, project, workflow, "/f00", "inner")
    params = {
        "ProjectId": project,
        "WorkflowId": workflow,
        "ParentTaskFolderPath": "/",
        "TaskFolderType": "GENERAL",
    }
    raw = api.raw("ListTaskFolders", params)
    page = raw["Data"]
    assert set(page) == PAGE_KEYS and all(set(item) == ITEM_KEYS for item in page["Items"])
    # Default page: 10 items by name, counts over the direct children only.
    assert (page["PageNumber"], page["PageSize"], page["TotalCount"], page["TotalPageNumber"]) == (
        1,
        10,
        12,
        2,
    )
    assert [item["TaskFolderPath"] for item in page["Items"]] == [f"/{n}" for n in names[:10]]
    assert all(item["ProjectId"] == project and item["CreateUserUin"] == ADMIN_UIN for item in page["Items"])
    second = api.data("ListTaskFolders", {**params, "PageNumber": 2, "PageSize": 10})
    assert [item["TaskFolderPath"] for item in second["Items"]] == ["/f10", "/f11"]
    assert api.data("ListTaskFolders", {**params, "PageNumber": 3})["Items"] == []
    assert children(api, project, workflow, "/f00") == ["/f00/inner"]
    assert children(api, project, workflow, "/f00/inner") == []
    # "" names the root too (it is what GetTaskFolder shows for a root child's parent).
    assert len(children(api, project, workflow, "")) == 12


def test_list_errors(api: Api, space: tuple[str, str]) -> None:
    project, workflow = space
    params = {
        "ProjectId": project,
        "WorkflowId": workflow,
        "ParentTaskFolderPath": "/",
        "TaskFolderType": "GENERAL",
    }
    for bad in (
        {"PageSize": 5},
        {"PageSize": 201},
        {"PageNumber": 0},
        {"TaskFolderType": "NOPE"},
        {"ParentTaskFolderPath": "nope"},
    ):
        assert api.error("ListTaskFolders", {**params, **bad}).code == "InvalidParameterValue", bad
    for bad in ({"WorkflowId": MISSING}, {"ParentTaskFolderPath": f"/{unique('missing')}"}):
        assert api.error("ListTaskFolders", {**params, **bad}).code == "ResourceNotFound", bad
    assert api.error("ListTaskFolders", {**params, "PageSize": "x"}, raw=True).code == "InvalidParameterValue"
    del params["TaskFolderType"]
    assert api.error("ListTaskFolders", params, raw=True).code == "MissingParameter"


# ------------------------------------------------------------------------------------------------
# UpdateTaskFolder


def test_rename_moves_the_subtree(api: Api) -> None:
    project = new_project(api)
    workflow = new_workflow(api, project)
    # "a_b" and "axb" would both match an unescaped LIKE 'a_b/%': only a_b's subtree may move.
    top = mkdir(api, project, workflow, "/", "a_b")
    mkdir(api, project, workflow, "/", "axb")
    mkdir(api, project, workflow, "/axb", "keep")
    child = mkdir(api, project, workflow, "/a_b", "c")
    grandchild = mkdir(api, project, workflow, "/a_b/c", "d")
    same_in_dlc = mkdir(api, project, workflow, "/", "a_b", "DLC")
    mkdir(api, project, workflow, "/a_b", "c", "DLC")
    assert rename(api, project, workflow, top, "renamed") == {"Status": True}
    got = detail(api, project, workflow, top)
    assert (got["TaskFolderName"], got["TaskFolderPath"], got["ParentTaskFolderPath"]) == (
        "renamed",
        "/renamed",
        "",
    )
    got = detail(api, project, workflow, child)
    assert (got["TaskFolderPath"], got["ParentTaskFolderPath"], got["TaskFolderName"]) == (
        "/renamed/c",
        "/renamed",
        "c",
    )
    got = detail(api, project, workflow, grandchild)
    assert (got["TaskFolderPath"], got["ParentTaskFolderPath"]) == ("/renamed/c/d", "/renamed/c")
    assert children(api, project, workflow, "/") == ["/axb", "/renamed"]
    assert children(api, project, workflow, "/axb") == ["/axb/keep"]
    assert children(api, project, workflow, "/renamed/c") == ["/renamed/c/d"]
    assert (
        api.error(
            "ListTaskFolders",
            {
                "ProjectId": project,
                "WorkflowId": workflow,
                "ParentTaskFolderPath": "/a_b",
                "TaskFolderType": "GENERAL",
            },
        ).code
        == "ResourceNotFound"
    )
    # The DLC tree is another tree.
    assert detail(api, project, workflow, same_in_dlc)["TaskFolderPath"] == "/a_b"
    assert children(api, project, workflow, "/a_b", "DLC") == ["/a_b/c"]
    # Renaming to the current name changes nothing and succeeds.
    assert rename(api, project, workflow, top, "renamed") == {"Status": True}


def test_rename_errors_change_nothing(api: Api) -> None:
    project = new_project(api)
    workflow = new_workflow(api, project)
    first = mkdir(api, project, workflow, "/", "one")
    mkdir(api, project, workflow, "/", "two")
    mkdir(api, project, workflow, "/one", "sub")
    err = api.error(
        "UpdateTaskFolder",
        {"ProjectId": project, "WorkflowId": workflow, "TaskFolderId": first, "TaskFolderName": "two"},
    )
    assert err.code == "InvalidParameter.DuplicateName"
    for bad in ("", "x/y", "x" * 129):
        err = api.error(
            "UpdateTaskFolder",
            {"ProjectId": project, "WorkflowId": workflow, "TaskFolderId": first, "TaskFolderName": bad},
        )
        assert err.code == "InvalidParameterValue", bad
    for ids in (
        {"WorkflowId": workflow, "TaskFolderId": MISSING},
        {"WorkflowId": MISSING, "TaskFolderId": first},
    ):
        err = api.error("UpdateTaskFolder", {"ProjectId": project, "TaskFolderName": "three", **ids})
        assert err.code == "ResourceNotFound"
    assert (
        api.error(
            "UpdateTaskFolder",
            {"ProjectId": project, "WorkflowId": workflow, "TaskFolderId": first},
            raw=True,
        ).code
        == "MissingParameter"
    )
    assert children(api, project, workflow, "/") == ["/one", "/two"]
    assert children(api, project, workflow, "/one") == ["/one/sub"]


# ------------------------------------------------------------------------------------------------
# DeleteTaskFolder


def test_delete_only_empty_folders(api: Api) -> None:
    project = new_project(api)
    workflow = new_workflow(api, project)
    top = mkdir(api, project, workflow, "/", "top")
    sub = mkdir(api, project, workflow, "/top", "sub")
    params = {"ProjectId": project, "WorkflowId": workflow}
    assert api.error("DeleteTaskFolder", {**params, "TaskFolderId": top}).code == "FailedOperation"
    assert children(api, project, workflow, "/top") == ["/top/sub"]
    assert remove(api, project, workflow, sub) == {"Status": True}
    assert api.error("GetTaskFolder", {**params, "TaskFolderId": sub}).code == "ResourceNotFound"
    assert api.error("DeleteTaskFolder", {**params, "TaskFolderId": sub}).code == "ResourceNotFound"
    assert remove(api, project, workflow, top) == {"Status": True}
    assert children(api, project, workflow, "/") == []
    # The name is free again.
    mkdir(api, project, workflow, "/", "top")
    assert api.error(
        "DeleteTaskFolder", {"ProjectId": project, "WorkflowId": MISSING, "TaskFolderId": top}
    ).code == ("ResourceNotFound")
    assert api.error("DeleteTaskFolder", params, raw=True).code == "MissingParameter"


# ------------------------------------------------------------------------------------------------
# Folders and the tasks filed in them


def test_tasks_follow_renames_and_block_deletes(api: Api) -> None:
    project = new_project(api)
    workflow = new_workflow(api, project)
    top = mkdir(api, project, workflow, "/", "src")
    sub = mkdir(api, project, workflow, "/src", "jobs")
    dlc = mkdir(api, project, workflow, "/", "src", "DLC")
    in_sub = shell_task(api, project, workflow, "/src/jobs")
    in_top = shell_task(api, project, workflow, "/src")
    at_root = shell_task(api, project, workflow, None)
    # Shell tasks live in the GENERAL tree: renaming the DLC "/src" leaves them where they are,
    # and the DLC folder holds none of them.
    assert rename(api, project, workflow, dlc, "dlc_src") == {"Status": True}
    assert task_folder_path(api, project, in_sub) == "/src/jobs"
    assert task_folder_path(api, project, in_top) == "/src"
    assert remove(api, project, workflow, dlc) == {"Status": True}

    assert rename(api, project, workflow, top, "dst") == {"Status": True}
    assert task_folder_path(api, project, in_sub) == "/dst/jobs"
    assert task_folder_path(api, project, in_top) == "/dst"
    assert task_folder_path(api, project, at_root) in (None, "", "/")

    params = {"ProjectId": project, "WorkflowId": workflow}
    assert api.error("DeleteTaskFolder", {**params, "TaskFolderId": sub}).code == "FailedOperation"
    assert detail(api, project, workflow, sub)["TaskFolderPath"] == "/dst/jobs"
    api.call("DeleteTask", {"ProjectId": project, "TaskId": in_sub})
    assert remove(api, project, workflow, sub) == {"Status": True}
    assert api.error("DeleteTaskFolder", {**params, "TaskFolderId": top}).code == "FailedOperation"


# ------------------------------------------------------------------------------------------------
# Access


def test_non_members_and_deleted_projects(api: Api, server: ServerProcess) -> None:
    project = new_project(api)
    workflow = new_workflow(api, project)
    folder_id = mkdir(api, project, workflow, "/", "f")
    outsider = server.new_user()
    calls: list[tuple[str, dict[str, Any]]] = [
        (
            "CreateTaskFolder",
            {"ParentTaskFolderPath": "/", "TaskFolderName": "g", "TaskFolderType": "GENERAL"},
        ),
        ("GetTaskFolder", {"TaskFolderId": folder_id}),
        ("ListTaskFolders", {"ParentTaskFolderPath": "/", "TaskFolderType": "GENERAL"}),
        ("UpdateTaskFolder", {"TaskFolderId": folder_id, "TaskFolderName": "h"}),
        ("DeleteTaskFolder", {"TaskFolderId": folder_id}),
    ]
    for action, params in calls:
        err = outsider.error(action, {"ProjectId": project, "WorkflowId": workflow, **params})
        assert err.code == "UnauthorizedOperation.UserNotInProject", action
    assert children(api, project, workflow, "/") == ["/f"]
    api.call("DeleteProject", {"ProjectId": project})
    for action, params in calls:
        err = api.error(action, {"ProjectId": project, "WorkflowId": workflow, **params})
        assert err.code == "ResourceNotFound", action
