"""ListTasks' Submit filter: a partial index per answer, in the list's order

``Submit`` compares two columns of a task (its latest saved version and its latest submitted
one), which no ordinary index serves: the count and every page read all the project's task rows,
each carrying its definition (110 ms for the middle page of 100,000). Each index holds the tasks
of one answer in the list's order (project, created_at, id); services/tasks/queries.py filters
with these exact predicates (storage/tables.py ``TASK_SUBMITTED`` / ``TASK_NOT_SUBMITTED``), so
PostgreSQL and SQLite prove the index covers the filter.

Revision ID: 0028_submit_indexes
Revises: 0027_name_search
"""

from alembic import op
import sqlalchemy as sa


revision = '0028_submit_indexes'
down_revision = '0027_name_search'
branch_labels = None
depends_on = None

_SUBMITTED = 'latest_submit_version_no = latest_version_no'
_NOT_SUBMITTED = 'latest_submit_version_no IS NULL OR latest_submit_version_no != latest_version_no'


def upgrade() -> None:
    for name, where in (('ix_tasks_project_submitted', _SUBMITTED), ('ix_tasks_project_not_submitted', _NOT_SUBMITTED)):
        op.create_index(name, 'tasks', ['project_id', 'created_at', 'id'],
                        postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def downgrade() -> None:
    op.drop_index('ix_tasks_project_not_submitted', table_name='tasks')
    op.drop_index('ix_tasks_project_submitted', table_name='tasks')
