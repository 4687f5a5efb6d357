"""ListTaskInstances: a StartTime or LastUpdateTime range's page walked in the default order

A page of a StartTime or LastUpdateTime range in the default order (by scheduled time) read the
range from its own index and sorted it: the middle page of a day's 100,000 instances sorted
50,000 (75-95 ms p50). The range's scheduled times usually lie in a narrow window (a day's runs
are that day's instances), so the page is now walked in the order's own index within that window
(services/instances/query.py ``_window_keys``), testing the range on each entry. For that walk to
read the index alone, ``ix_task_instances_project_scheduled`` carries the columns the walk tests:
the start, the last update and the state besides the counted columns it carried (0026).

PostgreSQL only (SQLite keeps the sort). The index is rebuilt in the migration's transaction:
writes of ``task_instances`` wait for it (about 2 s per million instances; docs/deploy.md).

Revision ID: 0035_scheduled_window
Revises: 0034_count_cost
"""

from alembic import op


revision = '0035_scheduled_window'
down_revision = '0034_count_cost'
branch_labels = None
depends_on = None

_COUNTED = ['instance_type', 'cycle_type', 'task_type_id']


def _rebuild(include: list[str]) -> None:
    op.drop_index('ix_task_instances_project_scheduled', table_name='task_instances')
    op.create_index('ix_task_instances_project_scheduled', 'task_instances', ['project_id', 'scheduled_at', 'id'],
                    postgresql_include=include)


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        _rebuild([*_COUNTED, 'state', 'started_at', 'updated_at'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        _rebuild(_COUNTED)
