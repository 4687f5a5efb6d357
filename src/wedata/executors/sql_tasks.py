"""SQL task attempts (types 21, 23, 134, 32): run by the engine's process, on threads.

Why not a subprocess like Shell and Python: an attempt of a SQL task runs no code of ours on
this machine but sends statements to a database, and a Python subprocess that imports a driver
costs 150-400 ms before its first statement (measured on the 2-CPU development machine under
its usual load), which alone would make a chain of 20 SQL tasks take 3-8 s instead of the
≤ 2 s it must. So the attempt is a thread of the engine's process that calls ``run_sql`` on
the data source's pooled connection (or on the lake), behind the same ``Executor`` protocol:

- **Start**: ``submit`` starts the thread and returns the handle ``{"executor": "sql", ...}``;
  the engine stores it like any other. The thread first asks the resolver for the target
  (``contract.SqlTaskResolver``, injected by the composition root: the services check that the
  task's project may use its data source and decrypt its password; the engine never imports
  the services), so the engine's own loop never waits for that lookup.
- **Log**: the thread appends to the attempt's log between the engine's header and footer: the
  target (never a password), each statement as it starts and its time and rows affected as it
  ends, the failing statement's number with the database's message, and the last result set's
  first rows (``SqlJob.log_rows``, default 20).
- **Outcome**: written to ``run_dir/sql_outcome.json`` (the server's own directory, 0600) before
  the exit is reported: exit code 0 (SUCCESS), 1 (FAILED) or 143 (CANCELED); the reason; the
  last result set's rows as text, which output parameters (``$[n][m]``) select from. The engine
  reads it when the attempt ends (:func:`read_outcome`). A successful attempt also leaves what
  lineage needs (the statements that ran, their dialect, what unqualified names meant): the
  engine hands them to the lineage worker in the transaction that ends the attempt
  (``storage.lineage_tables.record_run``); parsing happens there, off the engine's path.
- **Kill, stop, ExecutionTTL**: ``kill`` cancels the statement in the database
  (``pg_cancel_backend``, ``KILL QUERY``, DuckDB ``interrupt``: ``runner.py``); the attempt then
  ends CANCELED. If the database does not give the thread back within the kill grace plus 10 s,
  the attempt is reported ended (code 137) and the thread is abandoned to finish on its own.
- **Stopping the server** cancels the running SQL attempts in their databases (no statement
  outlives its server unseen) and records each outcome; the restarted engine re-attaches the
  handle, finds that outcome (CANCELED: a failed attempt, retried per the task's policy), or
  none when the process was killed outright (a lost attempt, retried likewise). A statement
  the database was running when the server was SIGKILLed may run on to its end there.
- **Isolation**: there is no local code to sandbox for the PostgreSQL and MySQL wires (the
  statements run in the database, with the data source's rights); the lake runs locked down
  inside this process (``lake.py``: no file access outside its own file).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from wedata.executors.base import ExitCallback, Handle, RunSpec, RunState
from wedata.executors.sql.connections import SourceError, scrub
from wedata.executors.sql.contract import (
    CancelToken,
    RunOutcome,
    SqlJob,
    SqlTaskResolver,
    StatementResult,
)
from wedata.executors.sql.runner import run_sql

log = logging.getLogger("wedata.executor.sql")

EXECUTOR = "sql"
OUTCOME_FILE = "sql_outcome.json"
EXIT_CODES = {"SUCCESS": 0, "FAILED": 1, "CANCELED": 143}
ABANDONED = 137
_ABANDON_AFTER = 10.0
_MAX_OUTCOME = 32 * 1024 * 1024
_LOG_SQL_CHARS = 2000


@dataclass(frozen=True)
class SqlAttemptOutcome:
    status: str
    exit_code: int
    error: str | None
    columns: list[str]
    rows: list[list[str]]  # the last result set, cells as text (NULL as "")
    # For lineage, on success: the statements that ran (as written: Spark SQL on the lake), the
    # dialect sqlglot reads them in, the connection's database and the lake's default database.
    statements: list[str] | None = None
    dialect: str | None = None
    database: str | None = None
    default_schema: str | None = None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def write_outcome(run_dir: str, outcome: SqlAttemptOutcome) -> None:
    path = Path(run_dir, OUTCOME_FILE)
    tmp = path.with_suffix(".tmp")
    body = json.dumps({"status": outcome.status, "exit_code": outcome.exit_code, "error": outcome.error,
                       "columns": outcome.columns, "rows": outcome.rows, "statements": outcome.statements,
                       "dialect": outcome.dialect, "database": outcome.database,
                       "default_schema": outcome.default_schema}, ensure_ascii=False)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(body)
    os.replace(tmp, path)


def read_outcome(run_dir: str) -> SqlAttemptOutcome | None:
    """The outcome an SQL attempt left in its run directory, or None."""
    try:
        fd = os.open(Path(run_dir, OUTCOME_FILE), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            raw = f.read(_MAX_OUTCOME + 1)
        if len(raw) > _MAX_OUTCOME:
            return None
        data = json.loads(raw)
        return SqlAttemptOutcome(str(data["status"]), int(data["exit_code"]), data.get("error"),
                                 [str(c) for c in data.get("columns") or []],
                                 [[str(c) for c in row] for row in data.get("rows") or []],
                                 [str(s) for s in data["statements"]] if data.get("statements") else None,
                                 data.get("dialect"), data.get("database"), data.get("default_schema"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class _LogEvents:
    """RunEvents that append each statement's progress to the attempt's log."""

    def __init__(self, out: TextIO, secrets: tuple[str, ...] = ()) -> None:
        self.out = out
        self.secrets = secrets

    def line(self, text: str) -> None:
        self.out.write(scrub(text, self.secrets) + "\n")
        self.out.flush()

    def statement_started(self, index: int, sql: str) -> None:
        shown = " ".join(sql.split())
        if len(shown) > _LOG_SQL_CHARS:
            shown = shown[:_LOG_SQL_CHARS] + f" ... ({len(sql)} characters)"
        self.line(f"[sql] statement {index}: {shown}")

    def statement_note(self, index: int, text: str) -> None:
        self.line(f"[sql] statement {index}: {text}")

    def waiting(self, text: str) -> None:
        self.line(f"[sql] {text}")

    def statement_finished(self, result: StatementResult) -> None:
        if result.error is not None:
            self.line(f"[sql] statement {result.index} failed after {result.cost_ms} ms: {result.error}")
            return
        if result.columns:
            n = result.row_count if result.row_count is not None else f"{len(result.rows)}+"
            what = f"{n} row(s)" + (" (truncated at the result limit)" if result.truncated else "")
        elif result.row_count is not None:
            what = f"{result.row_count} row(s) affected"
        else:
            what = "done"
        self.line(f"[sql] statement {result.index}: {what}, {result.cost_ms} ms")


def _rows_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["\t".join(columns), *("\t".join(c.replace("\t", " ").replace("\n", " ") for c in r) for r in rows)]


@dataclass
class _Running:
    execution_id: int
    thread: threading.Thread
    token: CancelToken
    reported: bool = False


class SqlTaskExecutor:
    """The ``Executor`` of SQL attempts (see the module docstring)."""

    name = EXECUTOR

    def __init__(self, resolver: SqlTaskResolver | None) -> None:
        self.resolver = resolver
        self.host = socket.gethostname()
        self._on_exit: ExitCallback | None = None
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}  # run_dir -> attempt

    # -- the protocol ---------------------------------------------------------------------------

    def start(self, on_exit: ExitCallback) -> None:
        self._on_exit = on_exit

    def handle_for(self, spec: RunSpec) -> Handle:
        return {"executor": EXECUTOR, "host": self.host, "run_dir": spec.run_dir}

    def submit(self, spec: RunSpec) -> Handle:
        job = spec.sql
        if job is None:
            raise ValueError("not a SQL attempt")
        os.makedirs(spec.run_dir, exist_ok=True)
        token = CancelToken()
        thread = threading.Thread(target=self._attempt, args=(spec, job, token),
                                  name=f"sql-attempt-{spec.execution_id}", daemon=True)
        with self._lock:
            self._running[spec.run_dir] = _Running(spec.execution_id, thread, token)
        thread.start()
        return self.handle_for(spec)

    def attach(self, execution_id: int, handle: Handle) -> bool:
        run_dir = str(handle.get("run_dir", ""))
        with self._lock:
            if run_dir in self._running:
                return True  # ours and still running: it reports its own exit
        got = read_outcome(run_dir) if run_dir else None
        self._report(execution_id, got.exit_code if got is not None else None)
        return True

    def poll(self, handle: Handle) -> RunState:
        run_dir = str(handle.get("run_dir", ""))
        with self._lock:
            running = self._running.get(run_dir)
        if running is not None and running.thread.is_alive():
            return RunState(True)
        got = read_outcome(run_dir) if run_dir else None
        return RunState(False, got.exit_code if got is not None else None)

    def kill(self, handle: Handle, grace_seconds: float = 3.0) -> None:
        run_dir = str(handle.get("run_dir", ""))
        with self._lock:
            running = self._running.get(run_dir)
        if running is None:
            return
        running.token.cancel()

        def abandon() -> None:
            running.thread.join(grace_seconds + _ABANDON_AFTER)
            if running.thread.is_alive():
                log.warning("SQL attempt %s did not end within %.0f s of its cancel; reported as ended",
                            running.execution_id, grace_seconds + _ABANDON_AFTER)
                self._finish(run_dir, ABANDONED)

        threading.Thread(target=abandon, name="sql-kill", daemon=True).start()

    def close(self) -> None:
        """Cancel what runs (in the databases) and wait a little for the outcomes."""
        with self._lock:
            running = list(self._running.values())
        for r in running:
            r.token.cancel()
        for r in running:
            r.thread.join(5.0)

    # -- one attempt ----------------------------------------------------------------------------

    def _report(self, execution_id: int, code: int | None) -> None:
        if self._on_exit is None:
            return
        try:
            self._on_exit(execution_id, code)
        except Exception:
            log.exception("exit callback failed for SQL execution %s", execution_id)

    def _finish(self, run_dir: str, code: int) -> None:
        with self._lock:
            running = self._running.get(run_dir)
            if running is None or running.reported:
                return
            running.reported = True
            if code != ABANDONED:
                del self._running[run_dir]
        self._report(running.execution_id, code)

    def _attempt(self, spec: RunSpec, job: SqlJob, token: CancelToken) -> None:
        code = 1
        try:
            with open(spec.log_path, "a", encoding="utf-8") as out:
                outcome = self._run(job, token, out)
            code = outcome.exit_code
            write_outcome(spec.run_dir, outcome)
        except Exception:  # a bug of ours: the attempt fails, the engine goes on
            log.exception("SQL attempt %s failed unexpectedly", spec.execution_id)
            with contextlib.suppress(OSError):
                write_outcome(spec.run_dir, SqlAttemptOutcome("FAILED", 1, "internal error of the SQL executor",
                                                              [], []))
        finally:
            self._finish(spec.run_dir, code)
            with self._lock:
                self._running.pop(spec.run_dir, None)

    def _run(self, job: SqlJob, token: CancelToken, out: TextIO) -> SqlAttemptOutcome:
        events = _LogEvents(out)
        if self.resolver is None:
            events.line("[sql] this scheduler cannot run SQL tasks (no data-source resolver)")
            return SqlAttemptOutcome("FAILED", 1, "this scheduler cannot run SQL tasks", [], [])
        try:
            target = self.resolver.target_for(job)
        except SourceError as exc:
            events.line(f"[sql] cannot run: {exc.message}")
            return SqlAttemptOutcome("FAILED", 1, exc.message, [], [])
        url = getattr(target.engine, "url", None)
        secrets = (str(url.password),) if url is not None and url.password else ()
        events.secrets = secrets
        where = target.label or target.wire
        if url is not None:
            where += f" as {url.username}@{url.host}:{url.port}/{url.database or ''}"
        events.line(f"[sql] running on {where}")
        outcome: RunOutcome = run_sql(target, job.text, limits=job.limits, events=events, cancel=token)
        last = outcome.last_result
        columns: list[str] = []
        rows: list[list[str]] = []
        if last is not None:
            columns = list(last.columns)
            rows = [[_text(v) for v in row] for row in last.rows]
            shown = rows[: job.log_rows]
            count = last.row_count if last.row_count is not None else f"{len(last.rows)}+"
            events.line(f"[sql] result of statement {last.index} ({count} row(s); the first {len(shown)}):")
            for text in _rows_table(columns, shown):
                events.line(text)
        error = scrub(outcome.error, secrets) if outcome.error else None
        if outcome.status != "SUCCESS":
            events.line(f"[sql] {outcome.status}: {error}")
            return SqlAttemptOutcome(outcome.status, EXIT_CODES[outcome.status], error, columns, rows)
        events.line(f"[sql] {len(outcome.statements)} statement(s) succeeded")
        return SqlAttemptOutcome(outcome.status, 0, None, columns, rows, [s.sql for s in outcome.statements],
                                 "spark" if target.transpile_from == "spark" else target.dialect,
                                 url.database if url is not None else None, target.default_schema)
