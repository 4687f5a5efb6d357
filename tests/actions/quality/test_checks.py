"""Checks after successful attempts: a blocking null-ratio rule holds the downstream instance on
PostgreSQL until the data is fixed and the instance rerun, the alarm reaches a real webhook; a
shared scan of many templates on MariaDB with exact values; a fluctuation rule that reads the
stored history; custom SQL that returns the wrong shape; the lake."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.actions.alarms.test_alarms import create as create_alarm_rule
from tests.actions.datasources.conftest import Db
from tests.actions.instances.test_instances import Space, b64, instances, submit, wait_for
from tests.actions.ops.test_ops_async import run_op
from tests.actions.quality.helpers import create_group, create_rules, custom, execs, fixed, rule, strategy
from tests.actions.sql_tasks.conftest import DAY, FACTOR
from tests.actions.sql_tasks.test_sql_tasks import DAILY, pg_connect, sql_task
from tests.services.alarms.webhook import Receiver
from tests.support import Api, mariadb_root, unique
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def day_instance(api: Api, space: Space, task: str) -> dict[str, Any]:
    items = [i for i in instances(api, space, task) if i["CurRunDate"].startswith(DAY)]
    assert len(items) == 1, items
    return items[0]


def detail(api: Api, space: Space, key: str) -> dict[str, Any]:
    return dict(api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": key}))


def test_a_blocking_null_ratio_rule_holds_the_downstream_until_the_data_is_fixed_and_rerun(
    api: Api, space: Space, pg_source: int, postgres: Db, receiver: Receiver
) -> None:
    table = unique("orders").lower()
    with pg_connect(postgres) as c:
        c.execute(f"CREATE TABLE {table} (day date, customer text, amount int)")
        c.execute(f"INSERT INTO {table} VALUES ('{DAY}', 'a', 1), ('{DAY}', NULL, 2), ('{DAY}', NULL, 3), "
                  f"('{DAY}', 'b', 4), ('2025-02-28', NULL, 5)")
    # The gate fails, so the checked task waits until the group is attached (then set to success).
    gate = submit(api, space, "exit 1", sched={**DAILY, "MaxRetryNumber": 0})
    dep = {"MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"}
    load = sql_task(api, space, f"SELECT count(*) FROM {table} WHERE day = '${{yyyy-MM-dd}}'", pg_source,
                    sched={**DAILY, "UpstreamDependencyConfigList": [{"TaskId": gate, **dep}]})
    report = submit(api, space, "echo report", sched={**DAILY, "UpstreamDependencyConfigList": [{"TaskId": load, **dep}]})
    wait_for(api, space, gate, {"EXPIRED"})
    gate_inst = day_instance(api, space, gate)

    group = create_group(api, space, strategy(pg_source, postgres.url.rsplit("/", 1)[1], table,
                                              [(load, space.workflow)], ExecFailBlock=1, TriggerTypes=["CYCLE", "RERUN"]))
    made = create_rules(api, space, [rule(pg_source, postgres.url.rsplit("/", 1)[1], table, 3, column="customer",
                                          compare=fixed(">", "10"), engine=64, RuleGroupId=group["Id"], ConditionType=2,
                                          ConditionExpression="day = '${yyyy-MM-dd}'")])
    assert made["SuccessCount"] == 1 and made["Results"][0]["RuleGroupId"] == group["Id"]
    path = f"/{unique('q')}"
    hook = receiver.url(path)
    alarm_rule = create_alarm_rule(api, space, [load], AlarmTypes=["failure", "backTrackingOrRerunFailure"],
                                   AlarmGroups=[{"AlarmWays": ["6"], "WebHooks": [{"AlarmWay": "6", "WebHooks": [hook]}],
                                                 "AlarmRecipientType": 2}])

    assert run_op(api, "SetSuccessTaskInstancesAsync", space, [gate_inst["InstanceKey"]])["Status"] == "SUCCESS"
    results = wait_until(lambda: execs(api, space, RuleGroupId=str(group["Id"])), lambda items: len(items) == 1,
                         what="the first check", patience=30)
    (first,) = results
    assert first["Status"] == 4 and first["AlarmRuleCount"] == 1 and first["TotalRuleCount"] == 1
    (r,) = first["RuleExecResultVOList"]
    # 2 of the day's 4 rows have no customer: 50%, exactly; the other day's row is out of scope.
    assert r["ExecResultStatus"] == 2 and r["TriggerResult"] == "50"
    assert r["CompareResult"]["Items"][0]["ResultValue"] == "50" and r["CompareResult"]["Items"][0]["FixResult"] == 1
    assert f"WHERE day = '{DAY}'" in r["TriggerCondition"] and "COUNT(" in r["TriggerCondition"]
    assert first["DatasourceId"] == str(pg_source) and first["RuleGroupTableId"] == group["RuleGroupTableId"]

    # The downstream instance waits, showing why, and does not run.
    held = day_instance(api, space, report)
    waiting = wait_until(lambda: detail(api, space, held["InstanceKey"]),
                         lambda d: "held by the data quality check" in (d.get("JobErrorMsg") or ""),
                         what="the reason on the held instance", patience=10)
    assert waiting["InstanceState"] == "WAIT_UPSTREAM" and r["RuleName"] in waiting["JobErrorMsg"]
    assert day_instance(api, space, load)["InstanceState"] == "COMPLETED"
    time.sleep(2)
    assert day_instance(api, space, report)["InstanceState"] == "WAIT_UPSTREAM"

    # The alarm went through the alarm rule of the task to the webhook.
    (req,) = receiver.wait_for(1, path)
    assert req.body["AlarmRuleId"] == alarm_rule and req.body["TaskId"] == load
    assert "data quality" in req.body["AlarmReason"] and r["RuleName"] in req.body["AlarmReason"]

    # Fix the data, rerun the checked instance: the check passes and the downstream runs.
    with pg_connect(postgres) as c:
        c.execute(f"UPDATE {table} SET customer = 'fixed' WHERE customer IS NULL AND day = '{DAY}'")
    load_key = day_instance(api, space, load)["InstanceKey"]
    assert run_op(api, "RerunTaskInstancesAsync", space, [load_key])["Status"] == "SUCCESS"
    wait_for(api, space, report, {"COMPLETED"})
    second = [e for e in execs(api, space, RuleGroupId=str(group["Id"])) if e["RuleGroupExecId"] != first["RuleGroupExecId"]]
    assert [e["Status"] for e in second] == [3]
    assert second[0]["RuleExecResultVOList"][0]["TriggerResult"] == "0"
    assert "held by" not in (detail(api, space, held["InstanceKey"]).get("JobErrorMsg") or "")


def gated(api: Api, space: Space, code: str, source: int | None, **kw: Any) -> tuple[str, str]:
    """A daily task (and its failed gate): it runs when the gate's instance is set to success."""
    gate = submit(api, space, "exit 1", sched={**DAILY, "MaxRetryNumber": 0})
    dep = {"TaskId": gate, "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"}
    task = sql_task(api, space, code, source, sched={**DAILY, "UpstreamDependencyConfigList": [dep]}, **kw)
    wait_for(api, space, gate, {"EXPIRED"})
    return gate, task


def release(api: Api, space: Space, gate: str) -> None:
    key = day_instance(api, space, gate)["InstanceKey"]
    assert run_op(api, "SetSuccessTaskInstancesAsync", space, [key])["Status"] == "SUCCESS"


def by_rule(execution: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {r["RuleId"]: r for r in execution["RuleExecResultVOList"]}


def test_every_template_on_mariadb_in_one_scan_with_exact_values(
    api: Api, space: Space, my_source: int, mariadb: Db
) -> None:
    table = unique("items").lower()
    root = mariadb_root()
    with root.cursor() as cur:
        cur.execute(f"CREATE TABLE `{mariadb.username}`.{table} (id INT, name VARCHAR(20), price DECIMAL(10,2), "
                    "code VARCHAR(10))")
        cur.execute(f"INSERT INTO `{mariadb.username}`.{table} VALUES (1, 'a', 1.10, 'A1'), (2, 'b', 2.20, 'B2'), "
                    "(3, NULL, 3.30, 'x'), (4, 'b', NULL, 'C3')")
    root.close()
    gate, task = gated(api, space, "SELECT 1", my_source)
    db = mariadb.username
    group = create_group(api, space, strategy(my_source, db, table, [(task, space.workflow)]))
    between = {"Items": [{"CompareType": 3, "ValueComputeType": 5, "ValueList": [{"ValueType": 1, "Value": "1"},
                                                                                   {"ValueType": 2, "Value": "10"}]}]}
    enum = {"Items": [{"CompareType": 4, "ValueList": [{"ValueType": 4, "Value": v} for v in ("A1", "B2", "C3")]}]}
    want = {  # template, column, compare -> (value, status)
        1: (None, between, "4", 1), 2: ("name", fixed(">", "0"), "1", 2), 3: ("price", fixed(">=", "25"), "25", 2),
        4: ("name", fixed("==", "2"), "2", 2), 5: ("name", fixed("!=", "1"), "1", 1),
        6: ("price", fixed("<", "1.1"), "1.1", 1), 7: ("price", fixed("=>", "3.30"), "3.3", 2),
        8: ("price", fixed("==", "2.2"), "2.2", 2), 9: ("price", fixed(">", "6.6"), "6.6", 1),
        10: ("code", enum, "1", 2), 11: ("code", fixed("<", "80"), "75", 2),
    }
    bodies = []
    for template, (column, cmp, _, _) in want.items():
        extra = {"FieldConfig": {"WhereConfig": [{"FieldKey": "regex", "FieldValue": "^[A-Z][0-9]$"}]}} \
            if template == 11 else {}
        bodies.append(rule(my_source, db, table, template, column=column, compare=cmp, RuleGroupId=group["Id"], **extra))
    bodies += [custom(my_source, db, table, f"SELECT count(*) FROM {table}", RuleGroupId=group["Id"]),
               custom(my_source, db, table, f"SELECT id FROM {table} WHERE id > 100", RuleGroupId=group["Id"]),
               custom(my_source, db, table, f"SELECT id FROM {table}", RuleGroupId=group["Id"])]
    made = create_rules(api, space, bodies)
    ids = made["SuccessRuleIds"]
    assert made["SumCount"] == len(bodies) == len(ids)

    release(api, space, gate)
    (done,) = wait_until(lambda: execs(api, space, RuleGroupId=str(group["Id"])), lambda items: len(items) == 1,
                         what="the check", patience=30)
    results = by_rule(done)
    for rid, (template, (_, _, value, status)) in zip(ids, want.items(), strict=False):
        got = results[rid]
        assert (template, got["TriggerResult"], got["ExecResultStatus"]) == (template, value, status)
    scans = {results[rid]["TriggerCondition"] for rid in ids[: len(want)]}
    assert len(scans) == 1, scans  # every template rule came from ONE SELECT
    (scan,) = scans
    assert scan.startswith("SELECT COUNT(*) AS m0") and "REGEXP" in scan and f"`{db}`.`{table}`" in scan
    count_rule, none_rule, many_rule = (results[i] for i in ids[len(want):])
    assert (count_rule["ExecResultStatus"], count_rule["TriggerResult"]) == (1, "4")
    assert none_rule["ExecResultStatus"] == 3 and "no row" in none_rule["TriggerResult"]
    assert many_rule["ExecResultStatus"] == 3 and "several rows" in many_rule["TriggerResult"]
    assert done["Status"] == 6 and done["AlarmRuleCount"] == sum(1 for v in want.values() if v[3] == 2) + 2


def test_a_fluctuation_rule_compares_with_the_stored_value_of_the_earlier_data_time(
    api: Api, space: Space, my_source: int, mariadb: Db
) -> None:
    table = unique("events").lower()
    root = mariadb_root()
    with root.cursor() as cur:
        cur.execute(f"CREATE TABLE `{mariadb.username}`.{table} (slot VARCHAR(8), n INT)")
        cur.execute(f"INSERT INTO `{mariadb.username}`.{table} VALUES " + ", ".join(["('2200', 1)"] * 10 + ["('2205', 1)"] * 13))
    root.close()
    # Two data times today (22:00 and 22:05), in order; planned only once the group is attached.
    sched = {"CycleType": "CRONTAB_CYCLE", "CrontabExpression": "0 0,5 22 * * ? *", "SelfDepend": "orderly"}
    name = unique("slots")
    task = sql_task(api, space, "SELECT 1", my_source, name=name, sched={**sched, "StartTime": "2025-03-02 00:00:00"})
    group = create_group(api, space, strategy(my_source, mariadb.username, table, [(task, space.workflow)],
                                              ExecFailBlock=1))
    dod = {"Items": [{"CompareType": 2, "Operator": ">", "ValueComputeType": 1, "ValueList": [{"ValueType": 3,
                                                                                               "Value": "20"}]}],
           "CycleStep": 300}
    (rid,) = create_rules(api, space, [rule(my_source, mariadb.username, table, 12, compare=dod, RuleGroupId=group["Id"],
                                            ConditionType=2, ConditionExpression="slot = '${HHmm}'")])["SuccessRuleIds"]
    owner = api.data("GetTask", {"ProjectId": space.project, "TaskId": task})["TaskBaseAttribute"]["OwnerUin"]
    api.call("UpdateTask", {"ProjectId": space.project, "TaskId": task, "Task": {
        "TaskBaseAttribute": {"TaskName": name, "OwnerUin": owner, "TaskDescription": "today"},
        "TaskConfiguration": {"CodeContent": b64("SELECT 1")},
        "TaskSchedulerConfiguration": {"StartTime": f"{DAY} 00:00:00"}}})
    api.data("SubmitTask", {"ProjectId": space.project, "TaskId": task, "VersionRemark": "today"})

    done = wait_until(lambda: execs(api, space, RuleGroupId=str(group["Id"])), lambda items: len(items) == 2,
                      what="two checks", patience=30)
    by_time = {e["ExecDetail"]: e for e in done}
    earlier = by_rule(by_time[f"task {task}, data time {DAY} 22:00:00"])[rid]
    later = by_rule(by_time[f"task {task}, data time {DAY} 22:05:00"])[rid]
    # The first has no stored value five minutes before it: recorded, not compared.
    assert (earlier["ExecResultStatus"], earlier["TriggerResult"]) == (1, "10")
    assert earlier["CompareResult"]["Items"][0]["ResultValue"] == "no reference"
    # The second: 13 rows against the stored 10, +30% > 20%: triggered.
    assert (later["ExecResultStatus"], later["TriggerResult"]) == (2, "13")
    assert later["CompareResult"]["Items"][0]["ResultValue"] == "30"


def test_a_lake_table_is_checked_on_the_lake(api: Api, space: Space, lake_source: int) -> None:
    table = unique("lake_q").lower()
    code = (f"CREATE TABLE IF NOT EXISTS {table} (id INT, tag STRING);\n"
            f"INSERT INTO {table} VALUES (1, 'x'), (2, NULL), (3, 'y')")
    gate, task = gated(api, space, code, None, type_id="32")
    setup = submit(api, space, code, type_id="32")
    wait_for(api, space, setup, {"COMPLETED"})
    group = create_group(api, space, strategy(lake_source, "main", table, [(task, space.workflow)]))
    ids = create_rules(api, space, [
        rule(lake_source, "main", table, 1, compare=fixed("!=", "6"), engine=16, RuleGroupId=group["Id"]),
        rule(lake_source, "main", table, 2, column="tag", compare=fixed(">", "1"), engine=16, RuleGroupId=group["Id"],
             ConditionType=2, ConditionExpression="id >= 2 AND tag IS NULL OR id = 1"),
    ])["SuccessRuleIds"]
    release(api, space, gate)
    (done,) = wait_until(lambda: execs(api, space, RuleGroupId=str(group["Id"])), lambda items: len(items) == 1,
                         what="the lake check", patience=30)
    results = by_rule(done)
    # The setup ran once and the checked task once more: 6 rows, 2 NULL tags.
    assert (results[ids[0]]["ExecResultStatus"], results[ids[0]]["TriggerResult"]) == (1, "6")
    assert (results[ids[1]]["ExecResultStatus"], results[ids[1]]["TriggerResult"]) == (2, "2")
    assert done["DatasourceId"] == str(lake_source)


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_a_held_edge_does_not_pass_when_a_parent_timeout_lets_edges_pass(
    api: Api, space: Space, pg_source: int, postgres: Db
) -> None:
    """PollingNullStrategy EXECUTING with PARENT_TIMEOUT lets an edge pass when the parent waits
    or runs too long; a parent held by a failed check has run, and its hold is not a timeout."""
    db = postgres.url.rsplit("/", 1)[1]
    table = unique("held").lower()
    with pg_connect(postgres) as c:
        c.execute(f"CREATE TABLE {table} (customer text)")
        c.execute(f"INSERT INTO {table} VALUES ('a'), (NULL)")
    gate, load = gated(api, space, f"SELECT count(*) FROM {table}", pg_source)
    group = create_group(api, space, strategy(pg_source, db, table, [(load, space.workflow)], ExecFailBlock=1))
    create_rules(api, space, [rule(pg_source, db, table, 2, column="customer", compare=fixed(">", "0"), engine=64,
                                   RuleGroupId=group["Id"])])
    release(api, space, gate)
    wait_until(lambda: execs(api, space, RuleGroupId=str(group["Id"])), lambda items: len(items) == 1,
               what="the failed check", patience=30)
    timeout = {"PollingNullStrategy": "EXECUTING", "TaskDependencyExecutingStrategies": ["PARENT_TIMEOUT"],
               "TaskDependencyExecutingTimeoutValue": 1}
    report = submit(api, space, "echo report", sched={**DAILY, "UpstreamDependencyConfigList": [
        {"TaskId": load, "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY",
         "DependencyStrategy": timeout}]})
    held = wait_until(lambda: [i for i in instances(api, space, report) if i["CurRunDate"].startswith(DAY)],
                      lambda items: len(items) == 1, what="the downstream instance", patience=10)[0]
    time.sleep(3 * 60 / FACTOR + 3)  # three minutes of the server's clock: well past the 1-minute timeout
    waiting = detail(api, space, held["InstanceKey"])
    assert waiting["InstanceState"] == "WAIT_UPSTREAM", waiting
    # Deleting the group ends the hold: the downstream runs.
    api.data("DeleteQualityRuleGroup", {"ProjectId": space.project, "RuleGroupIdList": [group["Id"]]})
    wait_for(api, space, report, {"COMPLETED"})
