"""Monitoring tasks on their own cycle (MonitorType 3, "offline periodic check").

The group's strategy gives the cycle as WeData does (``CycleType`` I/H/D/W/M, ``CycleStep``,
``DelayTime`` in minutes for day/week/month cycles, ``TaskAction`` the week days or month days,
``StartTime``/``EndTime``, ``ScheduleTimeZone``). It becomes a :class:`Schedule` of the
scheduler's own calendar code (``scheduling/``: the Quartz evaluator, zones, DST, data times),
exactly as a task's schedule would:

- I: every 10/20/30 minutes (``0 */N * * * ? *``); H: every 1/2/3/4/6/8/12 hours from 00:00;
  D: daily at 00:00 + DelayTime; W: on the listed week days (1 Sunday .. 7 Saturday, WeData's
  numbering) at 00:00 + DelayTime; M: on the listed month days at 00:00 + DelayTime.
- The **data time** of a fire is its cycle's start, as a T+0 task's (scheduling/datatimes.py):
  the fire time for minute cycles, HH:00 for hour cycles, 00:00 of the fire's day for day, week
  and month cycles (a day check at 02:00 checks the data time of that day; write
  ``${yyyy-MM-dd-1d}`` in a condition for yesterday's rows).

Why a worker and not a hidden engine task: a check is read-only work on a source with no
dependencies and no downstream; a hidden task would have to be kept out of every task, instance,
ops and permission list and would occupy executor slots and the task id space. The quality
worker of every server process (checks.py) already runs groups; it claims due schedules from
``quality_schedules`` by moving each to its following fire in a compare-and-set UPDATE (one
process wins a fire, as the planner's claims do), then runs the group like an attached check and
stores the execution with ``TriggerType`` 3. Fires missed while no server ran are not replayed:
the latest missed fire runs once (Quartz's "fire once now" misfire rule) and the log says how many
were skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from wedata.scheduling.cycles import (
    CycleType,
    Schedule,
    next_wall_time,
    previous_wall_time,
    schedule_wall_times,
)
from wedata.scheduling.datatimes import schedule_data_time
from wedata.scheduling.timezones import parse_zone, utc_to_wall, wall_to_utc
from wedata.scheduling.walltime import parse_wall
from wedata.services.errors import InvalidValue
from wedata.storage.db import Database
from wedata.storage.quality_tables import quality_rule_groups, quality_schedules

log = logging.getLogger("wedata.quality")
S, QG = quality_schedules, quality_rule_groups
CYCLES = {"I": "MINUTE_CYCLE", "H": "HOUR_CYCLE", "D": "DAY_CYCLE", "W": "WEEK_CYCLE", "M": "MONTH_CYCLE"}
STEPS = {"I": (10, 20, 30), "H": (1, 2, 3, 4, 6, 8, 12), "D": (1,), "W": (1,), "M": (1,)}
WEEK = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # TaskAction 1..7
DEFAULT_ZONE = "UTC+8"
BATCH = 20


def _time(value: str | None, field: str, end: bool) -> datetime:
    text = (value or "").strip()
    if not text:
        raise InvalidValue(f"{field} is required for MonitorType 3 (yyyy-MM-dd HH:mm:ss or yyyy-MM-dd)")
    try:
        if len(text) == 10:
            day = parse_wall(f"{text} 00:00:00")
            return day + timedelta(days=1, seconds=-1) if end else day
        return parse_wall(text)
    except ValueError:
        raise InvalidValue(f"{field} must be yyyy-MM-dd HH:mm:ss or yyyy-MM-dd, got {text[:30]!r}") from None


def _actions(value: str | None, field: str, lo: int, hi: int, what: str) -> list[int]:
    parts = [p.strip() for p in (value or "").split(",") if p.strip()]
    if not parts:
        raise InvalidValue(f"{field} must list the {what} to run on ({lo}..{hi}, comma separated)")
    out = []
    for p in parts:
        if not p.isdigit() or not lo <= int(p) <= hi:
            raise InvalidValue(f"{field}: {p[:10]!r} is not a {what[:-1]} ({lo}..{hi})")
        out.append(int(p))
    return sorted(set(out))


def schedule_of(s: Mapping[str, Any], p: str = "") -> Schedule:
    """The Schedule of a strategy (the wire dict); InvalidValue naming the field when it is not one."""
    cycle = (s.get("CycleType") or "").strip().upper()
    if cycle not in CYCLES:
        raise InvalidValue(f"{p}CycleType must be I (minutes), H (hours), D (days), W (weeks) or M (months) for "
                           f"MonitorType 3, got {str(s.get('CycleType'))[:10]!r}")
    step = s.get("CycleStep")
    if step is None:
        raise InvalidValue(f"{p}CycleStep is required for MonitorType 3 ({cycle}: one of {STEPS[cycle]})")
    if step not in STEPS[cycle]:
        raise InvalidValue(f"{p}CycleStep for CycleType {cycle} must be one of {STEPS[cycle]}, got {step}")
    delay = s.get("DelayTime")
    if delay is None:
        raise InvalidValue(f"{p}DelayTime is required for MonitorType 3 (minutes; 0 for minute and hour cycles)")
    if cycle in "IH" and delay != 0:
        raise InvalidValue(f"{p}DelayTime must be 0 for CycleType {cycle}, got {delay}")
    if not 0 <= delay < 1440:
        raise InvalidValue(f"{p}DelayTime must be 0..1439 minutes, got {delay}")
    h, m = divmod(delay, 60)  # the day's fire: 00:00 + DelayTime
    if cycle == "I":
        cron = f"0 */{step} * * * ? *"
    elif cycle == "H":
        cron = "0 0 * * * ? *" if step == 1 else f"0 0 */{step} * * ? *"
    elif cycle == "D":
        cron = f"0 {m} {h} * * ? *"
    elif cycle == "W":
        days = _actions(s.get("TaskAction"), f"{p}TaskAction", 1, 7, "week days")
        cron = f"0 {m} {h} ? * {','.join(WEEK[d - 1] for d in days)} *"
    else:
        days = _actions(s.get("TaskAction"), f"{p}TaskAction", 1, 31, "month days")
        cron = f"0 {m} {h} {','.join(map(str, days))} * ? *"
    start = _time(s.get("StartTime"), f"{p}StartTime", end=False)
    end = _time(s.get("EndTime"), f"{p}EndTime", end=True)
    if end < start:
        raise InvalidValue(f"{p}EndTime is before StartTime")
    zone = s.get("ScheduleTimeZone") or DEFAULT_ZONE
    try:
        parse_zone(zone)
    except Exception:  # ValueError, ZoneInfoNotFoundError
        raise InvalidValue(f"{p}ScheduleTimeZone: unknown zone {zone[:20]!r}") from None
    return Schedule(cycle_type=CycleType(CYCLES[cycle]), crontab_expression=cron, zone=zone, start_time=start, end_time=end)


def _wall_now(schedule: Schedule, now: datetime) -> datetime:
    return utc_to_wall(now.replace(tzinfo=UTC), parse_zone(schedule.zone))


def _utc(schedule: Schedule, wall: datetime) -> datetime:
    return wall_to_utc(wall, parse_zone(schedule.zone)).replace(tzinfo=None)


def first_fire(schedule: Schedule, now: datetime, p: str = "") -> datetime:
    """The first fire after ``now`` (UTC); InvalidValue when the cycle has ended already."""
    fire = next_wall_time(schedule, _wall_now(schedule, now))
    if fire is None:
        raise InvalidValue(f"{p}EndTime: the cycle has no run left (it ends {schedule.end_time:%Y-%m-%d %H:%M:%S})")
    return fire


def write_schedule(conn: Connection, group_id: int, schedule: Schedule | None, now: datetime) -> None:
    """Plan the next fire of a group (None: the group has no own cycle any more)."""
    conn.execute(delete(S).where(S.c.group_id == group_id))
    if schedule is not None:
        fire = first_fire(schedule, now)
        conn.execute(insert(S).values(group_id=group_id, fire_wall=fire, due_at=_utc(schedule, fire), updated_at=now))


class CycleRunner:
    """Claims due fires and runs their groups (the quality worker calls :meth:`run_due`)."""

    def __init__(self, db: Database, clock: Any, run: Any) -> None:
        self.db = db
        self.clock = clock
        self.run = run  # (group_id, data_time) -> None: runs the group, stores it, raises alarms

    def claim(self, now: datetime) -> list[tuple[int, datetime]]:
        """Move each due schedule to its following fire; the (group, data time) pairs won."""
        with self.db.read() as conn:
            due = conn.execute(select(S.c.group_id, S.c.fire_wall, QG.c.strategy).join(QG, QG.c.id == S.c.group_id)
                               .where(S.c.due_at <= now).order_by(S.c.due_at).limit(BATCH)).all()
        won = []
        for group_id, fire, strategy in due:
            mine = (S.c.group_id == group_id) & (S.c.fire_wall == fire)
            try:
                schedule = schedule_of(strategy or {})
            except InvalidValue as exc:  # validated when written; only a hand-edited row gets here
                log.error("monitoring task %s: its cycle is not valid: %s; it stops", group_id, exc)
                with self.db.write() as conn:
                    conn.execute(delete(S).where(mine))
                continue
            wall_now = _wall_now(schedule, now)
            latest = previous_wall_time(schedule, wall_now + timedelta(microseconds=1))
            run_at = latest if latest is not None and latest > fire else fire
            following = next_wall_time(schedule, max(run_at, wall_now))
            with self.db.write() as conn:
                if following is None:  # EndTime reached: this is the last run
                    taken = conn.execute(delete(S).where(mine)).rowcount
                else:
                    taken = conn.execute(update(S).where(mine).values(
                        fire_wall=following, due_at=_utc(schedule, following), updated_at=now)).rowcount
            if not taken:
                continue  # another process claimed this fire
            if run_at != fire:
                skipped = sum(1 for _ in schedule_wall_times(schedule, fire - timedelta(microseconds=1), run_at)) - 1
                log.warning("monitoring task %s: %d missed run(s) of its cycle skipped; running the one of %s",
                            group_id, skipped, run_at)
            won.append((group_id, schedule_data_time(schedule, run_at)))
        return won

    def run_due(self) -> int:
        won = self.claim(self.clock.now())
        for group_id, data_time in won:
            try:
                self.run(group_id, data_time)
            except Exception:  # one bad group must not stop the worker
                log.exception("the cycle run of monitoring task %s (data time %s) failed", group_id, data_time)
        return len(won)
