"""Rules, monitoring tasks and templates through the SDK: create, list, modify, delete, and bad
input refused naming the field with nothing saved."""

from __future__ import annotations

from typing import Any

import pytest

from tests.actions.datasources.conftest import Db
from tests.actions.instances.test_instances import Space, new_space, submit
from tests.actions.quality.helpers import (
    create_group,
    create_rules,
    custom,
    fixed,
    rule,
    rules_total,
    strategy,
)
from tests.actions.sql_tasks.test_sql_tasks import pg_connect
from tests.support import Api, unique


@pytest.fixture(scope="module")
def table(postgres: Db) -> str:
    name = unique("defs").lower()
    with pg_connect(postgres) as c:
        c.execute(f"CREATE TABLE {name} (id int, label text, price numeric(10,2), day date)")
    return name


def dbname(db: Db) -> str:
    return db.url.rsplit("/", 1)[1]


def error(api: Api, action: str, body: dict[str, Any]) -> tuple[str, str]:
    exc = api.error(action, body)
    return str(exc.code), str(exc.message)


def test_templates_are_listed_paged_and_filtered(api: Api, space: Space) -> None:
    data = api.data("ListQualityRuleTemplates", {"ProjectId": space.project, "PageSize": 100})
    assert data["TotalCount"] == 14 and [t["RuleTemplateId"] for t in data["Items"]] == list(range(1, 15))
    null_ratio = data["Items"][2]
    assert (null_ratio["Name"], null_ratio["QualityDim"], null_ratio["SourceObjectType"]) == ("Column null ratio (%)", 3, 3)
    page = api.data("ListQualityRuleTemplates", {"ProjectId": space.project, "PageSize": 5, "PageNumber": 3})
    assert page["TotalCount"] == 14 and [t["RuleTemplateId"] for t in page["Items"]] == [11, 12, 13, 14]
    dims = api.data("ListQualityRuleTemplates", {"ProjectId": space.project, "Filters": [
        {"Name": "QualityDim", "Values": ["2"]}]})
    assert [t["RuleTemplateId"] for t in dims["Items"]] == [4, 5]
    word = api.data("ListQualityRuleTemplates", {"ProjectId": space.project, "Filters": [
        {"Name": "Keyword", "Values": ["week"]}]})
    assert [t["RuleTemplateId"] for t in word["Items"]] == [13]
    assert error(api, "ListQualityRuleTemplates", {"ProjectId": space.project, "Filters": [
        {"Name": "Nope", "Values": ["1"]}]})[0] == "InvalidParameterValue"


def test_rules_are_created_listed_modified_and_deleted(
    api: Api, space: Space, pg_source: int, postgres: Db, table: str
) -> None:
    db = dbname(postgres)
    made = create_rules(api, space, [
        rule(pg_source, db, table, 1, engine=64),
        rule(pg_source, db, table, 8, column="price", engine=64, compare={"Items": [
            {"CompareType": 3, "ValueComputeType": 4, "Operator": "IRLCRO",
             "ValueList": [{"ValueType": 1, "Value": "0"}, {"ValueType": 2, "Value": "9.5"}]}]}),
        custom(pg_source, db, table, f"SELECT max(id) FROM {table} WHERE day = '${{yyyy-MM-dd}}'", engine=64),
    ])
    assert (made["SumCount"], made["SuccessCount"], made["FailedCount"]) == (3, 3, 0)
    ids = made["SuccessRuleIds"]
    groups = {r["RuleGroupId"] for r in made["Results"]}
    assert len(groups) == 1  # the table's default group, made on first use
    (gid,) = groups
    listed = api.data("ListQualityRules", {"ProjectId": space.project, "PageSize": 50, "Filters": [
        {"Name": "RuleGroupId", "Values": [str(gid)]}]})
    assert listed["TotalCount"] == 3
    items = {r["RuleId"]: r for r in listed["Items"]}
    avg = items[ids[1]]
    assert (avg["TableName"], avg["SourceObjectValue"], avg["RuleTemplateId"], avg["DatasourceType"]) == (
        table, "price", 8, 5)
    assert avg["SchemaName"] == "public" and avg["DatabaseName"] == db and avg["DatasourceId"] == str(pg_source)
    assert avg["CompareRule"]["Items"][0]["Operator"] == "IRLCRO" and avg["TableId"]
    assert items[ids[2]]["Type"] == 3 and items[ids[2]]["CustomSql"]
    groups_page = api.data("ListQualityRuleGroups", {"ProjectId": space.project, "Filters": [
        {"Name": "RuleGroupId", "Values": [str(gid)]}]})
    (group,) = groups_page["Items"]
    assert (group["MonitorType"], group["RuleCount"], group["TableName"]) == (1, 3, table)
    tables = api.data("ListQualityRuleGroupsTable", {"ProjectId": space.project, "Filters": [
        {"Name": "TableName", "Values": [table]}]})
    (t,) = tables["Items"]
    assert (t["RuleCount"], t["RuleGroupCount"], t["DatasourceType"]) == (3, 1, 5)

    body = {**rule(pg_source, db, table, 2, column="label", compare=fixed(">=", "3"), engine=64), "ProjectId": space.project,
            "RuleId": ids[0]}
    body = {k: v for k, v in body.items() if k not in ("DatasourceId", "DatabaseName", "TableName")}
    assert api.data("ModifyQualityRule", body) is True
    modified = api.data("ListQualityRules", {"ProjectId": space.project, "Filters": [
        {"Name": "RuleIds", "Values": [str(ids[0])]}]})["Items"][0]
    assert (modified["RuleTemplateId"], modified["SourceObjectValue"], modified["Name"]) == (2, "label", body["Name"])

    assert api.data("DeleteQualityRule", {"ProjectId": space.project, "RuleId": ids[2]}) is True
    assert error(api, "DeleteQualityRule", {"ProjectId": space.project, "RuleId": ids[2]})[0] == "ResourceNotFound"
    other = new_space(api)
    assert error(api, "DeleteQualityRule", {"ProjectId": other.project, "RuleId": ids[0]})[0] == "ResourceNotFound"


def _bad_rules(source: int, db: str, table: str) -> list[tuple[dict[str, Any], str]]:
    def r(template: int | None, **kw: Any) -> dict[str, Any]:
        return rule(source, db, table, template, engine=64, **kw)
    two_cols = custom(source, db, table, f"SELECT id, label FROM {table}", engine=64)
    return [
        (rule(source, db, "no_such_table", 1, engine=64), "RuleBOList[0].TableName"),
        (r(2, column="nope"), "RuleBOList[0].SourceObjectValue"),
        (r(8, column="label"), "needs a numeric column"),
        (r(1, compare={"Items": [{"CompareType": 2, "Operator": ">", "ValueComputeType": 1,
                                  "ValueList": [{"ValueType": 3, "Value": "1"}]}]}), "CompareType 2 does not fit"),
        (r(1, compare=fixed("~", "1")), "RuleBOList[0].CompareRule.Items[0].Operator"),
        (r(1, compare=fixed(">", "ten")), "must be a number"),
        (r(1, compare={"Items": [{"CompareType": 3, "ValueComputeType": 4, "ValueList": [
            {"ValueType": 1, "Value": "5"}, {"ValueType": 2, "Value": "1"}]}]}), "above the high bound"),
        (r(1, compare={"Items": [{"CompareType": 3, "ValueComputeType": 5, "Operator": "IRLCRC", "ValueList": [
            {"ValueType": 1, "Value": "1"}, {"ValueType": 2, "Value": "5"}]}]}), "contradicts ValueComputeType"),
        (r(1, compare={"Items": [], "ComputeExpression": "0"}), "Items must have at least one"),
        (r(1, compare={"Items": fixed(">", "1")["Items"], "ComputeExpression": "0o3"}), "ComputeExpression names item 3"),
        (r(1, ConditionType=2, ConditionExpression="day = '${nosuchparam}'"), "RuleBOList[0].ConditionExpression"),
        (r(1, ConditionType=2, ConditionExpression="1=1; DROP TABLE x"), "RuleBOList[0].ConditionExpression"),
        (r(12, compare={"Items": [{"CompareType": 2, "Operator": ">", "ValueComputeType": 1,
                                   "ValueList": [{"ValueType": 3, "Value": "1"}]}]}), "ConditionType must be 2"),
        (r(11, column="label"), "FieldConfig"),
        (r(99), "RuleBOList[0].RuleTemplateId"),
        ({**r(1), "Type": 2}, "custom template"),
        ({**r(1), "AlarmLevel": 7}, "AlarmLevel"),
        ({**r(1), "SourceEngineTypes": [1]}, "SourceEngineTypes"),
        (two_cols, "exactly one column"),
        ({**two_cols, "CustomSql": "not base64!"}, "Base64"),
        (custom(source, db, table, f"DELETE FROM {table}", engine=64), "must be a SELECT"),
        ({**r(1), "DatasourceId": "999999"}, "RuleBOList[0].DatasourceId"),
        ({**r(1), "RuleGroupId": 987654}, "RuleBOList[0].RuleGroupId"),
    ]


def test_bad_rules_are_refused_naming_the_field_and_nothing_is_saved(
    api: Api, space: Space, pg_source: int, postgres: Db, table: str
) -> None:
    before = rules_total(api, space)
    good = rule(pg_source, dbname(postgres), table, 1, engine=64)
    for body, expected in _bad_rules(pg_source, dbname(postgres), table):
        code, message = error(api, "CreateQualityRule", {"ProjectId": space.project, "CreateRuleScene": 2,
                                                         "RuleBOList": [body]})
        assert code == "InvalidParameterValue" and expected in message, (expected, code, message)
        assert "RuleBOList[0]" in message, message
        # In a batch, a bad second rule keeps the good first one out too.
        code2, message2 = error(api, "CreateQualityRule", {"ProjectId": space.project, "CreateRuleScene": 2,
                                                           "RuleBOList": [good, body]})
        assert code2 == "InvalidParameterValue" and "RuleBOList[1]" in message2, message2
    assert rules_total(api, space) == before


def test_monitoring_tasks_attach_to_production_tasks_and_refuse_bad_input(
    api: Api, space: Space, pg_source: int, postgres: Db, table: str
) -> None:
    db = dbname(postgres)
    task = submit(api, space, "echo hi")
    group = create_group(api, space, strategy(pg_source, db, table, [(task, space.workflow)], ExecFailBlock=1))
    assert group["MonitorType"] == 2 and group["TableName"] == table and group["SchemaName"] == "public"
    listed = api.data("ListQualityRuleGroups", {"ProjectId": space.project, "Filters": [
        {"Name": "RuleGroupId", "Values": [str(group["Id"])]}]})["Items"][0]
    assert listed["ExecStrategy"]["Tasks"][0]["TaskId"] == task and listed["ExecStrategy"]["ExecFailBlock"] == 1
    assert listed["ExecStrategy"]["TriggerTypes"] == ["CYCLE", "MAKE_UP", "RERUN"]

    def refused(body: dict[str, Any], code: str, text: str, action: str = "CreateQualityRuleGroup") -> None:
        got, message = error(api, action, {"ProjectId": space.project, "RuleGroupExecStrategyBOList": [body]})
        assert got == code and text in message, (text, got, message)

    base = strategy(pg_source, db, table, [(task, space.workflow)])
    refused({**base, "Tasks": [{"WorkflowId": space.workflow, "TaskId": "20250101000000000", "TaskName": "x"}]},
            "InvalidParameterValue", "RuleGroupExecStrategyBOList[0].Tasks[0].TaskId")
    refused({**base, "Tasks": []}, "InvalidParameterValue", "Tasks must list")
    refused({**base, "MonitorType": 3}, "InvalidParameterValue", "Tasks: a monitoring task on its own cycle")
    refused({**base, "TriggerTypes": ["SOMETIMES"]}, "InvalidParameterValue", "TriggerTypes[0]")
    refused({**base, "ExecFailBlock": 2}, "InvalidParameterValue", "ExecFailBlock")
    refused({**base, "TableName": "missing_table"}, "InvalidParameterValue", "TableName")
    refused({**base, "RuleGroupName": listed["Name"]}, "InvalidParameter.DuplicateName", "RuleGroupName")
    unsubmitted = api.data("CreateTask", {"ProjectId": space.project, "TaskBaseAttribute": {
        "TaskName": unique("dev"), "TaskTypeId": "35", "WorkflowId": space.workflow},
        "TaskConfiguration": {"CodeContent": ""}, "TaskSchedulerConfiguration": {"CycleType": "ONEOFF_CYCLE"}})["TaskId"]
    refused({**base, "Tasks": [{"WorkflowId": space.workflow, "TaskId": unsubmitted, "TaskName": "x"}]},
            "InvalidParameterValue", "not been submitted")
    refused({**base, "RuleGroupId": 424242}, "ResourceNotFound", "RuleGroupId", "ModifyQualityRuleGroup")

    mod = {**base, "RuleGroupId": group["Id"], "RuleGroupName": unique("renamed"), "ExecFailBlock": 0}
    assert api.data("ModifyQualityRuleGroup", {"ProjectId": space.project,
                                               "RuleGroupExecStrategyBOList": [mod]})["Result"] is True
    again = api.data("ListQualityRuleGroups", {"ProjectId": space.project, "Filters": [
        {"Name": "RuleGroupId", "Values": [str(group["Id"])]}]})["Items"][0]
    assert again["Name"] == mod["RuleGroupName"] and again["ExecStrategy"]["ExecFailBlock"] == 0

    assert error(api, "DeleteQualityRuleGroup", {"ProjectId": space.project,
                                                 "RuleGroupIdList": [group["Id"], 777777]})[0] == "ResourceNotFound"
    done = api.data("DeleteQualityRuleGroup", {"ProjectId": space.project, "RuleGroupIdList": [group["Id"]]})
    assert (done["SumCount"], done["SuccessCount"]) == (1, 1)
    assert api.data("ListQualityRuleGroups", {"ProjectId": space.project, "Filters": [
        {"Name": "RuleGroupId", "Values": [str(group["Id"])]}]})["TotalCount"] == 0


def test_non_members_see_nothing(server: Any, space: Space) -> None:
    other = server.new_user()
    exc = other.error("ListQualityRules", {"ProjectId": space.project})
    assert str(exc.code).startswith("UnauthorizedOperation")
