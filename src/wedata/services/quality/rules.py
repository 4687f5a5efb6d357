"""Rules: CreateQualityRule, ModifyQualityRule, DeleteQualityRule.

A rule checks one table (``DatasourceId`` + ``DatabaseName`` + ``TableName`` or ``TableId``, the
catalog GUID) and belongs to one monitoring task of that table: the ``RuleGroupId`` given, or
else the table's first group (created, MonitorType 1 "not configured", when there is none).
``CreateRuleScene`` 1 (one table, several rules) requires every rule to name the same table; 2
(several tables) and 3 (clone) take the rules as they come. A batch is all or nothing: every
rule is validated first, and an error names the rule (``RuleBOList[2].CompareRule...``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from wedata.principal import Caller
from wedata.services.errors import InvalidValue, NotFound
from wedata.services.quality.definitions import RuleFields, rule_values
from wedata.services.quality.groups import GroupService
from wedata.services.quality.targets import TableRef, Targets
from wedata.spec import models as M
from wedata.storage.catalog_tables import catalog_tables
from wedata.storage.db import Database
from wedata.storage.quality_tables import quality_rule_groups, quality_rules, quality_tables

QR, QG, QT, CT = quality_rules, quality_rule_groups, quality_tables, catalog_tables
MAX_RULES = 50


def _fields(r: M.QualityRuleInfo | M.ModifyQualityRuleRequest) -> RuleFields:
    return RuleFields(r.name, r.type, r.rule_template_id, r.quality_dim, r.source_object_data_type_name,
                      r.source_object_value, r.condition_type, r.condition_expression, r.custom_sql,
                      r.compare_rule, r.alarm_level, r.description, r.source_engine_types, r.field_config)


class RuleService:
    def __init__(self, db: Database, clock: Any, targets: Targets, groups: GroupService) -> None:
        self.db = db
        self.clock = clock
        self.targets = targets
        self.groups = groups

    def _table_of(self, caller: Caller, project_id: str, r: M.QualityRuleInfo, p: str) -> TableRef:
        name, database, schema = r.table_name, r.database_name, r.schema_name
        if r.table_id:
            with self.db.read() as conn:
                found = conn.execute(select(CT.c.database_name, CT.c.schema_name, CT.c.name)
                                     .where(CT.c.guid == r.table_id.strip())).first()
            if found is None:
                raise InvalidValue(f"{p}TableId: no table has the id {r.table_id[:40]!r}")
            if name and name != found.name:
                raise InvalidValue(f"{p}TableName {name!r} is not the table {r.table_id} ({found.name})")
            name, database, schema = found.name, found.database_name, found.schema_name or schema
        if not name:
            raise InvalidValue(f"{p}TableName or {p}TableId is required")
        ref = self.targets.table(project_id, caller.uin, r.datasource_id, database, schema, name, p)
        if r.table_id and r.table_id.strip() != ref.guid:
            raise InvalidValue(f"{p}TableId {r.table_id} is not a table of the data source {r.datasource_id}")
        return ref

    def _group_for(self, conn: Connection, caller: Caller, project_id: str, ref: TableRef, group_id: int | None,
                   field: str, now: Any) -> int:
        if group_id is None:
            return self.groups.default_group(conn, caller, project_id, ref, now)
        row = conn.execute(select(QG.c.id, QT.c.table_guid).join(QT, QT.c.id == QG.c.table_id)
                           .where(QG.c.id == group_id, QG.c.project_id == project_id)).first()
        if row is None:
            raise InvalidValue(f"{field}: the monitoring task {group_id} does not exist in the project")
        if row.table_guid != ref.guid:
            raise InvalidValue(f"{field}: the monitoring task {group_id} checks another table than {ref.display}")
        return int(row.id)

    def create(self, caller: Caller, req: M.CreateQualityRuleRequest) -> list[dict[str, Any]]:
        if req.create_rule_scene not in (1, 2, 3):
            raise InvalidValue(f"CreateRuleScene must be 1 (one table, several rules), 2 (several tables) or 3 "
                               f"(clone), got {req.create_rule_scene}")
        items = req.rule_bo_list or []
        if not 1 <= len(items) <= MAX_RULES:
            raise InvalidValue(f"RuleBOList must have 1 to {MAX_RULES} rules, got {len(items)}")
        checked: list[tuple[TableRef, dict[str, Any], M.QualityRuleInfo, str]] = []
        for i, r in enumerate(items):
            p = f"RuleBOList[{i}]."
            if r.project_id and r.project_id != req.project_id:
                raise InvalidValue(f"{p}ProjectId {r.project_id} is not the request's project {req.project_id}")
            ref = self._table_of(caller, req.project_id, r, p)
            checked.append((ref, rule_values(_fields(r), ref, f"RuleBOList[{i}]"), r, p))
        if req.create_rule_scene == 1 and len({c[0].guid for c in checked}) > 1:
            raise InvalidValue("RuleBOList: CreateRuleScene 1 (one table) needs every rule on the same table")
        now = self.clock.now()
        out: list[dict[str, Any]] = []
        with self.db.write() as conn:
            placed = [(ref, values, self._group_for(conn, caller, req.project_id, ref, r.rule_group_id,
                                                    f"{p}RuleGroupId", now))
                      for ref, values, r, p in checked]
            for _ref, values, gid in placed:
                rid = int(conn.execute(insert(QR).values(
                    project_id=req.project_id, group_id=gid, create_user_uin=caller.uin, created_at=now,
                    updated_at=now, **values).returning(QR.c.id)).scalar_one())
                table_id = conn.execute(select(QG.c.table_id).where(QG.c.id == gid)).scalar_one()
                out.append({"rule_id": rid, "name": values["name"], "group_id": gid, "table_id": int(table_id)})
        return out

    def _rule(self, conn: Connection, project_id: str, rule_id: int) -> Any:
        row = conn.execute(select(QR.c.id, QR.c.group_id, QT.c.table_guid, QT.c.datasource_id, QT.c.database_name,
                                  QT.c.schema_name, QT.c.table_name)
                           .join(QG, QG.c.id == QR.c.group_id).join(QT, QT.c.id == QG.c.table_id)
                           .where(QR.c.id == rule_id, QR.c.project_id == project_id)).first()
        if row is None:
            raise NotFound(f"RuleId: the rule {rule_id} does not exist in the project")
        return row

    def modify(self, caller: Caller, req: M.ModifyQualityRuleRequest) -> None:
        with self.db.read() as conn:
            row = self._rule(conn, req.project_id, req.rule_id)
        ref = self.targets.table(req.project_id, caller.uin, row.datasource_id, row.database_name,
                                 row.schema_name or None, row.table_name, "")
        if req.table_id and req.table_id.strip() != ref.guid:
            raise InvalidValue(f"TableId: the rule {req.rule_id} checks the table {ref.guid} ({ref.display}); a rule "
                               "cannot move to another table")
        values = rule_values(_fields(req), ref, "")
        now = self.clock.now()
        with self.db.write() as conn:
            gid = self._group_for(conn, caller, req.project_id, ref, req.rule_group_id or row.group_id,
                                  "RuleGroupId", now)
            conn.execute(update(QR).where(QR.c.id == row.id).values(group_id=gid, updated_at=now, **values))

    def delete(self, project_id: str, rule_id: int) -> None:
        with self.db.write() as conn:
            self._rule(conn, project_id, rule_id)
            conn.execute(delete(QR).where(QR.c.id == rule_id))
