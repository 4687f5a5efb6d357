"""ListTaskInstances' FolderId: a workflow's instances indexed in the list's order

``ix_task_instances_workflow_scheduled`` (workflow, scheduled_at) gains the id, the list's
tie-breaker. A folder's page is then one walk of this index per workflow of the folder, merged
(services/paging.py ``merged_keys``), and its count reads the index alone: the middle page of a
folder's 100,000 instances sorted them all (176 ms p99), merged it reads half as many index
entries and sorts nothing.

The index is rebuilt in the migration's transaction: writes of ``task_instances`` wait for it
(about 1.5 s per million instances on PostgreSQL; docs/deploy.md).

Revision ID: 0032_workflow_order
Revises: 0031_instance_owner
"""

from alembic import op


revision = '0032_workflow_order'
down_revision = '0031_instance_owner'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_task_instances_workflow_scheduled', table_name='task_instances')
    op.create_index('ix_task_instances_workflow_scheduled', 'task_instances', ['workflow_id', 'scheduled_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_task_instances_workflow_scheduled', table_name='task_instances')
    op.create_index('ix_task_instances_workflow_scheduled', 'task_instances', ['workflow_id', 'scheduled_at'])
