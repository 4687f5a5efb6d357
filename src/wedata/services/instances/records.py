"""What the instance reads return: domain records, never wire Structs.

``actions/instances/wire.py`` renders them (times in the caller's zone, instance keys, the
``<br>``-joined log text); the rules that pick the rows, pages, phases and cursors stay here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wedata.services.common import Page


@dataclass(frozen=True)
class LogPage:
    """A page of one life round's log (GetTaskInstanceLog)."""

    instance: Mapping[Any, Any]
    code: str | None  # the round's code as run (plain text), None when no attempt recorded it
    lines: list[str]  # whole lines, already filtered by LogLevel
    next_cursor: int | None  # None once the round is over and everything was read


@dataclass(frozen=True)
class Phase:
    """A stretch of an attempt in one detail state (consecutive moves to the same one merged)."""

    detail_state: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class Execution:
    """One attempt (life round, try), or the attempt a waiting round is about to make."""

    life_round_num: int
    state: str
    run_type: str
    tries: int
    phases: list[Phase]
    cost_ms: int | None


@dataclass(frozen=True)
class Executions:
    """A page of an instance's attempts, oldest first (ListTaskInstanceExecutions)."""

    instance: Mapping[Any, Any]
    items: list[Execution]  # this page's
    total: int
    page: Page
