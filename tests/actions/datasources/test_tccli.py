"""The main data-source flow through `tccli`, the official command line."""

from __future__ import annotations

import json

import pytest

from tests.actions.datasources.conftest import Db
from tests.actions.test_tccli import Tccli
from tests.support import ServerProcess, unique


@pytest.fixture(scope="module")
def cli(sqlite_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Tccli:
    return Tccli(sqlite_server, tmp_path_factory.mktemp("tccli-home"))


def test_create_get_and_a_refused_password_through_tccli(cli: Tccli, postgres: Db, mariadb: Db) -> None:
    project = cli.data("CreateProject", {"Project": {"ProjectName": unique("tc"), "DisplayName": "tccli"}})["ProjectId"]
    created = cli.data("CreateDataSource", {"ProjectId": project, "Name": unique("pg"), "Type": "POSTGRE",
                                            "ProdConProperties": postgres.props()})
    got = cli.data("GetDataSource", {"ProjectId": project, "Id": created["DataSourceId"]})
    assert json.loads(got["ProdConProperties"])["password"] == "********"
    out = cli.run("CreateDataSource", {"ProjectId": project, "Name": unique("my"), "Type": "MYSQL",
                                       "ProdConProperties": mariadb.props(password="not-" + unique("it"))})
    assert out.returncode != 0
    assert "InvalidParameterValue" in out.stdout + out.stderr and "Access denied" in out.stdout + out.stderr
    assert postgres.password not in out.stdout + out.stderr + json.dumps(got)
    listed = cli.data("ListDataSources", {"ProjectId": project})
    assert [i["Id"] for i in listed["Items"]] == [created["DataSourceId"]]
