"""name search on PostgreSQL: trigram indexes for task names and ids

ListTasks' TaskName and ListTaskInstances' Keyword match a substring of the task's name (and, for
Keyword, of its id) anywhere in it, which no B-tree serves: PostgreSQL read every task row of the
project (each carries its definition), 115 ms for a rare name among 100,000 tasks and 50 ms
before any instance was read. ``pg_trgm``'s GIN indexes answer ``LIKE '%...%'`` from the index
(0.5 ms and 2 ms). SQLite keeps its scan.

The indexes are on ``lower(name)`` and ``lower(id)``, not on the columns: pg_trgm 1.6 also
answers ``=``, and on a new database without statistics PostgreSQL chose the trigram index of
``id`` over the primary key for every join to ``tasks`` (4.7 ms a look instead of 0.01, half the
throughput of the mixed benchmark). An expression index serves only queries written with the
expression: services/tasks/queries.py and services/instances/query.py match ``lower(...)`` and,
where the match is case-sensitive, check the column itself as well.

``pg_trgm`` ships with PostgreSQL (the contrib modules are in Debian's server package) and is a
trusted extension: a database owner may create it without being a superuser. Where it cannot be
created, the migration says so and goes on without the indexes (the searches work, scanning);
docs/deploy.md ("Name search") gives the statements to add them later.
The index names are in storage/schema.py ``POSTGRES_ONLY_INDEXES``.

Revision ID: 0027_name_search
Revises: 0026_instance_counts
"""

import logging

from alembic import op
import sqlalchemy as sa


revision = '0027_name_search'
down_revision = '0026_instance_counts'
branch_labels = None
depends_on = None

log = logging.getLogger('wedata.migrate')


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != 'postgresql':
        return
    try:
        with conn.begin_nested():
            conn.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
    except sa.exc.DBAPIError as exc:
        log.warning('pg_trgm could not be created (%s): task name and keyword searches will scan the '
                    'tasks; docs/deploy.md ("Name search") shows the statements a database owner can '
                    'run to add the indexes later', str(exc.orig).splitlines()[0])
        return
    op.execute('CREATE INDEX IF NOT EXISTS ix_tasks_name_trgm ON tasks USING gin (lower(name) gin_trgm_ops)')
    op.execute('CREATE INDEX IF NOT EXISTS ix_tasks_id_trgm ON tasks USING gin (lower(id) gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_tasks_id_trgm')
        op.execute('DROP INDEX IF EXISTS ix_tasks_name_trgm')
