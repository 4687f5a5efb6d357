"""Trigger tables (migrations 0013 and 0019_trigger_ops): trigger workflows' settings and workflow runs.

Conventions as in tables.py: naive UTC instants, every constraint named.

A trigger workflow is a ``workflows`` row with ``workflow_type = 'trigger'`` (name, folder,
owner, WorkflowParams, bundle: the columns every workflow has) plus one ``trigger_workflows``
row with what only trigger workflows have. Its tasks are ``tasks`` rows (versions, edges and
submit exactly as periodic tasks).

A workflow run (``WorkflowExecutionId``) is a ``trigger_workflow_runs`` row; each task it runs
is one engine instance (``task_instances``, created by the run with the run's data time) and
one ``trigger_task_runs`` row linking the two under the task run's own ``ExecutionId``. The
engine runs those instances like any other (docs/triggers.md, "The run model").
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from wedata.storage.tables import BigId, metadata

trigger_workflows = Table(
    "trigger_workflows",
    metadata,
    Column("workflow_id", String(36), ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True),
    Column("trigger_mode", String(32)),  # TIME_TRIGGER | FILE_ARRIVAL (null: manual runs only)
    Column("scheduler_status", String(16), nullable=False, default="ACTIVE"),  # ACTIVE | PAUSED
    Column("triggers", JSON),  # [WorkflowTriggerConfig wire dict]
    Column("run_config", JSON),  # WorkflowRunConfig wire dict
    Column("general_task_params", JSON),  # [WorkflowGeneralTaskParam wire dict]
    Column("execute_user_uin", String(32)),
)

trigger_workflow_runs = Table(
    "trigger_workflow_runs",
    metadata,
    Column("execution_id", String(36), primary_key=True),  # WorkflowExecutionId (UUID)
    Column("project_id", String(19), nullable=False),
    Column("workflow_id", String(36), nullable=False),  # no FK: a run outlives its workflow
    Column("workflow_name", String(256), nullable=False),
    # PENDING | QUEUED | RUNNING | SUCCESS | FAILED | SKIP (TriggerWorkflowRunBrief.ExecutionState)
    Column("state", String(16), nullable=False),
    Column("trigger_type", String(16), nullable=False),  # ManualTrigger | Scheduler | Event
    # The data time of every instance of the run: a wall time in UTC+8 (docs/triggers.md).
    Column("data_time", DateTime, nullable=False),
    Column("params", JSON),  # the effective WorkflowParams of the run: [{ParamKey, ParamValue}]
    Column("selected_task_ids", JSON),  # TaskIds asked for (null: every task)
    Column("task_count", Integer, nullable=False),
    Column("execute_user_uin", String(32), nullable=False),
    Column("error_msg", Text),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime),  # the first task run started
    Column("ended_at", DateTime),  # every task run ended
    Column("cost_ms", BigInteger),
    # The concurrency gate (services/triggers/concurrency.py): when the run (or its latest
    # rerun) entered the queue, and when it was let through; RerunTimes.
    Column("queued_at", DateTime),
    Column("admitted_at", DateTime),
    Column("rerun_times", Integer, nullable=False, default=0, server_default="0"),
    # A run started by a Run Workflow node (services/triggers/nodes.py): that node's instance.
    Column("parent_instance_id", BigInteger),
)
Index("ix_trigger_workflow_runs_project_created", trigger_workflow_runs.c.project_id, trigger_workflow_runs.c.created_at)
Index("ix_trigger_workflow_runs_workflow", trigger_workflow_runs.c.workflow_id, trigger_workflow_runs.c.data_time)
Index("ix_trigger_workflow_runs_state", trigger_workflow_runs.c.workflow_id, trigger_workflow_runs.c.state)
Index("ix_trigger_workflow_runs_parent", trigger_workflow_runs.c.parent_instance_id)

trigger_task_runs = Table(
    "trigger_task_runs",
    metadata,
    Column("execution_id", String(36), primary_key=True),  # the task run's ExecutionId (UUID)
    Column(
        "workflow_execution_id",
        String(36),
        ForeignKey("trigger_workflow_runs.execution_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("project_id", String(19), nullable=False),
    Column("task_id", String(24), nullable=False),
    Column("version_id", String(64), nullable=False),  # the SUBMIT version it runs (TaskVersionId)
    # The engine instance that runs it (task_instances.id); no FK: engine rows follow their own
    # retention, and a run keeps its record.
    Column("instance_id", BigId, nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    # The task's DependencyTriggerPolicy in the version it runs (services/triggers/rules.py).
    Column("trigger_policy", String(48), nullable=False, default="ALL_SUCCESS", server_default="ALL_SUCCESS"),
    # An iteration of a For-each node (services/triggers/nodes.py): the node's instance, the item.
    Column("parent_instance_id", BigInteger),
    Column("item_index", Integer),
)
Index("ix_trigger_task_runs_workflow_execution", trigger_task_runs.c.workflow_execution_id)
Index("ix_trigger_task_runs_project_task", trigger_task_runs.c.project_id, trigger_task_runs.c.task_id)
Index("ix_trigger_task_runs_parent", trigger_task_runs.c.parent_instance_id)
