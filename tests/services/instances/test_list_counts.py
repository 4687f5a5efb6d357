"""ListTaskInstances' TotalCount, on SQLite and PostgreSQL: equal to the rows matched for every
filter, and on PostgreSQL read from the running counts (storage/instance_counts.py) exactly when
no other filter than InstanceState, InstanceType, CycleType and TaskTypeId is given."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from tests.scheduler.helpers import World
from wedata.services.instances.query import list_instances
from wedata.spec import models as M
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instance_counts, task_instances

DAY0 = datetime(2025, 3, 1)
STATES = ["COMPLETED", "EXPIRED", "WAIT_RUN", "RUNNING"]


def _seed(db: Database, w: World) -> tuple[str, str]:
    a, b = w.task(), w.task()
    rows = []
    for i in range(60):
        when = DAY0 + timedelta(hours=i)
        rows.append({"task_id": a if i % 4 else b, "data_time": when, "project_id": w.project_id,
                     "workflow_id": w.workflow_id, "version_id": "v", "instance_type": i % 3,
                     "state": STATES[i % 4], "scheduled_at": when, "cycle_type": "HOUR_CYCLE" if i % 5 else "DAY_CYCLE",
                     "task_type_id": 26 if i % 2 else 30, "try_limit": 1, "created_at": when, "updated_at": when})
    with db.write() as conn:
        conn.execute(insert(task_instances), rows)
    return a, b


def _total(db: Database, w: World, **filters: Any) -> int:
    with db.read() as conn:
        return list_instances(conn, M.ListTaskInstancesRequest(project_id=w.project_id, page_size=5, **filters)).total


CASES: list[tuple[dict[str, Any], int]] = [
    ({}, 60),
    ({"instance_state": "EXPIRED"}, 15),
    ({"instance_type": 0}, 20),
    ({"cycle_type": "D"}, 12),
    ({"task_type_id": "26"}, 30),
    ({"instance_state": "COMPLETED", "instance_type": 0, "cycle_type": "H", "task_type_id": 30}, 4),
]


@pytest.mark.parametrize(("filters", "want"), CASES)
def test_the_total_is_the_number_of_rows_matched(db: Database, filters: dict[str, Any], want: int) -> None:
    w = World(db, DAY0)
    _seed(db, w)
    World(db, DAY0)  # another, empty project does not change it
    assert _total(db, w, **filters) == want


def test_on_postgresql_the_counted_filters_read_the_running_counts(db: Database) -> None:
    w = World(db, DAY0)
    a, _b = _seed(db, w)
    # A delta row no instance stands behind: only a total read from the counts shows it.
    with db.write() as conn:
        conn.execute(insert(task_instance_counts).values(
            project_id=w.project_id, scheduled_day=DAY0, state="EXPIRED", instance_type=1, cycle_type="HOUR_CYCLE", task_type_id=26, n=100))
    counted = 0 if db.is_sqlite else 100
    assert _total(db, w) == 60 + counted
    assert _total(db, w, instance_state="EXPIRED") == 15 + counted
    assert _total(db, w, instance_state="COMPLETED") == 15
    # Any other filter counts the rows.
    assert _total(db, w, workflow_id=w.workflow_id) == 60
    assert _total(db, w, keyword=a, instance_state="EXPIRED") == 15
    assert _total(db, w, schedule_time_from="2025-03-01 00:00:00", instance_state="EXPIRED") == 15


@pytest.mark.parametrize("sort_type", ["ASC", "DESC"])
@pytest.mark.parametrize("filters", [{}, {"instance_state": "COMPLETED"}, {"cycle_type": "H"}])
def test_every_page_over_several_days_is_the_slice_of_the_whole(db: Database, sort_type: str,
                                                                filters: dict[str, Any]) -> None:
    """On PostgreSQL these pages are found among the days' counts (services/paging.py
    ``bucketed_keys``); both backends must give the plain order's slices."""
    w = World(db, DAY0)
    _seed(db, w)  # 60 hourly instances: three days
    with db.read() as conn:
        def ids(number: int, size: int) -> list[int]:
            req = M.ListTaskInstancesRequest(project_id=w.project_id, page_number=number, page_size=size,
                                             sort_type=sort_type, **filters)
            return [r["id"] for r in list_instances(conn, req).items]

        whole = ids(1, 100)
        assert whole == sorted(whole, reverse=sort_type == "DESC")  # one instance an hour, ids in time order
        for size in (7, 24):
            for number in range(1, len(whole) // size + 3):
                assert ids(number, size) == whole[(number - 1) * size : number * size], (size, number)

