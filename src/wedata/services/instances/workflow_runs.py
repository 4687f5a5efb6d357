"""A workflow's runs at a glance: what a graph colours its nodes by and what a grid shows.

The API answers these questions only page by page (ListTaskInstances of a workflow, newest data
time first, then one ListUpstreamTasks per task); the console's graph and grid need them for a
whole workflow of hundreds of tasks in one go, so each is one query here:

- ``latest``: each task's latest *run*: its newest instance (by data time) that has started or
  ended, else its newest waiting one (the planner makes tomorrow's instances ahead of time;
  colouring a node by one of those would hide how the last run went). One correlated
  ``ORDER BY data_time DESC LIMIT 1`` per task on the ``(task_id, data_time)`` key, so the cost
  follows the number of tasks, not the length of the history.

The instances are reached through the tasks of the project (``task_id IN (the project's
tasks ...)``), never by ``task_instances.project_id``: with that column in the WHERE clause
SQLite walks the project's whole history on ``ix_task_instances_project_scheduled`` instead of
the ``(task_id, data_time)`` key (80 ms instead of 9 ms for a 300-task grid).
- ``grid``: the newest ``columns`` data times among the workflow's instances and every instance
  at those data times of one page of its tasks, from each task's ``columns`` newest instances,
  in one statement (see ``grid``).
- ``recent``: a task's newest instances.
- ``timeline``: the instances of a workflow's latest run (the newest data time at which one of
  its tasks started), with their scheduled, start and end times: a Gantt chart's bars.
- ``durations``: a task's newest instances with their times: its duration history.
- ``day``: every instance of a project's (or a workflow's) tasks whose data time falls on a
  day, with their times: the Gantt of a day.

Records, not wire Structs: ``Run`` (task, data time as the task's wall time, state), ``GridWindow``. Callers
check membership first (the console calls ListTasks / GetTask through the actions); every
query is also bound to the project, through its tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, func, null, select, type_coerce, union_all

from wedata.clock import Clock
from wedata.config import Settings
from wedata.scheduler.api import states
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances

TI = task_instances
MAX_COLUMNS = 100
MAX_RECENT = 100
MAX_DAY = 2000
EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Run:
    task_id: str
    data_time: datetime  # wall time in the task's zone (the instance key's time)
    state: str


@dataclass(frozen=True, slots=True)
class Timed:
    """An instance with its times (UTC, naive) for a chart: waiting from ``scheduled_at`` to
    ``started_at``, running from ``started_at`` to ``ended_at`` (None: not yet)."""

    task_id: str
    name: str
    data_time: datetime
    state: str
    scheduled_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    cost_ms: int | None


@dataclass(frozen=True, slots=True)
class GridWindow:
    """A grid's cells: ``times`` the window's data times (wall times, oldest first); ``states``
    task id -> the state of its instance at each of them (None: no instance), for the tasks that
    have one in the window. Per task a list, not a record per cell: a page of 100 tasks x 30 data
    times is 3,000 cells, and the page indexes them by column."""

    times: list[datetime]
    states: dict[str, list[str | None]]


def _timed(rows: Any) -> list[Timed]:
    return [Timed(r.task_id, r.name or r.task_id, r.data_time, r.state, r.scheduled_at, r.started_at, r.ended_at,
                  r.cost_ms) for r in rows]


def _as_datetime(value: Any) -> datetime:
    """A data time as the driver answered it: a datetime, or SQLite's stored text."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _runs(rows: Any) -> list[Run]:
    return [Run(r.task_id, r.data_time, r.state) for r in rows]


class WorkflowRunReads:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def latest(self, project_id: str, workflow_id: str) -> dict[str, Run]:
        """Task id -> its latest run, for the tasks of the workflow that have an instance."""
        t = T.tasks

        def newest(*cond: Any) -> Any:
            return (
                select(TI.c.id)
                .where(TI.c.task_id == t.c.id, *cond)
                .order_by(TI.c.data_time.desc())
                .limit(1)
                .correlate(t)
                .scalar_subquery()
            )

        picked = (
            select(func.coalesce(newest(TI.c.state.not_in(sorted(states.WAITING))), newest()))
            .where(t.c.project_id == project_id, t.c.workflow_id == workflow_id)
        )
        with self.db.read() as conn:
            rows = conn.execute(select(TI.c.task_id, TI.c.data_time, TI.c.state).where(TI.c.id.in_(picked))).all()
        return {r.task_id: r for r in _runs(rows)}

    def grid(self, project_id: str, workflow_id: str, columns: int,
             task_ids: Sequence[str] | None = None) -> GridWindow:
        """The window — the newest ``columns`` data times among the instances of the workflow's
        tasks — and the states at those data times of the tasks ``task_ids`` (one page of the
        grid's rows; every task of the workflow when None), in one statement.

        The window is the whole workflow's, whichever tasks are asked, so every page of rows has
        the same columns. A task's ``columns`` newest instances span ``columns`` distinct data
        times, so the window's oldest data time is no older than any task's columns'th newest
        one: the newest of those (one correlated ``LIMIT 1 OFFSET columns - 1`` per task on the
        ``(task_id, data_time)`` key) bounds an index range scan that reads at most tasks x
        columns index entries, however long the history; the distinct data times of that range,
        newest first, ``LIMIT columns``, are the window. The cells are the asked tasks' instances
        from the window's oldest data time on (every data time from there on is in the window),
        at most asked tasks x columns rows. The window's data times come back as rows with no
        task (``UNION ALL``), so the page costs one round trip."""
        columns = max(1, min(MAX_COLUMNS, columns))
        t, older = T.tasks, TI.alias("older")
        tasks = select(t.c.id).where(t.c.project_id == project_id, t.c.workflow_id == workflow_id)
        since = (
            select(older.c.data_time)
            .where(older.c.task_id == t.c.id)
            .order_by(older.c.data_time.desc())
            .limit(1)
            .offset(columns - 1)
            .correlate(t)
            .scalar_subquery()
        )
        bound = select(func.max(since)).where(t.c.project_id == project_id, t.c.workflow_id == workflow_id)
        floor = func.coalesce(bound.scalar_subquery(), EPOCH)
        window = (
            select(TI.c.data_time)
            .where(TI.c.task_id.in_(tasks), TI.c.data_time >= floor)
            .distinct()
            .order_by(TI.c.data_time.desc())
            .limit(columns)
            .cte("grid_window")
        )
        oldest = select(func.min(window.c.data_time)).scalar_subquery()
        asked = [TI.c.task_id.in_(tasks), TI.c.data_time >= oldest]
        if task_ids is not None:
            asked.append(TI.c.task_id.in_(list(task_ids)))
        # The data time is read as the driver gives it (SQLite: text; a UNION's result types are
        # its first SELECT's) and turned into a datetime once per column, not once per cell: a
        # page of 100 tasks x 30 data times is 3,000 rows but 30 data times.
        query = union_all(
            select(null().label("task_id"), type_coerce(window.c.data_time, String).label("data_time"),
                   null().label("state")),
            select(TI.c.task_id, TI.c.data_time, TI.c.state).where(*asked),
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        raw_times = sorted(((r[1], _as_datetime(r[1])) for r in rows if r[0] is None), key=lambda kv: kv[1])
        column = {raw: i for i, (raw, _) in enumerate(raw_times)}
        states: dict[str, list[str | None]] = {}
        blank: list[str | None] = [None] * len(raw_times)
        for task_id, raw, state in rows:
            i = column.get(raw) if task_id is not None else None
            if i is not None:
                row = states.get(task_id)
                if row is None:
                    row = states[task_id] = blank.copy()
                row[i] = state
        return GridWindow([when for _, when in raw_times], states)

    def recent(self, project_id: str, task_id: str, limit: int = 10) -> list[Run]:
        """A task's newest instances (by data time), at most ``limit``."""
        t = T.tasks
        with self.db.read() as conn:
            rows = conn.execute(
                select(TI.c.task_id, TI.c.data_time, TI.c.state)
                .where(TI.c.task_id == select(t.c.id).where(t.c.id == task_id, t.c.project_id == project_id)
                       .scalar_subquery())
                .order_by(TI.c.data_time.desc())
                .limit(max(1, min(MAX_RECENT, limit)))
            ).all()
        return _runs(rows)

    def timeline(self, project_id: str, workflow_id: str) -> list[Timed]:
        """Every instance of the workflow's tasks at the newest data time at which one of them has
        started (one correlated ``LIMIT 1`` per task on the ``(task_id, data_time)`` key picks
        it), in start order; empty when none has started."""
        t = T.tasks
        newest_started = (
            select(TI.c.data_time)
            .where(TI.c.task_id == t.c.id, TI.c.started_at.is_not(None))
            .order_by(TI.c.data_time.desc())
            .limit(1)
            .correlate(t)
            .scalar_subquery()
        )
        when = select(func.max(newest_started)).where(t.c.project_id == project_id, t.c.workflow_id == workflow_id)
        with self.db.read() as conn:
            rows = conn.execute(
                select(TI.c.task_id, t.c.name, TI.c.data_time, TI.c.state, TI.c.scheduled_at, TI.c.started_at,
                       TI.c.ended_at, TI.c.cost_ms)
                .select_from(TI.join(t, t.c.id == TI.c.task_id))
                .where(t.c.project_id == project_id, t.c.workflow_id == workflow_id,
                       TI.c.data_time == when.scalar_subquery())
                .order_by(TI.c.started_at.is_(None), TI.c.started_at, t.c.name)
            ).all()
        return _timed(rows)

    def durations(self, project_id: str, task_id: str, limit: int = 30) -> list[Timed]:
        """A task's newest instances (by data time, newest first) with their times, at most ``limit``."""
        t = T.tasks
        with self.db.read() as conn:
            rows = conn.execute(
                select(TI.c.task_id, t.c.name, TI.c.data_time, TI.c.state, TI.c.scheduled_at, TI.c.started_at,
                       TI.c.ended_at, TI.c.cost_ms)
                .select_from(TI.join(t, t.c.id == TI.c.task_id))
                .where(t.c.id == task_id, t.c.project_id == project_id)
                .order_by(TI.c.data_time.desc())
                .limit(max(1, min(MAX_RECENT, limit)))
            ).all()
        return _timed(rows)

    def day(self, project_id: str, day: date, workflow_id: str | None = None,
            limit: int = MAX_DAY) -> tuple[list[Timed], int]:
        """(the instances of the project's tasks, or of one workflow's, whose data time falls on
        ``day``, in start order, at most ``limit``; how many there are). The day is the data
        time's own date (the task's wall time, as the InstanceKey shows it; never shifted between
        zones). One index range per task on the ``(task_id, data_time)`` key, reached through the
        project's tasks; the count is asked only when the limit cut the list."""
        t = T.tasks
        limit = max(1, min(MAX_DAY, limit))
        lo = datetime.combine(day, time())
        cond = [t.c.project_id == project_id, TI.c.data_time >= lo, TI.c.data_time < lo + timedelta(days=1)]
        if workflow_id:
            cond.append(t.c.workflow_id == workflow_id)
        joined = TI.join(t, t.c.id == TI.c.task_id)
        with self.db.read() as conn:
            rows = conn.execute(
                select(TI.c.task_id, t.c.name, TI.c.data_time, TI.c.state, TI.c.scheduled_at, TI.c.started_at,
                       TI.c.ended_at, TI.c.cost_ms)
                .select_from(joined).where(*cond)
                .order_by(TI.c.started_at.is_(None), TI.c.started_at, TI.c.scheduled_at, t.c.name, TI.c.data_time)
                .limit(limit + 1)
            ).all()
            total = len(rows)
            if total > limit:
                total = int(conn.execute(select(func.count()).select_from(joined).where(*cond)).scalar_one())
        return _timed(rows[:limit]), total
