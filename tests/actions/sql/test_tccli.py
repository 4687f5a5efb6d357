"""The main SQL script flow through `tccli`, the official command line: a folder, a script on
PostgreSQL, a run, its result, the run history."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from tests.actions.sql.conftest import Db, start_server
from tests.actions.test_tccli import Tccli
from tests.support import ServerProcess, unique
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tccli]:
    srv: ServerProcess = start_server(tmp_path_factory.mktemp("wedata-sql-tccli"), "sqlite")[0]
    yield Tccli(srv, tmp_path_factory.mktemp("tccli-home"))
    srv.stop()


def test_a_script_runs_and_returns_rows_through_tccli(cli: Tccli, postgres: Db) -> None:
    project = cli.data("CreateProject", {"Project": {"ProjectName": unique("tc"), "DisplayName": "tccli"}})["ProjectId"]
    source = cli.data("CreateDataSource", {"ProjectId": project, "Name": unique("pg"), "Type": "POSTGRE",
                                           "ProdConProperties": postgres.props()})["DataSourceId"]
    cli.data("CreateSQLFolder", {"ProjectId": project, "FolderName": "reports", "ParentFolderPath": "/"})
    content = base64.b64encode(b"select 'it works' as greeting").decode()
    script = cli.data("CreateSQLScript", {"ProjectId": project, "ScriptName": "hello", "ParentFolderPath": "/reports",
                                          "ScriptContent": content, "ScriptConfig": {"DatasourceId": str(source)}})
    assert script["Path"] == "/reports/hello"
    job = cli.data("RunSQLScript", {"ProjectId": project, "ScriptId": script["ScriptId"]})["JobId"]
    done = wait_until(lambda: cli.data("GetSQLRunResult", {"ProjectId": project, "JobId": job}),
                      lambda r: r["Status"] not in ("QUEUED", "RUNNING"), what="the run to end",
                      progress=lambda r: r["Status"])
    assert done["Status"] == "SUCCESS" and done["Results"][0]["Rows"] == [{"Values": ["it works"]}]
    runs = cli.data("ListSQLScriptRuns", {"ProjectId": project, "ScriptId": script["ScriptId"]})
    assert [r["JobId"] for r in runs] == [job]
    tree = cli.data("ListSQLFolderContents", {"ProjectId": project, "ParentFolderPath": "/"})
    assert tree[0]["Path"] == "/reports" and tree[0]["Children"][0]["Name"] == "hello"
