"""What the Ops reads return: domain records, never wire Structs (actions/ops/wire.py renders
them). List pages are ``services.common.Paged``: one query's rows and the COUNT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wedata.services.tasks.edges import Config


@dataclass(frozen=True)
class OpsTask:
    """A production task (GetOpsTask): the task row with its production ``snapshot`` (the Task
    dict as submitted, plain-text code), ``group_name`` and ``workflow_name``, and its
    production dependency edges by the other task's id."""

    row: Any
    upstream: dict[str, Config]
    downstream: dict[str, Config]


@dataclass(frozen=True)
class WorkflowSchedule:
    """GetOpsWorkflow's schedule (see workflow_reads.py). A time is a datetime (UTC) or, when
    the stored wall time cannot be read, the text as stored."""

    init_strategy: str | None = None
    cycle_type: str | None = None
    start: datetime | str | None = None
    end: datetime | str | None = None
    desc: str | None = None


@dataclass(frozen=True)
class OpsWorkflow:
    """An Ops workflow row (with its aggregates, see workflow_reads.py) and its schedule."""

    row: Any
    schedule: WorkflowSchedule
