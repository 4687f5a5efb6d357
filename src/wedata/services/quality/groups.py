"""Monitoring tasks (rule groups): CreateQualityRuleGroup, ModifyQualityRuleGroup,
DeleteQualityRuleGroup, and the monitored tables they hang off.

A group monitors one table. MonitorType 2 attaches it to production tasks: for each task and
each trigger type (CYCLE -> RunTypes PERIODIC and APERIODIC, MAKE_UP -> ADDITION, RERUN ->
RERUN; default all three) one ``quality_task_gates`` row tells the engine to request a check
after every successful attempt, and with ``ExecFailBlock`` 1 to hold the downstream instances
until it passes (holds.py). MonitorType 3 runs the group on its own cycle instead (cycle.py: a
``quality_schedules`` row holds its next fire). Changing or deleting a group rewrites its gates in the same
transaction and releases holds that nothing blocks any more.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, delete, func, insert, select, update

from wedata.principal import Caller
from wedata.scheduler.api import Change, SchedulerApi
from wedata.scheduling.cycles import Schedule
from wedata.services.common import zone_of
from wedata.services.errors import Duplicate, InvalidValue, NotFound
from wedata.services.quality import cycle, holds
from wedata.services.quality.definitions import MAX_TEXT, text
from wedata.services.quality.targets import TableRef, Targets
from wedata.spec import models as M
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.quality_tables import quality_rule_groups, quality_tables, quality_task_gates

QT, QG, G = quality_tables, quality_rule_groups, quality_task_gates
NOT_CONFIGURED, ATTACHED, OWN_CYCLE = 1, 2, 3
TRIGGER_RUN_TYPES = {"CYCLE": ("PERIODIC", "APERIODIC"), "MAKE_UP": ("ADDITION",), "RERUN": ("RERUN",)}
DEFAULT_TRIGGERS = ("CYCLE", "MAKE_UP", "RERUN")
MAX_TASKS = 50
MAX_BATCH = 20


def table_row(conn: Connection, project_id: str, ref: TableRef, now: datetime) -> int:
    """The monitored-table id of ``ref`` in the project (created on first use)."""
    found = conn.execute(select(QT.c.id).where(QT.c.project_id == project_id, QT.c.table_guid == ref.guid)).scalar()
    if found is not None:
        return int(found)
    return int(conn.execute(insert(QT).values(
        project_id=project_id, source_key=ref.source_key, datasource_id=ref.datasource_id,
        database_name=ref.database, schema_name=ref.schema, table_name=ref.table, table_guid=ref.guid,
        created_at=now, updated_at=now).returning(QT.c.id)).scalar_one())


def name_free(conn: Connection, project_id: str, name: str, field: str, exclude: int | None = None) -> None:
    q = select(QG.c.id).where(QG.c.project_id == project_id, QG.c.name == name)
    if exclude is not None:
        q = q.where(QG.c.id != exclude)
    if conn.execute(q).first() is not None:
        raise Duplicate(f"{field}: a monitoring task named {name!r} exists in the project")


class GroupService:
    def __init__(self, db: Database, clock: Any, targets: Targets, scheduler: SchedulerApi) -> None:
        self.db = db
        self.clock = clock
        self.targets = targets
        self.scheduler = scheduler

    # -- validation ----------------------------------------------------------------------------

    def _table(self, caller: Caller, project_id: str, s: M.QualityRuleGroupExecStrategy, p: str) -> TableRef:
        """The group's table, resolved before any write transaction opens (resolving may read
        the catalog again, which writes)."""
        if s.monitor_type not in (ATTACHED, OWN_CYCLE):
            raise InvalidValue(f"{p}MonitorType must be 2 (attached to production tasks) or 3 (its own cycle), "
                               f"got {s.monitor_type}")
        text(s.executor_group_id, f"{p}ExecutorGroupId", 64)
        text(s.rule_group_name, f"{p}RuleGroupName")
        return self.targets.table(project_id, caller.uin, s.datasource_id, s.database_name, s.schema_name,
                                  s.table_name, p)

    def _strategy(self, conn: Connection, project_id: str, s: M.QualityRuleGroupExecStrategy,
                  p: str) -> tuple[dict[str, Any], list[tuple[str, str]], Schedule | None]:
        """The validated strategy to store, the gates (MonitorType 2) or the cycle (MonitorType 3)."""
        if s.monitor_type == OWN_CYCLE:
            return self._own_cycle(s, p)
        name = text(s.rule_group_name, f"{p}RuleGroupName")
        if s.exec_fail_block not in (None, 0, 1):
            raise InvalidValue(f"{p}ExecFailBlock must be 0 (do not block) or 1 (block), got {s.exec_fail_block}")
        triggers = list(dict.fromkeys(s.trigger_types or DEFAULT_TRIGGERS))
        for i, trig in enumerate(triggers):
            if trig not in TRIGGER_RUN_TYPES:
                raise InvalidValue(f"{p}TriggerTypes[{i}] must be CYCLE, MAKE_UP or RERUN, got {str(trig)[:20]!r}")
        if s.schedule_time_zone:
            try:
                zone_of(s.schedule_time_zone)
            except Exception:
                raise InvalidValue(f"{p}ScheduleTimeZone: unknown zone {s.schedule_time_zone[:20]!r}") from None
        text(s.description, f"{p}Description", MAX_TEXT, required=False)
        tasks = s.tasks or []
        if not tasks:
            raise InvalidValue(f"{p}Tasks must list the production tasks to check after (MonitorType 2)")
        if len(tasks) > MAX_TASKS:
            raise InvalidValue(f"{p}Tasks has at most {MAX_TASKS} tasks, got {len(tasks)}")
        ids = [t.task_id for t in tasks]
        rows = {r.id: r for r in conn.execute(select(T.tasks.c.id, T.tasks.c.workflow_id, T.tasks.c.prod_version_id)
                                              .where(T.tasks.c.project_id == project_id, T.tasks.c.id.in_(ids)))}
        for i, t in enumerate(tasks):
            row = rows.get(t.task_id)
            if row is None:
                raise InvalidValue(f"{p}Tasks[{i}].TaskId: the task {t.task_id[:30]!r} does not exist in the project")
            if row.workflow_id != t.workflow_id:
                raise InvalidValue(f"{p}Tasks[{i}].WorkflowId: the task {t.task_id} belongs to the workflow "
                                   f"{row.workflow_id}, not {t.workflow_id[:40]!r}")
            if not row.prod_version_id:
                raise InvalidValue(f"{p}Tasks[{i}].TaskId: the task {t.task_id} has not been submitted to production")
        stored = msgspec.to_builtins(s)
        stored.update(RuleGroupName=name, TriggerTypes=triggers, ExecFailBlock=s.exec_fail_block or 0)
        gates = [(tid, rt) for tid in dict.fromkeys(ids) for trig in triggers for rt in TRIGGER_RUN_TYPES[trig]]
        return stored, gates, None

    def _own_cycle(self, s: M.QualityRuleGroupExecStrategy, p: str) -> tuple[dict[str, Any], list[Any], Schedule]:
        name = text(s.rule_group_name, f"{p}RuleGroupName")
        if s.tasks:
            raise InvalidValue(f"{p}Tasks: a monitoring task on its own cycle (MonitorType 3) is attached to no "
                               "production task (MonitorType 2 is)")
        if s.exec_fail_block:
            raise InvalidValue(f"{p}ExecFailBlock blocks downstream instances of checked tasks: only MonitorType 2 "
                               f"has them; give 0 for MonitorType 3, got {s.exec_fail_block}")
        if s.trigger_types:
            raise InvalidValue(f"{p}TriggerTypes choose which task executions are checked (MonitorType 2); a "
                               "MonitorType 3 group runs on its cycle only")
        text(s.description, f"{p}Description", MAX_TEXT, required=False)
        stored = msgspec.to_builtins(s)
        if stored.get("CycleType"):
            stored["CycleType"] = str(stored["CycleType"]).strip().upper()
        stored.update(RuleGroupName=name, ExecFailBlock=0)
        schedule = cycle.schedule_of(stored, p)
        cycle.first_fire(schedule, self.clock.now(), p)
        return stored, [], schedule

    # -- writes --------------------------------------------------------------------------------

    def _write_gates(self, conn: Connection, group_id: int, gates: Sequence[tuple[str, str]], block: bool) -> None:
        conn.execute(delete(G).where(G.c.group_id == group_id))
        if gates:
            conn.execute(insert(G), [{"task_id": t, "run_type": r, "group_id": group_id, "block": block}
                                     for t, r in gates])

    def _gated_tasks(self, conn: Connection, group_ids: Sequence[int]) -> list[str]:
        return sorted({r[0] for r in conn.execute(select(G.c.task_id).where(G.c.group_id.in_(list(group_ids))))})

    def create(self, caller: Caller, req: M.CreateQualityRuleGroupRequest) -> list[dict[str, Any]]:
        items = req.rule_group_exec_strategy_bo_list or []
        if not 1 <= len(items) <= MAX_BATCH:
            raise InvalidValue(f"RuleGroupExecStrategyBOList must have 1 to {MAX_BATCH} items, got {len(items)}")
        now = self.clock.now()
        out: list[dict[str, Any]] = []
        refs = []
        for i, s in enumerate(items):
            p = f"RuleGroupExecStrategyBOList[{i}]."
            if s.rule_group_id is not None:
                raise InvalidValue(f"{p}RuleGroupId: a new monitoring task has no id yet (ModifyQualityRuleGroup "
                                   "changes one)")
            refs.append(self._table(caller, req.project_id, s, p))
        with self.db.write() as conn:
            names: set[str] = set()
            checked = []
            for i, (s, ref) in enumerate(zip(items, refs, strict=True)):
                p = f"RuleGroupExecStrategyBOList[{i}]."
                stored, gates, schedule = self._strategy(conn, req.project_id, s, p)
                name = stored["RuleGroupName"]
                if name in names:
                    raise Duplicate(f"{p}RuleGroupName: {name!r} is given twice")
                names.add(name)
                name_free(conn, req.project_id, name, f"{p}RuleGroupName")
                checked.append((s.monitor_type, ref, stored, gates, schedule))
            for monitor_type, ref, stored, gates, schedule in checked:
                table_id = table_row(conn, req.project_id, ref, now)
                gid = int(conn.execute(insert(QG).values(
                    project_id=req.project_id, table_id=table_id, name=stored["RuleGroupName"],
                    monitor_type=monitor_type, strategy=stored, exec_fail_block=bool(stored["ExecFailBlock"]),
                    description=stored.get("Description") or "", create_user_uin=caller.uin, created_at=now,
                    updated_at=now).returning(QG.c.id)).scalar_one())
                self._write_gates(conn, gid, gates, bool(stored["ExecFailBlock"]))
                cycle.write_schedule(conn, gid, schedule, now)
                out.append({"id": gid, "name": stored["RuleGroupName"], "table_id": table_id, "ref": ref,
                            "monitor_type": monitor_type})
        return out

    def _load(self, conn: Connection, project_id: str, group_id: int | None, field: str) -> Any:
        if group_id is None:
            raise InvalidValue(f"{field} is required")
        row = conn.execute(select(QG, QT.c.table_guid).join(QT, QT.c.id == QG.c.table_id)
                           .where(QG.c.id == group_id, QG.c.project_id == project_id)).first()
        if row is None:
            raise NotFound(f"{field}: the monitoring task {group_id} does not exist in the project")
        return row

    def modify(self, caller: Caller, req: M.ModifyQualityRuleGroupRequest) -> None:
        if not req.project_id:
            raise InvalidValue("ProjectId is required")
        items = req.rule_group_exec_strategy_bo_list or []
        if not 1 <= len(items) <= MAX_BATCH:
            raise InvalidValue(f"RuleGroupExecStrategyBOList must have 1 to {MAX_BATCH} items, got {len(items)}")
        now = self.clock.now()
        refs = [self._table(caller, req.project_id, s, f"RuleGroupExecStrategyBOList[{i}].") for i, s in enumerate(items)]
        with self.db.write() as conn:
            plans = []
            for i, (s, ref) in enumerate(zip(items, refs, strict=True)):
                p = f"RuleGroupExecStrategyBOList[{i}]."
                row = self._load(conn, req.project_id, s.rule_group_id, f"{p}RuleGroupId")
                stored, gates, schedule = self._strategy(conn, req.project_id, s, p)
                if ref.guid != row.table_guid:
                    raise InvalidValue(f"{p}TableName: the monitoring task {row.id} checks another table; a group's "
                                       "table cannot change (create a new one)")
                name_free(conn, req.project_id, stored["RuleGroupName"], f"{p}RuleGroupName", exclude=row.id)
                plans.append((s.monitor_type, row, stored, gates, schedule))
            before = self._gated_tasks(conn, [plan[1].id for plan in plans])
            for monitor_type, row, stored, gates, schedule in plans:
                conn.execute(update(QG).where(QG.c.id == row.id).values(
                    name=stored["RuleGroupName"], monitor_type=monitor_type, strategy=stored,
                    exec_fail_block=bool(stored["ExecFailBlock"]), description=stored.get("Description") or "",
                    updated_at=now))
                self._write_gates(conn, row.id, gates, bool(stored["ExecFailBlock"]))
                cycle.write_schedule(conn, row.id, schedule, now)
            released = holds.release_unblocked(self.scheduler, conn, before, now, caller.uin)
        if released:
            self.scheduler.notify(Change.INSTANCES)

    def delete(self, caller: Caller, req: M.DeleteQualityRuleGroupRequest) -> list[tuple[int, str]]:
        ids = list(dict.fromkeys(req.rule_group_id_list or []))
        if not 1 <= len(ids) <= 100:
            raise InvalidValue(f"RuleGroupIdList must have 1 to 100 ids, got {len(ids)}")
        now = self.clock.now()
        with self.db.write() as conn:
            rows = {r.id: r for r in conn.execute(select(QG.c.id, QG.c.name).where(QG.c.project_id == req.project_id,
                                                                                  QG.c.id.in_(ids)))}
            missing = [i for i in ids if i not in rows]
            if missing:
                raise NotFound(f"RuleGroupIdList: the monitoring task {missing[0]} does not exist in the project")
            tasks = self._gated_tasks(conn, ids)
            conn.execute(delete(G).where(G.c.group_id.in_(ids)))
            conn.execute(delete(QG).where(QG.c.id.in_(ids)))
            released = holds.release_unblocked(self.scheduler, conn, tasks, now, caller.uin)
        if released:
            self.scheduler.notify(Change.INSTANCES)
        return [(i, rows[i].name) for i in ids]

    # -- the default group of a table (rules created without a RuleGroupId) ----------------------

    def default_group(self, conn: Connection, caller: Caller, project_id: str, ref: TableRef, now: datetime) -> int:
        table_id = table_row(conn, project_id, ref, now)
        found = conn.execute(select(func.min(QG.c.id)).where(QG.c.table_id == table_id)).scalar()
        if found is not None:
            return int(found)
        name = f"{ref.display} rules"
        if conn.execute(select(QG.c.id).where(QG.c.project_id == project_id, QG.c.name == name)).first() is not None:
            name = f"{name} #{table_id}"
        return int(conn.execute(insert(QG).values(
            project_id=project_id, table_id=table_id, name=name[:256], monitor_type=NOT_CONFIGURED, strategy=None,
            exec_fail_block=False, description="", create_user_uin=caller.uin, created_at=now, updated_at=now)
            .returning(QG.c.id)).scalar_one())
