"""executors/sql/connections.py: JDBC urls by wire protocol, the bounded connection test, the
scrubbing of driver messages and the per-source pools (against the real MariaDB/PostgreSQL)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.conftest import require_mariadb, require_postgres
from wedata.executors.sql import connections as C


@pytest.mark.parametrize(("source_type", "url", "expected"), [
    ("MYSQL", "jdbc:mysql://127.0.0.1:3306/db", ("127.0.0.1", 3306, "db", ())),
    ("TiDB", "jdbc:mysql://db.example.com/orders?useSSL=false", ("db.example.com", 3306, "orders", ())),
    ("StarRocks", "jdbc:mariadb://h:9030", ("h", 9030, None, ())),
    ("TCHOUSE_D", "jdbc:mysql://[::1]:3307/", ("::1", 3307, None, ())),
    ("POSTGRE", "jdbc:postgresql://pg:6543/my%20db?sslmode=require&ApplicationName=x",
     ("pg", 6543, "my db", (("sslmode", "require"),))),
    ("TBASE", "jdbc:postgresql://pg/app", ("pg", 5432, "app", ())),
])  # fmt: skip
def test_urls_by_wire(source_type: str, url: str, expected: tuple[object, ...]) -> None:
    spec = C.connection_spec(source_type, {"url": url, "username": "u", "password": "p@ss/word"})
    assert (spec.host, spec.port, spec.database, spec.options) == expected
    driver = "mysql+pymysql" if source_type in C.MYSQL_WIRE_TYPES else "postgresql+psycopg"
    rendered = spec.url()
    assert rendered.drivername == driver and rendered.password == "p@ss/word"
    assert "p@ss/word" not in repr(spec) and "p@ss" not in str(rendered)  # SQLAlchemy hides it


@pytest.mark.parametrize(("source_type", "props", "key", "words"), [
    ("MYSQL", {"username": "u"}, "url", "url is required"),
    ("MYSQL", {"url": "jdbc:mysql://h/db"}, "username", "username is required"),
    ("MYSQL", {"url": "jdbc:postgresql://h/db", "username": "u"}, "url", "jdbc:mysql://"),
    ("POSTGRE", {"url": "jdbc:mysql://h/db", "username": "u"}, "url", "jdbc:postgresql://"),
    ("MYSQL", {"url": "jdbc:mysql://h1,h2/db", "username": "u"}, "url", "one host"),
    ("MYSQL", {"url": "jdbc:mysql://h:0/db", "username": "u"}, "url", "port"),
    ("MYSQL", {"url": "jdbc:mysql:///db", "username": "u"}, "url", "host"),
    ("MYSQL", {"url": "jdbc:mysql://h/db?password=x", "username": "u"}, "url", "password"),
    ("POSTGRE", {"url": "jdbc:postgresql://h/db?sslmode=sometimes", "username": "u"}, "url", "sslmode"),
    ("MYSQL", {"url": "jdbc:mysql://h/a/b", "username": "u"}, "url", "database"),
    ("MYSQL", {"url": "jdbc:mysql://h/db", "username": "u", "password": 5}, "password", "string"),
    ("MYSQL", {"url": "jdbc:mysql://h/db", "username": "u\n"}, "username", "control"),
])  # fmt: skip
def test_bad_properties(source_type: str, props: dict[str, object], key: str, words: str) -> None:
    with pytest.raises(C.PropertyError) as info:
        C.connection_spec(source_type, props)
    assert info.value.key == key and words in info.value.message


def test_other_types_are_not_runnable() -> None:
    with pytest.raises(C.NotRunnable) as info:
        C.connection_spec("ORACLE", {"url": "jdbc:oracle:thin:@h:1521:x", "username": "u"})
    assert "ORACLE" in info.value.message


def test_scrub_replaces_whole_secrets_only() -> None:
    text = 'FATAL: password "s3cr+t" and s3cr%2Bt and s3cr%2bt, database "exist" does not exist'
    assert C.scrub(text, ("s3cr+t",)) == 'FATAL: password "***" and *** and s3cr%2bt, database "exist" does not exist'
    assert C.scrub('database "x" does not exist', ("x",)) == 'database "***" does not exist'
    assert C.scrub("it does not exist", ("x",)) == "it does not exist"


@pytest.fixture
def silent_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


@pytest.mark.parametrize("source_type", ["MYSQL", "POSTGRE"])
def test_a_silent_host_cannot_hold_the_test_past_its_timeout(silent_port: int, source_type: str) -> None:
    scheme = "mysql" if source_type == "MYSQL" else "postgresql"
    spec = C.connection_spec(source_type, {"url": f"jdbc:{scheme}://127.0.0.1:{silent_port}/db", "username": "u"})
    started = time.monotonic()
    with pytest.raises(C.ConnectFailed) as info:
        C.test_connection(spec, 0.5)  # below libpq's 2 s minimum: the wall-clock bound holds it
    assert time.monotonic() - started < 1.6  # under libpq's 2 s, with room for a loaded machine
    assert f"127.0.0.1:{silent_port} did not answer within 0.5 s" in info.value.message


def test_pools_are_replaced_when_the_spec_changes() -> None:
    require_postgres()
    pools = C.ConnectionPools(connect_timeout=5)
    props = {"url": "jdbc:postgresql://127.0.0.1:5432/postgres", "username": "postgres", "password": "a"}
    first = pools.engine(7, "prod", C.connection_spec("POSTGRE", props))
    with first.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    assert pools.engine(7, "prod", C.connection_spec("POSTGRE", props)) is first
    second = pools.engine(7, "prod", C.connection_spec("POSTGRE", {**props, "password": "b"}))
    assert second is not first and first.pool.checkedin() == 0  # the old pool was disposed
    assert pools.engine(7, "dev", C.connection_spec("POSTGRE", props)) is not second
    pools.discard(7)
    assert pools.engine(7, "prod", C.connection_spec("POSTGRE", {**props, "password": "b"})) is not second
    pools.close()


def test_mysql_wrong_password_message() -> None:
    require_mariadb()
    spec = C.connection_spec("MYSQL", {"url": "jdbc:mysql://127.0.0.1:3306/mysql", "username": "root",
                                       "password": "definitely-wrong"})
    with pytest.raises(C.ConnectFailed) as info:
        C.test_connection(spec, 5)
    assert info.value.message.startswith("(1045) Access denied for user 'root'")
    assert "definitely-wrong" not in info.value.message
