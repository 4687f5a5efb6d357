"""Who may do what with a data source (rights, grants) and which tasks name it (related tasks,
the delete rule), through the official SDK."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.actions.datasources.conftest import Db, create_source, names_in, new_project
from tests.support import ADMIN_UIN, Api, ServerProcess, unique

PM = "308335260274237440"  # ProjectManager
DE = "308335260676890624"  # DataEngineer
OPS = "308335260844662784"  # OperationEngineer
VISITOR = "308335260945326080"


def uin(user: Api) -> str:
    return str(user.uin)  # type: ignore[attr-defined]


def add_member(api: Api, project: str, user: Api, *roles: str) -> None:
    api.call("CreateProjectMember", {"ProjectId": project, "UserUins": [uin(user)], "RoleIds": list(roles)})


@pytest.fixture(scope="module")
def team(api: Api, server: ServerProcess) -> dict[str, Any]:
    """A project with a manager, two data engineers, an ops engineer and a visitor; a stranger."""
    project = new_project(api)
    people = {role: server.new_user() for role in ("pm", "de", "de2", "ops", "visitor", "stranger")}
    for who, role in (("pm", PM), ("de", DE), ("de2", DE), ("ops", OPS), ("visitor", VISITOR)):
        add_member(api, project, people[who], role)
    return {"project": project, **people}


# ------------------------------------------------------------------------------------------------
# Rights in the owning project


def test_who_may_create(team: dict[str, Any], postgres: Db) -> None:
    project = team["project"]
    for who in ("pm", "de"):
        create_source(team[who], project, postgres)
    for who in ("ops", "visitor"):
        err = team[who].error("CreateDataSource", {"ProjectId": project, "Name": unique("s"), "Type": "POSTGRE",
                                                   "ProdConProperties": postgres.props()})
        assert err.code == "UnauthorizedOperation" and "DataEngineer" in err.message, who
    err = team["stranger"].error("CreateDataSource", {"ProjectId": project, "Name": unique("s"), "Type": "POSTGRE",
                                                      "ProdConProperties": postgres.props()})
    assert err.code == "UnauthorizedOperation.UserNotInProject"


def test_who_may_read_change_and_grant(api: Api, team: dict[str, Any], postgres: Db) -> None:
    project = team["project"]
    source_id = create_source(team["de"], project, postgres, "mine_" + unique("s"))
    for who in ("pm", "de", "de2", "ops", "visitor"):
        assert team[who].data("GetDataSource", {"ProjectId": project, "Id": source_id})["Id"] == source_id
        assert team[who].data("DescribeDataSourceAuthority", {"Id": source_id}) == {
            "AuthProjectIds": None, "AuthUsers": None}
        assert team[who].data("GetDataSourceRelatedTasks", {"Id": source_id}) == []
    other = new_project(api)
    for who in ("de2", "ops", "visitor"):  # neither its creator nor a project administrator
        for action, params in [
            ("UpdateDataSource", {"ProjectId": project, "Id": source_id, "DisplayName": "x"}),
            ("DeleteDataSource", {"ProjectId": project, "Id": source_id}),
            ("AuthorizeDataSource", {"DataSourceId": str(source_id), "AuthProjectId": other}),
            ("RevokeDataSourceAuthorization", {"DataSourceId": str(source_id)}),
        ]:
            err = team[who].error(action, params)
            # Roles that may not develop at all are refused by the project check first (naming
            # the permission, docs/permissions.md); a DataEngineer by the source's own rule.
            assert err.code == "UnauthorizedOperation" and (
                str(source_id) in err.message or "write (develop)" in err.message), (who, action, err.message)
    stranger = team["stranger"]
    for action, params in [
        ("GetDataSource", {"ProjectId": project, "Id": source_id}),
        ("ListDataSources", {"ProjectId": project}),
        ("DescribeDataSourceAuthority", {"Id": source_id}),
        ("GetDataSourceRelatedTasks", {"Id": source_id}),
        ("AuthorizeDataSource", {"DataSourceId": str(source_id), "AuthProjectId": other}),
        ("RevokeDataSourceAuthorization", {"DataSourceId": str(source_id)}),
    ]:
        assert stranger.error(action, params).code == "UnauthorizedOperation.UserNotInProject", action
    assert api.data("DescribeDataSourceAuthority", {"Id": source_id})["AuthProjectIds"] is None
    # The creator and a project manager may.
    team["de"].call("UpdateDataSource", {"ProjectId": project, "Id": source_id, "DisplayName": "by creator"})
    team["pm"].call("UpdateDataSource", {"ProjectId": project, "Id": source_id, "Description": "by manager"})
    got = api.data("GetDataSource", {"ProjectId": project, "Id": source_id})
    assert (got["DisplayName"], got["Description"], got["ModifyUser"]) == ("by creator", "by manager", uin(team["pm"]))
    assert got["CreateUser"] == uin(team["de"])
    team["pm"].call("DeleteDataSource", {"ProjectId": project, "Id": source_id})


# ------------------------------------------------------------------------------------------------
# Grants


def test_grant_to_a_project_and_revoke(api: Api, server: ServerProcess, postgres: Db) -> None:
    owner = new_project(api)
    source_id = create_source(api, owner, postgres, "shared_" + unique("s"))
    target = new_project(api)
    user = server.new_user()
    add_member(api, target, user, DE)
    assert source_id not in {i["Id"] for i in user.data("ListDataSources", {"ProjectId": target})["Items"]}
    assert user.error("GetDataSource", {"ProjectId": target, "Id": source_id}).code == "ResourceNotFound"
    for _ in range(2):  # granting twice is a no-op
        assert api.data("AuthorizeDataSource", {"DataSourceId": str(source_id), "AuthProjectId": target}) == {
            "Status": True}
    assert api.data("DescribeDataSourceAuthority", {"Id": source_id}) == {"AuthProjectIds": [target], "AuthUsers": None}
    items = user.data("ListDataSources", {"ProjectId": target})["Items"]
    assert [i["ProjectId"] for i in items if i["Id"] == source_id] == [owner]
    assert user.data("GetDataSource", {"ProjectId": target, "Id": source_id})["ProdConProperties"].count("********")
    # Granted is not owned: it is changed in its own project only.
    assert user.error("UpdateDataSource", {"ProjectId": target, "Id": source_id,
                                           "DisplayName": "x"}).code == "ResourceNotFound"
    assert user.error("DeleteDataSource", {"ProjectId": target, "Id": source_id}).code == "ResourceNotFound"
    assert api.data("RevokeDataSourceAuthorization", {"DataSourceId": str(source_id), "RevokeProjectId": target}) == {
        "Status": True}
    assert api.data("DescribeDataSourceAuthority", {"Id": source_id}) == {"AuthProjectIds": None, "AuthUsers": None}
    assert user.error("GetDataSource", {"ProjectId": target, "Id": source_id}).code == "ResourceNotFound"


def test_grant_to_users(api: Api, server: ServerProcess, postgres: Db) -> None:
    owner = new_project(api)
    source_id = create_source(api, owner, postgres)
    target = new_project(api)
    alice, bob = server.new_user(), server.new_user()
    add_member(api, target, alice, DE)
    add_member(api, target, bob, DE)
    api.call("AuthorizeDataSource", {"DataSourceId": str(source_id), "AuthUsers": [f"{target}_{uin(alice)}"]})
    assert api.data("DescribeDataSourceAuthority", {"Id": source_id}) == {
        "AuthProjectIds": None, "AuthUsers": [f"{target}_{uin(alice)}"]}
    assert alice.data("GetDataSource", {"ProjectId": target, "Id": source_id})["Id"] == source_id
    assert bob.error("GetDataSource", {"ProjectId": target, "Id": source_id}).code == "ResourceNotFound"
    api.call("RevokeDataSourceAuthorization", {"DataSourceId": str(source_id), "RevokeUser": f"{target}_{uin(alice)}"})
    assert alice.error("GetDataSource", {"ProjectId": target, "Id": source_id}).code == "ResourceNotFound"
    # Revoking with neither field removes every grant.
    api.call("AuthorizeDataSource", {"DataSourceId": str(source_id), "AuthProjectId": target})
    api.call("AuthorizeDataSource", {"DataSourceId": str(source_id), "AuthUsers": [f"{target}_{uin(bob)}"]})
    api.call("RevokeDataSourceAuthorization", {"DataSourceId": str(source_id)})
    assert api.data("DescribeDataSourceAuthority", {"Id": source_id}) == {"AuthProjectIds": None, "AuthUsers": None}


def test_bad_grants_change_nothing(api: Api, server: ServerProcess, postgres: Db) -> None:
    owner = new_project(api)
    source_id = create_source(api, owner, postgres)
    target, third = new_project(api), new_project(api)
    member, stranger = server.new_user(), server.new_user()
    add_member(api, target, member, VISITOR)
    api.call("AuthorizeDataSource", {"DataSourceId": str(source_id), "AuthProjectId": third})
    before = api.data("DescribeDataSourceAuthority", {"Id": source_id})
    sid = str(source_id)
    for params, code, words in [
        ({"AuthProjectId": target, "AuthUsers": [f"{target}_{uin(member)}"]}, "InvalidParameterValue", "not both"),
        ({}, "InvalidParameterValue", "AuthProjectId or AuthUsers"),
        ({"AuthProjectId": owner}, "InvalidParameterValue", "AuthProjectId"),
        ({"AuthUsers": [f"{owner}_{ADMIN_UIN}"]}, "InvalidParameterValue", "AuthUsers"),
        ({"AuthProjectId": "1234567890123456789"}, "ResourceNotFound", "AuthProjectId"),
        ({"AuthProjectId": "x\u0000y"}, "InvalidParameterValue", "AuthProjectId"),
        ({"AuthUsers": ["nonsense"]}, "InvalidParameterValue", "AuthUsers"),
        ({"AuthUsers": [f"{target}_{uin(stranger)}"]}, "InvalidParameterValue", uin(stranger)),
        ({"AuthUsers": [f"{target}_{uin(member)}", f"{third}_{ADMIN_UIN}"]}, "InvalidParameterValue", "one project"),
    ]:
        err = api.error("AuthorizeDataSource", {"DataSourceId": sid, **params})
        assert (err.code, words in err.message) == (code, True), (params, err.message)
    err = api.error("RevokeDataSourceAuthorization", {"DataSourceId": sid, "RevokeProjectId": third,
                                                      "RevokeUser": f"{third}_{ADMIN_UIN}"})
    assert err.code == "InvalidParameterValue"
    err = api.error("RevokeDataSourceAuthorization", {"DataSourceId": sid, "RevokeUser": "bad"})
    assert err.code == "InvalidParameterValue" and "RevokeUser" in err.message
    assert api.data("DescribeDataSourceAuthority", {"Id": source_id}) == before == {
        "AuthProjectIds": [third], "AuthUsers": None}


# ------------------------------------------------------------------------------------------------
# Tasks that name a source: GetDataSourceRelatedTasks and the delete rule


def _workflow(api: Api, project: str) -> str:
    return str(api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": unique("wf"),
                                           "ParentFolderPath": "/"})["WorkflowId"])


def _sql_task(api: Api, project: str, workflow: str, source: str, **sched: Any) -> str:
    return str(api.data("CreateTask", {
        "ProjectId": project,
        "TaskBaseAttribute": {"TaskName": unique("sql"), "TaskTypeId": "21", "WorkflowId": workflow},
        "TaskConfiguration": {"CodeContent": base64.b64encode(b"SELECT 1").decode(), "SourceServiceId": source},
        "TaskSchedulerConfiguration": {"StartTime": "2025-01-01 00:00:00", **sched},
    })["TaskId"])


def test_related_tasks_and_the_delete_rule(api: Api, postgres: Db) -> None:
    project = new_project(api)
    workflow = _workflow(api, project)
    used, spare = create_source(api, project, postgres), create_source(api, project, postgres)
    draft = _sql_task(api, project, workflow, str(used))  # saved, never submitted
    # A dry run (ScheduleType 1) is submitted for any type, whatever sources it names.
    prod = _sql_task(api, project, workflow, f"{spare};{used}", ScheduleType=1)
    api.call("SubmitTask", {"ProjectId": project, "TaskId": prod, "VersionRemark": "v1"})
    related = api.data("GetDataSourceRelatedTasks", {"Id": used})
    assert len(related) == 1 and related[0]["ProjectId"] == project and related[0]["ProjectName"]
    (info,) = related[0]["TaskInfo"]
    assert info["TaskType"] == "DataDevelopment" and info["TaskNum"] == 2
    assert {t["TaskId"] for t in info["TaskList"]} == {draft, prod}
    assert all(t["OwnerUinList"] == [ADMIN_UIN] and t["TaskName"] and t["CreateTime"] for t in info["TaskList"])
    # A submitted task uses it: refused, naming the task; a draft alone does not hold it.
    err = api.error("DeleteDataSource", {"ProjectId": project, "Id": used})
    assert err.code == "ResourceInUse" and prod in err.message and draft not in err.message
    assert api.error("DeleteDataSource", {"ProjectId": project, "Id": spare}).code == "ResourceInUse"
    assert used in {i["Id"] for i in api.data("ListDataSources", {"ProjectId": project})["Items"]}
    # Point the production version elsewhere: the source is free (the draft still names it).
    other = create_source(api, project, postgres)
    api.call("UpdateTaskPartially", {"ProjectId": project, "TaskId": prod,
                                     "NewSetting": {"TaskConfiguration": {"SourceServiceId": str(other)}}})
    api.call("SubmitTask", {"ProjectId": project, "TaskId": prod, "VersionRemark": "v2"})
    assert api.data("DeleteDataSource", {"ProjectId": project, "Id": used}) == {"Status": True}
    assert api.data("DeleteDataSource", {"ProjectId": project, "Id": spare}) == {"Status": True}
    assert {t["TaskId"] for t in api.data("GetDataSourceRelatedTasks", {"Id": other})[0]["TaskInfo"][0][
        "TaskList"]} == {prod}
    assert api.data("GetDataSourceRelatedTasks", {"Id": create_source(api, project, postgres)}) == []
    assert names_in(api, project)


def test_a_task_of_a_project_without_a_grant_neither_relates_to_a_source_nor_holds_it(
        api: Api, server: ServerProcess, postgres: Db) -> None:
    """Any member of any project may save (and dry-run submit) a task naming any number: a task in
    a project the source is not granted to cannot use it, so it is not listed and does not keep
    the owner from deleting the source. Once the project is granted the source, it counts."""
    project, elsewhere = new_project(api), new_project(api)
    source = create_source(api, project, postgres)
    mallory = server.new_user()
    add_member(api, elsewhere, mallory, PM)
    squatter = _sql_task(mallory, elsewhere, _workflow(mallory, elsewhere), str(source), ScheduleType=1)
    mallory.call("SubmitTask", {"ProjectId": elsewhere, "TaskId": squatter, "VersionRemark": "v1"})
    assert api.data("GetDataSourceRelatedTasks", {"Id": source}) == []
    api.call("AuthorizeDataSource", {"DataSourceId": str(source), "AuthProjectId": elsewhere})
    (related,) = api.data("GetDataSourceRelatedTasks", {"Id": source})
    assert related["ProjectId"] == elsewhere
    assert [t["TaskId"] for t in related["TaskInfo"][0]["TaskList"]] == [squatter]
    err = api.error("DeleteDataSource", {"ProjectId": project, "Id": source})
    assert err.code == "ResourceInUse" and squatter in err.message
    api.call("RevokeDataSourceAuthorization", {"DataSourceId": str(source), "RevokeProjectId": elsewhere})
    assert api.data("DeleteDataSource", {"ProjectId": project, "Id": source}) == {"Status": True}
