"""permissions: workflow grants and catalog grants

Revision ID: 0018_permissions
Revises: 0015
"""

from alembic import op
import sqlalchemy as sa


revision = '0018_permissions'
down_revision = '0016_quality'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('workflow_grants',
    sa.Column('project_id', sa.String(length=19), nullable=False),
    sa.Column('entity_type', sa.String(length=16), nullable=False),
    sa.Column('entity_id', sa.String(length=36), nullable=False),
    sa.Column('target_type', sa.String(length=8), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('permission', sa.String(length=16), nullable=False),
    sa.Column('granted_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_workflow_grants_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'entity_type', 'entity_id', 'target_type', 'target_id', 'permission', name=op.f('pk_workflow_grants'))
    )
    op.create_index('ix_workflow_grants_entity', 'workflow_grants', ['entity_id'], unique=False)
    op.create_table('catalog_grants',
    sa.Column('catalog_name', sa.String(length=255), nullable=False),
    sa.Column('schema_name', sa.String(length=255), nullable=False),
    sa.Column('table_name', sa.String(length=255), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('subject_value', sa.String(length=64), nullable=False),
    sa.Column('privilege', sa.String(length=32), nullable=False),
    sa.Column('granted_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('catalog_name', 'schema_name', 'table_name', 'subject_type', 'subject_value', 'privilege', name=op.f('pk_catalog_grants'))
    )


def downgrade() -> None:
    op.drop_table('catalog_grants')
    op.drop_index('ix_workflow_grants_entity', table_name='workflow_grants')
    op.drop_table('workflow_grants')
