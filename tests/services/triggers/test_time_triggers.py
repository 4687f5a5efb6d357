"""The due fires of a time trigger and the misfire rule (services/triggers/time_triggers.py),
against fire times listed by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from wedata.scheduling.cycles import Schedule
from wedata.services.triggers.time_triggers import due_fires

MINUTELY = Schedule(cycle_type="CRONTAB_CYCLE", crontab_expression="0 * * * * ? *", zone="Asia/Shanghai",
                    start_time=None, end_time=None)
CURSOR = datetime(2025, 3, 1, 14, 58, 10)  # UTC


def at(minutes: float) -> datetime:
    return CURSOR + timedelta(minutes=minutes)


def test_nothing_is_due_before_the_next_fire_or_when_the_cursor_is_ahead() -> None:
    assert due_fires(MINUTELY, "Asia/Shanghai", CURSOR, at(0.5)).fires == []
    assert due_fires(MINUTELY, "Asia/Shanghai", CURSOR, CURSOR - timedelta(hours=1)).fires == []


def test_fires_late_by_less_than_the_threshold_each_fire_in_order() -> None:
    due = due_fires(MINUTELY, "Asia/Shanghai", CURSOR, at(0.9))
    assert due.fires == [datetime(2025, 3, 1, 14, 59)] and due.misfired == 0
    # A look every 30 s of a scaled clock with a 90 s threshold: two fires, both on time.
    due = due_fires(MINUTELY, "Asia/Shanghai", CURSOR, at(2.2), threshold=timedelta(seconds=90))
    assert due.fires == [datetime(2025, 3, 1, 14, 59), datetime(2025, 3, 1, 15, 0)] and due.misfired == 0


def test_a_backlog_collapses_into_one_fire_for_the_latest() -> None:
    due = due_fires(MINUTELY, "Asia/Shanghai", CURSOR, at(300))
    assert due.fires == [datetime(2025, 3, 1, 19, 58)]
    assert due.misfired == 299 and due.first_late == datetime(2025, 3, 1, 14, 59)


def test_the_zone_and_the_bounds_of_the_schedule_apply() -> None:
    # 08:30 on weekdays in Shanghai, until 2025-03-04 08:30 (inclusive): 00:30 UTC.
    s = Schedule(cycle_type="CRONTAB_CYCLE", crontab_expression="0 30 8 ? * MON-FRI *", zone="Asia/Shanghai",
                 start_time=None, end_time=datetime(2025, 3, 4, 8, 30))
    # From Saturday 2025-03-01: Monday 03-03 and Tuesday 03-04 are due by Wednesday, as a backlog.
    due = due_fires(s, "Asia/Shanghai", datetime(2025, 3, 1), datetime(2025, 3, 5, 12))
    assert due.fires == [datetime(2025, 3, 4, 0, 30)] and due.misfired == 1
    # On time, one by one; nothing after EndTime.
    due = due_fires(s, "Asia/Shanghai", datetime(2025, 3, 3, 0, 29, 50), datetime(2025, 3, 3, 0, 30, 20))
    assert due.fires == [datetime(2025, 3, 3, 0, 30)]
    assert due_fires(s, "Asia/Shanghai", datetime(2025, 3, 4, 0, 31), datetime(2025, 3, 9)).fires == []
