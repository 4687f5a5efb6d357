"""code: code studio folders and files, their versions, code permissions

Revision ID: 0017_code_files
Revises: 0015
"""

from alembic import op
import sqlalchemy as sa


revision = '0017_code_files'
down_revision = '0020_trigger_firing'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('code_nodes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=19), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('tree', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('parent_path', sa.String(length=1024), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('owner_uin', sa.String(length=32), nullable=False),
    sa.Column('update_user_uin', sa.String(length=32), nullable=False),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('config', sa.JSON(), nullable=True),
    sa.Column('version_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_code_nodes_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_code_nodes')),
    sa.UniqueConstraint('project_id', 'tree', 'path', name=op.f('uq_code_nodes_project_id_tree_path'))
    )
    with op.batch_alter_table('code_nodes', schema=None) as batch_op:
        batch_op.create_index('ix_code_nodes_tree_parent', ['project_id', 'tree', 'parent_path'], unique=False)

    op.create_table('code_versions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('file_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=19), nullable=False),
    sa.Column('version_no', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=True),
    sa.Column('create_user_uin', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['code_nodes.id'], name=op.f('fk_code_versions_file_id_code_nodes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_code_versions_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_code_versions')),
    sa.UniqueConstraint('file_id', 'version_no', name=op.f('uq_code_versions_file_id_version_no'))
    )

    op.create_table('code_grants',
    sa.Column('node_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=19), nullable=False),
    sa.Column('subject_type', sa.String(length=8), nullable=False),
    sa.Column('subject_id', sa.String(length=32), nullable=False),
    sa.Column('privilege', sa.String(length=16), nullable=False),
    sa.Column('granted_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['code_nodes.id'], name=op.f('fk_code_grants_node_id_code_nodes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_code_grants_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('node_id', 'subject_type', 'subject_id', 'privilege', name=op.f('pk_code_grants'))
    )
    with op.batch_alter_table('code_grants', schema=None) as batch_op:
        batch_op.create_index('ix_code_grants_subject', ['project_id', 'subject_type', 'subject_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('code_grants', schema=None) as batch_op:
        batch_op.drop_index('ix_code_grants_subject')
    op.drop_table('code_grants')
    op.drop_table('code_versions')
    with op.batch_alter_table('code_nodes', schema=None) as batch_op:
        batch_op.drop_index('ix_code_nodes_tree_parent')
    op.drop_table('code_nodes')
