"""The task's owner, copied onto each of its instances (``task_instances.owner_uin``).

ListTaskInstances' OwnerUin went through the tasks: on a million instances, an owner of 10,000
tasks cost a probe of each task's instances to count them (~40 ms) and a sort of all 100,000
matches for a middle page. The copy gives the filter an index of its own,
``ix_task_instances_project_owner`` (migration 0031_instance_owner), so both read the index
alone. The copy is made with the instance (scheduler/planner.py ``instance_row``: every
instance is made there) and must follow the task: each statement that changes
``tasks.owner_uin`` calls :func:`follow` in its transaction (UpdateTask, UpdateTaskOwner,
UpdateOpsTriggerTasksOwner). tests/actions/instances/test_instance_owner.py checks each.

Null means "not copied yet": the instances made before the migration are filled by it, and
those a process of the previous version makes while a rolling upgrade is under way
(docs/deploy.md) by the engine's sweep (:func:`fill_missing`), found through a partial index that
holds only them. An instance whose task is gone gets ``''``.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, func, select, update

from wedata.storage.engine_tables import task_instances as TI
from wedata.storage.tables import tasks

_TASK_OWNER = func.coalesce(select(tasks.c.owner_uin).where(tasks.c.id == TI.c.task_id).scalar_subquery(), "")


def follow(conn: Connection, task_ids: Collection[str], owner: str) -> None:
    """Give the instances of ``task_ids`` the owner ``owner`` (rows that have it already are
    left alone: no new row version for nothing). Neither a state change nor an update of the
    instance: ``updated_at`` and ``row_version`` stay."""
    if task_ids:
        conn.execute(update(TI).where(TI.c.task_id.in_(sorted(task_ids)), TI.c.owner_uin.is_distinct_from(owner))
                     .values(owner_uin=owner))


FILL_BATCH = 5000


def fill_missing(conn: Connection, limit: int = FILL_BATCH) -> int:
    """Copy the owner onto up to ``limit`` instances that have none; how many were filled."""
    ids = conn.execute(select(TI.c.id).where(TI.c.owner_uin.is_(None)).order_by(TI.c.id).limit(limit)).scalars().all()
    if ids:
        conn.execute(update(TI).where(TI.c.id.in_(ids)).values(owner_uin=_TASK_OWNER))
    return len(ids)
