"""services/paging.py: every page of a list equals the same slice of the whole ordered list,
whichever end it is cut from, with ties and NULLs in the sort column (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from tests.scheduler.helpers import World
from wedata.services.common import Page
from wedata.services.paging import bucketed_keys, page_keys
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances as TI


def _seed(db: Database) -> str:
    w = World(db, datetime(2026, 1, 1))
    task = w.task("true", cycle="DAY_CYCLE")
    day = datetime(2026, 1, 1)
    rows = []
    for i in range(23):
        started = None if i % 5 == 0 else day + timedelta(hours=i % 4)  # NULLs and ties
        rows.append({"task_id": task, "data_time": day + timedelta(days=i), "project_id": w.project_id,
                     "workflow_id": w.workflow_id, "version_id": "v", "state": "COMPLETED",
                     "scheduled_at": day + timedelta(days=i), "cycle_type": "DAY_CYCLE", "task_type_id": 35,
                     "try_limit": 1, "started_at": started, "created_at": day, "updated_at": day})
    with db.write() as conn:
        conn.execute(insert(TI), rows)
    return w.project_id


@pytest.mark.parametrize("ranged", [False, True])  # True: the order hidden from the indexes (COALESCE)
@pytest.mark.parametrize("desc", [False, True])
@pytest.mark.parametrize("size", [1, 4, 10, 30])
def test_every_page_is_the_slice_of_the_whole(db: Database, desc: bool, size: int, ranged: bool) -> None:
    project = _seed(db)
    where = [TI.c.project_id == project]
    order = [TI.c.started_at.desc() if desc else TI.c.started_at.asc(), TI.c.id.desc() if desc else TI.c.id.asc()]
    with db.read() as conn:
        whole = [r[0] for r in conn.execute(select(TI.c.id).where(*where).order_by(*order))]
        total = conn.execute(select(func.count()).select_from(TI).where(*where)).scalar_one()
        pages = [page_keys(conn, TI.c.id, where, [(TI.c.started_at, desc)], Page(n, size), total, ranged=ranged)
                 for n in range(1, total // size + 3)]
    assert total == 23
    for n, keys in enumerate(pages, start=1):
        assert keys == whole[(n - 1) * size : n * size], f"page {n} of size {size}"


@pytest.mark.parametrize("desc", [False, True])
def test_a_page_read_forward_is_not_cut_at_a_count_taken_before_rows_came(db: Database, desc: bool) -> None:
    """On PostgreSQL the count and the page are separate statements: rows committed between them
    are on the page (it was cut at the count, and a backfill's instances went missing from a
    list while the planner added the task's newer ones)."""
    project = _seed(db)
    where = [TI.c.project_id == project]
    with db.read() as conn:
        counted = conn.execute(select(func.count()).select_from(TI).where(*where)).scalar_one()
        row = dict(conn.execute(select(TI).where(*where).limit(1)).mappings().one())
    day = datetime(2027, 1, 1)
    with db.write() as conn:  # three newer ones, committed after the count
        conn.execute(insert(TI), [{**{k: v for k, v in row.items() if k != "id"}, "data_time": day + timedelta(days=i),
                                   "scheduled_at": day + timedelta(days=i)} for i in range(3)])
    order = [TI.c.scheduled_at.desc(), TI.c.id.desc()] if desc else [TI.c.scheduled_at.asc(), TI.c.id.asc()]
    with db.read() as conn:
        whole = [r[0] for r in conn.execute(select(TI.c.id).where(*where).order_by(*order))]
        first = page_keys(conn, TI.c.id, where, [(TI.c.scheduled_at, desc)], Page(1, 100), counted)
        second = page_keys(conn, TI.c.id, where, [(TI.c.scheduled_at, desc)], Page(2, 5), counted)
    assert counted == 23 and len(whole) == 26
    assert first == whole  # every row, the three newer ones included
    assert second == whole[5:10]  # a page nearer the start than the end is read forward too


@pytest.mark.parametrize("desc", [False, True])
@pytest.mark.parametrize("size", [1, 3, 7, 30])
def test_every_page_cut_through_buckets_is_the_slice_of_the_whole(db: Database, desc: bool, size: int) -> None:
    """``bucketed_keys``: pages found among per-day counts (days of different sizes, empty days
    left out, several instances at the same time) and walked within their day or two."""
    w = World(db, datetime(2026, 1, 1))
    task = w.task("true", cycle="HOUR_CYCLE")
    day0 = datetime(2026, 1, 1)
    rows = []
    for d, n in [(0, 5), (1, 1), (3, 9), (4, 2), (7, 6)]:  # days 2, 5 and 6 have none
        for i in range(n):
            at = day0 + timedelta(days=d, hours=i // 2)  # two at each hour: ties broken by id
            rows.append({"task_id": task, "data_time": at + timedelta(minutes=i), "project_id": w.project_id,
                         "workflow_id": w.workflow_id, "version_id": "v", "state": "COMPLETED", "scheduled_at": at,
                         "cycle_type": "HOUR_CYCLE", "task_type_id": 35, "try_limit": 1, "created_at": at,
                         "updated_at": at})
    with db.write() as conn:
        conn.execute(insert(TI), rows)
    buckets = [(day0 + timedelta(days=d), n) for d, n in [(0, 5), (1, 1), (3, 9), (4, 2), (7, 6)]]
    where = [TI.c.project_id == w.project_id]
    order = [TI.c.scheduled_at.desc(), TI.c.id.desc()] if desc else [TI.c.scheduled_at.asc(), TI.c.id.asc()]
    with db.read() as conn:
        whole = [r[0] for r in conn.execute(select(TI.c.id).where(*where).order_by(*order))]
        pages = [bucketed_keys(conn, TI.c.id, where, TI.c.scheduled_at, desc, buckets, lambda d: d + timedelta(days=1),
                               Page(n, size))
                 for n in range(1, 23 // size + 3)]
    assert len(whole) == 23
    for n, keys in enumerate(pages, start=1):
        assert keys == whole[(n - 1) * size : n * size], f"page {n} of size {size}"
