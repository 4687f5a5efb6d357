"""ListTasks on PostgreSQL: task folders read as one index range, and Submit from the index alone

``TaskFolderPathList`` keeps the tasks in a folder and its sub-folders. No index served it:
PostgreSQL counted them by reading every task row of the project (each carries its definition):
a quarter of 100,000 tasks in one folder took 50 ms to count and 120 ms for a middle page.
``ix_tasks_project_folder`` holds (project, folder path) with ``text_pattern_ops``, so a prefix
(``LIKE '/a/b%'``, written as a literal by services/folders.py ``under``) is one range of it;
it includes the list's order (created_at, id), so the count and the page read the index alone
(5 and 10 ms). SQLite's LIKE folds case and cannot use a B-tree: it keeps its scan.

``ix_tasks_project_submit`` (0028) indexes an expression of two columns, and PostgreSQL reads an
expression from an index only when the columns it is made of are in the index too: the common
answer of Submit (nearly every task submitted) still read every row (84-109 ms at 100,000). It is
made again on PostgreSQL with those two columns included (18 ms for the count, 7 for a middle page).

The names are in storage/schema.py ``POSTGRES_ONLY_INDEXES`` (the folder index) and the submit
index's ``postgresql_include`` in storage/tables.py.

Revision ID: 0029_folder_prefix
Revises: 0028_submit_indexes
"""

from alembic import op


revision = '0029_folder_prefix'
down_revision = '0028_submit_indexes'
branch_labels = None
depends_on = None

_SUBMITTED = 'coalesce(latest_submit_version_no = latest_version_no, false)'


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('CREATE INDEX IF NOT EXISTS ix_tasks_project_folder ON tasks '
               '(project_id, folder_path text_pattern_ops) INCLUDE (created_at, id)')
    op.execute('DROP INDEX IF EXISTS ix_tasks_project_submit')
    op.execute(f'CREATE INDEX ix_tasks_project_submit ON tasks (project_id, ({_SUBMITTED}), created_at, id) '
               'INCLUDE (latest_submit_version_no, latest_version_no)')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP INDEX IF EXISTS ix_tasks_project_folder')
    op.execute('DROP INDEX IF EXISTS ix_tasks_project_submit')
    op.execute(f'CREATE INDEX ix_tasks_project_submit ON tasks (project_id, ({_SUBMITTED}), created_at, id)')
