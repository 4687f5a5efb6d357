"""Quality records -> response Structs.

Times are ``yyyy-MM-dd HH:mm:ss`` in UTC+8, as WeData's quality examples; ``StartTime`` of an
execution is epoch milliseconds (api.json types it int|string; WeData answers a number).
``DatasourceType`` is the quality API's enum (services/quality/targets.py: 1 MYSQL, 3 DLC, 5
TCHouse-P/CDW for the PostgreSQL wire). Monitoring tasks have one table each, so
``RuleGroupTableId`` is the monitored table's id.
"""

from __future__ import annotations

import base64
from calendar import timegm
from typing import Any

import msgspec

from wedata.services.common import Paged, fmt_time
from wedata.services.quality.listing import ExecPage
from wedata.services.quality.targets import QUALITY_TYPE, dialect_of
from wedata.services.quality.templates import BY_ID, Template
from wedata.spec import models as M


def _dstype(source_type: str | None) -> int | None:
    d = dialect_of(source_type) if source_type else None
    return QUALITY_TYPE.get(d) if d else None


def _schema(r: Any) -> str | None:
    return r.schema_name or None


def _ds_id(r: Any) -> str | None:
    return str(r.datasource_id) if r.datasource_id is not None else None


def compare_rule(stored: dict[str, Any] | None) -> M.QualityCompareRule | None:
    return msgspec.convert(stored, M.QualityCompareRule) if stored else None


def strategy(stored: dict[str, Any] | None) -> M.QualityRuleGroupExecStrategy | None:
    return msgspec.convert(stored, M.QualityRuleGroupExecStrategy) if stored else None


def rule(r: Any) -> M.QualityRule:
    template = BY_ID.get(r.template_id) if r.template_id is not None else None
    return M.QualityRule(
        rule_id=r.id, rule_group_id=r.group_id, table_id=r.table_guid, name=r.name, type=r.rule_type,
        rule_template_id=r.template_id, rule_template_content=template.name if template else None,
        quality_dim=r.quality_dim, source_object_type=template.level if template else 2,
        source_object_data_type_name=r.object_type_name, source_object_value=r.object_value,
        condition_type=r.condition_type, condition_expression=r.condition_expression,
        custom_sql=None if r.custom_sql is None else base64.b64encode(r.custom_sql.encode()).decode(),
        compare_rule=compare_rule(r.compare_rule), alarm_level=r.alarm_level, description=r.description,
        operator=r.create_user_uin, where_flag=r.condition_type == 2, template_sql=template.expression if template else None,
        field_config=msgspec.convert(r.field_config, M.QualityRuleFieldConfig) if r.field_config else None,
        multi_source_flag=False, source_engine_types=list(r.engine_types or []), table_name=r.table_name,
        exec_strategy=strategy(r.strategy), create_time=fmt_time(r.created_at), update_time=fmt_time(r.updated_at),
        datasource_id=_ds_id(r), database_id=None, monitor_status=r.monitor_type in (2, 3), ds_env_type=None,
        datasource_type=_dstype(r.source_type), schema_name=_schema(r), project_id=r.project_id,
        datasource_name=r.source_name, database_name=r.database_name, group_type="DEFAULT",
        catalog_name="DataLakeCatalog" if r.source_key == "lake" else None,
    )


def rule_page(paged: Paged[Any]) -> M.QualityRulePage:
    return M.QualityRulePage(total_count=paged.total, items=[rule(r) for r in paged.items])


def group(r: Any) -> M.QualityRuleGroup:
    st = strategy(r.strategy)
    return M.QualityRuleGroup(
        rule_group_id=r.id, datasource_id=_ds_id(r), datasource_name=r.source_name,
        datasource_type=_dstype(r.source_type), monitor_type=r.monitor_type, update_time=fmt_time(r.updated_at),
        table_name=r.table_name, table_id=r.table_guid, exec_strategy=st, database_name=r.database_name,
        schema_name=_schema(r), permission=True, rule_count=int(r.rule_count), monitor_status=r.monitor_type in (2, 3),
        create_time=fmt_time(r.created_at), strategy_config=st is not None, subscribe_config=False, name=r.name,
        enable_rule_count=int(r.rule_count) if r.monitor_type in (2, 3) else 0, description=r.description,
        create_user_name=r.create_user_uin, group_type="DEFAULT",
        catalog_name="DataLakeCatalog" if r.source_key == "lake" else None,
        pipeline_task_count=len(st.tasks or []) if st is not None else 0,
    )


def group_page(paged: Paged[Any]) -> M.QualityRuleGroupPage:
    return M.QualityRuleGroupPage(total_count=paged.total, items=[group(r) for r in paged.items])


def table(r: Any) -> M.QualityRuleGroupTableV2:
    return M.QualityRuleGroupTableV2(
        id=r.id, table_id=r.table_guid, table_name=r.table_name, schema_name=_schema(r), datasource_id=_ds_id(r),
        datasource_name=r.source_name, database_name=r.database_name, datasource_type=_dstype(r.source_type),
        rule_group_count=int(r.group_count), rule_count=int(r.rule_count),
        enable_rule_group_count=int(r.enabled_group_count), create_time=fmt_time(r.created_at),
        update_time=fmt_time(r.updated_at), catalog_name="DataLakeCatalog" if r.source_key == "lake" else None,
    )


def table_page(paged: Paged[Any]) -> M.QualityRuleGroupsTableVO:
    return M.QualityRuleGroupsTableVO(total_count=paged.total, items=[table(r) for r in paged.items])


def _millis(dt: Any) -> int | None:
    return timegm(dt.timetuple()) * 1000 + dt.microsecond // 1000 if dt is not None else None


def rule_exec(r: Any, g: Any) -> M.QualityRuleExecResult:
    items = r.compare or []
    template = BY_ID.get(r.template_id) if r.template_id is not None else None
    result = M.CompareQualityResult(
        items=[msgspec.convert(i, M.CompareQualityResultItem) for i in items], total_rows=1,
        pass_rows=1 if r.status == 1 else 0, trigger_rows=1 if r.status == 2 else 0,
    ) if items else None
    return M.QualityRuleExecResult(
        rule_exec_id=r.id, rule_group_exec_id=r.group_exec_id, rule_group_id=g.group_id, rule_id=r.rule_id,
        rule_name=r.rule_name, rule_type=r.rule_type, source_object_data_type_name=r.object_type_name,
        source_object_value=r.object_value, condition_expression=r.condition_expression,
        exec_result_status=r.status, trigger_result=r.value if r.error is None else f"{r.error}",
        compare_result=result, template_name=template.name if template else None, quality_dim=r.quality_dim,
        start_time=_millis(r.started_at), finish_time=fmt_time(r.finished_at), alarm_level=r.alarm_level,
        trigger_condition=r.sql, rule_group_name=g.group_name, datasource_id=_ds_id(g), datasource_name=g.source_name,
        database_name=g.database_name, schema_name=_schema(g), table_name=g.table_name,
        rule_group_exist=1 if g.group_exists else 0, datasource_type=_dstype(g.source_type), rule_group_table_id=g.table_id,
        monitor_type=g.trigger_type if g.trigger_type in (2, 3) else 1, group_type="DEFAULT",
        aspect_task_id=g.task_id, rule_exec_status=3 if r.status == 3 else 2,
    )


def _detail(g: Any) -> str:
    """ExecDetail: "the schedule plan or the production task" (api.json), with the data time."""
    what = f"task {g.task_id}, " if g.task_id else "own cycle, " if g.trigger_type == 3 else ""
    return f"{what}data time {g.data_time:%Y-%m-%d %H:%M:%S}"


def exec_page(page: ExecPage) -> M.ListQualityRuleGroupExecResultPage:
    items = []
    for g in page.paged.items:
        items.append(M.ListQualityRuleGroupExecResult(
            rule_group_exec_id=g.id, rule_group_id=g.group_id, trigger_type=g.trigger_type,
            exec_time=fmt_time(g.started_at), status=g.status, alarm_rule_count=g.alarm_rules,
            total_rule_count=g.total_rules, table_name=g.table_name, table_id=g.table_guid, datasource_id=_ds_id(g),
            permission=True, engine_type={1: "MYSQL", 3: "DLC", 5: "TCHouse-P"}.get(_dstype(g.source_type) or 0),
            rule_exec_result_vo_list=[rule_exec(r, g) for r in page.rules.get(g.id, [])],
            database_name=g.database_name, rule_group_table_id=g.table_id, instance_id=str(g.instance_id)
            if g.instance_id is not None else None, project_id=g.project_id, start_time=_millis(g.started_at),
            finish_time=fmt_time(g.finished_at), rule_group_name=g.group_name, rule_group_exist=1 if g.group_exists
            else 0, fail_msg=g.fail_msg, exec_detail=_detail(g),
            instance_status="COMPLETED" if g.status in (3, 4, 6) else "RUNNING",
        ))
    return M.ListQualityRuleGroupExecResultPage(total_count=page.paged.total, items=items)


def template(t: Template, citations: int) -> M.QualityRuleTemplate:
    return M.QualityRuleTemplate(
        rule_template_id=t.id, name=t.name, description=t.description, type=1, source_object_type=t.level,
        source_object_data_type=1 if t.numeric_column else 2 if t.level == 3 else None,
        source_engine_types=[1, 16, 64], quality_dim=t.dim, compare_type=t.compare_types[0],
        citation_count=citations, user_id=0, user_name="system", where_flag=True, multi_source_flag=False,
        sql_expression=t.expression, sub_quality_dim=0, datasource_types=[1, 3, 5], user_id_str="0",
    )


def template_page(paged: Paged[tuple[Template, int]]) -> M.QualityRuleTemplatePage:
    return M.QualityRuleTemplatePage(total_count=paged.total, items=[template(t, n) for t, n in paged.items])
