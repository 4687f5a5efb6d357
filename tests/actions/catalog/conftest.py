"""Real databases for the catalog tests and servers that read them.

- A scratch PostgreSQL database owned by its own role, with three schemas (``sales``: a
  commented table, a partitioned table with one partition, a view; ``paging``: 25 tables;
  ``public``: one table), created as that role.
- A scratch MariaDB database with its own user: a commented table and a view.
- A server per backend whose catalog treats everything older than 1 s as due
  (``WEDATA_CATALOG_MAX_AGE=1``) and runs no refresh worker, so a read after a change sees it
  without waiting for a worker pass (the worker has its own test).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.actions.datasources.conftest import Db, create_source, new_project, pg_admin
from tests.conftest import require_mariadb, require_postgres
from tests.support import PG_URL, Api, ServerProcess, create_pg_database, drop_pg_database, mariadb_root

PG_TABLES = """
CREATE SCHEMA sales;
CREATE TABLE sales.orders (id bigint PRIMARY KEY, note varchar(20), amount numeric(10,2) NOT NULL,
                           created timestamptz);
COMMENT ON TABLE sales.orders IS 'Orders of the shop';
COMMENT ON COLUMN sales.orders.note IS 'free text';
CREATE TABLE sales.events (id int, day date NOT NULL, payload text) PARTITION BY RANGE (day);
CREATE TABLE sales.events_2025 PARTITION OF sales.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE VIEW sales.big_orders AS SELECT id, amount FROM sales.orders WHERE amount > 100;
CREATE SCHEMA paging;
CREATE TABLE public.customers (id int);
"""
PAGING_TABLES = 25


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def cat_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    backend = request.param
    url = db_name = None
    if backend == "postgres":
        require_postgres()
        db_name = create_pg_database(migrated=True)
        url = f"{PG_URL}/{db_name}"
    env = {"WEDATA_CATALOG_MAX_AGE": "1", "WEDATA_CATALOG_REFRESH_INTERVAL": "0"}
    srv = ServerProcess(tmp_path_factory.mktemp(f"wedata-catalog-{backend}"), url, env).start()
    yield srv
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


@pytest.fixture(scope="session")
def cat_api(cat_server: ServerProcess) -> Api:
    return cat_server.admin()


def pg_connect(db: Db) -> Any:
    import psycopg

    name = db.url.rsplit("/", 1)[1]
    return psycopg.connect(f"host=127.0.0.1 port=5432 dbname={name} user={db.username}", autocommit=True)


@pytest.fixture(scope="session")
def pg_db() -> Iterator[Db]:
    require_postgres()
    name = "wd_cat_" + uuid.uuid4().hex[:10]
    with pg_admin() as c:
        c.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'catalog-pw'")
        c.execute(f'CREATE DATABASE "{name}" OWNER {name}')
    db = Db("POSTGRE", f"jdbc:postgresql://127.0.0.1:5432/{name}", name, "catalog-pw")
    with pg_connect(db) as c:
        c.execute(PG_TABLES)
        for i in range(PAGING_TABLES):
            c.execute(f"CREATE TABLE paging.t_{i} (id int)")
    yield db
    with pg_admin() as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f"DROP ROLE IF EXISTS {name}")


@pytest.fixture(scope="session")
def maria_db() -> Iterator[Db]:
    require_mariadb()
    name = "wd_cat_" + uuid.uuid4().hex[:10]
    root = mariadb_root()
    with root.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"CREATE USER '{name}'@'%%' IDENTIFIED BY %s", ("catalog-pw",))
        cur.execute(f"GRANT ALL ON `{name}`.* TO '{name}'@'%'")
        cur.execute(f"CREATE TABLE `{name}`.orders (id int PRIMARY KEY, note varchar(20) COMMENT 'free text') "
                    "COMMENT 'Orders of the shop'")
        cur.execute(f"CREATE VIEW `{name}`.big_orders AS SELECT id FROM `{name}`.orders WHERE id > 100")
    yield Db("MYSQL", f"jdbc:mysql://127.0.0.1:3306/{name}", name, "catalog-pw")
    with root.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{name}'@'%'")
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    root.close()


@pytest.fixture(scope="session")
def project(cat_api: Api) -> str:
    return new_project(cat_api)


def page(api: Api, action: str, **params: Any) -> dict[str, Any]:
    """One page of a catalog list (PageNumber 1 and PageSize 500 unless given)."""
    body: dict[str, Any] = {"PageNumber": 1, "PageSize": 500, **params}
    data: dict[str, Any] = api.data(action, body)
    return data


def names(api: Api, action: str, **params: Any) -> list[str]:
    return [i["Name"] for i in page(api, action, **params)["Items"]]


def tables_by_name(api: Api, **params: Any) -> dict[str, dict[str, Any]]:
    return {i["Name"]: i for i in page(api, "ListTable", **params)["Items"]}


@pytest.fixture(scope="session")
def pg_source(cat_api: Api, project: str, pg_db: Db) -> int:
    return create_source(cat_api, project, pg_db)


@pytest.fixture(scope="session")
def maria_source(cat_api: Api, project: str, maria_db: Db) -> int:
    return create_source(cat_api, project, maria_db)
