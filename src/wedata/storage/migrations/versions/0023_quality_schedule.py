"""quality: the own cycle of monitoring tasks (MonitorType 3)

Revision ID: 0023_quality_schedule
Revises: 0018_permissions
"""

from alembic import op
import sqlalchemy as sa


revision = '0023_quality_schedule'
down_revision = '0018_permissions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quality_schedules',
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('fire_wall', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['quality_rule_groups.id'], name=op.f('fk_quality_schedules_group_id_quality_rule_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', name=op.f('pk_quality_schedules'))
    )
    with op.batch_alter_table('quality_schedules', schema=None) as batch_op:
        batch_op.create_index('ix_quality_schedules_due', ['due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('quality_schedules', schema=None) as batch_op:
        batch_op.drop_index('ix_quality_schedules_due')

    op.drop_table('quality_schedules')
