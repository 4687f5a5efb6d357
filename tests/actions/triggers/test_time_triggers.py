"""TIME_TRIGGER workflows through the official SDK on a server whose clock runs 60 times faster
than real time (a minute a second): one run per cron fire with the fire time as its data time,
pause stops firing (no catch-up on resume), a new cron takes effect without a restart, and after
a long outage the backlog collapses into one run. SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.actions.triggers.firing_support import (
    data_time,
    pause,
    runs,
    set_triggers,
    time_trigger,
    workflow_with_task,
)
from tests.conftest import require_postgres
from tests.support import PG_URL, Api, ServerProcess, create_pg_database, drop_pg_database
from tests.waiting import wait_until

# Mostly waiting on real time: run in the waiting lane of `make test` (tools/ci/run-suite.sh).
pytestmark = pytest.mark.slow

FACTOR = 60
CLOCK_START = "2025-03-01 14:58:00"  # UTC; 22:58:00 in UTC+8


def fast_env(start: str = CLOCK_START) -> dict[str, str]:
    return {"WEDATA_CLOCK_START": start, "WEDATA_CLOCK_FACTOR": str(FACTOR), "WEDATA_PLAN_INTERVAL": "0.2"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fast(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    db_name = url = None
    if request.param == "postgres":
        require_postgres()
        db_name = create_pg_database(migrated=True)
        url = f"{PG_URL}/{db_name}"
    # Looks every 1.5 s, as after the outage below: the misfire threshold is 3 looks (firing.py),
    # 4.5 s of real time here. At the default 0.5 s, a stall of 1.5 s on a loaded machine (one
    # CI run at load 10) collapsed two fires into one and a test saw a gap of 2 minutes.
    env = fast_env() | {"WEDATA_TRIGGER_INTERVAL": "1.5"}
    srv = ServerProcess(tmp_path_factory.mktemp(f"fire-{request.param}"), url, env).start()
    yield srv.admin()
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


def wait_runs(api: Api, space: object, count: int) -> list[dict]:
    return wait_until(lambda: runs(api, space), lambda rs: len(rs) >= count,  # type: ignore[arg-type]
                      what=f"{count} runs", progress=len)


def minutes(times: list[datetime]) -> list[float]:
    return [(b - a).total_seconds() / 60 for a, b in zip(times, times[1:], strict=False)]


def test_a_time_trigger_starts_one_run_per_fire_and_pause_stops_it(fast: Api) -> None:
    space, _ = workflow_with_task(fast)
    set_triggers(fast, space, time_trigger(), mode="TIME_TRIGGER")
    first = wait_runs(fast, space, 3)
    assert all(r["TriggerType"] == "Scheduler" for r in first)
    times = [data_time(fast, space, r["ExecutionId"]) for r in first]
    # One run per cron fire: whole minutes, one after another, none twice.
    assert all(t.second == 0 for t in times) and minutes(times) == [1.0] * (len(times) - 1), times
    assert times[0] >= datetime(2025, 3, 1, 22, 58)

    pause(fast, space)
    time.sleep(1.5)  # a look that began before the pause may still start its run
    paused = len(runs(fast, space))
    time.sleep(4)  # four clock minutes: four fires would have been due
    assert len(runs(fast, space)) == paused

    pause(fast, space, "ACTIVE")
    after = wait_runs(fast, space, paused + 2)
    times = sorted(data_time(fast, space, r["ExecutionId"]) for r in after)
    gaps = minutes(times)
    # The paused minutes were not caught up: exactly one gap of at least the pause, else 1 min.
    assert max(gaps) >= 4 and sorted(gaps)[:-1] == [1.0] * (len(gaps) - 1), gaps
    # Every run went through the engine to SUCCESS (the same run code as manual runs).
    done = wait_until(lambda: runs(fast, space), lambda rs: all(r["ExecutionState"] == "SUCCESS" for r in rs[:3]),
                      what="the first runs to succeed", progress=lambda rs: [r["ExecutionState"] for r in rs[:3]])
    assert len(done) >= 3


def test_a_new_cron_takes_effect_without_a_restart(fast: Api) -> None:
    space, _ = workflow_with_task(fast)
    set_triggers(fast, space, time_trigger(), mode="TIME_TRIGGER")
    wait_runs(fast, space, 1)
    # Every 5 minutes from now on, given in COMMON mode (MINUTE_CYCLE) by a partial update.
    fast.data("UpdateTriggerWorkflowPartially", {
        "ProjectId": space.project, "WorkflowId": space.workflow,
        "NewSetting": {"TriggerWorkflowSchedulerConfigurations": [
            time_trigger("0 */5 * * * ? *", ConfigMode="COMMON", CycleType="MINUTE_CYCLE")]}})
    time.sleep(1.5)
    before = len(runs(fast, space))
    later = wait_runs(fast, space, before + 2)
    times = sorted(data_time(fast, space, r["ExecutionId"]) for r in later[before:])
    assert all(t.minute % 5 == 0 and t.second == 0 for t in times) and minutes(times) == [5.0] * (len(times) - 1)


def test_after_a_long_outage_the_backlog_is_one_run(tmp_path: Path) -> None:
    """The server stops; it comes back three hours later (its clock starts later): the 180 fires
    missed collapse into one run for the latest (Quartz's misfire rule), then fires continue."""
    first_started = time.monotonic()
    srv = ServerProcess(tmp_path / "home", None, fast_env()).start()
    try:
        api = srv.admin()
        space, _ = workflow_with_task(api)
        set_triggers(api, space, time_trigger(), mode="TIME_TRIGGER")
        wait_runs(api, space, 2)
    finally:
        srv.stop()
    # The first server's clock (UTC+8 wall) never got past this: it ran FACTOR clock seconds a
    # real second. Fires may have started runs after the wait above saw two, up to the stop.
    first_clock_end = datetime(2025, 3, 1, 22, 58) + timedelta(seconds=(time.monotonic() - first_started) * FACTOR)
    later = datetime(2025, 3, 1, 17, 58)  # UTC: three hours after the first start
    restart = later + timedelta(hours=8)  # the same instant on the UTC+8 wall the data times use
    # Fires late by up to 3 looks are run one by one, not collapsed (firing.py's threshold): looks
    # every 1.5 s keep a stall of the restarting server on a loaded machine (under a clock 60x as
    # fast, 2 s is 2 minutes) from collapsing the fires right after the restart as well.
    env = fast_env(later.strftime("%Y-%m-%d %H:%M:%S")) | {"WEDATA_TRIGGER_INTERVAL": "1.5"}
    srv = ServerProcess(tmp_path / "home", None, env).start()
    try:
        api = srv.admin()
        restarted = time.monotonic()
        before = [r for r in runs(api, space) if data_time(api, space, r["ExecutionId"]) < restart]
        after = wait_runs(api, space, len(before) + 3)
        elapsed = time.monotonic() - restarted
        times = sorted(data_time(api, space, r["ExecutionId"]) for r in after)
        old = [t for t in times if t < restart]
        new = [t for t in times if t >= restart]
        # None of the 180 fires missed during the outage got a run of its own...
        assert len(old) == len(before) and max(old) <= first_clock_end, (old, first_clock_end)
        # ...they collapse into one run (a fire at or after the restart), then one a minute;
        # never more runs than clock minutes went by since the restart.
        assert len(new) >= 3 and minutes(new) == [1.0] * (len(new) - 1), new
        assert len(new) <= elapsed + 3
        # A fire is never run twice, restart or not.
        assert len(times) == len(set(times))
    finally:
        srv.stop()
