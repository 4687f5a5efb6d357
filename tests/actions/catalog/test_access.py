"""Whose catalog a caller sees, and bad input: clear errors, nothing shown that should not be."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.actions.catalog.conftest import page, pg_connect, tables_by_name
from tests.actions.datasources.conftest import Db, create_source, new_project, pg_admin
from tests.support import Api, ServerProcess, unique

LISTS = ("ListDatabase", "ListSchema", "ListTable")


def test_a_stranger_sees_nothing(cat_server: ServerProcess, cat_api: Api, pg_source: int) -> None:
    orders = tables_by_name(cat_api, DatasourceId=pg_source, SchemaName="sales")["orders"]
    stranger = cat_server.new_user()  # a credential, member of no project
    assert page(stranger, "ListCatalog") == {"Items": [], "PageCount": 0, "PageSize": 500, "PageNumber": 1,
                                             "TotalCount": 0}
    for action in LISTS:
        assert page(stranger, action)["TotalCount"] == 0
        err = stranger.error(action, {"PageNumber": 1, "PageSize": 10, "DatasourceId": pg_source})
        assert err.code == "UnauthorizedOperation" and str(pg_source) in err.message
    for action in ("GetTable", "GetTableColumns"):
        err = stranger.error(action, {"TableGuid": orders["Guid"]})
        assert err.code == "ResourceNotFound"  # as for a GUID that names nothing


def test_another_project_sees_a_source_once_granted(cat_server: ServerProcess, cat_api: Api, project: str,
                                                    pg_db: Db, pg_source: int) -> None:  # fmt: skip
    user = cat_server.new_user()
    other = new_project(cat_api)
    cat_api.call("CreateProjectMember", {"ProjectId": other, "UserUins": [user.uin],  # type: ignore[attr-defined]
                                         "RoleIds": ["308335260676890624"]})
    mine = tables_by_name(cat_api, DatasourceId=pg_source)
    # A member of a project sees the lake, not another project's sources.
    assert [c["Name"] for c in page(user, "ListCatalog")["Items"]] == ["DataLakeCatalog"]
    assert page(user, "ListTable", DatabaseName=pg_db.url.rsplit("/", 1)[1])["TotalCount"] == 0
    assert user.error("ListTable", {"PageNumber": 1, "PageSize": 10, "DatasourceId": pg_source}).code == \
        "UnauthorizedOperation"
    assert user.error("GetTable", {"TableGuid": mine["orders"]["Guid"]}).code == "ResourceNotFound"

    cat_api.call("AuthorizeDataSource", {"DataSourceId": pg_source, "AuthProjectId": other})
    try:
        assert tables_by_name(user, DatasourceId=pg_source) == tables_by_name(cat_api, DatasourceId=pg_source)
        assert user.data("GetTable", {"TableGuid": mine["orders"]["Guid"]})["Name"] == "orders"
        assert len(user.data("GetTableColumns", {"TableGuid": mine["orders"]["Guid"]})) == 4
    finally:
        cat_api.call("RevokeDataSourceAuthorization", {"DataSourceId": pg_source, "RevokeProjectId": other})
    assert user.error("GetTable", {"TableGuid": mine["orders"]["Guid"]}).code == "ResourceNotFound"
    assert page(user, "ListTable", DatabaseName=pg_db.url.rsplit("/", 1)[1])["TotalCount"] == 0


@pytest.mark.parametrize("action", ["ListCatalog", *LISTS])
def test_paging_is_required_and_bounded(cat_api: Api, action: str) -> None:
    for params, code, field in (
        ({"PageSize": 10}, "MissingParameter", "PageNumber"),
        ({"PageNumber": 1}, "MissingParameter", "PageSize"),
        ({"PageNumber": 1, "PageSize": 0}, "InvalidParameterValue", "PageSize"),
        ({"PageNumber": 1, "PageSize": 501}, "InvalidParameterValue", "PageSize"),
        ({"PageNumber": 0, "PageSize": 10}, "InvalidParameterValue", "PageNumber"),
        ({"PageNumber": -1, "PageSize": 10}, "InvalidParameterValue", "PageNumber"),
    ):
        err = cat_api.error(action, params, raw=True)
        assert (err.code, field in err.message) == (code, True), (params, err.code, err.message)
    assert page(cat_api, action, PageSize=500)["PageSize"] == 500
    assert page(cat_api, action, PageSize=1)["PageSize"] == 1


def test_unknown_and_unusable_ids(cat_api: Api, project: str, pg_source: int) -> None:
    for action in LISTS:
        err = cat_api.error(action, {"PageNumber": 1, "PageSize": 10, "DatasourceId": 987654321})
        assert err.code == "ResourceNotFound" and "987654321" in err.message
        err = cat_api.error(action, {"PageNumber": 1, "PageSize": 10, "DatasourceId": 0})
        assert err.code == "InvalidParameterValue" and "DatasourceId" in err.message
    for action in ("GetTable", "GetTableColumns"):
        err = cat_api.error(action, {"TableGuid": "not-a-guid"})
        assert err.code == "InvalidParameterValue" and "TableGuid" in err.message
        assert cat_api.error(action, {"TableGuid": "A" * 22}).code == "ResourceNotFound"
        assert cat_api.error(action, {}, raw=True).code == "MissingParameter"
    # A type the catalog does not read.
    hive = cat_api.data("CreateDataSource", {"ProjectId": project, "Name": unique("hive"), "Type": "HIVE",
                                             "ProdConProperties": json.dumps({"url": "jdbc:hive2://h:10000/x"})})
    err = cat_api.error("ListTable", {"PageNumber": 1, "PageSize": 10, "DatasourceId": hive["DataSourceId"]})
    assert err.code == "UnsupportedOperation" and "HIVE" in err.message
    assert page(cat_api, "ListTable", DatasourceId=pg_source, PageSize=1)["TotalCount"] > 0  # still fine


def test_an_unreadable_source_says_why_and_keeps_its_cache(cat_api: Api, project: str) -> None:
    name = "wd_cat_" + uuid.uuid4().hex[:10]
    with pg_admin() as c:
        c.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pw'")
        c.execute(f'CREATE DATABASE "{name}" OWNER {name}')
    db = Db("POSTGRE", f"jdbc:postgresql://127.0.0.1:5432/{name}", name, "pw")
    try:
        with pg_connect(db) as c:
            c.execute("CREATE TABLE kept (id int)")
        cached = create_source(cat_api, project, db)
        never = create_source(cat_api, project, db)
        assert list(tables_by_name(cat_api, DatasourceId=cached)) == ["kept"]
    finally:
        with pg_admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f"DROP ROLE IF EXISTS {name}")
    time.sleep(1.1)
    # Read before: the cached snapshot is served. Never read: the driver's message.
    assert list(tables_by_name(cat_api, DatasourceId=cached)) == ["kept"]
    err = cat_api.error("ListTable", {"PageNumber": 1, "PageSize": 10, "DatasourceId": never})
    assert err.code == "FailedOperation" and "does not exist" in err.message and str(never) in err.message
    assert "pw" not in err.message.replace("password", "")
    # An unscoped list does not fail for one unreadable source.
    assert page(cat_api, "ListTable", PageSize=1)["TotalCount"] > 0

    # Deleting a data source deletes its catalog.
    kept = tables_by_name(cat_api, DatasourceId=cached)["kept"]["Guid"]
    cat_api.call("DeleteDataSource", {"ProjectId": project, "Id": cached})
    assert cat_api.error("GetTable", {"TableGuid": kept}).code == "ResourceNotFound"
    assert cat_api.error("ListTable", {"PageNumber": 1, "PageSize": 10, "DatasourceId": cached}).code == \
        "ResourceNotFound"
