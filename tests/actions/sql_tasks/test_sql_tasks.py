"""SQL tasks (21 JDBC SQL, 23 TDSQL-PostgreSQL, 134 StarRocks, 32 DLC SQL) scheduled and run by
the engine, through the official SDK: real rows in real databases, output parameters to a Shell
task, the lake, failures with the database's message, cancellation in the database, the result
cap, the data-source grant at SubmitTask, and no password anywhere."""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg
import pytest

from tests.actions.datasources.conftest import Db, create_source, new_project, pg_admin
from tests.actions.instances.test_instances import Space, full_log, instances, submit, wait_for
from tests.actions.sql_tasks.conftest import DAY, Fast
from tests.support import Api, mariadb_root, unique
from tests.waiting import wait_until

DAILY = {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 0 * * ? *", "StartTime": f"{DAY} 00:00:00"}


def pg_connect(db: Db) -> psycopg.Connection[Any]:
    name = db.url.rsplit("/", 1)[1]
    return psycopg.connect(host="127.0.0.1", user=db.username, password=db.password, dbname=name, autocommit=True)


def sql_task(api: Api, space: Space, code: str, source: int | None, *, type_id: str = "21",
             sched: dict[str, Any] | None = None, conf: dict[str, Any] | None = None, name: str | None = None) -> str:
    extra = {"SourceServiceId": str(source)} if source is not None else {}
    return submit(api, space, code, type_id=type_id, name=name, sched={"MaxRetryNumber": 0, **(sched or {})},
                  conf={**extra, **(conf or {})})


def on_day(api: Api, space: Space, task: str, states: set[str]) -> dict[str, Any]:
    items = wait_for(api, space, task, states, timeout=30)
    (item,) = [i for i in items if i["InstanceState"] in states]
    return item


def detail(api: Api, space: Space, key: str) -> dict[str, Any]:
    return dict(api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": key}))


def assert_no_password(text: str, *dbs: Db) -> None:
    for db in dbs:
        for form in (db.password, db.password.replace("%", "%25").replace("@", "%40").replace("/", "%2F")):
            assert form not in text


# ------------------------------------------------------------------------------------------------
# The worked example of docs/sql.md: a daily SQL task on PostgreSQL and a Shell task after it.


def test_daily_sql_task_writes_its_data_time_and_a_shell_task_reads_what_it_selected(
    api: Api, space: Space, pg_source: int, postgres: Db, fast: Fast
) -> None:
    table = unique("daily").lower()
    with pg_connect(postgres) as c:
        c.execute(f"CREATE TABLE {table} (day date, amount int)")
    code = (f"-- the day's rows, written again on a rerun\n"
            f"DELETE FROM {table} WHERE day = '${{yyyy-MM-dd}}';\n"
            f"INSERT INTO {table} SELECT '${{yyyy-MM-dd}}', g FROM generate_series(1, 3) g;\n"
            f"SELECT count(*) AS n, sum(amount) AS total, 'a;b' AS s FROM {table} WHERE day = '${{yyyy-MM-dd}}'")
    name = unique("load")
    up = sql_task(api, space, code, pg_source, name=name, sched={
        **DAILY, "ParamTaskOutList": [{"ParamKey": "rows", "ParamValue": "$[0][0]"},
                                      {"ParamKey": "total", "ParamValue": "$[0][1]"}]})
    down = submit(api, space, 'echo "loaded ${n} rows, total ${t}, on ${yyyyMMdd}"', sched={
        **DAILY, "UpstreamDependencyConfigList": [{"TaskId": up, "MainCyclicConfig": "DAY",
                                                   "SubordinateCyclicConfig": "CURRENT_DAY"}],
        "ParamTaskInList": [{"ParamKey": "n", "FromTaskId": up, "FromParamKey": "rows", "ParamDesc": f"p.{name}.rows"},
                            {"ParamKey": "t", "FromTaskId": up, "FromParamKey": "total",
                             "ParamDesc": f"p.{name}.total"}]})
    item = wait_until(lambda: [i for i in instances(api, space, down) if i["CurRunDate"].startswith(DAY)],
                      lambda items: bool(items) and items[0]["InstanceState"] in ("COMPLETED", "EXPIRED"),
                      what="the downstream Shell instance of the day", patience=30)[0]
    assert item["InstanceState"] == "COMPLETED"
    log, _ = full_log(api, space, item["InstanceKey"])
    assert "loaded 3 rows, total 6, on 20250301" in log.split("<br>")
    with pg_connect(postgres) as c:
        assert c.execute(f"SELECT day::text, count(*) FROM {table} GROUP BY day").fetchall() == [(DAY, 3)]
    (sql_item,) = [i for i in instances(api, space, up) if i["CurRunDate"].startswith(DAY)]
    sql_log, _ = full_log(api, space, sql_item["InstanceKey"])
    lines = sql_log.split("<br>")
    assert any(line.startswith("[sql] running on data source") and postgres.username in line for line in lines)
    assert f"[sql] statement 2: INSERT INTO {table} SELECT '{DAY}', g FROM generate_series(1, 3) g" in lines
    assert any(line.startswith("[sql] statement 2: 3 row(s) affected") for line in lines)
    assert "n\ttotal\ts" in lines and "3\t6\ta;b" in lines  # the last result set's first rows
    code_seen = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": sql_item["InstanceKey"]})
    assert f"'{DAY}'" in code_seen["CodeContent"]  # rendered like Shell's code
    assert_no_password(sql_log + json.dumps(code_seen) + fast.server.log_path.read_text(), postgres)


def test_a_mariadb_sql_task(api: Api, space: Space, my_source: int, mariadb: Db, fast: Fast) -> None:
    table = unique("orders").lower()
    code = (f"CREATE TABLE {table} (id INT PRIMARY KEY, note VARCHAR(20));\n"
            f"INSERT INTO {table} VALUES (1, 'it\\'s; fine'), (2, '${{yyyyMMdd}}');\n"
            f"SELECT id, note FROM {table} ORDER BY id")
    task = sql_task(api, space, code, my_source, sched={"ParamTaskOutList": [
        {"ParamKey": "note", "ParamValue": "$[0][1]"}]})
    item = on_day(api, space, task, {"COMPLETED", "EXPIRED"})
    log, _ = full_log(api, space, item["InstanceKey"])
    assert item["InstanceState"] == "COMPLETED", log
    lines = log.split("<br>")
    assert "[sql] statement 2: 2 row(s) affected" in " ".join(lines)
    assert "1\tit's; fine" in lines and "2\t20250101" in lines
    root = mariadb_root()
    with root.cursor() as cur:
        cur.execute(f"SELECT note FROM `{mariadb.username}`.{table} ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == ["it's; fine", "20250101"]
    root.close()
    assert_no_password(log + fast.server.log_path.read_text(), mariadb)


# ------------------------------------------------------------------------------------------------
# The lake.


def test_dlc_sql_tasks_in_spark_sql_run_on_the_lake_and_a_second_reads_the_first(api: Api, space: Space) -> None:
    db, table = unique("dw").lower(), unique("sales").lower()
    code = (f"CREATE DATABASE IF NOT EXISTS {db};\n"
            f"CREATE TABLE IF NOT EXISTS {db}.{table} (id INT, amount DECIMAL(10,2), day STRING) USING parquet "
            f"PARTITIONED BY (day);\n"
            f"INSERT OVERWRITE TABLE {db}.{table} SELECT id, id * 1.5, date_format(to_date('${{yyyy-MM-dd}}'), "
            f"'yyyyMMdd') FROM (SELECT explode(sequence(1, 4)) AS id) t;\n"
            f"SELECT count(*) AS n, nvl(sum(amount), 0) AS total FROM {db}.{table}")
    name = unique("lake_load")
    up = sql_task(api, space, code, None, type_id="32", name=name,
                  sched={"ParamTaskOutList": [{"ParamKey": "n", "ParamValue": "$[0][0]"}]})
    down = sql_task(api, space, f"SELECT day, count(*) AS c FROM {db}.{table} WHERE id <= ${{k}} GROUP BY day",
                    None, type_id="32", sched={
                        "UpstreamDependencyConfigList": [{"TaskId": up, "MainCyclicConfig": "DAY",
                                                          "SubordinateCyclicConfig": "CURRENT_DAY"}],
                        "ParamTaskInList": [{"ParamKey": "k", "FromTaskId": up, "FromParamKey": "n",
                                             "ParamDesc": f"p.{name}.n"}],
                        "ParamTaskOutList": [{"ParamKey": "day", "ParamValue": "$[0][0]"}]})
    item = on_day(api, space, down, {"COMPLETED", "EXPIRED"})
    log, _ = full_log(api, space, item["InstanceKey"])
    assert item["InstanceState"] == "COMPLETED", log
    assert "day\tc" in log.split("<br>") and "20250101\t4" in log.split("<br>")
    (first,) = instances(api, space, up)
    up_log, _ = full_log(api, space, first["InstanceKey"])
    assert "[sql] running on the built-in lake" in up_log
    assert "[sql] statement 2: ignored on the lake: USING PARQUET" in up_log.split("<br>")
    assert "4\t15.00" in up_log.split("<br>")  # count, sum(1.5 * (1+2+3+4))


def test_concurrent_dlc_tasks_share_the_lake(api: Api, space: Space) -> None:
    tables = [unique("con").lower() for _ in range(3)]
    tasks = [sql_task(api, space, f"CREATE TABLE {t} AS SELECT range AS i FROM range(3000000);\n"
                                  f"SELECT count(*) FROM {t} a JOIN {t} b USING (i)", None, type_id="32")
             for t in tables]
    items = [on_day(api, space, t, {"COMPLETED", "EXPIRED"}) for t in tasks]
    assert [i["InstanceState"] for i in items] == ["COMPLETED"] * 3, [full_log(api, space, i["InstanceKey"])
                                                                      for i in items]
    for item in items:
        assert "3000000" in full_log(api, space, item["InstanceKey"])[0].split("<br>")


def test_a_bound_lake_engine_runs_a_dlc_task_in_its_default_database(api: Api, fast: Fast) -> None:
    project = new_project(api)
    workflow = api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": unique("wf"),
                                           "ParentFolderPath": "/"})["WorkflowId"]
    space = Space(project, workflow)
    engine = unique("eng")
    unbound = api.error("SubmitTask", {"ProjectId": project, "TaskId": api.data("CreateTask", {
        "ProjectId": project,
        "TaskBaseAttribute": {"TaskName": unique("t"), "TaskTypeId": "32", "WorkflowId": workflow},
        "TaskConfiguration": {"CodeContent": "U0VMRUNUIDE=", "DataCluster": engine},
        "TaskSchedulerConfiguration": {"CycleType": "ONEOFF_CYCLE", "StartTime": "2025-01-01 00:00:00"}})["TaskId"],
        "VersionRemark": "x"})
    assert unbound.code == "InvalidParameterValue" and engine in unbound.message
    assert api.call("AddCalcEnginesToProject", {"ProjectId": project, "DLCInfo": [
        {"ComputeResources": [engine], "Region": "ap-guangzhou", "DefaultDatabase": "mart"}]})["RequestId"]
    bad = api.error("AddCalcEnginesToProject", {"ProjectId": project, "DLCInfo": [
        {"ComputeResources": ["no such/engine"], "Region": "ap-guangzhou", "DefaultDatabase": "mart"}]})
    assert bad.code == "InvalidParameterValue" and "ComputeResources[0]" in bad.message
    task = sql_task(api, space, "CREATE TABLE t AS SELECT 7 AS v; SELECT current_schema(), v FROM mart.t", None,
                    type_id="32", conf={"DataCluster": engine})
    item = on_day(api, space, task, {"COMPLETED", "EXPIRED"})
    log, _ = full_log(api, space, item["InstanceKey"])
    assert item["InstanceState"] == "COMPLETED", log
    assert f"[sql] running on lake engine {engine}" in log and "mart\t7" in log.split("<br>")
    # Binding changes the project: a member who is not its administrator is refused; a stranger too.
    engineer = fast.server.new_user()
    api.data("CreateProjectMember", {"ProjectId": project, "UserUins": [engineer.uin],  # type: ignore[attr-defined]
                                     "RoleIds": ["308335260676890624"]})  # DataEngineer
    body = {"ProjectId": project, "DLCInfo": [{"ComputeResources": [unique("e")], "Region": "r",
                                                 "DefaultDatabase": "d"}]}
    assert engineer.error("AddCalcEnginesToProject", body).code == "UnauthorizedOperation"
    assert fast.server.new_user().error("AddCalcEnginesToProject", body).code == \
        "UnauthorizedOperation.UserNotInProject"
    assert api.error("AddCalcEnginesToProject", {**body, "DLCInfo": [
        {"ComputeResources": ["lake"], "Region": "r", "DefaultDatabase": "d"}]}).code == "InvalidParameterValue"


# ------------------------------------------------------------------------------------------------
# Failures, cancellation, limits.


def test_invalid_sql_fails_with_the_databases_message_and_the_statement_number(
    api: Api, space: Space, pg_source: int
) -> None:
    task = sql_task(api, space, "SELECT 1;\nSELECT 2;\nSELEC nonsense;\nSELECT 4", pg_source)
    item = on_day(api, space, task, {"EXPIRED", "COMPLETED"})
    assert item["InstanceState"] == "EXPIRED"
    msg = detail(api, space, item["InstanceKey"])["JobErrorMsg"]
    assert "statement 3 of 4 failed" in msg and 'syntax error at or near "SELEC"' in msg, msg
    log, _ = full_log(api, space, item["InstanceKey"])
    assert "[sql] statement 3 failed after" in log and "[sql] statement 4:" not in log


def test_a_spark_statement_that_cannot_be_transpiled_fails_naming_it(api: Api, space: Space) -> None:
    task = sql_task(api, space, "SELECT 1; SELECT * FROM (((", None, type_id="32")
    item = on_day(api, space, task, {"EXPIRED", "COMPLETED"})
    msg = detail(api, space, item["InstanceKey"])["JobErrorMsg"]
    assert item["InstanceState"] == "EXPIRED" and "statement 2 of 2 failed: cannot run on the lake: Spark SQL " \
        "parse error" in msg, msg


def _sleepers(db: Db) -> list[Any]:
    """The statements running in the source's database (a streamed query shows as its FETCH)."""
    with pg_admin() as c:
        return c.execute("SELECT pid, query FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                         "AND pid <> pg_backend_pid()", (db.url.rsplit("/", 1)[1],)).fetchall()


def test_killing_a_pg_sleep_task_cancels_it_in_the_database(
    api: Api, space: Space, pg_source: int, postgres: Db
) -> None:
    task = sql_task(api, space, "SELECT 1; SELECT pg_sleep(60)", pg_source)
    (item,) = wait_for(api, space, task, {"RUNNING"})
    wait_until(lambda: _sleepers(postgres), bool, what="the statement in pg_stat_activity", patience=15)
    api.data("KillTaskInstancesAsync", {"ProjectId": space.project, "InstanceKeyList": [item["InstanceKey"]]})
    started = time.monotonic()
    wait_until(lambda: _sleepers(postgres), lambda rows: not rows, what="the statement gone", patience=10)
    assert time.monotonic() - started < 10
    (ended,) = wait_for(api, space, task, {"EXPIRED", "COMPLETED", "FAILED"})
    assert ended["InstanceState"] == "EXPIRED"
    log, _ = full_log(api, space, ended["InstanceKey"])
    assert "[sql] statement 2 failed" in log and "CANCELED" in log, log


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_execution_ttl_cancels_a_statement_in_the_database(api: Api, space: Space, my_source: int) -> None:
    marker = unique("ttl")
    task = sql_task(api, space, f"SELECT SLEEP(120), '{marker}'", my_source, sched={"ExecutionTTLMinute": 1})
    (item,) = wait_for(api, space, task, {"EXPIRED", "COMPLETED"}, timeout=30)
    assert item["InstanceState"] == "EXPIRED"
    assert "ExecutionTTL" in detail(api, space, item["InstanceKey"])["JobErrorMsg"]
    root = mariadb_root()
    with root.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.processlist WHERE info LIKE %s AND id <> CONNECTION_ID()",
                    (f"%{marker}%",))
        assert cur.fetchone()[0] == 0
    root.close()


def test_a_result_over_the_cap_is_truncated(api: Api, space: Space, pg_source: int) -> None:
    task = sql_task(api, space, "SELECT g, repeat('x', 10) FROM generate_series(1, 50000) g", pg_source, sched={
        "ParamTaskOutList": [{"ParamKey": "last", "ParamValue": "$[999][0]"},
                             {"ParamKey": "beyond", "ParamValue": "$[1000][0]"}]})
    item = on_day(api, space, task, {"COMPLETED", "EXPIRED"})
    assert item["InstanceState"] == "COMPLETED"
    log, _ = full_log(api, space, item["InstanceKey"])
    assert "[sql] statement 1: 1000+ row(s) (truncated at the result limit)" in " ".join(log.split("<br>"))
    assert "output parameter beyond not produced" in log and "output parameter last" not in log


# ------------------------------------------------------------------------------------------------
# SubmitTask: the source must be usable.


def test_submit_refuses_a_sql_task_without_a_usable_source(api: Api, space: Space, postgres: Db) -> None:
    other = new_project(api)
    foreign = create_source(api, other, postgres)

    def refused(conf: dict[str, Any], type_id: str = "21") -> Any:
        task_id = api.data("CreateTask", {
            "ProjectId": space.project,
            "TaskBaseAttribute": {"TaskName": unique("t"), "TaskTypeId": type_id, "WorkflowId": space.workflow},
            "TaskConfiguration": {"CodeContent": "U0VMRUNUIDE=", **conf},
            "TaskSchedulerConfiguration": {"CycleType": "ONEOFF_CYCLE", "StartTime": "2025-01-01 00:00:00"}})["TaskId"]
        err = api.error("SubmitTask", {"ProjectId": space.project, "TaskId": task_id, "VersionRemark": "x"})
        got = api.data("GetTask", {"ProjectId": space.project, "TaskId": task_id})["TaskBaseAttribute"]
        assert got["Status"] == "N"  # nothing was submitted
        return err, task_id

    err, task_id = refused({"SourceServiceId": str(foreign)})
    assert err.code == "UnauthorizedOperation" and str(foreign) in err.message
    err, _ = refused({})
    assert err.code == "InvalidParameterValue" and "SourceServiceId" in err.message
    err, _ = refused({"SourceServiceId": "999999"})
    assert err.code == "InvalidParameterValue" and "999999" in err.message
    err, _ = refused({"SourceServiceId": str(foreign)}, type_id="134")  # StarRocks needs the MySQL wire
    assert err.code in ("UnauthorizedOperation", "InvalidParameterValue")
    # Granted, the same task is submitted.
    api.data("AuthorizeDataSource", {"DataSourceId": foreign, "AuthProjectId": space.project})
    assert api.data("SubmitTask", {"ProjectId": space.project, "TaskId": task_id, "VersionRemark": "ok"})["VersionId"]


@pytest.mark.parametrize("type_id", ["23", "134"])
def test_a_sql_type_needs_its_wire(api: Api, space: Space, pg_source: int, my_source: int, type_id: str) -> None:
    wrong = my_source if type_id == "23" else pg_source
    task_id = api.data("CreateTask", {
        "ProjectId": space.project,
        "TaskBaseAttribute": {"TaskName": unique("t"), "TaskTypeId": type_id, "WorkflowId": space.workflow},
        "TaskConfiguration": {"CodeContent": "U0VMRUNUIDE=", "SourceServiceId": str(wrong)},
        "TaskSchedulerConfiguration": {"CycleType": "ONEOFF_CYCLE", "StartTime": "2025-01-01 00:00:00"}})["TaskId"]
    err = api.error("SubmitTask", {"ProjectId": space.project, "TaskId": task_id, "VersionRemark": "x"})
    assert err.code == "InvalidParameterValue" and "wire" in err.message
    right = pg_source if type_id == "23" else my_source
    task = sql_task(api, space, "SELECT 41 + 1", right, type_id=type_id)
    item = on_day(api, space, task, {"COMPLETED", "EXPIRED"})
    assert item["InstanceState"] == "COMPLETED"
    assert "42" in full_log(api, space, item["InstanceKey"])[0].split("<br>")


# ------------------------------------------------------------------------------------------------
# A server that stops cancels its SQL attempts in their databases; after the restart they retry.


def test_stopping_the_server_cancels_the_statement_and_the_attempt_is_retried(
    tmp_path_factory: pytest.TempPathFactory, postgres: Db
) -> None:
    from tests.actions.instances.test_instances import new_space
    from tests.support import ServerProcess

    server = ServerProcess(tmp_path_factory.mktemp("sql-restart")).start()
    try:
        api = server.admin()
        space = new_space(api)
        source = create_source(api, space.project, postgres)
        task = sql_task(api, space, "SELECT pg_sleep(60)", source, sched={"MaxRetryNumber": 1, "RetryWaitMinute": 0})
        wait_for(api, space, task, {"RUNNING"})
        wait_until(lambda: _sleepers(postgres), bool, what="the statement in pg_stat_activity", patience=15)
        server.stop()
        wait_until(lambda: _sleepers(postgres), lambda rows: not rows, what="the statement gone", patience=10)
        server.start()
        (item,) = wait_until(lambda: instances(api, space, task),
                             lambda items: items[0]["InstanceState"] == "RUNNING" and items[0]["Tries"] == 2,
                             what="the second attempt", patience=30)
        msg = detail(api, space, item["InstanceKey"])
        execs = api.data("ListTaskInstanceExecutions", {"ProjectId": space.project,
                                                        "InstanceKey": item["InstanceKey"]})["Items"]
        assert [e["InstanceState"] for e in execs][:1] == ["FAILED_RETRY"], (execs, msg)
        api.data("KillTaskInstancesAsync", {"ProjectId": space.project, "InstanceKeyList": [item["InstanceKey"]]})
        wait_for(api, space, task, {"EXPIRED"})
        wait_until(lambda: _sleepers(postgres), lambda rows: not rows, what="the second statement gone", patience=10)
    finally:
        server.stop()


def test_the_catalog_lists_a_lake_table_a_dlc_task_created(api: Api, space: Space) -> None:
    """A SQL attempt whose code runs DDL marks its source's catalog stale (scheduler/cycle.py):
    the lake table a DLC task created is listed at once, not when the snapshot ages out."""
    db, table = unique("cat").lower(), unique("made").lower()

    def lake_tables() -> set[str]:
        data = api.data("ListTable", {"PageNumber": 1, "PageSize": 500, "CatalogName": "DataLakeCatalog",
                                      "DatabaseName": db})
        return {str(item["Name"]) for item in data["Items"]}

    assert lake_tables() == set()  # the lake's catalog is read and cached now
    task = sql_task(api, space, f"CREATE DATABASE IF NOT EXISTS {db};\nCREATE TABLE {db}.{table} (id INT)", None,
                    type_id="32")
    item = on_day(api, space, task, {"COMPLETED", "EXPIRED"})
    assert item["InstanceState"] == "COMPLETED", full_log(api, space, item["InstanceKey"])
    assert lake_tables() == {table}
