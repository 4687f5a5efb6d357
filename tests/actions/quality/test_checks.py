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
from tests.actions.sql_tasks.conftest import DAY
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
