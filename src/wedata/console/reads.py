"""What several pages read: through the actions (console/client.py), and, after an action has
checked membership, the few whole-workflow reads no action answers in one call.

- ``all_items``: every page of a list action, up to a bound (a page never loads without end).
- ``workflow_graph``: after the page's GetWorkflow (the action checks the caller's membership),
  a workflow's tasks, the edges into them and each task's latest run, one query each, asked of
  the services the console was given (``Console.edges``, ``Console.runs``): the API answers
  those only task by task (ListUpstreamTasks), page by page (ListTaskInstances) or with every
  task's whole definition (ListTasks), which cost 300 calls and over a second for a 300-task
  workflow. Upstream tasks of other workflows become external nodes; which
  instance counts as a task's latest run: ``services.instances.workflow_runs``.
- ``Cell``: an instance as a node or a recent-runs line shows it (the grid builds its cells
  itself: pages/grid.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from wedata.console.client import Actions
from wedata.console.dag import Graph, Node
from wedata.console.frame import View
from wedata.console.render import state_class, state_words
from wedata.scheduling.datatimes import instance_key
from wedata.scheduling.walltime import format_wall

MAX_TASKS = 1000


def all_items(actions: Actions, action: str, *, page_size: int, max_items: int, **params: Any) -> tuple[list[Any], bool]:
    """The items of every page (at most ``max_items``) and whether more were left."""
    items: list[Any] = []
    number = 1
    while True:
        data = actions.data(action, PageNumber=number, PageSize=page_size, **params)
        items.extend(data.items or [])
        total_pages = data.total_page_number or 1
        if number >= total_pages:
            return items, False
        if len(items) >= max_items:
            return items[:max_items], True
        number += 1


@dataclass(frozen=True, slots=True)
class Cell:
    """An instance as a node, a grid cell or a recent-runs line shows it (the names the API's
    TaskInstance uses, so the templates read either)."""

    task_id: str
    instance_state: str
    instance_key: str
    cur_run_date: str
    css: str  # render.state_class
    words: str  # render.state_words
    link: str  # "?key=<the instance key, URL-encoded>"


def cell(run: Any) -> Cell:
    """A ``services.instances.workflow_runs.Run`` as a Cell."""
    key = instance_key(run.task_id, run.data_time)
    return Cell(run.task_id, run.state, key, format_wall(run.data_time), state_class(run.state),
                state_words(run.state), "?key=" + quote_plus(key))


def workflow_graph(v: View, project_id: str, workflow_id: str, *, with_states: bool = True) -> Graph:
    """The caller has called GetWorkflow first (the action checks membership)."""
    rows = v.console.edges.workflow_tasks(project_id, workflow_id, MAX_TASKS + 1)
    truncated = len(rows) > MAX_TASKS
    nodes = [Node(r.id, r.name or r.id, str(r.task_type_id)) for r in rows[:MAX_TASKS]]
    ids = {n.task_id for n in nodes}
    edges: list[tuple[str, str]] = []
    external: dict[str, Node] = {}
    for edge in v.console.edges.workflow_edges(project_id, workflow_id):
        if edge.task_id not in ids:
            continue  # a task past MAX_TASKS
        edges.append((edge.upstream_task_id, edge.task_id))
        if edge.upstream_task_id not in ids and edge.upstream_task_id not in external:
            external[edge.upstream_task_id] = Node(edge.upstream_task_id, edge.upstream_name or edge.upstream_task_id,
                                                   str(edge.upstream_type_id), external=True,
                                                   workflow_name=edge.upstream_workflow_name or "")
    if with_states:
        latest = v.console.runs.latest(project_id, workflow_id)
        for node in nodes:
            run = latest.get(node.task_id)
            if run is not None:
                c = cell(run)
                node.state, node.latest_key = c.instance_state, c.instance_key
    graph = Graph(nodes + list(external.values()), edges, truncated)
    if truncated:
        graph.notes.append(f"Only the first {MAX_TASKS} tasks are drawn.")
    return graph
