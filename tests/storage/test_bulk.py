"""storage/bulk.py: the array statements write what the plain ones write, refuse what they
refuse, and stand aside (None / False) where they cannot carry the rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import DataError, IntegrityError

from tests.scheduler.helpers import new_db
from wedata.storage.bulk import in_values, pg_insert_many, pg_update_many
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_transitions, task_instances, task_plans

P = task_plans
NOW = datetime(2026, 12, 2, 8, 30, 15, 123456)


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Database]:
    db, cleanup = new_db(tmp_path, "postgres")
    yield db
    cleanup()


def _plan(task_id: str, **kw: object) -> dict[str, object]:
    return {"task_id": task_id, "version_id": kw.get("version_id"), "task_status": "Y",
            "planned_through": kw.get("planned_through"), "next_plan_at": None, "error": kw.get("error"),
            "updated_at": NOW}


def test_insert_returns_only_what_it_inserted_and_keeps_every_value(pg: Database) -> None:
    with pg.write() as conn:
        conn.execute(insert(P), [_plan("t1", version_id="old")])
        rows = [_plan("t1", version_id="new"), _plan("t2", planned_through=NOW, error='a "quoted" {brace}, NULL'),
                _plan("t3")]
        got = pg_insert_many(conn, P, rows, ignore_conflicts=True, returning=("task_id", "version_id"))
        assert got is not None and sorted(tuple(r) for r in got) == [("t2", None), ("t3", None)]
        saved = {r.task_id: r for r in conn.execute(select(P))}
    assert saved["t1"].version_id == "old"  # the conflict did nothing
    assert saved["t2"].planned_through == NOW and saved["t2"].error == 'a "quoted" {brace}, NULL'
    assert saved["t3"].planned_through is None and saved["t3"].updated_at == NOW


def test_insert_refuses_what_a_plain_insert_refuses(pg: Database) -> None:
    # The arrays are text[], not varchar(24)[]: an explicit cast would cut the id silently.
    with pytest.raises(DataError, match="too long"), pg.write() as conn:
        pg_insert_many(conn, P, [_plan("x" * 25)])
    with pytest.raises(IntegrityError), pg.write() as conn:
        pg_insert_many(conn, P, [_plan("t1"), _plan("t1")])  # no ON CONFLICT: a duplicate key fails
    with pg.read() as conn:
        assert conn.execute(select(P)).all() == []


def test_insert_stands_aside_for_rows_it_cannot_carry(pg: Database, tmp_path: Path) -> None:
    with pg.write() as conn:
        assert pg_insert_many(conn, P, []) is None
        assert pg_insert_many(conn, P, [_plan("t1"), {"task_id": "t2", "task_status": "Y", "updated_at": NOW}]) is None
        assert pg_insert_many(conn, P, [_plan("t1"), {**_plan("t2"), "bogus": 1}]) is None  # not the same keys
        assert pg_insert_many(conn, P, [{**_plan("t1"), "bogus": 1}]) is None  # not a column
        # instance_transitions.reason has a Python default: left out, a plain INSERT fills it in.
        assert pg_insert_many(conn, instance_transitions, [
            {"instance_id": 1, "from_state": None, "to_state": "WAIT_RUN", "life_round_num": 0, "tries": 0,
             "actor": "a", "at": NOW}]) is None
        # task_instances.outputs is JSON: not carried as an array.
        assert pg_insert_many(conn, task_instances, [{"outputs": {"a": 1}}]) is None
        assert conn.execute(select(P)).all() == []
    lite, cleanup = new_db(tmp_path, "sqlite")
    try:
        with lite.write() as conn:
            assert pg_insert_many(conn, P, [_plan("t1")]) is None
            assert pg_update_many(conn, P, "task_id", [_plan("t1")]) is False
    finally:
        cleanup()


def test_update_sets_each_row_by_its_key(pg: Database) -> None:
    with pg.write() as conn:
        conn.execute(insert(P), [_plan("t1"), _plan("t2"), _plan("t3", version_id="keep")])
        later = datetime(2026, 12, 3, tzinfo=UTC).replace(tzinfo=None)
        assert pg_update_many(conn, P, "task_id", [
            {"task_id": "t1", "version_id": "v1", "planned_through": later},
            {"task_id": "t2", "version_id": None, "planned_through": None},
        ])
        assert pg_update_many(conn, P, "task_id", [])
        assert not pg_update_many(conn, P, "task_id", [{"version_id": "no key"}])
        saved = {r.task_id: (r.version_id, r.planned_through) for r in conn.execute(select(P))}
    assert saved == {"t1": ("v1", later), "t2": (None, None), "t3": ("keep", None)}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_in_values_matches_exactly_the_listed_keys(backend: str, tmp_path: Path) -> None:
    db, cleanup = new_db(tmp_path, backend)
    try:
        with db.write() as conn:
            conn.execute(insert(P), [_plan("a" * 24), _plan("b"), _plan("c")])
            # A longer value must not match its first 24 characters.
            got = conn.execute(select(P.c.task_id).where(in_values(conn, P.c.task_id, ["a" * 25, "b", "zz"])))
            assert [r[0] for r in got] == ["b"]
            assert conn.execute(select(P.c.task_id).where(in_values(conn, P.c.task_id, []))).all() == []
    finally:
        cleanup()
