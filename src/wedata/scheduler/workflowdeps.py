"""Workflow self-dependency (``DependencyWorkflow`` = yes in the workflow's scheduler settings,
spec §3.4): every instance of cycle t also waits for the instances of cycle t−1 of every task of
its workflow. WeData states it only works when the tasks share a cycle, so "cycle t−1" is the
previous data time of the instance's own schedule.

Edges are added in both directions, because the tasks of a workflow are planned one after
another: a new instance links to the previous cycle's instances that already exist
(:func:`previous_cycle_edges`), and a new instance of cycle t−1 links the existing not-yet-started
instances of cycle t to itself (:func:`link_next_cycle`). Instances of the first planning window
have no previous cycle to wait for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select

from wedata.scheduler import states as instance_states
from wedata.scheduler.definitions import TaskDef
from wedata.scheduling.datatimes import next_data_time, previous_data_time
from wedata.storage.bulk import in_values
from wedata.storage.engine_tables import instance_deps, task_instances
from wedata.storage.tables import workflows

TI = task_instances
D = instance_deps
SATISFYING = (instance_states.COMPLETED, instance_states.SKIP_RUNNING)


def dependent_workflows(conn: Connection, workflow_ids: Iterable[str]) -> set[str]:
    """The workflows whose settings say DependencyWorkflow = yes."""
    ids = list(set(workflow_ids))
    out: set[str] = set()
    for i in range(0, len(ids), 500):
        for wid, conf in conn.execute(
            select(workflows.c.id, workflows.c.scheduler_config).where(in_values(conn, workflows.c.id, ids[i : i + 500]))
        ):
            if str((conf or {}).get("DependencyWorkflow") or "no").lower() == "yes":
                out.add(wid)
    return out


def _edge(task_id: str, own: str, when: datetime, met: bool) -> dict[str, Any]:
    return {"upstream_task_id": task_id, "upstream_data_time": when, "kind": "self" if task_id == own else "task",
            "met": met, "on_missing": False, "on_failed": False, "timeout_minutes": None}


def previous_cycle_edges(conn: Connection, workflow_id: str, tdef: TaskDef,
                         data_times: Sequence[datetime]) -> list[list[dict[str, Any]]]:
    """For each data time, edges on the existing instances of the previous cycle in the workflow."""
    prevs = [previous_data_time(tdef.schedule, dt) for dt in data_times]
    wanted = sorted({p for p in prevs if p is not None})
    found: dict[datetime, list[tuple[str, str]]] = defaultdict(list)
    for i in range(0, len(wanted), 500):
        for task_id, dt, state in conn.execute(
            select(TI.c.task_id, TI.c.data_time, TI.c.state).where(
                TI.c.workflow_id == workflow_id, TI.c.data_time.in_(wanted[i : i + 500])
            )
        ):
            found[dt].append((task_id, state))
    return [
        [_edge(t, tdef.task_id, p, st in SATISFYING) for t, st in found.get(p, [])] if p is not None else []
        for p in prevs
    ]


def link_next_cycle(conn: Connection, workflow_id: str, tdef: TaskDef, created: Sequence[tuple[int, datetime]]) -> set[int]:
    """Make the not-yet-started instances of the next cycle wait for these new instances.
    Returns the instances that got an edge (to be re-evaluated)."""
    nexts: dict[datetime, datetime] = {}
    for _, dt in created:
        nxt = next_data_time(tdef.schedule, dt)
        if nxt is not None:
            nexts[nxt] = dt
    if not nexts:
        return set()
    rows: list[dict[str, Any]] = []
    keys = sorted(nexts)
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        for iid, dt in conn.execute(
            select(TI.c.id, TI.c.data_time).where(
                and_(TI.c.workflow_id == workflow_id, TI.c.data_time.in_(chunk), TI.c.state.in_(instance_states.PENDING),
                     TI.c.tries == 0)
            )
        ):
            rows.append({**_edge(tdef.task_id, "", nexts[dt], False), "instance_id": iid})
    # (an instance of the task itself gets a plain "task" edge: it is not an orderly self-edge)
    if not rows:
        return set()
    have = {
        (r[0], r[1], r[2])
        for r in conn.execute(
            select(D.c.instance_id, D.c.upstream_task_id, D.c.upstream_data_time).where(
                D.c.instance_id.in_([r["instance_id"] for r in rows]), D.c.upstream_task_id == tdef.task_id
            )
        )
    }
    fresh = [r for r in rows if (r["instance_id"], r["upstream_task_id"], r["upstream_data_time"]) not in have]
    if fresh:
        conn.execute(insert(D), fresh)
    return {r["instance_id"] for r in fresh}
