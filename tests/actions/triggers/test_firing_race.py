"""Each fire of a time trigger starts one run even when several processes fire triggers against
one database: two more firing workers (TriggerFiring, the real one, with a settable clock) run
in this test process beside the live server's own, on its database. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import select, update

from tests.actions.triggers.firing_support import (
    data_time,
    runs,
    set_triggers,
    time_trigger,
    workflow_with_task,
)
from tests.services.alarms.support import FakeClock
from tests.support import Api, ServerProcess
from tests.waiting import wait_until
from wedata.config import Settings
from wedata.scheduler.api import SchedulerApi
from wedata.services.triggers.firing import TriggerFiring
from wedata.services.triggers.runs import TriggerRunService
from wedata.storage.db import Database
from wedata.storage.trigger_firing_tables import trigger_cursors

C = trigger_cursors
SH = timedelta(hours=8)  # the trigger's zone, Asia/Shanghai


def poll_together(pollers: list[TriggerFiring]) -> int:
    barrier = threading.Barrier(len(pollers))
    started: list[int] = []

    def one(p: TriggerFiring) -> None:
        barrier.wait()
        started.append(p.poll())

    threads = [threading.Thread(target=one, args=(p,)) for p in pollers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(started) == len(pollers)
    return sum(started)


def test_two_more_processes_never_fire_one_time_twice(server: ServerProcess, api: Api) -> None:
    space, _ = workflow_with_task(api)
    # Fires from 2030 on: the server's own clock (today) never reaches one; ours do.
    set_triggers(api, space, time_trigger(StartTime="2030-01-01 00:00:00"), mode="TIME_TRIGGER")
    db = Database(server.database_url or f"sqlite:///{server.home / 'wedata.db'}")
    settings = Settings(home=server.home)
    where = (C.c.workflow_id == space.workflow, C.c.trigger_id == "clock")

    def cursor() -> datetime | None:
        with db.read() as conn:
            return conn.execute(select(C.c.cursor_at).where(*where)).scalar()

    try:
        wait_until(cursor, lambda c: c is not None, what="the server to arm the trigger")
        clock = FakeClock(datetime(2030, 1, 1, 0, 0, 30) - SH)
        pollers = [TriggerFiring(db, clock, settings, TriggerRunService(db, clock, settings, SchedulerApi(db, settings)))
                   for _ in range(2)]
        assert poll_together(pollers) == 1  # the 00:00 fire, 30 s late: on time
        clock.advance(seconds=40)
        assert poll_together(pollers) == 1  # 00:01
        clock.t = datetime(2030, 1, 1, 5, 0, 20) - SH
        assert poll_together(pollers) == 1  # five hours missed: one run, for 05:00
        # A process whose view of the cursor is older (it read it before the others' commits)
        # computes the same fire again; the fire's unique row turns its run away.
        with db.write() as conn:
            conn.execute(update(C).where(*where).values(cursor_at=datetime(2030, 1, 1, 4, 59, 30) - SH))
        assert pollers[0].poll() == 0
        assert cursor() == datetime(2030, 1, 1, 5, 0) - SH
        got = runs(api, space)
        assert sorted(data_time(api, space, r["ExecutionId"]) for r in got) == [
            datetime(2030, 1, 1, 0, 0), datetime(2030, 1, 1, 0, 1), datetime(2030, 1, 1, 5, 0)]
        assert {r["TriggerType"] for r in got} == {"Scheduler"}
    finally:
        db.dispose()
