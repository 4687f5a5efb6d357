"""Data sources through the official SDK on a live server, against the real MariaDB and
PostgreSQL of this machine: create (connection tested), read (passwords masked), update (the
mask keeps the password), delete, the connection failures, and where the password is not."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.actions.datasources.conftest import Db, create_source, names_in, new_project, pg_admin
from tests.support import ADMIN_UIN, ROOT, Api, ServerProcess, unique

MASK = "********"
TIMEOUT = 5.0  # the server's default WEDATA_DATASOURCE_TEST_TIMEOUT
TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


@pytest.fixture(scope="module")
def project(api: Api) -> str:
    return new_project(api)


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text
        assert secret.replace("%", "%25").replace("@", "%40").replace("/", "%2F") not in text


# ------------------------------------------------------------------------------------------------
# Create, Get, List


@pytest.mark.parametrize("db_name", ["mariadb", "postgres"])
def test_create_then_get_and_list_show_the_password_masked(
    api: Api, project: str, db_name: str, request: pytest.FixtureRequest
) -> None:
    db: Db = request.getfixturevalue(db_name)
    name = unique("src")
    source_id = create_source(api, project, db, name, Description="orders")
    raw = api.raw("GetDataSource", {"ProjectId": project, "Id": source_id})
    data = raw["Data"]
    assert set(data) == {
        "ProjectId", "Id", "Type", "Name", "DisplayName", "Description", "ProjectName", "CreateUser", "CreateTime",
        "ModifyUser", "ModifyTime", "ProdConProperties", "DevConProperties", "Category",
    }  # fmt: skip
    assert (data["Id"], data["ProjectId"], data["Type"], data["Name"]) == (source_id, project, db.source_type, name)
    assert data["DisplayName"] == name and data["Description"] == "orders"
    assert data["CreateUser"] == ADMIN_UIN == data["ModifyUser"] and data["Category"] == "DB"
    assert TIME.match(data["CreateTime"]) and TIME.match(data["ModifyTime"])
    assert data["ProjectName"] and data["DevConProperties"] is None
    props = json.loads(data["ProdConProperties"])
    assert props == {"deployType": "CONNSTR_CVMDB", "url": db.url, "username": db.username, "password": MASK,
                     "region": "ap-guangzhou"}
    listed = api.data("ListDataSources", {"ProjectId": project, "Name": name})
    assert listed["TotalCount"] == 1 and listed["TotalPageNumber"] == 1
    assert listed["Items"][0]["Id"] == source_id
    assert json.loads(listed["Items"][0]["ProdConProperties"])["password"] == MASK
    assert_no_secret(json.dumps(raw) + json.dumps(listed), db.password)


def test_wrong_password_is_refused_with_the_drivers_message(api: Api, project: str, mariadb: Db) -> None:
    name = unique("src")
    wrong = "Wrong%Pw-" + unique("x")
    body = {"ProjectId": project, "Name": name, "Type": "MYSQL", "ProdConProperties": mariadb.props(password=wrong)}
    err = api.error("CreateDataSource", body)
    assert err.code == "InvalidParameterValue"
    assert "ProdConProperties" in err.message and "connection test failed" in err.message
    assert "(1045) Access denied for user" in err.message
    assert_no_secret(err.message, wrong, mariadb.password)
    assert name not in names_in(api, project)


def test_unknown_database_is_refused(api: Api, project: str, postgres: Db) -> None:
    name = unique("src")
    url = postgres.url.rsplit("/", 1)[0] + "/no_such_db_" + unique("x")
    err = api.error("CreateDataSource", {"ProjectId": project, "Name": name, "Type": "POSTGRE",
                                         "ProdConProperties": postgres.props(url=url)})
    assert err.code == "InvalidParameterValue"
    assert "does not exist" in err.message and "ProdConProperties" in err.message
    assert_no_secret(err.message, postgres.password)
    assert name not in names_in(api, project)


def test_closed_port_is_refused(api: Api, project: str, mariadb: Db) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nobody listens there
    err = api.error("CreateDataSource", {"ProjectId": project, "Name": unique("src"), "Type": "TiDB",
                                         "ProdConProperties": mariadb.props(url=f"jdbc:mysql://127.0.0.1:{port}/x")})
    assert err.code == "InvalidParameterValue" and "(2003)" in err.message


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose listening socket never accepts nor answers: the kernel completes the TCP
    handshake (backlog) and then nothing ever arrives, as with a hung or firewalled server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
@pytest.mark.parametrize(("source_type", "scheme"), [("MYSQL", "mysql"), ("GREENPLUM", "postgresql")])
def test_a_host_that_never_answers_is_refused_within_the_timeout(
    api: Api, project: str, silent_port: int, source_type: str, scheme: str
) -> None:
    name = unique("src")
    props = json.dumps({"url": f"jdbc:{scheme}://127.0.0.1:{silent_port}/db", "username": "u", "password": "p"})
    started = time.monotonic()
    err = api.error("CreateDataSource", {"ProjectId": project, "Name": name, "Type": source_type,
                                         "ProdConProperties": props})
    elapsed = time.monotonic() - started
    assert err.code == "InvalidParameterValue"
    assert f"127.0.0.1:{silent_port} did not answer within 5 s" in err.message
    assert TIMEOUT - 0.5 < elapsed < TIMEOUT + 2.0
    assert name not in names_in(api, project)


def test_other_types_are_stored_untested(api: Api, project: str, server: ServerProcess) -> None:
    props = json.dumps({"url": "jdbc:hive2://10.0.0.1:7001/default", "username": "hadoop", "password": "hivepw1",
                        "metaParam": json.dumps({"ip": "10.0.0.2", "username": "root", "password": "metapw1"})})
    source_id = api.data("CreateDataSource", {"ProjectId": project, "Name": unique("hive"), "Type": "HIVE",
                                              "ProdConProperties": props})["DataSourceId"]
    shown = json.loads(api.data("GetDataSource", {"ProjectId": project, "Id": source_id})["ProdConProperties"])
    assert shown["password"] == MASK and json.loads(shown["metaParam"])["password"] == MASK
    assert_no_secret(json.dumps(shown), "hivepw1", "metapw1")
    out = run_cli(server, "datasources", "test", str(source_id))
    assert out.returncode != 0
    assert "HIVE" in out.stderr and len(out.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------------
# The password at rest


def stored_bytes(server: ServerProcess) -> bytes:
    """Everything the server's database holds about data sources, as bytes."""
    if server.database_url is None:
        return b"".join(p.read_bytes() for p in server.home.glob("wedata.db*"))
    import psycopg

    url = server.database_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url) as c:
        rows = c.execute("SELECT * FROM data_sources").fetchall()
    return repr(rows).encode()


def test_the_password_is_stored_encrypted_only(api: Api, project: str, mariadb: Db, server: ServerProcess) -> None:
    source_id = create_source(api, project, mariadb)
    api.call("UpdateDataSource", {"ProjectId": project, "Id": source_id, "ProdConProperties": mariadb.props()})
    stored = stored_bytes(server)
    assert mariadb.username.encode() in stored  # the rows are there ...
    assert mariadb.password.encode() not in stored  # ... the password is not, in plain text
    assert b"wdenc1:" in stored
    assert mariadb.password not in server.log_path.read_text(errors="replace")


# ------------------------------------------------------------------------------------------------
# Update


def test_update_with_the_mask_keeps_the_password(api: Api, project: str, mariadb: Db, server: ServerProcess) -> None:
    source_id = create_source(api, project, mariadb)
    got = api.data("GetDataSource", {"ProjectId": project, "Id": source_id})
    # A client that round-trips Get -> Update: the masked properties go back unchanged.
    resp = api.data("UpdateDataSource", {"ProjectId": project, "Id": source_id, "DisplayName": "renamed",
                                         "ProdConProperties": got["ProdConProperties"]})
    assert resp == {"Status": True}
    after = api.data("GetDataSource", {"ProjectId": project, "Id": source_id})
    assert after["DisplayName"] == "renamed" and after["ProdConProperties"] == got["ProdConProperties"]
    out = run_cli(server, "datasources", "test", str(source_id))  # still connects: the password was kept
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(rf"data source {source_id} prod: ok \(\d+ ms\)\n", out.stdout)


def test_update_with_a_wrong_password_changes_nothing(api: Api, project: str, mariadb: Db) -> None:
    source_id = create_source(api, project, mariadb)
    before = api.data("GetDataSource", {"ProjectId": project, "Id": source_id})
    err = api.error("UpdateDataSource", {"ProjectId": project, "Id": source_id, "DisplayName": "changed",
                                         "ProdConProperties": mariadb.props(password="nope-" + unique("x"))})
    assert err.code == "InvalidParameterValue" and "Access denied" in err.message
    assert api.data("GetDataSource", {"ProjectId": project, "Id": source_id}) == before


def test_update_without_properties_does_not_test_and_dev_side_is_tested(api: Api, project: str, postgres: Db) -> None:
    source_id = create_source(api, project, postgres)
    api.call("UpdateDataSource", {"ProjectId": project, "Id": source_id, "Description": "d2"})
    bad_dev = postgres.props(url=postgres.url + "_missing")
    err = api.error("UpdateDataSource", {"ProjectId": project, "Id": source_id, "DevConProperties": bad_dev})
    assert err.code == "InvalidParameterValue" and err.message.startswith("DevConProperties")
    api.call("UpdateDataSource", {"ProjectId": project, "Id": source_id, "DevConProperties": postgres.props()})
    got = api.data("GetDataSource", {"ProjectId": project, "Id": source_id})
    assert got["Description"] == "d2" and json.loads(got["DevConProperties"])["password"] == MASK
    # The mask where nothing is stored is refused: the client must give the password.
    other = new_project(api)
    err = api.error("CreateDataSource", {"ProjectId": other, "Name": unique("s"), "Type": "POSTGRE",
                                         "ProdConProperties": postgres.props(password=MASK)})
    assert err.code == "InvalidParameterValue"


def test_standard_projects_need_dev_properties(api: Api, postgres: Db) -> None:
    project = new_project(api, ProjectModel="STANDARD")
    err = api.error("CreateDataSource", {"ProjectId": project, "Name": unique("s"), "Type": "POSTGRE",
                                         "ProdConProperties": postgres.props()})
    assert err.code == "InvalidParameterValue" and "DevConProperties" in err.message
    source_id = create_source(api, project, postgres, DevConProperties=postgres.props())
    err = api.error("UpdateDataSource", {"ProjectId": project, "Id": source_id, "DevConProperties": ""})
    assert err.code == "InvalidParameterValue"


# ------------------------------------------------------------------------------------------------
# Delete, Ids, other projects


def test_delete(api: Api, project: str, postgres: Db) -> None:
    source_id = create_source(api, project, postgres)
    assert api.data("DeleteDataSource", {"ProjectId": project, "Id": source_id}) == {"Status": True}
    assert api.error("GetDataSource", {"ProjectId": project, "Id": source_id}).code == "ResourceNotFound"
    assert api.error("DeleteDataSource", {"ProjectId": project, "Id": source_id}).code == "ResourceNotFound"
    # Ids are never reused.
    assert create_source(api, project, postgres) > source_id


def test_unknown_and_malformed_ids(api: Api, project: str) -> None:
    missing = 9_000_000_000
    for action, params in [
        ("GetDataSource", {"ProjectId": project, "Id": missing}),
        ("UpdateDataSource", {"ProjectId": project, "Id": missing, "DisplayName": "x"}),
        ("DeleteDataSource", {"ProjectId": project, "Id": missing}),
        ("DescribeDataSourceAuthority", {"Id": missing}),
        ("GetDataSourceRelatedTasks", {"Id": missing}),
        ("AuthorizeDataSource", {"DataSourceId": str(missing), "AuthProjectId": project}),
        ("RevokeDataSourceAuthorization", {"DataSourceId": str(missing)}),
    ]:
        assert api.error(action, params).code == "ResourceNotFound", action
    for bad in (0, -1):
        assert api.error("GetDataSource", {"ProjectId": project, "Id": bad}, raw=True).code == "InvalidParameterValue"
    err = api.error("AuthorizeDataSource", {"DataSourceId": "abc", "AuthProjectId": project})
    assert err.code == "InvalidParameterValue" and "DataSourceId" in err.message


def test_another_projects_source_is_not_found_there(api: Api, project: str, postgres: Db) -> None:
    source_id = create_source(api, project, postgres)
    other = new_project(api)
    for action, params in [
        ("GetDataSource", {"ProjectId": other, "Id": source_id}),
        ("UpdateDataSource", {"ProjectId": other, "Id": source_id, "DisplayName": "x"}),
        ("DeleteDataSource", {"ProjectId": other, "Id": source_id}),
    ]:
        err = api.error(action, params)
        assert err.code == "ResourceNotFound" and str(source_id) in err.message, action
    assert api.data("ListDataSources", {"ProjectId": other})["TotalCount"] == 0
    assert api.data("GetDataSource", {"ProjectId": project, "Id": source_id})["DisplayName"] != "x"


def test_list_filters_and_paging(api: Api, postgres: Db) -> None:
    project = new_project(api)
    ids = [create_source(api, project, postgres, f"alpha_{i}_" + unique("s")) for i in range(3)]
    hive = api.data("CreateDataSource", {"ProjectId": project, "Name": "beta_" + unique("h"), "Type": "HIVE",
                                         "DisplayName": "Beta Hive", "ProdConProperties": "{}"})["DataSourceId"]
    page1 = api.data("ListDataSources", {"ProjectId": project, "PageSize": 2, "PageNumber": 1})
    page2 = api.data("ListDataSources", {"ProjectId": project, "PageSize": 2, "PageNumber": 2})
    assert page1["TotalCount"] == 4 and page1["TotalPageNumber"] == 2
    assert [i["Id"] for i in page1["Items"] + page2["Items"]] == [hive, *reversed(ids)]  # newest first
    assert {i["Id"] for i in api.data("ListDataSources", {"ProjectId": project, "Name": "ALPHA"})["Items"]} == set(ids)
    by_type = api.data("ListDataSources", {"ProjectId": project, "Type": ["HIVE"]})["Items"]
    assert [i["Id"] for i in by_type] == [hive]
    assert api.data("ListDataSources", {"ProjectId": project, "DisplayName": "beta h"})["TotalCount"] == 1
    assert api.data("ListDataSources", {"ProjectId": project, "Creator": ADMIN_UIN})["TotalCount"] == 4
    assert api.data("ListDataSources", {"ProjectId": project, "Creator": "1"})["TotalCount"] == 0
    err = api.error("ListDataSources", {"ProjectId": project, "PageSize": 0}, raw=True)
    assert err.code == "InvalidParameterValue"


# ------------------------------------------------------------------------------------------------
# Bad input: a clear error naming the field, nothing saved


def _bad_cases(db: Db) -> list[tuple[dict[str, Any], str, str]]:
    props = db.props()
    return [
        ({"Type": "NOSQL_THING"}, "InvalidParameterValue", "Type"),
        ({"Type": "mysql"}, "InvalidParameterValue", "Type"),
        ({"ProdConProperties": "{not json"}, "InvalidParameterValue", "ProdConProperties"),
        ({"ProdConProperties": "[1, 2]"}, "InvalidParameterValue", "ProdConProperties"),
        ({"ProdConProperties": db.props(url=None)}, "InvalidParameterValue", "url is required"),
        ({"ProdConProperties": db.props(username=None)}, "InvalidParameterValue", "username is required"),
        ({"ProdConProperties": db.props(username=7)}, "InvalidParameterValue", "username"),
        ({"ProdConProperties": db.props(url="jdbc:postgresql://127.0.0.1:5432/x")}, "InvalidParameterValue",
         "jdbc:mysql://"),
        ({"ProdConProperties": db.props(url="mysql://127.0.0.1:3306/x")}, "InvalidParameterValue", "url"),
        ({"ProdConProperties": db.props(url="jdbc:mysql://a:1,b:2/x")}, "InvalidParameterValue", "one host"),
        ({"ProdConProperties": db.props(url="jdbc:mysql://127.0.0.1:99999/x")}, "InvalidParameterValue", "port"),
        ({"ProdConProperties": db.props(url=db.url + "?password=abc")}, "InvalidParameterValue", "password"),
        ({"ProdConProperties": db.props(url="jdbc:mysql://u:p@127.0.0.1/x")}, "InvalidParameterValue", "password"),
        ({"ProdConProperties": props.replace('"region"', '"reg\\u0000ion"')}, "InvalidParameterValue", "NUL"),
        ({"ProdConProperties": db.props(username="a\u0000b")}, "InvalidParameterValue", "username"),
        ({"ProdConProperties": db.props(pad="x" * 70_000)}, "InvalidParameterValue", "ProdConProperties"),
        ({"DevConProperties": "{}"}, "InvalidParameterValue", "DevConProperties: url is required"),
        ({"Name": "1abc"}, "InvalidParameterValue", "Name"),
        ({"Name": "a\u0000b"}, "InvalidParameterValue", "Name"),
        ({"Name": "a" * 65}, "InvalidParameterValue", "Name"),
        ({"DisplayName": "x" * 65}, "InvalidParameterValue", "DisplayName"),
        ({"DisplayName": "a\u0000b"}, "InvalidParameterValue", "DisplayName"),
        ({"Description": "d" * 1025}, "InvalidParameterValue", "Description"),
        ({"Description": "a\u0000b"}, "InvalidParameterValue", "Description"),
    ]


def test_bad_input_is_refused_and_nothing_is_saved(api: Api, mariadb: Db) -> None:
    project = new_project(api)
    for fields, code, words in _bad_cases(mariadb):
        name = unique("bad")
        body = {"ProjectId": project, "Name": name, "Type": "MYSQL", "ProdConProperties": mariadb.props(), **fields}
        err = api.error("CreateDataSource", body, raw=True)
        assert err.code == code, (fields, err.message)
        assert words in err.message, (fields, err.message)
        assert_no_secret(err.message, mariadb.password)
    assert api.data("ListDataSources", {"ProjectId": project})["TotalCount"] == 0


def test_bad_update_changes_nothing(api: Api, mariadb: Db) -> None:
    project = new_project(api)
    source_id = create_source(api, project, mariadb)
    before = api.data("GetDataSource", {"ProjectId": project, "Id": source_id})
    for fields, code, words in _bad_cases(mariadb):
        if {"Type", "Name"} & set(fields):
            continue  # not fields of UpdateDataSource
        err = api.error("UpdateDataSource", {"ProjectId": project, "Id": source_id, "DisplayName": "new", **fields},
                        raw=True)
        assert (err.code, words in err.message) == (code, True), (fields, err.message)
    assert api.data("GetDataSource", {"ProjectId": project, "Id": source_id}) == before


def test_missing_unknown_and_mistyped_fields(api: Api, project: str, mariadb: Db) -> None:
    body = {"ProjectId": project, "Name": unique("s"), "Type": "MYSQL", "ProdConProperties": mariadb.props()}
    assert api.error("CreateDataSource", {k: v for k, v in body.items() if k != "ProdConProperties"},
                     raw=True).code == "MissingParameter"
    assert api.error("CreateDataSource", {**body, "Colour": "red"}, raw=True).code == "UnknownParameter"
    assert api.error("CreateDataSource", {**body, "Type": 3}, raw=True).code == "InvalidParameterValue"
    assert body["Name"] not in names_in(api, project)


def test_duplicate_name(api: Api, project: str, postgres: Db) -> None:
    name = unique("dup")
    create_source(api, project, postgres, name)
    err = api.error("CreateDataSource", {"ProjectId": project, "Name": name, "Type": "POSTGRE",
                                         "ProdConProperties": postgres.props()})
    assert err.code == "InvalidParameter.DuplicateName"


# ------------------------------------------------------------------------------------------------
# `wedata datasources test`


def run_cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*server.command(), *args], env=server.env(), capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_cli_reports_a_broken_source_in_one_line(api: Api, server: ServerProcess) -> None:
    project = new_project(api)
    name = "wd_ds_gone_" + unique("x")[-8:]
    with pg_admin() as c:
        c.execute(f'CREATE DATABASE "{name}"')
    props = json.dumps({"url": f"jdbc:postgresql://127.0.0.1:5432/{name}", "username": "postgres",
                        "password": "cli-secret-pw"})
    source_id = api.data("CreateDataSource", {"ProjectId": project, "Name": unique("s"), "Type": "TDSQL_POSTGRE",
                                              "ProdConProperties": props})["DataSourceId"]
    assert run_cli(server, "datasources", "test", str(source_id)).returncode == 0
    with pg_admin() as c:
        c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    out = run_cli(server, "datasources", "test", str(source_id))
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and f"data source {source_id}" in lines[0] and "does not exist" in lines[0]
    assert "cli-secret-pw" not in out.stderr + out.stdout
    missing = run_cli(server, "datasources", "test", "987654321")
    assert missing.returncode != 0 and "987654321 does not exist" in missing.stderr
