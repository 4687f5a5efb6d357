"""Operations tables (migration 0005_ops_jobs): asynchronous ops jobs and paused-task records.

Conventions as in tables.py: naive UTC instants, every constraint named.

An async job (RerunTaskInstancesAsync, KillTaskInstancesAsync, PauseOpsTasksAsync ...) is one
``ops_async_jobs`` row plus one ``ops_async_job_items`` row per sub-process (an instance or a
task). The state lives here, not in memory: the worker (services/jobs.py) claims a job with
a lease, and a job whose worker died is resumed by the next one from its unfinished items.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from wedata.storage.tables import metadata

ops_async_jobs = Table(
    "ops_async_jobs",
    metadata,
    Column("async_id", String(36), primary_key=True),  # UUID (AsyncId)
    Column("project_id", String(19), nullable=False),
    Column("async_type", String(32), nullable=False),  # INSTANCE_KILL, INSTANCE_RERUN, TASK_PAUSE ...
    # INIT (not picked up yet), RUNNING, SUCCESS, FAIL, PART_SUCCESS (OpsAsyncJobDetail.Status)
    Column("status", String(16), nullable=False),
    Column("params", JSON),  # the operation's options (RerunType, KillInstance, ...)
    Column("error_desc", Text),
    Column("total_count", Integer, nullable=False, default=0),
    Column("finished_count", Integer, nullable=False, default=0),
    Column("success_count", Integer, nullable=False, default=0),
    Column("create_user_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),  # service clock
    Column("updated_at", DateTime, nullable=False),
    # The worker holding the job and until when (real time): a dead worker's job is resumed.
    Column("claimed_by", String(64)),
    Column("lease_until", DateTime),
)
Index("ix_ops_async_jobs_status", ops_async_jobs.c.status)

ops_async_job_items = Table(
    "ops_async_job_items",
    metadata,
    Column("async_id", String(36), ForeignKey("ops_async_jobs.async_id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),  # processing order (a rerun: upstream before downstream)
    Column("item_key", String(64), nullable=False),  # InstanceKey or TaskId
    # INIT, ACTING (effect requested, waiting for it to take hold, e.g. a kill), SUCCESS, FAIL
    Column("status", String(8), nullable=False),
    Column("reason", Text),  # why the item failed (or a note on a success)
    Column("acted_at", DateTime),  # real time the effect was requested (ACTING timeout)
    Column("updated_at", DateTime, nullable=False),
    PrimaryKeyConstraint("async_id", "seq"),
)
Index("ix_ops_async_job_items_status", ops_async_job_items.c.async_id, ops_async_job_items.c.status)

# Tasks taken out of scheduling by PauseOpsTasksAsync / StopOpsTasksAsync, and since when
# (service clock): StartOpsTasks decides from it which instances fell inside the pause.
ops_task_pauses = Table(
    "ops_task_pauses",
    metadata,
    Column("task_id", String(24), primary_key=True),
    Column("status", String(8), nullable=False),  # O or F
    Column("paused_at", DateTime, nullable=False),
    Column("paused_by", String(32), nullable=False),
)
