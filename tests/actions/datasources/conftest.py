"""Real databases for the data-source tests: a MariaDB user with a password on a scratch
database, and a scratch PostgreSQL database with its own role.

PostgreSQL on this machine trusts 127.0.0.1 (pg_hba ``trust``), so it accepts any password:
"wrong password refused" is shown on MariaDB, "unknown database" on PostgreSQL. Both fail
loudly in CI (``require_mariadb``/``require_postgres``) rather than skip.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import require_mariadb, require_postgres
from tests.support import PG_URL, Api, mariadb_root, unique


@dataclass(frozen=True)
class Db:
    source_type: str
    url: str
    username: str
    password: str

    def props(self, **overrides: Any) -> str:
        body = {"deployType": "CONNSTR_CVMDB", "url": self.url, "username": self.username,
                "password": self.password, "region": "ap-guangzhou", **overrides}
        return json.dumps({k: v for k, v in body.items() if v is not None})


def _password() -> str:
    # Distinctive (so a leak is found by a plain search) and with characters URLs must quote.
    return f"Pw%{uuid.uuid4().hex[:16]}@/x#"


@pytest.fixture(scope="session")
def mariadb() -> Iterator[Db]:
    require_mariadb()
    name = "wd_ds_" + uuid.uuid4().hex[:10]
    password = _password()
    root = mariadb_root()
    with root.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"CREATE USER '{name}'@'%%' IDENTIFIED BY %s", (password,))
        cur.execute(f"GRANT ALL ON `{name}`.* TO '{name}'@'%'")
    yield Db("MYSQL", f"jdbc:mysql://127.0.0.1:3306/{name}", name, password)
    with root.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{name}'@'%'")
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    root.close()


def pg_admin() -> Any:
    import psycopg

    return psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Db]:
    require_postgres()
    name = "wd_ds_" + uuid.uuid4().hex[:10]
    password = _password()
    with pg_admin() as c:
        c.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        c.execute(f'CREATE DATABASE "{name}" OWNER {name}')
    yield Db("POSTGRE", f"jdbc:postgresql://127.0.0.1:5432/{name}", name, password)
    with pg_admin() as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f"DROP ROLE IF EXISTS {name}")


def new_project(api: Api, **project: Any) -> str:
    name = unique("ds")
    return str(api.data("CreateProject", {"Project": {"ProjectName": name, "DisplayName": name, **project}})[
        "ProjectId"
    ])


def create_source(api: Api, project: str, db: Db, name: str | None = None, **fields: Any) -> int:
    body = {"ProjectId": project, "Name": name or unique("src"), "Type": db.source_type,
            "ProdConProperties": db.props(), **fields}
    data = api.data("CreateDataSource", body)
    assert data["Status"] is True and isinstance(data["DataSourceId"], int)
    return int(data["DataSourceId"])


def names_in(api: Api, project: str) -> set[str]:
    items = api.data("ListDataSources", {"ProjectId": project, "PageSize": 200})["Items"] or []
    return {i["Name"] for i in items}
