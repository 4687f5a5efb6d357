"""Request builders for the quality tests."""

from __future__ import annotations

import base64
from typing import Any

from tests.actions.instances.test_instances import Space
from tests.support import Api, unique


def fixed(op: str, value: str) -> dict[str, Any]:
    return {"Items": [{"CompareType": 1, "Operator": op, "ValueList": [{"ValueType": 3, "Value": value}]}]}


def rule(source: int, database: str, table: str, template: int | None, *, column: str | None = None,
         compare: dict[str, Any] | None = None, engine: int = 1, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"Name": unique("rule"), "Type": 1, "DatasourceId": str(source), "DatabaseName": database,
                            "TableName": table, "RuleTemplateId": template, "AlarmLevel": 2,
                            "SourceEngineTypes": [engine], "CompareRule": compare or fixed(">", "0"),
                            "SourceObjectDataTypeName": "table" if column is None else "string",
                            "SourceObjectValue": column or table, "ConditionType": 1}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def custom(source: int, database: str, table: str, sql: str, *, engine: int = 1, **extra: Any) -> dict[str, Any]:
    return {"Name": unique("sql"), "Type": 3, "DatasourceId": str(source), "DatabaseName": database,
            "TableName": table, "QualityDim": 1, "AlarmLevel": 1, "SourceEngineTypes": [engine],
            "CustomSql": base64.b64encode(sql.encode()).decode(), "CompareRule": fixed("<", "1"), **extra}


def create_rules(api: Api, space: Space, rules: list[dict[str, Any]], scene: int = 1) -> dict[str, Any]:
    data: dict[str, Any] = api.data("CreateQualityRule", {"ProjectId": space.project, "CreateRuleScene": scene,
                                                          "RuleBOList": rules})
    return data


def strategy(source: int, database: str, table: str, tasks: list[tuple[str, str]], **extra: Any) -> dict[str, Any]:
    return {"MonitorType": 2, "ExecutorGroupId": "default", "RuleGroupName": unique("group"),
            "DatabaseName": database, "DatasourceId": str(source), "TableName": table,
            "Tasks": [{"WorkflowId": wf, "TaskId": t, "TaskName": t} for t, wf in tasks], **extra}


def create_group(api: Api, space: Space, body: dict[str, Any]) -> dict[str, Any]:
    data = api.data("CreateQualityRuleGroup", {"ProjectId": space.project, "RuleGroupExecStrategyBOList": [body]})
    (result,) = data["RuleGroupResultList"]
    return dict(result)


def rules_total(api: Api, space: Space) -> int:
    return int(api.data("ListQualityRules", {"ProjectId": space.project, "PageSize": 1})["TotalCount"])


def execs(api: Api, space: Space, **filters: str) -> list[dict[str, Any]]:
    body = {"ProjectId": space.project, "PageSize": 50,
            "Filters": [{"Name": k, "Values": [v]} for k, v in filters.items()]}
    return list(api.data("ListQualityRuleGroupExecResultsByPage", body)["Items"])
