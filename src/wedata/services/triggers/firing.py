"""The firing worker: starts the runs of trigger workflows' TIME_TRIGGER and FILE_ARRIVAL
triggers (docs/triggers.md, "Time and file-arrival triggers").

Every ``WEDATA_TRIGGER_INTERVAL`` seconds (0.5) the worker reads every trigger workflow's
settings (one query) and the cursors (one query), so a change or a pause takes effect at the
next look, without a restart. Per trigger:

- The **effective settings** (trigger_config.py) and whether it is paused give a fingerprint.
  A trigger seen for the first time, changed, paused or resumed is (re)armed at that moment
  (``trigger_cursors.cursor_at``): it never fires for a moment before it was so configured.
- **TIME_TRIGGER**: the due fire times after the cursor (time_triggers.py, with the misfire
  rule) each start one run, ``TriggerType`` ``Scheduler``, whose data time is the fire time.
- **FILE_ARRIVAL**: a scan of the path, then the pending batch fires when due (file_triggers.py),
  ``TriggerType`` ``Event``, its parameters naming the files.

**Exactly once.** Each fire's ``trigger_fires`` row (unique per workflow, trigger and fire) and
the cursor move are written by the run's own transaction (``RunOrigin.record``): a crash
before the commit leaves neither (the fire is retried), after it both. Several server
processes may run this worker against one database: the one that loses the race on the unique
key rolls its run back. A fire whose run cannot be created (no submitted task, an unsupported
policy) is recorded with the reason and logged; it is not retried.

Runs are created through ``TriggerRunService.create_run`` (the manual runs' code: the same
checks, parameters and engine instances), as the workflow's ExecuteUserUin, else its owner.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.services.errors import ServiceError
from wedata.services.triggers import file_triggers
from wedata.services.triggers.origin import RunOrigin
from wedata.services.triggers.runs import TriggerRunService
from wedata.services.triggers.time_triggers import MISFIRE_THRESHOLD, due_fires
from wedata.services.triggers.trigger_config import FileSpec, TimeSpec, fingerprint, is_paused, parse_item
from wedata.services.triggers.watch import Roots, scan
from wedata.services.workers import BackgroundWorker
from wedata.storage import tables as T
from wedata.storage.db import Database, insert_ignore
from wedata.storage.trigger_firing_tables import trigger_cursors, trigger_fires
from wedata.storage.trigger_tables import trigger_workflows

log = logging.getLogger("wedata.triggers.firing")
C, F, TW = trigger_cursors, trigger_fires, trigger_workflows
_SPEC_CACHE = 10_000


class TriggerFiring:
    def __init__(self, db: Database, clock: Clock, settings: Settings, runs: TriggerRunService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.runs = runs
        self.roots = Roots.from_settings(settings)
        self.worker = TriggerWorker(self, settings.trigger_interval)
        factor = float(getattr(clock, "factor", 1.0))
        # Late by more than a threshold = misfired (time_triggers.py). Under a scaled clock a
        # look every interval is already that many clock seconds late: never call that a misfire.
        self.threshold = max(MISFIRE_THRESHOLD, timedelta(seconds=3 * settings.trigger_interval * factor))
        self._specs: dict[str, TimeSpec | FileSpec | None] = {}
        self._complaints: dict[tuple[str, str], str] = {}

    # -- the worker -------------------------------------------------------------------------------

    def start_worker(self) -> None:
        self.worker.start()

    def stop_worker(self) -> None:
        self.worker.stop()

    # -- one look ---------------------------------------------------------------------------------

    def poll(self) -> int:
        """Look at every trigger once; how many runs were started."""
        now = self.clock.now()
        w = T.workflows
        with self.db.read() as conn:
            rows = conn.execute(
                select(w.c.id, w.c.project_id, w.c.owner_uin, w.c.create_user_uin, TW.c.trigger_mode,
                       TW.c.scheduler_status, TW.c.triggers, TW.c.execute_user_uin)
                .select_from(w.join(TW, TW.c.workflow_id == w.c.id)).where(w.c.workflow_type == "trigger")
            ).all()
            cursors = {(c.workflow_id, c.trigger_id): c for c in conn.execute(select(C))}
        started = 0
        for row in rows:
            for i, item in enumerate(row.triggers or []):
                spec = self._spec(row, i, item)
                if spec is None:
                    continue
                paused = is_paused(row.scheduler_status, item)
                fp = fingerprint(spec.fingerprint, paused)
                cur = cursors.get((row.id, spec.trigger_id))
                if cur is None or cur.fingerprint != fp:
                    self._arm(row.id, spec.trigger_id, fp, now)
                    continue
                if paused:
                    continue
                try:
                    if isinstance(spec, TimeSpec):
                        started += self._time(row, spec, cur.cursor_at, now)
                    else:
                        started += self._files(row, spec, cur.last_fire_at, now)
                except Exception as exc:  # one trigger must not stop the others
                    self._complain(row.id, spec.trigger_id, exc)
        return started

    def _spec(self, row: Any, i: int, item: dict[str, Any]) -> TimeSpec | FileSpec | None:
        key = fingerprint(row.trigger_mode, i, item)
        if key not in self._specs:
            if len(self._specs) > _SPEC_CACHE:
                self._specs.clear()
            try:
                self._specs[key] = parse_item(row.trigger_mode, i, item, self.roots)
            except ServiceError as exc:  # stored before a rule or a watch root changed
                self._complain(row.id, str(item.get("TriggerId")), exc)
                self._specs[key] = None
        return self._specs[key]

    def _complain(self, workflow_id: str, trigger_id: str, exc: Exception) -> None:
        text = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        if self._complaints.get((workflow_id, trigger_id)) != text:
            self._complaints[(workflow_id, trigger_id)] = text
            log.warning("trigger %s of the workflow %s cannot fire: %s", trigger_id, workflow_id, text)

    def _arm(self, workflow_id: str, trigger_id: str, fp: str, now: datetime) -> None:
        values = {"workflow_id": workflow_id, "trigger_id": trigger_id, "fingerprint": fp, "cursor_at": now}
        with self.db.write() as conn:
            ins = (postgresql.insert(C) if conn.dialect.name == "postgresql" else sqlite.insert(C)).values(**values)
            conn.execute(ins.on_conflict_do_update(index_elements=[C.c.workflow_id, C.c.trigger_id],
                                                   set_={"fingerprint": fp, "cursor_at": now}))

    @staticmethod
    def _caller(row: Any) -> Caller:
        return Caller(secret_id="", uin=str(row.execute_user_uin or row.owner_uin or row.create_user_uin))

    def _fired(self, workflow_id: str, trigger_id: str, key: str) -> bool:
        with self.db.read() as conn:
            return conn.execute(select(F.c.id).where(F.c.workflow_id == workflow_id, F.c.trigger_id == trigger_id,
                                                     F.c.fire_key == key)).first() is not None

    # -- TIME_TRIGGER -----------------------------------------------------------------------------

    def _time(self, row: Any, spec: TimeSpec, cursor: datetime, now: datetime) -> int:
        due = due_fires(spec.schedule, spec.zone, cursor, now, self.threshold)
        note = None
        if due.misfired:
            note = (f"misfire: {due.misfired} earlier fire(s) from {due.first_late} UTC on were missed "
                    "(the server was not running); one run for the latest")
            log.warning("trigger %s of the workflow %s: %s", spec.trigger_id, row.id, note)
        started = 0
        for fire_at in due.fires:
            started += self._fire_time(row, spec, fire_at, now, note)
        return started

    def _fire_time(self, row: Any, spec: TimeSpec, fire_at: datetime, now: datetime, note: str | None) -> int:
        key = fire_at.strftime("%Y-%m-%dT%H:%M:%S")

        def record(conn: Any, execution_id: str | None) -> None:
            conn.execute(insert(F).values(workflow_id=row.id, trigger_id=spec.trigger_id, fire_key=key, kind="time",
                                          fire_at=fire_at, execution_id=execution_id, note=note, created_at=now))
            conn.execute(update(C).where(C.c.workflow_id == row.id, C.c.trigger_id == spec.trigger_id,
                                         C.c.cursor_at < fire_at).values(cursor_at=fire_at))

        origin = RunOrigin("Scheduler", at=fire_at, record=record)
        error: ServiceError | None = None
        for _ in range(2):  # once more: a manual run may have taken the same data time meanwhile
            try:
                execution_id = self.runs.create_run(row.project_id, self._caller(row), row.id, None, None, origin)
            except ServiceError as exc:
                if self._fired(row.id, spec.trigger_id, key):
                    self._advance(row.id, spec.trigger_id, fire_at)  # another process fired it
                    return 0
                error = exc
                continue
            log.info("trigger %s of the workflow %s fired for %s UTC: run %s", spec.trigger_id, row.id, fire_at,
                     execution_id)
            return 1
        assert error is not None
        log.warning("trigger %s of the workflow %s fired for %s UTC but no run was started: %s", spec.trigger_id,
                    row.id, fire_at, error.message)
        with self.db.write() as conn:
            conn.execute(insert_ignore(conn, F).values(
                workflow_id=row.id, trigger_id=spec.trigger_id, fire_key=key, kind="time", fire_at=fire_at,
                note=f"no run: {error.message}"[:4000], created_at=now))
        self._advance(row.id, spec.trigger_id, fire_at)
        return 0

    def _advance(self, workflow_id: str, trigger_id: str, fire_at: datetime) -> None:
        with self.db.write() as conn:
            conn.execute(update(C).where(C.c.workflow_id == workflow_id, C.c.trigger_id == trigger_id,
                                         C.c.cursor_at < fire_at).values(cursor_at=fire_at))

    # -- FILE_ARRIVAL -----------------------------------------------------------------------------

    def _files(self, row: Any, spec: FileSpec, last_fire_at: datetime | None, now: datetime) -> int:
        found = scan(spec.path, spec.pattern, spec.recursive, self.roots)
        pending = file_triggers.record_seen(self.db, row.id, spec, found, now)
        due = file_triggers.batch_due_at(spec, pending, last_fire_at)
        if due is None or now < due:
            return 0
        record, names = file_triggers.consume(row.id, spec, pending, {f.path for f in found}, now)
        if not names:
            with self.db.write() as conn:
                record(conn, None)
            return 0
        try:
            execution_id = self.runs.create_run(row.project_id, self._caller(row), row.id, None, None,
                                                file_triggers.origin_for(spec, names, record))
        except file_triggers.BatchTaken:
            return 0
        except ServiceError as exc:
            log.warning("trigger %s of the workflow %s: %d file(s) arrived but no run was started: %s",
                        spec.trigger_id, row.id, len(names), exc.message)
            record_failed, _ = file_triggers.consume(row.id, spec, pending, {f.path for f in found}, now,
                                                     note=f"no run: {exc.message}"[:4000])
            try:
                with self.db.write() as conn:
                    record_failed(conn, None)
            except (file_triggers.BatchTaken, IntegrityError):
                pass  # another process consumed the batch meanwhile
            return 0
        log.info("trigger %s of the workflow %s: %d file(s) arrived, run %s", spec.trigger_id, row.id, len(names),
                 execution_id)
        return 1


class TriggerWorker(BackgroundWorker):
    """Looks at the triggers every ``interval`` seconds."""

    def __init__(self, firing: TriggerFiring, interval: float) -> None:
        super().__init__("triggers", interval)
        self.firing = firing
        self.health = firing.db.health

    def poll(self) -> bool:
        self.firing.poll()
        return False
