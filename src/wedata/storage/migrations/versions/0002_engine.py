"""engine: task instances, executions, instance dependencies, event waits, transitions, plans, nodes

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scheduler_nodes',
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
    sa.Column('stopped_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('node_id', name=op.f('pk_scheduler_nodes'))
    )
    op.create_table('task_instances',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.String(length=24), nullable=False),
    sa.Column('data_time', sa.DateTime(), nullable=False),
    sa.Column('project_id', sa.String(length=19), nullable=False),
    sa.Column('workflow_id', sa.String(length=36), nullable=False),
    sa.Column('version_id', sa.String(length=64), nullable=False),
    sa.Column('instance_type', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('resource_group_id', sa.String(length=32), nullable=True),
    sa.Column('self_depend', sa.String(length=8), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('cycle_type', sa.String(length=16), nullable=False),
    sa.Column('task_type_id', sa.Integer(), nullable=False),
    sa.Column('life_round_num', sa.Integer(), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('try_limit', sa.Integer(), nullable=False),
    sa.Column('total_run_num', sa.Integer(), nullable=False),
    sa.Column('run_type', sa.String(length=24), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('cost_ms', sa.BigInteger(), nullable=True),
    sa.Column('wait_since', sa.DateTime(), nullable=True),
    sa.Column('retry_at', sa.DateTime(), nullable=True),
    sa.Column('deadline_at', sa.DateTime(), nullable=True),
    sa.Column('error_msg', sa.Text(), nullable=True),
    sa.Column('outputs', sa.JSON(), nullable=True),
    sa.Column('skip_events', sa.Boolean(), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_instances')),
    sa.UniqueConstraint('task_id', 'data_time', name=op.f('uq_task_instances_task_id_data_time'))
    )
    with op.batch_alter_table('task_instances', schema=None) as batch_op:
        batch_op.create_index('ix_task_instances_deadline', ['deadline_at'], unique=False)
        batch_op.create_index('ix_task_instances_project_scheduled', ['project_id', 'scheduled_at'], unique=False)
        batch_op.create_index('ix_task_instances_state_retry', ['state', 'retry_at'], unique=False)
        batch_op.create_index('ix_task_instances_state_scheduled', ['state', 'scheduled_at'], unique=False)
        batch_op.create_index('ix_task_instances_task_state', ['task_id', 'state'], unique=False)
        batch_op.create_index('ix_task_instances_updated', ['updated_at'], unique=False)

    op.create_table('task_plans',
    sa.Column('task_id', sa.String(length=24), nullable=False),
    sa.Column('version_id', sa.String(length=64), nullable=True),
    sa.Column('task_status', sa.String(length=8), nullable=False),
    sa.Column('planned_through', sa.DateTime(), nullable=True),
    sa.Column('next_plan_at', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('task_id', name=op.f('pk_task_plans'))
    )
    with op.batch_alter_table('task_plans', schema=None) as batch_op:
        batch_op.create_index('ix_task_plans_next_plan_at', ['next_plan_at'], unique=False)

    op.create_table('instance_deps',
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('upstream_task_id', sa.String(length=24), nullable=False),
    sa.Column('upstream_data_time', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('met', sa.Boolean(), nullable=False),
    sa.Column('on_missing', sa.Boolean(), nullable=False),
    sa.Column('on_failed', sa.Boolean(), nullable=False),
    sa.Column('timeout_minutes', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['task_instances.id'], name=op.f('fk_instance_deps_instance_id_task_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', 'upstream_task_id', 'upstream_data_time', name=op.f('pk_instance_deps'))
    )
    with op.batch_alter_table('instance_deps', schema=None) as batch_op:
        batch_op.create_index('ix_instance_deps_upstream', ['upstream_task_id', 'upstream_data_time'], unique=False)

    op.create_table('instance_event_waits',
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_name', sa.String(length=256), nullable=False),
    sa.Column('dimension', sa.String(length=14), nullable=False),
    sa.Column('broadcast_type', sa.String(length=16), nullable=False),
    sa.Column('met', sa.Boolean(), nullable=False),
    sa.Column('met_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['task_instances.id'], name=op.f('fk_instance_event_waits_instance_id_task_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', 'event_name', name=op.f('pk_instance_event_waits'))
    )
    with op.batch_alter_table('instance_event_waits', schema=None) as batch_op:
        batch_op.create_index('ix_instance_event_waits_event', ['event_name', 'dimension'], unique=False)

    op.create_table('instance_executions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('life_round_num', sa.Integer(), nullable=False),
    sa.Column('try_no', sa.Integer(), nullable=False),
    sa.Column('run_type', sa.String(length=24), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('log_path', sa.String(length=1024), nullable=True),
    sa.Column('log_offset', sa.BigInteger(), nullable=False),
    sa.Column('code_content', sa.Text(), nullable=True),
    sa.Column('executor', sa.String(length=32), nullable=True),
    sa.Column('handle', sa.JSON(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('node_id', sa.String(length=64), nullable=True),
    sa.Column('error_msg', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['task_instances.id'], name=op.f('fk_instance_executions_instance_id_task_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instance_executions')),
    sa.UniqueConstraint('instance_id', 'life_round_num', 'try_no', name=op.f('uq_instance_executions_instance_id_life_round_num_try_no'))
    )
    with op.batch_alter_table('instance_executions', schema=None) as batch_op:
        batch_op.create_index('ix_instance_executions_state', ['state'], unique=False)

    op.create_table('instance_transitions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('life_round_num', sa.Integer(), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['task_instances.id'], name=op.f('fk_instance_transitions_instance_id_task_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instance_transitions'))
    )
    with op.batch_alter_table('instance_transitions', schema=None) as batch_op:
        batch_op.create_index('ix_instance_transitions_instance', ['instance_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('instance_transitions', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_transitions_instance')

    op.drop_table('instance_transitions')
    with op.batch_alter_table('instance_executions', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_executions_state')

    op.drop_table('instance_executions')
    with op.batch_alter_table('instance_event_waits', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_event_waits_event')

    op.drop_table('instance_event_waits')
    with op.batch_alter_table('instance_deps', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_deps_upstream')

    op.drop_table('instance_deps')
    with op.batch_alter_table('task_plans', schema=None) as batch_op:
        batch_op.drop_index('ix_task_plans_next_plan_at')

    op.drop_table('task_plans')
    with op.batch_alter_table('task_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_task_instances_updated')
        batch_op.drop_index('ix_task_instances_task_state')
        batch_op.drop_index('ix_task_instances_state_scheduled')
        batch_op.drop_index('ix_task_instances_state_retry')
        batch_op.drop_index('ix_task_instances_project_scheduled')
        batch_op.drop_index('ix_task_instances_deadline')

    op.drop_table('task_instances')
    op.drop_table('scheduler_nodes')
