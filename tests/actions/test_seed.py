"""The seed of the project: WeData's GetTask example, rebuilt through the official SDK.

The seed task (/work/shared/spec/seed-GetTask-example.json) depends on an existing task,
20241204111252781; here that upstream task is created first and its id substituted, as are the
ids and names the server allocates. GetTask must then return every key of the example at every
depth, with the example's values wherever the request set them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import ADMIN_UIN, Api, unique

# A copy of ../shared/spec/seed-GetTask-example.json, so the suite does not depend on where shared/ is.
SEED_PATH = Path(__file__).resolve().parents[1] / "data" / "seed-GetTask-example.json"
SEED_UPSTREAM = "20241204111252781"
SEED_GROUP = "20240416215649571819"

# Values the server allocates or that describe the seed tenant's history (checked on their own).
SERVER_SET = {
    "Data.TaskBaseAttribute.CreateTime",
    "Data.TaskBaseAttribute.LastUpdateTime",
    "Data.TaskBaseAttribute.LastUpdateUserName",
    "Data.TaskBaseAttribute.TaskId",
    "Data.TaskBaseAttribute.TaskLatestVersionNo",
    "Data.TaskBaseAttribute.CreateUserUin",
    "Data.TaskBaseAttribute.UpdateUserUin",
    "Data.TaskConfiguration.ResourceGroupName",
    "RequestId",
}


def seed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SEED_PATH.read_text())["Response"]
    return data


def compare(expected: Any, actual: Any, path: str = "", skip: frozenset[str] = frozenset()) -> None:
    """Every key of ``expected`` exists in ``actual`` at every depth; values are equal unless the
    path is in ``skip`` (then only presence and container shape are checked)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        missing = sorted(set(expected) - set(actual))
        assert not missing, f"{path}: missing keys {missing}"
        for key, value in expected.items():
            compare(value, actual[key], f"{path}.{key}" if path else key, skip)
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{path}: {len(actual)} items instead of {len(expected)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            compare(e, a, f"{path}[{i}]", skip)
    elif path not in skip:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def resource_group(api: Api) -> str:
    return str(
        api.data(
            "CreateResourceGroup",
            {
                "Name": unique("rg"),
                "Type": {
                    "ResourceGroupType": "Schedule",
                    "Schedule": {"Specification": "s_test", "Number": 1},
                },
                "AutoRenewEnabled": False,
                "PurchasePeriod": 1,
                "VpcId": "vpc-1",
                "SubNet": "subnet-1",
                "ResourceRegion": "ap-nanjing",
            },
        )["ResourceGroupId"]
    )


def seed_task_request(project: str, workflow: str, group: str, upstream: str, name: str) -> dict[str, Any]:
    """The CreateTask request that rebuilds the seed task (ids the server allocates substituted)."""
    example = seed()["Data"]
    base, conf, sched = (
        example[k] for k in ("TaskBaseAttribute", "TaskConfiguration", "TaskSchedulerConfiguration")
    )
    dependency = copy.deepcopy(sched["UpstreamDependencyConfigList"][0])
    dependency["TaskId"] = upstream
    in_param = copy.deepcopy(sched["ParamTaskInList"][0])
    in_param["FromTaskId"] = upstream
    request = {
        "ProjectId": project,
        "TaskBaseAttribute": {
            "TaskName": name,
            "TaskTypeId": str(base["TaskTypeId"]),
            "WorkflowId": workflow,
            "OwnerUin": base["OwnerUin"],
            "TaskDescription": base["TaskDescription"],
        },
        "TaskConfiguration": {
            "CodeContent": conf["CodeContent"],
            "TaskExtConfigurationList": conf["TaskExtConfigurationList"],
            "DataCluster": conf["DataCluster"],
            "BrokerIp": conf["BrokerIp"],
            "ResourceGroup": group,
            "TaskSchedulingParameterList": conf["TaskSchedulingParameterList"],
        },
        "TaskSchedulerConfiguration": {
            "CycleType": sched["CycleType"],
            "ScheduleTimeZone": sched["ScheduleTimeZone"],
            "CrontabExpression": sched["CrontabExpression"],
            "StartTime": sched["StartTime"],
            "EndTime": sched["EndTime"],
            "ExecutionStartTime": sched["ExecutionStartTime"],
            "ExecutionEndTime": sched["ExecutionEndTime"],
            "CalendarOpen": sched["CalendarOpen"],
            "CalendarId": sched["CalendarId"],
            "SelfDepend": sched["SelfDepend"],
            "UpstreamDependencyConfigList": [dependency],
            "EventListenerList": sched["EventListenerList"],
            "AllowRedoType": sched["AllowRedoType"],
            "ParamTaskOutList": sched["ParamTaskOutList"],
            "ParamTaskInList": [in_param],
            "InitStrategy": sched["InitStrategy"],
            # CreateTaskSchedulerConfiguration types the deprecated twins as strings.
            "ScheduleRunType": str(sched["ScheduleRunType"]),
            "RunPriority": str(sched["RunPriority"]),
            "RetryWait": str(sched["RetryWait"]),
            "MaxRetryAttempts": str(sched["MaxRetryAttempts"]),
            "ExecutionTTL": str(sched["ExecutionTTL"]),
            "WaitExecutionTotalTTL": sched["WaitExecutionTotalTTL"],
        },
    }
    return request


@pytest.fixture(scope="module")
def seeded(api: Api) -> dict[str, Any]:
    """Project, workflow, resource group, the upstream task and the seed task; GetTask of it."""
    example = seed()["Data"]
    base, conf, sched = (
        example[k] for k in ("TaskBaseAttribute", "TaskConfiguration", "TaskSchedulerConfiguration")
    )
    group = resource_group(api)
    project = api.data("CreateProject", {"Project": {"ProjectName": unique("seed"), "DisplayName": "seed"}})[
        "ProjectId"
    ]
    workflow_name = unique(base["WorkflowName"])
    workflow = api.data(
        "CreateWorkflow", {"ProjectId": project, "WorkflowName": workflow_name, "ParentFolderPath": "/"}
    )["WorkflowId"]
    upstream = api.data(
        "CreateTask",
        {
            "ProjectId": project,
            "TaskBaseAttribute": {
                "TaskName": unique("sh_241204_111248"),
                "TaskTypeId": "35",
                "WorkflowId": workflow,
            },
            "TaskConfiguration": {"CodeContent": "ZWNobyAx", "ResourceGroup": group},
            "TaskSchedulerConfiguration": {
                "StartTime": "2024-12-04 00:00:00",
                "ParamTaskOutList": [{"ParamKey": "taskout_v1", "ParamValue": "$[0][0]"}],
            },
        },
    )["TaskId"]
    name = unique(base["TaskName"])
    request = seed_task_request(project, workflow, group, upstream, name)
    task_id = api.data("CreateTask", request)["TaskId"]
    return {
        "project": project,
        "workflow": workflow,
        "workflow_name": workflow_name,
        "group": group,
        "upstream": upstream,
        "task_id": task_id,
        "name": name,
        "raw": api.raw("GetTask", {"ProjectId": project, "TaskId": task_id}),
    }


def test_get_task_has_every_key_and_value_of_the_seed(seeded: dict[str, Any]) -> None:
    expected = seed()
    data = expected["Data"]
    base = data["TaskBaseAttribute"]
    base.update(TaskName=seeded["name"], WorkflowId=seeded["workflow"], WorkflowName=seeded["workflow_name"])
    data["TaskConfiguration"]["ResourceGroup"] = seeded["group"]
    sched = data["TaskSchedulerConfiguration"]
    sched["UpstreamDependencyConfigList"][0]["TaskId"] = seeded["upstream"]
    sched["ParamTaskInList"][0]["FromTaskId"] = seeded["upstream"]
    compare(expected, seeded["raw"], skip=frozenset(SERVER_SET))


def test_get_task_server_set_values(seeded: dict[str, Any], api: Api) -> None:
    data = seeded["raw"]["Data"]
    base = data["TaskBaseAttribute"]
    assert base["TaskId"] == seeded["task_id"] and len(base["TaskId"]) == 17 and base["TaskId"].isdigit()
    assert base["TaskLatestVersionNo"] == "V1"
    assert base["CreateUserUin"] == base["UpdateUserUin"] == ADMIN_UIN
    assert base["CreateTime"] == base["LastUpdateTime"]
    assert base["LastUpdateUserName"]
    groups = api.data("ListResourceGroups", {"Id": seeded["group"]})["Items"]
    assert data["TaskConfiguration"]["ResourceGroupName"] == groups[0]["Name"]
    # Both names of every deprecated twin, the old ones as the seed shows them.
    sched = data["TaskSchedulerConfiguration"]
    assert (sched["RunPriorityType"], sched["RetryWaitMinute"], sched["MaxRetryNumber"]) == (6, 5, 4)
    assert (sched["ExecutionTTLMinute"], sched["WaitExecutionTotalTTLMinute"], sched["ScheduleType"]) == (
        -1,
        -1,
        0,
    )
    assert sched["DownstreamDependencyConfigList"] == sched["DownStreamDependencyConfigList"] == []


def test_seed_code_and_sdk_models(seeded: dict[str, Any], api: Api) -> None:
    example = seed()["Data"]
    code = api.data("GetTaskCode", {"ProjectId": seeded["project"], "TaskId": seeded["task_id"]})
    assert code["CodeInfo"] == example["TaskConfiguration"]["CodeContent"]
    assert code["CodeFileSize"] == str(len(code["CodeInfo"]))
    # The typed SDK model reads the same answer.
    typed = api.data("GetTask", {"ProjectId": seeded["project"], "TaskId": seeded["task_id"]})
    assert (
        typed["TaskSchedulerConfiguration"]["EventListenerList"]
        == example["TaskSchedulerConfiguration"]["EventListenerList"]
    )


def test_seed_upstream_sees_its_downstream(seeded: dict[str, Any], api: Api) -> None:
    data = api.raw("GetTask", {"ProjectId": seeded["project"], "TaskId": seeded["upstream"]})["Data"]
    sched = data["TaskSchedulerConfiguration"]
    assert [d["TaskId"] for d in sched["DownstreamDependencyConfigList"]] == [seeded["task_id"]]
    assert sched["DownStreamDependencyConfigList"] == sched["DownstreamDependencyConfigList"]
    assert sched["DownstreamDependencyConfigList"][0]["MainCyclicConfig"] == "DAY"
    assert sched["UpstreamDependencyConfigList"] == []
