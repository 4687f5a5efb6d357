"""Runs across a server restart, and the expiry of results; each test on servers of its own.

- A run that was executing when its server stopped ends FAILED with the reason at the next start
  (never stuck RUNNING); a stop with SIGTERM cancels it in the database on the way out, a SIGKILL
  is noticed by the restarted server (the old process is gone). A QUEUED run waits and runs.
- Results are kept ``WEDATA_SQL_RESULT_RETENTION`` after a run ended (here 3 s), then
  GetSQLRunResult answers ``ResourceNotFound.ResultExpired``; the run stays listed.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.actions.sql.conftest import (
    Db,
    b64,
    create_source,
    new_project,
    result,
    run,
    start_server,
    wait_sleeping,
    wait_status,
)
from tests.conftest import BACKENDS
from tests.support import ServerProcess, drop_pg_database, unique
from tests.waiting import wait_until


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def started(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[list[ServerProcess]]:
    """Servers a test starts (``start_server``) are stopped and their databases dropped after it."""
    servers: list[ServerProcess] = []
    yield servers
    for srv in servers:
        srv.stop()
        if srv.database_url:
            drop_pg_database(srv.database_url.rsplit("/", 1)[1])


def new_server(started: list[ServerProcess], tmp_path: Path, backend: str, **env: str) -> ServerProcess:
    srv, _ = start_server(tmp_path / unique("home"), backend, **env)
    started.append(srv)
    return srv


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_run_executing_when_the_server_stops_ends_failed_and_a_queued_one_runs(
    started: list[ServerProcess], tmp_path: Path, backend: str, postgres: Db, sig: signal.Signals
) -> None:
    srv = new_server(started, tmp_path, backend, WEDATA_DEFAULT_SLOTS="1")
    api = srv.admin()
    project = new_project(api)
    source = create_source(api, project, postgres)
    sleeping = run(api, project, "select pg_sleep(60)", source)["JobId"]
    waiting = run(api, project, "select 42 as answer", source)["JobId"]
    wait_status(api, project, sleeping, ("RUNNING",))
    wait_sleeping(postgres, True)
    assert result(api, project, waiting)["Status"] == "QUEUED"
    srv.stop(sig)
    srv.start()
    done = result(api, project, sleeping)
    assert done["Status"] == "FAILED"
    if sig == signal.SIGTERM:
        assert "server stopped while the run was executing" in done["StatusMessage"]
        wait_sleeping(postgres, False, patience=5)  # cancelled in the database on the way out
    else:
        assert "stopped before it finished" in done["StatusMessage"] and "pid" in done["StatusMessage"]
    assert done["Results"][0]["Status"] == "FAILED"
    later = wait_status(api, project, waiting)
    assert later["Status"] == "SUCCESS" and later["Results"][0]["Rows"] == [{"Values": ["42"]}]


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_results_expire_after_the_retention(started: list[ServerProcess], tmp_path: Path, backend: str,
                                            postgres: Db) -> None:
    srv = new_server(started, tmp_path, backend, WEDATA_SQL_RESULT_RETENTION="3s")
    api = srv.admin()
    project = new_project(api)
    source = create_source(api, project, postgres)
    sid = api.data("CreateSQLScript", {"ProjectId": project, "ScriptName": "s", "ScriptContent": b64("select 1"),
                                       "ScriptConfig": {"DatasourceId": str(source)}})["ScriptId"]
    job = api.data("RunSQLScript", {"ProjectId": project, "ScriptId": sid})["JobId"]
    assert wait_status(api, project, job)["Results"][0]["Rows"] == [{"Values": ["1"]}]

    def expired() -> str:
        try:
            return str(result(api, project, job)["Status"])
        except Exception as exc:  # the SDK's exception carries the code
            return str(getattr(exc, "code", exc))

    assert wait_until(expired, lambda v: v != "SUCCESS", what="the results to expire", patience=10) == \
        "ResourceNotFound.ResultExpired"
    err = api.error("GetSQLRunResult", {"ProjectId": project, "JobId": job})
    assert "3 seconds" in err.message and "WEDATA_SQL_RESULT_RETENTION" in err.message
    listed = api.data("ListSQLScriptRuns", {"ProjectId": project, "ScriptId": sid})
    assert [j["JobId"] for j in listed] == [job] and listed[0]["Status"] == "SUCCESS"
