"""The complete schema: importing this module registers every table module on ``metadata``.

Alembic's environment and the schema tests use it, so a table module that is not listed here is
caught by ``tests/storage/test_migrations.py``.
"""

from __future__ import annotations

from wedata.storage import (  # noqa: F401  (imported for their tables)
    alarm_tables,
    backfill_tables,
    catalog_tables,
    code_tables,
    datasource_tables,
    engine_tables,
    event_tables,
    lake_tables,
    lineage_tables,
    ops_tables,
    permission_tables,
    quality_tables,
    resource_tables,
    sql_tables,
    tables,
    trigger_firing_tables,
    trigger_tables,
    worker_tables,
)
from wedata.storage.tables import metadata

__all__ = ["metadata"]

# Indexes made by migrations on PostgreSQL alone and not described on ``metadata`` (SQLAlchemy
# cannot say "this index only on one dialect"): the trigram indexes of task names and ids
# (0027_name_search) and the prefix index of task folder paths (0029_folder_prefix). Autogenerate
# and the schema test leave them out.
POSTGRES_ONLY_INDEXES = frozenset({"ix_tasks_name_trgm", "ix_tasks_id_trgm", "ix_tasks_project_folder"})
# ... and on SQLite alone: the instance list's walk with the columns PostgreSQL's index includes
# (0037_sqlite_typed_walk).
SQLITE_ONLY_INDEXES = frozenset({"ix_task_instances_project_scheduled_typed"})


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's ``include_object``: everything but the indexes of one dialect alone."""
    return not (type_ == "index" and name in POSTGRES_ONLY_INDEXES | SQLITE_ONLY_INDEXES)
