"""Data backfill plans through the official SDK, on SQLite and PostgreSQL, with their real effect
on the engine: CreateDataBackfillPlan, GetDataBackfillPlan, ListDataBackfillInstances,
DeleteDataBackfillPlanAsync. Plans cover past dates, so the server's own clock runs them at once.
The year-long scenario (order, parallelism, the periodic schedule) is test_backfill_year.py.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.actions.instances.test_instances import Space, b64, new_space
from tests.support import Api, ServerProcess, unique
from tests.waiting import wait_until

WALL = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
COST = re.compile(r"^\d{2,}:\d{2}:\d{2}\.\d{3}$")
PLAN_KEYS = {
    "ProjectId", "DataBackfillPlanId", "DataBackfillPlanName", "TaskIds", "DataBackfillRangeList",
    "CheckParentType", "SkipEventListening", "RedefineParallelNum", "RedefineSelfWorkflowDependency",
    "SchedulerResourceGroupId", "IntegrationResourceGroupId", "RedefineCycleType", "RedefineParamList",
    "StartTime", "EndTime", "CreateUserUin", "CompletePercent", "SuccessPercent", "DataTimeOrder",
}
ITEM_KEYS = {"TaskName", "TaskId", "CurRunDate", "State", "StartTime", "EndTime", "CostTime"}
DAILY = {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 0 * * ? *", "StartTime": "2024-01-01 00:00:00"}


def task(api: Api, space: Space, code: str = "true", *, up: list[str] | None = None,
         params: dict[str, str] | None = None, **sched: Any) -> str:
    """A submitted daily Shell task (its periodic instances are today's; plans cover 2024)."""
    conf: dict[str, Any] = {**DAILY, "SelfDepend": "parallel", "MaxRetryNumber": 0, **sched}
    if up:
        conf["UpstreamDependencyConfigList"] = [
            {"TaskId": u, "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"} for u in up]
    tid: str = api.data("CreateTask", {
        "ProjectId": space.project,
        "TaskBaseAttribute": {"TaskName": unique("bf"), "TaskTypeId": "35", "WorkflowId": space.workflow},
        "TaskConfiguration": {"CodeContent": b64(code), "TaskSchedulingParameterList": [
            {"ParamKey": k, "ParamValue": v} for k, v in (params or {}).items()]},
        "TaskSchedulerConfiguration": conf,
    })["TaskId"]
    api.data("SubmitTask", {"ProjectId": space.project, "TaskId": tid, "VersionRemark": "go"})
    return tid


def create(api: Api, space: Space, tasks: list[str], start: str, end: str, **opts: Any) -> str:
    body = {"ProjectId": space.project, "TaskIds": tasks,
            "DataBackfillRangeList": [{"StartDate": start, "EndDate": end}], **opts}
    return str(api.data("CreateDataBackfillPlan", body)["DataBackfillPlanId"])


def get(api: Api, space: Space, plan: str, **kw: Any) -> dict[str, Any]:
    return dict(api.data("GetDataBackfillPlan", {"ProjectId": space.project, "DataBackfillPlanId": plan, **kw}))


def wait_plan(api: Api, space: Space, plan: str, timeout: float = 60.0) -> dict[str, Any]:
    """Until the plan is complete; ``timeout``: how long it may show no progress at all."""
    return wait_until(lambda: get(api, space, plan), lambda d: d["CompletePercent"] == 100,
                      what=f"backfill plan {plan} to complete", patience=timeout, interval=0.1,
                      progress=lambda d: (d["CompletePercent"], d["SuccessPercent"]))


def members(api: Api, space: Space, plan: str, task_id: str, size: int = 200) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        data = api.data("ListDataBackfillInstances", {"ProjectId": space.project, "DataBackfillPlanId": plan,
                                                      "TaskId": task_id, "PageNumber": page, "PageSize": size})
        out.extend(data["Items"])
        if page >= data["TotalPageNumber"]:
            assert len(out) == data["TotalCount"]
            return out
        page += 1


def instances(api: Api, space: Space, task_id: str) -> dict[str, dict[str, Any]]:
    """Every instance of the task by CurRunDate (all pages)."""
    out: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        data = api.data("ListTaskInstances", {"ProjectId": space.project, "Keyword": task_id, "PageSize": 100,
                                              "PageNumber": page})
        out.update({i["CurRunDate"]: i for i in data["Items"]})
        if page >= data["TotalPageNumber"]:
            return out
        page += 1


def past(api: Api, space: Space, task_id: str) -> dict[str, dict[str, Any]]:
    """The task's instances before 2025 (those only a backfill makes; the planner adds today's)."""
    return {d: i for d, i in instances(api, space, task_id).items() if d < "2025"}


def job(api: Api, space: Space, async_id: str, timeout: float = 30.0) -> dict[str, Any]:
    return dict(wait_until(
        lambda: api.data("GetOpsAsyncJob", {"ProjectId": space.project, "AsyncId": async_id}),
        lambda d: d["Status"] in ("SUCCESS", "FAIL", "PART_SUCCESS"),
        what=f"async job {async_id} to end", patience=timeout, interval=0.1,
        progress=lambda d: (d["Status"], d["FinishedSubProcessCount"])))


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


# ------------------------------------------------------------------------------------------------
# CreateDataBackfillPlan / GetDataBackfillPlan / ListDataBackfillInstances


def test_a_chain_is_backfilled_in_dependency_order_with_every_field(api: Api, space: Space) -> None:
    a = task(api, space)
    b = task(api, space, up=[a])
    plan = create(api, space, [b, a], "2024-02-01", "2024-02-05", RedefineParallelNum=2, DataTimeOrder="ORDER",
                  DataBackfillPlanName="chain", TimeZone="UTC+8")
    data = wait_plan(api, space, plan)
    assert set(data) == PLAN_KEYS
    assert (data["DataBackfillPlanId"], data["DataBackfillPlanName"], data["ProjectId"]) == (plan, "chain", space.project)
    assert data["TaskIds"] == [b, a] and data["CreateUserUin"]
    assert data["DataBackfillRangeList"] == [{"StartDate": "2024-02-01", "EndDate": "2024-02-05",
                                              "ExecutionStartTime": "00:00", "ExecutionEndTime": "23:59"}]
    assert (data["CheckParentType"], data["SkipEventListening"], data["RedefineParallelNum"]) == ("NONE", True, 2)
    assert (data["DataTimeOrder"], data["RedefineCycleType"], data["RedefineParamList"]) == ("ORDER", None, None)
    assert (data["CompletePercent"], data["SuccessPercent"]) == (100, 100)
    assert WALL.match(data["StartTime"]) and WALL.match(data["EndTime"]) and data["StartTime"] <= data["EndTime"]
    dates = [f"2024-02-0{d} 00:00:00" for d in range(1, 6)]
    for tid in (a, b):
        items = members(api, space, plan, tid, size=2)
        assert [i["CurRunDate"] for i in items] == dates
        for i in items:
            assert set(i) == ITEM_KEYS and i["TaskId"] == tid and i["TaskName"].startswith("bf_")
            assert i["State"] == "COMPLETED" and COST.match(i["CostTime"])
            assert WALL.match(i["StartTime"]) and WALL.match(i["EndTime"])
    # The instances are THE instances of those data times, created by the backfill (type 0).
    ups, downs = instances(api, space, a), instances(api, space, b)
    for d in dates:
        up, down = ups[d], downs[d]
        assert (up["InstanceType"], up["InstanceState"], up["TotalRunNum"]) == (0, "COMPLETED", 1)
        assert down["StartTime"] >= up["EndTime"]  # the downstream waited for its upstream
        execs = api.data("ListTaskInstanceExecutions", {"ProjectId": space.project,
                                                        "InstanceKey": down["InstanceKey"]})["Items"]
        assert [(e["LifeRoundNum"], e["RunType"]) for e in execs] == [(0, "ADDITION")]


def test_dry_run_members_release_one_another_inside_the_engines_cycles(api: Api, space: Space) -> None:
    """A dry run (ScheduleType 1) ends in the cycle that dispatches it, so with parallelism 1
    each end must release the next member from inside that cycle's last flush: on PostgreSQL
    after the cycle has sent the release it deferred (services/backfill/release.py). A member
    left RELEASED, or released twice, would stop the plan short of 100 %."""
    t = task(api, space, ScheduleType=1)
    plan = create(api, space, [t], "2024-05-01", "2024-05-10", RedefineParallelNum=1)
    data = wait_plan(api, space, plan)
    assert (data["CompletePercent"], data["SuccessPercent"]) == (100, 100)
    items = members(api, space, plan, t)
    assert [i["CurRunDate"] for i in items] == [f"2024-05-{d:02d} 00:00:00" for d in range(1, 11)]
    assert {i["State"] for i in items} == {"COMPLETED"}
    runs = instances(api, space, t)
    assert all(runs[i["CurRunDate"]]["TotalRunNum"] == 1 for i in items)  # each ran once


def test_an_existing_instance_is_run_again_not_duplicated(api: Api, space: Space) -> None:
    t = task(api, space)
    first = create(api, space, [t], "2024-03-01", "2024-03-03")
    wait_plan(api, space, first)
    before = past(api, space, t)
    second = create(api, space, [t], "2024-03-02", "2024-03-04", RedefineParamList=[{"K": "x", "V": "1"}])
    data = wait_plan(api, space, second)
    assert data["RedefineParamList"] == [{"K": "x", "V": "1"}]
    after = past(api, space, t)
    assert len(after) == len(before) + 1  # only 03-04 is new
    again = after["2024-03-02 00:00:00"]
    assert (again["InstanceKey"], again["TotalRunNum"], again["InstanceType"]) == (
        before["2024-03-02 00:00:00"]["InstanceKey"], 2, 0)
    execs = api.data("ListTaskInstanceExecutions", {"ProjectId": space.project,
                                                    "InstanceKey": again["InstanceKey"]})["Items"]
    assert [e["LifeRoundNum"] for e in execs] == [0, 1] and all(e["RunType"] == "ADDITION" for e in execs)
    assert after["2024-03-01 00:00:00"]["TotalRunNum"] == 1  # outside the second plan: untouched
    assert [i["CurRunDate"][:10] for i in members(api, space, second, t)] == ["2024-03-02", "2024-03-03", "2024-03-04"]


def test_redefined_parameters_reach_the_code_in_both_shapes(api: Api, space: Space) -> None:
    t = task(api, space, "echo value=${who}-${yyyyMMdd}", params={"who": "task"})
    plan = create(api, space, [t], "2024-04-01", "2024-04-01", RedefineParamList=[{"K": "who", "V": "plan"}])
    wait_plan(api, space, plan)
    key = instances(api, space, t)["2024-04-01 00:00:00"]["InstanceKey"]
    log = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": key})["LogInfo"]
    assert "value=plan-20240401" in log
    # RerunTaskInstancesAsync's shape, one {K, V} object, is accepted too (spec §6.3).
    raw = api.raw("CreateDataBackfillPlan", {"ProjectId": space.project, "TaskIds": [t],
                                             "DataBackfillRangeList": [{"StartDate": "2024-04-02", "EndDate": "2024-04-02"}],
                                             "RedefineParamList": {"K": "who", "V": "object"}})
    wait_plan(api, space, raw["Data"]["DataBackfillPlanId"])
    key = instances(api, space, t)["2024-04-02 00:00:00"]["InstanceKey"]
    assert "value=object-20240402" in api.data("GetTaskInstanceLog", {"ProjectId": space.project,
                                                                       "InstanceKey": key})["LogInfo"]


def test_reverse_order_runs_newest_first_one_at_a_time(api: Api, space: Space, tmp_path: Any) -> None:
    trace = tmp_path / "order.txt"
    t = task(api, space, f"echo ${{yyyy-MM-dd}} >> {trace}")
    plan = create(api, space, [t], "2024-05-01", "2024-05-06", DataTimeOrder="REVERSE", RedefineParallelNum=3)
    wait_plan(api, space, plan)
    # The task's own periodic instance (today) may append to the trace too: keep the plan's dates.
    ran = [d for d in trace.read_text().split() if d.startswith("2024-")]
    assert ran == [f"2024-05-0{d}" for d in range(6, 0, -1)]
    assert [i["CurRunDate"][:10] for i in members(api, space, plan, t)] == [f"2024-05-0{d}" for d in range(6, 0, -1)]


def test_month_cycle_and_hourly_windows_choose_the_data_times(api: Api, space: Space) -> None:
    daily = task(api, space)
    plan = create(api, space, [daily], "2024-01-01", "2024-03-31", RedefineCycleType="MONTH_CYCLE")
    assert get(api, space, plan)["RedefineCycleType"] == "MONTH_CYCLE"
    wait_plan(api, space, plan)
    assert [i["CurRunDate"] for i in members(api, space, plan, daily)] == [
        "2024-01-01 00:00:00", "2024-02-01 00:00:00", "2024-03-01 00:00:00"]
    hourly = task(api, space, CycleType="HOUR_CYCLE", CrontabExpression="0 0 * * * ? *")
    body = {"ProjectId": space.project, "TaskIds": [hourly], "DataBackfillRangeList": [
        {"StartDate": "2024-01-01", "EndDate": "2024-01-02", "ExecutionStartTime": "09:00", "ExecutionEndTime": "11:30"}]}
    plan = str(api.data("CreateDataBackfillPlan", body)["DataBackfillPlanId"])
    wait_plan(api, space, plan)
    assert [i["CurRunDate"] for i in members(api, space, plan, hourly)] == [
        f"2024-01-0{d} {h}:00:00" for d in (1, 2) for h in ("09", "10", "11")]


def test_check_parent_type_decides_about_parents_outside_the_plan(api: Api, space: Space) -> None:
    outside = task(api, space)  # never run for 2024-06-01: its instance does not exist
    child_all = task(api, space, up=[outside])
    child_none = task(api, space, up=[outside])
    waiting = create(api, space, [child_all], "2024-06-01", "2024-06-01", CheckParentType="ALL")
    ran = create(api, space, [child_none], "2024-06-01", "2024-06-01", CheckParentType="NONE")
    wait_plan(api, space, ran)
    time.sleep(1.0)
    data = get(api, space, waiting)
    assert (data["CheckParentType"], data["CompletePercent"]) == ("ALL", 0)
    (item,) = members(api, space, waiting, child_all)
    assert (item["State"], item["StartTime"], item["EndTime"], item["CostTime"]) == ("WAIT_UPSTREAM", None, None, None)
    # MAKE_SCOPE waits only for parents inside the plan: with the parent in it, both run in order.
    plan = create(api, space, [child_all, outside], "2024-06-02", "2024-06-02", CheckParentType="MAKE_SCOPE")
    wait_plan(api, space, plan)
    up, down = members(api, space, plan, outside)[0], members(api, space, plan, child_all)[0]
    assert down["StartTime"] >= up["EndTime"]


def test_allow_redo_type_keeps_what_must_not_run_again(api: Api, space: Space) -> None:
    once = task(api, space, AllowRedoType="NONE")
    plan = create(api, space, [once], "2024-07-01", "2024-07-02")  # new instances may be created
    wait_plan(api, space, plan)
    err = api.error("CreateDataBackfillPlan", {"ProjectId": space.project, "TaskIds": [once],
                                               "DataBackfillRangeList": [{"StartDate": "2024-07-01", "EndDate": "2024-07-02"}]})
    assert err.code == "FailedOperation" and "AllowRedoType" in err.message
    flaky = task(api, space, "if [ ${dd} = 02 ]; then exit 1; fi", AllowRedoType="FAILURE")
    plan = create(api, space, [flaky], "2024-07-01", "2024-07-02")
    wait_plan(api, space, plan)
    assert get(api, space, plan)["SuccessPercent"] == 50
    again = create(api, space, [flaky], "2024-07-01", "2024-07-02")  # only the failed day runs again
    wait_plan(api, space, again)
    assert [i["CurRunDate"][:10] for i in members(api, space, again, flaky)] == ["2024-07-02"]
    assert instances(api, space, flaky)["2024-07-01 00:00:00"]["TotalRunNum"] == 1


# ------------------------------------------------------------------------------------------------
# DeleteDataBackfillPlanAsync


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_delete_stops_what_has_not_started_and_lets_the_running_one_finish(api: Api, space: Space) -> None:
    done = task(api, space)
    ran = create(api, space, [done], "2024-08-01", "2024-08-01")
    wait_plan(api, space, ran)
    slow = task(api, space, "sleep 2")
    plan = create(api, space, [slow, done], "2024-08-01", "2024-08-05", RedefineParallelNum=1)
    deadline = time.monotonic() + 20
    while not any(i["State"] == "RUNNING" for i in members(api, space, plan, slow)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    async_id = api.data("DeleteDataBackfillPlanAsync", {"ProjectId": space.project,
                                                         "DataBackfillPlanId": plan})["AsyncId"]
    result = job(api, space, async_id)
    assert result["AsyncType"] == "BACKFILL_PLAN_DELETE" and result["Status"] == "SUCCESS"
    assert result["TotalSubProcessCount"] == result["SuccessSubProcessCount"] >= 5
    assert api.error("GetDataBackfillPlan", {"ProjectId": space.project, "DataBackfillPlanId": plan}).code == (
        "ResourceNotFound")
    left = wait_until(lambda: instances(api, space, slow),  # the running one ends
                      lambda got: all(i["InstanceState"] != "RUNNING" for d, i in got.items() if d.startswith("2024")),
                      what="the 2024 instance that was running to end",
                      progress=lambda got: sorted((d, i["InstanceState"]) for d, i in got.items()))
    ran_2024 = {d: i for d, i in left.items() if d.startswith("2024")}
    assert len(ran_2024) == 1 and next(iter(ran_2024.values()))["InstanceState"] == "COMPLETED"
    # The plan's re-execution of `done` (its 08-01 instance had run) was undone: COMPLETED, one run.
    again = instances(api, space, done)["2024-08-01 00:00:00"]
    assert (again["InstanceState"], again["TotalRunNum"]) == ("COMPLETED", 1)
    assert not [d for d in instances(api, space, done) if "2024-08-02" <= d[:10] <= "2024-08-05"]
    # A new plan may take those instances again.
    wait_plan(api, space, create(api, space, [slow], "2024-08-02", "2024-08-02"))


def test_instances_another_live_plan_holds_are_refused_and_nothing_is_created(api: Api, space: Space) -> None:
    slow = task(api, space, "sleep 3")
    first = create(api, space, [slow], "2024-09-01", "2024-09-04", RedefineParallelNum=1)
    before = past(api, space, slow)
    assert sorted(before) == [f"2024-09-0{d} 00:00:00" for d in (1, 2, 3, 4)]
    # 09-03 and 09-04 wait their turn in the first plan (one at a time): a second plan may not take them.
    err = api.error("CreateDataBackfillPlan", {"ProjectId": space.project, "TaskIds": [slow],
                                                "DataBackfillRangeList": [{"StartDate": "2024-09-03",
                                                                           "EndDate": "2024-09-04"}]})
    assert err.code == "FailedOperation" and "2 instance(s) already belong to a backfill plan" in err.message
    assert f"{slow}_2024-09-03 00:00:00" in err.message
    assert sorted(past(api, space, slow)) == sorted(before)  # nothing new was made
    job(api, space, api.data("DeleteDataBackfillPlanAsync", {"ProjectId": space.project,
                                                            "DataBackfillPlanId": first})["AsyncId"])


# ------------------------------------------------------------------------------------------------
# Bad input: the right code, and nothing created


def test_one_off_unknown_and_unsubmitted_tasks_are_refused(api: Api, space: Space) -> None:
    oneoff = api.data("CreateTask", {
        "ProjectId": space.project,
        "TaskBaseAttribute": {"TaskName": unique("oo"), "TaskTypeId": "35", "WorkflowId": space.workflow},
        "TaskConfiguration": {"CodeContent": b64("true")},
        "TaskSchedulerConfiguration": {"CycleType": "ONEOFF_CYCLE", "StartTime": "2024-01-01 00:00:00"},
    })["TaskId"]
    body = {"ProjectId": space.project, "DataBackfillRangeList": [{"StartDate": "2024-01-01", "EndDate": "2024-01-02"}]}
    assert api.error("CreateDataBackfillPlan", {**body, "TaskIds": [oneoff]}).code == "FailedOperation"  # not submitted
    api.data("SubmitTask", {"ProjectId": space.project, "TaskId": oneoff, "VersionRemark": "go"})
    assert api.error("CreateDataBackfillPlan", {**body, "TaskIds": [oneoff]}).code == "UnsupportedOperation"
    t = task(api, space)
    assert api.error("CreateDataBackfillPlan", {**body, "TaskIds": [t, "20990101000000000"]}).code == "ResourceNotFound"
    assert api.error("CreateDataBackfillPlan", {**body, "TaskIds": [t, oneoff]}).code == "UnsupportedOperation"
    assert past(api, space, t) == {}


@pytest.mark.parametrize("ranges", [
    [{"StartDate": "2024-02-02", "EndDate": "2024-02-01"}],
    [{"StartDate": "2010-01-01", "EndDate": "2020-01-02"}],
    [{"StartDate": "2024-1-01", "EndDate": "2024-01-02"}],
    [{"StartDate": "2024-02-30", "EndDate": "2024-03-01"}],
    [{"StartDate": "2024-01-01", "EndDate": "2024-01-02", "ExecutionStartTime": "25:00"}],
    [{"StartDate": "2024-01-01", "EndDate": "2024-01-02", "ExecutionStartTime": "12:00", "ExecutionEndTime": "11:00"}],
    [{"StartDate": "2024-01-01", "EndDate": "2024-01-01"}, {"StartDate": "2024-03-02", "EndDate": "2024-03-01"}],
    [],
])
def test_bad_ranges_are_invalid_and_create_nothing(api: Api, space: Space, ranges: list[dict[str, str]]) -> None:
    t = task(api, space)
    err = api.error("CreateDataBackfillPlan", {"ProjectId": space.project, "TaskIds": [t], "DataBackfillRangeList": ranges})
    assert err.code == "InvalidParameterValue", err.message
    assert past(api, space, t) == {}


def test_ten_years_is_the_longest_range(api: Api, space: Space) -> None:
    t = task(api, space, CycleType="YEAR_CYCLE", CrontabExpression="0 0 0 1 1 ? *", StartTime="2000-01-01 00:00:00")
    plan = create(api, space, [t], "2010-01-01", "2020-01-01")  # exactly ten years
    assert [i["CurRunDate"][:4] for i in members(api, space, wait_plan(api, space, plan)["DataBackfillPlanId"], t)] == [
        str(y) for y in range(2010, 2021)]


@pytest.mark.parametrize("option", [
    {"CheckParentType": "SOME"}, {"DataTimeOrder": "SIDEWAYS"}, {"RedefineCycleType": "WEEK_CYCLE"},
    {"RedefineParallelNum": 0}, {"RedefineSelfWorkflowDependency": "maybe"}, {"TimeZone": "Mars/Base"},
    {"RedefineParamList": [{"K": "", "V": "x"}]}, {"TaskIds": []}, {"TaskIds": [""]},
    {"ComputeConfigMappings": [{"TaskTypeId": 35, "ComputeConfigItem": "COMPUTE_ENGINE"}]},
])
def test_bad_options_are_invalid(api: Api, space: Space, option: dict[str, Any]) -> None:
    t = task(api, space)
    body = {"ProjectId": space.project, "TaskIds": [t],
            "DataBackfillRangeList": [{"StartDate": "2024-01-01", "EndDate": "2024-01-02"}], **option}
    assert api.error("CreateDataBackfillPlan", body).code == "InvalidParameterValue"
    assert past(api, space, t) == {}


def test_wire_level_mistakes(api: Api, space: Space) -> None:
    t = task(api, space)
    body = {"ProjectId": space.project, "TaskIds": [t],
            "DataBackfillRangeList": [{"StartDate": "2024-01-01", "EndDate": "2024-01-02"}]}
    assert api.error("CreateDataBackfillPlan", {**body, "Bogus": 1}, raw=True).code == "UnknownParameter"
    assert api.error("CreateDataBackfillPlan", {k: v for k, v in body.items() if k != "TaskIds"},
                     raw=True).code == "MissingParameter"
    assert api.error("CreateDataBackfillPlan", {**body, "RedefineParallelNum": "four"}, raw=True).code == (
        "InvalidParameterValue")
    assert api.error("CreateDataBackfillPlan", {**body, "DataBackfillRangeList": [{"EndDate": "2024-01-02"}]},
                     raw=True).code == "MissingParameter"
    assert api.error("GetDataBackfillPlan", {"ProjectId": space.project}, raw=True).code == "MissingParameter"
    scheduler = {"SchedulerResourceGroupId": "20990101000000000000"}
    assert api.error("CreateDataBackfillPlan", {**body, **scheduler}).code == "ResourceNotFound"
    assert past(api, space, t) == {}


def test_reads_of_unknown_plans_and_tasks(api: Api, space: Space) -> None:
    t = task(api, space)
    other = task(api, space)
    plan = create(api, space, [t], "2024-09-01", "2024-09-01")
    unknown = "00000000-0000-0000-0000-000000000000"
    assert api.error("GetDataBackfillPlan", {"ProjectId": space.project, "DataBackfillPlanId": unknown}).code == (
        "ResourceNotFound")
    base = {"ProjectId": space.project, "DataBackfillPlanId": plan}
    assert api.error("ListDataBackfillInstances", {**base, "TaskId": other}).code == "ResourceNotFound"
    assert api.error("ListDataBackfillInstances", {"ProjectId": space.project, "DataBackfillPlanId": unknown,
                                                   "TaskId": t}).code == "ResourceNotFound"
    assert api.error("ListDataBackfillInstances", {**base, "TaskId": t, "PageSize": 0}).code == "InvalidParameterValue"
    assert api.error("DeleteDataBackfillPlanAsync", {"ProjectId": space.project,
                                                     "DataBackfillPlanId": unknown}).code == "ResourceNotFound"
    other_space = new_space(api)
    assert api.error("GetDataBackfillPlan", {"ProjectId": other_space.project, "DataBackfillPlanId": plan}).code == (
        "ResourceNotFound")
    assert api.error("GetDataBackfillPlan", {**base, "TimeZone": "nowhere"}).code == "InvalidParameterValue"
    wait_plan(api, space, plan)


def test_non_members_are_refused(api: Api, space: Space, server: ServerProcess) -> None:
    t = task(api, space)
    plan = create(api, space, [t], "2024-10-01", "2024-10-01")
    stranger = server.new_user()
    body = {"ProjectId": space.project, "TaskIds": [t],
            "DataBackfillRangeList": [{"StartDate": "2024-10-02", "EndDate": "2024-10-03"}]}
    code = "UnauthorizedOperation.UserNotInProject"
    assert stranger.error("CreateDataBackfillPlan", body).code == code
    assert stranger.error("GetDataBackfillPlan", {"ProjectId": space.project, "DataBackfillPlanId": plan}).code == code
    assert stranger.error("ListDataBackfillInstances", {"ProjectId": space.project, "DataBackfillPlanId": plan,
                                                        "TaskId": t}).code == code
    assert stranger.error("DeleteDataBackfillPlanAsync", {"ProjectId": space.project,
                                                          "DataBackfillPlanId": plan}).code == code
    wait_plan(api, space, plan)
    assert set(past(api, space, t)) == {"2024-10-01 00:00:00"}
