"""running counts of task instances (PostgreSQL): ListTaskInstances' TotalCount without a COUNT

Every page of ListTaskInstances counted the rows its filters match. For the project's whole list,
or one InstanceState among a million instances, that is a walk of a million index entries
(~90 ms on an idle machine), far over the 50 ms a page may take. ``task_instance_counts`` holds
the counts by project, day of the scheduled time, state, instance type, cycle type and task type
as delta rows, written by
statement triggers on ``task_instances`` in the transaction that makes the change: a sum read in
one snapshot equals the COUNT of the instances that snapshot sees. Writers only insert, so two
transactions never wait for each other on a count row, and a statement of 500 instances adds one
row per key it touches. The engine's sweep folds the deltas (storage/instance_counts.py).

The triggers and the first fill are made in this migration's transaction: CREATE TRIGGER locks
out writers of ``task_instances`` until it commits, so no change made meanwhile is missed or
counted twice. SQLite gets the (empty) table and no trigger: its lists count rows, and the
row-level triggers it offers would add a write to each of the planner's inserts.

Revision ID: 0026_instance_counts
Revises: 0025_list_filters
"""

from alembic import op
import sqlalchemy as sa


revision = '0026_instance_counts'
down_revision = '0025_list_filters'
branch_labels = None
depends_on = None

_KEY = 'project_id, scheduled_day, state, instance_type, cycle_type, task_type_id'
# The same columns read from an instance row: the day is its scheduled time's (UTC).
_ROW = "project_id, date_trunc('day', scheduled_at) AS scheduled_day, state, instance_type, cycle_type, task_type_id"
_BY = 'GROUP BY 1, 2, 3, 4, 5, 6'

_FUNCTIONS = {
    'wedata_instance_counts_insert': f"""
        INSERT INTO task_instance_counts ({_KEY}, n)
        SELECT {_ROW}, count(*) FROM new_rows {_BY};""",
    'wedata_instance_counts_delete': f"""
        INSERT INTO task_instance_counts ({_KEY}, n)
        SELECT {_ROW}, -count(*) FROM old_rows {_BY};""",
    # Most updates change no counted column (a start, an end's times, a lease): nothing is written.
    'wedata_instance_counts_update': f"""
        INSERT INTO task_instance_counts ({_KEY}, n)
        SELECT {_KEY}, sum(d) FROM (
            SELECT {_ROW}, -1 AS d FROM old_rows UNION ALL SELECT {_ROW}, 1 AS d FROM new_rows
        ) AS changed GROUP BY {_KEY} HAVING sum(d) <> 0;""",
    'wedata_instance_counts_truncate': """
        DELETE FROM task_instance_counts;""",
}
_TRIGGERS = [
    ('wedata_instance_counts_insert', 'INSERT', 'REFERENCING NEW TABLE AS new_rows'),
    ('wedata_instance_counts_delete', 'DELETE', 'REFERENCING OLD TABLE AS old_rows'),
    ('wedata_instance_counts_update', 'UPDATE', 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'),
    ('wedata_instance_counts_truncate', 'TRUNCATE', ''),
]


def upgrade() -> None:
    op.create_table(
        'task_instance_counts',
        sa.Column('project_id', sa.String(length=19), nullable=False),
        sa.Column('scheduled_day', sa.DateTime(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('instance_type', sa.Integer(), nullable=False),
        sa.Column('cycle_type', sa.String(length=16), nullable=False),
        sa.Column('task_type_id', sa.Integer(), nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
    )
    op.create_index('ix_task_instance_counts_project', 'task_instance_counts', ['project_id', 'state'])
    if op.get_bind().dialect.name != 'postgresql':
        return
    # The default order's index carries the counted columns: a page filtered by one of them is
    # walked within its day on the index alone (no heap fetch per entry to test the filter).
    op.drop_index('ix_task_instances_project_scheduled', table_name='task_instances')
    op.create_index('ix_task_instances_project_scheduled', 'task_instances', ['project_id', 'scheduled_at', 'id'],
                    postgresql_include=['instance_type', 'cycle_type', 'task_type_id'])
    for name, body in _FUNCTIONS.items():
        op.execute(f'CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n'
                   f'BEGIN{body}\n    RETURN NULL;\nEND $$')
    for name, event, referencing in _TRIGGERS:
        op.execute(f'CREATE TRIGGER {name} AFTER {event} ON task_instances {referencing} '
                   f'FOR EACH STATEMENT EXECUTE FUNCTION {name}()')
    op.execute(f'INSERT INTO task_instance_counts ({_KEY}, n) '
               f'SELECT {_ROW}, count(*) FROM task_instances {_BY}')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name, _event, _referencing in _TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name} ON task_instances')
            op.execute(f'DROP FUNCTION IF EXISTS {name}()')
        op.drop_index('ix_task_instances_project_scheduled', table_name='task_instances')
        op.create_index('ix_task_instances_project_scheduled', 'task_instances', ['project_id', 'scheduled_at', 'id'])
    op.drop_index('ix_task_instance_counts_project', table_name='task_instance_counts')
    op.drop_table('task_instance_counts')
