"""Data-quality tables (migration 0016_quality), on the shared ``metadata``: monitored tables,
rule groups (monitoring tasks), rules, executions, and the two tables the engine reads.

Conventions as in tables.py: instants are naive UTC, every constraint is named.

- ``quality_tables``: one row per monitored table of a project (source key, database, schema,
  table; the catalog GUID). Its id is ``RuleGroupTableId``; groups and rules hang off it.
- ``quality_rule_groups``: one monitoring task (``QualityRuleGroupExecStrategy`` kept as its
  validated wire dict, plus columns for filters). MonitorType 1 (not configured) is the table's
  default group that rules created without a ``RuleGroupId`` join.
- ``quality_rules``: one rule; ``compare_rule`` is the validated ``QualityCompareRule`` wire dict.
- ``quality_group_execs`` / ``quality_rule_execs``: one row per group execution and per rule in
  it: the measured value (``value`` as text, ``numeric`` for the fluctuation history), the
  verdict (1 pass, 2 triggered, 3 failed to run), the SQL that ran, the error. No foreign key
  points at groups or rules: results outlive them (``RuleGroupExist`` says whether the group is
  still there).

- ``quality_schedules``: the next fire of each group with its own cycle (MonitorType 3): the
  wall time in the group's zone and the UTC instant it is due; the quality worker claims a due
  row by moving it to the following fire (compare-and-set on ``fire_wall``), then runs the group.

The engine's part (it may not import services, so the rules are storage functions it calls):

- ``quality_task_gates``: (task, RunType, group) for every group attached to a production task
  (MonitorType 2) and each trigger type it runs for; ``block`` is ExecFailBlock.
- ``quality_checks``: a request to check, written by the engine in the transaction that ends a
  successful attempt of a gated task (:func:`gate_success`); the quality worker claims it.
- ``quality_holds``: an upstream key (task, data time) whose downstream edges may not be
  satisfied: the transition function's ``_SATISFY`` skips held keys, and new edges on a held key
  start unmet (``scheduler/deps.py``). While ``state`` is ``CHECKING`` the check runs; ``FAILED``
  keeps it held with ``reason`` until a later successful attempt passes its check (a rerun) or
  the group stops blocking. The quality service deletes the row and satisfies the edges through
  ``scheduler.api.release_key`` when the check passes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
)

from wedata.storage.tables import BigId, metadata

CHECKING, FAILED = "CHECKING", "FAILED"

quality_tables = Table(
    "quality_tables",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),  # RuleGroupTableId
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("source_key", String(80), nullable=False),  # ds:<id> | lake (storage/catalog_tables.py)
    Column("datasource_id", BigId),  # null: the built-in lake
    Column("database_name", String(255), nullable=False),
    Column("schema_name", String(255), nullable=False, default=""),
    Column("table_name", String(255), nullable=False),
    Column("table_guid", String(22), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "table_guid"),
)

quality_rule_groups = Table(
    "quality_rule_groups",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),  # RuleGroupId
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("table_id", BigId, ForeignKey("quality_tables.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("monitor_type", Integer, nullable=False),  # 1 not configured, 2 attached to tasks
    Column("strategy", JSON),  # QualityRuleGroupExecStrategy wire dict (validated)
    Column("exec_fail_block", Boolean, nullable=False, default=False),
    Column("description", Text, nullable=False, default=""),
    Column("create_user_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "name"),
)
Index("ix_quality_rule_groups_table", quality_rule_groups.c.table_id)

quality_rules = Table(
    "quality_rules",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),  # RuleId
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("group_id", BigId, ForeignKey("quality_rule_groups.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("rule_type", Integer, nullable=False),  # 1 system template, 2 custom template, 3 custom SQL
    Column("template_id", Integer),
    Column("quality_dim", Integer, nullable=False),
    Column("object_type_name", String(64)),  # SourceObjectDataTypeName: "table" or a column type
    Column("object_value", String(255)),  # SourceObjectValue: the table or the column
    Column("condition_type", Integer, nullable=False, default=1),  # 1 whole table, 2 WHERE
    Column("condition_expression", Text),
    Column("custom_sql", Text),  # plain text (decoded)
    Column("field_config", JSON),
    Column("compare_rule", JSON, nullable=False),
    Column("alarm_level", Integer, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("engine_types", JSON, nullable=False),  # SourceEngineTypes
    Column("create_user_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
Index("ix_quality_rules_group", quality_rules.c.group_id)
Index("ix_quality_rules_project_updated", quality_rules.c.project_id, quality_rules.c.updated_at)

quality_group_execs = Table(
    "quality_group_execs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),  # RuleGroupExecId
    Column("project_id", String(19), nullable=False),
    Column("group_id", BigId, nullable=False),
    Column("group_name", String(256), nullable=False),
    Column("table_id", BigId, nullable=False),
    Column("trigger_type", Integer, nullable=False),  # 1 manual, 2 attached to a task, 3 own cycle
    Column("task_id", String(24)),
    Column("instance_id", BigId),
    Column("data_time", DateTime, nullable=False),  # the data time checked (the instance's)
    Column("life_round_num", Integer),
    Column("status", Integer, nullable=False),  # 2 checking, 3 normal, 4 abnormal, 6 failed to run
    Column("total_rules", Integer, nullable=False, default=0),
    Column("alarm_rules", Integer, nullable=False, default=0),
    Column("fail_msg", Text),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
)
Index("ix_quality_group_execs_project", quality_group_execs.c.project_id, quality_group_execs.c.started_at)

quality_rule_execs = Table(
    "quality_rule_execs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),  # RuleExecId
    Column("group_exec_id", BigId, ForeignKey("quality_group_execs.id", ondelete="CASCADE"), nullable=False),
    Column("rule_id", BigId, nullable=False),
    Column("rule_name", String(256), nullable=False),
    Column("data_time", DateTime, nullable=False),
    Column("status", Integer, nullable=False),  # ExecResultStatus: 1 pass, 2 triggered, 3 failed
    Column("value", Text),  # the measured value as the database returned it
    Column("numeric", Float),  # the same as a number (the fluctuation history)
    Column("compare", JSON),  # [{FixResult, ResultValue, Values, Operator, CompareType, ValueComputeType}]
    Column("sql", Text),  # the SQL that ran
    Column("error", Text),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
)
Index("ix_quality_rule_execs_group_exec", quality_rule_execs.c.group_exec_id)
Index("ix_quality_rule_execs_history", quality_rule_execs.c.rule_id, quality_rule_execs.c.data_time)

quality_task_gates = Table(
    "quality_task_gates",
    metadata,
    Column("task_id", String(24), nullable=False),
    Column("run_type", String(24), nullable=False),  # PERIODIC | ADDITION | RERUN
    Column("group_id", BigId, ForeignKey("quality_rule_groups.id", ondelete="CASCADE"), nullable=False),
    Column("block", Boolean, nullable=False, default=False),
    PrimaryKeyConstraint("task_id", "run_type", "group_id"),
)

quality_checks = Table(
    "quality_checks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("task_id", String(24), nullable=False),
    Column("instance_id", BigId, nullable=False),
    Column("data_time", DateTime, nullable=False),
    Column("life_round_num", Integer, nullable=False),
    Column("run_type", String(24), nullable=False),
    Column("requested_at", DateTime, nullable=False),
    Column("claimed_at", DateTime),
    Column("done_at", DateTime),
)
Index("ix_quality_checks_pending", quality_checks.c.done_at, quality_checks.c.id)

quality_holds = Table(
    "quality_holds",
    metadata,
    Column("task_id", String(24), nullable=False),
    Column("data_time", DateTime, nullable=False),  # wall time in the task's zone, as instances
    Column("life_round_num", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # CHECKING | FAILED
    Column("reason", Text),
    Column("updated_at", DateTime, nullable=False),
    PrimaryKeyConstraint("task_id", "data_time"),
)

quality_schedules = Table(  # migration 0023_quality_schedule
    "quality_schedules",
    metadata,
    Column("group_id", BigId, ForeignKey("quality_rule_groups.id", ondelete="CASCADE"), nullable=False),
    Column("fire_wall", DateTime, nullable=False),  # the next fire, wall time in the group's zone
    Column("due_at", DateTime, nullable=False),  # the same instant in UTC
    Column("updated_at", DateTime, nullable=False),
    PrimaryKeyConstraint("group_id"),
)
Index("ix_quality_schedules_due", quality_schedules.c.due_at)

G, H, C = quality_task_gates, quality_holds, quality_checks


def gate_success(conn: Connection, inst: Any, now: datetime) -> bool:
    """The engine's rule for a successful attempt of ``inst`` (a task_instances row), BEFORE its
    transition to COMPLETED: when groups are attached to the task for the instance's RunType a
    check is requested, and when one of them blocks, the key is held (CHECKING) so that the
    transition satisfies no downstream edge. A task whose groups do not cover this RunType
    releases an earlier hold of the key. Returns whether the key is held. One indexed query for
    a task without groups."""
    rows = conn.execute(select(G.c.run_type, G.c.block).where(G.c.task_id == inst["task_id"])).all()
    if not rows:
        return False
    run_type = inst["run_type"] or "PERIODIC"
    matching = [r for r in rows if r.run_type == run_type]
    key = (H.c.task_id == inst["task_id"]) & (H.c.data_time == inst["data_time"])
    conn.execute(delete(H).where(key))
    if not matching:
        return False
    conn.execute(insert(C).values(task_id=inst["task_id"], instance_id=inst["id"], data_time=inst["data_time"],
                                  life_round_num=inst["life_round_num"], run_type=run_type, requested_at=now))
    if not any(r.block for r in matching):
        return False
    conn.execute(insert(H).values(task_id=inst["task_id"], data_time=inst["data_time"],
                                  life_round_num=inst["life_round_num"], state=CHECKING,
                                  reason="the data quality check of this instance is running", updated_at=now))
    return True
