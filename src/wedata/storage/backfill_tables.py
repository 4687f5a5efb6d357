"""Data backfill tables (migration 0006_backfill), on the shared ``metadata``.

Conventions as in tables.py: naive UTC instants, every constraint named. ``data_time`` is, as in
engine_tables.py, the instance data time (``CurRunDate``) as a wall time in the task's own zone.

A plan (``backfill_plans``) is the request as given plus its status; its instances are
``backfill_members``, one per (task, data time), each pointing at THE instance of that key in
``task_instances`` (backfills re-execute the periodic instances, they never duplicate them).
A member moves ``held`` (waiting for the plan to let it go: a ``gate`` edge in instance_deps
keeps the instance in WAIT_UPSTREAM) -> ``released`` (gate met; the engine runs it; it counts
against the plan's parallelism) -> ``done`` (its instance reached a terminal state in the
plan's life round; the outcome is copied here so that a later rerun does not rewrite the plan's
history). A deleted plan's members that never started are ``cancelled``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from wedata.storage.engine_tables import BigId
from wedata.storage.tables import metadata

backfill_plans = Table(
    "backfill_plans",
    metadata,
    Column("id", String(36), primary_key=True),  # DataBackfillPlanId (UUID)
    Column("project_id", String(19), nullable=False),
    Column("name", String(256), nullable=False),
    Column("task_ids", JSON, nullable=False),  # [TaskId] in request order
    Column("ranges", JSON, nullable=False),  # [{StartDate, EndDate, ExecutionStartTime, ExecutionEndTime}]
    Column("time_zone", String(32)),
    Column("check_parent_type", String(16), nullable=False),  # NONE | ALL | MAKE_SCOPE
    Column("skip_event_listening", Boolean, nullable=False),
    Column("redefine_self_workflow_dependency", String(8)),  # yes | no | null (workflow's own)
    Column("redefine_parallel_num", Integer),  # null: the tasks' own SelfDepend
    Column("scheduler_resource_group_id", String(32)),
    Column("integration_resource_group_id", String(32)),
    Column("redefine_param_list", JSON),  # [{"K", "V"}] or null
    Column("data_time_order", String(8), nullable=False),  # NORMAL | ORDER | REVERSE
    Column("redefine_cycle_type", String(16)),  # MONTH_CYCLE | null
    Column("compute_config_mappings", JSON),  # recorded as given (DLC engines are not run here)
    # What the release logic needs, derived once at creation (services/backfill/release.py).
    Column("config", JSON, nullable=False),
    # RUNNING (members left) | DONE (every member done) | DELETING | DELETED
    Column("status", String(16), nullable=False),
    Column("total_count", Integer, nullable=False),
    Column("skipped_count", Integer, nullable=False, default=0),  # left out by AllowRedoType
    # Progress, kept by the code that marks members done (GetDataBackfillPlan is polled: it
    # must not aggregate a 100,000-member plan on every call).
    Column("done_count", Integer, nullable=False, default=0),
    Column("success_count", Integer, nullable=False, default=0),
    Column("started_at", DateTime),  # the earliest start among the members that are done
    Column("create_user_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("ended_at", DateTime),  # when the last member was done
    Column("deleted_at", DateTime),
)
Index("ix_backfill_plans_status", backfill_plans.c.status)
Index("ix_backfill_plans_project", backfill_plans.c.project_id, backfill_plans.c.created_at)

backfill_members = Table(
    "backfill_members",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("plan_id", String(36), ForeignKey("backfill_plans.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),  # release order inside the plan (DataTimeOrder, dependencies)
    Column("task_id", String(24), nullable=False),
    Column("data_time", DateTime, nullable=False),  # wall time in the task's zone
    Column("workflow_id", String(36), nullable=False),
    # Null once the instance is gone (e.g. removed when its task was taken offline).
    Column("instance_id", BigId, ForeignKey("task_instances.id", ondelete="SET NULL")),
    Column("life_round_num", Integer, nullable=False),  # the instance's round this plan runs
    Column("status", String(16), nullable=False),  # held | released | done | cancelled
    Column("final_state", String(16)),  # the instance state the round ended in
    Column("started_at", DateTime),  # copied when done
    Column("ended_at", DateTime),
    Column("cost_ms", BigInteger),
    # How the plan took the instance: {"created": true} or the fields it changed (to restore
    # them when the plan is deleted before the instance started).
    Column("prior", JSON, nullable=False),
    Column("note", Text),
    UniqueConstraint("plan_id", "task_id", "data_time"),
)
Index("ix_backfill_members_plan_status", backfill_members.c.plan_id, backfill_members.c.status, backfill_members.c.seq)
# The next held member of one task (DataTimeOrder ORDER / REVERSE); listing one task's members
# uses the unique (plan_id, task_id, data_time) index.
Index("ix_backfill_members_plan_task", backfill_members.c.plan_id, backfill_members.c.task_id,
      backfill_members.c.status, backfill_members.c.seq)
Index("ix_backfill_members_instance", backfill_members.c.instance_id)
Index("ix_backfill_members_status", backfill_members.c.status)
