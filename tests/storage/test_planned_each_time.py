"""storage/db.py ``planned_each_time``: the list pages' statements are never prepared on
PostgreSQL (a generic plan of ``project_id = $1 AND workflow_id = $2`` walked every index entry of
a big project), while the same statements outside it are, and the connection's setting comes back
after the block, an error included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.scheduler.helpers import World, new_db
from wedata.services.instances.query import list_instances
from wedata.spec import models as M
from wedata.storage.db import Database, planned_each_time
from wedata.storage.engine_tables import task_instances as TI

PREPARED = text("SELECT count(*) FROM pg_prepared_statements WHERE statement ILIKE '%FROM task_instances%' "
               "AND statement NOT ILIKE '%pg_prepared_statements%'")


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Database]:
    db, cleanup = new_db(tmp_path, "postgres")
    yield db
    cleanup()


def test_list_statements_are_planned_for_their_values(pg: Database) -> None:
    w = World(pg, datetime(2026, 1, 1))
    with pg.read() as conn:
        for _ in range(8):
            list_instances(conn, M.ListTaskInstancesRequest(project_id=w.project_id, workflow_id=w.workflow_id))
        assert conn.execute(PREPARED).scalar_one() == 0
        # The same kind of statement outside the block is prepared (the default of the pool).
        for _ in range(3):
            conn.execute(select(func.count()).select_from(TI).where(TI.c.workflow_id == w.workflow_id)).scalar_one()
        assert conn.execute(PREPARED).scalar_one() == 1


def test_the_setting_comes_back_after_the_block(pg: Database) -> None:
    with pg.read() as conn:
        driver = conn.connection.driver_connection
        before = driver.prepare_threshold
        assert before is not None
        with pytest.raises(RuntimeError), planned_each_time(conn):
            assert driver.prepare_threshold is None
            raise RuntimeError("boom")
        assert driver.prepare_threshold == before
