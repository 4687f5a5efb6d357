"""Validation of rule definitions (QualityRuleInfo, ModifyQualityRule) and of monitoring-task
strategies (QualityRuleGroupExecStrategy). Everything is checked before anything is written;
errors name the field (``RuleBOList[1].SourceObjectValue``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wedata.scheduling.parameters import ParameterError, RenderContext, render
from wedata.scheduling.timezones import DEFAULT_ZONE
from wedata.services.errors import InvalidValue
from wedata.services.quality import compare
from wedata.services.quality.scan import BadSql, condition, custom_select
from wedata.services.quality.targets import ENGINE_BIT, TableRef
from wedata.services.quality.templates import (
    BY_ID,
    COLUMN_LEVEL,
    CUSTOM_SQL_COMPARE,
    ENUM,
    REGEX_RATIO,
    is_numeric_type,
)

SYSTEM, CUSTOM_TEMPLATE, CUSTOM_SQL = 1, 2, 3
WHOLE_TABLE, WHERE = 1, 2
ENGINE_BITS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
MAX_NAME = 256
MAX_TEXT = 2000
MAX_SQL = 64 * 1024
SAMPLE_TIME = datetime(2025, 1, 1)
REGEX_KEY = "regex"


@dataclass(frozen=True, slots=True)
class RuleFields:
    """What a rule request says, whichever of the two request shapes it came in."""

    name: str | None
    type: int | str | None
    template_id: int | None
    quality_dim: int | None
    object_type_name: str | None
    object_value: str | None
    condition_type: int | None
    condition_expression: str | None
    custom_sql: str | None
    compare_rule: Any
    alarm_level: int | None
    description: str | None
    engine_types: list[int] | None
    field_config: Any


def text(value: str | None, field: str, limit: int = MAX_NAME, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidValue(f"{field} must not be empty")
    if len(value) > limit:
        raise InvalidValue(f"{field} is at most {limit} characters, got {len(value)}")
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise InvalidValue(f"{field} must not contain control characters")
    return value


def render_sample(text_: str, field: str) -> str:
    """Render ``${...}`` against a sample data time (every time expression is valid; an unknown
    name is refused here rather than at the first check)."""
    try:
        return render(text_, RenderContext(data_time=SAMPLE_TIME, zone=DEFAULT_ZONE))
    except ParameterError as exc:
        raise InvalidValue(f"{field}: {exc}") from None


def render_at(text_: str, data_time: datetime) -> str:
    return render(text_, RenderContext(data_time=data_time, zone=DEFAULT_ZONE))


def _decode_sql(value: str, field: str) -> str:
    raw = value.strip()
    try:
        decoded = base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidValue(f"{field} must be Base64-encoded SQL (api.json: 自定义SQL（Base64编码）)") from None
    if not decoded.strip():
        raise InvalidValue(f"{field} must not be empty")
    if len(decoded) > MAX_SQL:
        raise InvalidValue(f"{field} is at most {MAX_SQL} characters of SQL")
    return decoded


def _regex(fields: RuleFields, field: str) -> str:
    cfg = fields.field_config
    for i, item in enumerate(getattr(cfg, "where_config", None) or []):
        if (item.field_key or "").strip().lower() == REGEX_KEY:
            value = item.field_value or ""
            if not value:
                raise InvalidValue(f"{field}.FieldConfig.WhereConfig[{i}].FieldValue must be the regular expression")
            return value
    raise InvalidValue(f"{field}.FieldConfig: the regex template needs WhereConfig [{{FieldKey: \"regex\", "
                       "FieldValue: <pattern>}]")


def rule_values(fields: RuleFields, table: TableRef, field: str) -> dict[str, Any]:
    """The stored columns of a rule on ``table`` (quality_rules), or InvalidValue naming the field."""
    p = f"{field}." if field else ""
    name = text(fields.name, f"{p}Name")
    rtype = fields.type
    try:
        kind = int(str(rtype).strip())
    except (TypeError, ValueError):
        raise InvalidValue(f"{p}Type must be 1 (system template), 2 (custom template) or 3 (custom SQL), got "
                           f"{str(rtype)[:20]!r}") from None
    if kind == CUSTOM_TEMPLATE:
        raise InvalidValue(f"{p}Type 2 needs a custom template, and this server has only system templates "
                           f"(RuleTemplateId 1..{max(BY_ID)}); use Type 1 or 3 (custom SQL)")
    if kind not in (SYSTEM, CUSTOM_SQL):
        raise InvalidValue(f"{p}Type must be 1 (system template), 2 (custom template) or 3 (custom SQL), got {kind}")
    if fields.alarm_level not in (1, 2, 3):
        raise InvalidValue(f"{p}AlarmLevel must be 1 (low), 2 (medium) or 3 (high), got {fields.alarm_level}")
    engines = list(fields.engine_types or [])
    bad = [e for e in engines if e not in ENGINE_BITS]
    if bad:
        raise InvalidValue(f"{p}SourceEngineTypes: {bad[0]} is not an engine (1, 2, 4, ... 1024)")
    if engines and ENGINE_BIT[table.dialect] not in engines:
        raise InvalidValue(f"{p}SourceEngineTypes {engines} do not include the engine the table {table.display} is "
                           f"checked on ({ENGINE_BIT[table.dialect]})")
    dim = fields.quality_dim
    if dim is not None and dim not in range(1, 7):
        raise InvalidValue(f"{p}QualityDim must be 1 to 6, got {dim}")
    out: dict[str, Any] = {
        "name": name, "rule_type": kind, "alarm_level": fields.alarm_level,
        "description": text(fields.description, f"{p}Description", MAX_TEXT, required=False),
        "engine_types": engines or [ENGINE_BIT[table.dialect]], "field_config": None, "custom_sql": None,
        "template_id": None, "object_type_name": None, "object_value": None, "condition_type": WHOLE_TABLE,
        "condition_expression": None,
    }
    if kind == CUSTOM_SQL:
        if dim is None:
            raise InvalidValue(f"{p}QualityDim is required for custom SQL (Type 3)")
        if not fields.custom_sql:
            raise InvalidValue(f"{p}CustomSql is required for custom SQL (Type 3)")
        sql = _decode_sql(fields.custom_sql, f"{p}CustomSql")
        try:
            custom_select(render_sample(sql, f"{p}CustomSql"), table.dialect)
        except BadSql as exc:
            raise InvalidValue(f"{p}CustomSql {exc}") from None
        out.update(custom_sql=sql, quality_dim=dim, object_value=table.table, object_type_name="table",
                   compare_rule=compare.validate(fields.compare_rule, CUSTOM_SQL_COMPARE, f"{p}CompareRule"))
        return out
    tid = fields.template_id
    template = BY_ID.get(tid) if tid is not None else None
    if template is None:
        raise InvalidValue(f"{p}RuleTemplateId must be one of the system templates 1..{max(BY_ID)} "
                           f"(ListQualityRuleTemplates), got {tid}")
    out.update(template_id=template.id, quality_dim=dim or template.dim)
    if template.level == COLUMN_LEVEL:
        column, ctype = table.column(fields.object_value, f"{p}SourceObjectValue")
        if template.numeric_column and not is_numeric_type(ctype):
            raise InvalidValue(f"{p}SourceObjectValue: the template {template.id} ({template.name}) needs a numeric "
                               f"column; {column} is {ctype}")
        out.update(object_value=column, object_type_name=ctype)
    else:
        given = (fields.object_value or table.table).strip()
        if given.lower() != table.table.lower():
            raise InvalidValue(f"{p}SourceObjectValue: the template {template.id} is table-level; it names the table "
                               f"{table.table}, not {given[:100]!r}")
        out.update(object_value=table.table, object_type_name="table")
    ctype_ = fields.condition_type if fields.condition_type is not None else WHOLE_TABLE
    if ctype_ not in (WHOLE_TABLE, WHERE):
        raise InvalidValue(f"{p}ConditionType must be 1 (whole table) or 2 (WHERE condition), got {ctype_}")
    if template.needs_condition and ctype_ != WHERE:
        raise InvalidValue(f"{p}ConditionType must be 2 for a fluctuation template: the scope of one data time "
                           "is compared with the stored values of earlier ones")
    if ctype_ == WHERE:
        expr = text(fields.condition_expression, f"{p}ConditionExpression", MAX_TEXT)
        try:
            condition(render_sample(expr, f"{p}ConditionExpression"), table.dialect)
        except BadSql as exc:
            raise InvalidValue(f"{p}ConditionExpression {exc}") from None
        out.update(condition_type=WHERE, condition_expression=expr)
    if template.id == REGEX_RATIO:
        out["field_config"] = {"WhereConfig": [{"FieldKey": REGEX_KEY, "FieldValue": _regex(fields, p.rstrip("."))}]}
    out["compare_rule"] = compare.validate(fields.compare_rule, template.compare_types, f"{p}CompareRule")
    return out


def enum_members(compare_rule: dict[str, Any]) -> tuple[str, ...]:
    return tuple(v["Value"] for item in compare_rule["Items"] if item["CompareType"] == ENUM
                 for v in item["ValueList"])


def regex_of(field_config: dict[str, Any] | None) -> str | None:
    for item in (field_config or {}).get("WhereConfig") or []:
        if item.get("FieldKey") == REGEX_KEY:
            return str(item.get("FieldValue"))
    return None
