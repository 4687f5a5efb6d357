"""ListTaskInstances: the task's owner on each instance, with an index for OwnerUin

The OwnerUin filter went through the tasks: the count probed the instances of each of the
owner's tasks (~40 ms for 10,000 tasks of a million instances) and a middle page sorted every
match (100,000: 136 ms p99). ``task_instances.owner_uin`` is a copy of ``tasks.owner_uin``, kept
by the code that changes it (storage/instance_owner.py), and ``ix_task_instances_project_owner``
(project, owner, scheduled_at, id) answers the count and any page from the index alone.

The fill is one UPDATE of every instance, inside the migration's transaction: the engine's
writes of instances wait for it (docs/deploy.md has its length). An instance of a task that is
gone gets ``''``; null is left to the instances a process of the previous version makes after
this migration, which the engine's sweep fills, finding them through the partial index
``ix_task_instances_owner_missing``.

Revision ID: 0031_instance_owner
Revises: 0030_list_includes
"""

import sqlalchemy as sa
from alembic import op


revision = '0031_instance_owner'
down_revision = '0030_list_includes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('task_instances') as batch:
        batch.add_column(sa.Column('owner_uin', sa.String(32), nullable=True))
    op.execute("UPDATE task_instances SET owner_uin = "
               "COALESCE((SELECT t.owner_uin FROM tasks t WHERE t.id = task_instances.task_id), '')")
    op.create_index('ix_task_instances_project_owner', 'task_instances',
                    ['project_id', 'owner_uin', 'scheduled_at', 'id'])
    missing = sa.text('owner_uin IS NULL')
    op.create_index('ix_task_instances_owner_missing', 'task_instances', ['id'],
                    postgresql_where=missing, sqlite_where=missing)


def downgrade() -> None:
    op.drop_index('ix_task_instances_owner_missing', table_name='task_instances')
    op.drop_index('ix_task_instances_project_owner', table_name='task_instances')
    with op.batch_alter_table('task_instances') as batch:
        batch.drop_column('owner_uin')
