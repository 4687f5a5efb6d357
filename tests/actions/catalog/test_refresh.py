"""Freshness and identity: vanished tables disappear, new ones appear, GUIDs survive refreshes
and restarts; the lake is read from its DuckDB file, and a writer holding it does not break the
catalog (the cached one is served, the new state comes once the writer is gone)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.actions.catalog.conftest import names, page, pg_connect, tables_by_name
from tests.actions.datasources.conftest import Db
from tests.support import Api, ServerProcess, unique
from tests.waiting import wait_until
from wedata.executors.sql.contract import lake_path

# Mostly waiting (refresh intervals, a busy lake): the waiting lane of `make test` (tools/ci/run-suite.sh).
pytestmark = pytest.mark.slow


def guids(api: Api, **params: object) -> dict[str, str]:
    return {name: t["Guid"] for name, t in tables_by_name(api, **params).items()}


def test_a_dropped_table_disappears_and_a_new_one_appears(cat_api: Api, pg_db: Db, pg_source: int) -> None:
    before = guids(cat_api, DatasourceId=pg_source)
    gone, new = unique("gone"), unique("new")
    with pg_connect(pg_db) as c:
        c.execute(f"CREATE TABLE public.{gone} (id int)")
    time.sleep(1.1)  # the test server's WEDATA_CATALOG_MAX_AGE is 1 s
    with_gone = guids(cat_api, DatasourceId=pg_source)
    assert gone in with_gone
    assert {k: v for k, v in with_gone.items() if k != gone} == before  # a refresh keeps every GUID
    gone_guid = with_gone[gone]

    with pg_connect(pg_db) as c:
        c.execute(f"DROP TABLE public.{gone}")
        c.execute(f"CREATE TABLE public.{new} (id int)")
    time.sleep(1.1)
    after = guids(cat_api, DatasourceId=pg_source)
    assert gone not in after and new in after
    assert {k: v for k, v in after.items() if k != new} == before
    err = cat_api.error("GetTable", {"TableGuid": gone_guid})
    assert err.code == "ResourceNotFound" and gone_guid in err.message
    assert cat_api.error("GetTableColumns", {"TableGuid": gone_guid}).code == "ResourceNotFound"

    # The same table created again is the same object to the catalog: it gets its GUID back.
    with pg_connect(pg_db) as c:
        c.execute(f"CREATE TABLE public.{gone} (id int, extra text)")
    time.sleep(1.1)
    assert guids(cat_api, DatasourceId=pg_source, Keyword=gone) == {gone: gone_guid}
    assert [c["Name"] for c in cat_api.data("GetTableColumns", {"TableGuid": gone_guid})] == ["id", "extra"]
    with pg_connect(pg_db) as c:
        c.execute(f"DROP TABLE public.{gone}")
        c.execute(f"DROP TABLE public.{new}")


def test_guids_survive_a_restart(cat_server: ServerProcess, cat_api: Api, pg_source: int, maria_source: int) -> None:
    time.sleep(1.1)  # whatever an earlier test changed is read again first
    before = {s: guids(cat_api, DatasourceId=s) for s in (pg_source, maria_source)}
    databases = page(cat_api, "ListDatabase", DatasourceId=pg_source)["Items"]
    schemas = page(cat_api, "ListSchema", DatasourceId=pg_source)["Items"]
    cat_server.stop()
    cat_server.start()
    assert {s: guids(cat_api, DatasourceId=s) for s in (pg_source, maria_source)} == before
    assert page(cat_api, "ListDatabase", DatasourceId=pg_source)["Items"] == databases
    assert page(cat_api, "ListSchema", DatasourceId=pg_source)["Items"] == schemas


def _lake(server: ServerProcess) -> Path:
    path = lake_path(server.home)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_the_lake_is_the_data_lake_catalog(cat_server: ServerProcess, cat_api: Api) -> None:
    import duckdb

    db = unique("lakedb")
    with duckdb.connect(str(_lake(cat_server))) as lake:
        lake.execute(f"CREATE SCHEMA {db}")
        lake.execute(f"CREATE TABLE {db}.events (id INTEGER, amount DECIMAL(10,2), note VARCHAR)")
        lake.execute(f"COMMENT ON TABLE {db}.events IS 'Lake events'")
        lake.execute(f"COMMENT ON COLUMN {db}.events.note IS 'free text'")
        lake.execute(f"CREATE VIEW {db}.big AS SELECT * FROM {db}.events WHERE amount > 100")
    time.sleep(1.1)

    assert "DataLakeCatalog" in names(cat_api, "ListCatalog")
    assert names(cat_api, "ListCatalog", ParentCatalogId="0") == ["DataLakeCatalog"]
    assert names(cat_api, "ListCatalog", ParentCatalogId="DataLakeCatalog") == []
    databases = {d["Name"]: d for d in page(cat_api, "ListDatabase", CatalogName="DataLakeCatalog")["Items"]}
    assert db in databases and "main" in databases
    assert (databases[db]["CatalogName"], databases[db]["DatasourceType"], databases[db]["DatasourceId"]) == (
        "DataLakeCatalog", "DLC", None)
    assert page(cat_api, "ListSchema", CatalogName="DataLakeCatalog", DatabaseName=db)["TotalCount"] == 0

    tables = tables_by_name(cat_api, CatalogName="DataLakeCatalog", DatabaseName=db)
    assert set(tables) == {"events", "big"}
    events = tables["events"]
    assert (events["DatabaseName"], events["SchemaName"], events["TableType"], events["Description"]) == (
        db, None, "MANAGED_TABLE", "Lake events")
    assert (events["CatalogName"], events["DatasourceType"]) == ("DataLakeCatalog", "DLC")
    assert tables["big"]["TableType"] == "VIRTUAL_VIEW"
    cols = cat_api.data("GetTableColumns", {"TableGuid": events["Guid"]})
    assert [(c["Name"], c["Type"], c["Description"], c["Position"]) for c in cols] == [
        ("id", "integer", None, 0), ("amount", "decimal(10,2)", None, 1), ("note", "varchar", "free text", 2)]
    # An unscoped list shows the lake beside the data sources.
    assert events["Guid"] in {t["Guid"] for t in page(cat_api, "ListTable", Keyword="events")["Items"]}


HOLD = """
import sys, time, duckdb
lake = duckdb.connect(sys.argv[1])
lake.execute("CREATE TABLE {db}.during (id INTEGER)")
print("holding", flush=True)
sys.stdin.readline()
lake.close()
"""


def test_a_busy_lake_serves_the_cached_catalog(cat_server: ServerProcess, cat_api: Api) -> None:
    import duckdb

    db = unique("busydb")
    with duckdb.connect(str(_lake(cat_server))) as lake:
        lake.execute(f"CREATE SCHEMA {db}")
        lake.execute(f"CREATE TABLE {db}.before (id INTEGER)")
    time.sleep(1.1)
    assert names(cat_api, "ListTable", CatalogName="DataLakeCatalog", DatabaseName=db) == ["before"]

    # Another process holds the lake read-write (as a DLC run does) and creates a table.
    writer = subprocess.Popen([sys.executable, "-c", HOLD.format(db=db), str(lake_path(cat_server.home))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "holding"
        time.sleep(1.1)
        started = time.monotonic()
        assert names(cat_api, "ListTable", CatalogName="DataLakeCatalog", DatabaseName=db) == ["before"]
        assert time.monotonic() - started < 10  # a short retry, then the cache
    finally:
        assert writer.stdin is not None
        writer.stdin.write("\n")
        writer.stdin.flush()
        writer.wait(30)
    wait_until(lambda: names(cat_api, "ListTable", CatalogName="DataLakeCatalog", DatabaseName=db),
               lambda n: n == ["before", "during"], what="the lake's new table once the writer is gone")
