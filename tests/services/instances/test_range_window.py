"""ListTaskInstances' StartTime and LastUpdateTime ranges in the default order, on SQLite and
PostgreSQL. On PostgreSQL a big range is walked in the order's index within the window of its
scheduled times (services/instances/query.py ``_window_keys``, migration 0035) unless that
window holds many more instances than the range; SQLite sorts the range. Every way gives every
page as the slice of the whole order."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from tests.scheduler.helpers import World
from tests.services.instances.test_folder_merge import statements
from wedata.services.instances import query
from wedata.services.instances.query import list_instances
from wedata.spec import models as M
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances

DAY0 = datetime(2025, 3, 1)
UTC8 = timedelta(hours=8)  # the default TimeZone of the requests


def _seed(db: Database, w: World, *, crowd: int = 0) -> list[dict[str, Any]]:
    """60 instances, two at each scheduled hour (ties), started 40 minutes after it and last
    updated 1-29 hours later; every 5th never started. ``crowd`` more are scheduled among them
    but started and updated a year later: in the window of the first day's ranges, never in them."""
    a, b = w.task(), w.task()
    rows = []
    for i in range(60 + crowd):
        late = i >= 60
        when = DAY0 + timedelta(hours=(i % 60) // 2, minutes=i // 60)
        started = None if i % 5 == 0 and not late else when + timedelta(minutes=40) + timedelta(days=365 * late)
        rows.append({"task_id": a if i % 4 else b, "data_time": when + timedelta(seconds=i), "project_id": w.project_id,
                     "workflow_id": w.workflow_id, "version_id": "v", "instance_type": i % 3,
                     "state": "COMPLETED" if i % 3 else "EXPIRED", "scheduled_at": when, "started_at": started,
                     "cycle_type": "DAY_CYCLE", "task_type_id": 26, "try_limit": 1, "created_at": when,
                     "updated_at": when + timedelta(hours=1 + i % 29, days=365 * late)})
    with db.write() as conn:
        conn.execute(insert(task_instances), rows)
        ids = conn.execute(task_instances.select().where(task_instances.c.project_id == w.project_id)).mappings().all()
    return [dict(r) for r in ids]


def _wall(t: datetime) -> str:
    return (t + UTC8).strftime("%Y-%m-%d %H:%M:%S")


RANGES = [
    ("StartTime", "started_at", DAY0 + timedelta(hours=3), DAY0 + timedelta(hours=20)),
    ("LastUpdateTime", "updated_at", DAY0 + timedelta(hours=10), DAY0 + timedelta(hours=40)),
]


@pytest.mark.parametrize("sort_type", ["ASC", "DESC"])
@pytest.mark.parametrize(("name", "column", "lo", "hi"), RANGES)
@pytest.mark.parametrize("filters", [{}, {"instance_state": "COMPLETED", "instance_type": 1}])
@pytest.mark.parametrize("crowd", [0, 120])
def test_every_page_of_a_range_is_the_slice_of_the_order(
        db: Database, monkeypatch: pytest.MonkeyPatch, sort_type: str, name: str, column: str, lo: datetime,
        hi: datetime, filters: dict[str, Any], crowd: int) -> None:
    monkeypatch.setattr(query, "WINDOW_MIN", 3)  # the walk for ranges this small too
    w = World(db, DAY0)
    rows = _seed(db, w, crowd=crowd)
    wanted = [r for r in rows if r[column] is not None and lo <= r[column] < hi + timedelta(seconds=1)
              and all(r[{"instance_state": "state"}.get(k, k)] == v for k, v in filters.items())]
    asc = [r["id"] for r in sorted(wanted, key=lambda r: (r["scheduled_at"], r["id"]))]
    expected = asc if sort_type == "ASC" else asc[::-1]
    assert len(expected) > 3 and (filters or len({r["scheduled_at"] for r in wanted}) < len(wanted))  # ties
    params = {f"{name}From": _wall(lo), f"{name}To": _wall(hi)}
    fields = {"StartTimeFrom": "start_time_from", "StartTimeTo": "start_time_to",
              "LastUpdateTimeFrom": "last_update_time_from", "LastUpdateTimeTo": "last_update_time_to"}
    with db.read() as conn, statements(db) as seen:
        def ids(number: int, size: int) -> list[int]:
            req = M.ListTaskInstancesRequest(project_id=w.project_id, page_number=number, page_size=size,
                                             sort_type=sort_type, **filters,
                                             **{fields[k]: v for k, v in params.items()})
            page = list_instances(conn, req)
            assert page.total == len(expected)
            return [r["id"] for r in page.items]

        assert ids(1, 100) == expected
        for size in (3, 7):
            for number in range(1, len(expected) // size + 3):
                assert ids(number, size) == expected[(number - 1) * size : number * size], (size, number)
    walked = any(f"coalesce(task_instances.{column}, task_instances.{column})" in s.lower() for s in seen)
    # On PostgreSQL the window is walked unless it holds over WINDOW_FACTOR times as many instances
    # as the range: with the crowd (in the window, never in the range), or when a filter leaves
    # few of the window's instances; SQLite always sorts.
    assert walked == (not db.is_sqlite and not crowd and not filters), (walked, len(expected))


def test_a_filter_the_index_does_not_carry_sorts_the_range(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(query, "WINDOW_MIN", 3)
    w = World(db, DAY0)
    rows = _seed(db, w)
    lo, hi = DAY0 + timedelta(hours=3), DAY0 + timedelta(hours=20)
    expected = sorted((r for r in rows if r["started_at"] is not None and lo <= r["started_at"] <= hi),
                      key=lambda r: (r["scheduled_at"], r["id"]), reverse=True)
    with db.read() as conn, statements(db) as seen:
        req = M.ListTaskInstancesRequest(project_id=w.project_id, page_size=100, workflow_id=w.workflow_id,
                                         start_time_from=_wall(lo), start_time_to=_wall(hi))
        assert [r["id"] for r in list_instances(conn, req).items] == [r["id"] for r in expected]
    assert not any("coalesce(task_instances.started_at, task_instances.started_at)" in s.lower() for s in seen)
