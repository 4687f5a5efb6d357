"""SQL tasks through the official SDK on a live server whose clock starts at 2025-03-01 22:58:00
(UTC+8) and runs 20 times faster (a daily task's instance of 2025-03-01 is due at once, and an
ExecutionTTL minute passes in 3 s), on SQLite and PostgreSQL, against the real PostgreSQL and
MariaDB of this machine (data sources with passwords: tests/actions/datasources/conftest.py)
and the server's built-in lake."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.actions.datasources.conftest import Db, create_source, mariadb, postgres  # noqa: F401 (fixtures)
from tests.actions.instances.test_instances import Space, new_space
from tests.conftest import require_postgres
from tests.support import PG_URL, Api, ServerProcess, create_pg_database, drop_pg_database

FACTOR = 20
CLOCK_START = "2025-03-01 14:58:00"  # UTC, i.e. 22:58:00 in UTC+8
DAY = "2025-03-01"


@dataclass
class Fast:
    server: ServerProcess
    api: Api


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fast(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fast]:
    db_name = url = None
    if request.param == "postgres":
        require_postgres()
        db_name = create_pg_database(migrated=True)
        url = f"{PG_URL}/{db_name}"
    env = {"WEDATA_CLOCK_START": CLOCK_START, "WEDATA_CLOCK_FACTOR": str(FACTOR), "WEDATA_PLAN_INTERVAL": "0.2"}
    srv = ServerProcess(tmp_path_factory.mktemp(f"sqltasks-{request.param}"), url, env).start()
    yield Fast(srv, srv.admin())
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


@pytest.fixture(scope="module")
def api(fast: Fast) -> Api:
    return fast.api


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


@pytest.fixture(scope="module")
def pg_source(api: Api, space: Space, postgres: Db) -> int:  # noqa: F811
    return create_source(api, space.project, postgres)


@pytest.fixture(scope="module")
def my_source(api: Api, space: Space, mariadb: Db) -> int:  # noqa: F811
    return create_source(api, space.project, mariadb)
