"""Projects, members and roles through the official SDK, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support import ADMIN_UIN, Api, ServerProcess, unique

PM = "308335260274237440"  # ProjectManager
DE = "308335260676890624"  # DataEngineer
OPS = "308335260844662784"  # OperationEngineer
VISITOR = "308335260945326080"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")


def new_project(api: Api, **project: Any) -> tuple[str, str]:
    name = unique("p")
    body = {"ProjectName": name, "DisplayName": name, **project}
    project_id = api.data("CreateProject", {"Project": body})["ProjectId"]
    return project_id, body["ProjectName"]


def members(api: Api, project_id: str, **filters: Any) -> dict[str, Any]:
    return api.data("ListProjectMembers", {"ProjectId": project_id, "PageSize": 100, **filters})


def roles_of(api: Api, project_id: str, uin: str) -> set[str]:
    items = members(api, project_id, UserUin=uin)["Items"]
    return {r["RoleId"] for item in items if item["UserUin"] == uin for r in item["Roles"]}


def uin(api: Api) -> str:
    """The user id of a credential made by ``server.new_user()``."""
    return str(api.uin)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def user(server: ServerProcess) -> Api:
    return server.new_user()


# ------------------------------------------------------------------------------------------------
# CreateProject / GetProject


def test_create_and_get_project(api: Api) -> None:
    project_id, name = new_project(api)
    assert re.fullmatch(r"\d{19}", project_id)
    resp = api.call("GetProject", {"ProjectId": project_id})
    data = resp["Data"]
    assert data["ProjectId"] == project_id
    assert data["ProjectName"] == name and data["DisplayName"] == name
    assert data["CreatorUin"] == ADMIN_UIN and data["ProjectOwnerUin"] == ADMIN_UIN
    assert data["Status"] == 1 and data["DisplayStatus"] == "ENABLED"
    assert data["ProjectModel"] == "SIMPLE"
    assert data["WorkspaceExt"] == [{"Key": "scheduleMode", "Value": "task"}]
    assert ISO.match(data["CreateTime"])
    assert "Description" in data and data["Description"] is None


def test_get_project_wire_has_every_field(api: Api) -> None:
    project_id, _ = new_project(api)
    raw = api.raw("GetProject", {"ProjectId": project_id})
    assert set(raw["Data"]) == {
        "ProjectId", "ProjectName", "DisplayName", "Description", "CreateTime", "CreatorUin",
        "ProjectOwnerUin", "Status", "DisplayStatus", "ProjectModel", "WorkspaceExt",
    }  # fmt: skip


def test_create_project_creator_is_admin_member(server: ServerProcess) -> None:
    user = server.new_user()
    project_id, _ = new_project(user, ProjectModel="STANDARD", ScheduleMode="workflow")
    data = user.data("GetProject", {"ProjectId": project_id})
    assert data["CreatorUin"] == uin(user) and data["ProjectOwnerUin"] == uin(user)
    assert data["ProjectModel"] == "STANDARD"
    assert data["WorkspaceExt"] == [{"Key": "scheduleMode", "Value": "workflow"}]
    items = members(user, project_id)["Items"]
    assert len(items) == 1
    me = items[0]
    assert me["UserUin"] == uin(user)
    assert me["IsCreator"] is True and me["IsProjectOwner"] is True
    assert [r["RoleId"] for r in me["Roles"]] == [PM]
    assert me["Roles"][0]["RoleName"] == "ProjectManager"
    assert ISO.match(me["CreateTime"])


@pytest.mark.parametrize(
    "bad",
    ["1abc", "_abc", "a-b", "a b", "", "a" * 33, "项目"],
)
def test_create_project_bad_name(api: Api, bad: str) -> None:
    err = api.error("CreateProject", {"Project": {"ProjectName": bad, "DisplayName": "x"}})
    assert err.code == "InvalidParameterValue"


def test_create_project_name_limits_ok(api: Api) -> None:
    name = ("a" + unique("")[1:] + "_" * 40)[:32]
    project_id = api.data("CreateProject", {"Project": {"ProjectName": name, "DisplayName": "中文名称"}})[
        "ProjectId"
    ]
    data = api.data("GetProject", {"ProjectId": project_id})
    assert data["ProjectName"] == name and data["DisplayName"] == "中文名称"


@pytest.mark.parametrize(
    "project",
    [
        {"DisplayName": "x" * 33},
        {"DisplayName": "  "},
        {"ProjectModel": "FANCY"},
        {"ScheduleMode": "cron"},
    ],
)
def test_create_project_bad_values(api: Api, project: dict[str, Any]) -> None:
    name = unique("p")
    err = api.error("CreateProject", {"Project": {"ProjectName": name, "DisplayName": name, **project}})
    assert err.code == "InvalidParameterValue"
    assert api.data("ListProjects", {"ProjectName": name})["TotalCount"] == 0


def test_create_project_missing_and_unknown_fields(api: Api) -> None:
    assert api.error("CreateProject", {}, raw=True).code == "MissingParameter"
    assert (
        api.error("CreateProject", {"Project": {"ProjectName": "abc"}}, raw=True).code == "MissingParameter"
    )
    name = unique("p")
    err = api.error(
        "CreateProject", {"Project": {"ProjectName": name, "DisplayName": name, "Color": 1}}, raw=True
    )
    assert err.code == "UnknownParameter"
    err = api.error("CreateProject", {"Project": {"ProjectName": 5, "DisplayName": name}}, raw=True)
    assert err.code == "InvalidParameterValue"
    assert api.data("ListProjects", {"ProjectName": name})["TotalCount"] == 0


def test_create_project_duplicate_name(api: Api) -> None:
    project_id, name = new_project(api)
    err = api.error("CreateProject", {"Project": {"ProjectName": name, "DisplayName": unique("d")}})
    assert err.code == "InvalidParameter.WorkspaceNameDuplication"
    assert api.data("ListProjects", {"ProjectName": name})["TotalCount"] == 1


def test_create_project_with_dlc_info(api: Api) -> None:
    name = unique("p")
    dlc = {"ComputeResources": ["engine1"], "Region": "ap-guangzhou", "DefaultDatabase": "db1"}
    project_id = api.data(
        "CreateProject", {"Project": {"ProjectName": name, "DisplayName": name}, "DLCInfo": dlc}
    )["ProjectId"]
    assert api.data("GetProject", {"ProjectId": project_id})["ProjectId"] == project_id
    # A STANDARD project's DLC binding needs the environment tag and the access account.
    name2 = unique("p")
    err = api.error(
        "CreateProject",
        {"Project": {"ProjectName": name2, "DisplayName": name2, "ProjectModel": "STANDARD"}, "DLCInfo": dlc},
    )
    assert err.code == "InvalidParameterValue"
    err = api.error(
        "CreateProject",
        {"Project": {"ProjectName": name2, "DisplayName": name2}, "DLCInfo": {**dlc, "AccessAccount": "ME"}},
    )
    assert err.code == "InvalidParameterValue"
    assert api.data("ListProjects", {"ProjectName": name2})["TotalCount"] == 0


def test_get_project_errors(api: Api, user: Api) -> None:
    project_id, _ = new_project(api)
    assert api.error("GetProject", {}, raw=True).code == "MissingParameter"
    assert api.error("GetProject", {"ProjectId": "1234567890123456789"}).code == "ResourceNotFound"
    assert user.error("GetProject", {"ProjectId": "1234567890123456789"}).code == "ResourceNotFound"
    assert api.error("GetProject", {"ProjectId": project_id, "Extra": 1}, raw=True).code == "UnknownParameter"


def test_create_project_binds_resource_groups(api: Api) -> None:
    group = unique("rg")
    group_id = api.data(
        "CreateResourceGroup",
        {
            "Name": group,
            "Type": {"ResourceGroupType": "Schedule", "Schedule": {"Specification": "s_test", "Number": 1}},
            "AutoRenewEnabled": False,
            "PurchasePeriod": 1,
            "VpcId": "vpc-1",
            "SubNet": "subnet-1",
            "ResourceRegion": "ap-guangzhou",
        },
    )["ResourceGroupId"]
    name = unique("p")
    project_id = api.data(
        "CreateProject", {"Project": {"ProjectName": name, "DisplayName": name}, "ResourceIds": [group_id]}
    )["ProjectId"]
    listed = api.data("ListResourceGroups", {"ProjectIds": [project_id]})
    assert [g["Id"] for g in listed["Items"]] == [group_id]
    assert listed["Items"][0]["AssociateProjects"][0]["ProjectId"] == project_id
    # An unknown group id: nothing is created.
    name2 = unique("p")
    err = api.error(
        "CreateProject",
        {
            "Project": {"ProjectName": name2, "DisplayName": name2},
            "ResourceIds": [group_id, "99999999999999999999"],
        },
    )
    assert err.code == "ResourceNotFound"
    assert api.data("ListProjects", {"ProjectName": name2})["TotalCount"] == 0
    assert len(api.data("ListResourceGroups", {"Id": group_id})["Items"][0]["AssociateProjects"]) == 1


# ------------------------------------------------------------------------------------------------
# ListProjects


def test_list_projects_filters_and_paging(api: Api) -> None:
    tag = unique("lp").lower()
    ids = []
    for i in range(3):
        name = f"{tag}_{i}"
        model = "STANDARD" if i == 2 else "SIMPLE"
        body = {"ProjectName": name, "DisplayName": f"显示{tag}{i}", "ProjectModel": model}
        ids.append(api.data("CreateProject", {"Project": body})["ProjectId"])
    everything = api.data("ListProjects", {"ProjectName": tag, "PageSize": 10})
    assert everything["TotalCount"] == 3 and everything["TotalPageNumber"] == 1
    assert everything["PageNumber"] == 1 and everything["PageSize"] == 10
    # Newest first.
    assert [p["ProjectId"] for p in everything["Items"]] == ids[::-1]
    assert set(everything["Items"][0]) >= {"ProjectId", "ProjectName", "WorkspaceExt", "DisplayStatus"}
    # Fuzzy on the display name too, case-insensitive on the name.
    assert api.data("ListProjects", {"ProjectName": f"显示{tag}1"})["TotalCount"] == 1
    assert api.data("ListProjects", {"ProjectName": tag.upper()})["TotalCount"] == 3
    # LIKE wildcards in the filter are literal.
    assert api.data("ListProjects", {"ProjectName": tag.replace("_", "%")})["TotalCount"] == 0
    assert api.data("ListProjects", {"ProjectName": tag, "ProjectModel": "STANDARD"})["TotalCount"] == 1
    assert api.data("ListProjects", {"ProjectIds": ids[:2]})["TotalCount"] == 2
    page2 = api.data("ListProjects", {"ProjectName": tag, "PageSize": 2, "PageNumber": 2})
    assert page2["TotalCount"] == 3 and page2["TotalPageNumber"] == 2
    assert [p["ProjectId"] for p in page2["Items"]] == [ids[0]]
    api.call("DisableProject", {"ProjectId": ids[1]})
    disabled = api.data("ListProjects", {"ProjectName": tag, "Status": 0})
    assert [p["ProjectId"] for p in disabled["Items"]] == [ids[1]]
    assert disabled["Items"][0]["Status"] == 0 and disabled["Items"][0]["DisplayStatus"] == "UNABLED"
    assert api.data("ListProjects", {"ProjectName": tag, "Status": 1})["TotalCount"] == 2


def test_a_non_member_sees_the_project_record_in_list_and_get_alike_and_nothing_inside(
    api: Api, user: Api
) -> None:
    """WeData: ListProjects is the tenant-wide list, whatever the caller may view; GetProject
    answers a non-member the same record (services/projects/projects.py); what is inside the
    project needs membership."""
    project_id, name = new_project(api)
    api.call("UpdateProject", {"ProjectId": project_id, "Description": "inside"})
    listed = user.data("ListProjects", {"ProjectIds": [project_id]})
    assert [p["ProjectName"] for p in listed["Items"]] == [name]
    assert listed["TotalCount"] == 1
    got = user.data("GetProject", {"ProjectId": project_id})
    assert got == listed["Items"][0] == api.data("GetProject", {"ProjectId": project_id})
    assert got["ProjectOwnerUin"] == ADMIN_UIN and got["Description"] == "inside"
    for action in ("ListProjectMembers", "ListProjectRoles", "ListTasks"):
        assert user.error(action, {"ProjectId": project_id}).code == "UnauthorizedOperation.UserNotInProject"
    # A deleted project is gone for everyone.
    api.call("DeleteProject", {"ProjectId": project_id})
    assert user.data("ListProjects", {"ProjectIds": [project_id]})["TotalCount"] == 0
    assert user.error("GetProject", {"ProjectId": project_id}).code == "ResourceNotFound"


@pytest.mark.parametrize(
    "params",
    [{"PageSize": 0}, {"PageSize": 201}, {"PageNumber": 0}, {"Status": 2}, {"ProjectModel": "OTHER"}],
)
def test_list_projects_bad_values(api: Api, params: dict[str, Any]) -> None:
    assert api.error("ListProjects", params).code == "InvalidParameterValue"


def test_list_projects_wrong_types(api: Api) -> None:
    assert api.error("ListProjects", {"PageSize": "many"}, raw=True).code == "InvalidParameterValue"
    assert api.error("ListProjects", {"ProjectIds": "1"}, raw=True).code == "InvalidParameterValue"
    assert api.error("ListProjects", {"Owner": "x"}, raw=True).code == "UnknownParameter"


# ------------------------------------------------------------------------------------------------
# UpdateProject


def test_update_project(api: Api, server: ServerProcess) -> None:
    project_id, name = new_project(api)
    display = unique("显示")[:32]
    resp = api.call(
        "UpdateProject", {"ProjectId": project_id, "DisplayName": display, "Description": "about"}
    )
    assert set(resp) == {"RequestId"}
    data = api.data("GetProject", {"ProjectId": project_id})
    assert data["DisplayName"] == display and data["Description"] == "about"
    assert data["ProjectName"] == name
    # Ownership goes to an existing member only.
    other = server.new_user()
    err = api.error("UpdateProject", {"ProjectId": project_id, "ProjectOwnerUin": uin(other)})
    assert err.code == "InvalidParameterValue"
    assert api.data("GetProject", {"ProjectId": project_id})["ProjectOwnerUin"] == ADMIN_UIN
    api.call("CreateProjectMember", {"ProjectId": project_id, "UserUins": [uin(other)], "RoleIds": [DE]})
    api.call("UpdateProject", {"ProjectId": project_id, "ProjectOwnerUin": uin(other)})
    data = api.data("GetProject", {"ProjectId": project_id})
    assert data["ProjectOwnerUin"] == uin(other) and data["CreatorUin"] == ADMIN_UIN
    owner_row = members(api, project_id, UserUin=uin(other))["Items"][0]
    assert owner_row["IsProjectOwner"] is True and owner_row["IsCreator"] is False
    # The owner administers the project even without the ProjectManager role.
    other.call("UpdateProject", {"ProjectId": project_id, "Description": "by owner"})
    assert api.data("GetProject", {"ProjectId": project_id})["Description"] == "by owner"


def test_update_project_display_name_unique(api: Api) -> None:
    first, _ = new_project(api)
    second, _ = new_project(api)
    display = unique("d")
    api.call("UpdateProject", {"ProjectId": first, "DisplayName": display})
    err = api.error("UpdateProject", {"ProjectId": second, "DisplayName": display, "Description": "no"})
    assert err.code == "InvalidParameter.WorkspaceNameDuplication"
    data = api.data("GetProject", {"ProjectId": second})
    assert data["DisplayName"] != display and data["Description"] is None
    # Keeping one's own display name is fine.
    api.call("UpdateProject", {"ProjectId": first, "DisplayName": display})
    # A deleted project frees its display name.
    api.call("DeleteProject", {"ProjectId": first})
    api.call("UpdateProject", {"ProjectId": second, "DisplayName": display})
    assert api.data("GetProject", {"ProjectId": second})["DisplayName"] == display


def test_update_project_errors(api: Api, user: Api) -> None:
    project_id, _ = new_project(api)
    assert api.error("UpdateProject", {"DisplayName": "x"}, raw=True).code == "MissingParameter"
    assert api.error("UpdateProject", {"ProjectId": "1234567890123456789"}).code == "ResourceNotFound"
    err = user.error("UpdateProject", {"ProjectId": project_id, "Description": "x"})
    assert err.code == "UnauthorizedOperation.UserNotInProject"
    assert api.error("UpdateProject", {"ProjectId": project_id, "DisplayName": "x" * 33}).code == (
        "InvalidParameterValue"
    )
    assert api.error("UpdateProject", {"ProjectId": project_id, "ProjectOwnerUin": "abc"}).code == (
        "InvalidParameterValue"
    )
    assert api.error("UpdateProject", {"ProjectId": project_id, "Description": 5}, raw=True).code == (
        "InvalidParameterValue"
    )
    assert api.data("GetProject", {"ProjectId": project_id})["Description"] is None


def test_non_admin_member_cannot_change_project(api: Api, server: ServerProcess) -> None:
    project_id, _ = new_project(api)
    engineer = server.new_user()
    api.call(
        "CreateProjectMember", {"ProjectId": project_id, "UserUins": [uin(engineer)], "RoleIds": [DE, OPS]}
    )
    # Members read ...
    assert engineer.data("GetProject", {"ProjectId": project_id})["ProjectId"] == project_id
    assert engineer.data("ListProjectMembers", {"ProjectId": project_id})["TotalCount"] == 2
    # ... but only administrators change.
    steps: list[tuple[str, dict[str, Any]]] = [
        ("UpdateProject", {"Description": "x"}),
        ("DisableProject", {}),
        ("EnableProject", {}),
        ("DeleteProject", {}),
        ("CreateProjectMember", {"UserUins": ["123456"], "RoleIds": [VISITOR]}),
        ("DeleteProjectMember", {"UserUins": [ADMIN_UIN]}),
        ("GrantMemberProjectRole", {"UserUin": uin(engineer), "RoleIds": [PM]}),
        ("RemoveMemberProjectRole", {"UserUin": uin(engineer), "RoleIds": [OPS]}),
    ]
    for action, params in steps:
        err = engineer.error(action, {"ProjectId": project_id, **params})
        assert err.code == "UnauthorizedOperation", action
    data = api.data("GetProject", {"ProjectId": project_id})
    assert data["Description"] is None and data["Status"] == 1
    assert members(api, project_id)["TotalCount"] == 2
    assert roles_of(api, project_id, uin(engineer)) == {DE, OPS}
    # Granted ProjectManager, the member may administer.
    api.call("GrantMemberProjectRole", {"ProjectId": project_id, "UserUin": uin(engineer), "RoleIds": [PM]})
    engineer.call("UpdateProject", {"ProjectId": project_id, "Description": "managed"})
    assert api.data("GetProject", {"ProjectId": project_id})["Description"] == "managed"


# ------------------------------------------------------------------------------------------------
# Enable / Disable / Delete


def test_enable_disable_project(api: Api) -> None:
    project_id, _ = new_project(api)
    assert api.data("DisableProject", {"ProjectId": project_id}) == {"Status": True}
    data = api.data("GetProject", {"ProjectId": project_id})
    assert data["Status"] == 0 and data["DisplayStatus"] == "UNABLED"
    assert api.data("DisableProject", {"ProjectId": project_id}) == {"Status": True}
    assert api.data("EnableProject", {"ProjectId": project_id}) == {"Status": True}
    data = api.data("GetProject", {"ProjectId": project_id})
    assert data["Status"] == 1 and data["DisplayStatus"] == "ENABLED"
    assert api.error("EnableProject", {}, raw=True).code == "MissingParameter"
    assert api.error("DisableProject", {"ProjectId": "1234567890123456789"}).code == "ResourceNotFound"


def test_delete_project(api: Api, server: ServerProcess) -> None:
    project_id, name = new_project(api)
    member = server.new_user()
    api.call(
        "CreateProjectMember", {"ProjectId": project_id, "UserUins": [uin(member)], "RoleIds": [VISITOR]}
    )
    assert api.data("DeleteProject", {"ProjectId": project_id}) == {"Status": True}
    steps: list[tuple[str, dict[str, Any]]] = [
        ("GetProject", {}),
        ("UpdateProject", {"Description": "x"}),
        ("DeleteProject", {}),
        ("EnableProject", {}),
        ("DisableProject", {}),
        ("ListProjectMembers", {}),
        ("ListProjectRoles", {}),
        ("CreateProjectMember", {"UserUins": ["123"], "RoleIds": [PM]}),
        ("DeleteProjectMember", {"UserUins": [uin(member)]}),
        ("GrantMemberProjectRole", {"UserUin": uin(member), "RoleIds": [PM]}),
        ("RemoveMemberProjectRole", {"UserUin": uin(member), "RoleIds": [VISITOR]}),
    ]
    for action, params in steps:
        assert api.error(action, {"ProjectId": project_id, **params}).code == "ResourceNotFound", action
    assert member.error("GetProject", {"ProjectId": project_id}).code == "ResourceNotFound"
    assert api.data("ListProjects", {"ProjectIds": [project_id]})["TotalCount"] == 0
    # The name is free again.
    again = api.data("CreateProject", {"Project": {"ProjectName": name, "DisplayName": name}})["ProjectId"]
    assert again != project_id
    assert api.data("GetProject", {"ProjectId": again})["ProjectName"] == name


def test_delete_project_by_non_member(api: Api, user: Api) -> None:
    project_id, _ = new_project(api)
    assert (
        user.error("DeleteProject", {"ProjectId": project_id}).code
        == "UnauthorizedOperation.UserNotInProject"
    )
    assert api.data("GetProject", {"ProjectId": project_id})["ProjectId"] == project_id


# ------------------------------------------------------------------------------------------------
# Members


def test_project_members_lifecycle(api: Api, server: ServerProcess) -> None:
    project_id, _ = new_project(api)
    a, b = server.new_user(), server.new_user()
    resp = api.call(
        "CreateProjectMember",
        {"ProjectId": project_id, "UserUins": [uin(a), uin(b)], "RoleIds": [DE, VISITOR]},
    )
    assert resp["Data"] == {"Status": True}
    page = members(api, project_id)
    assert page["TotalCount"] == 3 and page["PageNumber"] == 1 and page["TotalPageNumber"] == 1
    by_uin = {m["UserUin"]: m for m in page["Items"]}
    assert set(by_uin) == {ADMIN_UIN, uin(a), uin(b)}
    assert [r["RoleId"] for r in by_uin[uin(a)]["Roles"]] == [DE, VISITOR]
    assert by_uin[uin(a)]["IsCreator"] is False and by_uin[uin(a)]["IsProjectOwner"] is False
    assert by_uin[ADMIN_UIN]["IsCreator"] is True
    assert set(by_uin[uin(a)]) == {
        "AppId", "RootAccountId", "UserUin", "UserName", "DisplayName", "Roles", "IsCreator", "CreateTime",
        "IsProjectOwner", "PhoneNum", "Email",
    }  # fmt: skip
    role = by_uin[uin(a)]["Roles"][0]
    assert role == {
        "RoleId": DE,
        "RoleName": "DataEngineer",
        "RoleDisplayName": "数据工程师",
        "Description": role["Description"],
    }
    # The new member can now read the project.
    assert a.data("GetProject", {"ProjectId": project_id})["ProjectId"] == project_id
    # Adding an existing member merges roles.
    api.call("CreateProjectMember", {"ProjectId": project_id, "UserUins": [uin(a)], "RoleIds": [OPS, DE]})
    assert roles_of(api, project_id, uin(a)) == {DE, VISITOR, OPS}
    assert members(api, project_id)["TotalCount"] == 3
    # Remove b.
    resp = api.call("DeleteProjectMember", {"ProjectId": project_id, "UserUins": [uin(b)]})
    assert set(resp) == {"RequestId"}
    assert {m["UserUin"] for m in members(api, project_id)["Items"]} == {ADMIN_UIN, uin(a)}
    assert (
        b.error("ListProjectMembers", {"ProjectId": project_id}).code == "UnauthorizedOperation.UserNotInProject"
    )
    # Re-adding b starts from the new roles only.
    api.call("CreateProjectMember", {"ProjectId": project_id, "UserUins": [uin(b)], "RoleIds": [OPS]})
    assert roles_of(api, project_id, uin(b)) == {OPS}


def test_list_project_members_filters_and_paging(api: Api) -> None:
    project_id, _ = new_project(api)
    uins = [f"77{n:010d}" for n in range(1, 6)]
    api.call("CreateProjectMember", {"ProjectId": project_id, "UserUins": uins, "RoleIds": [VISITOR]})
    page1 = api.data("ListProjectMembers", {"ProjectId": project_id, "PageSize": 2})
    assert page1["TotalCount"] == 6 and page1["TotalPageNumber"] == 3 and len(page1["Items"]) == 2
    page3 = api.data("ListProjectMembers", {"ProjectId": project_id, "PageSize": 2, "PageNumber": 3})
    assert len(page3["Items"]) == 2 and page3["PageNumber"] == 3
    seen = {
        m["UserUin"] for p in (1, 2, 3) for m in members(api, project_id, PageSize=2, PageNumber=p)["Items"]
    }
    assert seen == {ADMIN_UIN, *uins}
    assert {m["UserUin"] for m in members(api, project_id, UserUin="770000000000")["Items"]} == set()
    assert {m["UserUin"] for m in members(api, project_id, UserUin="0000000003")["Items"]} == {uins[2]}
    # UserName is the uin (there is no user directory), fuzzy too.
    assert members(api, project_id, UserName="7700000000")["TotalCount"] == 5
    beyond = api.data("ListProjectMembers", {"ProjectId": project_id, "PageNumber": 9})
    assert beyond["Items"] == [] and beyond["TotalCount"] == 6
    assert (
        api.error("ListProjectMembers", {"ProjectId": project_id, "PageSize": 0}).code
        == "InvalidParameterValue"
    )
    assert (
        api.error("ListProjectMembers", {"ProjectId": project_id, "PageSize": 500}).code
        == "InvalidParameterValue"
    )
    assert api.error("ListProjectMembers", {}, raw=True).code == "MissingParameter"


def test_list_project_members_non_member(api: Api, user: Api) -> None:
    project_id, _ = new_project(api)
    err = user.error("ListProjectMembers", {"ProjectId": project_id})
    assert err.code == "UnauthorizedOperation.UserNotInProject"
    assert api.error("ListProjectMembers", {"ProjectId": "1234567890123456789"}).code == "ResourceNotFound"


@pytest.mark.parametrize(
    "params",
    [
        {"UserUins": [], "RoleIds": [PM]},
        {"UserUins": ["123"], "RoleIds": []},
        {"UserUins": ["123"], "RoleIds": ["42"]},
        {"UserUins": ["not-a-uin"], "RoleIds": [PM]},
        {"UserUins": ["123", "x"], "RoleIds": [PM]},
    ],
)
def test_create_project_member_bad_values(api: Api, params: dict[str, Any]) -> None:
    project_id, _ = new_project(api)
    assert (
        api.error("CreateProjectMember", {"ProjectId": project_id, **params}).code == "InvalidParameterValue"
    )
    assert members(api, project_id)["TotalCount"] == 1


def test_create_project_member_missing_fields(api: Api) -> None:
    project_id, _ = new_project(api)
    assert api.error("CreateProjectMember", {"ProjectId": project_id, "UserUins": ["1"]}, raw=True).code == (
        "MissingParameter"
    )
    assert api.error("CreateProjectMember", {"ProjectId": project_id, "RoleIds": [PM]}, raw=True).code == (
        "MissingParameter"
    )
    assert (
        api.error(
            "CreateProjectMember", {"ProjectId": project_id, "UserUins": "1", "RoleIds": [PM]}, raw=True
        ).code
        == "InvalidParameterValue"
    )


def test_delete_project_member_rules(api: Api, server: ServerProcess) -> None:
    project_id, _ = new_project(api)
    a = server.new_user()
    api.call("CreateProjectMember", {"ProjectId": project_id, "UserUins": [uin(a)], "RoleIds": [DE]})
    # Unknown member among the list: nothing removed.
    err = api.error("DeleteProjectMember", {"ProjectId": project_id, "UserUins": [uin(a), "999999"]})
    assert err.code == "ResourceNotFound"
    assert members(api, project_id)["TotalCount"] == 2
    # The owner (the creator here) cannot be removed.
    err = api.error("DeleteProjectMember", {"ProjectId": project_id, "UserUins": [ADMIN_UIN]})
    assert err.code == "FailedOperation"
    assert (
        api.error("DeleteProjectMember", {"ProjectId": project_id, "UserUins": []}).code
        == "InvalidParameterValue"
    )
    assert members(api, project_id)["TotalCount"] == 2
    # The last ProjectManager cannot go: hand ownership to `a`, who is not a manager.
    api.call("UpdateProject", {"ProjectId": project_id, "ProjectOwnerUin": uin(a)})
    err = api.error("DeleteProjectMember", {"ProjectId": project_id, "UserUins": [ADMIN_UIN]})
    assert err.code == "FailedOperation"
    api.call("GrantMemberProjectRole", {"ProjectId": project_id, "UserUin": uin(a), "RoleIds": [PM]})
    api.call("DeleteProjectMember", {"ProjectId": project_id, "UserUins": [ADMIN_UIN]})
    items = members(a, project_id)["Items"]
    assert [m["UserUin"] for m in items] == [uin(a)]
    # The tenant administrator still reaches the project without membership.
    assert api.data("GetProject", {"ProjectId": project_id})["ProjectOwnerUin"] == uin(a)


def test_grant_and_remove_member_roles(api: Api, server: ServerProcess) -> None:
    project_id, _ = new_project(api)
    a = server.new_user()
    user_uin = uin(a)
    api.call("CreateProjectMember", {"ProjectId": project_id, "UserUins": [user_uin], "RoleIds": [VISITOR]})
    resp = api.call(
        "GrantMemberProjectRole", {"ProjectId": project_id, "UserUin": user_uin, "RoleIds": [DE, OPS]}
    )
    assert set(resp) == {"RequestId"}
    assert roles_of(api, project_id, user_uin) == {VISITOR, DE, OPS}
    # Granting a held role is a no-op.
    api.call("GrantMemberProjectRole", {"ProjectId": project_id, "UserUin": user_uin, "RoleIds": [DE]})
    assert roles_of(api, project_id, user_uin) == {VISITOR, DE, OPS}
    resp = api.call(
        "RemoveMemberProjectRole", {"ProjectId": project_id, "UserUin": user_uin, "RoleIds": [DE, VISITOR]}
    )
    assert set(resp) == {"RequestId"}
    assert roles_of(api, project_id, user_uin) == {OPS}
    # A member keeps at least one role.
    err = api.error(
        "RemoveMemberProjectRole", {"ProjectId": project_id, "UserUin": user_uin, "RoleIds": [OPS]}
    )
    assert err.code == "FailedOperation"
    # The last ProjectManager keeps the role.
    api.call("GrantMemberProjectRole", {"ProjectId": project_id, "UserUin": ADMIN_UIN, "RoleIds": [DE]})
    err = api.error(
        "RemoveMemberProjectRole", {"ProjectId": project_id, "UserUin": ADMIN_UIN, "RoleIds": [PM]}
    )
    assert err.code == "FailedOperation"
    assert roles_of(api, project_id, ADMIN_UIN) == {PM, DE}
    api.call("GrantMemberProjectRole", {"ProjectId": project_id, "UserUin": user_uin, "RoleIds": [PM]})
    api.call("RemoveMemberProjectRole", {"ProjectId": project_id, "UserUin": ADMIN_UIN, "RoleIds": [PM]})
    assert roles_of(api, project_id, ADMIN_UIN) == {DE}
    # Bad input changes nothing.
    for params, code in [
        ({"UserUin": "999999", "RoleIds": [DE]}, "ResourceNotFound"),
        ({"UserUin": user_uin, "RoleIds": ["123"]}, "InvalidParameterValue"),
        ({"UserUin": user_uin, "RoleIds": []}, "InvalidParameterValue"),
        ({"UserUin": "x", "RoleIds": [DE]}, "InvalidParameterValue"),
    ]:
        assert api.error("GrantMemberProjectRole", {"ProjectId": project_id, **params}).code == code, params
        assert api.error("RemoveMemberProjectRole", {"ProjectId": project_id, **params}).code == code, params
    assert roles_of(api, project_id, user_uin) == {OPS, PM}
    assert api.error(
        "GrantMemberProjectRole", {"ProjectId": project_id, "UserUin": user_uin}, raw=True
    ).code == ("MissingParameter")


# ------------------------------------------------------------------------------------------------
# Roles


def test_list_project_roles(api: Api, user: Api) -> None:
    project_id, _ = new_project(api)
    data = api.data("ListProjectRoles", {"ProjectId": project_id})
    assert data["TotalCount"] == 4 and data["PageNumber"] == 1 and data["PageSize"] == 10
    assert data["TotalPageNumber"] == 1
    assert [(r["RoleId"], r["RoleName"]) for r in data["Items"]] == [
        (PM, "ProjectManager"),
        (DE, "DataEngineer"),
        (OPS, "OperationEngineer"),
        (VISITOR, "Visitor"),
    ]
    assert data["Items"][0]["RoleDisplayName"] == "项目管理员"
    assert data["Items"][0]["Description"]
    only = api.data("ListProjectRoles", {"ProjectId": project_id, "RoleDisplayName": "工程师"})
    assert [r["RoleId"] for r in only["Items"]] == [DE, OPS] and only["TotalCount"] == 2
    page2 = api.data("ListProjectRoles", {"ProjectId": project_id, "PageSize": 3, "PageNumber": 2})
    assert [r["RoleId"] for r in page2["Items"]] == [VISITOR] and page2["TotalPageNumber"] == 2
    assert api.data("ListProjectRoles", {"ProjectId": project_id, "RoleDisplayName": "nobody"})["Items"] == []
    assert (
        api.error("ListProjectRoles", {"ProjectId": project_id, "PageSize": 0}).code
        == "InvalidParameterValue"
    )
    assert (
        user.error("ListProjectRoles", {"ProjectId": project_id}).code
        == "UnauthorizedOperation.UserNotInProject"
    )
    assert api.error("ListProjectRoles", {}, raw=True).code == "MissingParameter"


def test_list_tenant_roles(api: Api, user: Api) -> None:
    resp = user.call("ListTenantRoles", {})
    assert resp["Data"] == [
        {
            "RoleId": "2004",
            "RoleName": "BusinessManager",
            "RoleDisplayName": "业务管理员角色",
            "Description": resp["Data"][0]["Description"],
        }
    ]
    assert api.data("ListTenantRoles", {"RoleDisplayName": "业务"})[0]["RoleId"] == "2004"
    assert api.data("ListTenantRoles", {"RoleDisplayName": "nobody"}) == []
    assert api.error("ListTenantRoles", {"PageSize": 1}, raw=True).code == "UnknownParameter"
