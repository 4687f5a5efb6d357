"""The whole-workflow reads behind the console's graph and grid, on SQLite and PostgreSQL:
each task's latest run (a run that started or ended beats a newer waiting one), the grid's window
of the newest data times (the same for every page of rows), a task's recent runs, a workflow's tasks and its dependency edges
(including an upstream task of another workflow) — each compared with what the per-task reads answer, and
bound to their project."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from tests.scheduler.helpers import World
from wedata.clock import SystemClock
from wedata.config import Settings
from wedata.services.common import page
from wedata.services.instances.workflow_runs import GridWindow, WorkflowRunReads
from wedata.services.tasks.lineage import TaskDependencyService
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances

DAY0 = datetime(2025, 3, 1)


def put(db: Database, w: World, task_id: str, day: int, state: str, workflow_id: str | None = None) -> None:
    when = DAY0 + timedelta(days=day)
    with db.write() as conn:
        conn.execute(insert(task_instances).values(
            task_id=task_id, data_time=when, project_id=w.project_id, workflow_id=workflow_id or w.workflow_id,
            version_id="v", instance_type=1, state=state, scheduled_at=when, cycle_type="D", task_type_id=35,
            try_limit=1, created_at=when, updated_at=when))


def dev_edge(db: Database, down: str, up: str) -> None:
    with db.write() as conn:
        conn.execute(insert(T.task_dependencies).values(
            side="dev", task_id=down, upstream_task_id=up, main_cyclic_config="DAY",
            subordinate_cyclic_config="CURRENT_DAY", created_at=DAY0))


def test_latest_grid_recent_and_edges(db: Database, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    runs = WorkflowRunReads(db, SystemClock(), settings)
    deps = TaskDependencyService(db, SystemClock(), settings)
    w = World(db, DAY0)
    a, b, c, idle = w.task(), w.task(), w.task(), w.task()
    other = World(db, DAY0)  # another project: its task is an upstream of c
    foreign = other.task()
    # a: ran for days 0..4 (day 3 failed), tomorrow's instance waits -> latest is day 4, COMPLETED.
    for day in range(5):
        put(db, w, a, day, "EXPIRED" if day == 3 else "COMPLETED")
    put(db, w, a, 5, "WAIT_UPSTREAM")
    # b: only waiting instances -> latest is the newest waiting one.
    put(db, w, b, 3, "WAIT_RUN")
    put(db, w, b, 4, "WAIT_UPSTREAM")
    # c: days 1 and 4, the newer one running.
    put(db, w, c, 1, "COMPLETED")
    put(db, w, c, 4, "RUNNING")
    put(db, other, foreign, 9, "COMPLETED")  # newer, but of another project's workflow
    dev_edge(db, b, a)
    dev_edge(db, c, a)
    dev_edge(db, c, b)
    dev_edge(db, c, foreign)

    latest = runs.latest(w.project_id, w.workflow_id)
    assert {t: (r.data_time.day, r.state) for t, r in latest.items()} == {
        a: (DAY0.day + 4, "COMPLETED"),
        b: (DAY0.day + 4, "WAIT_UPSTREAM"),
        c: (DAY0.day + 4, "RUNNING"),
    }
    assert idle not in latest
    assert runs.latest(other.project_id, w.workflow_id) == {}  # the workflow is not the other project's

    window = runs.grid(w.project_id, w.workflow_id, 3)
    dates = [DAY0 + timedelta(days=d) for d in (3, 4, 5)]
    assert window.times == dates  # the newest 3, oldest first
    assert window.states == {
        a: ["EXPIRED", "COMPLETED", "WAIT_UPSTREAM"],
        b: ["WAIT_RUN", "WAIT_UPSTREAM", None],
        c: [None, "RUNNING", None],
    }
    # One page of rows: the same window (the whole workflow's), the cells of the asked tasks only,
    # never of a task outside the workflow even when asked for.
    assert runs.grid(w.project_id, w.workflow_id, 3, [c]) == GridWindow(dates, {c: [None, "RUNNING", None]})
    assert runs.grid(w.project_id, w.workflow_id, 3, [idle]) == GridWindow(dates, {})
    assert runs.grid(w.project_id, w.workflow_id, 3, [foreign]) == GridWindow(dates, {})
    wide = runs.grid(w.project_id, w.workflow_id, 60)
    assert len(wide.times) == 6  # every data time of the workflow's tasks' instances
    assert sum(s is not None for row in wide.states.values() for s in row) == 10  # every instance
    assert runs.grid(w.project_id, str(uuid.uuid4()), 14) == GridWindow([], {})

    assert [(r.data_time - DAY0).days for r in runs.recent(w.project_id, a, 3)] == [5, 4, 3]
    assert runs.recent(other.project_id, a) == []  # bound to the task's project

    edges = deps.workflow_edges(w.project_id, w.workflow_id)
    assert sorted((e.upstream_task_id, e.task_id) for e in edges) == sorted([(a, b), (a, c), (b, c), (foreign, c)])
    outside = next(e for e in edges if e.upstream_task_id == foreign)
    assert outside.upstream_workflow_id == other.workflow_id and outside.upstream_name == "t" + foreign
    # The same edges as ListUpstreamTasks answers task by task.
    for task in (a, b, c):
        views, _ = deps.list_upstream(w.project_id, task, page(1, 100))
        assert sorted(v.task_id for v in views) == sorted(e.upstream_task_id for e in edges if e.task_id == task)
    assert deps.workflow_edges(other.project_id, w.workflow_id) == []
    # The same edges as bare id pairs (what the grid orders its rows by).
    assert sorted(deps.workflow_links(w.project_id, w.workflow_id)) == sorted(
        (e.upstream_task_id, e.task_id) for e in edges)
    assert deps.workflow_links(other.project_id, w.workflow_id) == []

    named = deps.workflow_tasks(w.project_id, w.workflow_id, 10)
    assert sorted(r.id for r in named) == sorted([a, b, c, idle]) and all(r.name == "t" + r.id for r in named)
    assert len(deps.workflow_tasks(w.project_id, w.workflow_id, 2)) == 2
    assert deps.workflow_tasks(other.project_id, w.workflow_id, 10) == []


def test_timeline_of_the_latest_run_and_a_task_durations(db: Database, tmp_path: Path) -> None:
    runs = WorkflowRunReads(db, SystemClock(), Settings(home=tmp_path))
    w = World(db, DAY0)
    a, b, c = w.task(), w.task(), w.task()
    other = World(db, DAY0)

    def ran(task_id: str, day: int, state: str, start: int | None, end: int | None, world: World = w) -> None:
        put(db, world, task_id, day, state)
        at = DAY0 + timedelta(days=day)
        with db.write() as conn:
            conn.execute(task_instances.update().where(task_instances.c.task_id == task_id,
                                                       task_instances.c.data_time == at).values(
                started_at=None if start is None else at + timedelta(seconds=start),
                ended_at=None if end is None else at + timedelta(seconds=end),
                cost_ms=None if start is None or end is None else (end - start) * 1000))

    ran(a, 1, "COMPLETED", 5, 65)
    ran(a, 2, "COMPLETED", 10, 20)
    ran(b, 2, "RUNNING", 20, None)
    ran(c, 2, "WAIT_UPSTREAM", None, None)
    ran(a, 3, "WAIT_UPSTREAM", None, None)  # tomorrow's, not started: not the latest run
    ran(other.task(), 9, "COMPLETED", 1, 2, other)  # another project's, newer

    timeline = runs.timeline(w.project_id, w.workflow_id)
    assert [(t.task_id, t.state, t.data_time, t.started_at) for t in timeline] == [
        (a, "COMPLETED", DAY0 + timedelta(days=2), DAY0 + timedelta(days=2, seconds=10)),
        (b, "RUNNING", DAY0 + timedelta(days=2), DAY0 + timedelta(days=2, seconds=20)),
        (c, "WAIT_UPSTREAM", DAY0 + timedelta(days=2), None),  # started ones first, then the waiting
    ]
    assert timeline[0].name == "t" + a and timeline[0].cost_ms == 10_000 and timeline[1].ended_at is None
    assert runs.timeline(other.project_id, w.workflow_id) == []
    assert runs.timeline(w.project_id, str(uuid.uuid4())) == []

    durations = runs.durations(w.project_id, a, 2)
    assert [((d.data_time - DAY0).days, d.cost_ms) for d in durations] == [(3, None), (2, 10_000)]
    assert len(runs.durations(w.project_id, a)) == 3
    assert runs.durations(other.project_id, a) == []  # bound to the task's project
