"""The role walk: every action of docs/permissions.md's table, called through the official SDK
(its CommonClient) on one live server by a user of each project role, must be refused by the
authorization check exactly when the role lacks what the table says the action needs.

The bodies are built from each action's request type with placeholder values ("x", 1, one-item
lists): they reach the check, and past it the handler mostly refuses the placeholders
(ResourceNotFound, InvalidParameterValue). A refusal BY THE CHECK is recognised by its message
("lacks the <permission> permission"); any other answer, success included, means the role passed.
The table is checked to be the registry's own first (tools/gen_permissions.py --check).
"""

from __future__ import annotations

import re
import subprocess
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.support import Api, ServerProcess, unique
from wedata.actions.registry import load_actions

ROOT = Path(__file__).resolve().parents[3]
ROLES = {
    "ProjectManager": "308335260274237440",
    "DataEngineer": "308335260676890624",
    "OperationEngineer": "308335260844662784",
    "Visitor": "308335260945326080",
}
# What each role may do: written out here, independently of services/projects/access.py.
ALLOWED = {
    "ProjectManager": {"read", "write", "operate", "manage"},
    "DataEngineer": {"read", "write", "operate"},
    "OperationEngineer": {"read", "operate"},
    "Visitor": {"read"},
}
# Placeholder bodies would really do these to the walk's project; their allowed calls are not made.
DESTRUCTIVE = {"DeleteProject", "DisableProject"}
DENIED = re.compile(r"lacks the (read|write|operate|manage)\b")


def table() -> list[tuple[str, str, str]]:
    rows = []
    for line in (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[2] in ("read", "write", "operate", "manage", "service"):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def placeholder(tp: Any, depth: int = 0) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return placeholder(args[0], depth)
    if origin is list:
        return [placeholder(typing.get_args(tp)[0], depth + 1)]
    if origin is dict:
        return {}
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        hints = typing.get_type_hints(tp)
        return {f.encode_name: placeholder(hints[f.name], depth + 1)
                for f in msgspec.structs.fields(tp) if f.required}
    return {str: "x", int: 1, float: 1.0, bool: False}.get(tp, "x")


@pytest.fixture(scope="module")
def walk(sqlite_server: ServerProcess) -> Iterator[tuple[str, dict[str, Api]]]:
    admin = sqlite_server.admin()
    project = admin.data("CreateProject", {"Project": {"ProjectName": unique("walk"), "DisplayName": "walk"}})[
        "ProjectId"]
    users = {}
    for role, role_id in ROLES.items():
        users[role] = sqlite_server.new_user()
        admin.call("CreateProjectMember", {"ProjectId": project, "UserUins": [users[role].uin],  # type: ignore[attr-defined]
                                           "RoleIds": [role_id]})
    yield project, users


def test_the_table_is_the_registrys() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_permissions.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    registry = load_actions()
    assert {(n, v) for n, v, _ in table()} == {(n, v) for v, defs in registry.items() for n in defs}


def test_key_rules_of_the_table() -> None:
    needs = {name: need for name, _, need in table()}
    assert needs["GetTask"] == "read" and needs["ListTaskInstances"] == "read"
    assert needs["UpdateTask"] == needs["SubmitTask"] == needs["CreateWorkflow"] == "write"
    assert needs["RerunTaskInstancesAsync"] == needs["KillTaskInstancesAsync"] == "operate"
    assert needs["CreateProjectMember"] == needs["GrantMemberProjectRole"] == "manage"
    assert needs["CreateWorkflowPermissions"] == "manage"
    assert needs["CreateProject"] == needs["AuthorizePrivileges"] == "service"


def test_every_role_against_every_action(walk: tuple[str, dict[str, Api]]) -> None:
    project, users = walk
    registry = load_actions()
    clients = {(role, version): CommonClient("wedata", version, user.common.credential, "ap-guangzhou",
                                             user.common.profile)
               for role, user in users.items() for version in registry}
    wrong: list[str] = []
    calls = 0
    for name, version, need in table():
        if need == "service":
            continue
        body = placeholder(registry[version][name].request_type)
        body["ProjectId"] = project
        for role in ROLES:
            allowed = need in ALLOWED[role]
            if allowed and name in DESTRUCTIVE:
                continue
            calls += 1
            try:
                clients[(role, version)].call_json(name, body)
                code, message = "", ""
            except TencentCloudSDKException as exc:
                code, message = str(exc.code), str(exc.message)
            refused = code == "UnauthorizedOperation" and bool(DENIED.search(message))
            if refused == allowed:
                wrong.append(f"{name} ({need}) as {role}: {'refused' if refused else 'passed'} [{code}] {message}")
            elif refused and need not in message:
                wrong.append(f"{name}: the refusal does not name the {need} permission: {message}")
    assert not wrong, "\n".join(wrong)
    assert calls > 400


def test_what_the_roles_say(walk: tuple[str, dict[str, Api]], sqlite_server: ServerProcess) -> None:
    """Spelled out: a visitor reads but cannot write or operate, an operator reruns but does not
    edit, a developer edits but does not manage members."""
    project, users = walk
    admin = sqlite_server.admin()
    wf = admin.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": unique("wf"), "ParentFolderPath": "/"})
    body = {"ProjectId": project, "WorkflowName": unique("wf"), "ParentFolderPath": "/"}
    visitor, operator, developer = users["Visitor"], users["OperationEngineer"], users["DataEngineer"]
    assert visitor.data("GetWorkflow", {"ProjectId": project, "WorkflowId": wf["WorkflowId"]})["WorkflowName"]
    for user in (visitor, operator):
        err = user.error("CreateWorkflow", body)
        assert err.code == "UnauthorizedOperation" and "write (develop)" in str(err.message)
    err = visitor.error("RerunTaskInstancesAsync", {"ProjectId": project, "InstanceKeyList": ["x_2025-01-01 00:00:00"]})
    assert err.code == "UnauthorizedOperation" and "operate" in str(err.message)
    err = operator.error("RerunTaskInstancesAsync", {"ProjectId": project, "InstanceKeyList": ["x_2025-01-01 00:00:00"]})
    assert err.code != "UnauthorizedOperation"  # past the check: the instance does not exist
    assert developer.data("CreateWorkflow", body)["WorkflowId"]
    err = developer.error("CreateProjectMember", {"ProjectId": project, "UserUins": [str(visitor.uin)],  # type: ignore[attr-defined]
                                                  "RoleIds": [ROLES["DataEngineer"]]})
    assert err.code == "UnauthorizedOperation" and "manage" in str(err.message)
    roles = admin.data("ListProjectMembers", {"ProjectId": project, "UserUin": str(visitor.uin)})  # type: ignore[attr-defined]
    assert [r["RoleId"] for r in roles["Items"][0]["Roles"]] == [ROLES["Visitor"]]


def test_the_newest_actions_are_classified(walk: tuple[str, dict[str, Api]]) -> None:
    """Quality rules, code files and trigger operations, added after the walk was written: in the
    table with the right need, and, spelled out, the roles decide as they should."""
    needs = {name: need for name, _, need in table()}
    assert needs["CreateQualityRule"] == needs["ModifyQualityRuleGroup"] == needs["DeleteQualityRule"] == "write"
    assert needs["ListQualityRules"] == needs["ListQualityRuleGroupExecResultsByPage"] == "read"
    assert needs["KillTriggerWorkflowRuns"] == needs["RerunTriggerWorkflowRunAsync"] == "operate"
    assert needs["CreateTriggerWorkflowRun"] == needs["UpdateOpsTriggerTasksOwner"] == "operate"
    assert needs["SubmitTriggerTask"] == needs["UpdateTriggerWorkflow"] == "write"
    # Code studio changes need membership; the node's own level decides (docs/code-studio.md).
    assert needs["CreateCodeFile"] == needs["DeleteCodeFolder"] == needs["CreateCodePermissions"] == "read"
    assert needs["GetMyCodeMaxPermission"] == needs["ListCodeFolderContents"] == "read"
    project, users = walk
    visitor, operator, developer = users["Visitor"], users["OperationEngineer"], users["DataEngineer"]
    registry = load_actions()["2025-08-06"]

    def body(name: str) -> dict[str, Any]:
        return {**placeholder(registry[name].request_type), "ProjectId": project}

    rule = body("CreateQualityRule")
    for user in (visitor, operator):
        err = user.error("CreateQualityRule", rule)
        assert err.code == "UnauthorizedOperation" and "write (develop)" in err.message
    assert "lacks" not in str(developer.error("CreateQualityRule", rule).message)  # past the check
    kill = body("KillTriggerWorkflowRuns")
    err = visitor.error("KillTriggerWorkflowRuns", kill)
    assert err.code == "UnauthorizedOperation" and "operate" in err.message
    assert "lacks" not in str(operator.error("KillTriggerWorkflowRuns", kill).message)
    # A Visitor writes code in their private folder, not in the shared tree (CAN_VIEW there).
    name = unique("v") + ".py"
    assert visitor.data("CreateCodeFile", {"ProjectId": project, "CodeFileName": name, "ParentFolderPath": "/~"})
    err = visitor.error("CreateCodeFile", {"ProjectId": project, "CodeFileName": name, "ParentFolderPath": "/"})
    assert err.code == "UnauthorizedOperation" and "CAN_EDIT" in err.message
    assert developer.data("CreateCodeFile", {"ProjectId": project, "CodeFileName": name, "ParentFolderPath": "/"})
