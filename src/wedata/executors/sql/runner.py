"""The one SQL executor: run a script's statements in one session, stream and cap the results,
stop at the first failure, cancel in the database. SQL tasks (``executors/sql_tasks.py``, a
thread of the engine's process per attempt) and SQL scripts (RunSQLScript, in the server) both
call :func:`run_sql`; the contract is ``contract.py``. ``events`` may also have
``statement_note(index, text)`` (a DLC statement's rewrites) and ``waiting(text)`` (the lake file
is held by another process); both are optional.

How each wire runs a statement (on a connection of the data source's pool, or a lake cursor):

- **PostgreSQL** (psycopg 3, autocommit: each statement commits, as in WeData's SQL tasks; a
  script's own ``BEGIN`` ... ``COMMIT`` still groups statements): a query (``SELECT``,
  ``WITH ... SELECT``, ``VALUES``, ``TABLE``; ``splitting.returns_rows``) runs through a
  **server-side cursor** (``DECLARE ... CURSOR``, in a transaction of its own unless the script
  opened one) fetched in batches; anything else through a plain cursor (``INSERT ...
  RETURNING`` and ``SHOW`` results are small and come whole). Cancel: ``pg_cancel_backend(pid)``
  over a second connection (the driver's protocol-level cancel if that connection fails).
  The DBAPI connection is taken from the source's SQLAlchemy pool (``raw_connection``) rather than
  used through ``stream_results``: SQLAlchemy would declare a server-side cursor for every
  statement, and PostgreSQL declares cursors for queries only (and only inside a transaction),
  which autocommit scripts of DDL and DML need to choose per statement.
- **MySQL** (PyMySQL, autocommit): every statement through an unbuffered ``SSCursor``, rows read
  as they arrive. Cancel: ``KILL QUERY <connection id>`` over a second connection. A result cut
  at the cap is still read to its end (the protocol has no other way to skip it), discarding the
  rows, which gives its full row count.
- **DuckDB** (the lake, ``lake.open_lake``): ``execute`` then ``fetchmany`` (DuckDB streams).
  Cancel: the connection's ``interrupt()``. DLC scripts are Spark SQL: each statement is
  transpiled first (``spark.py``); a statement that cannot be fails, named, before it runs.

Results: each result set keeps at most ``limits.max_rows`` rows and ``limits.max_bytes`` bytes
(the rows' cells as text), ``truncated`` when it had more; the rest is never held in memory.
A canceled run is CANCELED even when the database finished the statement anyway (MySQL's
``SLEEP`` returns 1 when killed). Every message has the data source's password replaced by
``***`` (``connections.scrub``) and no statement's text beyond its number.

Cancellation races: a cancel that arrives between two statements is seen before the next one
starts; one that arrives while a statement is being sent is repeated every half second (for up
to 10 s) until that statement has ended, so a cancel is never lost in the gap.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError

from wedata.executors.sql.connections import driver_message, scrub
from wedata.executors.sql.contract import (
    CancelToken,
    ResultLimits,
    RunEvents,
    RunOutcome,
    SqlTarget,
    StatementResult,
)
from wedata.executors.sql.lake import LakeError, open_lake
from wedata.executors.sql.spark import TranspileError, spark_to_duckdb
from wedata.executors.sql.splitting import SplitError, returns_rows, split_statements

__all__ = ["run_sql", "split_statements"]

FETCH_BATCH = 500
_RECANCEL_EVERY = 0.5
_RECANCEL_FOR = 10.0


class _Failed(Exception):
    """A statement failed; ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _Rows:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    seen: int  # rows read off the wire
    complete: bool  # read to the end


def _cell_size(value: Any) -> int:
    if value is None:
        return 4
    if isinstance(value, str):
        return len(value.encode("utf-8", "replace"))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value) * 2  # shown as hex
    return len(str(value))


def _collect(fetchmany: Callable[[int], Sequence[Any]], columns: list[str], limits: ResultLimits,
             *, drain: bool) -> _Rows:
    """Read a result set in batches, keeping at most the limits; stop at the cap unless
    ``drain`` (then read and discard the rest, counting it)."""
    rows: list[tuple[Any, ...]] = []
    size = seen = 0
    truncated = False
    while True:
        batch = fetchmany(FETCH_BATCH)
        if not batch:
            return _Rows(columns, rows, truncated, seen, True)
        for row in batch:
            seen += 1
            if truncated:
                continue
            cells = tuple(row)
            row_size = sum(_cell_size(v) for v in cells)
            if len(rows) >= limits.max_rows or size + row_size > limits.max_bytes:
                truncated = True
                if not drain:
                    return _Rows(columns, rows, True, seen, False)
                continue
            rows.append(cells)
            size += row_size


class _Session:
    """One database session; ``execute`` runs one statement, ``cancel`` stops what runs now."""

    wire = ""

    def execute(self, sql: str, index: int, limits: ResultLimits) -> StatementResult:
        raise NotImplementedError

    def cancel(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def _second_connection(engine: Any) -> Any:
    """A DBAPI connection outside the pool (a cancel must not wait for a pool slot)."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    cparams.setdefault("connect_timeout", 5)  # both psycopg and PyMySQL take it
    return engine.dialect.loaded_dbapi.connect(*cargs, **cparams)


class _PgSession(_Session):
    wire = "postgresql"

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.pooled = engine.raw_connection()
        self.raw = self.pooled.dbapi_connection
        self.raw.autocommit = True
        self.pid = self.raw.info.backend_pid
        # If this process dies (kill -9, a lost machine) while a statement runs, PostgreSQL 14+
        # notices the closed client within a second and cancels it, instead of running it to
        # its end; older servers do not know the setting, which is then left alone.
        with contextlib.suppress(Exception):
            self.raw.execute("SET client_connection_check_interval = 1000")

    def execute(self, sql: str, index: int, limits: ResultLimits) -> StatementResult:
        result = StatementResult(index, sql)
        if returns_rows(sql, "postgres"):
            from psycopg.pq import TransactionStatus

            own_tx = self.raw.info.transaction_status == TransactionStatus.IDLE
            if own_tx:
                self.raw.execute("BEGIN")
            try:
                with self.raw.cursor(name=f"wedata_stmt_{index}") as cur:
                    cur.itersize = FETCH_BATCH
                    cur.execute(sql)
                    columns = [d.name for d in cur.description or ()]
                    got = _collect(cur.fetchmany, columns, limits, drain=False)
                if own_tx:
                    self.raw.execute("COMMIT")
            except BaseException:
                if own_tx and not self.raw.closed:
                    with contextlib.suppress(Exception):  # the original failure is the one to report
                        self.raw.execute("ROLLBACK")
                raise
            _fill(result, got)
            return result
        with self.raw.cursor() as cur:
            cur.execute(sql)
            if cur.description is not None:
                _fill(result, _collect(cur.fetchmany, [d.name for d in cur.description], limits, drain=False))
                if not result.truncated:
                    result.row_count = len(result.rows)
            else:
                result.row_count = cur.rowcount if cur.rowcount is not None and cur.rowcount >= 0 else None
        return result

    def cancel(self) -> None:
        try:
            second = _second_connection(self.engine)
        except Exception:
            self.raw.cancel()  # the protocol's own cancel request
            return
        try:
            second.autocommit = True
            second.execute("SELECT pg_cancel_backend(%s)", (self.pid,))
        finally:
            second.close()

    def close(self) -> None:
        try:
            if not self.raw.closed:
                from psycopg.pq import TransactionStatus

                if self.raw.info.transaction_status != TransactionStatus.IDLE:
                    self.raw.execute("ROLLBACK")  # a transaction the script left open ends with it
                self.raw.autocommit = False
        except Exception:
            self.pooled.invalidate()
        self.pooled.close()


class _MySqlSession(_Session):
    wire = "mysql"

    def __init__(self, engine: Any) -> None:
        import pymysql.cursors

        self.engine = engine
        self.pooled = engine.raw_connection()
        self.raw = self.pooled.dbapi_connection
        self.raw.autocommit(True)
        self.thread_id = int(self.raw.thread_id())
        self.cursor_class = pymysql.cursors.SSCursor

    def execute(self, sql: str, index: int, limits: ResultLimits) -> StatementResult:
        result = StatementResult(index, sql)
        cur = self.raw.cursor(self.cursor_class)
        try:
            cur.execute(sql)
            if cur.description is not None:
                got = _collect(cur.fetchmany, [d[0] for d in cur.description], limits, drain=True)
                _fill(result, got)
                result.row_count = got.seen
            else:
                result.row_count = cur.rowcount if cur.rowcount is not None and cur.rowcount >= 0 else None
        finally:
            cur.close()
        return result

    def cancel(self) -> None:
        second = _second_connection(self.engine)
        try:
            with second.cursor() as cur:
                cur.execute(f"KILL QUERY {self.thread_id}")
        finally:
            second.close()

    def close(self) -> None:
        try:
            self.raw.rollback()
            self.raw.autocommit(False)
        except Exception:
            self.pooled.invalidate()
        self.pooled.close()


class _LakeSession(_Session):
    wire = "duckdb"

    def __init__(self, con: Any) -> None:
        self.con = con

    def execute(self, sql: str, index: int, limits: ResultLimits) -> StatementResult:
        result = StatementResult(index, sql)
        cur = self.con.execute(sql)
        description = cur.description
        if description is None:
            return result
        columns = [d[0] for d in description]
        if columns == ["Success"] and not returns_rows(sql, "duckdb"):
            return result  # transaction control and the like: no result set
        if columns == ["Count"] and not returns_rows(sql, "duckdb"):
            row = cur.fetchone()  # DuckDB answers DML and CREATE TABLE AS with the rows affected
            result.row_count = int(row[0]) if row and row[0] is not None else None
            return result
        got = _collect(cur.fetchmany, columns, limits, drain=False)
        _fill(result, got)
        return result

    def cancel(self) -> None:
        self.con.interrupt()

    def close(self) -> None:
        pass


def _fill(result: StatementResult, got: _Rows) -> None:
    result.columns, result.rows, result.truncated = got.columns, got.rows, got.truncated
    result.row_count = got.seen if got.complete else None


def _secrets(target: SqlTarget) -> tuple[str, ...]:
    url = getattr(target.engine, "url", None)
    password = getattr(url, "password", None)
    return (str(password),) if password else ()


def _message(exc: BaseException, secrets: tuple[str, ...]) -> str:
    if isinstance(exc, (_Failed, TranspileError, SplitError, LakeError)):
        return scrub(str(exc), secrets)
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    diag: Any = getattr(orig, "diag", None)  # psycopg: the server's fields, without the "LINE 1: <sql>" echo
    primary = getattr(diag, "message_primary", None)
    if diag is not None and primary:
        parts = [f"{diag.severity or 'ERROR'}: {primary}"]
        for label, value in (("DETAIL", diag.message_detail), ("HINT", diag.message_hint)):
            if value:
                parts.append(f"{label}: {value}")
        if diag.sqlstate:
            parts.append(f"(SQLSTATE {diag.sqlstate})")
        return scrub(" ".join(" ".join(parts).split()), secrets)
    return driver_message(orig, secrets)


class _Canceller:
    """Registered on the token while a session is open: cancels the statement in flight, and
    repeats the cancel while that statement has not ended (a cancel sent before the statement
    reached the database would otherwise be lost)."""

    def __init__(self, session: _Session) -> None:
        self.session = session
        self.lock = threading.Lock()
        self.statement = 0  # the statement in flight (0: none)
        self.done = threading.Event()

    def __call__(self) -> None:
        threading.Thread(target=self._cancel_loop, name="sql-cancel", daemon=True).start()

    def _cancel_loop(self) -> None:
        with self.lock:
            current = self.statement
        if current == 0:
            return
        give_up = time.monotonic() + _RECANCEL_FOR
        while True:
            with contextlib.suppress(Exception):  # the database may be gone; the run ends anyway
                self.session.cancel()
            if self.done.wait(_RECANCEL_EVERY) or time.monotonic() > give_up:
                return
            with self.lock:
                if self.statement != current:
                    return


def run_sql(target: SqlTarget, text: str, *, limits: ResultLimits | None = None, events: RunEvents | None = None,
            cancel: CancelToken | None = None, dialect: str | None = None) -> RunOutcome:
    """Run ``text`` on ``target`` (see the module docstring); never raises for a database's or
    a script's failure: the outcome says FAILED with the reason."""
    limits = limits or ResultLimits()
    secrets = _secrets(target)
    size = len(text.encode("utf-8", "replace"))
    if size > limits.max_script_bytes:
        return RunOutcome("FAILED", [], f"the script is {size} bytes, over the limit of {limits.max_script_bytes} "
                                       "bytes; nothing was run")
    split_dialect = dialect or ("spark" if target.transpile_from == "spark" else target.dialect)
    try:
        statements = split_statements(text, split_dialect)
    except SplitError as exc:
        return RunOutcome("FAILED", [], scrub(str(exc), secrets))
    if cancel is not None and cancel.cancelled:
        return RunOutcome("CANCELED", [], "canceled before the first statement")
    if target.wire == "duckdb":
        if target.lake is None:
            return RunOutcome("FAILED", [], "no lake file was given")
        try:
            with open_lake(target.lake, timeout=target.lake_wait, cancel=cancel,
                           on_wait=getattr(events, "waiting", None)) as con:
                if target.default_schema:
                    quoted = '"' + target.default_schema.replace('"', '""') + '"'
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
                    con.execute(f"USE {quoted}")
                return _run(_LakeSession(con), target, statements, limits, events, cancel, secrets)
        except LakeError as exc:
            if cancel is not None and cancel.cancelled:
                return RunOutcome("CANCELED", [], str(exc))
            return RunOutcome("FAILED", [], str(exc))
    try:
        session: _Session = _PgSession(target.engine) if target.wire == "postgresql" else _MySqlSession(target.engine)
    except Exception as exc:
        where = target.label or "the database"
        return RunOutcome("FAILED", [], f"cannot connect to {where}: {_message(exc, secrets)}")
    try:
        return _run(session, target, statements, limits, events, cancel, secrets)
    finally:
        session.close()


def _run(session: _Session, target: SqlTarget, statements: list[str], limits: ResultLimits,
         events: RunEvents | None, cancel: CancelToken | None, secrets: tuple[str, ...]) -> RunOutcome:
    canceller = _Canceller(session)
    if cancel is not None:
        cancel.on_cancel(canceller)
    done: list[StatementResult] = []
    total = len(statements)
    try:
        for index, sql in enumerate(statements, 1):
            # In flight before the check: a cancel from now on is repeated until it lands.
            with canceller.lock:
                canceller.statement = index
            if cancel is not None and cancel.cancelled:
                return RunOutcome("CANCELED", done, f"canceled before statement {index} of {total}")
            if events is not None:
                events.statement_started(index, sql)
            started = time.monotonic()
            try:
                result = _one(session, target, sql, index, limits, events)
                error = None
            except Exception as exc:
                result = StatementResult(index, sql)
                error = _message(exc, secrets)
            finally:
                with canceller.lock:
                    canceller.statement = 0
            result.cost_ms = int((time.monotonic() - started) * 1000)
            canceled = cancel is not None and cancel.cancelled
            if canceled:
                result.error = error or "canceled"
            else:
                result.error = error
            done.append(result)
            if events is not None:
                events.statement_finished(result)
            if canceled:
                return RunOutcome("CANCELED", done, f"statement {index} of {total} was canceled")
            if error is not None:
                return RunOutcome("FAILED", done, f"statement {index} of {total} failed: {error}")
        return RunOutcome("SUCCESS", done)
    finally:
        canceller.done.set()
        if cancel is not None:
            cancel.on_cancel(None)


def _one(session: _Session, target: SqlTarget, sql: str, index: int, limits: ResultLimits,
         events: RunEvents | None) -> StatementResult:
    if target.transpile_from != "spark":
        return session.execute(sql, index, limits)
    try:
        translated, notes = spark_to_duckdb(sql)
    except TranspileError as exc:
        raise _Failed(f"cannot run on the lake: {exc}") from None
    note = getattr(events, "statement_note", None)
    if note is not None:
        for text in notes:
            note(index, text)
        if translated != [sql]:
            note(index, "as DuckDB: " + "; ".join(translated))
    result = StatementResult(index, sql)
    for part in translated:
        got = session.execute(part, index, limits)
        if got.columns or got.row_count is not None:
            result = got
    result.sql = sql
    return result
