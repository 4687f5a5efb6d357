"""lake engines: named DuckDB lake engines bound to projects (AddCalcEnginesToProject)

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('project_lake_engines',
    sa.Column('project_id', sa.String(length=19), nullable=False),
    sa.Column('engine_name', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('default_database', sa.String(length=128), nullable=False),
    sa.Column('standard_mode_env_tag', sa.String(length=16), nullable=True),
    sa.Column('access_account', sa.String(length=16), nullable=True),
    sa.Column('sub_account_uin', sa.String(length=32), nullable=True),
    sa.Column('create_user_uin', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_lake_engines_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'engine_name', name=op.f('pk_project_lake_engines'))
    )


def downgrade() -> None:
    op.drop_table('project_lake_engines')
