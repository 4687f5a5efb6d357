"""Trigger settings a workflow could not fire from are refused through the official SDK, with
InvalidParameterValue naming the trigger and its field, and nothing is saved: not on
CreateTriggerWorkflow, not on UpdateTriggerWorkflow, not on UpdateTriggerWorkflowPartially.
SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.actions.triggers.firing_support import file_trigger, time_trigger
from tests.actions.triggers.test_definitions import new_space, workflow_project
from tests.support import Api, ServerProcess, unique

BAD_TIME: list[tuple[dict[str, Any], str]] = [
    ({"CrontabExpression": None}, "CrontabExpression is required"),
    ({"CrontabExpression": "0 0 25 * * ? *"}, "syntax error: hour field"),
    ({"CrontabExpression": "*/10 * * * * ? *"}, "at most one instance a minute"),
    ({"ConfigMode": "COMMON", "CycleType": "DAY_CYCLE", "CrontabExpression": "0 */5 * * * ? *"}, "DAY_CYCLE"),
    ({"ConfigMode": "COMMON"}, "CycleType is required when ConfigMode is COMMON"),
    ({"ConfigMode": "CRON_EXPRESSION", "CycleType": "DAY_CYCLE"}, "CycleType must be CRONTAB_CYCLE"),
    ({"CycleType": "FORTNIGHT_CYCLE"}, "CycleType is not a cycle type"),
    ({"ScheduleTimeZone": "Mars/Olympus"}, "ScheduleTimeZone: unknown time zone 'Mars/Olympus'"),
    ({"ScheduleTimeZone": "UTC+15"}, "ScheduleTimeZone: invalid time zone"),
    ({"StartTime": "2025/03/01"}, "StartTime must be yyyy-MM-dd HH:mm:ss or epoch milliseconds"),
    ({"EndTime": "99999999999999999"}, "EndTime: 99999999999999999 is not an epoch-millisecond time"),
    ({"StartTime": "2025-03-02 00:00:00", "EndTime": "2025-03-01 00:00:00"}, "EndTime 2025-03-01 00:00:00 is before"),
    ({"CrontabExpression": "0 0 0 1 1 ? 2024", "StartTime": "2025-01-01 00:00:00"}, "never fires"),
]


def bad_file(watch: str) -> list[tuple[dict[str, Any], str]]:
    return [
        ({"FileArrivalPath": None}, "FileArrivalPath is required"),
        ({"FileArrivalPath": "incoming/x"}, "must be an absolute directory path"),
        ({"FileArrivalPath": "/etc"}, "is not under a watch root"),
        ({"FileArrivalPath": f"{watch}/../../.."}, "is not under a watch root"),
        ({"FileArrivalPath": "s3://someone-elses-bucket/x"}, "is not under a watch root"),
        ({"FileNamePattern": "in/*.csv"}, "FileNamePattern must be a file name"),
        ({"FileNamePattern": "data?.csv"}, "FileNamePattern must be a file name"),
        ({"TriggerWaitTime": 61}, "TriggerWaitTime must be an integer from 1 to 60"),
        ({"TriggerWaitTime": 0}, "TriggerWaitTime must be an integer from 1 to 60"),
        ({"TriggerMinimumInterval": 1441}, "TriggerMinimumInterval must be an integer from 1 to 1440"),
        ({"TriggerWaitTimeSecond": 3601}, "TriggerWaitTimeSecond must be an integer from 1 to 3600"),
        ({"TriggerWaitTime": 2, "TriggerWaitTimeSecond": 60}, "disagree"),
        ({"Recursive": 2}, "Recursive must be 0 or 1"),
    ]


def settings(api: Api, space: Any) -> dict[str, Any]:
    got = api.data("GetTriggerWorkflow", {"ProjectId": space.project, "WorkflowId": space.workflow})
    return {k: got[k] for k in ("TriggerMode", "SchedulerStatus", "TriggerWorkflowSchedulerConfigurations")}


def check_refused(api: Api, space: Any, project: str, trigger: dict[str, Any], words: str, mode: str) -> None:
    name = unique("bad")
    err = api.error("CreateTriggerWorkflow", {"ProjectId": project, "WorkflowName": name, "ParentFolderPath": "/",
                                              "TriggerMode": mode, "TriggerWorkflowSchedulerConfigurations": [trigger]})
    assert err.code == "InvalidParameterValue" and words in err.message, (trigger, err.message)
    assert f"TriggerWorkflowSchedulerConfigurations[0] (TriggerId {trigger['TriggerId']})" in err.message \
        or "TriggerWorkflowSchedulerConfigurations[0]." in err.message, err.message
    listed = api.data("ListTriggerWorkflows", {"ProjectId": project, "Keyword": name})
    assert listed["TotalCount"] == 0  # nothing half-created
    before = settings(api, space)
    err = api.error("UpdateTriggerWorkflow", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                              "TriggerMode": mode, "TriggerWorkflowSchedulerConfigurations": [trigger]})
    assert err.code == "InvalidParameterValue" and words in err.message
    err = api.error("UpdateTriggerWorkflowPartially", {
        "ProjectId": space.project, "WorkflowId": space.workflow,
        # the same TriggerId as the stored trigger: the partial update replaces it
        "NewSetting": {"TriggerMode": mode, "TriggerWorkflowSchedulerConfigurations": [{**trigger, "TriggerId": "clock"}]}})
    assert err.code == "InvalidParameterValue" and words in err.message
    assert settings(api, space) == before  # nothing half-saved


@pytest.fixture
def space(api: Api) -> Any:
    space = new_space(api)
    api.data("UpdateTriggerWorkflow", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                       "TriggerMode": "TIME_TRIGGER", "SchedulerStatus": "PAUSED",
                                       "TriggerWorkflowSchedulerConfigurations": [time_trigger()]})
    return space


def test_time_trigger_settings_out_of_range_are_refused(api: Api, space: Any) -> None:
    project = workflow_project(api)
    for change, words in BAD_TIME:
        trigger = {k: v for k, v in {**time_trigger(), **change}.items() if v is not None}
        check_refused(api, space, project, trigger, words, "TIME_TRIGGER")


def test_file_arrival_settings_out_of_range_are_refused(server: ServerProcess, api: Api, space: Any) -> None:
    project = workflow_project(api)
    watch = str(server.home / "incoming" / "x")
    for change, words in bad_file(watch):
        trigger = {k: v for k, v in {**file_trigger(watch), **change}.items() if v is not None}
        check_refused(api, space, project, trigger, words, "FILE_ARRIVAL")


def test_good_settings_are_accepted_and_shown_as_given(server: ServerProcess, api: Api) -> None:
    space = new_space(api)  # no workflow-level TriggerMode: each trigger has its own
    watch = str(server.home / "incoming" / "later")  # need not exist yet
    triggers = [
        time_trigger("0 30 8 ? * MON-FRI *", TriggerId="weekdays", StartTime="1767225600000",
                     EndTime="2030-12-31 23:59:59"),
        time_trigger("0 0 */2 * * ? *", TriggerId="hours", ConfigMode="COMMON", CycleType="HOUR_CYCLE",
                     ScheduleTimeZone="UTC-3:30"),
        file_trigger(watch, TriggerId="drop", FileNamePattern="sales_*.csv", Recursive=0, TriggerWaitTime=5,
                     TriggerMinimumInterval=10, TriggerWaitTimeSecond=300),
    ]
    triggers[2]["TriggerMode"] = "FILE_ARRIVAL"
    api.data("UpdateTriggerWorkflow", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                       "TriggerWorkflowSchedulerConfigurations": triggers})
    got = settings(api, space)["TriggerWorkflowSchedulerConfigurations"]
    assert [t["TriggerId"] for t in got] == ["weekdays", "hours", "drop"]
    assert got[2]["FileNamePattern"] == "sales_*.csv" and got[0]["StartTime"] == "1767225600000"
    # The workflow's TriggerMode wins over each trigger's: as TIME_TRIGGER, "drop" lacks a cron.
    err = api.error("UpdateTriggerWorkflow", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                              "TriggerMode": "TIME_TRIGGER", "TriggerWorkflowSchedulerConfigurations": triggers})
    assert err.code == "InvalidParameterValue" and "(TriggerId drop).CrontabExpression is required" in err.message
