"""run_sql against the real PostgreSQL and MariaDB of this machine and a DuckDB lake file: one
session, statements in order, rows affected, results streamed and capped, the first failure
named, cancellation in the database, no password in any message."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine

from tests.actions.datasources.conftest import Db, mariadb, pg_admin, postgres  # noqa: F401 (fixtures)
from tests.conftest import require_postgres
from tests.support import PG_URL
from wedata.executors.sql.contract import CancelToken, ResultLimits, SqlTarget, StatementResult
from wedata.executors.sql.runner import run_sql


@pytest.fixture(scope="module")
def pg() -> Iterator[Engine]:
    require_postgres()
    engine = create_engine(f"{PG_URL}/postgres", pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def my(mariadb: Db) -> Iterator[Engine]:  # noqa: F811
    name = mariadb.url.rsplit("/", 1)[1]
    from sqlalchemy.engine import URL

    engine = create_engine(URL.create("mysql+pymysql", username=mariadb.username, password=mariadb.password,
                                      host="127.0.0.1", port=3306, database=name, query={"charset": "utf8mb4"}))
    yield engine
    engine.dispose()


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def statement_started(self, index: int, sql: str) -> None:
        self.seen.append(("start", index))

    def statement_finished(self, result: StatementResult) -> None:
        self.seen.append(("end", result.index))


def cancel_after(seconds: float) -> CancelToken:
    token = CancelToken()
    threading.Timer(seconds, token.cancel).start()
    return token


def test_postgres_statements_run_in_one_session_in_order(pg: Engine) -> None:
    events = Events()
    out = run_sql(SqlTarget("postgresql", engine=pg), "CREATE TEMP TABLE t (a int, b text);\n"
                  "INSERT INTO t SELECT g, 'x%s' FROM generate_series(1, 5) g;\n"
                  "UPDATE t SET b = 'y' WHERE a > 3;\n"
                  "SELECT a, b FROM t ORDER BY a", events=events)
    assert out.status == "SUCCESS" and out.error is None
    assert [s.row_count for s in out.statements] == [None, 5, 2, 5]
    last = out.last_result
    assert last is not None and last.index == 4 and last.columns == ["a", "b"]
    assert last.rows == [(1, "x%s"), (2, "x%s"), (3, "x%s"), (4, "y"), (5, "y")] and not last.truncated
    assert events.seen == [(k, i) for i in range(1, 5) for k in ("start", "end")]


def test_the_first_failure_stops_the_run_naming_the_statement(pg: Engine) -> None:
    out = run_sql(SqlTarget("postgresql", engine=pg), "SELECT 1; SELECT * FROM no_such_table_x; SELECT 3")
    assert out.status == "FAILED" and len(out.statements) == 2
    assert out.error == 'statement 2 of 3 failed: ERROR: relation "no_such_table_x" does not exist (SQLSTATE 42P01)'
    assert out.statements[1].error and "LINE" not in out.statements[1].error  # no echo of the text


def test_results_are_streamed_and_capped_by_rows_and_bytes(pg: Engine) -> None:
    # 100 million rows, never materialized: the server-side cursor is closed at the cap.
    big = "SELECT a.i * 10000 + b.i FROM generate_series(1, 10000) a(i), generate_series(1, 10000) b(i)"
    started = time.monotonic()
    out = run_sql(SqlTarget("postgresql", engine=pg), big, limits=ResultLimits(max_rows=10))
    assert time.monotonic() - started < 5
    (res,) = out.statements
    assert out.status == "SUCCESS" and res.truncated and len(res.rows) == 10 and res.row_count is None
    out = run_sql(SqlTarget("postgresql", engine=pg), "SELECT repeat('x', 100) FROM generate_series(1, 50)",
                  limits=ResultLimits(max_bytes=1000))
    assert out.statements[0].truncated and len(out.statements[0].rows) == 10


def test_a_script_over_the_limit_is_refused_before_it_runs(pg: Engine) -> None:
    out = run_sql(SqlTarget("postgresql", engine=pg), "SELECT 1;" + " " * 2000,
                  limits=ResultLimits(max_script_bytes=1000))
    assert out.status == "FAILED" and out.statements == [] and "over the limit of 1000 bytes" in (out.error or "")


def _active(marker: str) -> list[Any]:
    with pg_admin() as c:
        return c.execute("SELECT pid FROM pg_stat_activity WHERE query LIKE %s AND state = 'active' "
                         "AND pid <> pg_backend_pid()",
                         (f"%{marker}%",)).fetchall()


def test_cancel_stops_the_statement_in_postgres(pg: Engine) -> None:
    marker = "m" + uuid.uuid4().hex[:10]
    started = time.monotonic()
    # A non-query statement runs as itself (no cursor), so pg_stat_activity shows its text.
    out = run_sql(SqlTarget("postgresql", engine=pg), f"SELECT 1; DO $$ BEGIN PERFORM pg_sleep(60); END $$ /*{marker}*/",
                  cancel=cancel_after(1.0))
    assert time.monotonic() - started < 5
    assert out.status == "CANCELED" and out.error == "statement 2 of 2 was canceled"
    assert "canceling statement due to user request" in (out.statements[1].error or "")
    assert _active(marker) == []


def test_cancel_before_the_first_statement(pg: Engine) -> None:
    token = CancelToken()
    token.cancel()
    assert run_sql(SqlTarget("postgresql", engine=pg), "SELECT 1", cancel=token).status == "CANCELED"


def test_mysql_wire(my: Engine) -> None:
    out = run_sql(SqlTarget("mysql", engine=my), "CREATE TEMPORARY TABLE t (a INT);\n"
                  "INSERT INTO t VALUES (1), (2), (3);\nSELECT a, 'it\\'s; x' FROM t ORDER BY a",
                  limits=ResultLimits(max_rows=2))
    assert out.status == "SUCCESS"
    assert [s.row_count for s in out.statements] == [0, 3, 3]  # a capped result is read to its end on this wire
    assert out.statements[2].rows == [(1, "it's; x"), (2, "it's; x")] and out.statements[2].truncated
    bad = run_sql(SqlTarget("mysql", engine=my), "SELECT 1; SELEC 2")
    assert bad.status == "FAILED" and bad.error and bad.error.startswith("statement 2 of 2 failed: (1064)")


def test_cancel_kills_the_query_on_mysql(my: Engine) -> None:
    started = time.monotonic()
    out = run_sql(SqlTarget("mysql", engine=my), "SELECT SLEEP(60); SELECT 2", cancel=cancel_after(1.0))
    assert time.monotonic() - started < 5
    assert out.status == "CANCELED" and len(out.statements) == 1  # SLEEP returns 1 when killed: still canceled


def test_no_password_in_any_message(mariadb: Db) -> None:  # noqa: F811
    from sqlalchemy.engine import URL

    wrong = mariadb.password + "X"
    engine = create_engine(URL.create("mysql+pymysql", username=mariadb.username, password=wrong,
                                      host="127.0.0.1", port=3306))
    out = run_sql(SqlTarget("mysql", engine=engine, label="data source 1 (x, MYSQL)"), f"SELECT '{wrong}'")
    assert out.status == "FAILED" and out.error and "cannot connect to data source 1 (x, MYSQL): (1045)" in out.error
    assert wrong not in out.error
    engine = create_engine(URL.create("mysql+pymysql", username=mariadb.username, password=mariadb.password,
                                      host="127.0.0.1", port=3306, database=mariadb.url.rsplit("/", 1)[1]))
    out = run_sql(SqlTarget("mysql", engine=engine), f"SELECT * FROM `{mariadb.password}`")  # echoed by the server
    assert out.status == "FAILED" and mariadb.password not in (out.error or "") and "***" in (out.error or "")


# -- the lake -------------------------------------------------------------------------------------


def test_lake_statements_and_spark(tmp_path: Path) -> None:
    lake = SqlTarget("duckdb", lake=tmp_path / "lake" / "lake.duckdb", transpile_from="spark")
    out = run_sql(lake, "CREATE TABLE s (id INT, d STRING) USING parquet; INSERT INTO s VALUES (1, 'a'), (2, 'b');\n"
                        "INSERT OVERWRITE TABLE s SELECT 3, 'c'; SELECT collect_list(id) AS ids, nvl(null, d) FROM s "
                        "GROUP BY d")
    assert out.status == "SUCCESS", out.error
    assert [s.row_count for s in out.statements] == [None, 2, 1, 1]
    assert out.statements[3].rows == [([3], "c")]
    bad = run_sql(lake, "SELECT 1; SELECT * FROM (((")
    assert bad.status == "FAILED" and "statement 2 of 2 failed: cannot run on the lake: Spark SQL parse error" in (
        bad.error or "")


def test_the_lake_reads_no_file_outside_itself(tmp_path: Path) -> None:
    lake = SqlTarget("duckdb", lake=tmp_path / "lake.duckdb")
    secret = tmp_path / "secret.key"
    secret.write_text("k")
    for sql in (f"SELECT * FROM read_csv('{secret}')", f"COPY (SELECT 1) TO '{tmp_path}/out.csv'",
                f"ATTACH '{tmp_path}/other.duckdb'", "SET enable_external_access = true"):
        out = run_sql(lake, sql)
        assert out.status == "FAILED", sql
    assert not (tmp_path / "out.csv").exists()


def test_cancel_interrupts_the_lake(tmp_path: Path) -> None:
    started = time.monotonic()
    out = run_sql(SqlTarget("duckdb", lake=tmp_path / "lake.duckdb"),
                  "SELECT count(*) FROM range(100000000000) a", cancel=cancel_after(0.5))
    assert out.status == "CANCELED" and time.monotonic() - started < 5
