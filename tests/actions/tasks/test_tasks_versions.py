"""Task versions through the official SDK: SAVE versions V1, V2, ..., SubmitTask, the prod
snapshot, ListTaskVersions and GetTaskVersion."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from tests.actions.tasks.test_tasks import MISSING_TASK, Space, b64, create, get, new_space
from tests.support import ADMIN_UIN, Api


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


def versions(api: Api, space: Space, task_id: str, **params: Any) -> dict[str, Any]:
    data: dict[str, Any] = api.raw("ListTaskVersions", {"ProjectId": space.project, "TaskId": task_id, **params})["Data"]
    return data


def submit(api: Api, space: Space, task_id: str, remark: str = "r") -> str:
    data = api.data("SubmitTask", {"ProjectId": space.project, "TaskId": task_id, "VersionRemark": remark})
    assert data["Status"] is True
    assert re.fullmatch(rf"{task_id}_\d{{17}}", data["VersionId"])
    return str(data["VersionId"])


def describe(api: Api, space: Space, task_id: str, desc: str) -> None:
    api.call("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": task_id, "NewSetting": {"TaskBaseAttribute": {"TaskDescription": desc}},
    })


def test_versions_lifecycle(api: Api, space: Space) -> None:
    task_id = create(api, space, conf={"CodeContent": b64("echo v1")})
    base = get(api, space, task_id)["TaskBaseAttribute"]
    assert (base["TaskLatestVersionNo"], base["Submit"], base["Status"]) == ("V1", False, "N")
    err = api.error("GetTaskVersion", {"ProjectId": space.project, "TaskId": task_id})
    assert err.code == "ResourceNotFound"  # nothing submitted yet
    api.call("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": task_id,
        "NewSetting": {"TaskConfiguration": {"CodeContent": b64("echo v2")}},
    })
    saved = versions(api, space, task_id)
    assert [v["VersionNum"] for v in saved["Items"]] == ["V2", "V1"]
    assert (saved["TotalCount"], saved["PageCount"], saved["PageNumber"], saved["PageSize"]) == (2, 2, 1, 10)
    assert saved["TotalPageNumber"] == 1
    first = saved["Items"][0]
    assert set(first) == {"CreateTime", "VersionNum", "CreateUserUin", "VersionId", "VersionRemark", "ApproveStatus",
                          "Status", "ApproveUserUin", "UsedVersion"}
    assert first["CreateUserUin"] == ADMIN_UIN and first["UsedVersion"] is False and first["Status"] is None
    assert re.fullmatch(rf"{task_id}_\d{{17}}", first["VersionId"])

    version_id = submit(api, space, task_id, "first release")
    base = get(api, space, task_id)["TaskBaseAttribute"]
    assert (base["Status"], base["Submit"], base["TaskLatestSubmitVersionNo"], base["TaskLatestVersionNo"]) == (
        "Y", True, "V2", "V2",
    )
    submitted = versions(api, space, task_id, TaskVersionType="SUBMIT")
    assert [(v["VersionId"], v["VersionNum"], v["VersionRemark"], v["UsedVersion"], v["Status"])
            for v in submitted["Items"]] == [(version_id, "V2", "first release", True, "Y")]

    # An edit after submission: a new saved version, Submit false, production unchanged.
    api.call("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": task_id,
        "NewSetting": {"TaskConfiguration": {"CodeContent": b64("echo v3")}},
    })
    base = get(api, space, task_id)["TaskBaseAttribute"]
    assert (base["Status"], base["Submit"], base["TaskLatestSubmitVersionNo"], base["TaskLatestVersionNo"]) == (
        "Y", False, "V2", "V3",
    )
    detail = api.raw("GetTaskVersion", {"ProjectId": space.project, "TaskId": task_id})["Data"]
    assert (detail["VersionId"], detail["VersionNum"], detail["VersionRemark"]) == (version_id, "V2", "first release")
    assert set(detail) == {"CreateTime", "VersionNum", "CreateUserUin", "VersionId", "VersionRemark", "ApproveStatus",
                           "ApproveTime", "Task", "ApproveUserUin"}
    snapshot = detail["Task"]
    assert base64.b64decode(snapshot["TaskConfiguration"]["CodeContent"]) == b"echo v2"
    assert snapshot["TaskBaseAttribute"]["TaskId"] == task_id
    assert snapshot["TaskBaseAttribute"]["TaskLatestVersionNo"] is None  # as WeData shows snapshots
    assert snapshot["TaskSchedulerConfiguration"]["RunPriority"] == 6  # both twin names kept
    # The SAVE versions: V1 still readable by id; the one production uses is marked.
    saved = versions(api, space, task_id)
    assert [(v["VersionNum"], v["UsedVersion"]) for v in saved["Items"]] == [("V3", False), ("V2", True), ("V1", False)]
    v1 = saved["Items"][2]["VersionId"]
    old = api.data("GetTaskVersion", {"ProjectId": space.project, "TaskId": task_id, "VersionId": v1})
    assert old["VersionNum"] == "V1"
    assert base64.b64decode(old["Task"]["TaskConfiguration"]["CodeContent"]) == b"echo v1"
    # Submitting again publishes V3 and moves the production marker.
    second = submit(api, space, task_id, "second")
    submitted = versions(api, space, task_id, TaskVersionType="SUBMIT")
    assert [(v["VersionId"], v["VersionNum"], v["UsedVersion"]) for v in submitted["Items"]] == [
        (second, "V3", True), (version_id, "V2", False),
    ]
    used = versions(api, space, task_id, TaskVersionType="SUBMIT", UsedVersion=True)
    assert [v["VersionId"] for v in used["Items"]] == [second] and used["TotalCount"] == 1
    unused = versions(api, space, task_id, TaskVersionType="SUBMIT", UsedVersion=False)
    assert [v["VersionId"] for v in unused["Items"]] == [version_id]
    assert api.data("GetTaskVersion", {"ProjectId": space.project, "TaskId": task_id})["VersionId"] == second
    assert get(api, space, task_id)["TaskBaseAttribute"]["Submit"] is True


def test_versions_paging(api: Api, space: Space) -> None:
    task_id = create(api, space)
    for i in range(11):
        describe(api, space, task_id, f"d{i}")
    page1 = versions(api, space, task_id, PageSize=10)
    page2 = versions(api, space, task_id, PageSize=10, PageNumber=2)
    assert (page1["TotalCount"], page1["TotalPageNumber"], page1["PageCount"]) == (12, 2, 10)
    assert [v["VersionNum"] for v in page2["Items"]] == ["V2", "V1"] and page2["PageCount"] == 2
    assert page1["Items"][0]["VersionNum"] == "V12"
    assert versions(api, space, task_id, UsedVersion=True)["TotalCount"] == 0


@pytest.mark.parametrize(
    "params",
    [{"TaskVersionType": "DRAFT"}, {"PageSize": 5}, {"PageSize": 201}, {"PageNumber": 0}],
)
def test_list_versions_bad_values(api: Api, space: Space, params: dict[str, Any]) -> None:
    task_id = create(api, space)
    err = api.error("ListTaskVersions", {"ProjectId": space.project, "TaskId": task_id, **params})
    assert err.code == "InvalidParameterValue"


def test_version_errors(api: Api, space: Space) -> None:
    task_id = create(api, space)
    other = create(api, space)
    other_version = versions(api, space, other)["Items"][0]["VersionId"]
    for params in ({"TaskId": MISSING_TASK}, {"TaskId": task_id, "VersionId": other_version},
                   {"TaskId": task_id, "VersionId": f"{task_id}_20990101000000000"}):
        err = api.error("GetTaskVersion", {"ProjectId": space.project, **params})
        assert err.code == "ResourceNotFound", params
    assert api.error("ListTaskVersions", {"ProjectId": space.project, "TaskId": MISSING_TASK}).code == "ResourceNotFound"
    err = api.error("SubmitTask", {"ProjectId": space.project, "TaskId": MISSING_TASK, "VersionRemark": "x"})
    assert err.code == "ResourceNotFound"
    err = api.error("SubmitTask", {"ProjectId": space.project, "TaskId": task_id}, raw=True)
    assert err.code == "MissingParameter"
    base = get(api, space, task_id)["TaskBaseAttribute"]
    assert (base["Status"], base["TaskLatestSubmitVersionNo"]) == ("N", None)


def test_submit_publishes_the_dependencies_of_the_saved_definition(api: Api, space: Space) -> None:
    upstream = create(api, space)
    task_id = create(api, space)
    submit(api, space, task_id)
    api.call("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": task_id,
        "NewSetting": {"TaskSchedulerConfiguration": {"UpstreamDependencyConfigList": [
            {"TaskId": upstream, "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"}]}},
    })
    # Production still runs the first version, without the dependency.
    prod = api.data("GetTaskVersion", {"ProjectId": space.project, "TaskId": task_id})["Task"]
    assert prod["TaskSchedulerConfiguration"]["UpstreamDependencyConfigList"] == []
    submit(api, space, task_id)
    prod = api.data("GetTaskVersion", {"ProjectId": space.project, "TaskId": task_id})["Task"]
    assert [d["TaskId"] for d in prod["TaskSchedulerConfiguration"]["UpstreamDependencyConfigList"]] == [upstream]
    assert prod["TaskBaseAttribute"]["Status"] == "Y"


def test_another_project_cannot_see_versions(api: Api, space: Space) -> None:
    task_id = create(api, space)
    other = new_space(api)
    err = api.error("ListTaskVersions", {"ProjectId": other.project, "TaskId": task_id})
    assert err.code == "ResourceNotFound"


def test_submit_refuses_task_types_the_engine_cannot_run(api: Api, space: Space) -> None:
    """Only Shell (35), Shell form mode (38), Python (30), Notebook (132) and SQL (21, 23, 32, 134) run here; other types are refused
    at submit time with a clear error and stay unsubmitted, except as a dry run, which never
    executes."""
    sql = create(api, space, type_id="46", conf={"CodeContent": b64("select 1")})  # DLC Spark
    err = api.error("SubmitTask", {"ProjectId": space.project, "TaskId": sql, "VersionRemark": "r"})
    assert err.code == "UnsupportedOperation"
    assert "46" in err.message and "Shell (35)" in err.message and "Python (30)" in err.message
    base = get(api, space, sql)["TaskBaseAttribute"]
    assert (base["Status"], base["Submit"], base["TaskLatestSubmitVersionNo"]) == ("N", False, None)
    assert versions(api, space, sql, TaskVersionType="SUBMIT")["TotalCount"] == 0
    dry = create(api, space, type_id="46", conf={"CodeContent": b64("select 1")}, sched={"ScheduleType": 1})
    submit(api, space, dry)
    assert get(api, space, dry)["TaskBaseAttribute"]["Status"] == "Y"
