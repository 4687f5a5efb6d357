"""The SQL execution contract: what SQL tasks (the engine) and SQL scripts (RunSQLScript) hand
the one SQL executor, and what they get back.

Both consumers run SQL through ``executors/sql/runner.py``::

    outcome = run_sql(target, text, dialect=..., limits=..., events=..., cancel=...)

which splits ``text`` into statements (``split_statements``), runs them in order in ONE session
on ``target``, streams each result set with a server-side cursor and keeps at most
``limits.max_rows`` rows / ``limits.max_bytes`` bytes of it (``truncated`` says when it cut),
reports each statement through ``events`` as it starts and ends, and stops at the first failing
statement (the database's message, with the statement's number). ``cancel.cancel()`` (kill,
stop, ExecutionTTL, StopSQLScriptRun) cancels the statement in the database itself —
``pg_cancel_backend`` on the PostgreSQL wire, ``KILL QUERY`` on the MySQL wire, DuckDB's
``interrupt()`` on the lake — and the outcome is CANCELED.

Parameters (``${...}``) are rendered by the caller before ``run_sql`` sees the text, exactly as
for Shell tasks; the executor never sees a password it could log: ``SqlTarget.url`` is the
SQLAlchemy URL object of a data source's pool (executors/sql/connections.py), rendered only
with the password hidden.

The lake: every server has a built-in DuckDB database at :func:`lake_path` (``WEDATA_HOME/lake/
lake.duckdb``), the DLC engine of the embedded default. Named lake engines of a project
(AddCalcEnginesToProject) are further DuckDB files beside it (:func:`lake_engine_path`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

Wire = Literal["mysql", "postgresql", "duckdb"]
Status = Literal["SUCCESS", "FAILED", "CANCELED"]

LAKE_DIR = "lake"
LAKE_FILE = "lake.duckdb"


def lake_path(home: Path) -> Path:
    """The built-in lake of a server whose home is ``home``."""
    return home / LAKE_DIR / LAKE_FILE


def lake_engine_path(home: Path, engine_name: str) -> Path:
    """A named lake engine (AddCalcEnginesToProject): its own DuckDB file beside the built-in one.
    ``engine_name`` must already be validated as a plain name (letters, digits, ``_``, ``-``)."""
    return home / LAKE_DIR / f"{engine_name}.duckdb"


@dataclass(frozen=True)
class SqlTarget:
    """Where statements run: a data source's database (``engine``, the SQLAlchemy Engine of its
    pool) or a lake file (``lake``)."""

    wire: Wire
    engine: Any = None  # sqlalchemy.Engine for mysql/postgresql
    lake: Path | None = None  # the DuckDB file for duckdb
    source_id: int | None = None  # the data source's Id, for messages
    label: str = ""  # how messages name the target ("data source 12 (MYSQL)", "the lake")
    # Added by the SQL executor (runner.py):
    # "spark": the text is Spark SQL, split as Spark and transpiled to DuckDB per statement (DLC).
    transpile_from: str | None = None
    # The lake: the schema unqualified names mean (a DLC engine's DefaultDatabase); created if missing.
    default_schema: str | None = None
    # The lake: how long to wait for another process to release the file (lake.open_lake).
    lake_wait: float = 30.0

    @property
    def dialect(self) -> str:
        """sqlglot's name of the target's dialect."""
        return {"mysql": "mysql", "postgresql": "postgres", "duckdb": "duckdb"}[self.wire]


@dataclass(frozen=True)
class ResultLimits:
    max_rows: int = 1000  # rows kept of each result set
    max_bytes: int = 10 * 1024 * 1024  # bytes (of the rows as text) kept of each result set
    max_script_bytes: int = 10 * 1024 * 1024  # a larger script is refused before it runs


@dataclass
class StatementResult:
    index: int  # 1-based, in the order the statements ran
    sql: str
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # at most the limits
    # rows affected (DML/DDL) or rows the result set had; for a truncated result set None (not
    # read to its end) except on the MySQL wire, whose driver reads the rest anyway
    row_count: int | None = None
    truncated: bool = False
    cost_ms: int = 0
    error: str | None = None  # the database's message (never a password)


@dataclass
class RunOutcome:
    status: Status
    statements: list[StatementResult]
    error: str | None = None  # why the run failed or was canceled, naming the statement

    @property
    def last_result(self) -> StatementResult | None:
        """The last statement that returned a result set (output parameters ``$[n][m]`` read it)."""
        for result in reversed(self.statements):
            if result.columns:
                return result
        return None


class RunEvents(Protocol):
    def statement_started(self, index: int, sql: str) -> None: ...

    def statement_finished(self, result: StatementResult) -> None: ...


class CancelToken:
    """Set by whoever stops a run; the executor registers how to cancel the statement in flight."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._hook: Callable[[], None] | None = None

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def on_cancel(self, hook: Callable[[], None] | None) -> None:
        """The executor's way to cancel what runs now (None when nothing runs)."""
        with self._lock:
            self._hook = hook
        if hook is not None and self._event.is_set():
            hook()

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            hook = self._hook
        if hook is not None:
            hook()


# -- SQL tasks (the engine's side) ------------------------------------------------------------


@dataclass(frozen=True)
class SqlJob:
    """What the engine hands the SQL executor for one attempt (``RunSpec.sql``)."""

    task_type_id: int
    project_id: str
    user_uin: str  # whose rights the data source is used with: the submitter of the running version
    source_service_id: str | None  # TaskConfiguration.SourceServiceId
    data_cluster: str | None  # TaskConfiguration.DataCluster (a DLC task's lake engine)
    text: str  # the rendered script
    limits: ResultLimits = field(default_factory=ResultLimits)
    log_rows: int = 20


class SqlTaskResolver(Protocol):
    """Where a SQL task's statements run; raises ``SourceError`` (a message safe to show) when
    the task may not or cannot use what it names. Implemented by the services."""

    def target_for(self, job: SqlJob) -> SqlTarget: ...
