"""Alarm rules and alarm messages through the official SDK, on SQLite and PostgreSQL.

CreateOpsAlarmRule, GetOpsAlarmRule, ListOpsAlarmRules, UpdateOpsAlarmRule, DeleteOpsAlarmRule,
ListAlarmMessages and GetAlarmMessage; bad input answers the right code and changes nothing.
The end-to-end test submits a failing Shell task: the server's engine runs it, the failure rule
fires, the message is listed, and a webhook receiver on 127.0.0.1 gets the JSON.
Matching details, overtime and delivery retries are tested in tests/services/test_alarm_*.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.actions.instances.test_instances import Space, b64, new_space, submit, wait_for
from tests.services.alarms.webhook import Receiver
from tests.support import ADMIN_UIN, Api, ServerProcess, unique
from tests.waiting import wait_until

WALL = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MISSING = "00000000-0000-4000-8000-000000000000"
OWNER_GROUP = {"AlarmWays": ["1"], "AlarmRecipientType": 2}
RULE_KEYS = {
    "AlarmRuleId", "AlarmRuleName", "Description", "MonitorObjectType", "MonitorObjectIds", "AlarmTypes",
    "Status", "AlarmRuleDetail", "AlarmLevel", "OwnerUin", "BundleId", "BundleInfo", "AlarmGroups",
}  # fmt: skip
DETAIL_KEYS = {
    "Trigger", "DataBackfillOrRerunTrigger", "TimeOutExtInfo", "DataBackfillOrRerunTimeOutExtInfo",
    "ProjectInstanceStatisticsAlarmInfoList", "ReconciliationExtInfo", "MonitorWhiteTasks",
    "WorkflowCompletionTimeCycleExtInfo", "WorkflowExecutionTrigger", "WorkflowExecutionFailureTrigger",
    "WorkflowExecutionSuccessTrigger",
}  # fmt: skip
MESSAGE_KEYS = {
    "AlarmMessageId", "AlarmTime", "TaskName", "TaskId", "CurRunDate", "AlarmReason", "AlarmLevel",
    "AlarmRuleId", "AlarmWays", "AlarmRecipients", "CustomEmails",
}  # fmt: skip


def new_task(api: Api, space: Space, name: str | None = None) -> str:
    """A saved (not submitted) Shell task: enough to be monitored."""
    return str(api.data("CreateTask", {
        "ProjectId": space.project,
        "TaskBaseAttribute": {"TaskName": name or unique("t"), "TaskTypeId": "35", "WorkflowId": space.workflow},
        "TaskConfiguration": {"CodeContent": b64("echo hi")},
        "TaskSchedulerConfiguration": {"CycleType": "ONEOFF_CYCLE", "StartTime": "2025-01-01 00:00:00"},
    })["TaskId"])  # fmt: skip


def rule_params(space: Space, objects: list[str], name: str | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "ProjectId": space.project,
        "AlarmRuleName": name or unique("rule"),
        "MonitorObjectType": 1,
        "MonitorObjectIds": objects,
        "AlarmTypes": ["failure"],
        "AlarmGroups": [OWNER_GROUP],
        **kw,
    }


def create(api: Api, space: Space, objects: list[str], name: str | None = None, **kw: Any) -> str:
    rule_id = api.data("CreateOpsAlarmRule", rule_params(space, objects, name, **kw))["AlarmRuleId"]
    assert UUID.match(rule_id)
    return str(rule_id)


def get(api: Api, space: Space, rule_id: str) -> dict[str, Any]:
    data: dict[str, Any] = api.raw("GetOpsAlarmRule", {"ProjectId": space.project, "AlarmRuleId": rule_id})["Data"]
    return data


def listing(api: Api, space: Space, **filters: Any) -> dict[str, Any]:
    data: dict[str, Any] = api.data("ListOpsAlarmRules", {"ProjectId": space.project, "PageSize": 200, **filters})
    return data


def ids(api: Api, space: Space, **filters: Any) -> set[str]:
    return {i["AlarmRuleId"] for i in listing(api, space, **filters)["Items"]}


def code(api: Api, action: str, params: dict[str, Any], *, raw: bool = False) -> str:
    return str(api.error(action, params, raw=raw).code)


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


@pytest.fixture(scope="module")
def task(api: Api, space: Space) -> str:
    return new_task(api, space)


@pytest.fixture(scope="module")
def user(server: ServerProcess) -> Api:
    return server.new_user()


# ----------------------------------------------------------------------------------------------
# Create / Get.


def test_create_and_get_with_the_defaults_of_wedatas_example(api: Api, space: Space) -> None:
    name = unique("ruleName")
    # WeData's CreateOpsAlarmRule example (a workflow rule with a run-time limit).
    rule_id = create(api, space, [space.workflow], name, MonitorObjectType=2,
                     AlarmGroups=[{"AlarmWays": ["1"], "AlarmRecipientType": 2}],
                     AlarmRuleDetail={"TimeOutExtInfo": [{"RuleType": 1, "Type": 1, "Min": 1}]})
    data = get(api, space, rule_id)
    assert set(data) == RULE_KEYS and set(data["AlarmRuleDetail"]) == DETAIL_KEYS
    # ...answers the shape of WeData's GetOpsAlarmRule example.
    assert data["AlarmGroups"] == [{
        "AlarmEscalationInterval": 0, "AlarmEscalationRecipientIds": [], "AlarmRecipientIds": [],
        "AlarmRecipientType": 2, "AlarmWays": ["1"],
        "NotificationFatigue": {"NotifyCount": 1, "NotifyInterval": 5, "QuietIntervals": []},
        "WebHooks": [], "CustomEmails": None,
    }]  # fmt: skip
    detail = data.pop("AlarmRuleDetail")
    assert detail["Trigger"] == 2 and detail["DataBackfillOrRerunTrigger"] == 1
    assert detail["TimeOutExtInfo"] == [{"RuleType": 1, "Type": 1, "Hour": None, "Min": 1, "ScheduleTimeZone": None,
                                         "Second": None, "Times": None, "AlarmTriggerFrequency": None}]
    assert all(detail[k] is None for k in DETAIL_KEYS - {"Trigger", "DataBackfillOrRerunTrigger", "TimeOutExtInfo"})
    data.pop("AlarmGroups")
    assert data == {
        "AlarmRuleId": rule_id, "AlarmRuleName": name, "Description": "", "MonitorObjectType": 2,
        "MonitorObjectIds": [space.workflow], "AlarmTypes": ["failure"], "Status": 1, "AlarmLevel": 1,
        "OwnerUin": ADMIN_UIN, "BundleId": "", "BundleInfo": "",
    }  # fmt: skip


def test_a_full_configuration_round_trips(api: Api, space: Space, task: str) -> None:
    other = new_task(api, space)
    groups = [
        {
            "AlarmEscalationRecipientIds": ["100000000777"], "AlarmEscalationInterval": 15,
            "NotificationFatigue": {"NotifyCount": 3, "NotifyInterval": 10, "QuietIntervals": [
                {"DaysOfWeek": [6, 1, 1], "StartTime": "23:00:00", "EndTime": "07:30:00"}]},
            "AlarmWays": ["1", "2", "6", "8"],
            "WebHooks": [{"AlarmWay": "8", "WebHooks": ["https://open.feishu.cn/hook/x"]},
                         {"AlarmWay": "6", "WebHooks": ["http://127.0.0.1:9/a", "http://127.0.0.1:9/a"]}],
            "AlarmRecipientType": 1, "AlarmRecipientIds": ["100000000001", "100000000002"],
            "CustomEmails": ["ops@example.com"],
        },
        {"AlarmWays": ["5"], "AlarmRecipientType": 3, "AlarmRecipientIds": ["158"]},
    ]  # fmt: skip
    detail = {
        "Trigger": 1, "DataBackfillOrRerunTrigger": 2,
        "TimeOutExtInfo": [{"RuleType": 2, "Type": 1, "Hour": 8, "Min": 30, "ScheduleTimeZone": "UTC+7"},
                           {"RuleType": "3", "Type": "1", "Hour": 1, "Min": 0}],
        "DataBackfillOrRerunTimeOutExtInfo": [{"RuleType": 1, "Type": 2}],
        "MonitorWhiteTasks": [{"MonitorObjectId": space.workflow, "TaskIds": [other]}],
        "ReconciliationExtInfo": [{"RuleType": "reconciliationMismatch", "MismatchCount": 100, "Hour": 1, "Min": 1}],
    }  # fmt: skip
    rule_id = create(api, space, [space.workflow], MonitorObjectType=2, AlarmLevel=3, Description="nightly",
                     AlarmTypes=["failure", "overtime", "success", "backTrackingOrRerunFailure", "failure"],
                     AlarmGroups=groups, AlarmRuleDetail=detail)
    data = get(api, space, rule_id)
    assert data["AlarmTypes"] == ["failure", "overtime", "success", "backTrackingOrRerunFailure"]
    assert (data["AlarmLevel"], data["Description"], data["Status"]) == (3, "nightly", 1)
    first, second = data["AlarmGroups"]
    assert first == {
        "AlarmEscalationRecipientIds": ["100000000777"], "AlarmEscalationInterval": 15,
        "NotificationFatigue": {"NotifyCount": 3, "NotifyInterval": 10, "QuietIntervals": [
            {"DaysOfWeek": [1, 6], "StartTime": "23:00:00", "EndTime": "07:30:00"}]},
        "AlarmWays": ["1", "2", "6", "8"],
        "WebHooks": [{"AlarmWay": "8", "WebHooks": ["https://open.feishu.cn/hook/x"]},
                     {"AlarmWay": "6", "WebHooks": ["http://127.0.0.1:9/a"]}],
        "AlarmRecipientType": 1, "AlarmRecipientIds": ["100000000001", "100000000002"],
        "CustomEmails": ["ops@example.com"],
    }  # fmt: skip
    assert second["AlarmRecipientType"] == 3 and second["AlarmRecipientIds"] == ["158"]
    got = data["AlarmRuleDetail"]
    assert (got["Trigger"], got["DataBackfillOrRerunTrigger"]) == (1, 2)
    assert [(e["RuleType"], e["Type"], e["Hour"], e["Min"], e["ScheduleTimeZone"]) for e in got["TimeOutExtInfo"]] == [
        (2, 1, 8, 30, "UTC+7"), (3, 1, 1, 0, None)]
    assert got["DataBackfillOrRerunTimeOutExtInfo"][0]["Type"] == 2
    assert got["MonitorWhiteTasks"] == [{"MonitorObjectId": space.workflow, "TaskIds": [other]}]
    assert got["ReconciliationExtInfo"][0]["MismatchCount"] == 100
    # The SDK's typed model reads the same answer.
    assert api.data("GetOpsAlarmRule", {"ProjectId": space.project, "AlarmRuleId": rule_id})["AlarmRuleId"] == rule_id


# ----------------------------------------------------------------------------------------------
# List.


def test_list_filters_and_paging(api: Api, user: Api) -> None:
    space = new_space(api)
    api.call("CreateProjectMember", {"ProjectId": space.project, "UserUins": [user.uin],  # type: ignore[attr-defined]
                                    "RoleIds": ["308335260676890624"]})  # a data engineer
    t1, t2 = new_task(api, space), new_task(api, space)
    other_ws = new_space(api)  # a task of another workflow is not watched by this workflow's rules
    a = create(api, space, [t1], "alpha_one", AlarmLevel=2)
    b = create(api, space, [space.workflow], "beta_two", MonitorObjectType=2, AlarmTypes=["success", "overtime"],
               AlarmRuleDetail={"TimeOutExtInfo": [{"RuleType": 1, "Min": 5}]})
    c = create(api, space, [space.project], "gamma_three", MonitorObjectType=3, AlarmLevel=3,
               AlarmGroups=[{"AlarmWays": ["2"], "AlarmRecipientType": 1, "AlarmRecipientIds": ["u777", "u888"]}])
    d = user.data("CreateOpsAlarmRule", rule_params(space, [t2], "delta_four"))["AlarmRuleId"]
    everything = listing(api, space)
    assert everything["TotalCount"] == 4 and everything["TotalPageNumber"] == 1
    assert [i["AlarmRuleId"] for i in everything["Items"]] == [d, c, b, a]  # newest first
    assert set(everything["Items"][0]) == RULE_KEYS

    assert ids(api, space, MonitorObjectType=1) == {a, d}
    assert ids(api, space, MonitorObjectType=3) == {c}
    assert ids(api, space, MonitorObjectType=7) == set()
    # TaskId: the rules that watch the task, directly or through its workflow or project.
    assert ids(api, space, TaskId=t1) == {a, b, c}
    assert ids(api, space, TaskId=t2) == {b, c, d}
    assert ids(api, space, TaskId="29990101000000000") == set()
    assert ids(api, space, AlarmType="overtime") == {b}
    assert ids(api, space, AlarmType="failure") == {a, c, d}
    assert ids(api, space, AlarmType="reconciliationFailure") == set()
    assert ids(api, space, AlarmLevel=1) == {b, d} and ids(api, space, AlarmLevel=3) == {c}
    assert ids(api, space, AlarmRecipientId="u888") == {c}
    assert ids(api, space, AlarmRecipientId="u88") == set()  # whole ids only
    assert ids(api, space, Keyword="_t") == {b, c}  # beta_two, gamma_three
    assert ids(api, space, Keyword=a) == {a}
    assert ids(api, space, Keyword="%") == set()  # LIKE wildcards are literal
    assert ids(api, space, CreateUserUin=user.uin) == {d}  # type: ignore[attr-defined]
    assert ids(api, space, CreateUserUin=ADMIN_UIN) == {a, b, c}
    now8 = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=8)
    fmt = "%Y-%m-%d %H:%M:%S"
    past, future = (now8 - timedelta(hours=1)).strftime(fmt), (now8 + timedelta(hours=1)).strftime(fmt)
    assert ids(api, space, CreateTimeFrom=past, CreateTimeTo=future) == {a, b, c, d}
    assert ids(api, space, CreateTimeFrom=future) == set() and ids(api, space, UpdateTimeTo=past) == set()
    assert ids(api, space, UpdateTimeFrom=past, AlarmLevel=2) == {a}
    assert ids(api, other_ws) == set()

    page = api.data("ListOpsAlarmRules", {"ProjectId": space.project, "PageSize": 3, "PageNumber": 2})
    assert (page["PageNumber"], page["PageSize"], page["TotalCount"], page["TotalPageNumber"]) == (2, 3, 4, 2)
    assert [i["AlarmRuleId"] for i in page["Items"]] == [a]
    default = api.data("ListOpsAlarmRules", {"ProjectId": space.project})
    assert (default["PageNumber"], default["PageSize"]) == (1, 20)  # ListOpsAlarmRules defaults to 20
    beyond = api.data("ListOpsAlarmRules", {"ProjectId": space.project, "PageSize": 3, "PageNumber": 9})
    assert beyond["Items"] == [] and beyond["TotalCount"] == 4


@pytest.mark.parametrize(
    "filters",
    [
        {"PageSize": 0}, {"PageSize": 201}, {"PageNumber": 0}, {"AlarmType": "explosion"}, {"AlarmLevel": 4},
        {"MonitorObjectType": 5}, {"CreateTimeFrom": "yesterday"}, {"UpdateTimeTo": "2025-13-01 00:00:00"},
        {"CreateTimeFrom": "2025-09-02 00:00:00", "CreateTimeTo": "2025-09-01 00:00:00"},
    ],
)
def test_list_rejects_bad_filters(api: Api, space: Space, filters: dict[str, Any]) -> None:
    assert code(api, "ListOpsAlarmRules", {"ProjectId": space.project, **filters}) == "InvalidParameterValue"


# ----------------------------------------------------------------------------------------------
# Update / Delete.


def test_update_changes_only_what_is_given(api: Api, space: Space, task: str) -> None:
    rule_id = create(api, space, [task], AlarmLevel=2, Description="before")
    before = get(api, space, rule_id)
    new_name = unique("renamed")
    assert api.data("UpdateOpsAlarmRule", {"ProjectId": space.project, "AlarmRuleId": rule_id,
                                           "AlarmRuleName": new_name}) == {"Status": True}  # fmt: skip
    after = get(api, space, rule_id)
    assert after == {**before, "AlarmRuleName": new_name}
    # Several fields at once, including the monitored objects and the enabled status.
    api.call("UpdateOpsAlarmRule", {
        "ProjectId": space.project, "AlarmRuleId": rule_id, "MonitorObjectType": 2, "MonitorObjectIds": [space.workflow],
        "AlarmTypes": ["overtime"], "AlarmRuleDetail": {"Trigger": 1, "TimeOutExtInfo": [{"RuleType": 3, "Hour": 2}]},
        "Status": 0, "AlarmLevel": 3, "Description": "after",
        "AlarmGroups": [{"AlarmWays": ["7"], "WebHooks": [{"AlarmWay": "7", "WebHooks": ["https://qyapi.example/x"]}]}],
    })  # fmt: skip
    after = get(api, space, rule_id)
    assert (after["MonitorObjectType"], after["MonitorObjectIds"], after["AlarmTypes"]) == (2, [space.workflow], ["overtime"])
    assert (after["Status"], after["AlarmLevel"], after["Description"]) == (0, 3, "after")
    assert after["AlarmRuleDetail"]["Trigger"] == 1 and after["AlarmRuleDetail"]["TimeOutExtInfo"][0]["Hour"] == 2
    assert after["AlarmGroups"][0]["AlarmWays"] == ["7"]
    assert ids(api, space, TaskId=task) >= {rule_id} and ids(api, space, MonitorObjectType=2) >= {rule_id}
    # Status given as a string (the spec types it both ways) re-enables it.
    api.call("UpdateOpsAlarmRule", {"ProjectId": space.project, "AlarmRuleId": rule_id, "Status": "1"})
    assert get(api, space, rule_id)["Status"] == 1


def test_update_refusals_change_nothing(api: Api, space: Space, task: str) -> None:
    taken = unique("taken")
    create(api, space, [task], taken)
    rule_id = create(api, space, [task], AlarmTypes=["overtime"],
                     AlarmRuleDetail={"TimeOutExtInfo": [{"RuleType": 1, "Min": 30}]})
    before = get(api, space, rule_id)
    base = {"ProjectId": space.project, "AlarmRuleId": rule_id}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"AlarmRuleName": taken}, "InvalidParameterValue.RuleNameRepeated"),
        ({"AlarmRuleName": ""}, "InvalidParameterValue"),
        ({"Status": 2}, "InvalidParameterValue"),
        ({"Status": "on"}, "InvalidParameterValue"),
        ({"AlarmLevel": 0}, "InvalidParameterValue"),
        ({"AlarmTypes": []}, "InvalidParameterValue"),
        ({"AlarmTypes": ["projectFailureInstanceCountAlarm"]}, "UnsupportedOperation"),
        # Dropping the timeout details while overtime stays selected.
        ({"AlarmRuleDetail": {"Trigger": 1}}, "InvalidParameterValue"),
        ({"MonitorObjectType": 2}, "ResourceNotFound"),  # the task id is not a workflow
        ({"MonitorObjectIds": ["29990101000000000"]}, "ResourceNotFound"),
        ({"MonitorObjectIds": []}, "InvalidParameterValue"),
        ({"AlarmGroups": []}, "InvalidParameterValue"),
        ({"AlarmGroups": [{"AlarmWays": ["1"], "AlarmRecipientType": 1}]}, "InvalidParameterValue"),
    ]
    for change, expected in cases:
        assert code(api, "UpdateOpsAlarmRule", {**base, **change}) == expected, change
    assert get(api, space, rule_id) == before
    assert code(api, "UpdateOpsAlarmRule", {**base, "Bogus": 1}, raw=True) == "UnknownParameter"
    assert code(api, "UpdateOpsAlarmRule", {**base, "AlarmLevel": "high"}, raw=True) == "InvalidParameterValue"
    assert code(api, "UpdateOpsAlarmRule", {"ProjectId": space.project}, raw=True) == "MissingParameter"
    assert get(api, space, rule_id) == before


def test_delete(api: Api, space: Space, task: str) -> None:
    name = unique("gone")
    rule_id = create(api, space, [task], name)
    assert api.data("DeleteOpsAlarmRule", {"ProjectId": space.project, "AlarmRuleId": rule_id}) == {"Status": True}
    assert code(api, "GetOpsAlarmRule", {"ProjectId": space.project, "AlarmRuleId": rule_id}) == "InvalidParameter.RuleNotExist"
    assert code(api, "DeleteOpsAlarmRule", {"ProjectId": space.project, "AlarmRuleId": rule_id}) == "InvalidParameter.RuleNotExist"
    assert rule_id not in ids(api, space)
    create(api, space, [task], name)  # the name is free again


def test_unknown_rule_ids(api: Api, space: Space, task: str) -> None:
    elsewhere = new_space(api)
    foreign = create(api, elsewhere, [elsewhere.project], MonitorObjectType=3)
    for rule_id in (MISSING, "not-a-uuid", foreign):  # a rule of another project is not found here
        params = {"ProjectId": space.project, "AlarmRuleId": rule_id}
        assert code(api, "GetOpsAlarmRule", params) == "InvalidParameter.RuleNotExist"
        assert code(api, "UpdateOpsAlarmRule", {**params, "AlarmLevel": 2}) == "InvalidParameter.RuleNotExist"
        assert code(api, "DeleteOpsAlarmRule", params) == "InvalidParameter.RuleNotExist"
    assert get(api, elsewhere, foreign)["AlarmLevel"] == 1


# ----------------------------------------------------------------------------------------------
# Bad input on create.


def _bad_creates(space: Space, task: str) -> list[tuple[dict[str, Any], str]]:
    hook = [{"AlarmWay": "7", "WebHooks": ["https://example.com/robot"]}]
    group = dict(OWNER_GROUP)
    return [
        ({"AlarmTypes": ["explosion"]}, "InvalidParameterValue"),
        ({"AlarmTypes": []}, "InvalidParameterValue"),
        ({"AlarmTypes": ["reconciliationFailure"]}, "UnsupportedOperation"),
        ({"AlarmTypes": ["projectFailureInstanceUpwardFluctuationAlarm"]}, "UnsupportedOperation"),
        ({"MonitorObjectType": 5}, "InvalidParameterValue"),
        ({"MonitorObjectType": 7, "MonitorObjectIds": [space.project]}, "UnsupportedOperation"),
        ({"MonitorObjectIds": []}, "InvalidParameterValue"),
        ({"MonitorObjectIds": ["29990101000000000"]}, "ResourceNotFound"),
        ({"MonitorObjectIds": [task, "29990101000000000"]}, "ResourceNotFound"),
        ({"MonitorObjectType": 2, "MonitorObjectIds": [MISSING]}, "ResourceNotFound"),
        ({"MonitorObjectType": 2, "MonitorObjectIds": [task]}, "ResourceNotFound"),
        ({"MonitorObjectType": 3, "MonitorObjectIds": ["1234567890123456789"]}, "InvalidParameterValue"),
        ({"AlarmLevel": 4}, "InvalidParameterValue"),
        ({"AlarmRuleName": " padded "}, "InvalidParameterValue"),
        ({"AlarmRuleName": "x" * 257}, "InvalidParameterValue"),
        ({"AlarmTypes": ["overtime"]}, "InvalidParameterValue"),  # no TimeOutExtInfo
        ({"AlarmRuleDetail": {"Trigger": 3}}, "InvalidParameterValue"),
        ({"AlarmRuleDetail": {"DataBackfillOrRerunTrigger": 0}}, "InvalidParameterValue"),
        ({"AlarmTypes": ["overtime"], "AlarmRuleDetail": {"TimeOutExtInfo": [{"RuleType": 5}]}}, "InvalidParameterValue"),
        ({"AlarmTypes": ["overtime"], "AlarmRuleDetail": {"TimeOutExtInfo": [{"Type": 1}]}}, "InvalidParameterValue"),
        ({"AlarmTypes": ["overtime"], "AlarmRuleDetail": {"TimeOutExtInfo": [{"RuleType": 9}]}}, "UnsupportedOperation"),
        ({"AlarmTypes": ["overtime"], "AlarmRuleDetail": {"TimeOutExtInfo": [{"RuleType": 2, "Type": 2}]}},
         "UnsupportedOperation"),
        ({"AlarmTypes": ["overtime"], "AlarmRuleDetail": {"TimeOutExtInfo": [{"RuleType": 2, "Hour": 24}]}},
         "InvalidParameterValue"),
        ({"AlarmTypes": ["overtime"], "AlarmRuleDetail": {"TimeOutExtInfo": [{"RuleType": 1, "Min": 0}]}},
         "InvalidParameterValue"),
        ({"AlarmTypes": ["overtime"], "AlarmRuleDetail": {"TimeOutExtInfo": [{"RuleType": 1, "Hour": -1}]}},
         "InvalidParameterValue"),
        ({"AlarmTypes": ["overtime"],
          "AlarmRuleDetail": {"TimeOutExtInfo": [{"RuleType": 2, "ScheduleTimeZone": "Mars/Base"}]}},
         "InvalidParameterValue"),
        ({"AlarmRuleDetail": {"MonitorWhiteTasks": [{"MonitorObjectId": MISSING, "TaskIds": [task]}]},
          "MonitorObjectType": 2, "MonitorObjectIds": [space.workflow]}, "InvalidParameterValue"),
        ({"AlarmRuleDetail": {"MonitorWhiteTasks": [{"MonitorObjectId": space.workflow, "TaskIds": ["29990101000000000"]}]},
          "MonitorObjectType": 2, "MonitorObjectIds": [space.workflow]}, "ResourceNotFound"),
        ({"AlarmGroups": []}, "InvalidParameterValue"),
        ({"AlarmGroups": [{**group, "AlarmWays": ["12"]}]}, "InvalidParameterValue"),
        ({"AlarmGroups": [{**group, "AlarmWays": []}]}, "InvalidParameterValue"),
        ({"AlarmGroups": [{**group, "AlarmRecipientType": 4}]}, "InvalidParameterValue"),
        ({"AlarmGroups": [{"AlarmWays": ["1"], "AlarmRecipientType": 1}]}, "InvalidParameterValue"),
        ({"AlarmGroups": [{"AlarmWays": ["1"], "AlarmRecipientType": 3, "AlarmRecipientIds": [""]}]},
         "InvalidParameterValue"),
        ({"AlarmGroups": [{**group, "AlarmWays": ["7"]}]}, "InvalidParameterValue"),  # group robot without URL
        ({"AlarmGroups": [{**group, "AlarmWays": ["7", "8"], "WebHooks": hook}]}, "InvalidParameterValue"),
        ({"AlarmGroups": [{**group, "AlarmWays": ["1"], "WebHooks": hook}]}, "InvalidParameterValue"),
        ({"AlarmGroups": [{**group, "AlarmWays": ["1"], "WebHooks": [{"AlarmWay": "1", "WebHooks": ["http://a"]}]}]},
         "InvalidParameterValue"),
        ({"AlarmGroups": [{**group, "AlarmWays": ["6"], "WebHooks": [{"AlarmWay": "6", "WebHooks": ["ftp://x/y"]}]}]},
         "InvalidParameterValue"),
        ({"AlarmGroups": [{**group, "CustomEmails": ["not-an-address"]}]}, "InvalidParameterValue"),
        ({"AlarmGroups": [{**group, "NotificationFatigue": {"NotifyCount": 0}}]}, "InvalidParameterValue"),
        ({"AlarmGroups": [{**group, "NotificationFatigue": {"NotifyInterval": 0}}]}, "InvalidParameterValue"),
        ({"AlarmGroups": [{**group, "NotificationFatigue": {"QuietIntervals": [
            {"DaysOfWeek": [8], "StartTime": "00:00:00", "EndTime": "09:00:00"}]}}]}, "InvalidParameterValue"),
        ({"AlarmGroups": [{**group, "NotificationFatigue": {"QuietIntervals": [
            {"DaysOfWeek": [1], "StartTime": "25:00:00", "EndTime": "09:00:00"}]}}]}, "InvalidParameterValue"),
        ({"AlarmGroups": [{**group, "AlarmEscalationInterval": -5}]}, "InvalidParameterValue"),
    ]  # fmt: skip


def test_create_rejects_bad_input_and_creates_nothing(api: Api, space: Space, task: str) -> None:
    count = listing(api, space)["TotalCount"]
    for change, expected in _bad_creates(space, task):
        params = rule_params(space, [task], unique("bad"), **change)
        assert code(api, "CreateOpsAlarmRule", params) == expected, change
    assert listing(api, space)["TotalCount"] == count


def test_create_missing_extra_and_wrongly_typed_fields(api: Api, space: Space, task: str) -> None:
    count = listing(api, space)["TotalCount"]
    good = rule_params(space, [task])
    for field in ("AlarmRuleName", "MonitorObjectIds", "AlarmTypes", "AlarmGroups"):
        params = {k: v for k, v in good.items() if k != field}
        assert code(api, "CreateOpsAlarmRule", params, raw=True) == "MissingParameter", field
    assert code(api, "CreateOpsAlarmRule", {**good, "Color": "red"}, raw=True) == "UnknownParameter"
    assert code(api, "CreateOpsAlarmRule", {**good, "MonitorObjectIds": task}, raw=True) == "InvalidParameterValue"
    assert code(api, "CreateOpsAlarmRule", {**good, "AlarmLevel": "1x"}, raw=True) == "InvalidParameterValue"
    assert code(api, "CreateOpsAlarmRule", {**good, "AlarmGroups": [{"Colour": 1}]}, raw=True) == "UnknownParameter"
    assert listing(api, space)["TotalCount"] == count


def test_duplicate_name_is_refused(api: Api, space: Space, task: str) -> None:
    name = unique("dup")
    first = create(api, space, [task], name)
    assert code(api, "CreateOpsAlarmRule", rule_params(space, [task], name, AlarmLevel=3)) == (
        "InvalidParameterValue.RuleNameRepeated")
    assert ids(api, space, Keyword=name) == {first}
    # Names are unique per project: another project may reuse it.
    elsewhere = new_space(api)
    create(api, elsewhere, [elsewhere.project], name, MonitorObjectType=3)


def test_non_members_and_deleted_projects(api: Api, user: Api, task: str, space: Space) -> None:
    rule_id = create(api, space, [task])
    count = listing(api, space)["TotalCount"]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("CreateOpsAlarmRule", rule_params(space, [task])),
        ("GetOpsAlarmRule", {"ProjectId": space.project, "AlarmRuleId": rule_id}),
        ("ListOpsAlarmRules", {"ProjectId": space.project}),
        ("UpdateOpsAlarmRule", {"ProjectId": space.project, "AlarmRuleId": rule_id, "AlarmLevel": 3}),
        ("DeleteOpsAlarmRule", {"ProjectId": space.project, "AlarmRuleId": rule_id}),
        ("ListAlarmMessages", {"ProjectId": space.project}),
        ("GetAlarmMessage", {"ProjectId": space.project, "AlarmMessageId": "1"}),
    ]
    for action, params in calls:
        assert code(user, action, params) == "UnauthorizedOperation.UserNotInProject", action
    assert listing(api, space)["TotalCount"] == count and get(api, space, rule_id)["AlarmLevel"] == 1

    doomed = new_space(api)
    doomed_rule = create(api, doomed, [doomed.project], MonitorObjectType=3)
    api.call("DeleteProject", {"ProjectId": doomed.project})
    for action, params in calls:
        params = {**params, "ProjectId": doomed.project}
        if "AlarmRuleId" in params:
            params["AlarmRuleId"] = doomed_rule
        assert code(api, action, params) == "ResourceNotFound", action


# ----------------------------------------------------------------------------------------------
# Messages.


def test_message_lookups_and_bad_input(api: Api, space: Space) -> None:
    empty = api.data("ListAlarmMessages", {"ProjectId": space.project, "StartTime": "2000-01-01 00:00:00",
                                           "EndTime": "2000-01-02 00:00:00"})  # fmt: skip
    assert empty == {"PageNumber": 1, "PageSize": 10, "TotalCount": 0, "TotalPageNumber": 0, "Items": []}
    for message_id in ("999999999", "abc", "-1", "0"):
        params = {"ProjectId": space.project, "AlarmMessageId": message_id}
        assert code(api, "GetAlarmMessage", params) == "ResourceNotFound", message_id
    bad: list[dict[str, Any]] = [
        {"PageSize": 101}, {"PageSize": 0}, {"PageNumber": 0}, {"TimeZone": "Mars"}, {"AlarmLevel": 5},
        {"StartTime": "2025-01-01"}, {"StartTime": "2025-01-02 00:00:00", "EndTime": "2025-01-01 00:00:00"},
    ]
    for filters in bad:
        assert code(api, "ListAlarmMessages", {"ProjectId": space.project, **filters}) == "InvalidParameterValue", filters
    assert code(api, "GetAlarmMessage", {"ProjectId": space.project, "AlarmMessageId": "1", "TimeZone": "x"}) == (
        "InvalidParameterValue")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def _messages(api: Api, space: Space, **filters: Any) -> list[dict[str, Any]]:
    return list(api.data("ListAlarmMessages", {"ProjectId": space.project, "PageSize": 100, **filters})["Items"])


def _wait_messages(api: Api, space: Space, count: int, timeout: float = 20.0, **filters: Any) -> list[dict[str, Any]]:
    return wait_until(lambda: _messages(api, space, **filters), lambda items: len(items) >= count,
                      what=f"{count} alarm message(s) {filters or ''}", patience=timeout, interval=0.1,
                      progress=len)


def test_a_failing_task_fires_its_rules_and_the_webhook_gets_the_json(api: Api, receiver: Receiver) -> None:
    space = new_space(api)
    path = f"/{unique('fail')}"
    hook = receiver.url(path)
    webhook_group = {"AlarmWays": ["6", "1"], "WebHooks": [{"AlarmWay": "6", "WebHooks": [hook]}],
                     "AlarmRecipientType": 1, "AlarmRecipientIds": ["100000000042"]}  # fmt: skip
    failure = create(api, space, [space.workflow], MonitorObjectType=2, AlarmLevel=3, AlarmGroups=[webhook_group])
    project_rule = create(api, space, [space.project], MonitorObjectType=3, AlarmTypes=["failure", "success"])
    disabled = create(api, space, [space.project], MonitorObjectType=3)
    api.call("UpdateOpsAlarmRule", {"ProjectId": space.project, "AlarmRuleId": disabled, "Status": 0})
    ok_name, bad_name = unique("ok"), unique("boom")
    bad = submit(api, space, "echo boom; exit 3", name=bad_name, sched={"MaxRetryNumber": 0})
    ok = submit(api, space, "echo fine", name=ok_name)
    (bad_inst,) = wait_for(api, space, bad, {"EXPIRED"})
    wait_for(api, space, ok, {"COMPLETED"})

    items = _wait_messages(api, space, 3)
    assert len(items) == 3  # failure rule + project rule on the failure, project rule on the success
    by_rule = {(i["AlarmRuleId"], i["TaskId"]): i for i in items}
    assert set(by_rule) == {(failure, bad), (project_rule, bad), (project_rule, ok)}
    msg = by_rule[(failure, bad)]
    assert set(msg) == MESSAGE_KEYS and isinstance(msg["AlarmMessageId"], int)
    assert (msg["TaskName"], msg["CurRunDate"], msg["AlarmLevel"]) == (bad_name, bad_inst["CurRunDate"], 3)
    assert msg["AlarmWays"] == ["http", "email"] and msg["AlarmRecipients"] == ["100000000042"]
    assert msg["AlarmReason"].startswith("failure:") and "exit code 3" in msg["AlarmReason"]
    assert WALL.match(msg["AlarmTime"]) and msg["CustomEmails"] is None
    assert by_rule[(project_rule, bad)]["AlarmRecipients"] == [ADMIN_UIN]  # the task owner
    assert by_rule[(project_rule, ok)]["AlarmReason"].startswith("success:")

    got = api.data("GetAlarmMessage", {"ProjectId": space.project, "AlarmMessageId": str(msg["AlarmMessageId"])})
    assert got == msg
    shifted = api.data("GetAlarmMessage", {"ProjectId": space.project, "AlarmMessageId": str(msg["AlarmMessageId"]),
                                           "TimeZone": "UTC+6"})  # fmt: skip
    alarm_time = datetime.strptime(msg["AlarmTime"], "%Y-%m-%d %H:%M:%S")
    assert shifted["AlarmTime"] == (alarm_time - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    assert shifted["CurRunDate"] == msg["CurRunDate"]  # the data time is never shifted

    # The filters of ListAlarmMessages.
    assert {i["AlarmRuleId"] for i in _messages(api, space, AlarmLevel=3)} == {failure}
    assert {i["AlarmRuleId"] for i in _messages(api, space, AlarmRecipientId="100000000042")} == {failure}
    window = {"StartTime": (alarm_time - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S"),
              "EndTime": (alarm_time + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")}  # fmt: skip
    assert len(_messages(api, space, **window)) == 3
    assert _messages(api, space, EndTime=(alarm_time - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")) == []
    assert len(_messages(api, space, TimeZone="UTC+6", StartTime=(alarm_time - timedelta(hours=2, minutes=5))
                         .strftime("%Y-%m-%d %H:%M:%S"))) == 3  # fmt: skip
    page = api.data("ListAlarmMessages", {"ProjectId": space.project, "PageSize": 2, "PageNumber": 2})
    assert (page["TotalCount"], page["TotalPageNumber"], len(page["Items"])) == (3, 2, 1)

    # The webhook receiver got the alarm as JSON (the worker posts it in the background).
    (req,) = receiver.wait_for(1, path)
    body = req.body
    assert req.headers["content-type"] == "application/json"
    assert body["AlarmMessageId"] == msg["AlarmMessageId"] and body["AlarmRuleId"] == failure
    assert (body["AlarmType"], body["TaskId"], body["TaskName"], body["ProjectId"]) == ("failure", bad, bad_name, space.project)
    assert body["InstanceKey"] == bad_inst["InstanceKey"] and body["CurRunDate"] == bad_inst["CurRunDate"]
    assert body["AlarmReason"] == msg["AlarmReason"] and body["AlarmLevel"] == 3
    assert req.headers["x-wedata-alarm-message"] == str(msg["AlarmMessageId"])
    # A deleted rule keeps its messages.
    api.call("DeleteOpsAlarmRule", {"ProjectId": space.project, "AlarmRuleId": failure})
    assert api.data("GetAlarmMessage", {"ProjectId": space.project, "AlarmMessageId": str(msg["AlarmMessageId"])}) == msg
    # Another project does not see them.
    other = new_space(api)
    assert code(api, "GetAlarmMessage", {"ProjectId": other.project, "AlarmMessageId": str(msg["AlarmMessageId"])}) == (
        "ResourceNotFound")
