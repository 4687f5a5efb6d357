"""Running one monitoring task for one data time: the scans, the verdicts, the stored results.

1. The group's rules are planned: each template rule becomes aggregates over its scope (the
   whole table, or its WHERE condition with ``${...}`` rendered for the data time); rules with
   the same scope share ONE SELECT (scan.py). Custom SQL runs as written (one column, one row).
2. Each SELECT runs on the table's source through the SQL executor (``executors/sql/runner.py``,
   the pools of the data sources, the lake file), read-only work in one session per SELECT.
3. Each rule's value is computed exactly (templates.py) and its CompareRule evaluated
   (compare.py): 1 pass, 2 triggered, 3 failed to run (the SQL failed, returned no row or
   several columns, a NULL where a number is needed, a condition that cannot be rendered).
   Fluctuation rules compare with the stored values of the same rule at earlier data times
   (one query for the group).
4. One transaction stores the group execution and a row per rule (value, verdict, the SQL that
   ran, the error).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from wedata.executors.sql.contract import ResultLimits
from wedata.executors.sql.runner import run_sql
from wedata.scheduling.parameters import ParameterError
from wedata.services.quality import compare
from wedata.services.quality.definitions import CUSTOM_SQL, WHERE, enum_members, regex_of, render_at
from wedata.services.quality.scan import BadSql, build_scan, condition, custom_select, table_sql
from wedata.services.quality.targets import TableRef, Targets, dialect_of
from wedata.services.quality.templates import BY_ID, aggregates, is_numeric_type, measure, number
from wedata.storage.datasource_tables import data_sources
from wedata.storage.db import Database
from wedata.storage.quality_tables import (
    quality_group_execs,
    quality_rule_execs,
    quality_rule_groups,
    quality_rules,
    quality_tables,
)

log = logging.getLogger("wedata.quality")
QG, QR, QT, GE, RE = quality_rule_groups, quality_rules, quality_tables, quality_group_execs, quality_rule_execs
PASS, TRIGGERED, FAILED = 1, 2, 3
NORMAL, ABNORMAL, RUN_FAILED = 3, 4, 6
LIMITS = ResultLimits(max_rows=2, max_bytes=1024 * 1024)


@dataclass
class RuleOutcome:
    rule: Any
    status: int = FAILED
    value: Decimal | None = None
    raw: Any = None
    sql: str | None = None
    error: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GroupRun:
    exec_id: int
    group_id: int
    group_name: str
    project_id: str
    status: int
    outcomes: list[RuleOutcome]

    @property
    def bad(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.status != PASS]

    def summary(self) -> str:
        parts = []
        for o in self.bad:
            what = "failed to run: " + (o.error or "") if o.status == FAILED else \
                f"triggered (value {o.items[0]['ResultValue'] if o.items else o.value})"
            parts.append(f"rule {o.rule.name!r} {what}")
        return f"monitoring task {self.group_name!r} (execution {self.exec_id}): " + "; ".join(parts)


class Executor:
    def __init__(self, db: Database, clock: Any, targets: Targets) -> None:
        self.db = db
        self.clock = clock
        self.targets = targets

    def _ref(self, conn: Any, table: Any) -> TableRef:
        source = conn.execute(select(data_sources.c.id, data_sources.c.name, data_sources.c.source_type)
                              .where(data_sources.c.id == table.datasource_id)).first()
        if source is None:
            raise BadSql(f"the data source {table.datasource_id} no longer exists")
        dialect = dialect_of(source.source_type)
        if dialect is None:
            raise BadSql(f"the data source {source.id} is of type {source.source_type}, which cannot be checked")
        return TableRef(table.source_key, int(source.id), source.source_type, source.name, dialect,
                        table.database_name, table.schema_name or "", table.table_name, table.table_guid, {})

    def run_group(self, group_id: int, data_time: datetime, *, trigger_type: int, task_id: str | None = None,
                  instance_id: int | None = None, life_round: int | None = None) -> GroupRun | None:
        started = self.clock.now()
        with self.db.read() as conn:
            group = conn.execute(select(QG).where(QG.c.id == group_id)).first()
            if group is None:
                return None
            table = conn.execute(select(QT).where(QT.c.id == group.table_id)).first()
            rules = conn.execute(select(QR).where(QR.c.group_id == group_id).order_by(QR.c.id)).all()
            try:
                ref: TableRef | None = self._ref(conn, table)
                problem = None
            except BadSql as exc:
                ref, problem = None, str(exc)
        outcomes = [RuleOutcome(r) for r in rules]
        if ref is None:
            for o in outcomes:
                o.error = problem
        else:
            self._measure(ref, outcomes, data_time)
            self._judge(outcomes, data_time)
        status = RUN_FAILED if any(o.status == FAILED for o in outcomes) else \
            ABNORMAL if any(o.status == TRIGGERED for o in outcomes) else NORMAL
        finished = self.clock.now()
        with self.db.write() as conn:
            exec_id = int(conn.execute(insert(GE).values(
                project_id=group.project_id, group_id=group.id, group_name=group.name, table_id=group.table_id,
                trigger_type=trigger_type, task_id=task_id, instance_id=instance_id, data_time=data_time,
                life_round_num=life_round, status=status, total_rules=len(outcomes),
                alarm_rules=sum(1 for o in outcomes if o.status != PASS),
                fail_msg=problem, started_at=started, finished_at=finished).returning(GE.c.id)).scalar_one())
            if outcomes:
                conn.execute(insert(RE), [{
                    "group_exec_id": exec_id, "rule_id": o.rule.id, "rule_name": o.rule.name, "data_time": data_time,
                    "status": o.status, "value": None if o.raw is None else str(o.raw)[:4000],
                    "numeric": float(o.value) if o.value is not None and o.value.is_finite() else None,
                    "compare": o.items or None, "sql": o.sql, "error": (o.error or None) and o.error[:4000],
                    "started_at": started, "finished_at": finished} for o in outcomes])
        return GroupRun(exec_id, group.id, group.name, group.project_id, status, outcomes)

    # -- measuring ---------------------------------------------------------------------------------

    def _measure(self, ref: TableRef, outcomes: list[RuleOutcome], data_time: datetime) -> None:
        dialect = ref.dialect
        table = table_sql(dialect, ref.database, ref.schema, ref.table)
        scopes: dict[str | None, list[RuleOutcome]] = defaultdict(list)
        numeric: set[str] = set()
        target = None
        for o in outcomes:
            r = o.rule
            try:
                if r.rule_type == CUSTOM_SQL:
                    o.sql = custom_select(render_at(r.custom_sql, data_time), dialect)
                    continue
                where = condition(render_at(r.condition_expression, data_time), dialect) \
                    if r.condition_type == WHERE else None
            except (BadSql, ParameterError) as exc:
                o.error = f"the {'custom SQL' if r.rule_type == CUSTOM_SQL else 'condition'} {exc}"
                continue
            if r.object_value and is_numeric_type(r.object_type_name):
                numeric.add(r.object_value)
            scopes[where].append(o)
        try:
            target = self.targets.sql_target(ref)
        except Exception as exc:  # the source cannot be reached: every rule failed to run
            for o in outcomes:
                o.error = o.error or f"cannot connect to {ref.display}: {exc}"
            return
        for where, group in scopes.items():
            aggs = [a for o in group for a in self._aggs(o.rule)]
            scan = build_scan(dialect, table, aggs, where, frozenset(numeric))
            row, error = self._one_row(target, scan.sql, dialect, len(scan.aggs))
            for o in group:
                o.sql = scan.sql
                if error is not None:
                    o.error = error
                    continue
                assert row is not None
                got = dict(zip(scan.aggs, row, strict=True))
                rule = o.rule
                o.value = measure(rule.template_id, got, rule.object_value, enum_members(rule.compare_rule),
                                  regex_of(rule.field_config))
                o.raw = compare.text(o.value) if o.value is not None else None
        for o in outcomes:
            if o.rule.rule_type == CUSTOM_SQL and o.sql is not None and o.error is None:
                row, error = self._one_row(target, o.sql, dialect, 1)
                if error is not None:
                    o.error = error
                    continue
                assert row is not None
                o.raw = row[0]
                try:
                    o.value = number(row[0])
                except ArithmeticError:
                    o.error = f"the custom SQL returned {str(row[0])[:100]!r}, not a number"

    @staticmethod
    def _aggs(rule: Any) -> list[Any]:
        return aggregates(rule.template_id, rule.object_value, enum_members(rule.compare_rule),
                          regex_of(rule.field_config))

    @staticmethod
    def _one_row(target: Any, sql: str, dialect: str, width: int) -> tuple[tuple[Any, ...] | None, str | None]:
        outcome = run_sql(target, sql, limits=LIMITS, dialect=dialect)
        if outcome.status != "SUCCESS":
            return None, outcome.error or "the SQL failed"
        result = outcome.last_result
        if result is None or not result.rows:
            return None, "the SQL returned no row"
        if len(result.rows) > 1:
            return None, "the SQL returned several rows (one is the measured value)"
        if len(result.columns) != width:
            return None, f"the SQL returned {len(result.columns)} columns, expected {width}"
        return tuple(result.rows[0]), None

    # -- judging ------------------------------------------------------------------------------------

    def _judge(self, outcomes: list[RuleOutcome], data_time: datetime) -> None:
        history = self._history([o.rule for o in outcomes if o.error is None and self._step(o.rule)], data_time)
        for o in outcomes:
            if o.error is not None:
                o.status = FAILED
                continue
            if o.value is None:
                o.status, o.error = FAILED, "the measured value is NULL (no value in scope)"
                continue
            reference = None
            step = self._step(o.rule)
            if step is not None:
                seconds, periods = step
                refs = [history[(o.rule.id, data_time - timedelta(seconds=seconds * k))]
                        for k in range(1, periods + 1) if (o.rule.id, data_time - timedelta(seconds=seconds * k)) in history]
                reference = sum(refs, Decimal(0)) / len(refs) if refs else None
            verdict = compare.evaluate(o.rule.compare_rule, o.value, reference)
            o.items = verdict.items
            o.status = TRIGGERED if verdict.triggered else PASS

    @staticmethod
    def _step(rule: Any) -> tuple[int, int] | None:
        template = BY_ID.get(rule.template_id) if rule.template_id is not None else None
        if template is None or template.fluctuation_step is None:
            return None
        seconds = (rule.compare_rule or {}).get("CycleStep") or template.fluctuation_step
        return int(seconds), template.fluctuation_periods

    def _history(self, rules: list[Any], data_time: datetime) -> dict[tuple[int, datetime], Decimal]:
        """The latest measured value of each fluctuation rule at each earlier data time it
        compares with (one query)."""
        if not rules:
            return {}
        times = {data_time - timedelta(seconds=s * k) for r in rules if (st := self._step(r))
                 for s, n in [st] for k in range(1, n + 1)}
        out: dict[tuple[int, datetime], Decimal] = {}
        with self.db.read() as conn:
            rows = conn.execute(select(RE.c.rule_id, RE.c.data_time, RE.c.value)
                                .where(RE.c.rule_id.in_([r.id for r in rules]), RE.c.data_time.in_(sorted(times)),
                                       RE.c.status.in_((PASS, TRIGGERED)), RE.c.value.is_not(None))
                                .order_by(RE.c.id)).all()
        for rule_id, dt, value in rows:
            out[(rule_id, dt)] = Decimal(value)  # later rows (reruns) win
        return out
