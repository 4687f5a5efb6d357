"""Events through WeData API 2021-08-20 (the official SDK's v20210820 client) on the same endpoint,
on SQLite and PostgreSQL: registering, firing and describing events, and instances of submitted
tasks (2025-08-06) released from WAIT_EVENT by them: SINGLE consumed once, BROADCAST by every
listener, ConsumerId, time-to-live. Bad input answers the right code and changes nothing.
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.wedata.v20210820 import models as M21
from tencentcloud.wedata.v20210820.wedata_client import WedataClient

from tests.support import Api, ServerProcess, unique
from tests.waiting import wait_until

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CASE_KEYS = {
    "CaseId", "EventName", "EventType", "EventSubType", "EventBroadcastType", "TTL", "TimeUnit", "Dimension",
    "Status", "EventTriggerTimestamp", "LogTimestamp", "Description", "ConsumeCount",
}
EVENT_KEYS = {
    "Name", "EventType", "EventSubType", "EventBroadcastType", "DimensionFormat", "TimeToLive", "TimeUnit",
    "CreationTimestamp", "Owner", "Properties", "Description", "Listeners", "EventCases",
}
DS_KEYS = {
    "Name", "EventType", "TimeToLive", "TimeUnit", "EventSubType", "EventBroadcastType", "DimensionFormat",
    "CreationTs", "Owner", "Properties", "Description", "Listeners", "ProjectId", "ProjectName",
    "ValidConsumeCount", "EventId", "BundleId", "BundleInfo",
}


@dataclass
class Api21:
    """The official SDK's v20210820 client for one credential (typed), plus a raw CommonClient."""

    endpoint: str
    secret_id: str
    secret_key: str
    client: WedataClient = field(init=False)
    common: CommonClient = field(init=False)

    def __post_init__(self) -> None:
        cred = credential.Credential(self.secret_id, self.secret_key)
        profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=self.endpoint, reqTimeout=30))
        self.client = WedataClient(cred, "ap-guangzhou", profile)
        self.common = CommonClient("wedata", "2021-08-20", cred, "ap-guangzhou", profile)

    @classmethod
    def of(cls, api: Api) -> Api21:
        return cls(api.endpoint, api.secret_id, api.secret_key)

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        req = getattr(M21, action + "Request")()
        req.from_json_string(json.dumps(params))
        return json.loads(getattr(self.client, action)(req).to_json_string())

    def data(self, action: str, params: dict[str, Any]) -> Any:
        return self.call(action, params)["Data"]

    def raw(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.common.call_json(action, params)["Response"]

    def error(self, action: str, params: dict[str, Any], *, raw: bool = False) -> TencentCloudSDKException:
        try:
            self.raw(action, params) if raw else self.call(action, params)
        except TencentCloudSDKException as exc:
            return exc
        raise AssertionError(f"{action} succeeded but an error was expected")


@dataclass
class Space:
    project: str
    workflow: str


def new_space(api: Api) -> Space:
    project = api.data("CreateProject", {"Project": {"ProjectName": unique("evp"), "DisplayName": "events"}})["ProjectId"]
    workflow = api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": unique("wf"), "ParentFolderPath": "/"})
    return Space(project, workflow["WorkflowId"])


def register(v21: Api21, project: str, name: str, *, broadcast: str = "BROADCAST", sub: str = "DAY",
             ttl: str = "3", unit: str = "DAYS", **extra: Any) -> dict[str, Any]:
    return v21.data("RegisterDsEvent", {
        "ProjectId": project, "Name": name, "EventSubType": sub, "TimeToLive": ttl, "TimeUnit": unit,
        "Owner": "tom", "Description": "d", "EventBroadcastType": broadcast, **extra,
    })


def cases(v21: Api21, project: str, **filters: Any) -> dict[str, Any]:
    return v21.data("DescribeEventCases", {"ProjectId": project, "Category": "all", "PageNumber": 1,
                                           "PageSize": 100, **filters})


def listening_task(api: Api, space: Space, event: str, *, broadcast: str = "BROADCAST", sub: str = "DAY",
                   props: list[dict[str, str]] | None = None) -> str:
    """A submitted one-off Shell task (data time 2025-01-01 00:00:00) that waits for ``event``."""
    listener: dict[str, Any] = {"EventName": event, "EventSubType": sub, "EventBroadcastType": broadcast}
    if props is not None:
        listener["PropertiesList"] = props
    task_id: str = api.data("CreateTask", {
        "ProjectId": space.project,
        "TaskBaseAttribute": {"TaskName": unique("evt"), "TaskTypeId": "35", "WorkflowId": space.workflow},
        "TaskConfiguration": {"CodeContent": base64.b64encode(b"echo released").decode()},
        "TaskSchedulerConfiguration": {"CycleType": "ONEOFF_CYCLE", "StartTime": "2025-01-01 00:00:00",
                                       "EventListenerList": [listener]},
    })["TaskId"]
    api.data("SubmitTask", {"ProjectId": space.project, "TaskId": task_id, "VersionRemark": "go"})
    return task_id


def state(api: Api, space: Space, task_id: str) -> str | None:
    items = api.data("ListTaskInstances", {"ProjectId": space.project, "Keyword": task_id, "PageSize": 10})["Items"]
    return items[0]["InstanceState"] if items else None


def wait_state(api: Api, space: Space, task_id: str, wanted: str, timeout: float = 30.0) -> None:
    wait_until(lambda: state(api, space, task_id), lambda seen: seen == wanted,
               what=f"{task_id} in {wanted}", patience=timeout, interval=0.1)


def stays(api: Api, space: Space, task_id: str, wanted: str, seconds: float = 1.5) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert state(api, space, task_id) == wanted
        time.sleep(0.2)


@pytest.fixture(scope="module")
def v21(api: Api) -> Api21:
    return Api21.of(api)


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


# ------------------------------------------------------------------------------------------------
# Registering


def test_register_event_and_describe_it_with_every_field(v21: Api21, space: Space) -> None:
    name = unique("ev")
    out = v21.call("RegisterEvent", {
        "ProjectId": space.project, "Name": name, "EventSubType": "HOUR", "EventBroadcastType": "SINGLE",
        "TimeUnit": "HOURS", "Owner": "tom", "TimeToLive": 12, "Description": "hourly",
    })
    assert out["Data"] == {"Result": True, "ErrorDesc": None, "ErrorId": None} and out["RequestId"]
    ev = v21.data("DescribeEvent", {"ProjectId": space.project, "EventName": name})
    assert set(ev) == EVENT_KEYS
    assert ev | {"CreationTimestamp": None} == {
        "Name": name, "EventType": "TIME_SERIES", "EventSubType": "HOUR", "EventBroadcastType": "SINGLE",
        "DimensionFormat": "yyyyMMddHH", "TimeToLive": 12, "TimeUnit": "HOURS", "CreationTimestamp": None,
        "Owner": "tom", "Properties": None, "Description": "hourly", "Listeners": [], "EventCases": [],
    }
    assert ISO_Z.match(ev["CreationTimestamp"])


def test_register_ds_event_answers_the_event_with_defaults(v21: Api21, space: Space) -> None:
    name = unique("ds")
    dto = v21.data("RegisterDsEvent", {
        "ProjectId": space.project, "Name": name, "EventSubType": "MIN", "TimeToLive": "30", "TimeUnit": "MINUTES",
        "Owner": "tom", "Description": "", "ValidConsumeCount": 2, "DimensionFormat": "yyyymmddhhmm",
    })
    assert set(dto) == DS_KEYS
    assert (dto["Name"], dto["EventType"], dto["EventBroadcastType"], dto["DimensionFormat"]) == (
        name, "TIME_SERIES", "BROADCAST", "yyyyMMddHHmm")
    assert (dto["TimeToLive"], dto["TimeUnit"], dto["ValidConsumeCount"], dto["ProjectId"]) == (
        30, "MINUTES", 2, space.project)
    assert dto["ProjectName"] and re.fullmatch(r"[0-9a-f]{32}", dto["EventId"]) and ISO_Z.match(dto["CreationTs"])


def test_duplicate_event_names_are_refused_and_the_first_stays(v21: Api21, space: Space) -> None:
    name = unique("dup")
    register(v21, space.project, name, ttl="5")
    err = v21.error("RegisterDsEvent", {"ProjectId": space.project, "Name": name, "EventSubType": "DAY",
                                        "TimeToLive": "9", "TimeUnit": "DAYS", "Owner": "bob", "Description": ""})
    assert err.code == "InvalidParameter.DuplicateName"
    err = v21.error("RegisterEvent", {"ProjectId": space.project, "Name": name, "EventSubType": "DAY",
                                      "EventBroadcastType": "SINGLE", "TimeUnit": "DAYS", "Owner": "bob"})
    assert err.code == "InvalidParameter.DuplicateName"
    ev = v21.data("DescribeEvent", {"ProjectId": space.project, "EventName": name})
    assert (ev["Owner"], ev["TimeToLive"], ev["EventBroadcastType"]) == ("tom", 5, "BROADCAST")
    # The same name in another project is another event.
    other = new_space_v21(v21)
    register(v21, other, name)


def new_space_v21(v21: Api21) -> str:
    api = Api(v21.endpoint, v21.secret_id, v21.secret_key)
    return new_space(api).project


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"Name": "1abc"}, "InvalidParameterValue"),
        ({"Name": "a-b"}, "InvalidParameterValue"),
        ({"Name": "x" * 65}, "InvalidParameterValue"),
        ({"EventSubType": "WEEK"}, "InvalidParameterValue"),
        ({"EventBroadcastType": "MULTI"}, "InvalidParameterValue"),
        ({"TimeUnit": "YEARS"}, "InvalidParameterValue"),
        ({"TimeToLive": "0"}, "InvalidParameterValue"),
        ({"TimeToLive": "ten"}, "InvalidParameterValue"),
        ({"TimeToLive": ""}, "InvalidParameterValue"),
        ({"DimensionFormat": "yyyyMMddHH"}, "InvalidParameterValue"),
        ({"EventType": "OTHER"}, "InvalidParameterValue"),
        ({"ValidConsumeCount": 0}, "InvalidParameterValue"),
        ({"Owner": " "}, "InvalidParameterValue"),
    ],
)
def test_bad_registrations_answer_the_code_and_register_nothing(
    v21: Api21, space: Space, change: dict[str, Any], code: str
) -> None:
    name = unique("bad")
    params = {"ProjectId": space.project, "Name": name, "EventSubType": "DAY", "TimeToLive": "1",
              "TimeUnit": "DAYS", "Owner": "tom", "Description": "", **change}
    assert v21.error("RegisterDsEvent", params).code == code
    assert v21.error("DescribeEvent", {"ProjectId": space.project, "EventName": name}).code == "ResourceNotFound"


def test_missing_unknown_and_wrongly_typed_fields(v21: Api21, space: Space) -> None:
    name = unique("raw")
    base = {"ProjectId": space.project, "Name": name, "EventSubType": "DAY", "TimeToLive": "1",
            "TimeUnit": "DAYS", "Owner": "tom", "Description": ""}
    assert v21.error("RegisterDsEvent", {k: v for k, v in base.items() if k != "Owner"}, raw=True).code == (
        "MissingParameter")
    assert v21.error("RegisterDsEvent", {**base, "Colour": "red"}, raw=True).code == "UnknownParameter"
    assert v21.error("RegisterDsEvent", {**base, "TimeToLive": [1]}, raw=True).code == "InvalidParameterValue"
    assert v21.error("RegisterDsEvent", {**base, "ValidConsumeCount": "many"}, raw=True).code == (
        "InvalidParameterValue")
    assert v21.error("TriggerEvent", {"ProjectId": space.project, "Name": name}, raw=True).code == "MissingParameter"
    assert v21.error("DescribeEvent", {"ProjectId": space.project, "EventName": name}).code == "ResourceNotFound"
    # Numbers are accepted where the 2021 spec itself types TimeToLive both ways.
    assert v21.raw("RegisterDsEvent", {**base, "TimeToLive": 2})["Data"]["TimeToLive"] == 2


def test_unknown_project_non_member_and_unknown_actions(v21: Api21, space: Space, server: ServerProcess) -> None:
    name = unique("acl")
    register(v21, space.project, name)
    missing = "1234567890123456789"
    assert v21.error("RegisterEvent", {"ProjectId": missing, "Name": name, "EventSubType": "DAY",
                                       "EventBroadcastType": "SINGLE", "TimeUnit": "DAYS",
                                       "Owner": "tom"}).code == "ResourceNotFound"
    assert v21.error("DescribeEvent", {"ProjectId": missing, "EventName": name}).code == "ResourceNotFound"
    outsider = Api21.of(server.new_user())
    for action, params in (
        ("DescribeEvent", {"ProjectId": space.project, "EventName": name}),
        ("TriggerEvent", {"ProjectId": space.project, "Name": name, "Dimension": "20250101"}),
        ("RegisterDsEvent", {"ProjectId": space.project, "Name": unique("x"), "EventSubType": "DAY",
                             "TimeToLive": "1", "TimeUnit": "DAYS", "Owner": "o", "Description": ""}),
        ("DescribeEventCases", {"ProjectId": space.project, "Category": "", "PageNumber": 1, "PageSize": 10}),
    ):
        assert outsider.error(action, params).code == "UnauthorizedOperation.UserNotInProject", action
    assert cases(v21, space.project, EventName=name)["TotalCount"] == 0
    # A 2021 action that is not served, and one that exists in neither version.
    assert v21.error("DescribeEventConsumeTasks", {"EventCaseId": "x", "PageNumber": 1, "PageSize": 1}).code == (
        "UnsupportedOperation")
    assert v21.error("FlyToTheMoon", {}, raw=True).code == "InvalidAction"
    # A 2025-08-06 action is not an action of 2021-08-20.
    assert v21.error("GetTask", {"ProjectId": space.project, "TaskId": "1"}, raw=True).code == "InvalidAction"


# ------------------------------------------------------------------------------------------------
# Triggering and listing cases


def test_trigger_event_creates_a_case_and_bad_triggers_change_nothing(v21: Api21, space: Space) -> None:
    name = unique("tr")
    register(v21, space.project, name, sub="HOUR")
    out = v21.call("TriggerEvent", {"ProjectId": space.project, "Name": name, "Dimension": " 2025010207",
                                    "Description": "manual"})
    assert out["Data"] == {"Result": True, "ErrorDesc": None, "ErrorId": None}
    (case,) = cases(v21, space.project, EventName=name)["Items"]
    assert set(case) == CASE_KEYS
    assert case | {"CaseId": None, "EventTriggerTimestamp": None} == {
        "CaseId": None, "EventName": name, "EventType": "TIME_SERIES", "EventSubType": "HOUR",
        "EventBroadcastType": "BROADCAST", "TTL": 3, "TimeUnit": "DAYS", "Dimension": "2025010207",
        "Status": "ACTIVE", "EventTriggerTimestamp": None, "LogTimestamp": None, "Description": "manual",
        "ConsumeCount": -1,
    }
    assert ISO_Z.match(case["EventTriggerTimestamp"]) and re.fullmatch(r"[0-9a-f]{32}", case["CaseId"])
    for dim in ("20250102", "2025013107x", "2025023107", "2025010224", ""):
        err = v21.error("TriggerEvent", {"ProjectId": space.project, "Name": name, "Dimension": dim})
        assert err.code == "InvalidParameterValue", dim
    assert v21.error("TriggerEvent", {"ProjectId": space.project, "Name": unique("none"),
                                      "Dimension": "2025010207"}).code == "ResourceNotFound"
    assert v21.error("TriggerEvent", {"ProjectId": space.project, "Name": " ",
                                      "Dimension": "2025010207"}).code == "InvalidParameterValue"
    assert cases(v21, space.project, EventName=name)["TotalCount"] == 1
    ev = v21.data("DescribeEvent", {"ProjectId": space.project, "EventName": name})
    assert [(c["CaseId"], c["Dimension"], c["Description"], c["ConsumerId"]) for c in ev["EventCases"]] == [
        (case["CaseId"], "2025010207", "manual", None)]


def test_trigger_ds_event_is_a_batch_with_per_item_failures(api: Api, v21: Api21, space: Space) -> None:
    name = unique("batch")
    register(v21, space.project, name)
    task = api.data("CreateTask", {
        "ProjectId": space.project,
        "TaskBaseAttribute": {"TaskName": unique("t"), "TaskTypeId": "35", "WorkflowId": space.workflow},
        "TaskConfiguration": {"CodeContent": ""},
        "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE"},
    })["TaskId"]
    data = v21.data("TriggerDsEvent", {
        "ProjectId": space.project,
        "ScheduleTimeZone": "UTC+8",
        "EventCaseList": [
            {"Name": name, "Dimension": "20250301", "CaseId": "my-case-1", "ConsumerId": task},
            {"Name": unique("nope"), "Dimension": "20250301"},
            {"Name": name, "Dimension": "2025-03-01"},
            {"Name": name, "Dimension": "20250302", "ConsumerId": "19990101000000000"},
        ],
        "EventBatchCaseList": [
            {"Name": name, "StartDimension": "20250310", "EndDimension": "20250312", "Description": "range"},
            {"Name": name, "StartDimension": "20250312", "EndDimension": "20250310"},
            {"Name": name, "StartDimension": "20200101", "EndDimension": "20250101"},
            {"Name": name, "StartDimension": "20250101", "EndDimension": "20250101", "EventSubType": "HOUR"},
        ],
    })
    assert (data["TotalCount"], data["SuccessCount"], data["FailCount"]) == (8, 2, 6)
    keys = [f["Key"] for f in data["FailMessageList"]]
    assert keys[1:] == [f"{name}:2025-03-01", f"{name}:20250302", f"{name}:20250312-20250310",
                        f"{name}:20200101-20250101", f"{name}:20250101-20250101"]
    assert all(f["ErrorMessage"] for f in data["FailMessageList"])
    listed = cases(v21, space.project, EventName=name, SortItem="Dimension", SortType="asc")["Items"]
    assert [(c["Dimension"], c["Description"]) for c in listed] == [
        ("20250301", ""), ("20250310", "range"), ("20250311", "range"), ("20250312", "range")]
    ev = v21.data("DescribeEvent", {"ProjectId": space.project, "EventName": name})
    assert {(c["CaseId"], c["ConsumerId"]) for c in ev["EventCases"] if c["Dimension"] == "20250301"} == {
        ("my-case-1", task)}
    # A CaseId is unique; an empty request is refused; nothing else was fired.
    again = v21.data("TriggerDsEvent", {"ProjectId": space.project,
                                        "EventCaseList": [{"Name": name, "Dimension": "20250305", "CaseId": "my-case-1"}]})
    assert (again["SuccessCount"], again["FailCount"]) == (0, 1)
    assert v21.error("TriggerDsEvent", {"ProjectId": space.project}).code == "InvalidParameterValue"
    assert v21.error("TriggerDsEvent", {"ProjectId": space.project, "ScheduleTimeZone": "Mars/Base",
                                        "EventCaseList": [{"Name": name, "Dimension": "20250305"}]}).code == (
        "InvalidParameterValue")
    assert cases(v21, space.project, EventName=name)["TotalCount"] == 4


def test_describe_event_cases_filters_sorts_and_pages(v21: Api21, space: Space) -> None:
    name = unique("list")
    register(v21, space.project, name, broadcast="SINGLE")
    for dim in ("20250101", "20250102", "20250103"):
        v21.call("TriggerEvent", {"ProjectId": space.project, "Name": name, "Dimension": dim})
    page1 = cases(v21, space.project, EventName=name, PageSize=2, SortType="DESC")
    assert (page1["TotalCount"], page1["TotalPage"], page1["PageCount"], page1["PageNumber"], page1["PageSize"]) == (
        3, 2, 2, 1, 2)
    page2 = cases(v21, space.project, EventName=name, PageSize=2, PageNumber=2, SortType="DESC")
    dims = [c["Dimension"] for c in page1["Items"] + page2["Items"]]
    assert sorted(dims) == ["20250101", "20250102", "20250103"]
    assert [c["Dimension"] for c in cases(v21, space.project, EventName=name, SortItem="Dimension",
                                          SortType="DESC")["Items"]] == ["20250103", "20250102", "20250101"]
    assert [c["ConsumeCount"] for c in page1["Items"]] == [1, 1]
    assert cases(v21, space.project, EventName=name, Dimension="20250102")["TotalCount"] == 1
    assert cases(v21, space.project, EventName=name, Category="consuming")["TotalCount"] == 3
    assert cases(v21, space.project, EventName=name, Category="expired")["TotalCount"] == 0
    assert cases(v21, space.project, EventName=name, Status="ACTIVE")["TotalCount"] == 3
    assert cases(v21, space.project, EventName=name, Status="COMSUMED")["TotalCount"] == 0
    assert cases(v21, space.project, EventName=name, EventBroadcastType="SINGLE", TimeToLive="3",
                 ConsumeCount="1", EventSubType="DAY")["TotalCount"] == 3
    assert cases(v21, space.project, EventName=name, EventBroadcastType="BROADCAST")["TotalCount"] == 0
    assert cases(v21, space.project, EventName=name, CreationTimeStart="2000-01-01 00:00:00",
                 CreationTimeEnd="2999-01-01 00:00:00")["TotalCount"] == 3
    assert cases(v21, space.project, EventName=name, EventTriggeredTimeEnd="2000-01-01 00:00:00")["TotalCount"] == 0
    assert cases(v21, space.project, EventName=unique("none"))["TotalCount"] == 0
    for bad in ({"Category": "old"}, {"PageSize": 0}, {"PageSize": 201}, {"PageNumber": 0}, {"SortItem": "Colour"},
                {"SortType": "up"}, {"Status": "DONE"}, {"CreationTimeStart": "yesterday"}, {"ConsumeCount": "x"}):
        assert v21.error("DescribeEventCases", {"ProjectId": space.project, "Category": "all", "PageNumber": 1,
                                                "PageSize": 10, **bad}).code == "InvalidParameterValue", bad


def test_cases_expire_after_their_time_to_live(v21: Api21, space: Space) -> None:
    name = unique("ttl")
    register(v21, space.project, name, ttl="1", unit="SECONDS")
    v21.call("TriggerEvent", {"ProjectId": space.project, "Name": name, "Dimension": "20250101"})
    assert [c["Status"] for c in cases(v21, space.project, EventName=name)["Items"]] == ["ACTIVE"]
    ev = v21.data("DescribeEvent", {"ProjectId": space.project, "EventName": name})
    assert len(ev["EventCases"]) == 1
    time.sleep(1.3)
    assert [c["Status"] for c in cases(v21, space.project, EventName=name)["Items"]] == ["EXPIRED"]
    assert cases(v21, space.project, EventName=name, Category="expired")["TotalCount"] == 1
    assert cases(v21, space.project, EventName=name, Category="consuming")["TotalCount"] == 0
    assert cases(v21, space.project, EventName=name, Status="EXPIRED")["TotalCount"] == 1
    assert v21.data("DescribeEvent", {"ProjectId": space.project, "EventName": name})["EventCases"] == []


# ------------------------------------------------------------------------------------------------
# Releasing instances (the server's engine runs the released ones)


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_a_single_case_releases_exactly_one_waiting_instance(api: Api, v21: Api21, space: Space) -> None:
    name = unique("single")
    register(v21, space.project, name, broadcast="SINGLE")
    first, second = listening_task(api, space, name), listening_task(api, space, name)
    wait_state(api, space, first, "WAIT_EVENT")
    wait_state(api, space, second, "WAIT_EVENT")
    v21.call("TriggerEvent", {"ProjectId": space.project, "Name": name, "Dimension": "20250102"})  # another day
    stays(api, space, first, "WAIT_EVENT", 0.5)
    v21.call("TriggerEvent", {"ProjectId": space.project, "Name": name, "Dimension": "20250101"})
    states = wait_until(lambda: {first: state(api, space, first), second: state(api, space, second)},
                        lambda seen: "COMPLETED" in seen.values(), what="one of the two listeners released",
                        interval=0.1)
    assert sorted(states.values()) == ["COMPLETED", "WAIT_EVENT"], states
    waiting = first if states[first] == "WAIT_EVENT" else second
    stays(api, space, waiting, "WAIT_EVENT")
    (consumed,) = cases(v21, space.project, EventName=name, Dimension="20250101")["Items"]
    assert consumed["Status"] == "COMSUMED" and ISO_Z.match(consumed["LogTimestamp"])
    # A second case releases the other one.
    v21.call("TriggerEvent", {"ProjectId": space.project, "Name": name, "Dimension": "20250101"})
    wait_state(api, space, waiting, "COMPLETED")
    assert cases(v21, space.project, EventName=name, Status="COMSUMED")["TotalCount"] == 2


def test_a_broadcast_case_releases_every_listener_and_lists_them(api: Api, v21: Api21, space: Space) -> None:
    name = unique("bc")
    register(v21, space.project, name, broadcast="BROADCAST")
    props = [{"ParamKey": "maxWaitEventTime", "ParamValue": "1"}, {"ParamKey": "maxWaitEventTimeUnit",
                                                                   "ParamValue": "DAYS"}]
    tasks = [listening_task(api, space, name, props=props), listening_task(api, space, name),
             listening_task(api, space, name)]
    for t in tasks:
        wait_state(api, space, t, "WAIT_EVENT")
    ev = v21.data("DescribeEvent", {"ProjectId": space.project, "EventName": name})
    assert sorted(lst["Key"] for lst in ev["Listeners"]) == sorted(tasks)
    first = next(lst for lst in ev["Listeners"] if lst["Key"] == tasks[0])
    assert first["Properties"] == ("[ParamInfo(paramKey=maxWaitEventTime, paramValue=1), "
                                   "ParamInfo(paramKey=maxWaitEventTimeUnit, paramValue=DAYS)]")
    assert (first["EventName"], first["Type"]) == (name, "REST_API") and ISO_Z.match(first["CreationTimestamp"])
    v21.call("TriggerEvent", {"ProjectId": space.project, "Name": name, "Dimension": "20250101"})
    for t in tasks:
        wait_state(api, space, t, "COMPLETED")
    (case,) = cases(v21, space.project, EventName=name)["Items"]
    assert case["Status"] == "CONSUMING"


def test_single_listeners_share_a_broadcast_case_once_and_consumer_id_targets_one_task(
    api: Api, v21: Api21, space: Space
) -> None:
    name = unique("mix")
    register(v21, space.project, name, broadcast="BROADCAST")
    single_a = listening_task(api, space, name, broadcast="SINGLE")
    single_b = listening_task(api, space, name, broadcast="SINGLE")
    broad = listening_task(api, space, name)
    for t in (single_a, single_b, broad):
        wait_state(api, space, t, "WAIT_EVENT")
    v21.data("TriggerDsEvent", {"ProjectId": space.project,
                                "EventCaseList": [{"Name": name, "Dimension": "20250101", "ConsumerId": broad}]})
    wait_state(api, space, broad, "COMPLETED")
    stays(api, space, single_a, "WAIT_EVENT", 0.5)
    assert state(api, space, single_b) == "WAIT_EVENT"
    v21.call("TriggerEvent", {"ProjectId": space.project, "Name": name, "Dimension": "20250101"})
    wait_until(lambda: {state(api, space, single_a), state(api, space, single_b)}, lambda seen: "COMPLETED" in seen,
               what="one of the two single listeners released", interval=0.1)
    assert sorted([state(api, space, single_a), state(api, space, single_b)]) == ["COMPLETED", "WAIT_EVENT"]


def test_a_listener_of_another_sub_type_is_not_released(api: Api, v21: Api21, space: Space) -> None:
    name = unique("sub")
    register(v21, space.project, name, sub="DAY")
    hourly = listening_task(api, space, name, sub="HOUR")
    wait_state(api, space, hourly, "WAIT_EVENT")
    v21.call("TriggerEvent", {"ProjectId": space.project, "Name": name, "Dimension": "20250101"})
    stays(api, space, hourly, "WAIT_EVENT")
    assert cases(v21, space.project, EventName=name, Status="ACTIVE")["TotalCount"] == 1


# ------------------------------------------------------------------------------------------------
# Cases fired before the instance waits: taken when the instance is planned


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_an_instance_takes_an_open_case_fired_before_it_existed_but_not_an_expired_one(
    api: Api, v21: Api21, space: Space
) -> None:
    early, late = unique("early"), unique("late")
    register(v21, space.project, early, broadcast="SINGLE")
    register(v21, space.project, late, ttl="1", unit="SECONDS")
    v21.call("TriggerEvent", {"ProjectId": space.project, "Name": early, "Dimension": "20250101"})
    v21.call("TriggerEvent", {"ProjectId": space.project, "Name": late, "Dimension": "20250101"})
    time.sleep(1.2)  # the case of `late` expires
    takes = listening_task(api, space, early)
    misses = listening_task(api, space, late)
    wait_state(api, space, takes, "COMPLETED")
    wait_state(api, space, misses, "WAIT_EVENT")
    stays(api, space, misses, "WAIT_EVENT", 1.0)
    assert [c["Status"] for c in cases(v21, space.project, EventName=early)["Items"]] == ["COMSUMED"]
    # Only one instance gets the SINGLE case: a second listener keeps waiting.
    second = listening_task(api, space, early)
    wait_state(api, space, second, "WAIT_EVENT")
    stays(api, space, second, "WAIT_EVENT", 1.0)
    # A fresh case of `late` releases its listener at once.
    v21.call("TriggerEvent", {"ProjectId": space.project, "Name": late, "Dimension": "20250101"})
    wait_state(api, space, misses, "COMPLETED")
