"""Who may operate production (services/projects/access.py), through the official SDK on
SQLite and PostgreSQL: a Visitor reads instances but is refused every operation with
UnauthorizedOperation, and nothing changes; an OperationEngineer or DataEngineer operates."""

from __future__ import annotations

from typing import Any

import pytest

from tests.actions.instances.test_instances import Space, new_space, submit, wait_for
from tests.support import Api, ServerProcess

VISITOR = "308335260945326080"
OPERATION_ENGINEER = "308335260844662784"


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


@pytest.fixture(scope="module")
def finished(api: Api, space: Space) -> dict[str, Any]:
    task_id = submit(api, space, "echo done")
    (item,) = wait_for(api, space, task_id, {"COMPLETED"})
    return item


def member(server: ServerProcess, api: Api, space: Space, role: str) -> Api:
    user = server.new_user()
    api.call("CreateProjectMember", {"ProjectId": space.project, "UserUins": [user.uin],  # type: ignore[attr-defined]
                                     "RoleIds": [role]})
    return user


def test_a_visitor_reads_but_may_not_operate(server: ServerProcess, api: Api, space: Space,
                                             finished: dict[str, Any]) -> None:
    visitor = member(server, api, space, VISITOR)
    key = finished["InstanceKey"]
    got = visitor.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": key})
    assert got["InstanceState"] == "COMPLETED"
    keys = {"ProjectId": space.project, "InstanceKeyList": [key]}
    tasks = {"ProjectId": space.project, "TaskIds": [finished["TaskId"]]}
    for action, params in (("RerunTaskInstancesAsync", keys), ("KillTaskInstancesAsync", keys),
                           ("SetSuccessTaskInstancesAsync", keys), ("PauseOpsTasksAsync", tasks),
                           ("StopOpsTasksAsync", tasks), ("StartOpsTasks", tasks),
                           ("UpdateOpsTasksOwner", {**tasks, "OwnerUin": visitor.uin})):  # type: ignore[attr-defined]
        err = visitor.error(action, params)
        assert err.code == "UnauthorizedOperation", (action, err.code)
        assert "Visitor" in str(err.message) and "ProjectManager" in str(err.message)
    after = api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": key})
    assert (after["InstanceState"], after["TotalRunNum"]) == ("COMPLETED", finished["TotalRunNum"])


def test_an_operation_engineer_operates(server: ServerProcess, api: Api, space: Space,
                                        finished: dict[str, Any]) -> None:
    engineer = member(server, api, space, OPERATION_ENGINEER)
    answer = engineer.data("SetSuccessTaskInstancesAsync",
                           {"ProjectId": space.project, "InstanceKeyList": [finished["InstanceKey"]]})
    assert answer["AsyncId"]
