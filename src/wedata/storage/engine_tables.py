"""The scheduler engine's tables (migration 0002_engine), on the shared ``metadata``.

Conventions as in tables.py: every instant is naive UTC and every constraint is named. One
exception, on purpose: ``task_instances.data_time`` and ``instance_deps.upstream_data_time``
hold the instance **data time** (``CurRunDate``) as a naive wall-clock time in the task's own
``ScheduleTimeZone``. It is an identity (the second half of the InstanceKey), not an instant,
and WeData never shifts it between zones.

No foreign key points at ``tasks``: deleting a task must not cascade into its instance history,
and the engine reconciles instances of vanished tasks itself.
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
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from wedata.storage.tables import BigId, metadata

# Planning state per task: what the planner last planned and until when. The planner compares
# ``version_id``/``task_status`` with ``tasks.prod_version_id``/``tasks.status`` to notice
# submissions, pauses and take-downs without being told.
task_plans = Table(
    "task_plans",
    metadata,
    Column("task_id", String(24), primary_key=True),
    Column("version_id", String(64)),  # the prod version planned from (null: nothing planned)
    Column("task_status", String(8), nullable=False),  # tasks.status when last reconciled
    # Fires with a scheduled time (UTC) <= planned_through have their instances.
    Column("planned_through", DateTime),
    # When the horizon must next be extended (UTC); indexed so the idle check is one range scan.
    Column("next_plan_at", DateTime),
    Column("error", Text),  # why the definition could not be planned, if it could not
    Column("updated_at", DateTime, nullable=False),
)
Index("ix_task_plans_next_plan_at", task_plans.c.next_plan_at)

# One row per InstanceKey (task, data time). Reruns and backfills re-execute the same row.
task_instances = Table(
    "task_instances",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("task_id", String(24), nullable=False),
    Column("data_time", DateTime, nullable=False),  # wall time in the task's zone (see above)
    Column("project_id", String(19), nullable=False),
    Column("workflow_id", String(36), nullable=False),
    Column("version_id", String(64), nullable=False),  # prod version the instance was planned from
    # 0 backfill, 1 periodic, 2 non-periodic (one-off / manual)
    Column("instance_type", Integer, nullable=False, default=1),
    Column("state", String(16), nullable=False),
    Column("scheduled_at", DateTime, nullable=False),  # planned scheduling time (UTC)
    Column("priority", Integer, nullable=False, default=6),  # RunPriority: 4 high .. 6 low
    Column("resource_group_id", String(32)),  # null: the default group
    Column("self_depend", String(8), nullable=False, default="serial"),  # serial|orderly|parallel
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("cycle_type", String(16), nullable=False),
    Column("task_type_id", Integer, nullable=False),
    # The task's owner (tasks.owner_uin), copied so ListTaskInstances' OwnerUin has an index of
    # its own (migration 0031_instance_owner): set when the instance is made
    # (scheduler/planner.py instance_row) and rewritten with the task's owner
    # (storage/instance_owner.py). Null: not copied yet; '': the task is gone.
    Column("owner_uin", String(32)),
    Column("life_round_num", Integer, nullable=False, default=0),
    Column("tries", Integer, nullable=False, default=0),  # attempts started in this life round
    Column("try_limit", Integer, nullable=False),  # attempts allowed per life round
    Column("total_run_num", Integer, nullable=False, default=0),  # attempts over all rounds
    Column("run_type", String(24), nullable=False, default="PERIODIC"),  # of the current round
    Column("started_at", DateTime),  # latest attempt
    Column("ended_at", DateTime),
    Column("cost_ms", BigInteger),
    Column("wait_since", DateTime),  # start of the current wait (WaitExecutionTotalTTL)
    Column("retry_at", DateTime),  # FAILED_RETRY: when the next attempt may start
    Column("deadline_at", DateTime),  # RUNNING: ExecutionTTL; waiting: WaitExecutionTotalTTL
    Column("error_msg", Text),  # JobErrorMsg
    Column("outputs", JSON),  # output parameters of the last successful attempt
    Column("skip_events", Boolean, nullable=False, default=False),
    Column("claimed_by", String(64)),  # scheduler node holding the instance while it runs
    Column("lease_until", DateTime),
    # Overrides of the current life round set by a rerun (services/ops/rerun.py; added by
    # migration 0005): RedefineParamList over the task's parameters (runs.render_context), and
    # RedefineParallelNum, how many instances of the task may run at once (cycle.dispatch).
    Column("params", JSON),
    Column("parallel_limit", Integer),
    Column("row_version", Integer, nullable=False, default=0),  # optimistic concurrency
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("task_id", "data_time"),
)
# Dispatch: due WAIT_RUN rows; retries: FAILED_RETRY by retry_at; timeouts: by deadline_at.
Index("ix_task_instances_state_scheduled", task_instances.c.state, task_instances.c.scheduled_at)
Index("ix_task_instances_state_retry", task_instances.c.state, task_instances.c.retry_at)
Index("ix_task_instances_deadline", task_instances.c.deadline_at)
# ListTaskInstances (services/paging.py): each SortColumn's page of ids is an index-only walk of
# (project, column, id); WorkflowId is its most used filter. Migration 0024_scale_indexes.
# On PostgreSQL it carries the counted columns (0026_instance_counts): a page filtered by InstanceType,
# CycleType or TaskTypeId, walked within its day, reads the index alone (97 -> 7.5 ms for 40,000
# entries of a day of 100,000), and what a StartTime or LastUpdateTime range's walk in this order
# tests on each entry (0035_scheduled_window; services/instances/query.py ``_window_keys``).
Index("ix_task_instances_project_scheduled", task_instances.c.project_id, task_instances.c.scheduled_at,
      task_instances.c.id, postgresql_include=["instance_type", "cycle_type", "task_type_id", "state", "started_at",
                                               "updated_at"])
# The StartTime and LastUpdateTime ranges carry scheduled_at (the default order): a range's page
# is sorted from the index alone (services/instances/query.py; migration 0025_list_filters).
Index("ix_task_instances_project_started", task_instances.c.project_id, task_instances.c.started_at,
      task_instances.c.id, task_instances.c.scheduled_at)
Index("ix_task_instances_project_ended", task_instances.c.project_id, task_instances.c.ended_at, task_instances.c.id)
Index("ix_task_instances_project_cost", task_instances.c.project_id, task_instances.c.cost_ms, task_instances.c.id)
# With the id (0032_workflow_order), a workflow's instances in the list's order: FolderId's page
# merges one walk of it per workflow of the folder (services/paging.py merged_keys).
Index("ix_task_instances_workflow_scheduled", task_instances.c.workflow_id, task_instances.c.scheduled_at,
      task_instances.c.id)
Index("ix_task_instances_task_state", task_instances.c.task_id, task_instances.c.state)
# The InstanceState, ExecutorGroupId and LastUpdateTime filters of ListTaskInstances (migration
# 0025_list_filters): the state's count and default-order page from the index alone.
Index("ix_task_instances_project_state", task_instances.c.project_id, task_instances.c.state,
      task_instances.c.scheduled_at, task_instances.c.id)
Index("ix_task_instances_project_group", task_instances.c.project_id, task_instances.c.resource_group_id,
      task_instances.c.scheduled_at, task_instances.c.id)
# OwnerUin (0031_instance_owner): its count and default-order page from the index alone.
Index("ix_task_instances_project_owner", task_instances.c.project_id, task_instances.c.owner_uin,
      task_instances.c.scheduled_at, task_instances.c.id)
# ... and the instances still without the copy (storage/instance_owner.py fill_missing): none but
# those a process of the previous version made during an upgrade.
Index("ix_task_instances_owner_missing", task_instances.c.id,
      postgresql_where=task_instances.c.owner_uin.is_(None), sqlite_where=task_instances.c.owner_uin.is_(None))
Index("ix_task_instances_project_updated", task_instances.c.project_id, task_instances.c.updated_at,
      task_instances.c.id, task_instances.c.scheduled_at)

# Running counts of ``task_instances`` (migration 0026_instance_counts), PostgreSQL only: the
# TotalCount of ListTaskInstances filtered by nothing but InstanceState, InstanceType, CycleType or
# TaskTypeId, which counted a million index entries (~90 ms) on every page, and where its deep pages
# by scheduled time start. Rows are deltas (+n, -n)
# written by statement triggers on ``task_instances`` in the same transaction as the change, so a
# sum read in one snapshot is exactly the COUNT of the rows that snapshot sees, and writers only
# ever insert (no row lock for concurrent transactions to wait on). The engine's sweep folds them
# (storage/instance_counts.py). On SQLite the table exists and stays empty: lists count rows.
task_instance_counts = Table(
    "task_instance_counts",
    metadata,
    Column("project_id", String(19), nullable=False),
    # The UTC day of the instances' scheduled time: a deep page of the default order (by
    # scheduled time) is found among the days' counts, then walked within its day(s).
    Column("scheduled_day", DateTime, nullable=False),
    # ... and of their latest start and end (null: not started, not ended; 0033_count_start_end),
    # for the pages sorted by START_TIME and END_TIME.
    Column("started_day", DateTime),
    Column("ended_day", DateTime),
    Column("state", String(16), nullable=False),
    Column("instance_type", Integer, nullable=False),
    Column("cycle_type", String(16), nullable=False),
    Column("task_type_id", Integer, nullable=False),
    Column("n", BigInteger, nullable=False),
)
Index("ix_task_instance_counts_project", task_instance_counts.c.project_id, task_instance_counts.c.state)

# The same running counts by the instances' cost instead of their days (0034_count_cost): where a
# deep page sorted by COST_TIME starts. A cost has no day, and the bands it is counted in
# (storage/instance_counts.py ``cost_band``, ~3 % wide) would multiply the days' rows by hundreds,
# so they are a table of their own, written by the same triggers. PostgreSQL only, as above.
task_instance_cost_counts = Table(
    "task_instance_cost_counts",
    metadata,
    Column("project_id", String(19), nullable=False),
    # The first cost (ms) of the band the instances' cost falls in; null: no cost (not ended).
    Column("cost_band", BigInteger),
    Column("state", String(16), nullable=False),
    Column("instance_type", Integer, nullable=False),
    Column("cycle_type", String(16), nullable=False),
    Column("task_type_id", Integer, nullable=False),
    Column("n", BigInteger, nullable=False),
)
Index("ix_task_instance_cost_counts_project", task_instance_cost_counts.c.project_id,
      task_instance_cost_counts.c.state)

# One row per attempt: (life round, try). The log file is per life round (tries append to it).
instance_executions = Table(
    "instance_executions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "instance_id", BigId, ForeignKey("task_instances.id", ondelete="CASCADE"), nullable=False
    ),
    Column("life_round_num", Integer, nullable=False),
    Column("try_no", Integer, nullable=False),  # 1-based; 0 = the round ended without running
    Column("run_type", String(24), nullable=False),
    # DetailState words: RUNNING, COMPLETE, FAILED (attempt failed), EXPIRED, SKIP_RUNNING
    Column("state", String(16), nullable=False),
    Column("started_at", DateTime),
    Column("ended_at", DateTime),
    Column("exit_code", Integer),
    Column("log_path", String(1024)),
    Column("log_offset", BigInteger, nullable=False, default=0),  # where this try starts in the log
    Column("code_content", Text),  # the code as executed (parameters substituted)
    Column("executor", String(32)),
    Column("handle", JSON),  # the executor's handle: enough to poll or kill after a restart
    Column("host", String(255)),
    Column("pid", Integer),
    Column("node_id", String(64)),  # scheduler node that started it
    Column("error_msg", Text),
    UniqueConstraint("instance_id", "life_round_num", "try_no"),
)
Index("ix_instance_executions_state", instance_executions.c.state)

# Instance-level dependency edges: the downstream instance waits for the upstream key.
# ``met`` is maintained by the transition function when the upstream instance ends, so readiness
# of a downstream instance is one indexed "any unmet edge?" probe.
instance_deps = Table(
    "instance_deps",
    metadata,
    Column(
        "instance_id", BigId, ForeignKey("task_instances.id", ondelete="CASCADE"), nullable=False
    ),
    Column("upstream_task_id", String(24), nullable=False),
    Column("upstream_data_time", DateTime, nullable=False),  # wall time in the upstream's zone
    Column("kind", String(8), nullable=False, default="task"),  # task | self
    Column("met", Boolean, nullable=False, default=False),
    # PollingNullStrategy EXECUTING: which conditions let the edge pass without a success.
    Column("on_missing", Boolean, nullable=False, default=False),  # NOT_EXIST
    Column("on_failed", Boolean, nullable=False, default=False),  # PARENT_EXPIRED
    Column("timeout_minutes", Integer),  # PARENT_TIMEOUT
    PrimaryKeyConstraint("instance_id", "upstream_task_id", "upstream_data_time"),
)
Index("ix_instance_deps_upstream", instance_deps.c.upstream_task_id, instance_deps.c.upstream_data_time)

# Events an instance waits for (EventListenerList), one row per listener.
instance_event_waits = Table(
    "instance_event_waits",
    metadata,
    Column(
        "instance_id", BigId, ForeignKey("task_instances.id", ondelete="CASCADE"), nullable=False
    ),
    Column("event_name", String(256), nullable=False),
    Column("dimension", String(14), nullable=False),  # yyyyMMdd[HH[mm[ss]]] of the data time
    Column("broadcast_type", String(16), nullable=False, default="BROADCAST"),
    Column("met", Boolean, nullable=False, default=False),
    Column("met_at", DateTime),
    PrimaryKeyConstraint("instance_id", "event_name"),
)
Index("ix_instance_event_waits_event", instance_event_waits.c.event_name, instance_event_waits.c.dimension)

# Every state change, with who and why (written by scheduler/transitions.py only).
instance_transitions = Table(
    "instance_transitions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "instance_id", BigId, ForeignKey("task_instances.id", ondelete="CASCADE"), nullable=False
    ),
    Column("from_state", String(16)),  # null: created
    Column("to_state", String(16), nullable=False),
    Column("life_round_num", Integer, nullable=False),
    Column("tries", Integer, nullable=False),  # attempts started in the round after the change
    Column("actor", String(64), nullable=False),  # "scheduler:<node>" or a user's uin
    Column("reason", Text, nullable=False, default=""),
    Column("at", DateTime, nullable=False),
)
Index("ix_instance_transitions_instance", instance_transitions.c.instance_id, instance_transitions.c.id)

# Live scheduler processes. A node whose heartbeat is stale (or whose pid is gone on this host)
# is dead; another node takes over its RUNNING executions.
scheduler_nodes = Table(
    "scheduler_nodes",
    metadata,
    Column("node_id", String(64), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # server | scheduler
    Column("started_at", DateTime, nullable=False),
    Column("heartbeat_at", DateTime, nullable=False),
    Column("stopped_at", DateTime),
)
