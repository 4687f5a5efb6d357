"""ListTasks on PostgreSQL: the list's order index carries the task type and name

A filter that keeps most of a project's tasks is best served by walking the list's own order
(project, created_at, id) and checking each entry; PostgreSQL then sorts nothing, but it read
every walked task row (each carries its definition) to check the type or the name: a middle page
of TaskNodeTypeList (every task a GENERAL one) sorted 100,000 entries of the type index instead
(48 ms), and one of TaskName matching every name walked 50,000 rows (70 ms). With the type and
the name included in ``ix_tasks_project_created`` the walk checks them in the index (19 and 43 ms
measured on a loaded machine; docs/engine.md, "Seventh round"). About a quarter larger
(7.4 -> 9.1 MB at 100,000 tasks).

Revision ID: 0030_list_includes
Revises: 0029_folder_prefix
"""

from alembic import op


revision = '0030_list_includes'
down_revision = '0029_folder_prefix'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP INDEX IF EXISTS ix_tasks_project_created')
    op.execute('CREATE INDEX ix_tasks_project_created ON tasks (project_id, created_at, id) INCLUDE (task_type_id, name)')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP INDEX IF EXISTS ix_tasks_project_created')
    op.execute('CREATE INDEX ix_tasks_project_created ON tasks (project_id, created_at, id)')
