"""One engine's node: what its loop (engine.py), its cycle (cycle.py) and its crash recovery
(recovery.py) share, as one explicit object.

The loop owns the node and passes it down; the cycle and the recovery receive it and never see
the loop. So the three modules form no import circle, and the state they share is named here
rather than reached through another module's private attributes:

- identity: ``node_id`` (the claims' owner), ``host``, ``actor`` (who transitions are by);
- paths: ``logs_dir`` and ``run_root`` (per-attempt run directories, each with its ``work/``);
- the exit inbox: the executor's callback (:meth:`report_exit`) appends, the loop takes
  (:meth:`take_exits`), all under one condition variable the loop also waits on;
- reasons an attempt failed before it ran, handles waiting to be stored, watched attempts;
- the earliest timer known (:meth:`timer_at`);
- cached lookups: task definitions, slot limits, workflow parameters.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select

from wedata.clock import Clock
from wedata.config import Settings
from wedata.executors.base import Executor, Handle
from wedata.scheduler.definitions import DefinitionCache, TaskDef
from wedata.scheduler.planner import load_snapshot, workflow_params
from wedata.storage.db import Database
from wedata.storage.objects import Stores
from wedata.storage.tables import resource_groups

# How long slot limits and workflow parameters read from the database are trusted.
_LOOKUP_TTL = 5.0


class EngineNode:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        executor: Executor,
        kind: str,
        defs: DefinitionCache | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.executor = executor
        self.kind = kind
        self.host = socket.gethostname()
        self.node_id = f"{self.host[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.actor = f"scheduler:{self.node_id}"[:64]
        self.logs_dir = settings.logs_dir
        self.run_root = settings.home / "run"
        self.stores = Stores(settings)  # where resource files are staged from (scheduler/staging.py)
        self.defs = defs if defs is not None else DefinitionCache()
        # The loop waits on this condition; everything below that threads share is guarded by it.
        self.cv = threading.Condition()
        self._exits: list[tuple[int, int | None]] = []
        self._watched: set[int] = set()  # attempts whose exit the executor will report
        self._fail_reasons: dict[int, str] = {}  # execution id -> why it failed before running
        self._pending_handles: list[dict[str, Any]] = []
        self._handles_since = 0.0  # monotonic time the oldest pending handle was added
        self.timer_due: datetime = datetime.min  # the earliest retry / deadline known
        self._slots: tuple[float, dict[str, int]] = (-1e9, {})
        self._wf_params: dict[str, tuple[float, dict[str, str]]] = {}

    # -- attempts' exits ------------------------------------------------------------------------

    def report_exit(self, execution_id: int, exit_code: int | None) -> None:
        """The executor's callback (any thread): this attempt ended with this code."""
        with self.cv:
            self._watched.discard(execution_id)
            self._exits.append((execution_id, exit_code))
            self.cv.notify_all()

    def take_exits(self) -> list[tuple[int, int | None]]:
        with self.cv:
            exits, self._exits = self._exits, []
            return exits

    def requeue_exits(self, exits: list[tuple[int, int | None]]) -> None:
        """The cycle that was to record these exits failed (database down, disk full): keep them
        for the next one, so an exit status is never lost while this process lives."""
        if exits:
            with self.cv:
                self._exits[:0] = exits

    def is_pending(self, execution_id: int) -> bool:
        """Watched, or its exit waits in the inbox to be recorded."""
        with self.cv:
            return execution_id in self._watched or any(eid == execution_id for eid, _ in self._exits)

    def has_exits(self) -> bool:
        with self.cv:
            return bool(self._exits)

    def watch(self, execution_id: int) -> None:
        """The executor watches this attempt and will report its exit."""
        with self.cv:
            self._watched.add(execution_id)

    def is_watched(self, execution_id: int) -> bool:
        with self.cv:
            return execution_id in self._watched

    def fail_before_run(self, execution_id: int, reason: str) -> None:
        """The attempt never ran (could not be prepared or started): end it with this reason."""
        with self.cv:
            self._fail_reasons[execution_id] = reason
        self.report_exit(execution_id, None)

    def fail_reason(self, execution_id: int) -> str | None:
        """Why the attempt failed before it ran (kept until :meth:`forget_fail_reasons`, i.e.
        until the cycle that ended it committed: a rolled-back cycle must find it again)."""
        with self.cv:
            return self._fail_reasons.get(execution_id)

    def forget_fail_reasons(self, execution_ids: list[int]) -> None:
        with self.cv:
            for eid in execution_ids:
                self._fail_reasons.pop(eid, None)

    # -- handles of started attempts, stored when the loop is idle --------------------------------

    def add_handle(self, execution_id: int, handle: Handle) -> None:
        with self.cv:
            if not self._pending_handles:
                self._handles_since = time.monotonic()
            self._pending_handles.append({"eid": execution_id, "handle": handle, "pid": handle.get("pid")})

    def take_handles(self, only: set[int] | None = None) -> list[dict[str, Any]]:
        """All the pending handles, or ``only`` those of these attempts (the others keep waiting)."""
        with self.cv:
            if only is None:
                handles, self._pending_handles = self._pending_handles, []
                return handles
            handles = [h for h in self._pending_handles if h["eid"] in only]
            self._pending_handles = [h for h in self._pending_handles if h["eid"] not in only]
            return handles

    def restore_handles(self, handles: list[dict[str, Any]]) -> None:
        """Storing these failed: keep them for the next idle moment."""
        with self.cv:
            if handles and not self._pending_handles:
                self._handles_since = time.monotonic()
            self._pending_handles[:0] = handles

    def pending_handle(self, execution_id: int) -> Handle | None:
        """The handle of an attempt this node started that is not stored yet, if any."""
        with self.cv:
            for h in self._pending_handles:
                if h["eid"] == execution_id:
                    return dict(h["handle"])
            return None

    def has_handles(self) -> bool:
        with self.cv:
            return bool(self._pending_handles)

    def handles_age(self) -> float | None:
        """Seconds the oldest pending handle has waited, or None when none waits."""
        with self.cv:
            return time.monotonic() - self._handles_since if self._pending_handles else None

    # -- timers ----------------------------------------------------------------------------------

    def timer_at(self, when: datetime) -> None:
        if when < self.timer_due:
            self.timer_due = when

    # -- lookups ---------------------------------------------------------------------------------

    def load_def(self, version_id: str) -> TaskDef:
        def load(v: str) -> Any:
            with self.db.read() as conn:
                return load_snapshot(conn, v)

        return self.defs.get(version_id, load)

    def def_for(self, inst: Any) -> TaskDef | None:
        # The current submitted version runs (WeData runs what is in production now).
        for version in (inst.get("prod_version"), inst["version_id"]):
            if version:
                try:
                    return self.load_def(version)
                except ValueError:
                    continue
        return None

    def slot_limits(self) -> dict[str, int]:
        at, cached = self._slots
        if time.monotonic() - at < _LOOKUP_TTL:
            return cached
        with self.db.read() as conn:
            rows = conn.execute(select(resource_groups.c.id, resource_groups.c.max_concurrency))
            limits = {rid: int(n) for rid, n in rows}
        self._slots = (time.monotonic(), limits)
        return limits

    def workflow_params(self, conn: Any, workflow_id: str) -> dict[str, str]:
        hit = self._wf_params.get(workflow_id)
        if hit is not None and time.monotonic() - hit[0] < _LOOKUP_TTL:
            return hit[1]
        params = workflow_params(conn, workflow_id)
        self._wf_params[workflow_id] = (time.monotonic(), params)
        return params
