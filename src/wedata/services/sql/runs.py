"""SQL runs: RunSQLScript, GetSQLRunResult, StopSQLScriptRun, ListSQLScriptRuns.

RunSQLScript checks everything, renders the ``${...}`` variables, splits the text into its
statements and stores the run QUEUED with one JobExecution per statement, in one transaction,
then answers at once: the worker (``queue.py``) executes it. Nothing is stored when a check
fails. Results stay ``retention`` seconds after the run ended, then GetSQLRunResult answers
``ResourceNotFound.ResultExpired``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.scheduling.parameters import ParameterError, RenderContext, UnknownVariableError, render
from wedata.services.common import like_pattern, new_millis_id, new_uuid, parse_local, to_local
from wedata.services.datasources.datasources import DataSourceService
from wedata.services.errors import Forbidden, InvalidValue, NotFound, OperationFailed
from wedata.services.permissions.catalog import CatalogPrivileges
from wedata.services.sql import execute
from wedata.services.sql.content import ScriptConfig, decode_auto, parse_config, run_params
from wedata.services.sql.queue import SqlRunWorker
from wedata.services.sql.records import (
    CANCELED,
    QUEUED,
    RUNNING,
    SUCCESS,
    TERMINAL,
    Run,
    RunResult,
    Statement,
)
from wedata.services.sql.scripts import SqlScriptService
from wedata.services.sql.targets import Source, check_group, check_source
from wedata.services.sql.tree import PRIVATE, SHARED
from wedata.spec import models as M
from wedata.storage.db import Database
from wedata.storage.sql_tables import sql_run_statements, sql_runs

R, S = sql_runs, sql_run_statements
MAX_LISTED_RUNS = 200  # ListSQLScriptRuns is not paged: the newest runs that match
RESULT_BUDGET = 10 * 1024 * 1024  # GetSQLRunResult returns at most 10 MB of rows (WeData)
_RUN_COLUMNS = tuple(c for c in R.c)


class MissingValue(InvalidValue):
    code = "MissingParameter"


class ResultExpired(NotFound):
    code = "ResourceNotFound.ResultExpired"


class InvalidJobState(OperationFailed):
    code = "InvalidParameter.InvalidJobState"


class SqlRunService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, datasources: DataSourceService,
                 scripts: SqlScriptService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.datasources = datasources
        self.scripts = scripts
        self.retention = timedelta(seconds=settings.sql_result_retention)
        self.worker = SqlRunWorker(db, clock, settings, datasources)
        # The catalog grants checked on the tables a run reads and writes (set by the container).
        self.privileges: CatalogPrivileges | None = None

    def start_worker(self) -> None:
        self.worker.start()

    def stop_worker(self) -> None:
        self.worker.stop()

    # ------------------------------------------------------------------------------------------
    # RunSQLScript

    def submit(self, caller: Caller, req: M.RunSQLScriptRequest) -> Run:
        limit = self.settings.sql_script_max_bytes
        params = run_params(req.params)
        cfg: ScriptConfig
        if req.script_id:
            script, cfg = self.scripts.runnable(caller, req.project_id, req.script_id)
            text = decode_auto(req.script_content, "ScriptContent", limit) if req.script_content else (
                script.content or "")
            scope, owner, script_id, adhoc, name = script.scope, script.owner_uin, script.id, False, script.name
            if cfg.datasource_id is None:
                raise InvalidValue(f"ScriptConfig.DatasourceId: the script {script.path} names no data source to run "
                                   "on (save one with UpdateSQLScript)")
        else:
            if req.script_config is None:
                raise MissingValue("ScriptConfig is required (with its DatasourceId) when no ScriptId is given")
            cfg = parse_config(req.script_config)
            if cfg.datasource_id is None:
                raise MissingValue("ScriptConfig.DatasourceId is required when no ScriptId is given")
            if not req.script_content:
                raise MissingValue("ScriptContent is required when no ScriptId is given")
            text = decode_auto(req.script_content, "ScriptContent", limit)
            now_local = to_local(self.clock.now())
            assert now_local is not None
            scope, owner, script_id, adhoc = PRIVATE, caller.uin, f"adhoc-{new_uuid()}", True
            name = now_local.strftime("%Y%m%d-%H%M")
        source = check_source(self.datasources, self.settings, cfg, req.project_id, caller.uin, to_run=True)
        assert source is not None
        check_group(self.db, cfg.executor_group_id)
        text = self._render(text, cfg)
        statements = execute.split(text, source.dialect)
        if not statements:
            raise InvalidValue("ScriptContent holds no SQL statement to run")
        if self.privileges is not None:
            self.privileges.check_sql(
                uin=caller.uin, is_admin=caller.is_admin, project_id=req.project_id,
                source_id=None if source.wire == "duckdb" else source.id, statements=statements,
                dialect=source.dialect, default_schema=lambda: self._default_schema(source),
            )
        values = dict(
            project_id=req.project_id, script_id=script_id, adhoc=adhoc, job_name=name[:256], scope=scope,
            user_uin=caller.uin, owner_uin=owner, data_source_id=source.id,
            side="dev" if cfg.env == "DEV" else "prod", compute_resource=cfg.compute_resource,
            resource_group_id=cfg.executor_group_id or "", content=text, params=params, status=QUEUED,
            truncated=False, results_purged=False,
        )
        claimed: Any = None
        for attempt in range(5):
            job_id, now = "68" + new_millis_id(), self.clock.now()
            try:
                with self.db.write() as conn:
                    conn.execute(insert(R).values(id=job_id, created_at=now, **values))
                    conn.execute(insert(S), [
                        dict(run_id=job_id, idx=i, sql=sql, status=QUEUED, preview_count=0, truncated=False)
                        for i, sql in enumerate(statements, 1)
                    ])
                    claimed = self.worker.claim_at_once(conn, job_id, str(values["resource_group_id"]))
                break
            except IntegrityError:  # another process took the same millisecond id
                if claimed is not None:
                    self.worker.release(job_id)
                    claimed = None
                if attempt == 4:
                    raise
            except BaseException:
                if claimed is not None:
                    self.worker.release(job_id)
                raise
        if claimed is not None:
            self.worker.dispatch(claimed)
        else:
            self.worker.wake()
        # The answer is the run as stored (QUEUED, or RUNNING when taken at once), without reading it back.
        if claimed is not None:
            values.update(status=RUNNING)
        row = SimpleNamespace(id=job_id, created_at=now, started_at=claimed.started_at if claimed else None,
                              ended_at=None, **values)
        return Run(row, [Statement(idx=i, sql=sql, status=QUEUED, columns=None, rows=None, row_count=None,
                                   preview_count=0, truncated=False, cost_ms=None, error=None, started_at=None,
                                   ended_at=None) for i, sql in enumerate(statements, 1)], now)

    def _default_schema(self, source: Source) -> str | None:
        """What an unqualified table name means on the source: the lake's ``main``, PostgreSQL's
        ``public``, the database a MySQL source's connection names."""
        if source.wire == "duckdb":
            return "main"
        if source.wire == "postgresql":
            return "public"
        return self.datasources.connection(source.id).database

    def _render(self, text: str, cfg: ScriptConfig) -> str:
        """``${name}`` from ScriptConfig.Params and time expressions (``${yyyyMMdd}``) of now."""
        if "$" not in text:
            return text
        now_local = to_local(self.clock.now())
        assert now_local is not None
        try:
            return render(text, RenderContext(data_time=now_local, task_params=cfg.variables))
        except UnknownVariableError as exc:
            raise InvalidValue(f"ScriptContent: {exc} (give their values in ScriptConfig.Params)") from None
        except ParameterError as exc:
            raise InvalidValue(f"ScriptContent: {exc}") from None

    # ------------------------------------------------------------------------------------------
    # Reads

    def _load(self, conn: Connection, caller: Caller, project_id: str, job_id: str) -> Any:
        row = conn.execute(select(*_RUN_COLUMNS).where(R.c.id == job_id, R.c.project_id == project_id)).first()
        if row is None or (row.scope == PRIVATE and row.user_uin != caller.uin):
            raise NotFound(f"The SQL run {job_id} does not exist in the project {project_id}.")
        return row

    def expired(self, row: Any) -> bool:
        return row.ended_at is not None and row.ended_at + self.retention <= self.clock.now()

    def result(self, caller: Caller, project_id: str, job_id: str, execution: str | None) -> RunResult:
        with self.db.read() as conn:
            row = self._load(conn, caller, project_id, job_id)
            run = Run(row, None, self.clock.now())
            idx = _execution_index(job_id, execution)
            if row.status not in TERMINAL:
                return RunResult(run, [], False, _pending_message(row.status))
            if self.expired(row) or row.results_purged:
                kept = self.settings.sql_result_retention
                raise ResultExpired(
                    f"The results of the SQL run {job_id} expired: results are kept {_duration(kept)} after a run "
                    "ends (WEDATA_SQL_RESULT_RETENTION). Run the script again."
                )
            statements = _statements(conn, [job_id], rows=True, idx=idx).get(job_id, [])
        if idx is not None and not statements:
            raise NotFound(f"The SQL run {job_id} has no JobExecution {execution}.")
        truncated = _fit(statements, RESULT_BUDGET)
        return RunResult(run, statements, truncated or any(s.truncated for s in statements),
                         _final_message(row, truncated or any(s.truncated for s in statements)))

    def list_runs(self, caller: Caller, req: M.ListSQLScriptRunsRequest) -> list[Run]:
        start = _time_filter(req.start_time, "StartTime")
        end = _time_filter(req.end_time, "EndTime")
        if start and end and start > end:
            raise InvalidValue(f"StartTime {req.start_time} is after EndTime {req.end_time}")
        if not req.script_id.startswith("adhoc-"):
            self.scripts.get(caller, req.project_id, req.script_id)  # ResourceNotFound when not visible
        query = select(*_RUN_COLUMNS).where(
            R.c.project_id == req.project_id, R.c.script_id == req.script_id,
            or_(R.c.scope == SHARED, R.c.user_uin == caller.uin),
        )
        if req.job_id:
            query = query.where(R.c.id == req.job_id)
        if req.execute_user_uin:
            query = query.where(R.c.user_uin == req.execute_user_uin)
        if req.search_word:
            pattern = like_pattern(req.search_word)
            query = query.where(or_(R.c.content.ilike(pattern, escape="\\"), R.c.job_name.ilike(pattern, escape="\\")))
        if start:
            query = query.where(R.c.created_at >= start)
        if end:
            query = query.where(R.c.created_at <= end)
        now = self.clock.now()
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(R.c.created_at.desc(), R.c.id.desc()).limit(MAX_LISTED_RUNS)).all()
        return [Run(r, None, now) for r in rows]

    # ------------------------------------------------------------------------------------------
    # StopSQLScriptRun

    def stop(self, caller: Caller, project_id: str, job_id: str) -> None:
        """Stop a queued run at once; cancel a running one in its database. The run's user or a
        project administrator may; a run that has ended cannot be stopped."""
        from wedata.services.datasources.access import project_rights

        with self.db.write() as conn:
            row = self._load(conn, caller, project_id, job_id)
            if row.user_uin != caller.uin and not project_rights(conn, project_id, caller).admin:
                raise Forbidden(f"The user {caller.uin} may not stop the SQL run {job_id} of the user {row.user_uin}: "
                                "only who ran it and the project's administrators may.")
            if row.status in TERMINAL:
                raise InvalidJobState(f"The SQL run {job_id} already ended ({row.status}): there is nothing to stop.")
            now = self.clock.now()
            if row.status == QUEUED:
                done = conn.execute(update(R).where(R.c.id == job_id, R.c.status == QUEUED).values(
                    status=CANCELED, stop_requested_by=caller.uin, ended_at=now,
                    message=f"Stopped by {caller.uin} before it started.",
                )).rowcount
                if done:
                    conn.execute(update(S).where(S.c.run_id == job_id).values(status=CANCELED))
                    return
            conn.execute(update(R).where(R.c.id == job_id, R.c.status == RUNNING).values(stop_requested_by=caller.uin))
        # Running (in this process: cancelled now, in its database; in another: by its worker,
        # which looks for stop requests every poll).
        self.worker.cancel(job_id)


def _statements(conn: Connection, job_ids: list[str], *, rows: bool, idx: int | None = None) -> dict[str, list[Statement]]:
    cols = [S.c.run_id, S.c.idx, S.c.sql, S.c.status, S.c.columns, S.c.row_count, S.c.preview_count,
            S.c.truncated, S.c.cost_ms, S.c.error, S.c.started_at, S.c.ended_at]
    if rows:
        cols.append(S.c.rows)
    query = select(*cols).where(S.c.run_id.in_(job_ids))
    if idx is not None:
        query = query.where(S.c.idx == idx)
    out: dict[str, list[Statement]] = {}
    for r in conn.execute(query.order_by(S.c.run_id, S.c.idx)):
        out.setdefault(r.run_id, []).append(Statement(
            idx=r.idx, sql=r.sql, status=r.status, columns=r.columns,
            rows=json.loads(r.rows) if rows and r.rows else ([] if rows else None),
            row_count=r.row_count, preview_count=r.preview_count, truncated=bool(r.truncated), cost_ms=r.cost_ms,
            error=r.error, started_at=r.started_at, ended_at=r.ended_at,
        ))
    return out


def _execution_index(job_id: str, execution: str | None) -> int | None:
    if execution is None or execution == "":
        return None
    prefix = job_id + "_"
    tail = execution[len(prefix):] if execution.startswith(prefix) else ""
    if not tail.isdigit() or len(tail) > 6:
        raise NotFound(f"The SQL run {job_id} has no JobExecution {execution}.")
    return int(tail) + 1


def _fit(statements: list[Statement], budget: int) -> bool:
    """Cut rows past the answer's budget (WeData: at most 10 MB of results); True if any was cut."""
    cut = False
    for s in statements:
        kept: list[list[str | None]] = []
        for row in s.rows or []:
            size = sum(len(c) + 3 if c is not None else 4 for c in row) + 2
            if size > budget:
                cut = True
                s.truncated = True
                break
            budget -= size
            kept.append(row)
        s.rows = kept
    return cut


def _pending_message(status: str) -> str:
    if status == QUEUED:
        return "The run is queued and has no results yet: ask again later with the same JobId."
    return "The run is executing and has no results yet: ask again later with the same JobId."


def _final_message(row: Any, truncated: bool) -> str:
    if row.status == SUCCESS:
        if truncated:
            return ("The run succeeded; some results are truncated (more rows or bytes than are kept): narrow the "
                    "query to see them all.")
        return "The run succeeded; all results are returned."
    return str(row.message or ("The run was stopped." if row.status == CANCELED else "The run failed."))


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} seconds"


def _time_filter(value: int | str | None, field: str) -> datetime | None:
    """``yyyy-MM-dd HH:mm:ss`` (UTC+8) or epoch milliseconds (seconds when 10 digits or fewer)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if isinstance(value, int) or text.isdigit():
        number = int(text)
        seconds = number / 1000 if len(text) > 10 else number
        try:
            return datetime(1970, 1, 1) + timedelta(seconds=seconds)
        except OverflowError:
            raise InvalidValue(f"{field} is out of range: {value!r}") from None
    return parse_local(text, None, field)
