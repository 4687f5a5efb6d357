"""A new task's row under a fresh TaskId (CreateTask)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from wedata.services.common import new_millis_id
from wedata.services.errors import Duplicate, OperationFailed
from wedata.storage import tables as T


def insert_task(conn: Connection, values: dict[str, Any], now: Any) -> str:
    """Insert a task under a fresh TaskId, retrying when another process took the same id.

    ``ON CONFLICT DO NOTHING`` instead of a savepoint around a plain INSERT: a clash on the id
    or the name inserts nothing and leaves the transaction usable, two round trips less."""
    t = T.tasks
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for _ in range(5):
        task_id = new_millis_id(now)
        try:
            inserted = conn.execute(
                dialect.insert(t).values(id=task_id, **values).on_conflict_do_nothing().returning(t.c.id)
            ).first()
        except IntegrityError:  # not a unique clash (e.g. the workflow went away meanwhile)
            break
        if inserted is not None:
            return task_id
        taken = select(t.c.id).where(t.c.project_id == values["project_id"], t.c.name == values["name"])
        if conn.execute(taken).first() is not None:
            raise Duplicate(f"A task named {values['name']!r} already exists in the project.")
    raise OperationFailed("Could not allocate a TaskId; retry the request.")
