"""Data quality through the official SDK on a fast-clock server (the clock starts at 2025-03-01
22:58:00 UTC+8 and runs 20 times faster: the daily instance of 2025-03-01 is due at once), on
SQLite and PostgreSQL, with data sources on the real PostgreSQL and MariaDB of this machine and
the server's built-in lake (a DLC source)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.actions.datasources.conftest import Db, create_source, mariadb, postgres  # noqa: F401 (fixtures)
from tests.actions.instances.test_instances import Space, new_space
from tests.actions.sql_tasks.conftest import CLOCK_START, FACTOR
from tests.conftest import require_postgres
from tests.support import PG_URL, Api, ServerProcess, create_pg_database, drop_pg_database, unique


@pytest.fixture(scope="package", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db_name = url = None
    if request.param == "postgres":
        require_postgres()
        db_name = create_pg_database(migrated=True)
        url = f"{PG_URL}/{db_name}"
    env = {"WEDATA_CLOCK_START": CLOCK_START, "WEDATA_CLOCK_FACTOR": str(FACTOR), "WEDATA_PLAN_INTERVAL": "0.2",
           "WEDATA_SWEEP_INTERVAL": "1"}  # the sweep applies PollingNullStrategy EXECUTING timeouts
    srv = ServerProcess(tmp_path_factory.mktemp(f"quality-{request.param}"), url, env).start()
    yield srv
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


@pytest.fixture(scope="package")
def api(server: ServerProcess) -> Api:
    return server.admin()


@pytest.fixture(scope="package")
def space(api: Api) -> Space:
    return new_space(api)


@pytest.fixture(scope="package")
def pg_source(api: Api, space: Space, postgres: Db) -> int:  # noqa: F811
    return create_source(api, space.project, postgres)


@pytest.fixture(scope="package")
def my_source(api: Api, space: Space, mariadb: Db) -> int:  # noqa: F811
    return create_source(api, space.project, mariadb)


@pytest.fixture(scope="package")
def lake_source(api: Api, space: Space) -> int:
    return int(api.data("CreateDataSource", {"ProjectId": space.project, "Name": unique("lake"), "Type": "DLC",
                                             "ProdConProperties": '{"region":"ap-guangzhou"}'})["DataSourceId"])
