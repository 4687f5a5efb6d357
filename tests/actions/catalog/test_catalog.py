"""The catalog's levels, shapes and paging through the official SDK, on real PostgreSQL and
MariaDB databases and the server's DuckDB lake."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.actions.catalog.conftest import PAGING_TABLES, names, page, tables_by_name
from tests.actions.datasources.conftest import Db
from tests.support import Api

GUID = re.compile(r"[A-Za-z0-9_-]{22}")
ISO_PLUS8 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00")
TABLE_FIELDS = {"Guid", "Name", "Description", "DatabaseName", "SchemaName", "TableType", "CreateTime", "UpdateTime",
                "TechnicalMetadata", "BusinessMetadata", "CatalogName", "DatasourceId", "DatasourceType"}
PAGE_FIELDS = {"Items", "PageCount", "PageSize", "PageNumber", "TotalCount"}


def db_name(db: Db) -> str:
    return db.url.rsplit("/", 1)[1]


def columns(api: Api, guid: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = api.data("GetTableColumns", {"TableGuid": guid})
    return data


def near_now(text: str) -> bool:
    moment = datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)
    return abs(moment - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=10)


def test_postgres_database_schemas_and_tables(cat_api: Api, pg_db: Db, pg_source: int) -> None:
    data = page(cat_api, "ListDatabase", DatasourceId=pg_source)
    assert set(data) == PAGE_FIELDS
    assert (data["TotalCount"], data["PageCount"], data["PageNumber"], data["PageSize"]) == (1, 1, 1, 500)
    [database] = data["Items"]
    assert database["Name"] == db_name(pg_db) and GUID.fullmatch(database["Guid"])
    assert (database["DatasourceId"], database["DatasourceType"], database["CatalogName"]) == (pg_source, "POSTGRE",
                                                                                               None)
    assert database["StorageSize"] > 0

    schemas = page(cat_api, "ListSchema", DatasourceId=pg_source)["Items"]
    assert sorted(s["Name"] for s in schemas) == ["paging", "public", "sales"]  # no pg_catalog, pg_toast, ...
    assert all(s["DatabaseName"] == db_name(pg_db) and GUID.fullmatch(s["Guid"]) for s in schemas)
    assert len({s["Guid"] for s in schemas}) == 3

    sales = tables_by_name(cat_api, DatasourceId=pg_source, SchemaName="sales")
    assert set(sales) == {"orders", "events", "big_orders"}  # a partition is not listed, its parent is
    orders = sales["orders"]
    assert set(orders) == TABLE_FIELDS
    assert orders["Description"] == "Orders of the shop"
    assert (orders["DatabaseName"], orders["SchemaName"], orders["TableType"]) == (db_name(pg_db), "sales", "TABLE")
    assert (orders["CatalogName"], orders["DatasourceId"], orders["DatasourceType"]) == (None, pg_source, "POSTGRE")
    assert orders["TechnicalMetadata"]["Owner"] == pg_db.username
    assert orders["TechnicalMetadata"]["StorageSize"] > 0  # the primary key's index at least
    assert orders["BusinessMetadata"] == {"TagNames": []}
    assert ISO_PLUS8.fullmatch(orders["CreateTime"]) and near_now(orders["CreateTime"])
    assert orders["UpdateTime"] >= orders["CreateTime"]
    assert sales["big_orders"]["TableType"] == "VIEW" and sales["big_orders"]["TechnicalMetadata"]["StorageSize"] is None
    assert sales["events"]["TableType"] == "TABLE"

    assert cat_api.data("GetTable", {"TableGuid": orders["Guid"]}) == orders
    assert columns(cat_api, orders["Guid"]) == [
        {"Name": "id", "Type": "bigint", "Length": None, "Description": None, "Position": 0, "IsPartition": False},
        {"Name": "note", "Type": "character varying(20)", "Length": 20, "Description": "free text", "Position": 1,
         "IsPartition": False},
        {"Name": "amount", "Type": "numeric(10,2)", "Length": None, "Description": None, "Position": 2,
         "IsPartition": False},
        {"Name": "created", "Type": "timestamp with time zone", "Length": None, "Description": None, "Position": 3,
         "IsPartition": False},
    ]
    events = columns(cat_api, sales["events"]["Guid"])
    assert [(c["Name"], c["IsPartition"]) for c in events] == [("id", False), ("day", True), ("payload", False)]
    assert [c["Name"] for c in columns(cat_api, sales["big_orders"]["Guid"])] == ["id", "amount"]

    everything = tables_by_name(cat_api, DatasourceId=pg_source)
    assert {n for n, t in everything.items() if t["SchemaName"] == "public"} == {"customers"}
    assert len(everything) == 3 + 1 + PAGING_TABLES
    assert tables_by_name(cat_api, DatasourceId=pg_source, DatabaseName="elsewhere") == {}


def test_paging_keyword_and_order(cat_api: Api, pg_source: int) -> None:
    seen: list[str] = []
    for number in (1, 2, 3):
        data = page(cat_api, "ListTable", DatasourceId=pg_source, SchemaName="paging", PageNumber=number, PageSize=10)
        assert (data["TotalCount"], data["PageCount"], data["PageNumber"], data["PageSize"]) == (PAGING_TABLES, 3,
                                                                                                 number, 10)
        assert len(data["Items"]) == (10 if number < 3 else 5)
        seen += [i["Name"] for i in data["Items"]]
    assert seen == sorted(f"t_{i}" for i in range(PAGING_TABLES))  # ordered by name, nothing twice or lost
    past = page(cat_api, "ListTable", DatasourceId=pg_source, SchemaName="paging", PageNumber=4, PageSize=10)
    assert (past["Items"], past["TotalCount"], past["PageCount"]) == ([], PAGING_TABLES, 3)

    full = page(cat_api, "ListTable", DatasourceId=pg_source, SchemaName="paging", PageSize=500)
    assert full["PageCount"] == 1 and len(full["Items"]) == PAGING_TABLES
    # Keyword: a case-insensitive substring of the name.
    assert sorted(names(cat_api, "ListTable", DatasourceId=pg_source, Keyword="T_2")) == sorted(
        ["t_2", *(f"t_2{i}" for i in range(5))])
    assert names(cat_api, "ListTable", DatasourceId=pg_source, Keyword="big_ord") == ["big_orders"]
    assert names(cat_api, "ListSchema", DatasourceId=pg_source, Keyword="SAL") == ["sales"]
    assert names(cat_api, "ListDatabase", DatasourceId=pg_source, Keyword="no-such-db") == []
    # WeData's examples send CatalogName "0": every catalog.
    assert len(names(cat_api, "ListTable", DatasourceId=pg_source, CatalogName="0")) == 4 + PAGING_TABLES
    assert names(cat_api, "ListTable", DatasourceId=pg_source, CatalogName="OtherCatalog") == []


def test_mariadb_has_databases_and_no_schemas(cat_api: Api, maria_db: Db, maria_source: int) -> None:
    [database] = page(cat_api, "ListDatabase", DatasourceId=maria_source)["Items"]
    assert (database["Name"], database["DatasourceType"], database["CatalogName"]) == (db_name(maria_db), "MYSQL",
                                                                                       None)
    assert page(cat_api, "ListSchema", DatasourceId=maria_source) == {
        "Items": [], "PageCount": 0, "PageSize": 500, "PageNumber": 1, "TotalCount": 0}
    tables = tables_by_name(cat_api, DatasourceId=maria_source)
    assert set(tables) == {"orders", "big_orders"}
    orders = tables["orders"]
    assert (orders["SchemaName"], orders["DatabaseName"], orders["TableType"]) == (None, db_name(maria_db), "TABLE")
    assert orders["Description"] == "Orders of the shop" and near_now(orders["CreateTime"])
    assert (tables["big_orders"]["TableType"], tables["big_orders"]["Description"]) == ("VIEW", None)
    assert tables_by_name(cat_api, DatasourceId=maria_source, SchemaName="anything") == {}
    cols = columns(cat_api, orders["Guid"])
    assert [(c["Name"], c["Length"], c["Description"], c["Position"]) for c in cols] == [
        ("id", None, None, 0), ("note", 20, "free text", 1)]
    assert cols[0]["Type"].startswith("int") and cols[1]["Type"] == "varchar(20)"
