"""scale: index-only pages of ListTasks and ListTaskInstances (issue 14, tools/bench/scale.py)

Each list's page of ids is cut by an index walk over (project, sort column, id)
(services/paging.py); the existing project indexes gain the id, the other sort columns of
ListTaskInstances get theirs, and WorkflowId (its most used filter) gets one. The planner's
look for changed tasks reads a covering index instead of the wide task rows.

Revision ID: 0024_scale_indexes
Revises: 0021_control_flow
"""

from alembic import op


revision = '0024_scale_indexes'
down_revision = '0021_control_flow'
branch_labels = None
depends_on = None

_WIDENED = [
    ('tasks', 'ix_tasks_project_created', ['project_id', 'created_at']),
    ('task_instances', 'ix_task_instances_project_scheduled', ['project_id', 'scheduled_at']),
]
_NEW = [
    ('task_instances', 'ix_task_instances_project_started', ['project_id', 'started_at', 'id']),
    ('task_instances', 'ix_task_instances_project_ended', ['project_id', 'ended_at', 'id']),
    ('task_instances', 'ix_task_instances_project_cost', ['project_id', 'cost_ms', 'id']),
    ('task_instances', 'ix_task_instances_workflow_scheduled', ['workflow_id', 'scheduled_at']),
    ('tasks', 'ix_tasks_plan_state', ['id', 'prod_version_id', 'status', 'workflow_id']),
]


def upgrade() -> None:
    for table, name, columns in _WIDENED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
            batch_op.create_index(name, [*columns, 'id'], unique=False)
    for table, name, columns in _NEW:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(_NEW):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    for table, name, columns in reversed(_WIDENED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
