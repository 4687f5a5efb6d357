"""The year-long backfill through the official SDK, SQLite and PostgreSQL: a plan of every day of
2024 for a chain of 3 `true` Shell tasks completes with every date present exactly once, in the
requested order, never exceeding its parallelism, and never starving the periodic schedule.

The server's clock starts at 2025-03-01 08:00 (UTC+8) and runs 60 times faster than real time,
so a minute-cycle periodic task has an instance due every real second while the plan runs; the
default resource group has 3 slots. What the API does not show (the exact order in which
instances started and how many ran at once) is replayed from the server's own transition
history (``instance_transitions``), read from its database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.actions.backfill.test_backfill import create, members, task, wait_plan
from tests.actions.instances.test_instances import Space, new_space
from tests.conftest import require_postgres
from tests.support import PG_URL, Api, ServerProcess, create_pg_database, drop_pg_database
from wedata.storage.backfill_tables import backfill_members
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_transitions

SLOTS = 3
WALL = "%Y-%m-%d %H:%M:%S"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fast(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Database]]:
    db_name = url = None
    if request.param == "postgres":
        require_postgres()
        db_name = create_pg_database(migrated=True)
        url = f"{PG_URL}/{db_name}"
    home = tmp_path_factory.mktemp(f"backfill-{request.param}")
    env = {"WEDATA_CLOCK_START": "2025-03-01 00:00:00", "WEDATA_CLOCK_FACTOR": "60",
           "WEDATA_PLAN_INTERVAL": "0.2", "WEDATA_DEFAULT_SLOTS": str(SLOTS), "WEDATA_ACCESS_LOG": "0"}
    srv = ServerProcess(home, url, env).start()
    db = Database(url or f"sqlite:///{home / 'wedata.db'}")
    yield srv.admin(), db
    db.dispose()
    srv.stop()
    if db_name:
        drop_pg_database(db_name)


def history(db: Database, plan: str) -> list[tuple[int, str, datetime, str | None, str]]:
    """(transition id, task, data time, from, to) of the plan's instances, in commit order."""
    T, BM = instance_transitions, backfill_members
    with db.read() as conn:
        rows = conn.execute(
            select(T.c.id, BM.c.task_id, BM.c.data_time, T.c.from_state, T.c.to_state)
            .join(BM, BM.c.instance_id == T.c.instance_id)
            .where(BM.c.plan_id == plan, T.c.life_round_num == BM.c.life_round_num)
            .order_by(T.c.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_year_for_a_chain_of_three_in_order_within_parallelism_beside_the_periodic_schedule(
    fast: tuple[Api, Database],
) -> None:
    api, db = fast
    space: Space = new_space(api)
    a = task(api, space)
    b = task(api, space, up=[a])
    c = task(api, space, up=[b])
    # The periodic task starts a few clock minutes from now (the server clock: its CreateTime).
    got = api.data("GetTask", {"ProjectId": space.project, "TaskId": a})
    now = datetime.strptime(got["TaskBaseAttribute"]["CreateTime"], WALL)
    periodic = task(api, space, CycleType="MINUTE_CYCLE", CrontabExpression="0 */1 * * * ? *",
                    StartTime=(now + timedelta(minutes=3)).strftime(WALL), SelfDepend="serial")
    plan = create(api, space, [c, a, b], "2024-01-01", "2024-12-31", DataTimeOrder="ORDER", RedefineParallelNum=2)
    data = wait_plan(api, space, plan, timeout=120)
    assert (data["CompletePercent"], data["SuccessPercent"], data["DataTimeOrder"]) == (100, 100, "ORDER")
    days = [(date(2024, 1, 1) + timedelta(days=i)).strftime("%Y-%m-%d 00:00:00") for i in range(366)]
    for tid in (a, b, c):
        items = members(api, space, plan, tid)
        assert [i["CurRunDate"] for i in items] == days  # every date, exactly once
        assert {i["State"] for i in items} == {"COMPLETED"}
    for tid in (a, b, c):  # THE instances of those days: one each, none duplicated
        listed = api.data("ListTaskInstances", {"ProjectId": space.project, "Keyword": tid, "PageSize": 1,
                                                "ScheduleTimeFrom": "2024-01-01 00:00:00",
                                                "ScheduleTimeTo": "2024-12-31 23:59:59"})
        assert listed["TotalCount"] == 366
    # Order and parallelism, replayed from the transition history.
    started: dict[str, list[datetime]] = {a: [], b: [], c: []}
    completed: dict[tuple[str, datetime], int] = {}
    running = peak = 0
    for seq, task_id, dt, old, new in history(db, plan):
        if new == "RUNNING":
            running += 1
            peak = max(peak, running)
            started[task_id].append(dt)
            if task_id != a:  # the upstream of the same day had completed before
                up = a if task_id == b else b
                assert completed.get((up, dt), seq) < seq, (task_id, dt)
        elif old == "RUNNING":
            running -= 1
        if new == "COMPLETED":
            completed[(task_id, dt)] = seq
    assert 1 <= peak <= 2  # RedefineParallelNum
    for tid in (a, b, c):
        assert [d.strftime("%Y-%m-%d 00:00:00") for d in started[tid]] == days  # ORDER: one by one, ascending
    # The periodic schedule kept running while the plan did: every minute instance that came due
    # ran within two clock minutes (two real seconds) of its time.
    soon = api.data("ListTaskInstances", {
        "ProjectId": space.project, "Keyword": periodic, "PageSize": 100, "SortType": "ASC",
        "ScheduleTimeFrom": now.strftime(WALL), "ScheduleTimeTo": (now + timedelta(minutes=60)).strftime(WALL)})["Items"]
    runs = [i for i in soon if i["StartTime"]]
    assert len(runs) >= 3, soon
    assert any(i["StartTime"] < data["EndTime"] for i in runs)  # ... and some while the plan ran
    for i in runs:
        late = datetime.strptime(i["StartTime"], WALL) - datetime.strptime(i["SchedulerTime"], WALL)
        assert late <= timedelta(minutes=2), i


def test_backfill_keeps_a_slot_for_the_periodic_schedule(fast: tuple[Api, Database]) -> None:
    """With 3 slots, a plan asking for 3 at once gets 2: the third stays free for periodic work."""
    api, db = fast
    space = new_space(api)
    t = task(api, space, "sleep 0.2")
    plan = create(api, space, [t], "2024-01-01", "2024-01-20", RedefineParallelNum=3)
    wait_plan(api, space, plan, timeout=60)
    running = peak = 0
    for _tid, _task, _dt, old, new in history(db, plan):
        running += (new == "RUNNING") - (old == "RUNNING")
        peak = max(peak, running)
    assert peak == SLOTS - 1
    assert [i["CurRunDate"][:10] for i in members(api, space, plan, t)] == [
        f"2024-01-{d:02d}" for d in range(1, 21)]
