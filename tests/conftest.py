"""Shared fixtures: live servers on SQLite and PostgreSQL, driven through the official SDK."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.support import (
    PG_URL,
    TEST_PG_POOL_SIZE,
    Api,
    ServerProcess,
    create_pg_database,
    drop_pg_database,
    mariadb_available,
    pg_available,
)
from wedata.storage.db import Database

BACKENDS = ["sqlite", "postgres"]

# Every process the suite starts keeps this many PostgreSQL connections (tests/support.py).
os.environ.setdefault("WEDATA_PG_POOL_SIZE", TEST_PG_POOL_SIZE)
# Its PostgreSQL databases are made in a tablespace on /dev/shm where that can be done
# (tests/support.py, "in memory"); WEDATA_TEST_PG_MEMORY=0 keeps them on disk.
os.environ.setdefault("WEDATA_TEST_PG_MEMORY", "1")

# CI runs the property tests on a fixed sequence of examples (reproducible: a red CI is a real
# regression, not a new random draw); local runs keep exploring new examples. Neither limits how
# long an example may take: the suite shares two cores with its servers, and a draw that stalled
# 1.7 s while the machine was busy failed a run (HealthCheck.too_slow). Speed is measured by the
# benchmarks, not by the property tests.
_UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True, **_UNTIMED)
hypothesis_settings.register_profile("local", **_UNTIMED)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "local")


def require_postgres() -> None:
    if not pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (required in CI)")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A new, empty database (not migrated) on each backend, in process, dropped after the test."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'w.db'}")
        yield db
        db.dispose()
        return
    require_postgres()
    name = create_pg_database()
    db = Database(f"{PG_URL}/{name}")
    yield db
    db.dispose()
    drop_pg_database(name)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database of its own for one test, dropped after it."""
    require_postgres()
    name = create_pg_database()
    yield f"{PG_URL}/{name}"
    drop_pg_database(name)


def require_mariadb() -> None:
    if not mariadb_available():
        if os.environ.get("CI"):
            pytest.fail("MariaDB is not reachable on 127.0.0.1:3306 (required in CI)")
        pytest.skip("MariaDB is not reachable on 127.0.0.1:3306")


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One live server per backend for the session (tests use unique names to stay apart). It
    makes and migrates its own database, as on a new machine; most other test servers start on a
    copy of a migrated one (tests/support.py)."""
    backend = request.param
    home = tmp_path_factory.mktemp(f"wedata-{backend}")
    db_name = None
    url = None
    if backend == "postgres":
        require_postgres()
        db_name = create_pg_database()
        from tests.support import PG_URL

        url = f"{PG_URL}/{db_name}"
    srv = ServerProcess(home, url, migrated=False).start()
    yield srv
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server on SQLite only, for protocol tests that do not depend on the backend."""
    srv = ServerProcess(tmp_path_factory.mktemp("wedata-proto")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def api(server: ServerProcess) -> Api:
    """The admin credential's SDK client on the parametrised backend."""
    return server.admin()
