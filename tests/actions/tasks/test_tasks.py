"""Dev-side tasks through the official SDK, on SQLite and PostgreSQL: create, read, update,
validation of every section, code, deletion. Versions, lists and dependencies have their own
files (test_tasks_versions.py, test_tasks_list.py, test_tasks_dependencies.py), which reuse the
helpers defined here.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.actions.standing import refuses_as_before_the_read
from tests.support import ADMIN_UIN, Api, ServerProcess, unique

WALL = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
MISSING_TASK = "20000101000000000"
MISSING_WORKFLOW = "00000000-0000-4000-8000-000000000000"
BASE_KEYS = {
    "TaskId", "TaskTypeId", "WorkflowId", "TaskName", "TaskLatestVersionNo", "TaskLatestSubmitVersionNo",
    "WorkflowName", "Status", "Submit", "CreateTime", "LastUpdateTime", "LastUpdateUserName", "LastOpsTime",
    "LastOpsUserName", "OwnerUin", "TaskDescription", "UpdateUserUin", "CreateUserUin", "TaskFolderPath",
}
CONF_KEYS = {
    "CodeContent", "TaskExtConfigurationList", "DataCluster", "BrokerIp", "YarnQueue", "SourceServiceId",
    "SourceServiceType", "SourceServiceName", "TargetServiceId", "TargetServiceType", "TargetServiceName",
    "ResourceGroup", "ResourceGroupName", "TaskSchedulingParameterList", "BundleId", "BundleInfo",
}
SCHED_KEYS = {
    "CycleType", "ScheduleTimeZone", "CrontabExpression", "StartTime", "EndTime", "ExecutionStartTime",
    "ExecutionEndTime", "CalendarOpen", "CalendarId", "CalendarName", "SelfDepend", "UpstreamDependencyConfigList",
    "DownstreamDependencyConfigList", "EventListenerList", "AllowRedoType", "ParamTaskOutList", "ParamTaskInList",
    "TaskOutputRegistryList", "InitStrategy", "ScheduleRunType", "DownStreamDependencyConfigList", "RunPriority",
    "RetryWait", "MaxRetryAttempts", "ExecutionTTL", "WaitExecutionTotalTTL", "ScheduleType", "RunPriorityType",
    "RetryWaitMinute", "MaxRetryNumber", "ExecutionTTLMinute", "WaitExecutionTotalTTLMinute",
    "DependencyTriggerPolicy", "AllowDownstreamDependency", "MinuteOffset",
}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class Space:
    project: str
    workflow: str
    workflow_name: str


def new_space(api: Api, folder: str = "/") -> Space:
    project = api.data("CreateProject", {"Project": {"ProjectName": unique("tp"), "DisplayName": "tasks"}})["ProjectId"]
    name = unique("wf")
    workflow = api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": name, "ParentFolderPath": folder})[
        "WorkflowId"
    ]
    return Space(project, workflow, name)


def task_request(
    space: Space,
    name: str | None = None,
    *,
    type_id: str = "35",
    base: dict[str, Any] | None = None,
    conf: dict[str, Any] | None = None,
    sched: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "ProjectId": space.project,
        "TaskBaseAttribute": {
            "TaskName": name or unique("t"),
            "TaskTypeId": type_id,
            "WorkflowId": space.workflow,
            **(base or {}),
        },
        "TaskConfiguration": {"CodeContent": b64("echo hi"), **(conf or {})},
        "TaskSchedulerConfiguration": {"StartTime": "2025-01-01 00:00:00", **(sched or {})},
    }


def create(api: Api, space: Space, name: str | None = None, **kw: Any) -> str:
    task_id = api.data("CreateTask", task_request(space, name, **kw))["TaskId"]
    assert re.fullmatch(r"\d{17}", task_id)
    return str(task_id)


def get(api: Api, space: Space, task_id: str) -> dict[str, Any]:
    """GetTask as it is on the wire (the raw JSON, not the SDK model)."""
    data: dict[str, Any] = api.raw("GetTask", {"ProjectId": space.project, "TaskId": task_id})["Data"]
    return data


def count(api: Api, space: Space, name: str) -> int:
    return int(api.data("ListTasks", {"ProjectId": space.project, "TaskName": name})["TotalCount"])


def sched_of(api: Api, space: Space, task_id: str) -> dict[str, Any]:
    data: dict[str, Any] = get(api, space, task_id)["TaskSchedulerConfiguration"]
    return data


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


@pytest.fixture(scope="module")
def user(server: ServerProcess) -> Api:
    return server.new_user()


# ------------------------------------------------------------------------------------------------
# CreateTask / GetTask


def test_create_minimal_task_gets_every_default(api: Api, space: Space) -> None:
    name = unique("t")
    task_id = api.data(
        "CreateTask",
        {
            "ProjectId": space.project,
            "TaskBaseAttribute": {"TaskName": name, "TaskTypeId": "35", "WorkflowId": space.workflow},
            "TaskConfiguration": {},
            "TaskSchedulerConfiguration": {},
        },
    )["TaskId"]
    data = get(api, space, task_id)
    base, conf, sched = data["TaskBaseAttribute"], data["TaskConfiguration"], data["TaskSchedulerConfiguration"]
    assert set(base) == BASE_KEYS and set(conf) == CONF_KEYS and set(sched) == SCHED_KEYS
    assert base["TaskId"] == task_id and base["TaskName"] == name and base["TaskTypeId"] == 35
    assert base["WorkflowId"] == space.workflow and base["WorkflowName"] == space.workflow_name
    assert (base["Status"], base["Submit"], base["TaskLatestVersionNo"], base["TaskLatestSubmitVersionNo"]) == (
        "N", False, "V1", None,
    )
    assert base["OwnerUin"] == base["CreateUserUin"] == base["UpdateUserUin"] == ADMIN_UIN
    assert WALL.match(base["CreateTime"]) and base["LastOpsTime"] is None and base["TaskFolderPath"] is None
    created = datetime.strptime(base["CreateTime"], "%Y-%m-%d %H:%M:%S")
    now_utc8 = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=8)
    assert abs((now_utc8 - created).total_seconds()) < 120  # shown in UTC+8
    assert conf["CodeContent"] == "" and conf["BrokerIp"] == "any" and conf["ResourceGroupName"] is None
    assert conf["TaskExtConfigurationList"] == [] and conf["TaskSchedulingParameterList"] == []
    today = now_utc8.strftime("%Y-%m-%d 00:00:00")
    expected = {
        "CycleType": "DAY_CYCLE", "ScheduleTimeZone": "UTC+8", "CrontabExpression": "0 0 0 * * ? *",
        "EndTime": "2099-12-31 23:59:59", "ExecutionStartTime": "00:00", "ExecutionEndTime": "23:59",
        "CalendarOpen": "0", "SelfDepend": "serial", "AllowRedoType": "ALL", "InitStrategy": "T_PLUS_0",
        "ScheduleType": 0, "ScheduleRunType": 0, "RunPriorityType": 6, "RunPriority": 6, "RetryWaitMinute": 5,
        "RetryWait": 5, "MaxRetryNumber": 4, "MaxRetryAttempts": 4, "ExecutionTTLMinute": -1, "ExecutionTTL": -1,
        "WaitExecutionTotalTTLMinute": -1, "WaitExecutionTotalTTL": "-1", "UpstreamDependencyConfigList": [],
        "DownstreamDependencyConfigList": [], "DownStreamDependencyConfigList": [], "EventListenerList": None,
        "DependencyTriggerPolicy": "ALL_SUCCESS", "AllowDownstreamDependency": 1,
    }
    assert {k: sched[k] for k in expected} == expected
    assert sched["StartTime"] in (today, (now_utc8 - timedelta(minutes=2)).strftime("%Y-%m-%d 00:00:00"))
    # The typed SDK model reads the same answer.
    typed = api.data("GetTask", {"ProjectId": space.project, "TaskId": task_id})
    assert typed["TaskBaseAttribute"]["TaskId"] == task_id


def test_create_with_full_configuration_round_trips(api: Api, space: Space) -> None:
    code = "#!/bin/bash\necho 你好 ${bizdate}\n"
    conf = {
        "CodeContent": b64(code),
        "TaskExtConfigurationList": [{"ParamKey": "python_type", "ParamValue": "python3"}],
        "DataCluster": "emr-1",
        "BrokerIp": "10.0.0.1",
        "YarnQueue": "root.q",
        "SourceServiceId": ";1;2;",
        "TargetServiceId": "3",
        "TaskSchedulingParameterList": [{"ParamKey": "bizdate", "ParamValue": "${yyyyMMdd-1d}"}],
        "BundleId": "b-1",
        "BundleInfo": '{"bundleName":"x"}',
    }
    sched = {
        "CycleType": "HOUR_CYCLE",
        "ScheduleTimeZone": "UTC+4",
        "CrontabExpression": "0 15 */2 * * ?",
        "StartTime": "2025-03-01 00:00:00",
        "EndTime": "2030-01-01 23:59:59",
        "ExecutionStartTime": "04:00",
        "ExecutionEndTime": "03:59",
        "CalendarOpen": "1",
        "CalendarId": "720",
        "SelfDepend": "orderly",
        "EventListenerList": [
            {"EventName": "ev", "EventSubType": "HOUR", "EventBroadcastType": "SINGLE",
             "PropertiesList": [{"ParamKey": "maxWaitEventTime", "ParamValue": "2"}]}
        ],
        "AllowRedoType": "FAILURE",
        "ParamTaskOutList": [{"ParamKey": "out1", "ParamValue": "$[0][1]"}],
        "TaskOutputRegistryList": [
            {"DatasourceId": "7", "DatabaseName": "db", "TableName": "t", "PartitionName": "p",
             "DataFlowType": "DOWNSTREAM", "TablePhysicalId": "phys-1"}
        ],
        "InitStrategy": "T_PLUS_1",
        "ScheduleType": 1,
        "RunPriorityType": 4,
        "RetryWaitMinute": 10,
        "MaxRetryNumber": 2,
        "ExecutionTTLMinute": 60,
        "WaitExecutionTotalTTLMinute": 120,
        "MinuteOffset": 3,
    }
    task_id = create(api, space, type_id="30", conf=conf, sched=sched, base={"TaskDescription": "d", "OwnerUin": "42"})
    data = get(api, space, task_id)
    got_conf, got = data["TaskConfiguration"], data["TaskSchedulerConfiguration"]
    assert {k: got_conf[k] for k in conf} == conf
    assert base64.b64decode(got_conf["CodeContent"]).decode() == code
    assert got["CrontabExpression"] == "0 15 */2 * * ?"
    for key in ("CycleType", "ScheduleTimeZone", "StartTime", "EndTime", "ExecutionStartTime", "ExecutionEndTime",
                "CalendarOpen", "CalendarId", "SelfDepend", "AllowRedoType", "ParamTaskOutList", "InitStrategy"):
        assert got[key] == sched[key], key
    assert got["EventListenerList"] == sched["EventListenerList"]
    assert got["TaskOutputRegistryList"][0]["TablePhysicalId"] == "phys-1"
    assert (got["ScheduleRunType"], got["RunPriority"], got["RetryWait"], got["MaxRetryAttempts"]) == (1, 4, 10, 2)
    assert (got["ExecutionTTL"], got["WaitExecutionTotalTTL"], got["MinuteOffset"]) == (60, "120", 3)
    assert data["TaskBaseAttribute"]["OwnerUin"] == "42" and data["TaskBaseAttribute"]["TaskDescription"] == "d"


def test_deprecated_twins_are_accepted_and_the_new_name_wins(api: Api, space: Space) -> None:
    task_id = create(
        api, space,
        sched={"RunPriority": "4", "RunPriorityType": 5, "RetryWait": "7", "MaxRetryAttempts": "0",
               "ExecutionTTL": "30", "WaitExecutionTotalTTL": "15", "ScheduleRunType": "1"},
    )
    s = sched_of(api, space, task_id)
    assert (s["RunPriorityType"], s["RunPriority"]) == (5, 5)
    assert (s["RetryWaitMinute"], s["MaxRetryNumber"], s["ExecutionTTLMinute"]) == (7, 0, 30)
    assert (s["WaitExecutionTotalTTLMinute"], s["WaitExecutionTotalTTL"], s["ScheduleType"]) == (15, "15", 1)


@pytest.mark.parametrize(
    ("cycle", "expected"),
    [
        ("HOUR_CYCLE", "0 0 * * * ? *"),
        ("MINUTE_CYCLE", "0 */5 * * * ? *"),
        ("WEEK_CYCLE", "0 0 0 ? * MON *"),
        ("MONTH_CYCLE", "0 0 0 1 * ? *"),
        ("YEAR_CYCLE", "0 0 0 1 1 ? *"),
        ("ONEOFF_CYCLE", "0 30 9 10 3 ? 2031"),
    ],
)
def test_crontab_is_derived_from_the_cycle(api: Api, space: Space, cycle: str, expected: str) -> None:
    task_id = create(api, space, sched={"CycleType": cycle, "StartTime": "2031-03-10 09:30:00"})
    assert sched_of(api, space, task_id)["CrontabExpression"] == expected


BAD_SCHEDULES = [
    {"CycleType": "DAILY"},
    {"CycleType": "CRONTAB_CYCLE"},  # a crontab cycle needs its expression
    {"CrontabExpression": "not a cron"},
    {"CrontabExpression": "0 0 0 32 * ?"},
    {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 */5 * * * ?"},  # does not fit the cycle
    {"ScheduleTimeZone": "Mars/Olympus"},
    {"StartTime": "2025-13-01 00:00:00"},
    {"StartTime": "2025-01-01"},
    {"StartTime": "2030-01-01 00:00:00", "EndTime": "2029-01-01 00:00:00"},
    {"ExecutionStartTime": "24:00"},
    {"ExecutionEndTime": "7pm"},
    {"CalendarOpen": "2"},
    {"CalendarOpen": "1"},  # without a CalendarId
    {"SelfDepend": "sometimes"},
    {"InitStrategy": "T_PLUS_2"},
    {"AllowRedoType": "SOMETIMES"},
    {"RunPriority": "7"},
    {"RunPriority": "high"},
    {"RunPriorityType": 3},
    {"RetryWaitMinute": -1},
    {"ExecutionTTLMinute": 0},
    {"WaitExecutionTotalTTL": "soon"},
    {"ScheduleType": 2},
    {"DependencyTriggerPolicy": "SOMETIMES"},
    {"MinuteOffset": 60},
    {"EventListenerList": [{"EventName": "e", "EventSubType": "WEEK", "EventBroadcastType": "SINGLE"}]},
    {"EventListenerList": [{"EventName": "e", "EventSubType": "DAY", "EventBroadcastType": "ALL"}]},
    {"EventListenerList": [{"EventName": "e", "EventSubType": "DAY", "EventBroadcastType": "SINGLE"}] * 2},
    {"ParamTaskOutList": [{"ParamKey": "k", "ParamValue": "1"}, {"ParamKey": "k", "ParamValue": "2"}]},
    {"ParamTaskInList": [{"ParamKey": "i", "ParamDesc": "x", "FromTaskId": MISSING_TASK, "FromParamKey": "o"}]},
    {"TaskOutputRegistryList": [{"DatasourceId": "1", "DatabaseName": "d", "TableName": "t", "PartitionName": "",
                                 "DataFlowType": "SIDEWAYS", "TablePhysicalId": "x"}]},
    {"UpstreamDependencyConfigList": [{"TaskId": MISSING_TASK, "MainCyclicConfig": "DAY",
                                       "SubordinateCyclicConfig": "CURRENT_DAY"}]},
]


@pytest.mark.parametrize("sched", BAD_SCHEDULES)
def test_create_rejects_bad_scheduler_values(api: Api, space: Space, sched: dict[str, Any]) -> None:
    name = unique("bad")
    err = api.error("CreateTask", task_request(space, name, sched=sched))
    assert err.code == "InvalidParameterValue", err.message
    assert count(api, space, name) == 0


@pytest.mark.parametrize(
    ("conf", "base"),
    [
        ({"CodeContent": "not base64!"}, {}),
        ({"CodeContent": b64("x")[:-1]}, {}),
        ({"CodeContent": base64.b64encode(b"\xff\xfe").decode()}, {}),  # not UTF-8
        ({"TaskExtConfigurationList": [{"ParamKey": "", "ParamValue": "x"}]}, {}),
        ({"TaskSchedulingParameterList": [{"ParamKey": "a", "ParamValue": "1"}] * 2}, {}),
        ({}, {"TaskTypeId": "999"}),
        ({}, {"TaskTypeId": "-1"}),  # the 2021 cross-workflow placeholder
        ({}, {"TaskTypeId": "shell"}),
        ({}, {"TaskName": "   "}),
        ({}, {"TaskName": "a/b"}),
        ({}, {"TaskFolderPath": "no-slash"}),
    ],
)
def test_create_rejects_bad_values(api: Api, space: Space, conf: dict[str, Any], base: dict[str, Any]) -> None:
    name = unique("bad")
    request = task_request(space, name, conf=conf)
    request["TaskBaseAttribute"].update(base)
    err = api.error("CreateTask", request)
    assert err.code == "InvalidParameterValue", err.message
    assert count(api, space, name) == 0


def test_create_missing_extra_and_wrongly_typed_fields(api: Api, space: Space) -> None:
    name = unique("bad")
    request = task_request(space, name)
    del request["TaskSchedulerConfiguration"]
    assert api.error("CreateTask", request, raw=True).code == "MissingParameter"
    request = task_request(space, name)
    del request["TaskBaseAttribute"]["WorkflowId"]
    assert api.error("CreateTask", request, raw=True).code == "MissingParameter"
    request = task_request(space, name, sched={"Colour": "red"})
    assert api.error("CreateTask", request, raw=True).code == "UnknownParameter"
    request = task_request(space, name, conf={"ResourceGroupName": "x"})  # output-only in Create
    assert api.error("CreateTask", request, raw=True).code == "UnknownParameter"
    request = task_request(space, name)
    request["TaskBaseAttribute"]["TaskName"] = 12
    assert api.error("CreateTask", request, raw=True).code == "InvalidParameterValue"
    request = task_request(space, name, sched={"UpstreamDependencyConfigList": "20250101000000000"})
    assert api.error("CreateTask", request, raw=True).code == "InvalidParameterValue"
    assert count(api, space, name) == 0


def test_create_unknown_references(api: Api, space: Space) -> None:
    name = unique("bad")
    other = new_space(api)
    for base in ({"WorkflowId": MISSING_WORKFLOW}, {"WorkflowId": other.workflow}, {"TaskFolderPath": "/nope"}):
        request = task_request(space, name)
        request["TaskBaseAttribute"].update(base)
        assert api.error("CreateTask", request).code == "ResourceNotFound"
    request = task_request(space, name, conf={"ResourceGroup": "99999999999999999999"})
    assert api.error("CreateTask", request).code == "ResourceNotFound"
    request = task_request(space, name)
    request["ProjectId"] = "1234567890123456789"
    assert api.error("CreateTask", request).code == "ResourceNotFound"
    assert count(api, space, name) == 0


def test_create_in_a_task_folder(api: Api, space: Space) -> None:
    folder = unique("f")
    api.call(
        "CreateTaskFolder",
        {"ProjectId": space.project, "WorkflowId": space.workflow, "ParentTaskFolderPath": "/",
         "TaskFolderName": folder, "TaskFolderType": "GENERAL"},
    )
    task_id = create(api, space, base={"TaskFolderPath": f"/{folder}"})
    assert get(api, space, task_id)["TaskBaseAttribute"]["TaskFolderPath"] == f"/{folder}"
    # The folder belongs to the GENERAL category: an EMR task (Hive SQL) cannot be filed there.
    name = unique("bad")
    request = task_request(space, name, type_id="34", base={"TaskFolderPath": f"/{folder}"})
    assert api.error("CreateTask", request).code == "ResourceNotFound"
    assert count(api, space, name) == 0


def test_create_duplicate_name(api: Api, space: Space) -> None:
    name = unique("dup")
    create(api, space, name)
    err = api.error("CreateTask", task_request(space, name))
    assert err.code == "InvalidParameter.DuplicateName"
    assert count(api, space, name) == 1


def test_non_member_is_refused(api: Api, space: Space, user: Api) -> None:
    task_id = create(api, space)
    name = unique("nm")
    assert user.error("CreateTask", task_request(space, name)).code == "UnauthorizedOperation.UserNotInProject"
    for action, params in (
        ("GetTask", {"TaskId": task_id}),
        ("ListTasks", {}),
        ("GetTaskCode", {"TaskId": task_id}),
        ("SubmitTask", {"TaskId": task_id, "VersionRemark": "x"}),
        ("DeleteTask", {"TaskId": task_id}),
    ):
        err = user.error(action, {"ProjectId": space.project, **params})
        assert err.code == "UnauthorizedOperation.UserNotInProject", action
    assert count(api, space, name) == 0
    assert get(api, space, task_id)["TaskBaseAttribute"]["Status"] == "N"


def test_get_task_refuses_before_it_says_what_is_missing(api: Api, server: ServerProcess) -> None:
    """GetTask reads the caller's standing with the task, and the registry decides after the
    read (actions/registry.py ``standing_in_read``): it must refuse exactly as before the read,
    whatever the read found, and see a membership change at the next request."""
    space = new_space(api)
    task_id = create(api, space)
    got = refuses_as_before_the_read(api, server, "GetTask", space.project, {"TaskId": task_id},
                                     [{"TaskId": MISSING_TASK}])
    assert got["TaskBaseAttribute"]["TaskId"] == task_id


def test_get_task_errors(api: Api, space: Space) -> None:
    assert api.error("GetTask", {"ProjectId": space.project, "TaskId": MISSING_TASK}).code == "ResourceNotFound"
    assert api.error("GetTask", {"ProjectId": space.project}, raw=True).code == "MissingParameter"
    task_id = create(api, space)
    other = new_space(api)
    assert api.error("GetTask", {"ProjectId": other.project, "TaskId": task_id}).code == "ResourceNotFound"


def test_get_task_code(api: Api, space: Space) -> None:
    code = "print('héllo')\n"
    task_id = create(api, space, type_id="30", conf={"CodeContent": b64(code)})
    data = api.data("GetTaskCode", {"ProjectId": space.project, "TaskId": task_id})
    assert base64.b64decode(data["CodeInfo"]).decode() == code
    assert data["CodeFileSize"] == str(len(data["CodeInfo"]))
    empty = create(api, space, conf={"CodeContent": ""})
    assert api.data("GetTaskCode", {"ProjectId": space.project, "TaskId": empty}) == {
        "CodeInfo": "", "CodeFileSize": "0",
    }
    assert api.error("GetTaskCode", {"ProjectId": space.project, "TaskId": MISSING_TASK}).code == "ResourceNotFound"


# ------------------------------------------------------------------------------------------------
# UpdateTask (what is given replaces, what is left out stays: docs/tasks.md)


def full_task(name: str, **sched: Any) -> dict[str, Any]:
    return {
        "TaskBaseAttribute": {"TaskName": name, "OwnerUin": "77", "TaskDescription": "new"},
        "TaskConfiguration": {"CodeContent": b64("echo 2"), "TaskSchedulingParameterList": []},
        "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 30 2 * * ? *", **sched},
    }


def test_update_task_replaces_what_is_given_and_keeps_the_rest(api: Api, space: Space) -> None:
    task_id = create(
        api, space,
        conf={"YarnQueue": "q", "TaskExtConfigurationList": [{"ParamKey": "a", "ParamValue": "1"}],
              "TaskSchedulingParameterList": [{"ParamKey": "p", "ParamValue": "1"},
                                              {"ParamKey": "q", "ParamValue": "2"}]},
        sched={"EventListenerList": [{"EventName": "e", "EventSubType": "DAY", "EventBroadcastType": "SINGLE"}],
               "RunPriorityType": 4, "StartTime": "2025-02-02 00:00:00"},
    )
    new_name = unique("renamed")
    task = full_task(new_name, RetryWait=9)
    task["TaskConfiguration"]["TaskSchedulingParameterList"] = [{"ParamKey": "q", "ParamValue": "3"}]
    api.call("UpdateTask", {"ProjectId": space.project, "TaskId": task_id, "Task": task})
    data = get(api, space, task_id)
    base, conf, sched = data["TaskBaseAttribute"], data["TaskConfiguration"], data["TaskSchedulerConfiguration"]
    assert (base["TaskName"], base["OwnerUin"], base["TaskDescription"]) == (new_name, "77", "new")
    assert base["TaskLatestVersionNo"] == "V2" and base["Submit"] is False
    assert base64.b64decode(conf["CodeContent"]) == b"echo 2"
    assert (sched["CrontabExpression"], sched["RetryWaitMinute"], sched["RetryWait"]) == ("0 30 2 * * ? *", 9, 9)
    # A list given is the whole list (no upsert, unlike UpdateTaskPartially) ...
    assert conf["TaskSchedulingParameterList"] == [{"ParamKey": "q", "ParamValue": "3"}]
    # ... and what was left out keeps its value (issue 16: it used to fall back to defaults).
    assert conf["YarnQueue"] == "q" and conf["TaskExtConfigurationList"] == [{"ParamKey": "a", "ParamValue": "1"}]
    assert sched["EventListenerList"][0]["EventName"] == "e" and sched["RunPriorityType"] == 4
    assert sched["StartTime"] == "2025-02-02 00:00:00"


def test_update_task_errors_change_nothing(api: Api, space: Space) -> None:
    name = unique("keep")
    task_id = create(api, space, name)
    taken = unique("taken")
    create(api, space, taken)
    before = get(api, space, task_id)
    cases: list[tuple[dict[str, Any], str]] = [
        (full_task(taken), "InvalidParameter.DuplicateName"),
        (full_task(name, CycleType="NEVER"), "InvalidParameterValue"),
        (full_task(name, CrontabExpression="0 0 0 * * ? 1999"), "InvalidParameterValue"),
        ({**full_task(name), "TaskConfiguration": {"CodeContent": "%%%"}}, "InvalidParameterValue"),
        (full_task(name, UpstreamDependencyConfigList=[{"TaskId": task_id, "MainCyclicConfig": "DAY"}]),
         "InvalidParameterValue"),
    ]
    for task, code in cases:
        err = api.error("UpdateTask", {"ProjectId": space.project, "TaskId": task_id, "Task": task})
        assert err.code == code, (task, err.message)
    missing = full_task(name)
    del missing["TaskBaseAttribute"]["OwnerUin"]
    err = api.error("UpdateTask", {"ProjectId": space.project, "TaskId": task_id, "Task": missing}, raw=True)
    assert err.code == "MissingParameter"
    err = api.error("UpdateTask", {"ProjectId": space.project, "TaskId": MISSING_TASK, "Task": full_task(name)})
    assert err.code == "ResourceNotFound"
    assert get(api, space, task_id) == before


# ------------------------------------------------------------------------------------------------
# UpdateTaskPartially


def patch(api: Api, space: Space, task_id: str, setting: dict[str, Any] | None = None, remove: list[str] | None = None) -> None:
    params: dict[str, Any] = {"ProjectId": space.project, "TaskId": task_id}
    if setting is not None:
        params["NewSetting"] = setting
    if remove is not None:
        params["FieldToRemoveList"] = remove
    assert api.data("UpdateTaskPartially", params) == {"Status": True}


def test_update_partially_merges_and_upserts_by_key(api: Api, space: Space) -> None:
    task_id = create(
        api, space,
        conf={"TaskSchedulingParameterList": [{"ParamKey": "a", "ParamValue": "1"}, {"ParamKey": "b", "ParamValue": "2"}],
              "YarnQueue": "q"},
        sched={"EventListenerList": [{"EventName": "e1", "EventSubType": "DAY", "EventBroadcastType": "SINGLE"}],
               "RunPriorityType": 4},
    )
    patch(api, space, task_id, {
        "TaskBaseAttribute": {"TaskDescription": "patched"},
        "TaskConfiguration": {"TaskSchedulingParameterList": [{"ParamKey": "b", "ParamValue": "20"},
                                                               {"ParamKey": "c", "ParamValue": "3"}]},
        "TaskSchedulerConfiguration": {
            "EventListenerList": [{"EventName": "e2", "EventSubType": "HOUR", "EventBroadcastType": "BROADCAST"}],
            "RetryWait": 8,
        },
    })
    data = get(api, space, task_id)
    conf, sched = data["TaskConfiguration"], data["TaskSchedulerConfiguration"]
    assert data["TaskBaseAttribute"]["TaskDescription"] == "patched"
    assert data["TaskBaseAttribute"]["TaskLatestVersionNo"] == "V2"
    assert conf["TaskSchedulingParameterList"] == [
        {"ParamKey": "a", "ParamValue": "1"}, {"ParamKey": "b", "ParamValue": "20"}, {"ParamKey": "c", "ParamValue": "3"},
    ]
    assert conf["YarnQueue"] == "q" and sched["RunPriorityType"] == 4  # untouched
    assert [e["EventName"] for e in sched["EventListenerList"]] == ["e1", "e2"]
    assert (sched["RetryWaitMinute"], sched["RetryWait"]) == (8, 8)


def test_update_partially_field_to_remove_list(api: Api, space: Space) -> None:
    task_id = create(
        api, space,
        conf={"TaskSchedulingParameterList": [{"ParamKey": "aa", "ParamValue": "1"}, {"ParamKey": "bb", "ParamValue": "2"},
                                              {"ParamKey": "cc", "ParamValue": "3"}], "YarnQueue": "q"},
        sched={"ParamTaskOutList": [{"ParamKey": "o1", "ParamValue": "1"}, {"ParamKey": "o2", "ParamValue": "2"}],
               "RunPriorityType": 4},
    )
    patch(api, space, task_id, remove=[
        "TaskConfiguration/TaskSchedulingParameterList:aa,bb",
        "TaskSchedulerConfiguration/ParamTaskOutList:o2",
        "TaskConfiguration/YarnQueue",
        "TaskSchedulerConfiguration/RunPriority",  # a deprecated name resets the field too
    ])
    data = get(api, space, task_id)
    assert data["TaskConfiguration"]["TaskSchedulingParameterList"] == [{"ParamKey": "cc", "ParamValue": "3"}]
    assert data["TaskConfiguration"]["YarnQueue"] is None
    assert data["TaskSchedulerConfiguration"]["ParamTaskOutList"] == [{"ParamKey": "o1", "ParamValue": "1"}]
    assert data["TaskSchedulerConfiguration"]["RunPriorityType"] == 6


@pytest.mark.parametrize(
    "remove",
    [
        ["TaskConfiguration/TaskSchedulingParameterList:zz"],  # no such item
        ["TaskConfiguration/TaskSchedulingParameterList:"],
        ["TaskConfiguration/NoSuchField"],
        ["Elsewhere/TaskSchedulingParameterList:aa"],
        ["TaskConfiguration"],
        ["TaskConfiguration/YarnQueue:aa"],  # not a list
        ["TaskSchedulerConfiguration/UpstreamDependencyConfigList:20000101000000000"],
    ],
)
def test_update_partially_bad_paths_change_nothing(api: Api, space: Space, remove: list[str]) -> None:
    task_id = create(api, space, conf={"TaskSchedulingParameterList": [{"ParamKey": "aa", "ParamValue": "1"}]})
    before = get(api, space, task_id)
    err = api.error("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": task_id, "FieldToRemoveList": remove,
        "NewSetting": {"TaskBaseAttribute": {"TaskDescription": "should not stick"}},
    })
    assert err.code == "InvalidParameterValue", err.message
    assert get(api, space, task_id) == before


def test_update_partially_cycle_change_derives_the_crontab(api: Api, space: Space) -> None:
    task_id = create(api, space, sched={"CycleType": "DAY_CYCLE", "CrontabExpression": "0 30 2 * * ? *"})
    patch(api, space, task_id, {"TaskSchedulerConfiguration": {"RetryWaitMinute": 3}})
    assert sched_of(api, space, task_id)["CrontabExpression"] == "0 30 2 * * ? *"  # kept
    patch(api, space, task_id, {"TaskSchedulerConfiguration": {"CycleType": "HOUR_CYCLE"}})
    assert sched_of(api, space, task_id)["CrontabExpression"] == "0 0 * * * ? *"
    patch(api, space, task_id, {"TaskSchedulerConfiguration": {"CrontabExpression": "0 10 1,5 * * ?"}})
    assert sched_of(api, space, task_id)["CrontabExpression"] == "0 10 1,5 * * ?"
    err = api.error("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": task_id,
        "NewSetting": {"TaskSchedulerConfiguration": {"CrontabExpression": "0 0 0 1 * ? *"}},  # monthly: not hourly
    })
    assert err.code == "InvalidParameterValue"
    assert sched_of(api, space, task_id)["CrontabExpression"] == "0 10 1,5 * * ?"


def test_update_partially_rename_and_errors(api: Api, space: Space) -> None:
    task_id = create(api, space)
    taken = unique("taken")
    create(api, space, taken)
    err = api.error("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": task_id, "NewSetting": {"TaskBaseAttribute": {"TaskName": taken}},
    })
    assert err.code == "InvalidParameter.DuplicateName"
    new_name = unique("renamed")
    patch(api, space, task_id, {"TaskBaseAttribute": {"TaskName": new_name}})
    assert get(api, space, task_id)["TaskBaseAttribute"]["TaskName"] == new_name
    err = api.error("UpdateTaskPartially", {"ProjectId": space.project, "TaskId": MISSING_TASK, "NewSetting": {}})
    assert err.code == "ResourceNotFound"
    err = api.error(
        "UpdateTaskPartially", {"ProjectId": space.project, "TaskId": task_id, "NewSetting": {"Colour": 1}}, raw=True
    )
    assert err.code == "UnknownParameter"


# ------------------------------------------------------------------------------------------------
# DeleteTask


def test_delete_task(api: Api, space: Space) -> None:
    task_id = create(api, space)
    api.call("SubmitTask", {"ProjectId": space.project, "TaskId": task_id, "VersionRemark": "v"})
    assert api.data("DeleteTask", {"ProjectId": space.project, "TaskId": task_id, "DeleteMode": True}) == {
        "Status": True
    }
    assert api.error("GetTask", {"ProjectId": space.project, "TaskId": task_id}).code == "ResourceNotFound"
    err = api.error("ListTaskVersions", {"ProjectId": space.project, "TaskId": task_id})
    assert err.code == "ResourceNotFound"
    err = api.error("DeleteTask", {"ProjectId": space.project, "TaskId": task_id})
    assert err.code == "ResourceNotFound"


def test_delete_task_with_dependents_is_refused(api: Api, space: Space) -> None:
    upstream = create(api, space)
    downstream = create(api, space, sched={"UpstreamDependencyConfigList": [
        {"TaskId": upstream, "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"}]})
    for mode in (None, False, True):
        params: dict[str, Any] = {"ProjectId": space.project, "TaskId": upstream}
        if mode is not None:
            params["DeleteMode"] = mode
        assert api.error("DeleteTask", params).code == "ResourceInUse"
    assert get(api, space, upstream)["TaskSchedulerConfiguration"]["DownstreamDependencyConfigList"][0][
        "TaskId"] == downstream
    api.call("DeleteTask", {"ProjectId": space.project, "TaskId": downstream, "DeleteMode": False})
    assert get(api, space, upstream)["TaskSchedulerConfiguration"]["DownstreamDependencyConfigList"] == []
    api.call("DeleteTask", {"ProjectId": space.project, "TaskId": upstream})
    assert api.error("GetTask", {"ProjectId": space.project, "TaskId": upstream}).code == "ResourceNotFound"


def test_delete_task_wrong_types(api: Api, space: Space) -> None:
    task_id = create(api, space)
    err = api.error("DeleteTask", {"ProjectId": space.project, "TaskId": task_id, "DeleteMode": "yes"}, raw=True)
    assert err.code == "InvalidParameterValue"
    err = api.error("DeleteTask", {"ProjectId": space.project, "TaskId": task_id, "Force": True}, raw=True)
    assert err.code == "UnknownParameter"
    assert get(api, space, task_id)["TaskBaseAttribute"]["TaskId"] == task_id
