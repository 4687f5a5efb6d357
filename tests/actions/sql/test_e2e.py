"""End to end through the shared SQL executor (``executors/sql/runner.py``): MariaDB scripts
return rows, a long query is stopped in the database, a DLC script runs on the lake."""

from __future__ import annotations

import time

import pytest

from tests.actions.sql.conftest import (
    Db,
    create_source,
    new_project,
    run,
    wait_sleeping,
    wait_status,
)
from tests.support import Api, mariadb_root, unique


@pytest.fixture(scope="module")
def project(api: Api) -> str:
    return new_project(api)


def test_a_mariadb_script_returns_rows(api: Api, project: str, mariadb: Db) -> None:
    source = create_source(api, project, mariadb)
    table = unique("t")
    sql = (f"create table {table} (id int primary key, name varchar(20));\n"
           f"insert into {table} values (1, 'Alice'), (2, 'semi;colon'), (3, null);\n"
           f"select id, name from {table} order by id;\n"
           f"select count(*) as n from {table}")
    job = run(api, project, sql, source)
    assert len(job["JobExecutionList"]) == 4
    done = wait_status(api, project, job["JobId"])
    assert done["Status"] == "SUCCESS", done
    rows = done["Results"][2]
    assert [c["ColumnName"] for c in rows["Columns"]] == ["id", "name"]
    assert rows["Rows"] == [{"Values": ["1", "Alice"]}, {"Values": ["2", "semi;colon"]}, {"Values": ["3", None]}]
    assert rows["Total"] == 3 and done["Results"][3]["Rows"] == [{"Values": ["3"]}]
    assert done["Results"][0]["Columns"] == [] and done["Results"][1]["Rows"] == []


def test_invalid_sql_on_mariadb_fails_with_the_databases_message(api: Api, project: str, mariadb: Db) -> None:
    source = create_source(api, project, mariadb)
    done = wait_status(api, project, run(api, project, "select 1; select * from no_such_table_here", source)["JobId"])
    assert done["Status"] == "FAILED"
    assert "statement 2" in done["StatusMessage"].lower() and "no_such_table_here" in done["StatusMessage"]
    assert mariadb.password not in str(done)


def test_a_long_pg_sleep_is_stopped_and_gone(api: Api, project: str, postgres: Db) -> None:
    source = create_source(api, project, postgres)
    job = run(api, project, "select 1; select pg_sleep(300); select 2", source)["JobId"]
    wait_sleeping(postgres, True)
    started = time.monotonic()
    api.call("StopSQLScriptRun", {"ProjectId": project, "JobId": job})
    wait_sleeping(postgres, False, patience=5)
    done = wait_status(api, project, job)
    assert time.monotonic() - started < 10
    assert done["Status"] == "CANCELED"
    assert [r["Status"] for r in done["Results"]] == ["SUCCESS", "CANCELED", "CANCELED"]
    assert done["Results"][0]["Rows"] == [{"Values": ["1"]}]


def test_a_mariadb_sleep_is_killed(api: Api, project: str, mariadb: Db) -> None:
    source = create_source(api, project, mariadb)
    job = run(api, project, "select sleep(300)", source)["JobId"]
    wait_status(api, project, job, ("RUNNING",))

    def sleeping() -> int:
        with mariadb_root().cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s AND INFO LIKE %s",
                        (mariadb.username, "%sleep(300)%"))
            return int(cur.fetchone()[0])

    from tests.waiting import wait_until

    wait_until(sleeping, lambda n: n == 1, what="the sleep to run on MariaDB")
    api.call("StopSQLScriptRun", {"ProjectId": project, "JobId": job})
    assert wait_status(api, project, job)["Status"] == "CANCELED"
    wait_until(sleeping, lambda n: n == 0, what="the sleep to be gone from MariaDB", patience=5)


def test_a_dlc_script_runs_on_the_lake(api: Api, project: str) -> None:
    lake = api.data("CreateDataSource", {"ProjectId": project, "Name": unique("lake"), "Type": "DLC",
                                         "ProdConProperties": '{"region":"ap-guangzhou"}'})["DataSourceId"]
    table = unique("lake_t")
    sql = f"create table {table} (id int, s string); insert into {table} values (1, 'x'); select * from {table}"
    done = wait_status(api, project, run(api, project, sql, lake)["JobId"])
    assert done["Status"] == "SUCCESS", done
    assert done["Results"][2]["Rows"] == [{"Values": ["1", "x"]}]


def catalog_tables(api: Api, **filters: str | int) -> set[str]:
    data = api.data("ListTable", {"PageNumber": 1, "PageSize": 500, **filters})
    return {str(item["Name"]) for item in data["Items"]}


def test_the_catalog_lists_a_table_a_script_created(api: Api, project: str, postgres: Db) -> None:
    """A run that executed DDL marks its source's catalog stale (services/sql/execute.py): the
    next list re-reads the source at once instead of serving the snapshot until it ages out."""
    source = create_source(api, project, postgres)
    before = catalog_tables(api, DatasourceId=source)  # read and cached now
    table = unique("made_by_script").lower()
    done = wait_status(api, project, run(api, project, f"create table {table} (id int); select 1", source)["JobId"])
    assert done["Status"] == "SUCCESS", done
    assert table not in before and table in catalog_tables(api, DatasourceId=source)
    done = wait_status(api, project, run(api, project, f"drop table {table}", source)["JobId"])
    assert done["Status"] == "SUCCESS", done
    assert table not in catalog_tables(api, DatasourceId=source)
