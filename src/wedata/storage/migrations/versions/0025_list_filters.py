"""list filters at scale: BundleId as a column, InstanceState, ExecutorGroupId and LastUpdateTime indexes

ListTasks' BundleId filter read every task's definition (838 ms for 100,000 tasks, with no
match); it is now the column ``tasks.bundle_id`` (copied from the definition's
TaskConfiguration.BundleId on every save, filled here for the tasks saved before), indexed with
the project. ListTaskInstances' ExecutorGroupId scanned the table (104 ms for 1,000,000
instances, with no match), InstanceState walked the project's instances in the default order
reading each row's state (144 ms for the first page of 27,000 failed runs among 1,000,000) and
LastUpdateTime read the rows of the matching range from a global
index to keep the project's (460 ms for a day of 100,000): each gets an index led by the project.
ListTasks' OwnerUin, CreateUserUin, TaskTypeId and Status get an index with the list's order
(OwnerUin's middle page of 10,000 among 100,000: 160 ms walking every task), and ModifyTime one
that carries created_at. The StartTime and LastUpdateTime indexes carry scheduled_at, the default order, so a range's
page is sorted from the index alone (services/instances/query.py).

Revision ID: 0025_list_filters
Revises: 0024_scale_indexes
"""

from alembic import op
import sqlalchemy as sa


revision = '0025_list_filters'
down_revision = '0024_scale_indexes'
branch_labels = None
depends_on = None

BUNDLE_MAX = 256  # services/tasks/definition.py: longer BundleIds are refused
# ListTasks' equality filters with its order (newest first); ModifyTime's range carries created_at.
_TASK_INDEXES = [
    ('ix_tasks_project_status', ['project_id', 'status', 'created_at', 'id']),
    ('ix_tasks_project_owner', ['project_id', 'owner_uin', 'created_at', 'id']),
    ('ix_tasks_project_creator', ['project_id', 'create_user_uin', 'created_at', 'id']),
    ('ix_tasks_project_type', ['project_id', 'task_type_id', 'created_at', 'id']),
    ('ix_tasks_project_updated', ['project_id', 'updated_at', 'id', 'created_at']),
]


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bundle_id', sa.String(length=BUNDLE_MAX), nullable=True))
    conn = op.get_bind()
    tasks = sa.table('tasks', sa.column('id', sa.String), sa.column('definition', sa.JSON),
                     sa.column('bundle_id', sa.String))
    found = []
    for task_id, definition in conn.execute(sa.select(tasks.c.id, tasks.c.definition)):
        bundle = ((definition or {}).get('TaskConfiguration') or {}).get('BundleId')
        if isinstance(bundle, str) and bundle and len(bundle) <= BUNDLE_MAX:
            found.append({'tid': task_id, 'bundle': bundle})
    if found:
        conn.execute(sa.update(tasks).where(tasks.c.id == sa.bindparam('tid'))
                     .values(bundle_id=sa.bindparam('bundle')), found)
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_project_bundle', ['project_id', 'bundle_id'], unique=False)
        batch_op.drop_index('ix_tasks_project_status')
        for name, columns in _TASK_INDEXES:
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table('task_instances', schema=None) as batch_op:
        batch_op.create_index('ix_task_instances_project_state', ['project_id', 'state', 'scheduled_at', 'id'],
                              unique=False)
        batch_op.create_index('ix_task_instances_project_group',
                              ['project_id', 'resource_group_id', 'scheduled_at', 'id'], unique=False)
        batch_op.drop_index('ix_task_instances_updated')
        batch_op.create_index('ix_task_instances_project_updated', ['project_id', 'updated_at', 'id', 'scheduled_at'],
                              unique=False)
        batch_op.drop_index('ix_task_instances_project_started')
        batch_op.create_index('ix_task_instances_project_started', ['project_id', 'started_at', 'id', 'scheduled_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('task_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_task_instances_project_started')
        batch_op.create_index('ix_task_instances_project_started', ['project_id', 'started_at', 'id'], unique=False)
        batch_op.drop_index('ix_task_instances_project_updated')
        batch_op.create_index('ix_task_instances_updated', ['updated_at'], unique=False)
        batch_op.drop_index('ix_task_instances_project_group')
        batch_op.drop_index('ix_task_instances_project_state')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        for name, _columns in reversed(_TASK_INDEXES):
            batch_op.drop_index(name)
        batch_op.create_index('ix_tasks_project_status', ['project_id', 'status'], unique=False)
        batch_op.drop_index('ix_tasks_project_bundle')
        batch_op.drop_column('bundle_id')
