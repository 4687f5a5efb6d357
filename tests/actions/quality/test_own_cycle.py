"""Monitoring tasks on their own cycle (MonitorType 3) through the official SDK, on a server
whose clock runs 300 times faster (a 10-minute cycle fires every 2 s): the group runs every 10
minutes with the data time of its slot, each run is listed with TriggerType 3 and raises an alarm
through a project alarm rule to a real webhook; deleting the group stops the cycle; bad cycles are
refused naming the field, and nothing is half-saved."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.actions.alarms.test_alarms import create as create_alarm_rule
from tests.actions.datasources.conftest import Db, create_source
from tests.actions.instances.test_instances import Space, new_space, submit
from tests.actions.quality.helpers import create_group, create_rules, execs, fixed, rule
from tests.actions.sql_tasks.test_sql_tasks import pg_connect
from tests.conftest import require_postgres
from tests.services.alarms.webhook import Receiver
from tests.support import PG_URL, Api, ServerProcess, create_pg_database, drop_pg_database, unique
from tests.waiting import wait_until

# Mostly waiting on real time: run in the waiting lane of `make test` (tools/ci/run-suite.sh).
pytestmark = pytest.mark.slow

FACTOR = 300
CLOCK_START = "2025-03-01 14:55:00"  # UTC: 22:55 in UTC+8


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def cycle_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db_name = url = None
    if request.param == "postgres":
        require_postgres()
        db_name = create_pg_database(migrated=True)
        url = f"{PG_URL}/{db_name}"
    env = {"WEDATA_CLOCK_START": CLOCK_START, "WEDATA_CLOCK_FACTOR": str(FACTOR), "WEDATA_PLAN_INTERVAL": "0.2"}
    srv = ServerProcess(tmp_path_factory.mktemp(f"quality-cycle-{request.param}"), url, env).start()
    yield srv
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


@pytest.fixture(scope="module")
def capi(cycle_server: ServerProcess) -> Api:
    return cycle_server.admin()


@pytest.fixture(scope="module")
def cspace(capi: Api) -> Space:
    return new_space(capi)


@pytest.fixture(scope="module")
def csource(capi: Api, cspace: Space, postgres: Db) -> int:
    return create_source(capi, cspace.project, postgres)


@pytest.fixture(scope="module")
def slots(postgres: Db) -> str:
    """A table with two rows for every 10-minute slot (``HHmm``) of the day, one with a NULL."""
    table = unique("slots").lower()
    with pg_connect(postgres) as c:
        c.execute(f"CREATE TABLE {table} (slot text, v int)")
        values = ", ".join(f"('{h:02d}{m:02d}', 1), ('{h:02d}{m:02d}', NULL)" for h in range(24) for m in range(0, 60, 10))
        c.execute(f"INSERT INTO {table} VALUES {values}")
    return table


def dbname(db: Db) -> str:
    return db.url.rsplit("/", 1)[1]


def cycle(source: int, database: str, table: str, **extra: Any) -> dict[str, Any]:
    return {"MonitorType": 3, "ExecutorGroupId": "default", "RuleGroupName": unique("cycle"), "DatabaseName": database,
            "DatasourceId": str(source), "TableName": table, "CycleType": "I", "CycleStep": 10, "DelayTime": 0,
            "StartTime": "2025-03-01 00:00:00", "EndTime": "2025-12-31 23:59:59", **extra}


def data_time(execution: dict[str, Any]) -> datetime:
    detail = execution["ExecDetail"]
    assert detail.startswith("own cycle, data time "), detail
    return datetime.strptime(detail.removeprefix("own cycle, data time "), "%Y-%m-%d %H:%M:%S")


def groups_total(api: Api, space: Space) -> int:
    return int(api.data("ListQualityRuleGroups", {"ProjectId": space.project, "PageSize": 1})["TotalCount"])


def test_a_group_runs_on_its_own_cycle_with_alarms_until_deleted(
    capi: Api, cspace: Space, csource: int, postgres: Db, slots: str
) -> None:
    db = dbname(postgres)
    with Receiver() as receiver:
        path = f"/{unique('cyc')}"
        alarm_rule = create_alarm_rule(capi, cspace, [cspace.project], MonitorObjectType=3, AlarmTypes=["failure"],
                                       AlarmGroups=[{"AlarmWays": ["6"], "AlarmRecipientType": 2, "WebHooks": [
                                           {"AlarmWay": "6", "WebHooks": [receiver.url(path)]}]}])
        group = create_group(capi, cspace, cycle(csource, db, slots))
        assert group["MonitorType"] == 3
        scope = {"ConditionType": 2, "ConditionExpression": "slot = '${HHmm}'", "RuleGroupId": group["Id"]}
        made = create_rules(capi, cspace, [
            rule(csource, db, slots, 1, compare=fixed("!=", "2"), engine=64, **scope),  # 2 rows per slot: passes
            rule(csource, db, slots, 2, column="v", compare=fixed(">", "0"), engine=64, **scope),  # one NULL: triggers
        ])
        count_rule, null_rule = (r["RuleId"] for r in made["Results"])
        listed = capi.data("ListQualityRuleGroups", {"ProjectId": cspace.project, "Filters": [
            {"Name": "RuleGroupId", "Values": [str(group["Id"])]}]})["Items"][0]
        assert listed["MonitorType"] == 3 and listed["ExecStrategy"]["CycleType"] == "I"
        assert listed["ExecStrategy"]["CycleStep"] == 10 and listed["MonitorStatus"] is True

        # The cycle fires every 2 s of real time from the group's creation on: on a slow machine a
        # run may start before both rules exist, and checks only those it finds (its
        # TotalRuleCount says how many). The runs that checked both rules are the subject here.
        def with_both_rules() -> list[dict[str, Any]]:
            return sorted((e for e in execs(capi, cspace, RuleGroupId=str(group["Id"])) if e["TotalRuleCount"] == 2),
                          key=data_time)

        runs = wait_until(with_both_rules, lambda items: len(items) >= 2, what="two runs of the cycle with both rules",
                          patience=40)
        first, second = runs[0], runs[1]
        # Each run checked its own 10-minute slot: consecutive data times on the cycle.
        t1, t2 = data_time(first), data_time(second)
        assert t1.minute % 10 == 0 and t1.second == 0 and t2 - t1 == timedelta(minutes=10)
        for run in (first, second):
            assert run["TriggerType"] == 3 and run["Status"] == 4 and run["TotalRuleCount"] == 2
            assert run["AlarmRuleCount"] == 1 and run.get("InstanceId") is None
            by_rule = {r["RuleId"]: r for r in run["RuleExecResultVOList"]}
            assert by_rule[count_rule]["ExecResultStatus"] == 1 and by_rule[count_rule]["TriggerResult"] == "2"
            assert by_rule[null_rule]["ExecResultStatus"] == 2 and by_rule[null_rule]["TriggerResult"] == "1"
            assert by_rule[null_rule]["MonitorType"] == 3
            slot = data_time(run).strftime("%H%M")
            assert f"slot = '{slot}'" in by_rule[null_rule]["TriggerCondition"]
        # Filtering by trigger type finds them; no run is attributed to a task.
        assert {e["RuleGroupExecId"] for e in execs(capi, cspace, TriggerType="3")} >= {
            first["RuleGroupExecId"], second["RuleGroupExecId"]}
        assert execs(capi, cspace, TriggerType="2") == []

        # The triggered rule raised an alarm per run through the project's alarm rule.
        got = receiver.wait_for(2, path, timeout=30)
        assert all(r.body["AlarmRuleId"] == alarm_rule for r in got)
        reasons = [r.body["AlarmReason"] for r in got]
        assert all("data quality" in x and group["Name"] in x for x in reasons), reasons
        assert {f"execution {first['RuleGroupExecId']}" in x for x in reasons} >= {True}

        # Deleting the group ends the cycle: no run after it.
        capi.data("DeleteQualityRuleGroup", {"ProjectId": cspace.project, "RuleGroupIdList": [group["Id"]]})
        seen = len(execs(capi, cspace, RuleGroupId=str(group["Id"])))
        time.sleep(600 / FACTOR * 2.2)  # more than two cycles
        after = execs(capi, cspace, RuleGroupId=str(group["Id"]))
        assert len(after) <= seen + 1  # a run claimed just before the delete may still land
        time.sleep(600 / FACTOR * 1.2)
        assert len(execs(capi, cspace, RuleGroupId=str(group["Id"]))) == len(after)


def test_switching_between_attached_and_own_cycle(capi: Api, cspace: Space, csource: int, postgres: Db,
                                                   slots: str) -> None:
    db = dbname(postgres)
    task = submit(capi, cspace, "echo hi")
    attached = {"MonitorType": 2, "ExecutorGroupId": "default", "RuleGroupName": unique("att"), "DatabaseName": db,
                "DatasourceId": str(csource), "TableName": slots,
                "Tasks": [{"WorkflowId": cspace.workflow, "TaskId": task, "TaskName": task}]}
    group = create_group(capi, cspace, attached)
    create_rules(capi, cspace, [rule(csource, db, slots, 1, compare=fixed("<", "0"), engine=64,
                                     RuleGroupId=group["Id"])])
    # On SQLite a deleted group's id can come back (rowid reuse), with the old group's results.
    old = {e["RuleGroupExecId"] for e in execs(capi, cspace, RuleGroupId=str(group["Id"]))}

    def cycle_runs() -> list[dict[str, Any]]:
        return [e for e in execs(capi, cspace, RuleGroupId=str(group["Id"]), TriggerType="3")
                if e["RuleGroupExecId"] not in old]

    time.sleep(600 / FACTOR * 1.5)
    assert cycle_runs() == []  # attached: no cycle

    own = cycle(csource, db, slots, RuleGroupId=group["Id"], RuleGroupName=attached["RuleGroupName"],
                CycleType="h", CycleStep=1)
    capi.data("ModifyQualityRuleGroup", {"ProjectId": cspace.project, "RuleGroupExecStrategyBOList": [own]})
    got = capi.data("ListQualityRuleGroups", {"ProjectId": cspace.project, "Filters": [
        {"Name": "RuleGroupId", "Values": [str(group["Id"])]}]})["Items"][0]
    assert got["MonitorType"] == 3 and got["ExecStrategy"]["CycleType"] == "H" and not got["ExecStrategy"].get("Tasks")
    own["CycleType"], own["CycleStep"] = "I", 10
    capi.data("ModifyQualityRuleGroup", {"ProjectId": cspace.project, "RuleGroupExecStrategyBOList": [own]})
    (run, *_) = wait_until(cycle_runs, lambda items: len(items) >= 1,
                           what="a run after switching to the own cycle", patience=30)
    assert run["TriggerType"] == 3 and run["Status"] == 3  # 288 rows: not < 0

    capi.data("ModifyQualityRuleGroup", {"ProjectId": cspace.project, "RuleGroupExecStrategyBOList": [
        {**attached, "RuleGroupId": group["Id"]}]})
    seen = len(cycle_runs())
    time.sleep(600 / FACTOR * 2.2)
    assert len(cycle_runs()) <= seen + 1  # back to attached: the cycle ended


def test_bad_cycles_are_refused_naming_the_field_and_nothing_is_half_saved(
    capi: Api, cspace: Space, csource: int, postgres: Db, slots: str
) -> None:
    db = dbname(postgres)
    base = cycle(csource, db, slots)
    before = groups_total(capi, cspace)

    def refused(changes: dict[str, Any], text: str, code: str = "InvalidParameterValue") -> None:
        good = cycle(csource, db, slots)
        exc = capi.error("CreateQualityRuleGroup", {"ProjectId": cspace.project,
                                                    "RuleGroupExecStrategyBOList": [good, {**base, **changes}]})
        assert exc.code == code and text in exc.message, (changes, exc.code, exc.message)

    refused({"CycleType": "X"}, "RuleGroupExecStrategyBOList[1].CycleType must be I")
    refused({"CycleType": None}, "RuleGroupExecStrategyBOList[1].CycleType")
    refused({"CycleStep": 5}, "CycleStep for CycleType I must be one of (10, 20, 30)")
    refused({"CycleStep": None}, "CycleStep is required")
    refused({"CycleType": "H", "CycleStep": 5}, "CycleStep for CycleType H")
    refused({"CycleType": "H", "CycleStep": 1, "DelayTime": 30}, "DelayTime must be 0 for CycleType H")
    refused({"CycleType": "D", "CycleStep": 1, "DelayTime": 1440}, "DelayTime must be 0..1439")
    refused({"DelayTime": None}, "DelayTime is required")
    refused({"CycleType": "W", "CycleStep": 1}, "TaskAction must list the week days")
    refused({"CycleType": "W", "CycleStep": 1, "TaskAction": "1,8"}, "TaskAction: '8' is not a week day")
    refused({"CycleType": "M", "CycleStep": 1, "TaskAction": "0"}, "TaskAction: '0' is not a month day")
    refused({"StartTime": None}, "StartTime is required")
    refused({"EndTime": "31/12/2025"}, "EndTime must be yyyy-MM-dd HH:mm:ss or yyyy-MM-dd")
    refused({"StartTime": "2025-06-01", "EndTime": "2025-05-01"}, "EndTime is before StartTime")
    refused({"StartTime": "2025-01-01 00:00:00", "EndTime": "2025-02-01 00:00:00"}, "EndTime: the cycle has no run left")
    refused({"ScheduleTimeZone": "Mars/Olympus"}, "ScheduleTimeZone")
    refused({"ExecFailBlock": 1}, "ExecFailBlock")
    refused({"TriggerTypes": ["CYCLE"]}, "TriggerTypes")
    refused({"Tasks": [{"WorkflowId": cspace.workflow, "TaskId": "20250101000000000", "TaskName": "x"}]},
            "Tasks: a monitoring task on its own cycle")
    refused({"MonitorType": 4}, "MonitorType must be 2")
    assert groups_total(capi, cspace) == before  # the good first item was not written either

    # A week cycle on Sunday and Monday at 01:30, and a month cycle with a date-only window.
    week = create_group(capi, cspace, cycle(csource, db, slots, CycleType="W", CycleStep=1, DelayTime=90,
                                            TaskAction="1,2"))
    month = create_group(capi, cspace, cycle(csource, db, slots, CycleType="M", CycleStep=1, TaskAction="1,15",
                                             StartTime="2025-03-01", EndTime="2025-04-30"))
    assert week["MonitorType"] == month["MonitorType"] == 3
    assert groups_total(capi, cspace) == before + 2
    # Modifying one to a bad cycle changes nothing.
    exc = capi.error("ModifyQualityRuleGroup", {"ProjectId": cspace.project, "RuleGroupExecStrategyBOList": [
        {**cycle(csource, db, slots, CycleType="W", CycleStep=1, DelayTime=90, TaskAction="1,2"),
         "RuleGroupId": week["Id"], "RuleGroupName": unique("renamed"), "TaskAction": ""}]})
    assert exc.code == "InvalidParameterValue" and "TaskAction" in exc.message
    got = capi.data("ListQualityRuleGroups", {"ProjectId": cspace.project, "Filters": [
        {"Name": "RuleGroupId", "Values": [str(week["Id"])]}]})["Items"][0]
    assert got["ExecStrategy"]["TaskAction"] == "1,2" and got["Name"] == week["Name"]
