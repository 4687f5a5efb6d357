"""RunSQLScript, GetSQLRunResult, StopSQLScriptRun and ListSQLScriptRuns through the SDK, on the
real PostgreSQL of this machine: the answers' shapes, results, failures, stops and bad input."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.actions.sql.conftest import (
    Db,
    b64,
    create_source,
    new_project,
    result,
    run,
    wait_sleeping,
    wait_status,
)
from tests.support import ADMIN_UIN, Api, unique

TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


@pytest.fixture(scope="module")
def project(api: Api) -> str:
    return new_project(api)


@pytest.fixture(scope="module")
def source(api: Api, project: str, postgres: Db) -> int:
    return create_source(api, project, postgres)


def saved(api: Api, project: str, source: int | None, sql: str = "select 1", **config: Any) -> str:
    cfg = {"DatasourceId": str(source), **config} if source is not None else config
    return str(api.data("CreateSQLScript", {"ProjectId": project, "ScriptName": unique("s"),
                                            "ScriptContent": b64(sql), "ScriptConfig": cfg})["ScriptId"])


def runs_of(api: Api, project: str, script_id: str, **filters: Any) -> list[str]:
    return [j["JobId"] for j in api.data("ListSQLScriptRuns", {"ProjectId": project, "ScriptId": script_id,
                                                                **filters})]


def test_an_adhoc_run_answers_at_once_with_one_execution_per_statement(api: Api, project: str, source: int) -> None:
    sql = "select 1 as n, 'a;b' as s;\n-- a comment; still a comment\nselect 2 as m"
    job = run(api, project, sql, source, raw=True)
    assert re.fullmatch(r"68\d{17}", job["JobId"]) and job["JobType"] == "EXECUTOR"
    assert job["Status"] in ("QUEUED", "RUNNING", "SUCCESS")
    assert job["ScriptId"].startswith("adhoc-") and re.fullmatch(r"\d{8}-\d{4}", job["JobName"])
    assert job["ScriptContent"] == sql and job["ScriptContentTruncate"] is False
    assert job["UserUin"] == ADMIN_UIN == job["OwnerUin"] and TIME.match(job["CreateTime"])
    executions = job["JobExecutionList"]
    assert [e["JobExecutionId"] for e in executions] == [f"{job['JobId']}_0", f"{job['JobId']}_1"]
    assert [e["JobExecutionName"] for e in executions] == ["Result1", "Result2"]
    assert "'a;b'" in executions[0]["ScriptContent"] and executions[1]["ScriptContent"].endswith("select 2 as m")
    done = wait_status(api, project, job["JobId"])
    assert done["Status"] == "SUCCESS" and done["Truncated"] is False and done["CostMs"] >= 0
    assert done["StatusMessage"]
    first, second = done["Results"]
    assert first["JobExecutionId"] == f"{job['JobId']}_0" and first["Status"] == "SUCCESS"
    assert [c["ColumnName"] for c in first["Columns"]] == ["n", "s"]
    assert [c["ColumnType"] for c in first["Columns"]] == ["int", "string"]
    assert first["Rows"] == [{"Values": ["1", "a;b"]}] and first["Total"] == 1 and first["Truncated"] is False
    assert second["Rows"] == [{"Values": ["2"]}]
    only = result(api, project, job["JobId"], JobExecutionId=f"{job['JobId']}_1")
    assert [r["JobExecutionId"] for r in only["Results"]] == [f"{job['JobId']}_1"]
    assert api.error("GetSQLRunResult", {"ProjectId": project, "JobId": job["JobId"],
                                         "JobExecutionId": f"{job['JobId']}_7"}).code == "ResourceNotFound"
    assert api.error("GetSQLRunResult", {"ProjectId": project, "JobId": "6800000000000000000"}
                     ).code == "ResourceNotFound"


def test_values_are_strings_and_nulls_stay_null(api: Api, project: str, source: int) -> None:
    sql = ("select 2147483648::bigint as big, 1.5::float8 as f, 12.30::numeric(5,2) as d, true as b, null::text as n,"
           " '2025-01-02 03:04:05'::timestamp as ts, '2025-01-02'::date as day, 'é'::text as t")
    done = wait_status(api, project, run(api, project, sql, source)["JobId"])
    res = done["Results"][0]
    assert res["Rows"] == [{"Values": ["2147483648", "1.5", "12.30", "true", None, "2025-01-02 03:04:05",
                                       "2025-01-02", "é"]}]
    assert [c["ColumnType"] for c in res["Columns"]] == ["bigint", "double", "decimal", "boolean", None, "timestamp",
                                                         "date", "string"]


def test_a_saved_script_runs_with_its_variables(api: Api, project: str, source: int) -> None:
    sid = saved(api, project, source, "select '${dt}' as dt, '${yyyyMMdd}' as today", Params='{"dt":"20250101"}')
    job = api.data("RunSQLScript", {"ProjectId": project, "ScriptId": sid})
    assert job["ScriptId"] == sid and "20250101" in job["ScriptContent"]
    done = wait_status(api, project, job["JobId"])
    dt, today = done["Results"][0]["Rows"][0]["Values"]
    assert dt == "20250101" and re.fullmatch(r"20\d{6}", today)
    # A selection of the script (raw text) runs instead of the saved text.
    part = api.data("RunSQLScript", {"ProjectId": project, "ScriptId": sid, "ScriptContent": "select 7"})
    assert wait_status(api, project, part["JobId"])["Results"][0]["Rows"] == [{"Values": ["7"]}]
    assert runs_of(api, project, sid) == [part["JobId"], job["JobId"]]


def test_invalid_sql_fails_the_run_naming_the_statement(api: Api, project: str, source: int) -> None:
    table = unique("t")
    sql = f"create table {table} (n int); selec oops; select 3"
    done = wait_status(api, project, run(api, project, sql, source)["JobId"])
    assert done["Status"] == "FAILED"
    assert "2" in done["StatusMessage"] and "syntax error" in done["StatusMessage"]
    assert [r["Status"] for r in done["Results"]] == ["SUCCESS", "FAILED", "CANCELED"]
    assert done["Results"][0]["Columns"] == [] and done["Results"][2]["Rows"] == []


def test_rows_are_cut_at_the_cap(api: Api, project: str, source: int) -> None:
    done = wait_status(api, project, run(api, project, "select n from generate_series(1, 1500) n", source)["JobId"])
    res = done["Results"][0]
    assert done["Status"] == "SUCCESS" and done["Truncated"] is True and res["Truncated"] is True
    assert res["Total"] == 1000 == len(res["Rows"]) and res["Rows"][-1] == {"Values": ["1000"]}
    assert "truncated" in done["StatusMessage"]


def test_a_running_query_is_stopped_in_the_database(api: Api, project: str, source: int, postgres: Db) -> None:
    job = run(api, project, "select pg_sleep(60)", source)["JobId"]
    wait_sleeping(postgres, True)
    assert api.data("StopSQLScriptRun", {"ProjectId": project, "JobId": job}) == {"Status": True}
    wait_sleeping(postgres, False, patience=5)
    done = wait_status(api, project, job)
    assert done["Status"] == "CANCELED" and ADMIN_UIN in done["StatusMessage"]
    assert done["Results"][0]["Status"] == "CANCELED"
    err = api.error("StopSQLScriptRun", {"ProjectId": project, "JobId": job})
    assert err.code == "InvalidParameter.InvalidJobState" and "CANCELED" in err.message


def test_list_filters(api: Api, project: str, source: int) -> None:
    sid = saved(api, project, source, "select 'needle'")
    first = api.data("RunSQLScript", {"ProjectId": project, "ScriptId": sid})["JobId"]
    second = api.data("RunSQLScript", {"ProjectId": project, "ScriptId": sid, "ScriptContent": "select 'hay'"})["JobId"]
    for job in (first, second):
        wait_status(api, project, job)
    assert runs_of(api, project, sid) == [second, first]
    assert runs_of(api, project, sid, JobId=first) == [first]
    assert runs_of(api, project, sid, SearchWord="NEEDLE") == [first]
    assert runs_of(api, project, sid, ExecuteUserUin=ADMIN_UIN) == [second, first]
    assert runs_of(api, project, sid, ExecuteUserUin="123") == []
    assert runs_of(api, project, sid, StartTime="2000-01-01 00:00:00", EndTime="2099-01-01 00:00:00") == [second, first]
    assert runs_of(api, project, sid, EndTime="2000-01-01 00:00:00") == []
    assert runs_of(api, project, sid, StartTime="4102444800000") == []  # epoch ms: 2100-01-01
    listed = api.data("ListSQLScriptRuns", {"ProjectId": project, "ScriptId": sid})[0]
    assert listed["Status"] == "SUCCESS" and listed["JobExecutionList"] is None and TIME.match(listed["EndTime"])
    err = api.error("ListSQLScriptRuns", {"ProjectId": project, "ScriptId": sid, "StartTime": "yesterday"})
    assert err.code == "InvalidParameterValue" and "StartTime" in err.message
    assert api.error("ListSQLScriptRuns", {"ProjectId": project, "ScriptId": "nope"}).code == "ResourceNotFound"


def test_bad_runs_are_refused_and_nothing_runs(api: Api, project: str, source: int, postgres: Db) -> None:
    sid = saved(api, project, source)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"ScriptContent": "select '${nobody}'"}, "InvalidParameterValue", "${nobody}"),
        ({"ScriptContent": "-- only a comment"}, "InvalidParameterValue", "ScriptContent"),
        ({"ScriptContent": "select 1;\n" * 110_000}, "InvalidParameterValue", "ScriptContent"),
        ({"Params": "{not json"}, "InvalidParameterValue", "Params"),
        ({"ScriptContent": "select 1\x00"}, "InvalidParameterValue", "ScriptContent"),
    ]
    for body, code, text in cases:
        err = api.error("RunSQLScript", {"ProjectId": project, "ScriptId": sid, **body})
        assert err.code == code and text in err.message, (body, err)
    assert runs_of(api, project, sid) == []
    nothing = saved(api, project, None)
    err = api.error("RunSQLScript", {"ProjectId": project, "ScriptId": nothing})
    assert err.code == "InvalidParameterValue" and "DatasourceId" in err.message
    assert runs_of(api, project, nothing) == []
    for body, code, text in (
        ({"ScriptContent": "select 1"}, "MissingParameter", "ScriptConfig"),
        ({"ScriptConfig": {"DatasourceId": str(source)}}, "MissingParameter", "ScriptContent"),
        ({"ScriptConfig": {}, "ScriptContent": "select 1"}, "MissingParameter", "DatasourceId"),
        ({"ScriptConfig": {"DatasourceId": "999999"}, "ScriptContent": "select 1"}, "ResourceNotFound", "999999"),
        ({"ScriptConfig": {"DatasourceId": str(source), "ExecutorGroupId": "1"}, "ScriptContent": "select 1"},
         "ResourceNotFound", "ExecutorGroupId"),
        ({"ScriptId": "nope"}, "ResourceNotFound", "nope"),
    ):
        err = api.error("RunSQLScript", {"ProjectId": project, **body})
        assert err.code == code and text in err.message, (body, err)


def test_a_source_of_another_project_or_type_is_refused_naming_it(api: Api, project: str, postgres: Db) -> None:
    other = new_project(api)
    foreign = create_source(api, other, postgres)
    err = api.error("RunSQLScript", {"ProjectId": project, "ScriptContent": "select 1",
                                     "ScriptConfig": {"DatasourceId": str(foreign)}})
    assert err.code == "UnauthorizedOperation" and f"data source {foreign}" in err.message
    hive = api.data("CreateDataSource", {"ProjectId": project, "Name": unique("hive"), "Type": "HIVE",
                                         "ProdConProperties": '{"url":"jdbc:hive2://10.0.0.1:10000"}'})["DataSourceId"]
    err = api.error("RunSQLScript", {"ProjectId": project, "ScriptContent": "select 1",
                                     "ScriptConfig": {"DatasourceId": str(hive)}})
    assert err.code == "UnsupportedOperation" and "HIVE" in err.message


def test_no_password_in_answers(api: Api, project: str, source: int, postgres: Db) -> None:
    job = run(api, project, "select current_user; selec 1", source)
    done = wait_status(api, project, job["JobId"])
    listed = api.call("ListSQLScriptRuns", {"ProjectId": project, "ScriptId": job["ScriptId"]})
    for text in (str(job), str(done), str(listed)):
        assert postgres.password not in text
