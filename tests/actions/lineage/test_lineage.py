"""Lineage computed from the SQL that ran (SQL tasks, SQL scripts), registered THIRD edges, the
recursive lists in both directions, and bad input (nothing half-saved)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.actions.datasources.conftest import Db
from tests.actions.instances.test_instances import Space, b64
from tests.actions.sql_tasks.test_sql_tasks import on_day, pg_connect, sql_task
from tests.support import Api, unique
from tests.waiting import wait_until


def table_guid(api: Api, source: int, name: str) -> str:
    """The catalog GUID of a table of the source (waits for the catalog to list it)."""
    def find() -> list[dict[str, Any]]:
        data = api.data("ListTable", {"PageNumber": 1, "PageSize": 10, "DatasourceId": source, "Keyword": name})
        return [t for t in data["Items"] if t["Name"] == name]
    (item,) = wait_until(find, bool, what=f"the catalog to list {name}", patience=20)
    return str(item["Guid"])


def lineage(api: Api, uid: str, direction: str, *, rtype: str = "TABLE", platform: str = "WEDATA",
            size: int = 100) -> list[dict[str, Any]]:
    data = api.data("ListLineage", {"ResourceUniqueId": uid, "ResourceType": rtype, "Direction": direction,
                                    "PageNumber": 1, "PageSize": size, "Platform": platform})
    assert data["TotalCount"] == len(data["Items"]) or size < data["TotalCount"]
    return list(data["Items"])


def names(items: list[dict[str, Any]]) -> set[str]:
    return {i["Resource"]["ResourceName"].rsplit(".", 1)[-1] for i in items}


def columns(api: Api, guid: str, column: str, direction: str) -> set[str]:
    data = api.data("ListColumnLineage", {"TableUniqueId": guid, "ColumnName": column, "Direction": direction,
                                          "PageNumber": 1, "PageSize": 100, "Platform": "WEDATA"})
    for item in data["Items"]:
        assert item["SourceColumnName"] == column and item["Resource"]["ResourceType"] == "COLUMN"
    return {i["Resource"]["ResourceUniqueId"] for i in data["Items"]}


def third(uid: str, name: str = "dashboard") -> dict[str, Any]:
    return {"ResourceUniqueId": uid, "ResourceType": "TABLE", "Platform": "THIRD", "ResourceName": name}


def wedata(guid: str) -> dict[str, Any]:
    return {"ResourceUniqueId": guid, "ResourceType": "TABLE", "Platform": "WEDATA"}


REPORT = [{"ProcessId": "bi-sync", "ProcessType": "THIRD_REPORT", "Platform": "THIRD"}]


@pytest.fixture(scope="module")
def tables(pg_source: int, postgres: Db) -> dict[str, str]:
    t = {k: unique(k).lower() for k in ("orders", "customers", "stage", "report", "extra")}
    with pg_connect(postgres) as c:
        c.execute(f"CREATE TABLE {t['orders']} (id int, customer_id int, amount numeric, note text)")
        c.execute(f"CREATE TABLE {t['customers']} (id int, region text)")
        c.execute(f"CREATE TABLE {t['stage']} (id int, region text, amount numeric)")
        c.execute(f"CREATE TABLE {t['report']} (region text, total numeric)")
        c.execute(f"CREATE TABLE {t['extra']} (id int, label text)")
        c.execute(f"INSERT INTO {t['orders']} VALUES (1, 1, 10, 'a'), (2, 2, 5, 'b')")
        c.execute(f"INSERT INTO {t['customers']} VALUES (1, 'north'), (2, 'south')")
    return t


def test_a_chain_of_sql_tasks_gives_table_and_column_lineage_that_follows_the_sql(
    api: Api, space: Space, pg_source: int, tables: dict[str, str]
) -> None:
    t = tables
    # Task 1: a CTE over SELECT *, joined; task 2 reads what task 1 wrote.
    load = (f"DELETE FROM {t['stage']};\n"
            f"WITH o AS (SELECT * FROM {t['orders']})\n"
            f"INSERT INTO {t['stage']} SELECT o.id, c.region, o.amount FROM o JOIN {t['customers']} c "
            f"ON c.id = o.customer_id")
    first = sql_task(api, space, load, pg_source)
    second = sql_task(api, space, f"DELETE FROM {t['report']};\nINSERT INTO {t['report']} "
                      f"SELECT region, sum(amount) FROM {t['stage']} GROUP BY region", pg_source)
    inst = on_day(api, space, first, {"COMPLETED", "EXPIRED"})
    assert inst["InstanceState"] == "COMPLETED"
    assert on_day(api, space, second, {"COMPLETED", "EXPIRED"})["InstanceState"] == "COMPLETED"
    g = {k: table_guid(api, pg_source, v) for k, v in t.items()}

    down = wait_until(lambda: lineage(api, g["orders"], "OUTPUT"), lambda items: len(items) == 2,
                      what="the orders' downstream lineage", patience=20)
    assert names(down) == {t["stage"], t["report"]}
    by_name = {i["Resource"]["ResourceName"].rsplit(".", 1)[-1]: i for i in down}
    stage = by_name[t["stage"]]
    assert stage["Resource"]["ResourceUniqueId"] == g["stage"] and stage["Resource"]["Platform"] == "WEDATA"
    assert stage["Relation"]["Processes"][0]["ProcessId"] == first
    assert stage["Relation"]["Processes"][0]["ProcessType"] == "SCHEDULE_TASK"
    assert stage["Relation"]["Processes"][0]["ProcessSubType"] == "SQL_TASK"
    assert stage["UpStreamCount"] == 2 and stage["DownStreamCount"] == 1
    assert by_name[t["report"]]["Relation"]["Processes"][0]["ProcessId"] == second
    up = lineage(api, g["report"], "INPUT")
    assert names(up) == {t["stage"], t["orders"], t["customers"]}
    assert lineage(api, g["extra"], "INPUT") == []

    # Columns, through the CTE and the SELECT *, in both directions.
    assert columns(api, g["stage"], "amount", "INPUT") == {f"{g['orders']}::amount"}
    assert columns(api, g["orders"], "amount", "OUTPUT") == {f"{g['stage']}::amount", f"{g['report']}::total"}
    assert columns(api, g["report"], "region", "INPUT") == {f"{g['stage']}::region", f"{g['customers']}::region"}
    assert columns(api, g["orders"], "note", "OUTPUT") == set()

    procs = api.data("ListProcessLineage", {"ProcessId": first, "ProcessType": "SCHEDULE_TASK", "PageNumber": 1,
                                            "PageSize": 100, "Platform": "WEDATA"})
    kinds = [(p["Source"]["ResourceType"], p["Target"]["ResourceType"]) for p in procs["Items"]]
    assert kinds.count(("TABLE", "TABLE")) == 2 and kinds.count(("COLUMN", "COLUMN")) == 3
    assert procs["TotalCount"] == 5 and procs["PageCount"] == 1

    # A registered THIRD edge out of the report.
    api.data("RegisterLineage", {"Relations": [{"Source": wedata(g["report"]), "Target": third("bi::sales"),
                                                "Processes": REPORT}]})
    assert names(lineage(api, g["orders"], "OUTPUT")) == {t["stage"], t["report"], "dashboard"}

    # The SQL changes: customers no longer feed the stage; a rerun replaces the task's edges.
    task = api.data("GetTask", {"ProjectId": space.project, "TaskId": first})
    api.call("UpdateTask", {"ProjectId": space.project, "TaskId": first, "Task": {
        "TaskBaseAttribute": {"TaskName": task["TaskBaseAttribute"]["TaskName"],
                              "OwnerUin": task["TaskBaseAttribute"]["OwnerUin"], "TaskDescription": "v2"},
        "TaskConfiguration": {"CodeContent": b64(f"DELETE FROM {t['stage']};\nINSERT INTO {t['stage']} (id, amount) "
                                                 f"SELECT id, amount FROM {t['orders']}")},
        "TaskSchedulerConfiguration": {}}})
    api.data("SubmitTask", {"ProjectId": space.project, "TaskId": first, "VersionRemark": "no customers"})
    api.data("RerunTaskInstancesAsync", {"ProjectId": space.project, "InstanceKeyList": [inst["InstanceKey"]]})
    wait_until(lambda: lineage(api, g["stage"], "INPUT"), lambda items: names(items) == {t["orders"]},
               what="the stage's lineage without the customers", patience=30)
    assert columns(api, g["report"], "region", "INPUT") == {f"{g['stage']}::region"}
    assert columns(api, g["stage"], "amount", "INPUT") == {f"{g['orders']}::amount"}
    # The registered edge survived the automatic refresh.
    assert names(lineage(api, g["report"], "OUTPUT")) == {"dashboard"}
    third_up = lineage(api, "bi::sales", "INPUT", platform="THIRD")
    assert names(third_up) == {t["report"], t["stage"], t["orders"]}
    # ... and goes when deleted.
    api.data("DeleteLineage", {"Relations": [{"Source": wedata(g["report"]), "Target": third("bi::sales"),
                                              "Processes": REPORT}]})
    assert lineage(api, g["report"], "OUTPUT") == []


def test_a_sql_script_run_gives_lineage(api: Api, space: Space, pg_source: int, tables: dict[str, str]) -> None:
    t = tables
    target = unique("ctas").lower()
    job = api.data("RunSQLScript", {"ProjectId": space.project, "ScriptContent": b64(
        f"CREATE TABLE {target} AS SELECT o.id, o.note AS label FROM {t['orders']} o"),
        "ScriptConfig": {"DatasourceId": str(pg_source)}})
    wait_until(lambda: api.data("GetSQLRunResult", {"ProjectId": space.project, "JobId": job["JobId"]}),
               lambda r: r["Status"] == "SUCCESS", what="the script run", patience=30)
    g_orders = table_guid(api, pg_source, t["orders"])
    g_target = table_guid(api, pg_source, target)
    wait_until(lambda: lineage(api, g_target, "INPUT"), lambda items: names(items) == {t["orders"]},
               what="the CTAS's lineage", patience=20)
    assert columns(api, g_target, "label", "INPUT") == {f"{g_orders}::note"}
    (item,) = [i for i in lineage(api, g_orders, "OUTPUT") if i["Resource"]["ResourceUniqueId"] == g_target]
    assert item["Relation"]["Processes"][0]["ProcessType"] == "SQL_SCRIPT"


def test_bad_input_is_refused_and_nothing_is_half_saved(
    api: Api, pg_source: int, tables: dict[str, str]
) -> None:
    g_extra = table_guid(api, pg_source, tables["extra"])
    g_orders = table_guid(api, pg_source, tables["orders"])

    def refused(action: str, params: dict[str, Any], code: str) -> str:
        err = api.error(action, params)
        assert err.code == code, err.message
        return str(err.message)

    a, b = unique("a"), unique("b")
    # A cycle of its own: a -> b -> a; nothing of it is saved.
    msg = refused("RegisterLineage", {"Relations": [
        {"Source": third(a, "a"), "Target": third(b, "b"), "Processes": REPORT},
        {"Source": third(b, "b"), "Target": third(a, "a"), "Processes": REPORT}]}, "InvalidParameterValue")
    assert "cycle" in msg
    refused("ListLineage", {"ResourceUniqueId": a, "ResourceType": "TABLE", "Direction": "OUTPUT",
                            "PageNumber": 1, "PageSize": 10, "Platform": "THIRD"}, "ResourceNotFound")
    # An unknown WeData table, after a valid relation: nothing saved either.
    msg = refused("RegisterLineage", {"Relations": [
        {"Source": wedata(g_extra), "Target": third(a, "a"), "Processes": REPORT},
        {"Source": wedata("A" * 22), "Target": third(b), "Processes": REPORT}]}, "ResourceNotFound")
    assert "Relations[1].Source" in msg
    assert lineage(api, g_extra, "OUTPUT") == []
    refused("RegisterLineage", {"Relations": [{"Source": {**wedata(g_extra), "ResourceType": "COLUMN",
                                                          "ResourceUniqueId": f"{g_extra}::nope"},
                                               "Target": third(a), "Processes": REPORT}]}, "ResourceNotFound")
    refused("RegisterLineage", {"Relations": [{"Source": third(a), "Target": third(a), "Processes": REPORT}]},
            "InvalidParameterValue")
    refused("RegisterLineage", {"Relations": [{"Source": third(a), "Target": third(b), "Processes": []}]},
            "InvalidParameterValue")
    refused("RegisterLineage", {"Relations": [{"Source": third(a), "Target": third(b), "Processes": [
        {"ProcessId": "x", "ProcessType": "NOPE", "Platform": "THIRD"}]}]}, "InvalidParameterValue")
    # Deleting what is not registered: refused, and the registered one in the same request stays.
    api.data("RegisterLineage", {"Relations": [{"Source": third(a, "a"), "Target": third(b, "b"),
                                                "Processes": REPORT}]})
    refused("DeleteLineage", {"Relations": [
        {"Source": third(a, "a"), "Target": third(b, "b"), "Processes": REPORT},
        {"Source": third(b, "b"), "Target": third(a, "a"), "Processes": REPORT}]}, "ResourceNotFound")
    assert names(lineage(api, a, "OUTPUT", platform="THIRD")) == {"b"}
    # Lists: paging out of range, bad enums, unknown resources.
    base = {"ResourceUniqueId": g_orders, "ResourceType": "TABLE", "Direction": "OUTPUT", "PageNumber": 1,
            "PageSize": 10, "Platform": "WEDATA"}
    for bad in ({"PageSize": 0}, {"PageSize": 501}, {"PageNumber": 0}, {"Direction": "UP"}, {"Platform": "X"},
                {"ResourceType": "TABLES"}):
        refused("ListLineage", {**base, **bad}, "InvalidParameterValue")
    refused("ListLineage", {**base, "ResourceUniqueId": "B" * 22}, "ResourceNotFound")
    past = api.data("ListLineage", {**base, "PageNumber": 99})
    assert past["Items"] == [] and past["PageNumber"] == 99
    refused("ListColumnLineage", {"TableUniqueId": g_orders, "ColumnName": "nope", "Direction": "INPUT",
                                  "PageNumber": 1, "PageSize": 10, "Platform": "WEDATA"}, "ResourceNotFound")
    refused("ListProcessLineage", {"ProcessId": "123", "ProcessType": "SCHEDULE_TASK", "PageNumber": 1,
                                   "PageSize": 10, "Platform": "WEDATA"}, "ResourceNotFound")


def lake_guid(api: Api, db: str, name: str) -> str:
    data = api.data("ListTable", {"PageNumber": 1, "PageSize": 100, "CatalogName": "DataLakeCatalog",
                                  "DatabaseName": db, "Keyword": name})
    (item,) = [t for t in data["Items"] if t["Name"] == name]
    return str(item["Guid"])


def test_a_dlc_task_in_spark_sql_gives_lake_lineage(api: Api, space: Space) -> None:
    db, src, dst = unique("lin").lower(), unique("src").lower(), unique("dst").lower()
    code = (f"CREATE DATABASE IF NOT EXISTS {db};\n"
            f"CREATE TABLE IF NOT EXISTS {db}.{src} (id INT, amount DECIMAL(10,2)) USING parquet;\n"
            f"CREATE TABLE IF NOT EXISTS {db}.{dst} (id INT, doubled DECIMAL(10,2)) USING parquet;\n"
            f"INSERT OVERWRITE TABLE {db}.{dst} SELECT id, amount * 2 FROM {db}.{src}")
    task = sql_task(api, space, code, None, type_id="32")
    item = on_day(api, space, task, {"COMPLETED", "EXPIRED"})
    assert item["InstanceState"] == "COMPLETED"
    g_src, g_dst = lake_guid(api, db, src), lake_guid(api, db, dst)
    (hop,) = wait_until(lambda: lineage(api, g_src, "OUTPUT"), lambda items: len(items) == 1,
                        what="the lake table's lineage", patience=20)
    assert hop["Resource"]["ResourceUniqueId"] == g_dst
    props = {p["Name"]: p["Value"] for p in hop["Resource"]["ResourceProperties"]}
    assert props["CatalogName"] == "DataLakeCatalog" and props["DatabaseName"] == db
    assert columns(api, g_dst, "doubled", "INPUT") == {f"{g_src}::amount"}


def test_a_mariadb_task_gives_lineage(api: Api, space: Space, my_source: int) -> None:
    a, b = unique("ma").lower(), unique("mb").lower()
    code = (f"CREATE TABLE {a} (id INT, v VARCHAR(10));\nCREATE TABLE {b} (id INT, w VARCHAR(10));\n"
            f"INSERT INTO {b} SELECT * FROM {a}")
    task = sql_task(api, space, code, my_source)
    assert on_day(api, space, task, {"COMPLETED", "EXPIRED"})["InstanceState"] == "COMPLETED"
    g_a, g_b = table_guid(api, my_source, a), table_guid(api, my_source, b)
    wait_until(lambda: lineage(api, g_b, "INPUT"), lambda items: [i["Resource"]["ResourceUniqueId"]
                                                                  for i in items] == [g_a],
               what="the MariaDB table's lineage", patience=20)
    assert columns(api, g_b, "w", "INPUT") == {f"{g_a}::v"}


def test_sql_lineage_cannot_parse_leaves_the_run_successful_and_says_why(
    api: Api, space: Space, pg_source: int, tables: dict[str, str], fast: Any
) -> None:
    t = tables
    # Valid PostgreSQL that sqlglot does not parse.
    task = sql_task(api, space, f"INSERT INTO {t['extra']} OVERRIDING SYSTEM VALUE SELECT id, note "
                                f"FROM {t['orders']}", pg_source)
    assert on_day(api, space, task, {"COMPLETED", "EXPIRED"})["InstanceState"] == "COMPLETED"
    body = {"ProcessId": task, "ProcessType": "SCHEDULE_TASK", "PageNumber": 1, "PageSize": 10,
            "Platform": "WEDATA"}
    wait_until(lambda: fast.server.log_path.read_text(),
               lambda log: f"lineage of task {task}: statement 1 not parsed" in log,
               what="the lineage worker's word on the statement", patience=20)
    assert api.data("ListProcessLineage", body)["TotalCount"] == 0  # the process is known, without edges


def test_a_caller_sees_the_lineage_of_the_sources_their_projects_may_use(
    api: Api, fast: Any, pg_source: int, tables: dict[str, str]
) -> None:
    g_orders = table_guid(api, pg_source, tables["orders"])
    body = {"ResourceUniqueId": g_orders, "ResourceType": "TABLE", "Direction": "OUTPUT", "PageNumber": 1,
            "PageSize": 10, "Platform": "WEDATA"}
    user = fast.server.new_user()
    assert user.error("ListLineage", body).code == "UnauthorizedOperation"  # a member of no project
    other = api.data("CreateProject", {"Project": {"ProjectName": unique("lp"), "DisplayName": "other"}})["ProjectId"]
    api.call("CreateProjectMember", {"ProjectId": other, "UserUins": [user.uin], "RoleIds": ["308335260676890624"]})
    # Another project's source, not granted: as if the table did not exist.
    assert user.error("ListLineage", body).code == "ResourceNotFound"
    assert user.error("RegisterLineage", {"Relations": [{"Source": wedata(g_orders), "Target": third("x"),
                                                         "Processes": REPORT}]}).code == "ResourceNotFound"
