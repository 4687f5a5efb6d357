"""Updating a trigger workflow while its trigger fires (PostgreSQL row locks).

A fire takes the workflow's ``trigger_workflows`` row (SELECT ... FOR UPDATE: runs of one
workflow are created one at a time, services/triggers/runs.py), then writes rows that refer to
the workflow (``trigger_fires``, ``trigger_cursors``): each such insert checks its foreign key
with a KEY SHARE lock on the ``workflows`` row. UpdateTriggerWorkflow(Partially) locks the
``workflows`` row, then updates ``trigger_workflows``. When the update locked the workflow FOR
UPDATE, the two waited for each other: PostgreSQL found the deadlock after a second and aborted
one of them, and a pause sent while the trigger fired answered InternalError (seen once in
``make test``: tests/actions/triggers/test_time_triggers.py). The update now locks the workflow
FOR NO KEY UPDATE, which a foreign-key check does not wait for.

The fire's side is played here on a connection of the test, in the order the firing worker takes
its locks, so that the interleaving that deadlocked happens every time.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from tests.actions.triggers.firing_support import pause, set_triggers, time_trigger, workflow_with_task
from tests.support import Api, ServerProcess
from tests.waiting import wait_until
from wedata.storage.db import Database
from wedata.storage.trigger_firing_tables import trigger_fires
from wedata.storage.trigger_tables import trigger_workflows

TW = trigger_workflows
_WAITING = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")


def test_a_pause_sent_while_the_trigger_fires_waits_for_the_fire_and_succeeds(server: ServerProcess, api: Api) -> None:
    if server.database_url is None:
        pytest.skip("row locks: SQLite runs one writer at a time")
    space, _ = workflow_with_task(api)
    # Fires from 2030 on: the server's own firing worker never fires it during the test.
    set_triggers(api, space, time_trigger(StartTime="2030-01-01 00:00:00"), mode="TIME_TRIGGER")
    db = Database(server.database_url)
    outcome: dict[str, Any] = {}

    def send_pause() -> None:
        try:
            pause(api, space)
            outcome["ok"] = True
        except Exception as exc:  # reported by the assertion below
            outcome["error"] = exc

    try:
        with db.engine.connect() as fire, db.engine.connect() as look:
            fire.begin()
            # The fire's first lock: the workflow's trigger settings.
            fire.execute(select(TW.c.workflow_id).where(TW.c.workflow_id == space.workflow).with_for_update())
            sender = threading.Thread(target=send_pause)
            sender.start()
            # The update has locked the workflow and now waits for the trigger settings.
            wait_until(lambda: look.execute(_WAITING).scalar_one(), lambda n: n >= 1,
                       what="the update to wait for the fire's lock", patience=30)
            look.rollback()
            # The fire's write that refers to the workflow: its foreign key check must not wait
            # for the update (which waits for this transaction).
            fire.execute(insert(trigger_fires).values(
                workflow_id=space.workflow, trigger_id="clock", fire_key="during-update", kind="time",
                fire_at=datetime(2030, 1, 1), created_at=datetime(2030, 1, 1)))
            fire.commit()
            sender.join(60)
        assert outcome == {"ok": True}, outcome
        detail = api.data("GetTriggerWorkflow", {"ProjectId": space.project, "WorkflowId": space.workflow})
        assert detail["SchedulerStatus"] == "PAUSED"
        with db.read() as conn:
            assert conn.execute(select(trigger_fires.c.fire_key).where(
                trigger_fires.c.workflow_id == space.workflow)).scalars().all() == ["during-update"]
    finally:
        db.dispose()
