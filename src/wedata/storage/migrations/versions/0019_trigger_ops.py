"""trigger ops: the concurrency gate of workflow runs (queued_at, admitted_at), RerunTimes, and
each task run's DependencyTriggerPolicy

Revision ID: 0019_trigger_ops
Revises: 0015
"""

from alembic import op
import sqlalchemy as sa


revision = '0019_trigger_ops'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('trigger_workflow_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('admitted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('rerun_times', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_trigger_workflow_runs_state', ['workflow_id', 'state'], unique=False)
    with op.batch_alter_table('trigger_task_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trigger_policy', sa.String(length=48), server_default='ALL_SUCCESS',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('trigger_task_runs', schema=None) as batch_op:
        batch_op.drop_column('trigger_policy')
    with op.batch_alter_table('trigger_workflow_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_trigger_workflow_runs_state')
        batch_op.drop_column('rerun_times')
        batch_op.drop_column('admitted_at')
        batch_op.drop_column('queued_at')
