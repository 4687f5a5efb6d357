"""ListTasks' TaskName: the task's name lowered once, when it is written

A TaskName search lowers every name it checks (``lower(name) LIKE lower('%word%')``): for a word
in every name of 100,000 tasks, the count lowered 100,000 names and a middle page 50,000 more,
and the lowering was half the statement's time (count 33 -> 16 ms, middle page's keys 19 -> 7 ms
with the lowered name at hand, measured in psql on the scale benchmark's database). The name is
now also kept lowered, in ``tasks.name_folded``, a generated column the database computes on
every write of the name, so no code path can forget it:

- PostgreSQL: a STORED column (the table is rewritten: about 3 s for 100,000 tasks, during which
  writes of ``tasks`` wait; docs/deploy.md). ``ix_tasks_project_created`` includes it instead of
  the name, and the trigram index of the name search (0027) is rebuilt on it, when pg_trgm is
  there;
- SQLite: a VIRTUAL column (SQLite cannot add a stored one to a table), computed when read, so
  its searches cost what they did.

Revision ID: 0036_name_folded
Revises: 0035_scheduled_window
"""

import sqlalchemy as sa
from alembic import op


revision = '0036_name_folded'
down_revision = '0035_scheduled_window'
branch_labels = None
depends_on = None


def _has_trigram_index(conn: sa.Connection) -> bool:
    return conn.execute(sa.text("SELECT 1 FROM pg_indexes WHERE indexname = 'ix_tasks_name_trgm'")).first() is not None


def _created_including(column: str) -> None:
    op.execute('DROP INDEX IF EXISTS ix_tasks_project_created')
    op.execute(f'CREATE INDEX ix_tasks_project_created ON tasks (project_id, created_at, id) INCLUDE (task_type_id, {column})')


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != 'postgresql':
        op.execute('ALTER TABLE tasks ADD COLUMN name_folded TEXT GENERATED ALWAYS AS (lower(name)) VIRTUAL')
        return
    trigram = _has_trigram_index(conn)
    op.execute('DROP INDEX IF EXISTS ix_tasks_name_trgm')
    op.execute('ALTER TABLE tasks ADD COLUMN name_folded TEXT GENERATED ALWAYS AS (lower(name)) STORED')
    _created_including('name_folded')
    if trigram:
        op.execute('CREATE INDEX ix_tasks_name_trgm ON tasks USING gin (name_folded gin_trgm_ops)')


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != 'postgresql':
        op.execute('ALTER TABLE tasks DROP COLUMN name_folded')
        return
    trigram = _has_trigram_index(conn)
    op.execute('DROP INDEX IF EXISTS ix_tasks_name_trgm')
    _created_including('name')
    op.execute('ALTER TABLE tasks DROP COLUMN name_folded')
    if trigram:
        op.execute('CREATE INDEX ix_tasks_name_trgm ON tasks USING gin (lower(name) gin_trgm_ops)')
