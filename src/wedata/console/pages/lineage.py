"""The lineage graph of a table (or of a SQL task), drawn as the DAG page draws a workflow.

- ``/p/{project}/lineage?table=<GUID>&depth=N``: GetTable, then ListLineage upstream (INPUT)
  and downstream (OUTPUT) of the table, one page of ``MAX_EDGES`` each. The graph is the table,
  its upstream resources on the left and its downstream ones on the right, each edge with the
  processes that made it (a SQL task, a script, a registered edge). ``depth`` (1 to
  ``MAX_DEPTH``) keeps the resources at most that many hops away: the action walks the server's
  ``WEDATA_LINEAGE_DEPTH`` hops (default 5) and has no depth field, so the page counts the hops
  itself over the edges answered.
- ``/p/{project}/lineage?task=<TaskId>``: ListProcessLineage of the SQL task
  (``SCHEDULE_TASK``): the tables it read and wrote.

The nodes are SVG text rendered here (``_lineage_graph.html``; the browser's find, a screen
reader and a test reach every name); static/console.js lays them out left to right with dagre,
as for a workflow. A node of a WeData table links to that table's lineage.

The lineage actions have no ProjectId: the page calls ListDataSources of the project first
(``View.require_member``), so a non-member is refused (403) as on every project page; which
resources show is then the actions' rule (a table of a source the caller may not see is left
out of the items; an edge that passes through it draws it as a grey "not visible" node).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from wedata.console.client import ActionFailed
from wedata.console.frame import Pages, View

pages = Pages()

MAX_EDGES = 500
MAX_DEPTH = 5
DEFAULT_DEPTH = 3
WEDATA = "WEDATA"


@dataclass
class LineageNode:
    node_id: str
    name: str
    sub: str  # the second line: the source type, or the platform and type of a THIRD resource
    side: str  # "root", "up", "down", "hidden"
    href: str = ""
    title: str = ""
    depth: int | None = None  # hops from the root; None behind a resource the caller may not see


@dataclass
class LineageEdge:
    source: str
    target: str
    processes: list[Any] = field(default_factory=list)


@dataclass
class LineageGraph:
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    notes: list[str] = field(default_factory=list)

    def name(self, node_id: str) -> str:
        return next((n.name for n in self.nodes if n.node_id == node_id), node_id)


def _props(resource: Any) -> dict[str, str]:
    return {str(p.name): str(p.value) for p in (resource.resource_properties or []) if p.name}


def _node(v: View, project_id: str, resource: Any, side: str) -> LineageNode:
    uid = resource.resource_unique_id or ""
    platform, kind = resource.platform or "", resource.resource_type or ""
    props = _props(resource)
    href = ""
    if platform == WEDATA and kind == "TABLE":
        href = v.url(f"/p/{project_id}/lineage?table={uid}")
    sub = resource.description or kind if platform == WEDATA else f"{platform} {kind}".strip()
    title = " · ".join(x for x in (resource.resource_name or uid, sub, props.get("TableType", "")) if x)
    return LineageNode(resource.lineage_node_id or uid, resource.resource_name or uid, sub, side, href, title)


def hops(root: str, edges: list[tuple[str, str]]) -> dict[str, int]:
    """The hops from ``root`` to each node along ``edges`` (followed from their first end)."""
    out: dict[str, list[str]] = {}
    for a, b in edges:
        out.setdefault(a, []).append(b)
    dist = {root: 0}
    todo = deque([root])
    while todo:
        at = todo.popleft()
        for nxt in out.get(at, []):
            if nxt not in dist:
                dist[nxt] = dist[at] + 1
                todo.append(nxt)
    return dist


def table_graph(v: View, project_id: str, guid: str, table: Any, depth: int) -> LineageGraph:
    """The graph of the table ``guid`` within ``depth`` hops, from one ListLineage page each way."""
    a = v.actions
    nodes: dict[str, LineageNode] = {}
    edges: dict[tuple[str, str], LineageEdge] = {}
    notes: list[str] = []
    root_id: str | None = None
    sides = {"INPUT": "up", "OUTPUT": "down"}
    answered: dict[str, list[Any]] = {}
    for direction in sides:
        data = a.data("ListLineage", ResourceUniqueId=guid, ResourceType="TABLE", Direction=direction,
                      PageNumber=1, PageSize=MAX_EDGES, Platform=WEDATA)
        items = list(data.items or [])
        answered[direction] = items
        if (data.total_count or 0) > len(items):
            notes.append(f"Only the nearest {len(items)} of {data.total_count} {sides[direction]}stream edges are drawn.")
        if items and root_id is None and items[0].relation is not None:
            # Items come nearest first: the first edge's near end is the table itself.
            rel = items[0].relation
            root_id = rel.source_unique_id if direction == "OUTPUT" else rel.target_unique_id
    root_id = root_id or f"root:{guid}"
    name = ".".join(x for x in (table.database_name, table.schema_name, table.name) if x)
    nodes[root_id] = LineageNode(root_id, name, table.datasource_type or "TABLE", "root",
                                 v.url(f"/p/{project_id}/catalog/tables/{guid}"), name, 0)
    for direction, items in answered.items():
        side = sides[direction]
        pairs: list[tuple[str, str]] = []
        for item in items:
            if item.resource is None or item.relation is None:
                continue
            node = _node(v, project_id, item.resource, side)
            nodes.setdefault(node.node_id, node)
            rel = item.relation
            source, target = rel.source_unique_id or "", rel.target_unique_id or ""
            edge = edges.setdefault((source, target), LineageEdge(source, target))
            edge.processes = list(rel.processes or [])
            pairs.append((source, target) if direction == "OUTPUT" else (target, source))
        dist = hops(root_id, pairs)
        for near, far in pairs:
            for end in (near, far):
                if end not in nodes:  # an end the caller may not see: the walk passes through it
                    nodes[end] = LineageNode(end, "not visible", "a table you may not see", "hidden")
            if nodes[far].depth is None and far in dist:
                nodes[far].depth = dist[far]
    keep = {n.node_id for n in nodes.values() if n.depth is not None and n.depth <= depth}
    if depth >= MAX_DEPTH:  # everything the action answered, behind hidden nodes too
        keep = set(nodes)
    dropped = len(nodes) - len(keep)
    if dropped:
        notes.append(f"{dropped} more resource(s) lie further than {depth} hop(s) away.")
    return LineageGraph([n for n in nodes.values() if n.node_id in keep],
                        [e for e in edges.values() if e.source in keep and e.target in keep], notes)


def task_graph(v: View, project_id: str, task_id: str) -> LineageGraph:
    """The tables a SQL task read and wrote (ListProcessLineage, one page; it lists the table
    edges first, then the column edges, which are counted, not drawn)."""
    data = v.actions.data("ListProcessLineage", ProcessId=task_id, ProcessType="SCHEDULE_TASK", PageNumber=1,
                          PageSize=MAX_EDGES, Platform=WEDATA)
    nodes: dict[str, LineageNode] = {}
    edges: list[LineageEdge] = []
    columns = 0
    for pair in data.items or []:
        if "COLUMN" in (pair.source.resource_type, pair.target.resource_type):
            columns += 1  # the page draws tables; ListColumnLineage has a column's own graph
            continue
        source, target = _node(v, project_id, pair.source, "up"), _node(v, project_id, pair.target, "down")
        for n in (source, target):
            known = nodes.setdefault(n.node_id, n)
            if known.side != n.side:
                known.side = "root"  # read and written by the task: in the middle
        edges.append(LineageEdge(source.node_id, target.node_id, list(pair.processes or [])))
    notes = []
    if (data.total_count or 0) > len(data.items or []):
        notes.append(f"Only the first {len(data.items or [])} of {data.total_count} edges were read.")
    if columns:
        notes.append(f"{columns} column-level edge(s) of the task are not drawn.")
    return LineageGraph(list(nodes.values()), edges, notes)


def _depth(v: View) -> int:
    try:
        return min(MAX_DEPTH, max(1, int(v.arg("depth") or DEFAULT_DEPTH)))
    except ValueError:
        return DEFAULT_DEPTH


@pages.get("/p/{project_id}/lineage")
def lineage(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    v.require_member(project_id)
    guid, task_id, depth = v.arg("table"), v.arg("task"), _depth(v)
    table = task = graph = error = None
    if guid:
        table = a.data("GetTable", TableGuid=guid)
        graph = table_graph(v, project_id, guid, table, depth)
    elif task_id:
        try:
            task = a.data("GetTask", ProjectId=project_id, TaskId=task_id)
            graph = task_graph(v, project_id, task_id)
        except ActionFailed as err:
            if err.forbidden:
                raise
            error = err  # e.g. a task that never recorded lineage: ResourceNotFound, on the page
    return v.render("lineage.html", project=project, table=table, guid=guid, task=task, task_id=task_id,
                    graph=graph, error=error, depth=depth, depths=range(1, MAX_DEPTH + 1))
