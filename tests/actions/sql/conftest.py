"""Servers for the SQL script tests, and helpers to run scripts through the SDK.

The servers run the real SQL executor (executors/sql/runner.py) against the real PostgreSQL
and MariaDB of this machine.

``WEDATA_DEFAULT_SLOTS=2``: the default group runs two scripts at once, which the queue tests
rely on (the data sources' pools hold five connections each).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.actions.datasources.conftest import Db, create_source, mariadb, new_project, pg_admin, postgres
from tests.conftest import BACKENDS, require_postgres
from tests.support import PG_URL, Api, ServerProcess, create_pg_database, drop_pg_database
from tests.waiting import wait_until

__all__ = ["Db", "create_source", "mariadb", "new_project", "pg_admin", "postgres"]

TERMINAL = ("SUCCESS", "FAILED", "CANCELED")


def sql_env(**extra: str) -> dict[str, str]:
    return {"WEDATA_DEFAULT_SLOTS": "2", **extra}


def start_server(home: Path, backend: str, **extra: str) -> tuple[ServerProcess, str | None]:
    db_name = url = None
    if backend == "postgres":
        require_postgres()
        db_name = create_pg_database(migrated=True)
        url = f"{PG_URL}/{db_name}"
    return ServerProcess(home, url, env=sql_env(**extra)).start(), db_name


@pytest.fixture(scope="package", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv, db_name = start_server(tmp_path_factory.mktemp(f"wedata-sql-{request.param}"), request.param)
    yield srv
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


@pytest.fixture(scope="package")
def api(server: ServerProcess) -> Api:
    return server.admin()


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def unb64(text: str) -> str:
    return base64.b64decode(text).decode("utf-8")


def run(api: Api, project: str, sql: str, source: int, *, raw: bool = False, **config: Any) -> dict[str, Any]:
    """An ad-hoc RunSQLScript; the JobDto."""
    body = {"ProjectId": project, "ScriptContent": sql if raw else b64(sql),
            "ScriptConfig": {"DatasourceId": str(source), **config}}
    data: dict[str, Any] = api.data("RunSQLScript", body)
    return data


def result(api: Api, project: str, job_id: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = api.data("GetSQLRunResult", {"ProjectId": project, "JobId": job_id, **extra})
    return data


def wait_status(api: Api, project: str, job_id: str, done: tuple[str, ...] = TERMINAL,
                patience: float = 30.0) -> dict[str, Any]:
    return wait_until(lambda: result(api, project, job_id), lambda r: r["Status"] in done,
                      what=f"SQL run {job_id} to reach {'/'.join(done)}", progress=lambda r: r["Status"],
                      patience=patience)


def wait_sleeping(db: Db, present: bool, patience: float = 20.0) -> list[Any]:
    """The PostgreSQL backends of ``db``'s database sleeping in ``pg_sleep`` (found by their wait
    event: a server-side cursor shows its FETCH, not the query text, in pg_stat_activity)."""
    name = db.url.rsplit("/", 1)[1]

    def sleeping() -> list[Any]:
        with pg_admin() as c:
            return list(c.execute(
                "SELECT pid, query FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                "AND wait_event = 'PgSleep'", (name,)).fetchall())
    return wait_until(sleeping, lambda rows: bool(rows) == present, patience=patience,
                      what=f"pg_sleep in {name} to be {'running' if present else 'gone'}")


def pause(seconds: float) -> None:
    time.sleep(seconds)
