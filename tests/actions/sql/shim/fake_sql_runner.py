"""TEST SUPPORT ONLY: a minimal stand-in for ``wedata.executors.sql.runner`` (see
``sitecustomize.py`` beside it), implementing the contract of ``executors/sql/contract.py`` well
enough for the SQL script tests: statements split on ``;`` outside quotes, comments and
dollar-quoted bodies, run in order in one session, result sets streamed and cut at the limits,
cancellation in the database (``pg_cancel_backend``, ``KILL QUERY``, DuckDB ``interrupt``).
The real executor replaces it as soon as it is merged; nothing in src/ knows this file.
"""

from __future__ import annotations

import re
import time
from typing import Any

from wedata.executors.sql.connections import driver_message
from wedata.executors.sql.contract import (
    CancelToken,
    ResultLimits,
    RunEvents,
    RunOutcome,
    SqlTarget,
    StatementResult,
)

_TOKEN = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"])*\"|`[^`]*`|(\$[A-Za-z_]*\$).*?\1|;", re.S)


def split_statements(text: str, dialect: str = "postgres") -> list[str]:
    out: list[str] = []
    start = 0
    for m in _TOKEN.finditer(text):
        if m.group(0) == ";":
            out.append(text[start:m.start()])
            start = m.end()
    out.append(text[start:])
    return [s.strip() for s in out if _meaningful(s)]


def _meaningful(sql: str) -> bool:
    stripped = re.sub(r"--[^\n]*|/\*.*?\*/", "", sql, flags=re.S)
    return bool(stripped.strip())


def _size(row: tuple[Any, ...]) -> int:
    return sum(len(str(v)) for v in row)


def run_sql(target: SqlTarget, text: str, *, limits: ResultLimits, events: RunEvents, cancel: CancelToken,
            dialect: str | None = None) -> RunOutcome:
    statements = split_statements(text, target.dialect)
    results: list[StatementResult] = []
    if target.wire == "duckdb":
        import duckdb

        assert target.lake is not None
        dconn = duckdb.connect(str(target.lake))
        cancel.on_cancel(dconn.interrupt)
        try:
            return _loop(statements, limits, events, cancel, results, lambda sql: _duck(dconn, sql, limits),
                         lambda exc: str(exc))
        finally:
            cancel.on_cancel(None)
            dconn.close()
    engine = target.engine
    with engine.connect() as conn:
        if target.wire == "postgresql":
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            kill = f"SELECT pg_cancel_backend({int(pid)})"
        else:
            pid = conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
            kill = f"KILL QUERY {int(pid)}"
        conn.commit()

        def hook() -> None:
            with engine.connect() as other:
                other.exec_driver_sql(kill)
                other.commit()

        cancel.on_cancel(hook)
        try:
            outcome = _loop(statements, limits, events, cancel, results,
                            lambda sql: _sa(conn, sql, limits), lambda exc: driver_message(exc))
            if outcome.status == "SUCCESS":
                conn.commit()
            else:
                conn.rollback()
            return outcome
        finally:
            cancel.on_cancel(None)


def _loop(statements: list[str], limits: ResultLimits, events: RunEvents, cancel: CancelToken,
          results: list[StatementResult], run: Any, message: Any) -> RunOutcome:
    for i, sql in enumerate(statements, 1):
        if cancel.cancelled:
            return RunOutcome("CANCELED", results, "Stopped.")
        events.statement_started(i, sql)
        started = time.monotonic()
        result = StatementResult(index=i, sql=sql)
        try:
            result.columns, result.rows, result.row_count, result.truncated = run(sql)
        except Exception as exc:
            result.error = message(exc)
        result.cost_ms = int((time.monotonic() - started) * 1000)
        events.statement_finished(result)
        results.append(result)
        if result.error is not None:
            if cancel.cancelled:
                return RunOutcome("CANCELED", results, f"Stopped during statement {i}.")
            return RunOutcome("FAILED", results, f"Statement {i} failed: {result.error}")
    return RunOutcome("SUCCESS", results)


_QUERY = re.compile(r"\s*(?:--[^\n]*\n\s*)*\(?\s*(select|with|values|table|show)\b", re.I)


def _sa(conn: Any, sql: str, limits: ResultLimits) -> tuple[list[str], list[tuple[Any, ...]], int | None, bool]:
    options = {"stream_results": True, "max_row_buffer": 500} if _QUERY.match(sql) else {}
    result = conn.execution_options(**options).exec_driver_sql(sql.replace("%", "%%"))
    if not result.returns_rows:
        return [], [], result.rowcount, False
    columns = list(result.keys())
    rows: list[tuple[Any, ...]] = []
    size, truncated = 0, False
    for row in result:
        if len(rows) >= limits.max_rows or size + _size(tuple(row)) > limits.max_bytes:
            truncated = True
            break
        rows.append(tuple(row))
        size += _size(tuple(row))
    result.close()
    return columns, rows, len(rows), truncated


def _duck(conn: Any, sql: str, limits: ResultLimits) -> tuple[list[str], list[tuple[Any, ...]], int | None, bool]:
    cur = conn.execute(sql)
    if cur.description is None:
        return [], [], None, False
    columns = [d[0] for d in cur.description]
    rows = cur.fetchmany(limits.max_rows + 1)
    truncated = len(rows) > limits.max_rows
    rows = rows[: limits.max_rows]
    return columns, [tuple(r) for r in rows], len(rows), truncated
