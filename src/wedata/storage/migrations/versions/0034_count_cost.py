"""ListTaskInstances: running counts by cost band, where a deep page sorted by COST_TIME starts

The pages sorted by scheduled time, start or end are found among the days' running counts
(0026, 0033) and walked within their day. A page sorted by COST_TIME still walked the cost index
from one end: the middle page of a million instances read 550,000 entries (63-94 ms p99). A cost
has no day; it is counted here in bands about 3 % wide: a cost below 64 ms is a band of its own,
a larger one falls in the band of its 6 leading bits (32 bands per doubling, ~500 between 1 ms and
a day). The band is the first cost it holds, an exact integer on both sides: the triggers compute
it with integer shifts, storage/instance_counts.py ``cost_band`` the same in Python.

The bands would multiply the days' rows by hundreds, so they are ``task_instance_cost_counts``,
a table of their own, written by the same statement triggers, in the same statement as the days'
(an update that changes neither the cost nor a counted column nets to nothing and writes no row),
and folded by the engine's sweep as the days' are. PostgreSQL only (SQLite has no counts); the counts are
made in the migration's transaction: writers of instances wait (about 2 s per million).

Revision ID: 0034_count_cost
Revises: 0033_count_start_end
"""

from alembic import op
import sqlalchemy as sa


revision = '0034_count_cost'
down_revision = '0033_count_start_end'
branch_labels = None
depends_on = None

# The days' counts, as 0033 left them.
_DAY_KEY = 'project_id, scheduled_day, state, instance_type, cycle_type, task_type_id, started_day, ended_day'
_DAY_ROW = ("project_id, date_trunc('day', scheduled_at) AS scheduled_day, state, instance_type, cycle_type, "
            "task_type_id, date_trunc('day', started_at) AS started_day, date_trunc('day', ended_at) AS ended_day")
_DAY_BY = 'GROUP BY 1, 2, 3, 4, 5, 6, 7, 8'

# The cost's bit length is read from its binary text (PostgreSQL has no integer bit length); the
# band keeps its 6 leading bits. Below 64 (negative costs included) the cost is its own band.
_BITS = "length(ltrim(cost_ms::bit(64)::text, '0'))"
_BAND = f"CASE WHEN cost_ms < 64 THEN cost_ms ELSE (cost_ms >> ({_BITS} - 6)) << ({_BITS} - 6) END"
_COST_KEY = 'project_id, cost_band, state, instance_type, cycle_type, task_type_id'
_COST_ROW = f'project_id, {_BAND} AS cost_band, state, instance_type, cycle_type, task_type_id'
_COST_BY = 'GROUP BY 1, 2, 3, 4, 5, 6'

# The instance columns both counts are made of.
_COLUMNS = 'project_id, scheduled_at, started_at, ended_at, cost_ms, state, instance_type, cycle_type, task_type_id'


def _both(changes: str) -> str:
    """One statement writing both tables' deltas from ``changes`` (the changed rows, each with
    its sign ``d``): a statement of its own per table cost each UPDATE of an instance about
    0.1 ms more (a single-row update took 0.33 ms with the days' counts alone, 0.41-0.45 with two
    statements, 0.36-0.38 with one)."""
    return f"""
        WITH changed AS ({changes}),
        days AS (
            INSERT INTO task_instance_counts ({_DAY_KEY}, n)
            SELECT {_DAY_ROW}, sum(d) FROM changed {_DAY_BY} HAVING sum(d) <> 0
        )
        INSERT INTO task_instance_cost_counts ({_COST_KEY}, n)
        SELECT {_COST_ROW}, sum(d) FROM changed {_COST_BY} HAVING sum(d) <> 0;"""


def _functions(cost: bool) -> dict[str, str]:
    if cost:
        return {
            'wedata_instance_counts_insert': _both(f'SELECT {_COLUMNS}, 1 AS d FROM new_rows'),
            'wedata_instance_counts_delete': _both(f'SELECT {_COLUMNS}, -1 AS d FROM old_rows'),
            # Most updates change no counted column (a lease, a heartbeat): nothing is written.
            'wedata_instance_counts_update': _both(f'SELECT {_COLUMNS}, -1 AS d FROM old_rows UNION ALL '
                                                   f'SELECT {_COLUMNS}, 1 AS d FROM new_rows'),
            'wedata_instance_counts_truncate': """
        DELETE FROM task_instance_counts;
        DELETE FROM task_instance_cost_counts;""",
        }
    # As 0033 left them (the downgrade).
    return {
        'wedata_instance_counts_insert': f"""
        INSERT INTO task_instance_counts ({_DAY_KEY}, n)
        SELECT {_DAY_ROW}, count(*) FROM new_rows {_DAY_BY};""",
        'wedata_instance_counts_delete': f"""
        INSERT INTO task_instance_counts ({_DAY_KEY}, n)
        SELECT {_DAY_ROW}, -count(*) FROM old_rows {_DAY_BY};""",
        'wedata_instance_counts_update': f"""
        INSERT INTO task_instance_counts ({_DAY_KEY}, n)
        SELECT {_DAY_KEY}, sum(d) FROM (
            SELECT {_DAY_ROW}, -1 AS d FROM old_rows UNION ALL SELECT {_DAY_ROW}, 1 AS d FROM new_rows
        ) AS changed GROUP BY {_DAY_KEY} HAVING sum(d) <> 0;""",
        'wedata_instance_counts_truncate': """
        DELETE FROM task_instance_counts;""",
    }


def _install(cost: bool) -> None:
    for name, body in _functions(cost).items():
        op.execute(f'CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n'
                   f'BEGIN{body}\n    RETURN NULL;\nEND $$')


def upgrade() -> None:
    op.create_table(
        'task_instance_cost_counts',
        sa.Column('project_id', sa.String(length=19), nullable=False),
        sa.Column('cost_band', sa.BigInteger(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('instance_type', sa.Integer(), nullable=False),
        sa.Column('cycle_type', sa.String(length=16), nullable=False),
        sa.Column('task_type_id', sa.Integer(), nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
    )
    op.create_index('ix_task_instance_cost_counts_project', 'task_instance_cost_counts', ['project_id', 'state'])
    if op.get_bind().dialect.name != 'postgresql':
        return
    # Functions replaced and the counts made in this transaction: the triggers' statements wait
    # for it (the functions are read when a statement runs), so nothing is missed or counted twice.
    op.execute('LOCK TABLE task_instances IN SHARE ROW EXCLUSIVE MODE')
    _install(cost=True)
    op.execute(f'INSERT INTO task_instance_cost_counts ({_COST_KEY}, n) '
               f'SELECT {_COST_ROW}, count(*) FROM task_instances {_COST_BY}')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        _install(cost=False)
    op.drop_index('ix_task_instance_cost_counts_project', table_name='task_instance_cost_counts')
    op.drop_table('task_instance_cost_counts')
