"""Which fire times of a TIME_TRIGGER are due now: our Quartz evaluator (scheduling/cycles.py,
the one periodic tasks use) plus the misfire rule. Pure: no database, no clock.

The misfire rule (Quartz's CronTrigger default, MISFIRE_INSTRUCTION_FIRE_ONCE_NOW, with its
default misfireThreshold of 60 s): the fires after the trigger's cursor and up to now are due.
When the earliest of them is late by no more than the threshold, each fires (in order). When it
is later than that — the server was down, the database unreachable — the whole backlog collapses
into **one** run, for the latest due fire time, and the skipped ones are named in the log: a
server that was down for a week starts one run per trigger, not ten thousand. A paused trigger
has no backlog at all: pausing and resuming re-arm it at that moment (firing.py).

Periodic tasks differ on purpose: their instances are planned ahead and each data time is a
unit of data to produce (an outage delays them, a backfill fills gaps); a trigger workflow's
time trigger is only a moment to start a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

from wedata.scheduling.cycles import Schedule, previous_wall_time, schedule_wall_times
from wedata.scheduling.timezones import parse_zone, utc_to_wall, wall_to_utc

MISFIRE_THRESHOLD = timedelta(seconds=60)
MAX_PER_POLL = 100  # on-time fires handled in one look (at most one a minute: a safety valve)


@dataclass(frozen=True, slots=True)
class Due:
    fires: list[datetime]  # UTC instants, ascending
    misfired: int  # fires collapsed into the last one (0: none were late)
    first_late: datetime | None = None  # the earliest collapsed fire (UTC)


def _utc(wall: datetime, zone: str) -> datetime:
    return wall_to_utc(wall, parse_zone(zone)).replace(tzinfo=None)


def _wall(instant: datetime, zone: str) -> datetime:
    return utc_to_wall(instant.replace(tzinfo=UTC), parse_zone(zone))


def due_fires(schedule: Schedule, zone: str, cursor: datetime, now: datetime,
              threshold: timedelta = MISFIRE_THRESHOLD) -> Due:
    """The fires in (cursor, now] (naive UTC) to start runs for, by the misfire rule."""
    if now <= cursor:
        return Due([], 0)
    wall_cursor, wall_now = _wall(cursor, zone), _wall(now, zone)
    ahead = schedule_wall_times(schedule, wall_cursor, wall_now)
    first = next(ahead, None)
    if first is None:
        return Due([], 0)
    first_utc = _utc(first, zone)
    if now - first_utc <= threshold:
        walls = [first, *islice(ahead, MAX_PER_POLL - 1)]
        return Due([_utc(w, zone) for w in walls], 0)
    latest = previous_wall_time(schedule, wall_now + timedelta(microseconds=1)) or first
    skipped = sum(1 for _ in islice(schedule_wall_times(schedule, wall_cursor, latest - timedelta(microseconds=1)),
                                    1_000_000))
    return Due([_utc(latest, zone)], skipped, first_utc)
