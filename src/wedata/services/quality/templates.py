"""The system rule templates (ListQualityRuleTemplates) and what each measures.

A template measures one number over the rule's scope (the whole table, or the rows of its WHERE
condition) from a few aggregates (``Agg``); rules of one group that share a scope share one
SELECT (scan.py). Values are computed from the aggregates in Python with ``Decimal``, so ratios
and comparisons are exact. Ratios are percentages (0..100), as WeData's ratio templates.

Ids are ours (WeData's template ids are not in the API); they never change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# QualityDim
ACCURACY, UNIQUENESS, COMPLETENESS, CONSISTENCY, TIMELINESS, VALIDITY = 1, 2, 3, 4, 5, 6
# SourceObjectType of a template: 2 table level, 3 column level
TABLE_LEVEL, COLUMN_LEVEL = 2, 3
# CompareType
FIXED, FLUCTUATION, RANGE, ENUM, NO_COMPARE = 1, 2, 3, 4, 5

ROW_COUNT, NULL_COUNT, NULL_RATIO, DISTINCT_COUNT, DUPLICATE_COUNT = 1, 2, 3, 4, 5
MIN_VALUE, MAX_VALUE, AVG_VALUE, SUM_VALUE = 6, 7, 8, 9
OUTSIDE_ENUM, REGEX_RATIO = 10, 11
ROWS_DAY_OVER_DAY, ROWS_WEEK_OVER_WEEK, ROWS_VS_7_DAY_AVERAGE = 12, 13, 14

# The engines a template supports (SourceEngineTypes bits): MYSQL 1, DLC 16, TCHouse-P 64.
ENGINES = (1, 16, 64)
DAY = 86400

_NUMERIC = re.compile(r"(?i)\b(tinyint|smallint|mediumint|int|integer|bigint|decimal|numeric|float|double|real|"
                      r"number|money|hugeint|ubigint|uinteger|usmallint|utinyint|int[248]|float[48]|serial)\b")


def is_numeric_type(type_name: str | None) -> bool:
    return bool(type_name) and _NUMERIC.search(type_name or "") is not None


@dataclass(frozen=True, slots=True)
class Agg:
    """One aggregate of a scan: ``kind`` over ``column`` with ``arg`` (enum members, a regex)."""

    kind: str  # count | nonnull | distinct | min | max | avg | sum | outside | matches
    column: str | None = None
    arg: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Template:
    id: int
    name: str
    description: str
    dim: int
    level: int
    compare_types: tuple[int, ...]
    expression: str  # shown as SqlExpression
    numeric_column: bool = False
    fluctuation_step: int | None = None  # seconds of data time between a value and its reference
    fluctuation_periods: int = 1  # how many references are averaged

    @property
    def needs_condition(self) -> bool:
        """Fluctuation templates compare a partition with earlier ones: a WHERE scope is required
        (api.json: "CompareType为2（波动值）... 检测范围必须为2条件扫描")."""
        return self.fluctuation_step is not None


_ANY = (FIXED, RANGE, NO_COMPARE)
TEMPLATES: tuple[Template, ...] = (
    Template(ROW_COUNT, "Table row count", "The number of rows in scope.", COMPLETENESS, TABLE_LEVEL, _ANY,
             "SELECT COUNT(*) FROM ${table} WHERE ${filter}"),
    Template(NULL_COUNT, "Column null count", "The number of rows in scope whose column is NULL.", COMPLETENESS,
             COLUMN_LEVEL, _ANY, "SELECT COUNT(*) - COUNT(${column}) FROM ${table} WHERE ${filter}"),
    Template(NULL_RATIO, "Column null ratio (%)", "Rows whose column is NULL, as a percentage of the rows in scope "
             "(0 when there are none).", COMPLETENESS, COLUMN_LEVEL, _ANY,
             "SELECT 100 * (COUNT(*) - COUNT(${column})) / COUNT(*) FROM ${table} WHERE ${filter}"),
    Template(DISTINCT_COUNT, "Column distinct count", "The number of distinct non-NULL values.", UNIQUENESS,
             COLUMN_LEVEL, _ANY, "SELECT COUNT(DISTINCT ${column}) FROM ${table} WHERE ${filter}"),
    Template(DUPLICATE_COUNT, "Column duplicate count", "Non-NULL values minus distinct values: how many rows "
             "repeat a value.", UNIQUENESS, COLUMN_LEVEL, _ANY,
             "SELECT COUNT(${column}) - COUNT(DISTINCT ${column}) FROM ${table} WHERE ${filter}"),
    Template(MIN_VALUE, "Column minimum", "The smallest value of a numeric column.", ACCURACY, COLUMN_LEVEL, _ANY,
             "SELECT MIN(${column}) FROM ${table} WHERE ${filter}", numeric_column=True),
    Template(MAX_VALUE, "Column maximum", "The largest value of a numeric column.", ACCURACY, COLUMN_LEVEL, _ANY,
             "SELECT MAX(${column}) FROM ${table} WHERE ${filter}", numeric_column=True),
    Template(AVG_VALUE, "Column average", "The average of a numeric column.", ACCURACY, COLUMN_LEVEL, _ANY,
             "SELECT AVG(${column}) FROM ${table} WHERE ${filter}", numeric_column=True),
    Template(SUM_VALUE, "Column sum", "The sum of a numeric column.", ACCURACY, COLUMN_LEVEL, _ANY,
             "SELECT SUM(${column}) FROM ${table} WHERE ${filter}", numeric_column=True),
    Template(OUTSIDE_ENUM, "Column values outside an enumeration", "Rows whose non-NULL value is not one of the "
             "enumeration (CompareType 4, the ValueList of ValueType 4); the rule triggers when there is any.",
             VALIDITY, COLUMN_LEVEL, (ENUM,),
             "SELECT SUM(CASE WHEN ${column} NOT IN (${enum}) THEN 1 ELSE 0 END) FROM ${table} WHERE ${filter}"),
    Template(REGEX_RATIO, "Column regex match ratio (%)", "Non-NULL values matching the regular expression given as "
             "FieldConfig.WhereConfig FieldKey \"regex\", as a percentage of the non-NULL values (100 when there "
             "are none).", VALIDITY, COLUMN_LEVEL, _ANY,
             "SELECT 100 * SUM(CASE WHEN ${column} REGEXP ${regex} THEN 1 ELSE 0 END) / COUNT(${column}) FROM ${table} "
             "WHERE ${filter}"),
    Template(ROWS_DAY_OVER_DAY, "Row count day-over-day change (%)", "The row count of the scope compared with the "
             "stored value of the same rule one day of data time earlier (CompareRule.CycleStep seconds).",
             ACCURACY, TABLE_LEVEL, (FLUCTUATION,), "SELECT COUNT(*) FROM ${table} WHERE ${filter}",
             fluctuation_step=DAY),
    Template(ROWS_WEEK_OVER_WEEK, "Row count week-over-week change (%)", "The row count of the scope compared with "
             "the stored value of the same rule seven days of data time earlier.", ACCURACY, TABLE_LEVEL,
             (FLUCTUATION,), "SELECT COUNT(*) FROM ${table} WHERE ${filter}", fluctuation_step=7 * DAY),
    Template(ROWS_VS_7_DAY_AVERAGE, "Row count vs the 7-day average (%)", "The row count of the scope compared with "
             "the average of the stored values of the same rule over the previous seven days of data time.",
             ACCURACY, TABLE_LEVEL, (FLUCTUATION,), "SELECT COUNT(*) FROM ${table} WHERE ${filter}",
             fluctuation_step=DAY, fluctuation_periods=7),
)
BY_ID: Mapping[int, Template] = {t.id: t for t in TEMPLATES}
CUSTOM_SQL_COMPARE = (FIXED, RANGE, NO_COMPARE)


def aggregates(template_id: int, column: str | None, enum: tuple[str, ...] = (), regex: str | None = None) -> list[Agg]:
    """The aggregates a template's value is computed from."""
    count, nonnull = Agg("count"), Agg("nonnull", column)
    return {
        ROW_COUNT: [count], NULL_COUNT: [count, nonnull], NULL_RATIO: [count, nonnull],
        DISTINCT_COUNT: [Agg("distinct", column)], DUPLICATE_COUNT: [nonnull, Agg("distinct", column)],
        MIN_VALUE: [Agg("min", column)], MAX_VALUE: [Agg("max", column)], AVG_VALUE: [Agg("avg", column)],
        SUM_VALUE: [Agg("sum", column)], OUTSIDE_ENUM: [Agg("outside", column, enum)],
        REGEX_RATIO: [nonnull, Agg("matches", column, (regex or "",))],
        ROWS_DAY_OVER_DAY: [count], ROWS_WEEK_OVER_WEEK: [count], ROWS_VS_7_DAY_AVERAGE: [count],
    }[template_id]


def number(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return Decimal(int(value))
    return Decimal(str(value))


def measure(template_id: int, got: Mapping[Agg, Any], column: str | None, enum: tuple[str, ...] = (),
            regex: str | None = None) -> Decimal | None:
    """The template's value from the aggregates a scan returned (None: NULL, e.g. MIN of nothing)."""
    a = aggregates(template_id, column, enum, regex)
    v = [number(got[x]) for x in a]
    zero = Decimal(0)
    if template_id in (NULL_COUNT, NULL_RATIO):
        total, nonnull = v[0] or zero, v[1] or zero
        nulls = total - nonnull
        if template_id == NULL_COUNT:
            return nulls
        return zero if total == 0 else nulls * 100 / total
    if template_id == DUPLICATE_COUNT:
        return (v[0] or zero) - (v[1] or zero)
    if template_id == REGEX_RATIO:
        nonnull, matching = v[0] or zero, v[1] or zero
        return Decimal(100) if nonnull == 0 else matching * 100 / nonnull
    if template_id == OUTSIDE_ENUM:
        return v[0] or zero
    return v[0]
