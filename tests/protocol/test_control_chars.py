"""Control characters are refused in every request string, at the wire layer, for every action.

For each of 12 actions, every string field reachable in a decodable request (the fields present
in the base body, the optional ones of the same structs, list items) gets a NUL and a BEL
appended, sent raw through the SDK's CommonClient as a JSON body and as a GET query (TC3), and
must answer ``InvalidParameterValue`` naming the field path, with nothing saved. Both backends:
NUL once reached PostgreSQL (InternalError) and was stored as-is on SQLite.
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from tests.support import ADMIN_UIN, Api, unique
from wedata.actions.registry import load_actions
from wedata.spec import VERSION

DATA_ENGINEER = "308335260676890624"
CODE = "ZWNobyBoaQ=="  # base64 of `echo hi`


@dataclass
class Space:
    project: str
    workflow: str
    task: str


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    project = api.data("CreateProject", {"Project": {"ProjectName": unique("ctl"), "DisplayName": "ctl"}})["ProjectId"]
    workflow = api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": unique("wf"), "ParentFolderPath": "/"})
    task = api.data("CreateTask", {"ProjectId": project, **task_body(workflow["WorkflowId"], unique("t"))})["TaskId"]
    return Space(project, workflow["WorkflowId"], task)


def task_body(workflow: str, name: str) -> dict[str, Any]:
    return {
        "TaskBaseAttribute": {"TaskName": name, "TaskTypeId": "35", "WorkflowId": workflow,
                              "TaskDescription": "line one\nline two\tand a tab"},
        "TaskConfiguration": {"CodeContent": CODE, "TaskSchedulingParameterList": [{"ParamKey": "k", "ParamValue": "v"}]},
        "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 1 * * ? *",
                                       "StartTime": "2099-01-01 00:00:00"},
    }  # fmt: skip


def bases(s: Space) -> dict[str, dict[str, Any]]:
    """A decodable request per action (most would succeed as they are)."""
    update = task_body(s.workflow, unique("t"))
    update["TaskBaseAttribute"] = {"TaskName": unique("t"), "OwnerUin": ADMIN_UIN, "TaskDescription": "d"}
    return {
        "CreateProject": {"Project": {"ProjectName": unique("p"), "DisplayName": "d"}, "ResourceIds": ["r"]},
        "UpdateProject": {"ProjectId": s.project, "DisplayName": "d", "Description": "x"},
        "CreateWorkflow": {"ProjectId": s.project, "WorkflowName": unique("wf"), "ParentFolderPath": "/",
                           "WorkflowDesc": "x", "WorkflowParams": [{"ParamKey": "k", "ParamValue": "v"}]},
        "CreateTask": {"ProjectId": s.project, **task_body(s.workflow, unique("t"))},
        "UpdateTask": {"ProjectId": s.project, "TaskId": s.task, "Task": update},
        "GetTask": {"ProjectId": s.project, "TaskId": s.task},
        "ListTasks": {"ProjectId": s.project, "TaskName": "x", "TaskFolderPathList": ["/"]},
        "ListTaskInstances": {"ProjectId": s.project, "Keyword": "x"},
        "CreateDataBackfillPlan": {"ProjectId": s.project, "TaskIds": [s.task], "DataBackfillPlanName": "x",
                                   "DataBackfillRangeList": [{"StartDate": "2025-01-01", "EndDate": "2025-01-01"}]},
        "CreateTaskFolder": {"ProjectId": s.project, "ParentTaskFolderPath": "/", "TaskFolderName": unique("f"),
                             "TaskFolderType": "ETL", "WorkflowId": s.workflow},
        "UpdateOpsTasksOwner": {"ProjectId": s.project, "TaskIds": [s.task], "OwnerUin": ADMIN_UIN},
        "CreateProjectMember": {"ProjectId": s.project, "UserUins": ["300000000123"], "RoleIds": [DATA_ENGINEER]},
    }  # fmt: skip


def _options(annotation: Any) -> list[Any]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _struct(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, msgspec.Struct)


def string_fields(struct: type, body: dict[str, Any], prefix: str = "") -> Iterator[tuple[list[Any], str]]:
    """(where to put the value in ``body``, the wire path the error must name) for every string
    field of ``struct`` and of the nested structs present in ``body``."""
    for f in msgspec.structs.fields(struct):
        opts = _options(f.type)
        name, wire = f.encode_name, f"{prefix}{f.encode_name}"
        value = body.get(name)
        if str in opts:
            yield [name], wire
        elif any(typing.get_origin(o) is list and typing.get_args(o) == (str,) for o in opts):
            yield [name, 0], f"{wire}[0]"
        elif isinstance(value, dict):
            for o in opts:
                if _struct(o):
                    yield from (([name, *p], w) for p, w in string_fields(o, value, f"{wire}."))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for o in opts:
                if typing.get_origin(o) is list and _struct(typing.get_args(o)[0]):
                    inner = typing.get_args(o)[0]
                    yield from (([name, 0, *p], w) for p, w in string_fields(inner, value[0], f"{wire}[0]."))


def with_value(body: dict[str, Any], where: list[Any], value: str) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node: Any = out
    for key, nxt in zip(where, where[1:], strict=False):
        if isinstance(node, dict) and node.get(key) is None:
            node[key] = [] if isinstance(nxt, int) else {}
        node = node[key]
    last = where[-1]
    if isinstance(last, int) and len(node) <= last:
        node.append(value)
    else:
        node[last] = value
    return out


def get_client(api: Api) -> CommonClient:
    http = HttpProfile(protocol="http", endpoint=api.endpoint, reqMethod="GET")
    cred = credential.Credential(api.secret_id, api.secret_key)
    return CommonClient("wedata", "2025-08-06", cred, "ap-guangzhou", ClientProfile(httpProfile=http))


def snapshot(api: Api, s: Space) -> dict[str, Any]:
    return {
        "projects": api.data("ListProjects", {"PageSize": 10})["TotalCount"],
        "project": api.data("GetProject", {"ProjectId": s.project}),
        "workflows": api.data("ListWorkflows", {"ProjectId": s.project, "PageSize": 10})["TotalCount"],
        "tasks": api.data("ListTasks", {"ProjectId": s.project, "PageSize": 10})["TotalCount"],
        "task": api.data("GetTask", {"ProjectId": s.project, "TaskId": s.task}),
        "folders": api.data("ListTaskFolders", {"ProjectId": s.project, "WorkflowId": s.workflow,
                                                "ParentTaskFolderPath": "/", "TaskFolderType": "ETL"}),
        "members": api.data("ListProjectMembers", {"ProjectId": s.project, "PageSize": 100})["TotalCount"],
    }  # fmt: skip


def refused(call: Any, action: str, body: dict[str, Any]) -> TencentCloudSDKException:
    try:
        call(action, body)
    except TencentCloudSDKException as exc:
        return exc
    raise AssertionError(f"{action} accepted {body!r}")


def test_every_string_field_of_twelve_actions_refuses_control_characters(api: Api, space: Space) -> None:
    implemented = load_actions()[VERSION]
    before = snapshot(api, space)
    getter = get_client(api)
    checked: dict[str, int] = {}
    for action, base in bases(space).items():
        request_type = implemented[action].request_type
        fields = list(string_fields(request_type, base))
        assert fields, action
        for where, wire in fields:
            for bad, form in (("\x00", "json"), ("\x07", "json"), ("\x00", "get")):
                body = with_value(base, where, f"x{bad}y")
                if form == "json":
                    err = refused(api.raw, action, body)
                else:
                    err = refused(lambda a, b: getter.call_json(a, b)["Response"], action, body)
                assert err.code == "InvalidParameterValue", (action, wire, form, err.code, err.message)
                assert f"`{wire}`" in err.message, (action, wire, err.message)
                assert f"U+{ord(bad):04X}" in err.message
        checked[action] = len(fields)
    assert snapshot(api, space) == before
    assert len(checked) == 12 and sum(checked.values()) > 150, checked


@pytest.mark.parametrize("bad", ["\x1b", "\x7f", "\x85", "\x0b", "\x0c", "\x08"])
def test_other_control_characters_are_refused_too(api: Api, space: Space, bad: str) -> None:
    err = api.error("UpdateProject", {"ProjectId": space.project, "Description": f"a{bad}b"}, raw=True)
    assert err.code == "InvalidParameterValue"
    assert "`Description`" in err.message and f"U+{ord(bad):04X}" in err.message


def test_tab_newline_and_carriage_return_are_text(api: Api, space: Space) -> None:
    text = "first line\r\nsecond\tline\n"
    api.call("UpdateProject", {"ProjectId": space.project, "Description": text})
    assert api.data("GetProject", {"ProjectId": space.project})["Description"] == text
    task = api.data("GetTask", {"ProjectId": space.project, "TaskId": space.task})
    assert task["TaskBaseAttribute"]["TaskDescription"] == "line one\nline two\tand a tab"


def test_deep_paths_are_named(api: Api, space: Space) -> None:
    body = {"ProjectId": space.project, **task_body(space.workflow, unique("t"))}
    body["TaskConfiguration"]["TaskSchedulingParameterList"].append({"ParamKey": "k2", "ParamValue": "v\x00"})
    err = api.error("CreateTask", body, raw=True)
    assert err.code == "InvalidParameterValue"
    assert "`TaskConfiguration.TaskSchedulingParameterList[1].ParamValue`" in err.message
    err = api.error("UpdateTask", {"ProjectId": space.project, "TaskId": space.task,
                                   "Task": {**task_body(space.workflow, "n"), "TaskBaseAttribute": {
                                       "TaskName": "n", "OwnerUin": ADMIN_UIN, "TaskDescription": "a\x00"}}}, raw=True)  # fmt: skip
    assert "`Task.TaskBaseAttribute.TaskDescription`" in err.message
