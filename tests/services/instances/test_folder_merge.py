"""ListTaskInstances' FolderId, on SQLite and PostgreSQL: the folder alone is read as one walk
per workflow of the folder, merged (services/paging.py ``merged_keys``), with neither the walks
nor the count on the project's condition; with another filter the plain statement is left to
the database. Both give every page as the slice of the whole order. (The SDK test of FolderId is
tests/actions/instances/test_instances.py.)"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from tests.scheduler.helpers import World, statements
from wedata.services.instances.query import list_instances
from wedata.spec import models as M
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances

DAY0 = datetime(2025, 3, 1)


def _folder_world(db: Database) -> tuple[World, str, set[int]]:
    """Three workflows in a folder /f (and the world's own, outside it), instances in each at
    the same hours (ties in the order); the folder's id and its instances' ids."""
    w = World(db, DAY0)
    folder = str(uuid.uuid4())
    inside = [str(uuid.uuid4()) for _ in range(3)]
    with db.write() as conn:
        conn.execute(insert(T.workflow_folders).values(id=folder, project_id=w.project_id, path="/f", parent_path="/",
                                                       name="f", creator_uin="1", created_at=DAY0))
        conn.execute(insert(T.workflows), [{
            "id": wid, "project_id": w.project_id, "name": f"wf{i}", "folder_path": "/f", "workflow_type": "cycle",
            "description": "", "owner_uin": "1", "create_user_uin": "1", "update_user_uin": "1",
            "created_at": DAY0, "updated_at": DAY0} for i, wid in enumerate(inside)])
    tasks = [w.task() for _ in range(4)]
    rows = []
    for i in range(40):
        when = DAY0 + timedelta(hours=i // 2)
        rows.append({"task_id": tasks[i % 4], "data_time": when + timedelta(seconds=i), "project_id": w.project_id,
                     "workflow_id": (inside + [w.workflow_id])[i % 4], "version_id": "v", "instance_type": 1,
                     "state": "COMPLETED" if i % 3 else "EXPIRED", "scheduled_at": when, "cycle_type": "DAY_CYCLE",
                     "task_type_id": 35, "try_limit": 1, "created_at": when, "updated_at": when,
                     "owner_uin": "1"})
    with db.write() as conn:
        conn.execute(insert(task_instances), rows)
        ids = [r[0] for r in conn.execute(task_instances.select().with_only_columns(
            task_instances.c.id, task_instances.c.workflow_id).where(task_instances.c.project_id == w.project_id))
            if r[1] in inside]
    return w, folder, set(ids)


def test_the_folder_alone_is_merged_and_another_filter_is_not(db: Database) -> None:
    w, folder, mine = _folder_world(db)
    for filters, merged in (({}, True), ({"instance_state": "EXPIRED"}, False)):
        for sort_type in ("DESC", "ASC"):
            def page(number: int, size: int, sort_type: str = sort_type, filters: dict[str, Any] = filters) -> Any:
                with db.read() as conn:
                    return list_instances(conn, M.ListTaskInstancesRequest(
                        project_id=w.project_id, folder_id=folder, page_number=number, page_size=size,
                        sort_type=sort_type, **filters))

            whole = page(1, 100)
            got = [r["id"] for r in whole.items]
            assert set(got) <= mine and whole.total == len(got) > 0
            assert set(got) == mine or filters
            order = [(r["scheduled_at"], r["id"]) for r in whole.items]
            assert order == sorted(order, reverse=sort_type == "DESC")  # ties broken by the instance
            with statements(db) as seen:
                pages = [r["id"] for n in range(1, len(got) // 4 + 2) for r in page(n, 4).items]
            assert pages == got, (filters, sort_type)
            unions = [s for s in seen if "UNION ALL" in s]
            counts = [s for s in seen if "count(" in s.lower()]
            assert bool(unions) == merged, (filters, seen)
            if merged:  # neither the walks nor the count carry the project's condition
                assert counts and not any("project_id" in s.split("WHERE", 1)[1] for s in counts + unions)
    with db.read() as conn:  # an unknown folder: nothing
        empty = list_instances(conn, M.ListTaskInstancesRequest(project_id=w.project_id, folder_id="no-such-folder"))
        assert (empty.total, empty.items) == (0, [])
