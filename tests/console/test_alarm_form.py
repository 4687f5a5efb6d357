"""The alarm rule form's parameters and error placement, and the day Gantt's rows, built on the
server without a browser (the browser tests drive them end to end)."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from wedata.console import charts
from wedata.console.client import ActionFailed
from wedata.console.pages.alarms import error_field, rule_params, values_of
from wedata.console.pages.day import label
from wedata.services.instances.workflow_runs import Timed
from wedata.spec import models as M

RULE = msgspec.convert({
    "AlarmRuleId": "r1", "AlarmRuleName": "nightly", "Description": "", "MonitorObjectType": 2,
    "MonitorObjectIds": ["wf1"], "AlarmTypes": ["failure", "overtime"], "Status": 1, "AlarmLevel": 2,
    "AlarmRuleDetail": {"Trigger": 1, "DataBackfillOrRerunTrigger": 1,
                        "TimeOutExtInfo": [{"RuleType": 3, "Type": 1, "Hour": 1, "Min": 0},
                                           {"RuleType": 1, "Type": 2}],
                        "MonitorWhiteTasks": [{"MonitorObjectId": "wf1", "TaskIds": ["t9"]}]},
    "AlarmGroups": [{"AlarmWays": ["1", "6"], "AlarmRecipientType": 1, "AlarmRecipientIds": ["u1"],
                     "WebHooks": [{"AlarmWay": "6", "WebHooks": ["http://h/x"]}],
                     "NotificationFatigue": {"NotifyCount": 2, "NotifyInterval": 10,
                                             "QuietIntervals": [{"DaysOfWeek": [7], "StartTime": "00:00:00",
                                                                 "EndTime": "06:00:00"}]}},
                    {"AlarmWays": ["10"], "WebHooks": [{"AlarmWay": "10", "WebHooks": ["http://slack/y"]}]}],
}, M.AlarmRuleData)  # fmt: skip


def test_a_rule_sent_back_unchanged_through_the_form_is_the_same_rule() -> None:
    values, types, ways = values_of(RULE)
    assert values["MonitorObjectIds"] == "wf1" and values["TimeoutRuleType"] == "3" and values["TimeoutHour"] == "1"
    assert values["WebHook"] == "http://h/x" and values["NotifyCount"] == "2" and types == {"failure", "overtime"}
    params = rule_params("p1", values, types, ways, RULE)
    stored = msgspec.to_builtins(RULE)
    assert params["AlarmRuleDetail"] == stored["AlarmRuleDetail"]
    assert params["AlarmGroups"] == stored["AlarmGroups"]
    assert (params["MonitorObjectType"], params["MonitorObjectIds"], params["AlarmLevel"]) == (2, ["wf1"], 2)


def test_the_form_changes_only_what_it_shows() -> None:
    values, types, ways = values_of(RULE)
    values.update(TimeoutMin="30", WebHook="http://h/new", NotifyCount="often", AlarmRecipientIds="u1, u2;u3")
    params = rule_params("p1", values, types, ways - {"1"}, RULE)
    first, second = params["AlarmGroups"]
    assert first["AlarmWays"] == ["6"] and first["WebHooks"] == [{"AlarmWay": "6", "WebHooks": ["http://h/new"]}]
    assert first["AlarmRecipientIds"] == ["u1", "u2", "u3"]
    assert first["NotificationFatigue"]["NotifyCount"] == "often"  # sent as typed: the action names it
    assert first["NotificationFatigue"]["QuietIntervals"][0]["DaysOfWeek"] == [7]
    assert second == msgspec.to_builtins(RULE)["AlarmGroups"][1]
    timeouts = params["AlarmRuleDetail"]["TimeOutExtInfo"]
    assert (timeouts[0]["RuleType"], timeouts[0]["Hour"], timeouts[0]["Min"]) == (3, 1, 30) and len(timeouts) == 2
    # A project rule with no ids watches its own project.
    values.update(MonitorObjectType="3", MonitorObjectIds=" ")
    assert rule_params("p1", values, types, ways)["MonitorObjectIds"] == ["p1"]


def test_an_error_goes_next_to_the_field_it_names_first() -> None:
    def where(code: str, message: str) -> str | None:
        return error_field(ActionFailed("CreateOpsAlarmRule", code, message))

    assert where("InvalidParameterValue", "AlarmGroups[0]: group channel 8 (feishu_group) needs a WebHooks URL") \
        == "WebHook"
    assert where("InvalidParameterValue", "AlarmGroups[0].AlarmRecipientIds: AlarmRecipientType 1 needs recipient "
                 "ids") == "AlarmRecipientIds"
    assert where("InvalidParameterValue", "Invalid value for `AlarmGroups[0].NotificationFatigue.NotifyCount`: "
                 "Expected `int | null`, got `str`.") == "NotifyCount"
    assert where("InvalidParameterValue", "AlarmRuleDetail.DataBackfillOrRerunTrigger must be 1 or 2") \
        == "DataBackfillOrRerunTrigger"
    assert where("InvalidParameterValue", "an overtime alarm needs AlarmRuleDetail.TimeOutExtInfo") == "Timeout"
    assert where("InvalidParameterValue.RuleNameRepeated", "An alarm rule named 'x' already exists") == "AlarmRuleName"
    assert where("InvalidParameterValue", "AlarmGroups: at most 20 recipient configurations") == "AlarmWays"
    assert where("FailedOperation", "something else") is None


def test_day_rows_name_hourly_instances_by_their_clock_and_link_their_key() -> None:
    t0 = datetime(2026, 3, 1)
    items = [Timed("t1", "daily", t0, "COMPLETED", t0, t0 + timedelta(minutes=5), t0 + timedelta(minutes=6), 60_000),
             Timed("t2", "hourly", t0 + timedelta(hours=13), "RUNNING", t0 + timedelta(hours=13),
                   t0 + timedelta(hours=13), None, None)]
    chart = charts.gantt(items, t0 + timedelta(hours=14), label)
    assert [r.name for r in chart.rows] == ["daily", "hourly 13:00"]
    assert [r.key for r in chart.rows] == ["t1_2026-03-01 00:00:00", "t2_2026-03-01 13:00:00"]
    assert chart.rows[1].title.startswith("hourly 13:00: running")
