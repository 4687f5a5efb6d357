"""ListTaskInstances on SQLite: the InstanceType, CycleType and TaskTypeId filters from an index alone

On PostgreSQL ``ix_task_instances_project_scheduled`` carries the counted columns (INCLUDE,
0026_instance_counts), so a count or a page filtered by InstanceType, CycleType or TaskTypeId
reads the index alone. SQLite has no INCLUDE: with a year of history (1,000,000 instances,
tools/bench/scale.py --backend sqlite) the count scanned the table (118-216 ms) and a middle
page walked the index and read each entry's row (606-702 ms).

SQLite gets an index of its own with those three columns after the walk's key (project,
scheduled time, id): the walk's order is the same and every entry answers the filters. The
three never change after an instance is made, so the engine's state changes do not touch it;
each new instance writes one more index entry. Measured at 1,000,000 instances: count 51-58 ms,
middle page 76-86 ms. Building it takes about 5 s per million instances, once, while writes of
``task_instances`` wait (docs/deploy.md).

The index is not described on ``metadata`` (SQLAlchemy cannot say "this index on one dialect"):
its name is in storage/schema.py ``SQLITE_ONLY_INDEXES``.

Revision ID: 0037_sqlite_typed_walk
Revises: 0036_name_folded
"""

from alembic import op


revision = '0037_sqlite_typed_walk'
down_revision = '0036_name_folded'
branch_labels = None
depends_on = None

NAME = 'ix_task_instances_project_scheduled_typed'


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'CREATE INDEX IF NOT EXISTS {NAME} ON task_instances '
                   '(project_id, scheduled_at, id, instance_type, cycle_type, task_type_id)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'DROP INDEX IF EXISTS {NAME}')
