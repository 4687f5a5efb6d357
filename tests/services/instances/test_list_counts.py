"""ListTaskInstances' TotalCount, on SQLite and PostgreSQL: equal to the rows matched for every
filter, and on PostgreSQL read from the running counts (storage/instance_counts.py) exactly when
no other filter than InstanceState, InstanceType, CycleType and TaskTypeId is given."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update

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



@pytest.mark.parametrize("sort_type", ["ASC", "DESC"])
@pytest.mark.parametrize("sort_column", ["START_TIME", "END_TIME", "COST_TIME"])
@pytest.mark.parametrize("filters", [{}, {"instance_state": "COMPLETED"}])
def test_pages_by_start_and_end_are_slices_of_the_order_nulls_included(
        db: Database, sort_column: str, sort_type: str, filters: dict[str, Any]) -> None:
    """On PostgreSQL the counts also keep the day of the start and of the end (0033) and the
    cost's band (0034), so these pages are found among those days or bands, the instances not
    started or not ended (null) as a last bucket; on both backends every page is the slice of
    the whole order, which is the order of the times or costs (ties broken by the instance,
    nulls at the backend's end)."""
    w = World(db, DAY0)
    _seed(db, w)
    column = {"START_TIME": "started_at", "END_TIME": "ended_at", "COST_TIME": "cost_ms"}[sort_column]
    with db.write() as conn:
        # Started 40 minutes after the hour (so across midnight too), ended 1-29 hours later;
        # WAIT_RUN never started, RUNNING not ended; ties: every 3rd started (and ended) at the
        # same time.
        for r in conn.execute(select(task_instances.c.id, task_instances.c.state, task_instances.c.scheduled_at)).all():
            started = None if r.state == "WAIT_RUN" else (
                DAY0 + timedelta(hours=30) if r.id % 3 == 0 else r.scheduled_at + timedelta(minutes=40))
            ended = None if started is None or r.state == "RUNNING" else (
                DAY0 + timedelta(hours=50) if r.id % 3 == 0 else started + timedelta(hours=1 + r.id % 29))
            # The cost: tens of bands of hours, some below 64 ms (a band each), ties as above.
            cost = None if ended is None else (
                r.id % 50 if r.id % 7 == 0 else int((ended - started).total_seconds() * 1000) + r.id % 2)
            conn.execute(update(task_instances).where(task_instances.c.id == r.id)
                         .values(started_at=started, ended_at=ended, cost_ms=cost))
        rows = conn.execute(select(task_instances.c.id, task_instances.c[column], task_instances.c.state)).all()
    wanted = [r for r in rows if filters.get("instance_state") in (None, r.state)]
    timed = sorted((r for r in wanted if r[1] is not None), key=lambda r: (r[1], r.id))
    nulls = sorted((r for r in wanted if r[1] is None), key=lambda r: r.id)
    # PostgreSQL sorts nulls last ascending, SQLite first; either way descending is the reverse.
    asc = [r.id for r in (timed + nulls if not db.is_sqlite else nulls + timed)]
    expected = asc if sort_type == "ASC" else asc[::-1]
    assert (nulls or filters) and len({r[1] for r in timed}) < len(timed)  # nulls and ties are in the test
    with db.read() as conn:
        def ids(number: int, size: int) -> list[int]:
            req = M.ListTaskInstancesRequest(project_id=w.project_id, page_number=number, page_size=size,
                                             sort_column=sort_column, sort_type=sort_type, **filters)
            page = list_instances(conn, req)
            assert page.total == len(expected)
            return [r["id"] for r in page.items]

        assert ids(1, 100) == expected
        for size in (7, 24):
            for number in range(1, len(expected) // size + 3):
                assert ids(number, size) == expected[(number - 1) * size : number * size], (size, number)
