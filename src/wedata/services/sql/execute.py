"""Executing one claimed run: the one place SQL scripts reach the SQL executor.

``execute_run`` resolves the run's target (``targets.py``), hands the text to
``wedata.executors.sql.runner.run_sql`` (imported when first needed: the executor is shared with
SQL tasks) with the result limits and a cancel token, writes each statement's result as it ends
(``Recorder``: the rows of one result set are in memory only while it is written) and the run's
end. ``split`` is the executor's statement splitter, used by RunSQLScript to answer one
JobExecution per statement before the run starts.

Every cell is stored and shown as a string (WeData's ``SqlRunResultRow.Values``), ``null`` for
SQL NULL: numbers as Python writes them, booleans ``true``/``false``, times in ISO form with a
space (``2025-01-02 03:04:05``), bytes as text when they are UTF-8 else ``0x`` + hex, JSON
values as JSON. ``ColumnType`` is inferred from the values kept (``int``, ``bigint``,
``double``, ``decimal``, ``boolean``, ``string``, ``date``, ``time``, ``timestamp``,
``binary``, ``json``; null when every kept value is NULL): the executor reports names only.
"""

from __future__ import annotations

import importlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select, update

from wedata.clock import Clock
from wedata.config import Settings
from wedata.executors.sql.contract import CancelToken, ResultLimits, RunOutcome, StatementResult
from wedata.executors.sql.splitting import may_change_schema
from wedata.services.datasources.datasources import DataSourceService
from wedata.services.errors import ServiceError
from wedata.services.sql.records import CANCELED, FAILED, QUEUED, RUNNING, SUCCESS
from wedata.services.sql.targets import LAKE_TYPES, target_of
from wedata.storage.catalog_tables import mark_stale
from wedata.storage.db import Database
from wedata.storage.lineage_tables import record_run
from wedata.storage.sql_tables import sql_run_statements, sql_runs

log = logging.getLogger("wedata.sql")
R, S = sql_runs, sql_run_statements
_INT32 = range(-(2**31), 2**31)


RUNNER = "wedata.executors.sql.runner"  # the one SQL executor, shared with SQL tasks


def _runner() -> Any:
    return importlib.import_module(RUNNER)


def split(text: str, dialect: str) -> list[str]:
    """The statements of ``text`` as the executor will run them (one JobExecution each)."""
    try:
        return [s for s in _runner().split_statements(text, dialect) if s.strip()]
    except ImportError:
        raise
    except Exception:  # the executor fails such a text itself, naming the parser's message
        return [text] if text.strip() else []


@dataclass(frozen=True)
class ExecContext:
    db: Database
    clock: Clock
    settings: Settings
    datasources: DataSourceService
    limits: ResultLimits
    runner_id: str
    stopping: Callable[[], bool]  # the server is shutting down


def cell(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + raw.hex()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def column_type(values: Sequence[Any]) -> str | None:
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return None
    if kinds == {bool}:
        return "boolean"
    if kinds <= {int}:
        return "int" if all(v in _INT32 for v in values if v is not None) else "bigint"
    if kinds <= {int, float}:
        return "double"
    if kinds <= {int, Decimal}:
        return "decimal"
    for kind, name in ((datetime, "timestamp"), (date, "date"), (time, "time"), (timedelta, "interval")):
        if kinds <= {kind}:
            return name
    if all(issubclass(k, bytes | bytearray | memoryview) for k in kinds):
        return "binary"
    if all(issubclass(k, dict | list) for k in kinds):
        return "json"
    if kinds <= {uuid.UUID, str}:
        return "string"
    return "string"


class Recorder:
    """The executor's events for one run. A statement's result is written when the next one
    ends, and the last one in the transaction that ends the run (``finish``): GetSQLRunResult
    shows results only once the run has ended, and on PostgreSQL every commit is a disk flush,
    so a one-statement run costs two commits (claim, end) instead of four (issue 9's overhead).
    Only one statement's (bounded) preview is held in memory at a time."""

    def __init__(self, ctx: ExecContext, run_id: str, cancel: CancelToken) -> None:
        self.ctx = ctx
        self.run_id = run_id
        self.cancel = cancel
        self.started: dict[int, tuple[str, datetime]] = {}
        self.truncated = False
        self._pending: tuple[int, str, dict[str, Any]] | None = None

    def statement_started(self, index: int, sql: str) -> None:
        # Kept in memory: nothing shows a statement's start (GetSQLRunResult waits for the end
        # of the run), and one write less per statement is a shorter run (issue 9's overhead).
        self.started[index] = (sql, self.ctx.clock.now())

    def statement_finished(self, result: StatementResult) -> None:
        rows = result.rows
        columns = None
        if result.columns:
            columns = [{"name": str(name), "type": column_type([r[i] for r in rows if i < len(r)])}
                       for i, name in enumerate(result.columns)]
        status, error = SUCCESS, result.error
        if error is not None:
            status = FAILED
            if self.cancel.cancelled and self.ctx.stopping():
                error = "The server stopped while the statement was executing."
            elif self.cancel.cancelled:
                status = CANCELED
        text = json.dumps([[cell(v) for v in r] for r in rows], ensure_ascii=False) if result.columns else None
        now = self.ctx.clock.now()
        self.truncated = self.truncated or bool(result.truncated)
        sql, started = self.started.pop(result.index, (result.sql, now))
        values = dict(status=status, columns=columns, rows=text, row_count=result.row_count, preview_count=len(rows),
                      truncated=bool(result.truncated), cost_ms=int(result.cost_ms), error=error,
                      started_at=started, ended_at=now)
        if self._pending is not None:
            with self.ctx.db.write() as conn:
                self.write_pending(conn)
        self._pending = (result.index, sql, values)

    def write_pending(self, conn: Any) -> None:
        """Store the statement result not yet written (inside the caller's transaction)."""
        if self._pending is None:
            return
        index, sql, values = self._pending
        self._pending = None
        done = conn.execute(update(S).where(S.c.run_id == self.run_id, S.c.idx == index).values(**values)).rowcount
        if not done:  # the executor split differently from RunSQLScript's answer: keep what ran
            conn.execute(S.insert().values(run_id=self.run_id, idx=index, sql=sql, **values))


def execute_run(ctx: ExecContext, run: Any, cancel: CancelToken) -> None:
    """Run a claimed ``sql_runs`` row to its end and record it (never raises)."""
    try:
        source = ctx.datasources.require_use(int(run.data_source_id), run.project_id, run.user_uin)
        target = target_of(ctx.datasources, ctx.settings, run, source.source_type)
        run_sql = _runner().run_sql
    except ServiceError as exc:
        finish(ctx, run.id, FAILED, f"The run could not start: {exc.message}")
        return
    except Exception:
        log.exception("SQL run %s: preparing its target failed", run.id)
        finish(ctx, run.id, FAILED, "The run could not start: an internal error (logged by the server).")
        return
    recorder = Recorder(ctx, run.id, cancel)
    try:
        outcome: RunOutcome = run_sql(target, run.content, limits=ctx.limits, events=recorder, cancel=cancel)
    except Exception:
        log.exception("SQL run %s: the executor failed", run.id)
        finish(ctx, run.id, FAILED, "The SQL executor failed (logged by the server).", recorder=recorder)
        return
    status: str = outcome.status
    message = outcome.error
    if status == CANCELED or cancel.cancelled:
        if ctx.stopping():
            status, message = FAILED, ("The server stopped while the run was executing; it did not finish. "
                                       "Run it again.")
        else:
            status, message = CANCELED, _stopped_message(ctx, run.id, message)
    elif status == FAILED and not message:
        failed = next((s for s in outcome.statements if s.error), None)
        message = f"Statement {failed.index} failed: {failed.error}" if failed else "The run failed."
    lake = source.source_type in LAKE_TYPES
    after: list[Callable[[Any], None]] = []
    if outcome.statements and may_change_schema(run.content):
        # DDL ran (or may have): the catalog of the source is due for a refresh (docs/catalog.md).
        after.append(lambda conn: mark_stale(conn, None if lake else int(run.data_source_id), ctx.clock.now()))
    if status == SUCCESS and outcome.statements:
        after.append(lambda conn: _record_lineage(conn, ctx, run, target, outcome, lake))
    finish(ctx, run.id, status, message, truncated=recorder.truncated, recorder=recorder, after=after)


def _record_lineage(conn: Any, ctx: ExecContext, run: Any, target: Any, outcome: RunOutcome, lake: bool) -> None:
    """Hand the statements that ran to the lineage worker (services/lineage/; parsed there): the
    script is the process, so a later run of it replaces the edges of this one."""
    url = getattr(target.engine, "url", None)
    record_run(conn, process_type="SQL_SCRIPT", process_id=str(run.script_id), process_name=run.job_name,
               source_id=None if lake else int(run.data_source_id),
               dialect="spark" if target.transpile_from == "spark" else target.dialect,
               database=url.database if url is not None else None, default_schema=target.default_schema,
               statements=[s.sql for s in outcome.statements], now=ctx.clock.now())


def _stopped_message(ctx: ExecContext, run_id: str, detail: str | None) -> str:
    with ctx.db.read() as conn:
        who = conn.execute(select(R.c.stop_requested_by).where(R.c.id == run_id)).scalar()
    text = f"Stopped by {who}." if who else "Stopped."
    return f"{text} {detail}" if detail else text


def finish(ctx: ExecContext, run_id: str, status: str, message: str | None, *, truncated: bool = False,
           recorder: Recorder | None = None, after: Sequence[Callable[[Any], None]] = ()) -> bool:
    """Write the run's end, if this process still holds it (a run failed by recovery stays so),
    with the last statement's result and the derived marks (``after``: catalog staleness, the
    statements for lineage) in the same transaction. A derived mark that fails is logged and
    rolled back alone (a savepoint): the run's own end is kept."""
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        done = conn.execute(update(R).where(R.c.id == run_id, R.c.status == RUNNING, R.c.runner_id == ctx.runner_id)
                            .values(status=status, message=message, ended_at=now, truncated=truncated)).rowcount
        if not done:
            return False
        if recorder is not None:
            recorder.write_pending(conn)
        end_statements(conn, run_id, status, message, now, truncated=truncated)
        for mark in after:
            try:
                with conn.begin_nested():
                    mark(conn)
            except Exception:  # derived data: the catalog refreshes periodically, lineage is best effort
                log.exception("SQL run %s: recording %s failed", run_id, getattr(mark, "__name__", "a derived mark"))
    return True


def end_statements(conn: Any, run_id: str, status: str, message: str | None, now: datetime, *,
                   truncated: bool | None = None, in_flight: bool = False) -> None:
    """The statements a run left without an end are CANCELED (never run), except, ``in_flight``
    (the run's process is gone), the first of them: it was executing, and fails with the run's
    reason. The run is ``truncated`` when one of its statements is."""
    if in_flight and status == FAILED:
        first = conn.execute(select(func.min(S.c.idx)).where(S.c.run_id == run_id, S.c.status == QUEUED)).scalar()
        if first is not None:
            conn.execute(update(S).where(S.c.run_id == run_id, S.c.idx == first).values(
                status=FAILED, error=message, ended_at=now))
    conn.execute(update(S).where(S.c.run_id == run_id, S.c.status == QUEUED).values(status=CANCELED))
    if truncated is None:  # not known by the caller (recovery): from the statements
        cut = conn.execute(select(exists().where(S.c.run_id == run_id, S.c.truncated.is_(True)))).scalar()
        if cut:
            conn.execute(update(R).where(R.c.id == run_id).values(truncated=True))

