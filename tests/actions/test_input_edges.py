"""Input edges across domains (issue 15): times outside the supported calendar, schedules that
can never fire, unbounded integers — each refused with InvalidParameterValue naming the field,
never an InternalError, and nothing saved. (Control characters in every string field are
tests/protocol/test_control_chars.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.actions.tasks.test_tasks import Space, count, new_space, task_request
from tests.support import Api, unique


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


def refused(api: Api, space: Space, name: str, sched: dict[str, Any]) -> str:
    err = api.error("CreateTask", task_request(space, name, sched=sched))
    assert err.code == "InvalidParameterValue", err
    assert count(api, space, name) == 0  # nothing saved
    return str(err.message)


@pytest.mark.parametrize(
    ("sched", "names"),
    [
        # A year field in the past: Quartz accepts the expression, it just never fires again.
        ({"CycleType": "CRONTAB_CYCLE", "CrontabExpression": "0 0 0 * * ? 1999",
          "StartTime": "2024-01-01 00:00:00"}, ["never fires", "StartTime 2024-01-01 00:00:00"]),
        # Fires only on days after EndTime.
        ({"CycleType": "CRONTAB_CYCLE", "CrontabExpression": "0 0 0 1 1 ? 2030",
          "StartTime": "2024-01-01 00:00:00", "EndTime": "2029-12-31 23:59:59"}, ["never fires"]),
        # Hourly at minute 0 inside an execution window that holds no full hour (10:05-10:50).
        ({"CycleType": "HOUR_CYCLE", "CrontabExpression": "0 0 * * * ? *", "ExecutionStartTime": "10:05",
          "ExecutionEndTime": "10:50"}, ["never fires", "10:05-10:50"]),
    ],
)
def test_a_schedule_that_never_fires_is_refused(api: Api, space: Space, sched: dict[str, Any],
                                                names: list[str]) -> None:
    message = refused(api, space, unique("never"), sched)
    for text in names:
        assert text in message, message


@pytest.mark.parametrize(
    ("field", "value"),
    [("StartTime", "2100-01-01 00:00:00"), ("StartTime", "1969-12-31 23:59:59"), ("EndTime", "2199-01-01 00:00:00"),
     ("StartTime", "0001-01-01 00:00:00")],
)
def test_schedule_times_outside_1970_2099_are_refused(api: Api, space: Space, field: str, value: str) -> None:
    sched = {field: value}
    if field == "EndTime":
        sched["StartTime"] = "2025-01-01 00:00:00"
    message = refused(api, space, unique("range"), sched)
    assert f"TaskSchedulerConfiguration.{field} must be between 1970-01-01 00:00:00 and 2099-12-31 23:59:59" in message


def test_backfill_dates_outside_the_calendar_are_refused(api: Api, space: Space) -> None:
    task_id = api.data("CreateTask", task_request(space, unique("bf")))["TaskId"]
    api.data("SubmitTask", {"ProjectId": space.project, "TaskId": task_id, "VersionRemark": "r"})
    for start, end, bad in (("0001-01-01", "0001-01-02", "StartDate"), ("2099-12-01", "2100-01-31", "EndDate")):
        err = api.error("CreateDataBackfillPlan", {
            "ProjectId": space.project, "TaskIds": [task_id],
            "DataBackfillRangeList": [{"StartDate": start, "EndDate": end}]})
        assert err.code == "InvalidParameterValue", err
        assert f"DataBackfillRangeList.0.{bad} must be between" in str(err.message)


def test_a_far_filter_bound_is_fine_and_an_unconvertible_one_is_named(api: Api, space: Space) -> None:
    # A far bound of a filter finds everything (it is not stored or scheduled) ...
    listed = api.data("ListTaskInstances", {"ProjectId": space.project, "ScheduleTimeTo": "2999-01-01 00:00:00"})
    assert listed["TotalCount"] >= 0
    # ... but one the zone shifts out of the calendar cannot be converted: refused, named.
    err = api.error("ListTaskInstances", {"ProjectId": space.project, "ScheduleTimeFrom": "0001-01-01 00:00:00"})
    assert err.code == "InvalidParameterValue" and "ScheduleTimeFrom" in str(err.message), err


def test_rerun_parallelism_is_bounded(api: Api, space: Space) -> None:
    err = api.error("RerunTaskInstancesAsync", {
        "ProjectId": space.project, "InstanceKeyList": [f"{'1' * 17}_2025-01-01 00:00:00"],
        "RedefineParallelNum": 2**40})
    assert err.code == "InvalidParameterValue" and "RedefineParallelNum must be between 1 and 10000" in str(err.message)
