"""Workflow permissions through the official SDK on SQLite and PostgreSQL: grants on folders
inherit downwards, the answer of GetMyWorkflowMaxPermission is the maximum over the chain, a
protected workflow needs CAN_EDIT to edit its tasks, a grant lets a Visitor edit, and bad
input is refused naming the field with nothing written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import Api, ServerProcess, unique

PM = "308335260274237440"
DE = "308335260676890624"
OPS = "308335260844662784"
VISITOR = "308335260945326080"
CODE = "ZWNobyBoaQo="  # echo hi


@dataclass
class Tree:
    project: str
    top: str  # folder /top
    sub: str  # folder /top/sub
    workflow: str  # in /top/sub
    other: str  # a workflow in /
    task: str  # a task of ``workflow``
    users: dict[str, Api]


def uin(user: Api) -> str:
    return str(user.uin)  # type: ignore[attr-defined]


def new_task(api: Api, project: str, workflow: str) -> str:
    return str(api.data("CreateTask", {
        "ProjectId": project,
        "TaskBaseAttribute": {"TaskName": unique("t"), "TaskTypeId": "35", "WorkflowId": workflow},
        "TaskConfiguration": {"CodeContent": CODE},
        "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 1 * * ? *"},
    })["TaskId"])


@pytest.fixture(scope="module")
def tree(api: Api, server: ServerProcess) -> Tree:
    project = api.data("CreateProject", {"Project": {"ProjectName": unique("wp"), "DisplayName": "wp"}})["ProjectId"]
    top = api.data("CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": "/", "FolderName": "top"})
    sub = api.data("CreateWorkflowFolder", {"ProjectId": project, "ParentFolderPath": "/top", "FolderName": "sub"})
    wf = api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": unique("wf"),
                                     "ParentFolderPath": "/top/sub"})["WorkflowId"]
    other = api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": unique("wf"),
                                        "ParentFolderPath": "/"})["WorkflowId"]
    users = {}
    for who, role in (("alice", DE), ("bob", DE), ("vic", VISITOR), ("ops", OPS)):
        users[who] = server.new_user()
        api.call("CreateProjectMember", {"ProjectId": project, "UserUins": [uin(users[who])], "RoleIds": [role]})
    return Tree(project, top["FolderId"], sub["FolderId"], wf, other, new_task(api, project, wf), users)


def entity(tree: Tree, kind: str, key: str) -> dict[str, Any]:
    return {"ProjectId": tree.project, "EntityType": kind, "EntityId": key}


def grant(target_type: str, target: str, *perms: str) -> dict[str, Any]:
    return {"PermissionTargetType": target_type, "PermissionTargetId": target, "PermissionTypeList": list(perms)}


def max_perm(user: Api, tree: Tree, kind: str, key: str) -> str:
    return str(user.data("GetMyWorkflowMaxPermission", entity(tree, kind, key))["PermissionType"])


def rename_task(user: Api, tree: Tree, name: str) -> Any:
    return user.call("UpdateTaskPartially", {"ProjectId": tree.project, "TaskId": tree.task,
                                             "NewSetting": {"TaskBaseAttribute": {"TaskName": name}}})


def test_folder_grants_inherit_and_protect(api: Api, tree: Tree) -> None:
    alice, bob, vic = tree.users["alice"], tree.users["bob"], tree.users["vic"]
    # Unprotected: the roles decide.
    assert max_perm(alice, tree, "workflow", tree.workflow) == "CAN_EDIT"
    assert max_perm(vic, tree, "workflow", tree.workflow) == "CAN_VIEW"
    assert max_perm(tree.users["ops"], tree, "folder", tree.sub) == "CAN_RUN"
    assert max_perm(api, tree, "workflow", tree.workflow) == "CAN_MANAGE"
    rename_task(bob, tree, unique("by_bob"))

    # A grant on /top to alice protects everything below it.
    api.call("CreateWorkflowPermissions", {**entity(tree, "folder", tree.top),
                                           "PermissionList": [grant("user", uin(alice), "CAN_MANAGE")]})
    assert max_perm(alice, tree, "workflow", tree.workflow) == "CAN_MANAGE"
    assert max_perm(alice, tree, "folder", tree.sub) == "CAN_MANAGE"
    assert max_perm(bob, tree, "workflow", tree.workflow) == "CAN_VIEW"
    assert max_perm(bob, tree, "workflow", tree.other) == "CAN_EDIT"  # outside the folder: untouched
    listed = api.data("ListWorkflowPermissions", entity(tree, "folder", tree.top))
    assert listed["TotalCount"] == 1 and listed["Items"] == [grant("user", uin(alice), "CAN_MANAGE")]
    assert api.data("ListWorkflowPermissions", entity(tree, "folder", tree.sub))["TotalCount"] == 0  # own grants only

    # bob (a DataEngineer without a grant) may no longer edit the workflow's tasks; alice may.
    before = api.data("GetTask", {"ProjectId": tree.project, "TaskId": tree.task})["TaskBaseAttribute"]["TaskName"]
    err = bob.error("UpdateTaskPartially", {"ProjectId": tree.project, "TaskId": tree.task,
                                            "NewSetting": {"TaskBaseAttribute": {"TaskName": unique("no")}}})
    assert err.code == "UnauthorizedOperation" and "CAN_EDIT" in str(err.message)
    assert bob.error("CreateTask", {
        "ProjectId": tree.project,
        "TaskBaseAttribute": {"TaskName": unique("t"), "TaskTypeId": "35", "WorkflowId": tree.workflow},
        "TaskConfiguration": {"CodeContent": CODE},
        "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 1 * * ? *"},
    }).code == "UnauthorizedOperation"
    assert bob.error("CreateWorkflow", {"ProjectId": tree.project, "WorkflowName": unique("wf"),
                                        "ParentFolderPath": "/top/sub"}).code == "UnauthorizedOperation"
    assert api.data("GetTask", {"ProjectId": tree.project, "TaskId": tree.task})[
        "TaskBaseAttribute"]["TaskName"] == before
    new_task(bob, tree.project, tree.other)  # elsewhere bob still develops
    renamed = unique("by_alice")
    rename_task(alice, tree, renamed)
    assert api.data("GetTask", {"ProjectId": tree.project, "TaskId": tree.task})[
        "TaskBaseAttribute"]["TaskName"] == renamed
    # bob may not grant himself in; alice (CAN_MANAGE on the chain) may grant him, via his role.
    assert bob.error("CreateWorkflowPermissions", {**entity(tree, "workflow", tree.workflow), "PermissionList": [
        grant("user", uin(bob), "CAN_EDIT")]}).code == "UnauthorizedOperation"
    alice.call("CreateWorkflowPermissions", {**entity(tree, "workflow", tree.workflow),
                                             "PermissionList": [grant("role", DE, "CAN_EDIT")]})
    assert max_perm(bob, tree, "workflow", tree.workflow) == "CAN_EDIT"
    rename_task(bob, tree, unique("by_bob"))
    alice.call("DeleteWorkflowPermissions", {**entity(tree, "workflow", tree.workflow),
                                             "DeletePermissionList": [grant("role", DE, "CAN_EDIT")]})
    assert max_perm(bob, tree, "workflow", tree.workflow) == "CAN_VIEW"

    # A grant lets a Visitor edit that workflow, and only that one.
    alice.call("CreateWorkflowPermissions", {**entity(tree, "folder", tree.sub),
                                             "PermissionList": [grant("user", uin(vic), "CAN_EDIT")]})
    assert max_perm(vic, tree, "workflow", tree.workflow) == "CAN_EDIT"
    rename_task(vic, tree, unique("by_vic"))
    assert vic.error("CreateTask", {
        "ProjectId": tree.project,
        "TaskBaseAttribute": {"TaskName": unique("t"), "TaskTypeId": "35", "WorkflowId": tree.other},
        "TaskConfiguration": {"CodeContent": CODE},
        "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 1 * * ? *"},
    }).code == "UnauthorizedOperation"

    # Revoking the folder grant: bob edits again? No: vic's grant on /top/sub still protects it.
    api.call("DeleteWorkflowPermissions", {**entity(tree, "folder", tree.top),
                                           "DeletePermissionList": [grant("user", uin(alice), "CAN_MANAGE")]})
    assert max_perm(alice, tree, "workflow", tree.workflow) == "CAN_VIEW"
    api.call("DeleteWorkflowPermissions", {**entity(tree, "folder", tree.sub),
                                           "DeletePermissionList": [grant("user", uin(vic), "CAN_EDIT")]})
    assert max_perm(bob, tree, "workflow", tree.workflow) == "CAN_EDIT"  # unprotected again
    rename_task(bob, tree, unique("by_bob"))


def test_list_pages_and_groups_by_target(api: Api, tree: Tree, server: ServerProcess) -> None:
    body = entity(tree, "workflow", tree.other)
    users = [tree.users[w] for w in ("alice", "bob", "vic", "ops")]
    api.call("CreateWorkflowPermissions", {**body, "PermissionList": [
        grant("user", uin(u), "CAN_VIEW", "CAN_MANAGE") for u in users] + [grant("role", OPS, "CAN_RUN")]})
    first = api.data("ListWorkflowPermissions", {**body, "PageNumber": 1, "PageSize": 10})
    assert first["TotalCount"] == 5 and first["TotalPageNumber"] == 1
    assert first["Items"][0] == grant("role", OPS, "CAN_RUN")
    assert all(i["PermissionTypeList"] == ["CAN_VIEW", "CAN_MANAGE"] for i in first["Items"][1:])
    assert api.error("ListWorkflowPermissions", {**body, "PageSize": 5}).code == "InvalidParameterValue"
    api.call("DeleteWorkflowPermissions", {**body, "DeletePermissionList": [
        grant("user", uin(u), "CAN_VIEW", "CAN_MANAGE") for u in users] + [grant("role", OPS, "CAN_RUN")]})
    assert api.data("ListWorkflowPermissions", body)["TotalCount"] == 0


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"EntityType": "task"}, "InvalidParameterValue", "EntityType"),
    ({"EntityId": "00000000-0000-4000-8000-000000000000"}, "ResourceNotFound", "EntityId"),
    ({"PermissionList": []}, "InvalidParameterValue", "PermissionList"),
    ({"PermissionList": [grant("group", "g1", "CAN_MANAGE")]}, "InvalidParameterValue", "PermissionTargetType"),
    ({"PermissionList": [grant("user", "999999999999", "CAN_MANAGE")]}, "ResourceNotFound", "PermissionTargetId"),
    ({"PermissionList": [grant("role", "123", "CAN_MANAGE")]}, "ResourceNotFound", "PermissionTargetId"),
    ({"PermissionList": [grant("role", DE, "CAN_FLY")]}, "InvalidParameterValue", "PermissionTypeList"),
    ({"PermissionList": [grant("role", DE, "CAN_EDIT"), grant("role", DE)]}, "InvalidParameterValue",
     "PermissionList[1].PermissionTypeList"),
])
def test_bad_grants_write_nothing(api: Api, tree: Tree, change: dict[str, Any], code: str, field: str) -> None:
    body = {**entity(tree, "workflow", tree.workflow), "PermissionList": [grant("role", DE, "CAN_EDIT")], **change}
    err = api.error("CreateWorkflowPermissions", body)
    assert err.code == code and field in str(err.message), err.message
    assert api.data("ListWorkflowPermissions", entity(tree, "workflow", tree.workflow))["TotalCount"] == 0


def test_strangers_and_visitors(api: Api, tree: Tree, server: ServerProcess) -> None:
    stranger = server.new_user()
    assert stranger.error("GetMyWorkflowMaxPermission", entity(tree, "workflow", tree.workflow)).code == \
        "UnauthorizedOperation.UserNotInProject"
    err = tree.users["vic"].error("CreateWorkflowPermissions", {
        **entity(tree, "workflow", tree.workflow), "PermissionList": [grant("user", uin(tree.users["vic"]),
                                                                            "CAN_MANAGE")]})
    # In a project without any workflow grant the roles decide alone (no look at the chain): a
    # Visitor lacks "manage"; where grants exist the chain's CAN_MANAGE is named instead.
    assert err.code == "UnauthorizedOperation" and (
        "CAN_MANAGE" in str(err.message) or "lacks the manage" in str(err.message)), err.message
    assert api.data("ListWorkflowPermissions", entity(tree, "workflow", tree.workflow))["TotalCount"] == 0
