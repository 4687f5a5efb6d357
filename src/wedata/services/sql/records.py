"""The records of SQL runs that the service returns and ``actions/sql/wire.py`` renders, and the
run and statement states.

Run ``Status`` (GetSQLRunResult's ``SqlRunResult.Status``, also shown in JobDto and each
JobExecution): ``QUEUED`` -> ``RUNNING`` -> ``SUCCESS`` | ``FAILED`` | ``CANCELED`` (WeData also
lists ``TERMINATED``; nothing here ends a run that way: a stopped run is ``CANCELED``, a run
that could not finish is ``FAILED`` with the reason). A statement is ``QUEUED`` until it ends
(its start is not written: nothing shows it), then ``SUCCESS``/``FAILED``/``CANCELED``;
statements after a failed or stopped one never start and end ``CANCELED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

QUEUED, RUNNING, SUCCESS, FAILED, CANCELED = "QUEUED", "RUNNING", "SUCCESS", "FAILED", "CANCELED"
TERMINAL = frozenset({SUCCESS, FAILED, CANCELED})


def execution_id(job_id: str, idx: int) -> str:
    """A statement's JobExecutionId: ``<JobId>_<n>``, n from 0 (WeData's RunSQLScript example)."""
    return f"{job_id}_{idx - 1}"


@dataclass(slots=True)
class Statement:
    idx: int  # 1-based
    sql: str
    status: str
    columns: list[dict[str, Any]] | None  # [{"name": ..., "type": ...}]
    rows: list[list[str | None]] | None  # only when results are asked for
    row_count: int | None
    preview_count: int
    truncated: bool
    cost_ms: int | None
    error: str | None
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(slots=True)
class Run:
    """A run (``sql_runs`` row) with its statements when the answer lists them."""

    row: Any
    statements: list[Statement] | None
    now: datetime  # when it was read: the elapsed time of a run still going

    @property
    def cost_ms(self) -> int | None:
        started = self.row.started_at
        if started is None:
            return None
        end = self.row.ended_at or self.now
        return max(0, int((end - started).total_seconds() * 1000))


@dataclass(slots=True)
class RunResult:
    """GetSQLRunResult: the run, its results (empty until it ended), and why."""

    run: Run
    results: list[Statement]
    truncated: bool
    message: str
