"""What several pages read, always through the actions (console/client.py).

- ``all_items``: every page of a list action, up to a bound (a page never loads without end).
- ``workflow_graph``: a workflow's tasks (ListTasks), the edges into each (ListUpstreamTasks,
  one call per task: the API has no call for a workflow's edges), the upstream tasks of other
  workflows as external nodes, and each task's latest instance state (ListTaskInstances of the
  workflow, newest data time first, up to ``STATE_PAGES`` pages: a task none of them shows is
  drawn as "no run"; see ``latest_instances`` for which instance counts).
"""

from __future__ import annotations

from typing import Any

from wedata.console.client import Actions
from wedata.console.dag import Graph, Node

MAX_TASKS = 1000
STATE_PAGES = 5


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


WAITING = frozenset({"WAIT_EVENT", "WAIT_UPSTREAM", "WAIT_RUN"})


def latest_instances(actions: Actions, project_id: str, workflow_id: str, task_ids: set[str]) -> dict[str, Any]:
    """Task id -> its latest *run*: the newest instance (by data time) that has started or ended,
    else the newest waiting one (the planner makes tomorrow's instances ahead of time; colouring
    a node by one of those would hide how the last run went). Read from the newest pages of the
    workflow's instances."""
    ran: dict[str, Any] = {}
    waiting: dict[str, Any] = {}
    for number in range(1, STATE_PAGES + 1):
        data = actions.data("ListTaskInstances", ProjectId=project_id, WorkflowId=workflow_id, PageNumber=number,
                            PageSize=100, SortColumn="SCHEDULE_DATE", SortType="DESC")
        for item in data.items or []:
            (waiting if item.instance_state in WAITING else ran).setdefault(item.task_id, item)
        if number >= (data.total_page_number or 1) or task_ids <= ran.keys():
            break
    return {**waiting, **ran}


def workflow_graph(actions: Actions, project_id: str, workflow_id: str, *, with_states: bool = True) -> Graph:
    tasks, truncated = all_items(actions, "ListTasks", page_size=200, max_items=MAX_TASKS, ProjectId=project_id,
                                 WorkflowId=workflow_id)
    nodes = [Node(t.task_id, t.task_name or t.task_id, str(t.task_type_id)) for t in tasks]
    ids = {n.task_id for n in nodes}
    edges: list[tuple[str, str]] = []
    external: dict[str, Node] = {}
    for node in nodes:
        ups, _ = all_items(actions, "ListUpstreamTasks", page_size=200, max_items=1000, ProjectId=project_id,
                           TaskId=node.task_id)
        for up in ups:
            if up.task_id is None:
                continue
            edges.append((up.task_id, node.task_id))
            if up.task_id not in ids and up.task_id not in external:
                external[up.task_id] = Node(up.task_id, up.task_name or up.task_id, str(up.task_type_id or ""),
                                            external=True, workflow_name=up.workflow_name or "")
    latest = latest_instances(actions, project_id, workflow_id, ids) if with_states else {}
    for node in nodes:
        item = latest.get(node.task_id)
        if item is not None:
            node.state, node.latest_key = item.instance_state, item.instance_key
    graph = Graph(nodes + list(external.values()), edges, truncated)
    if truncated:
        graph.notes.append(f"Only the first {MAX_TASKS} tasks are drawn.")
    return graph
