"""A workflow's graph for the pages: its tasks, the edges between them, and the order of rows.

Pure functions over plain values (no I/O): ``reads.py`` loads the tasks and edges through the
actions, the templates draw them, the browser lays them out (vendored dagre, left to right).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass
class Node:
    task_id: str
    name: str
    task_type_id: str = ""
    state: str | None = None  # the latest instance's state, None without any instance
    latest_key: str | None = None
    external: bool = False  # an upstream task of another workflow (a cross-workflow dependency)
    workflow_name: str = ""


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[tuple[str, str]]  # (upstream task id, downstream task id)
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    def node(self, task_id: str) -> Node | None:
        return next((n for n in self.nodes if n.task_id == task_id), None)


def topological_order(ids: Sequence[str], edges: Iterable[tuple[str, str]], names: dict[str, str]) -> list[str]:
    """Upstream before downstream (Kahn), ties by name then id; the members of a cycle (which a
    valid workflow has not) follow in name order, so every id appears once."""
    known = set(ids)
    indegree = dict.fromkeys(ids, 0)
    children: dict[str, list[str]] = defaultdict(list)
    for up, down in edges:
        if up in known and down in known and up != down:
            children[up].append(down)
            indegree[down] += 1
    ready = [(names.get(i, ""), i) for i in ids if indegree[i] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, current = heapq.heappop(ready)
        order.append(current)
        for child in children[current]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, (names.get(child, ""), child))
    if len(order) < len(ids):
        placed = set(order)
        order.extend(sorted((i for i in ids if i not in placed), key=lambda i: (names.get(i, ""), i)))
    return order
