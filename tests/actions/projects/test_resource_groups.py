"""Execution resource groups through the official SDK, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import Api, ServerProcess, unique

PM = "308335260274237440"
DE = "308335260676890624"
TASK_METRICS = {
    "ConcurrencyUsage",
    "DevelopQueueTask",
    "DevelopRunningTask",
    "DevelopSchedulingTask",
    "MaximumConcurrency",
}
SYSTEM_METRICS = {"CpuCoreUsage", "CpuLoad", "DiskUsage", "DiskUsed", "MemoryLoad", "MemoryUsage"}


def schedule_type(spec: str = "s_test", number: int = 1) -> dict[str, Any]:
    return {"ResourceGroupType": "Schedule", "Schedule": {"Specification": spec, "Number": number}}


def group_body(name: str | None = None, **over: Any) -> dict[str, Any]:
    body = {
        "Name": name or unique("rg"),
        "Type": schedule_type(),
        "AutoRenewEnabled": False,
        "PurchasePeriod": 1,
        "VpcId": "vpc-4t9mtwbv",
        "SubNet": "subnet-h2ga4dks",
        "ResourceRegion": "ap-guangzhou",
    }
    body.update(over)
    return body


def new_group(api: Api, **over: Any) -> str:
    data = api.data("CreateResourceGroup", group_body(**over))
    assert data["Status"] is True
    return str(data["ResourceGroupId"])


def new_project(api: Api) -> str:
    name = unique("p")
    return str(
        api.data("CreateProject", {"Project": {"ProjectName": name, "DisplayName": name}})["ProjectId"]
    )


def get_group(api: Api, group_id: str) -> dict[str, Any]:
    items = api.data("ListResourceGroups", {"Id": group_id})["Items"]
    assert len(items) == 1
    return dict(items[0])


def metrics(api: Api, group_id: str, **params: Any) -> dict[str, Any]:
    return dict(api.data("GetResourceGroupMetrics", {"ResourceGroupId": group_id, **params}))


def exists(api: Api, name: str) -> bool:
    return bool(api.data("ListResourceGroups", {"Name": name})["TotalCount"])


def uin(api: Api) -> str:
    """The user id of a credential made by ``server.new_user()``."""
    return str(api.uin)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def user(server: ServerProcess) -> Api:
    return server.new_user()


# ------------------------------------------------------------------------------------------------
# CreateResourceGroup


def test_create_and_list_resource_group(api: Api) -> None:
    name = unique("rg")
    group_id = new_group(
        api, Name=name, Description="for notebooks", Tags=[{"TagKey": "team", "TagValue": "a"}]
    )
    assert re.fullmatch(r"\d{20}", group_id)
    item = get_group(api, group_id)
    assert item == {
        "Id": group_id,
        "Name": name,
        "Description": "for notebooks",
        "ResourceGroupType": "Schedule",
        "AssociateProjects": [],
        "Region": "ap-guangzhou",
        "VpcId": "vpc-4t9mtwbv",
        "SubNet": "subnet-h2ga4dks",
        "AutoRenewEnabled": False,
    }


def test_create_with_associated_project(api: Api) -> None:
    project_id = new_project(api)
    group_id = new_group(api, AssociatedProjectId=project_id)
    projects = get_group(api, group_id)["AssociateProjects"]
    assert [p["ProjectId"] for p in projects] == [project_id]
    assert projects[0]["ProjectName"] and projects[0]["ProjectDisplayName"]
    # Unknown project: nothing is created.
    name = unique("rg")
    err = api.error("CreateResourceGroup", group_body(name, AssociatedProjectId="1234567890123456789"))
    assert err.code == "ResourceNotFound"
    assert not exists(api, name)


def test_create_associated_project_needs_project_admin(api: Api, server: ServerProcess, user: Api) -> None:
    project_id = new_project(api)
    name = unique("rg")
    err = user.error("CreateResourceGroup", group_body(name, AssociatedProjectId=project_id))
    assert err.code == "UnauthorizedOperation"
    api.call("CreateProjectMember", {"ProjectId": project_id, "UserUins": [uin(user)], "RoleIds": [DE]})
    err = user.error("CreateResourceGroup", group_body(name, AssociatedProjectId=project_id))
    assert err.code == "UnauthorizedOperation"
    assert not exists(api, name)
    # Without a project anyone may create one.
    group_id = new_group(user, Name=name)
    assert get_group(api, group_id)["Name"] == name


@pytest.mark.parametrize(
    "rtype",
    [
        {
            "ResourceGroupType": "Integration",
            "Integration": {"OfflineDataSync": {"Specification": "integrated", "Number": 2}},
        },
        {
            "ResourceGroupType": "Integration",
            "Integration": {
                "RealTimeDataSync": {"Specification": "i32c", "Number": 1},
                "OfflineDataSync": {"Specification": "i16", "Number": 1},
            },
        },
        {"ResourceGroupType": "DataService", "DataService": {"Specification": "ds_m", "Number": 1}},
        schedule_type("s_large", 3),
    ],
)
def test_create_every_kind(api: Api, rtype: dict[str, Any]) -> None:
    group_id = new_group(api, Type=rtype)
    assert get_group(api, group_id)["ResourceGroupType"] == rtype["ResourceGroupType"]


@pytest.mark.parametrize(
    "rtype",
    [
        {"ResourceGroupType": "Compute", "Schedule": {"Specification": "s_test", "Number": 1}},
        {"ResourceGroupType": "Schedule"},
        {"ResourceGroupType": "Schedule", "DataService": {"Specification": "ds_t", "Number": 1}},
        {
            "ResourceGroupType": "Schedule",
            "Schedule": {"Specification": "s_test", "Number": 1},
            "DataService": {"Specification": "ds_t", "Number": 1},
        },
        schedule_type("ds_t"),
        schedule_type("s_huge"),
        schedule_type("s_test", 0),
        schedule_type("s_test", 101),
        {"ResourceGroupType": "Integration", "Integration": {}},
        {
            "ResourceGroupType": "Integration",
            "Integration": {"RealTimeDataSync": {"Specification": "integrated", "Number": 1}},
        },
        {
            "ResourceGroupType": "Integration",
            "Integration": {"OfflineDataSync": {"Specification": "i32c", "Number": 1}},
        },
        {"ResourceGroupType": "DataService", "DataService": {"Specification": "s_small", "Number": 1}},
    ],
)
def test_create_bad_type(api: Api, rtype: dict[str, Any]) -> None:
    name = unique("rg")
    assert api.error("CreateResourceGroup", group_body(name, Type=rtype)).code == "InvalidParameterValue"
    assert not exists(api, name)


@pytest.mark.parametrize(
    "over",
    [
        {"Name": "1abc"},
        {"Name": "a-b"},
        {"Name": "a" * 65},
        {"Name": ""},
        {"PurchasePeriod": 0},
        {"PurchasePeriod": 121},
        {"VpcId": " "},
        {"SubNet": ""},
        {"ResourceRegion": ""},
        {"Tags": [{"TagKey": "a", "TagValue": "1"}, {"TagKey": "a", "TagValue": "2"}]},
        {"Tags": [{"TagKey": "", "TagValue": "1"}]},
    ],
)
def test_create_bad_values(api: Api, over: dict[str, Any]) -> None:
    body = group_body(**over)
    assert api.error("CreateResourceGroup", body).code == "InvalidParameterValue"
    if body["Name"]:
        assert not exists(api, body["Name"])


def test_create_missing_unknown_and_mistyped(api: Api) -> None:
    body = group_body()
    for field in ("Name", "Type", "AutoRenewEnabled", "PurchasePeriod", "VpcId", "SubNet", "ResourceRegion"):
        partial = {k: v for k, v in body.items() if k != field}
        assert api.error("CreateResourceGroup", partial, raw=True).code == "MissingParameter", field
    assert api.error("CreateResourceGroup", {**body, "Zone": "x"}, raw=True).code == "UnknownParameter"
    assert api.error("CreateResourceGroup", {**body, "PurchasePeriod": "one"}, raw=True).code == (
        "InvalidParameterValue"
    )
    bad_type = {"ResourceGroupType": "Schedule", "Schedule": {"Specification": "s_test"}}
    assert api.error("CreateResourceGroup", {**body, "Type": bad_type}, raw=True).code == "MissingParameter"
    assert not exists(api, body["Name"])


def test_create_duplicate_name(api: Api) -> None:
    name = unique("rg")
    new_group(api, Name=name)
    assert api.error("CreateResourceGroup", group_body(name)).code == "InvalidParameter.DuplicateName"
    assert api.data("ListResourceGroups", {"Name": name})["TotalCount"] == 1


# ------------------------------------------------------------------------------------------------
# ListResourceGroups


def test_list_filters_and_paging(api: Api) -> None:
    tag = unique("lrg")
    schedule = [new_group(api, Name=f"{tag}_s{i}") for i in range(3)]
    data_service = new_group(
        api,
        Name=f"{tag}_d",
        Type={"ResourceGroupType": "DataService", "DataService": {"Specification": "ds_t", "Number": 1}},
    )
    everything = api.data("ListResourceGroups", {"Name": tag})
    assert everything["TotalCount"] == 4 and everything["PageNumber"] == 1 and everything["PageSize"] == 10
    assert [g["Id"] for g in everything["Items"]] == [data_service, *schedule[::-1]]
    assert api.data("ListResourceGroups", {"Name": tag.upper(), "Type": "DataService"})["TotalCount"] == 1
    assert api.data("ListResourceGroups", {"Name": tag, "Type": "Schedule"})["TotalCount"] == 3
    assert api.data("ListResourceGroups", {"Name": tag, "Type": "Integration"})["TotalCount"] == 0
    assert api.data("ListResourceGroups", {"Name": tag.replace("_", "%")})["TotalCount"] == 0
    page = api.data("ListResourceGroups", {"Name": tag, "PageSize": 3, "PageNumber": 2})
    assert [g["Id"] for g in page["Items"]] == [schedule[0]] and page["TotalPageNumber"] == 2
    # Id, ProjectIds
    assert [g["Id"] for g in api.data("ListResourceGroups", {"Id": schedule[1]})["Items"]] == [schedule[1]]
    assert api.data("ListResourceGroups", {"Id": "00000000000000000000"})["TotalCount"] == 0
    p1, p2 = new_project(api), new_project(api)
    api.call("AssociateResourceGroupToProject", {"ResourceGroupId": schedule[0], "ProjectId": p1})
    api.call("AssociateResourceGroupToProject", {"ResourceGroupId": schedule[0], "ProjectId": p2})
    api.call("AssociateResourceGroupToProject", {"ResourceGroupId": schedule[2], "ProjectId": p2})
    bound = api.data("ListResourceGroups", {"ProjectIds": [p1, p2]})
    assert [g["Id"] for g in bound["Items"]] == [schedule[2], schedule[0]] and bound["TotalCount"] == 2
    by_id = {g["Id"]: g for g in bound["Items"]}
    assert {p["ProjectId"] for p in by_id[schedule[0]]["AssociateProjects"]} == {p1, p2}
    assert [p["ProjectId"] for p in by_id[schedule[2]]["AssociateProjects"]] == [p2]
    assert api.data("ListResourceGroups", {"ProjectIds": ["1234567890123456789"]})["TotalCount"] == 0


def test_list_visible_to_any_user(api: Api, user: Api) -> None:
    group_id = new_group(api)
    assert get_group(user, group_id)["Id"] == group_id


@pytest.mark.parametrize(
    "params", [{"PageSize": 0}, {"PageSize": 201}, {"PageNumber": 0}, {"Type": "Compute"}]
)
def test_list_bad_values(api: Api, params: dict[str, Any]) -> None:
    assert api.error("ListResourceGroups", params).code == "InvalidParameterValue"


def test_list_wrong_types(api: Api) -> None:
    assert api.error("ListResourceGroups", {"Type": 1}, raw=True).code == "InvalidParameterValue"
    assert api.error("ListResourceGroups", {"ProjectIds": "1"}, raw=True).code == "InvalidParameterValue"
    assert api.error("ListResourceGroups", {"Region": "x"}, raw=True).code == "UnknownParameter"


# ------------------------------------------------------------------------------------------------
# UpdateResourceGroup


def test_update_spec_number_and_renewal(api: Api) -> None:
    group_id = new_group(api, Type=schedule_type("s_test", 1))
    assert metrics(api, group_id)["MaximumConcurrency"] == 4
    assert api.data("UpdateResourceGroup", {"Id": group_id, "Type": "s_medium"}) == {"Status": True}
    m = metrics(api, group_id)
    assert (m["CpuNum"], m["MemSize"], m["MaximumConcurrency"]) == (8, 16, 16)
    api.call("UpdateResourceGroup", {"Id": group_id, "Number": {"Type": "ADD", "Quantity": 2}})
    m = metrics(api, group_id)
    assert (m["CpuNum"], m["MemSize"], m["DiskVolume"], m["MaximumConcurrency"]) == (24, 48, 300, 48)
    api.call("UpdateResourceGroup", {"Id": group_id, "Number": {"Type": "DELETE", "Quantity": 1}})
    assert metrics(api, group_id)["MaximumConcurrency"] == 32
    days = metrics(api, group_id)["LifeCycle"]
    assert 27 <= days <= 31
    api.call("UpdateResourceGroup", {"Id": group_id, "PurchasePeriod": 2, "AutoRenewEnabled": True})
    assert 86 <= metrics(api, group_id)["LifeCycle"] <= 92
    assert get_group(api, group_id)["AutoRenewEnabled"] is True


def test_update_integration_group(api: Api) -> None:
    both = {
        "ResourceGroupType": "Integration",
        "Integration": {
            "RealTimeDataSync": {"Specification": "i32c", "Number": 1},
            "OfflineDataSync": {"Specification": "integrated", "Number": 1},
        },
    }
    group_id = new_group(api, Type=both)
    assert (metrics(api, group_id)["CpuNum"], metrics(api, group_id)["MemSize"]) == (24, 80)
    api.call("UpdateResourceGroup", {"Id": group_id, "Type": "i16"})
    assert metrics(api, group_id)["MemSize"] == 96
    # Which part a package count applies to is ambiguous here.
    err = api.error("UpdateResourceGroup", {"Id": group_id, "Number": {"Type": "ADD", "Quantity": 1}})
    assert err.code == "InvalidParameterValue"
    assert metrics(api, group_id)["MemSize"] == 96


@pytest.mark.parametrize(
    "params",
    [
        {"Type": "s_small", "PurchasePeriod": 1},
        {"Type": "s_small", "Number": {"Type": "ADD", "Quantity": 1}},
        {"PurchasePeriod": 1, "Number": {"Type": "ADD", "Quantity": 1}},
        {},
        {"AutoRenewEnabled": True},
        {"Type": "s_small", "AutoRenewEnabled": True},
        {"Type": "ds_t"},
        {"Type": "integrated"},
        {"Type": "nope"},
        {"PurchasePeriod": 0},
        {"Number": {"Type": "MORE", "Quantity": 1}},
        {"Number": {"Type": "ADD", "Quantity": 0}},
        {"Number": {"Type": "DELETE", "Quantity": 1}},
        {"Number": {"Type": "ADD"}},
        {"Number": {"Quantity": 1}},
    ],
)
def test_update_bad_values_change_nothing(api: Api, params: dict[str, Any]) -> None:
    group_id = new_group(api)
    before = (metrics(api, group_id), get_group(api, group_id))
    assert api.error("UpdateResourceGroup", {"Id": group_id, **params}).code == "InvalidParameterValue"
    assert (metrics(api, group_id), get_group(api, group_id)) == before


def test_update_errors(api: Api, user: Api) -> None:
    group_id = new_group(api)
    assert api.error("UpdateResourceGroup", {"Type": "s_small"}, raw=True).code == "MissingParameter"
    assert api.error("UpdateResourceGroup", {"Id": "99999999999999999999", "Type": "s_small"}).code == (
        "ResourceNotFound"
    )
    assert (
        user.error("UpdateResourceGroup", {"Id": group_id, "Type": "s_small"}).code == "UnauthorizedOperation"
    )
    assert metrics(api, group_id)["MaximumConcurrency"] == 4
    # The creator may change their own group.
    own = new_group(user)
    user.call("UpdateResourceGroup", {"Id": own, "Type": "s_small"})
    assert metrics(user, own)["MaximumConcurrency"] == 8


# ------------------------------------------------------------------------------------------------
# Associate / Dissociate / Delete


def test_associate_dissociate_delete(api: Api) -> None:
    project_id = new_project(api)
    group_id = new_group(api)
    params = {"ResourceGroupId": group_id, "ProjectId": project_id}
    assert api.data("AssociateResourceGroupToProject", params) == {"Status": True}
    # Binding twice is a no-op.
    assert api.data("AssociateResourceGroupToProject", params) == {"Status": True}
    assert len(get_group(api, group_id)["AssociateProjects"]) == 1
    # Bound: cannot be deleted.
    assert api.error("DeleteResourceGroup", {"Id": group_id}).code == "ResourceInUse"
    assert get_group(api, group_id)["Id"] == group_id
    assert api.data("DissociateResourceGroupFromProject", params) == {"Status": True}
    assert get_group(api, group_id)["AssociateProjects"] == []
    assert api.error("DissociateResourceGroupFromProject", params).code == "ResourceNotFound"
    assert api.data("DeleteResourceGroup", {"Id": group_id}) == {"Status": True}
    assert api.data("ListResourceGroups", {"Id": group_id})["TotalCount"] == 0
    assert api.error("DeleteResourceGroup", {"Id": group_id}).code == "ResourceNotFound"
    assert api.error("GetResourceGroupMetrics", {"ResourceGroupId": group_id}).code == "ResourceNotFound"


def test_deleting_project_releases_its_groups(api: Api) -> None:
    project_id = new_project(api)
    group_id = new_group(api, AssociatedProjectId=project_id)
    assert api.error("DeleteResourceGroup", {"Id": group_id}).code == "ResourceInUse"
    api.call("DeleteProject", {"ProjectId": project_id})
    assert get_group(api, group_id)["AssociateProjects"] == []
    api.call("DeleteResourceGroup", {"Id": group_id})


def test_associate_errors(api: Api, server: ServerProcess, user: Api) -> None:
    project_id = new_project(api)
    group_id = new_group(api)
    params = {"ResourceGroupId": group_id, "ProjectId": project_id}
    assert api.error("AssociateResourceGroupToProject", {"ResourceGroupId": group_id}, raw=True).code == (
        "MissingParameter"
    )
    assert (
        api.error("AssociateResourceGroupToProject", {"ProjectId": project_id}, raw=True).code
        == "MissingParameter"
    )
    unknown_group = {"ResourceGroupId": "99999999999999999999", "ProjectId": project_id}
    assert api.error("AssociateResourceGroupToProject", unknown_group).code == "ResourceNotFound"
    assert api.error("DissociateResourceGroupFromProject", unknown_group).code == "ResourceNotFound"
    unknown_project = {"ResourceGroupId": group_id, "ProjectId": "1234567890123456789"}
    assert api.error("AssociateResourceGroupToProject", unknown_project).code == "ResourceNotFound"
    # Non-members, then members without the ProjectManager role.
    for action in ("AssociateResourceGroupToProject", "DissociateResourceGroupFromProject"):
        assert user.error(action, params).code == "UnauthorizedOperation.UserNotInProject"
    member = server.new_user()
    api.call("CreateProjectMember", {"ProjectId": project_id, "UserUins": [uin(member)], "RoleIds": [DE]})
    assert member.error("AssociateResourceGroupToProject", params).code == "UnauthorizedOperation"
    assert get_group(api, group_id)["AssociateProjects"] == []
    api.call("GrantMemberProjectRole", {"ProjectId": project_id, "UserUin": uin(member), "RoleIds": [PM]})
    # A project manager still needs rights on the group, which is the tenant admin's.
    err = member.error("AssociateResourceGroupToProject", params)
    assert err.code == "UnauthorizedOperation" and group_id in err.message
    assert get_group(api, group_id)["AssociateProjects"] == []
    own = new_group(member)
    member.call("AssociateResourceGroupToProject", {"ResourceGroupId": own, "ProjectId": project_id})
    member.call("DissociateResourceGroupFromProject", {"ResourceGroupId": own, "ProjectId": project_id})
    # The tenant admin binds the group; the project manager may stop using it.
    api.call("AssociateResourceGroupToProject", params)
    member.call("DissociateResourceGroupFromProject", params)
    # Deleted projects are gone.
    api.call("DeleteProject", {"ProjectId": project_id})
    assert api.error("AssociateResourceGroupToProject", params).code == "ResourceNotFound"


def test_binding_someone_elses_group_needs_rights_on_it(api: Api, server: ServerProcess) -> None:
    """Issue 15: a user could bind another user's group to their own project and run on its slots."""
    owner, other = server.new_user(), server.new_user()
    group_id = new_group(owner)
    owners_project, others_project = new_project(owner), new_project(other)
    params = {"ResourceGroupId": group_id, "ProjectId": others_project}
    # ``other`` administers its project but has no right on the group: refused, nothing bound.
    err = other.error("AssociateResourceGroupToProject", params)
    assert err.code == "UnauthorizedOperation"
    assert group_id in err.message and "creator" in err.message
    assert get_group(api, group_id)["AssociateProjects"] == []
    assert api.data("ListResourceGroups", {"ProjectIds": [others_project]})["TotalCount"] == 0
    # Nor through CreateProject.ResourceIds: no project is created.
    name = unique("p")
    err = other.error(
        "CreateProject", {"Project": {"ProjectName": name, "DisplayName": name}, "ResourceIds": [group_id]}
    )
    assert err.code == "UnauthorizedOperation" and group_id in err.message
    assert api.data("ListProjects", {"ProjectName": name})["TotalCount"] == 0
    assert get_group(api, group_id)["AssociateProjects"] == []
    # The creator binds it to its own project; a tenant admin may bind it to anyone's.
    assert owner.data(
        "AssociateResourceGroupToProject", {"ResourceGroupId": group_id, "ProjectId": owners_project}
    ) == {"Status": True}
    api.call("AssociateResourceGroupToProject", params)
    bound = {p["ProjectId"] for p in get_group(api, group_id)["AssociateProjects"]}
    assert bound == {owners_project, others_project}
    # Once bound, the project's administrator may stop using it.
    other.call("DissociateResourceGroupFromProject", params)
    assert [p["ProjectId"] for p in get_group(api, group_id)["AssociateProjects"]] == [owners_project]


def test_delete_errors(api: Api, user: Api) -> None:
    group_id = new_group(api)
    assert api.error("DeleteResourceGroup", {}, raw=True).code == "MissingParameter"
    assert api.error("DeleteResourceGroup", {"Id": "99999999999999999999"}).code == "ResourceNotFound"
    assert user.error("DeleteResourceGroup", {"Id": group_id}).code == "UnauthorizedOperation"
    assert get_group(api, group_id)["Id"] == group_id
    own = new_group(user)
    user.call("DeleteResourceGroup", {"Id": own})
    assert api.data("ListResourceGroups", {"Id": own})["TotalCount"] == 0


def test_deleted_name_is_reusable(api: Api) -> None:
    name = unique("rg")
    group_id = new_group(api, Name=name)
    api.call("DeleteResourceGroup", {"Id": group_id})
    assert new_group(api, Name=name) != group_id


# ------------------------------------------------------------------------------------------------
# GetResourceGroupMetrics


def test_metrics(api: Api, user: Api) -> None:
    group_id = new_group(api, Type=schedule_type("s_small", 2), PurchasePeriod=3)
    data = metrics(user, group_id)
    assert (data["CpuNum"], data["MemSize"], data["DiskVolume"], data["MaximumConcurrency"]) == (
        8,
        16,
        200,
        16,
    )
    assert data["Status"] == 1
    assert 88 <= data["LifeCycle"] <= 92
    snaps = {m["MetricName"]: m for m in data["MetricSnapshots"]}
    assert set(snaps) == TASK_METRICS | SYSTEM_METRICS
    assert snaps["MaximumConcurrency"]["SnapshotValue"] == 16
    # Nothing runs until the scheduler engine reports load.
    for name in ("ConcurrencyUsage", "DevelopQueueTask", "DevelopRunningTask", "DevelopSchedulingTask"):
        assert snaps[name]["SnapshotValue"] == 0 and snaps[name]["TrendList"] == []
    # No machine monitoring: system figures are unknown, not zero.
    for name in SYSTEM_METRICS:
        assert snaps[name]["SnapshotValue"] is None and snaps[name]["TrendList"] == []
    task_only = metrics(api, group_id, MetricType="task")
    assert {m["MetricName"] for m in task_only["MetricSnapshots"]} == TASK_METRICS
    system_only = metrics(api, group_id, MetricType="system")
    assert {m["MetricName"] for m in system_only["MetricSnapshots"]} == SYSTEM_METRICS
    now = int(time.time() * 1000)
    assert metrics(api, group_id, StartTime=now - 7_200_000, EndTime=now, Granularity=5)["CpuNum"] == 8


@pytest.mark.parametrize(
    "params",
    [
        {"MetricType": "disk"},
        {"Granularity": 0},
        {"StartTime": 2_000_000_000_000, "EndTime": 1_000_000_000_000},
        {"StartTime": -1},
        {"StartTime": 0, "EndTime": 1_000_000_000_000},
    ],
)
def test_metrics_bad_values(api: Api, params: dict[str, Any]) -> None:
    group_id = new_group(api)
    assert api.error("GetResourceGroupMetrics", {"ResourceGroupId": group_id, **params}).code == (
        "InvalidParameterValue"
    )


def test_metrics_errors(api: Api) -> None:
    assert api.error("GetResourceGroupMetrics", {}, raw=True).code == "MissingParameter"
    assert api.error("GetResourceGroupMetrics", {"ResourceGroupId": "99999999999999999999"}).code == (
        "ResourceNotFound"
    )
    group_id = new_group(api)
    err = api.error("GetResourceGroupMetrics", {"ResourceGroupId": group_id, "StartTime": "soon"}, raw=True)
    assert err.code == "InvalidParameterValue"


def test_metrics_source_supplies_load(tmp_path: Path) -> None:
    """The scheduler engine plugs its counts in through ``metrics_source``; the service derives
    the usage and filters trends to the window."""
    from wedata.actions.projects.wire import group_metrics
    from wedata.config import Settings
    from wedata.principal import Caller
    from wedata.services.container import Services
    from wedata.services.projects.group_specs import GroupLoad
    from wedata.spec import models as M
    from wedata.storage.db import Database
    from wedata.storage.migrate import upgrade

    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(db)
    services = Services(db, Settings(home=tmp_path))
    rgs = services.resource_groups
    group_id = rgs.create(
        Caller("AKID", "100000000001", is_admin=True),
        M.CreateResourceGroupRequest(
            name="g1",
            type=M.ResourceType(
                resource_group_type="Schedule",
                schedule=M.ResourceGroupSpecification(specification="s_small", number=1),
            ),
            auto_renew_enabled=False,
            purchase_period=1,
            vpc_id="v",
            sub_net="s",
            resource_region="r",
        ),
    )
    calls: list[tuple[str, int, int, int]] = []

    def source(gid: str, start: int, end: int, step: int) -> GroupLoad:
        calls.append((gid, start, end, step))
        return GroupLoad(
            running=6, queued=3, scheduling=1, trends={"DevelopRunningTask": [(500, 2), (5_000, 9)]}
        )

    rgs.metrics_source = source
    data = group_metrics(rgs.metrics(  # the service's record, rendered as GetResourceGroupMetrics does
        M.GetResourceGroupMetricsRequest(
            resource_group_id=group_id, start_time=0, end_time=1_000, granularity=2
        )
    ))
    assert calls == [(group_id, 0, 1_000, 120_000)]
    snaps = {m.metric_name: m for m in data.metric_snapshots or []}
    assert snaps["ConcurrencyUsage"].snapshot_value == 75  # 6 of 8 slots
    assert snaps["DevelopQueueTask"].snapshot_value == 3
    assert snaps["DevelopSchedulingTask"].snapshot_value == 1
    assert [(t.timestamp, t.value) for t in snaps["DevelopRunningTask"].trend_list or []] == [(500, 2)]
    db.dispose()
