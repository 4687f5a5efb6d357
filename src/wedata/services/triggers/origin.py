"""Where a workflow run comes from when it is not started by hand: what the firing worker
(services/triggers/firing.py) hands ``TriggerRunService.create_run`` for a time or file fire.

Kept apart from runs.py and firing.py so that neither imports the other's module for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection


@dataclass(frozen=True, slots=True)
class RunOrigin:
    # TriggerType of the run: Scheduler (a time trigger) | Event (a file arrival).
    trigger_type: str
    # The instant whose UTC+8 wall time is the run's data time (a time trigger's fire time);
    # None: the moment the run is created.
    at: datetime | None = None
    # Parameters the run adds to its WorkflowParams (the arrived files); not checked against them.
    params: Mapping[str, str] = field(default_factory=dict)
    # Called with the new run's WorkflowExecutionId inside the transaction that creates it (the
    # fire's unique row: a duplicate fire rolls the run back).
    record: Callable[[Connection, str], None] | None = None
