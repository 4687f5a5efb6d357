"""ListTasks' Submit filter: the comparison indexed as an expression, in the list's order

``Submit`` compares two columns of a task (its latest saved version and its latest submitted
one), which no ordinary index serves: the count and every page read all the project's task rows,
each carrying its definition (32 ms to find that none of 100,000 tasks is unsubmitted). The index
holds ``coalesce(latest_submit_version_no = latest_version_no, false)`` after the project and
before the list's order (created_at, id); services/tasks/queries.py filters on exactly that
expression (storage/tables.py ``task_submitted``): the rarer answer (usually "not submitted") is
read from the index, 0.0 ms for none. PostgreSQL also keeps statistics of an indexed expression,
so it knows how many tasks are submitted: two partial indexes were tried first, and without
statistics of the comparison PostgreSQL guessed 0.5 % submitted and read the whole "submitted"
index whenever Submit was combined with a selective filter (8 -> 74 ms). The common answer, most
of a project, is still counted by reading the rows (an expression index gives no index-only scan).

Revision ID: 0028_submit_indexes
Revises: 0027_name_search
"""

from alembic import op
import sqlalchemy as sa


revision = '0028_submit_indexes'
down_revision = '0027_name_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    false = 'false' if op.get_bind().dialect.name == 'postgresql' else '0'
    op.create_index('ix_tasks_project_submit', 'tasks', [
        'project_id', sa.text(f'coalesce(latest_submit_version_no = latest_version_no, {false})'), 'created_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_tasks_project_submit', table_name='tasks')
