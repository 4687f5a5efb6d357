"""storage/instance_counts.py: the running counts (PostgreSQL triggers, migration 0026) always equal
the COUNT of the rows a snapshot sees, through inserts, conflicts, updates, deletes, truncation,
folds and uncommitted transactions; rows made before the migration are counted by it."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from tests.scheduler.helpers import new_db
from wedata.storage import instance_counts
from wedata.storage.bulk import pg_insert_many
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instance_cost_counts, task_instance_counts, task_instances
from wedata.storage.migrate import upgrade

TI = task_instances
NOW = datetime(2026, 12, 5, 8, 0)
VALUES: dict[str, list[Any]] = {
    "state": ["WAIT_RUN", "RUNNING", "COMPLETED", "EXPIRED", "FAILED_RETRY"],
    "instance_type": [0, 1, 2],
    "cycle_type": ["D", "H", "O"],
    "task_type_id": [26, 30],
}


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Database]:
    db, cleanup = new_db(tmp_path, "postgres")
    yield db
    cleanup()


def _row(i: int, project: str = "p1", **kw: Any) -> dict[str, Any]:
    row = {"task_id": f"t{i % 7}", "data_time": NOW + timedelta(hours=i), "project_id": project,
           "workflow_id": "w1", "version_id": "v1", "instance_type": VALUES["instance_type"][i % 3],
           "state": VALUES["state"][i % 5], "scheduled_at": NOW + timedelta(hours=i), "priority": 6,
           "self_depend": "serial", "dry_run": False, "cycle_type": VALUES["cycle_type"][i % 3],
           "task_type_id": VALUES["task_type_id"][i % 2], "life_round_num": 0, "tries": 0, "try_limit": 1,
           "total_run_num": 0, "run_type": "PERIODIC", "skip_events": False, "row_version": 0,
           "created_at": NOW, "updated_at": NOW}
    # Started unless waiting; ended unless running too, some a day later (the same keys in every
    # row: the array insert takes only rows alike).
    started = None if row["state"] in ("WAIT_RUN", "FAILED_RETRY") else row["scheduled_at"] + timedelta(minutes=30)
    row["started_at"] = started
    row["ended_at"] = None if started is None or row["state"] == "RUNNING" else started + timedelta(hours=i % 30)
    # Costs across many bands (0034 counts them), some below 64 ms (a band each), ties included.
    row["cost_ms"] = None if row["ended_at"] is None else (i * 7919) ** (i % 4) % 10**9
    row.update(kw)
    return row


def _counted(conn: Any, project: str, equal: dict[str, Any]) -> int | None:
    days = instance_counts.by_day(conn, project, equal)
    return None if days is None else sum(n for _, n in days)


def _bands(conn: Any, project: str, **equal: Any) -> list[tuple[int | None, int]]:
    """The instances per cost band computed here, in Python, from their costs."""
    costs = conn.execute(select(TI.c.cost_ms).where(TI.c.project_id == project,
                                                    *(TI.c[n] == v for n, v in equal.items()))).scalars()
    per_band = Counter(None if c is None else instance_counts.cost_band(c)[0] for c in costs)
    return sorted(per_band.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))


def _assert_counts_match(conn: Any, projects: tuple[str, ...] = ("p1", "p2")) -> None:
    """Every combination of the counted filters, for each project: the sum equals the COUNT; and
    per day and per cost band, the counts equal the rows grouped."""
    for project in projects:
        assert instance_counts.by_cost(conn, project, {}) == _bands(conn, project)
        assert instance_counts.by_cost(conn, project, {"state": "COMPLETED", "task_type_id": 30}) == _bands(
            conn, project, state="COMPLETED", task_type_id=30)
        for size in range(len(instance_counts.COUNTED) + 1):
            for names in itertools.combinations(instance_counts.COUNTED, size):
                for values in itertools.product(*(VALUES[n] for n in names)):
                    equal = dict(zip(names, values, strict=True))
                    want = conn.execute(select(func.count()).select_from(TI).where(
                        TI.c.project_id == project, *(TI.c[n] == v for n, v in equal.items()))).scalar_one()
                    assert _counted(conn, project, equal) == want, (project, equal)
        for name, column in zip(instance_counts.DAYS, (TI.c.scheduled_at, TI.c.started_at, TI.c.ended_at),
                                strict=True):
            day = func.date_trunc("day", column)
            per_day = conn.execute(select(day, func.count()).where(TI.c.project_id == project).group_by(day)
                                   .order_by(day.asc().nulls_last())).all()
            assert instance_counts.by_day(conn, project, {}, name) == [tuple(r) for r in per_day], name
            completed = conn.execute(select(day, func.count()).where(TI.c.project_id == project,
                                                                     TI.c.state == "COMPLETED")
                                     .group_by(day).order_by(day.asc().nulls_last())).all()
            assert instance_counts.by_day(conn, project, {"state": "COMPLETED"}, name) == [tuple(r) for r in completed]


def test_the_counts_follow_every_kind_of_write(pg: Database) -> None:
    with pg.write() as conn:
        conn.execute(insert(TI), [_row(i) for i in range(40)] + [_row(i, "p2") for i in range(40, 50)])
        # A conflict inserts nothing and must count nothing.
        conn.execute(pg_insert(TI).values([_row(0), _row(60)]).on_conflict_do_nothing())
        # The planner's array insert (one statement, one delta row per key).
        assert pg_insert_many(conn, TI, [_row(i) for i in range(100, 130)], ignore_conflicts=True) is not None
    with pg.read() as conn:
        _assert_counts_match(conn)
        assert conn.execute(select(func.count()).select_from(TI)).scalar_one() == 81
    with pg.write() as conn:
        # State changes, some to the same state (no delta), one moving an instance to another project.
        conn.execute(update(TI).where(TI.c.state == "WAIT_RUN").values(state="RUNNING"))
        conn.execute(update(TI).where(TI.c.state == "RUNNING", TI.c.task_type_id == 26).values(state="RUNNING"))
        conn.execute(update(TI).where(TI.c.data_time == NOW + timedelta(hours=3)).values(project_id="p2"))
        conn.execute(update(TI).where(TI.c.data_time == NOW + timedelta(hours=5))
                     .values(scheduled_at=NOW + timedelta(days=9)))  # to another day
        ids = conn.execute(select(TI.c.id).where(TI.c.state == "EXPIRED")).scalars().all()
        # One statement over many rows, as storage/bulk.py's array updates are.
        conn.execute(text("UPDATE task_instances SET state = 'COMPLETED' FROM unnest(CAST(:ids AS bigint[])) AS v(id) "
                          "WHERE task_instances.id = v.id"), {"ids": list(ids)})
        conn.execute(update(TI).where(TI.c.instance_type == 0).values(updated_at=NOW + timedelta(days=1)))
        # A start and an end (0033 counts their days), and a rerun that clears them.
        conn.execute(update(TI).where(TI.c.task_type_id == 30, TI.c.started_at.is_(None))
                     .values(started_at=NOW + timedelta(days=2)))
        conn.execute(update(TI).where(TI.c.state == "RUNNING", TI.c.ended_at.is_(None))
                     .values(ended_at=NOW + timedelta(days=3)))
        conn.execute(update(TI).where(TI.c.task_id == "t3").values(started_at=None, ended_at=None, cost_ms=None))
        conn.execute(update(TI).where(TI.c.task_id == "t4", TI.c.cost_ms.is_(None)).values(cost_ms=65))
        conn.execute(update(TI).where(TI.c.task_id == "t5").values(cost_ms=TI.c.cost_ms + 1))
        conn.execute(delete(TI).where(TI.c.cycle_type == "H", TI.c.project_id == "p1"))
    with pg.read() as conn:
        _assert_counts_match(conn)
    with pg.write() as conn:
        conn.execute(text("TRUNCATE task_instances CASCADE"))
        conn.execute(insert(TI), [_row(i) for i in range(3)])
    with pg.read() as conn:
        _assert_counts_match(conn)
        assert _counted(conn, "p1", {}) == 3


def test_a_fold_keeps_every_count_and_leaves_one_row_per_key(pg: Database) -> None:
    with pg.write() as conn:
        conn.execute(insert(TI), [_row(i) for i in range(30)])
        for i in range(30):  # one statement per change, as the engine's transitions are
            conn.execute(update(TI).where(TI.c.data_time == NOW + timedelta(hours=i)).values(state="COMPLETED"))
        conn.execute(delete(TI).where(TI.c.task_type_id == 30))
    with pg.read() as conn:
        before = conn.execute(select(func.count()).select_from(task_instance_counts)).scalar_one()
        before += conn.execute(select(func.count()).select_from(task_instance_cost_counts)).scalar_one()
    assert before > 60
    with pg.write() as conn:
        assert instance_counts.fold(conn) == 0  # too few rows to be worth it
    original = instance_counts.FOLD_ABOVE
    instance_counts.FOLD_ABOVE = 10
    try:
        with pg.write() as conn:
            assert instance_counts.fold(conn) == before
            # Folded, the tables are compact: a fold now would only rewrite them.
            assert instance_counts.fold(conn) == 0
    finally:
        instance_counts.FOLD_ABOVE = original
    with pg.read() as conn:
        _assert_counts_match(conn, ("p1",))
        keys = conn.execute(select(task_instance_counts)).all()
        # Only live keys are left: every instance is COMPLETED and of task type 26.
        live = conn.execute(select(func.count()).select_from(
            select(func.date_trunc("day", TI.c.scheduled_at), func.date_trunc("day", TI.c.started_at),
                   func.date_trunc("day", TI.c.ended_at), TI.c.instance_type, TI.c.cycle_type)
            .distinct().subquery())).scalar_one()
        assert len(keys) == live and all(k.n > 0 and k.state == "COMPLETED" for k in keys)
        bands = conn.execute(select(task_instance_cost_counts)).all()
        live_bands = {(None if c is None else instance_counts.cost_band(c)[0], *rest) for c, *rest in conn.execute(
            select(TI.c.cost_ms, TI.c.instance_type, TI.c.cycle_type))}
        assert len(bands) == len(live_bands) and all(b.n > 0 and b.state == "COMPLETED" for b in bands)


def test_a_reader_sees_no_uncommitted_change(pg: Database) -> None:
    with pg.write() as conn:
        conn.execute(insert(TI), [_row(i, state="WAIT_RUN") for i in range(5)])
    with pg.engine.connect() as writer:
        writer.execute(update(TI).values(state="COMPLETED"))
        writer.execute(insert(TI), [_row(i, state="COMPLETED") for i in range(10, 12)])
        with pg.read() as conn:
            assert _counted(conn, "p1", {"state": "WAIT_RUN"}) == 5
            assert _counted(conn, "p1", {"state": "COMPLETED"}) == 0
        writer.commit()
    with pg.read() as conn:
        assert _counted(conn, "p1", {"state": "WAIT_RUN"}) == 0
        assert _counted(conn, "p1", {"state": "COMPLETED"}) == 7


def test_the_migration_counts_the_instances_made_before_it(tmp_path: Path) -> None:
    from tests.conftest import require_postgres
    from tests.support import PG_URL, create_pg_database, drop_pg_database

    require_postgres()
    name = create_pg_database()
    db = Database(f"{PG_URL}/{name}")
    try:
        upgrade(db, "0025_list_filters")
        with db.engine.begin() as conn:
            conn.execute(insert(TI), [_row(i) for i in range(25)])
        upgrade(db)
        with db.read() as conn:
            _assert_counts_match(conn, ("p1",))
            assert _counted(conn, "p1", {}) == 25
    finally:
        db.dispose()
        drop_pg_database(name)


def test_sqlite_keeps_no_counts(tmp_path: Path) -> None:
    db, cleanup = new_db(tmp_path, "sqlite")
    try:
        with db.write() as conn:
            conn.execute(insert(TI), [_row(i) for i in range(3)])
            assert instance_counts.fold(conn) == 0
        with db.read() as conn:
            assert _counted(conn, "p1", {}) is None
            assert conn.execute(select(func.count()).select_from(task_instance_counts)).scalar_one() == 0
    finally:
        cleanup()


def test_a_filter_that_is_not_counted_gets_no_answer(pg: Database) -> None:
    with pg.read() as conn:
        assert _counted(conn, "p1", {"workflow_id": "w1"}) is None


def test_the_triggers_band_every_cost_as_python_does(pg: Database) -> None:
    """0034's bands are computed by the triggers in SQL and by ``cost_band`` in Python: both
    must put every cost, at every edge of a band, in the same band."""
    edges = {0, 1, 63, 64, 65, 127, 128, 129, -1, -5000, 2**62 + 12345}
    for bits in range(7, 42):
        edges |= {2**bits - 1, 2**bits, 2**bits + 1, 3 * 2 ** (bits - 2), 3 * 2 ** (bits - 2) - 1}
    costs = sorted(edges)
    with pg.write() as conn:
        conn.execute(insert(TI), [_row(i, cost_ms=c) for i, c in enumerate(costs)])
    with pg.read() as conn:
        assert instance_counts.by_cost(conn, "p1", {}) == _bands(conn, "p1")
    for c in costs:
        first, end = instance_counts.cost_band(c)
        assert first <= c < end and instance_counts.cost_band(first) == (first, end)
        assert instance_counts.cost_band(end)[0] == end  # bands are contiguous
        if c >= 64:
            assert (end - first) / first <= 1 / 32
