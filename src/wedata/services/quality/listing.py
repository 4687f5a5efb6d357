"""The five quality lists: rules, groups, monitored tables, group executions, templates.

Each list is one page query plus one COUNT (the executions add one ``IN (...)`` query for the
rule results of the page). ``Filters`` (at most 10, at most 5 values each, api.json) are checked
by name: an unknown name is refused naming the ones this list supports; values of one filter
are OR-ed, filters AND-ed. ``OrderFields``: ``CreateTime`` or ``UpdateTime`` (default, newest
first), direction ``1``/``ASC`` or ``2``/``DESC``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, func, or_, select

from wedata.services.common import Page, Paged, like_pattern, page
from wedata.services.errors import InvalidValue
from wedata.services.quality.templates import TEMPLATES, Template
from wedata.spec import models as M
from wedata.storage.datasource_tables import data_sources
from wedata.storage.quality_tables import (
    quality_group_execs,
    quality_rule_execs,
    quality_rule_groups,
    quality_rules,
    quality_tables,
)

QR, QG, QT, GE, RE, DS = (quality_rules, quality_rule_groups, quality_tables, quality_group_execs, quality_rule_execs,
                          data_sources)
MAX_FILTERS, MAX_VALUES = 10, 5

Where = Callable[[list[str]], Any]


def _ints(values: list[str], name: str) -> list[int]:
    out = []
    for v in values:
        if not str(v).strip().lstrip("-").isdigit():
            raise InvalidValue(f"Filters {name}: {str(v)[:30]!r} is not an integer")
        out.append(int(v))
    return out


def filters(given: list[M.Filter] | None, known: dict[str, Where]) -> list[Any]:
    given = given or []
    if len(given) > MAX_FILTERS:
        raise InvalidValue(f"Filters has at most {MAX_FILTERS} filters, got {len(given)}")
    out = []
    for i, f in enumerate(given):
        name = (f.name or "").strip()
        if name not in known:
            raise InvalidValue(f"Filters[{i}].Name {name[:40]!r} is not a filter of this list (supported: "
                               f"{', '.join(sorted(known))})")
        values = [str(v) for v in f.values or []]
        if not values:
            raise InvalidValue(f"Filters[{i}].Values must not be empty")
        if len(values) > MAX_VALUES:
            raise InvalidValue(f"Filters[{i}].Values has at most {MAX_VALUES} values, got {len(values)}")
        out.append(known[name](values))
    return out


def ordering(fields: list[M.OrderField] | None, created: Any, updated: Any, tie: Any) -> list[Any]:
    cols = {"CreateTime": created, "UpdateTime": updated}
    out = []
    for i, f in enumerate(fields or []):
        if f.name not in cols:
            raise InvalidValue(f"OrderFields[{i}].Name must be CreateTime or UpdateTime, got {f.name[:40]!r}")
        d = (f.direction or "").strip().upper()
        if d not in ("1", "2", "ASC", "DESC"):
            raise InvalidValue(f"OrderFields[{i}].Direction must be 1 (ASC) or 2 (DESC), got {f.direction[:10]!r}")
        out.append(cols[f.name].asc() if d in ("1", "ASC") else cols[f.name].desc())
    return [*(out or [updated.desc()]), tie.desc()]


def _paged(conn: Connection, q: Select[Any], where: Sequence[Any], order: list[Any], pg: Page) -> Paged[Any]:
    total = conn.execute(select(func.count()).select_from(q.where(*where).subquery())).scalar_one()
    rows = list(conn.execute(q.where(*where).order_by(*order).limit(pg.size).offset(pg.offset)).all())
    return Paged(rows, pg, int(total))


def _like(col: Any) -> Where:
    return lambda vs: or_(*[func.lower(col).like(like_pattern(v), escape="\\") for v in vs])


def _in(col: Any, ints: bool = False, name: str = "") -> Where:
    return lambda vs: col.in_(_ints(vs, name) if ints else vs)


def _text_in(col: Any) -> Where:
    return lambda vs: col.in_([str(v) for v in vs])


_RULE_COUNT = select(func.count()).where(QR.c.group_id == QG.c.id).correlate(QG).scalar_subquery()
_TABLE_COLS = (QT.c.source_key, QT.c.datasource_id, QT.c.database_name, QT.c.schema_name, QT.c.table_name,
               QT.c.table_guid, DS.c.name.label("source_name"), DS.c.source_type)


def list_rules(conn: Connection, req: M.ListQualityRulesRequest) -> Paged[Any]:
    known: dict[str, Where] = {
        "RuleGroupId": _in(QR.c.group_id, True, "RuleGroupId"), "RuleGroupName": _text_in(QG.c.name),
        "RuleIds": _in(QR.c.id, True, "RuleIds"), "RuleName": _text_in(QR.c.name), "Keyword": _like(QR.c.name),
        "Type": _in(QR.c.rule_type, True, "Type"), "RuleTemplateId": _in(QR.c.template_id, True, "RuleTemplateId"),
        "SourceObjectValue": _text_in(QR.c.object_value), "TableId": _text_in(QT.c.table_guid),
        "TableName": _like(QT.c.table_name), "DatasourceId": _in(QT.c.datasource_id, True, "DatasourceId"),
        "DatabaseName": _text_in(QT.c.database_name), "SchemaName": _text_in(QT.c.schema_name),
        "MonitorType": _in(QG.c.monitor_type, True, "MonitorType"),
    }
    where = [QR.c.project_id == req.project_id, *filters(req.filters, known)]
    q = (select(QR, QG.c.name.label("group_name"), QG.c.monitor_type, QG.c.strategy, *_TABLE_COLS)
         .join(QG, QG.c.id == QR.c.group_id).join(QT, QT.c.id == QG.c.table_id)
         .outerjoin(DS, DS.c.id == QT.c.datasource_id))
    return _paged(conn, q, where, ordering(req.order_fields, QR.c.created_at, QR.c.updated_at, QR.c.id),
                  page(req.page_number, req.page_size))


def list_groups(conn: Connection, req: M.ListQualityRuleGroupsRequest) -> Paged[Any]:
    known: dict[str, Where] = {
        "RuleGroupId": _in(QG.c.id, True, "RuleGroupId"), "RuleGroupName": _text_in(QG.c.name),
        "TableId": _text_in(QT.c.table_guid), "TableName": _like(QT.c.table_name),
        "DatasourceId": _in(QT.c.datasource_id, True, "DatasourceId"), "DatabaseName": _text_in(QT.c.database_name),
        "SchemaName": _text_in(QT.c.schema_name), "MonitorType": _in(QG.c.monitor_type, True, "MonitorType"),
    }
    where = [QG.c.project_id == req.project_id, *filters(req.filters, known)]
    q = (select(QG, _RULE_COUNT.label("rule_count"), *_TABLE_COLS).join(QT, QT.c.id == QG.c.table_id)
         .outerjoin(DS, DS.c.id == QT.c.datasource_id))
    return _paged(conn, q, where, ordering(req.order_fields, QG.c.created_at, QG.c.updated_at, QG.c.id),
                  page(req.page_number, req.page_size))


def list_tables(conn: Connection, req: M.ListQualityRuleGroupsTableRequest) -> Paged[Any]:
    groups = select(func.count()).where(QG.c.table_id == QT.c.id).correlate(QT).scalar_subquery()
    attached = select(func.count()).where(QG.c.table_id == QT.c.id, QG.c.monitor_type.in_((2, 3))).correlate(QT) \
        .scalar_subquery()
    rules = select(func.count()).select_from(QR.join(QG, QG.c.id == QR.c.group_id)) \
        .where(QG.c.table_id == QT.c.id).correlate(QT).scalar_subquery()
    in_group = select(QG.c.table_id)
    known: dict[str, Where] = {
        "RuleGroupId": lambda vs: QT.c.id.in_(in_group.where(QG.c.id.in_(_ints(vs, "RuleGroupId")))),
        "RuleGroupName": lambda vs: QT.c.id.in_(in_group.where(QG.c.name.in_(vs))),
        "TableName": _like(QT.c.table_name), "DatasourceId": _in(QT.c.datasource_id, True, "DatasourceId"),
        "DatabaseName": _text_in(QT.c.database_name), "SchemaName": _text_in(QT.c.schema_name),
    }
    where = [QT.c.project_id == req.project_id, *filters(req.filters, known)]
    q = (select(QT.c.id, QT.c.created_at, QT.c.updated_at, groups.label("group_count"),
                attached.label("enabled_group_count"), rules.label("rule_count"), *_TABLE_COLS)
         .outerjoin(DS, DS.c.id == QT.c.datasource_id))
    return _paged(conn, q, where, ordering(req.order_fields, QT.c.created_at, QT.c.updated_at, QT.c.id),
                  page(req.page_number, req.page_size))


@dataclass(frozen=True, slots=True)
class ExecPage:
    paged: Paged[Any]
    rules: dict[int, list[Any]]  # group exec id -> its rule results


def list_execs(conn: Connection, req: M.ListQualityRuleGroupExecResultsByPageRequest) -> ExecPage:
    known: dict[str, Where] = {
        "RuleGroupExecId": _in(GE.c.id, True, "RuleGroupExecId"), "RuleGroupId": _in(GE.c.group_id, True, "RuleGroupId"),
        "RuleGroupName": _text_in(GE.c.group_name), "RuleGroupTableId": _in(GE.c.table_id, True, "RuleGroupTableId"),
        "TableName": _like(QT.c.table_name), "DatasourceId": _in(QT.c.datasource_id, True, "DatasourceId"),
        "DatabaseName": _text_in(QT.c.database_name), "SchemaName": _text_in(QT.c.schema_name),
        "Status": _in(GE.c.status, True, "Status"), "TriggerType": _in(GE.c.trigger_type, True, "TriggerType"),
        "TaskId": _text_in(GE.c.task_id),
    }
    where = [GE.c.project_id == req.project_id, *filters(req.filters, known)]
    exists = select(func.count()).where(QG.c.id == GE.c.group_id).correlate(GE).scalar_subquery()
    q = (select(GE, exists.label("group_exists"), *_TABLE_COLS).join(QT, QT.c.id == GE.c.table_id)
         .outerjoin(DS, DS.c.id == QT.c.datasource_id))
    paged = _paged(conn, q, where, ordering(req.order_fields, GE.c.started_at, GE.c.started_at, GE.c.id),
                   page(req.page_number, req.page_size))
    ids = [r.id for r in paged.items]
    rules: dict[int, list[Any]] = {i: [] for i in ids}
    if ids:
        for r in conn.execute(select(RE, QR.c.rule_type, QR.c.template_id, QR.c.quality_dim, QR.c.object_value,
                                     QR.c.object_type_name, QR.c.condition_expression, QR.c.alarm_level)
                              .outerjoin(QR, QR.c.id == RE.c.rule_id)
                              .where(RE.c.group_exec_id.in_(ids)).order_by(RE.c.id)):
            rules[r.group_exec_id].append(r)
    return ExecPage(paged, rules)


def list_templates(conn: Connection, req: M.ListQualityRuleTemplatesRequest) -> Paged[tuple[Template, int]]:
    pg = page(req.page_number, req.page_size)
    chosen: list[Template] = list(TEMPLATES)
    tests: dict[str, Callable[[Template, list[str]], bool]] = {
        "Id": lambda t, vs: str(t.id) in vs, "Keyword": lambda t, vs: any(v.lower() in t.name.lower() for v in vs),
        "Type": lambda t, vs: "1" in vs, "QualityDim": lambda t, vs: str(t.dim) in vs,
        "SourceObjectType": lambda t, vs: str(t.level) in vs,
        "SourceEngineTypes": lambda t, vs: any(v in ("1", "16", "64") for v in vs),
    }
    given = req.filters or []
    filters(given, {k: (lambda vs: vs) for k in tests})  # the same checks as the other lists
    for f in given:
        chosen = [t for t in chosen if tests[f.name or ""](t, [str(v) for v in f.values or []])]
    counts: dict[int, int] = dict(conn.execute(select(QR.c.template_id, func.count()).where(QR.c.project_id == req.project_id,
                                                                            QR.c.template_id.is_not(None))
                               .group_by(QR.c.template_id)).all())
    pairs = [(t, int(counts.get(t.id, 0))) for t in chosen]
    for i, o in enumerate(req.order_fields or []):
        if o.name not in ("CitationCount", "UpdateTime"):
            raise InvalidValue(f"OrderFields[{i}].Name must be CitationCount or UpdateTime, got {o.name[:40]!r}")
        if o.name == "CitationCount":
            pairs.sort(key=lambda p: p[1], reverse=(o.direction or "").strip().upper() in ("2", "DESC"))
    return Paged(pairs[pg.offset: pg.offset + pg.size], pg, len(pairs))
