"""control flow: the Run Workflow node that started a run, the For-each node of an iteration

Revision ID: 0021_control_flow
Revises: 0018_permissions
"""

from alembic import op
import sqlalchemy as sa


revision = '0021_control_flow'
down_revision = '0023_quality_schedule'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('trigger_workflow_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_instance_id', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_trigger_workflow_runs_parent', ['parent_instance_id'], unique=False)
    with op.batch_alter_table('trigger_task_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_instance_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('item_index', sa.Integer(), nullable=True))
        batch_op.create_index('ix_trigger_task_runs_parent', ['parent_instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('trigger_task_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_trigger_task_runs_parent')
        batch_op.drop_column('item_index')
        batch_op.drop_column('parent_instance_id')
    with op.batch_alter_table('trigger_workflow_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_trigger_workflow_runs_parent')
        batch_op.drop_column('parent_instance_id')
