"""The grid of a workflow, as Airflow draws it: rows are the tasks in DAG order (upstream first),
columns the last N data times (oldest on the left), each cell the instance of that task and data
time, coloured by its state and linking to its instance panel.

The rows and their order come from the graph (reads.workflow_graph, after GetWorkflow checked
membership); the cells from one query for the window (the newest N data times of
the workflow's instances and every instance at them: ``services.instances.workflow_runs.grid``),
where ListTaskInstances would page through the whole history with OFFSET.

The table body is built here as one string (``grid_body``), not by the template: a grid of 300
tasks x 14 data times has 4,200 cells, and a template loop with a few expressions per cell cost
most of the page's time. Every piece of text in it goes through ``markupsafe.escape`` (the
autoescaping the templates use), each worked out once per task, data time or state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus

from markupsafe import Markup, escape
from starlette.responses import Response

from wedata.console.dag import Node, topological_order
from wedata.console.frame import Pages, View
from wedata.console.reads import workflow_graph
from wedata.console.render import state_class, state_words
from wedata.scheduling.walltime import format_wall

pages = Pages()

DEFAULT_COLUMNS = 14
MAX_COLUMNS = 60
EMPTY_CELL = '<td><span class="cell st-empty" title="no instance"></span></td>'


def grid_body(rows: Sequence[Node], times: Sequence[Any], runs: Sequence[Any], base: str) -> Markup:
    """The ``<tr>`` of every task: its name, then one cell per data time of ``times``."""
    column = {t: i for i, t in enumerate(times)}
    walls = [format_wall(t) for t in times]
    quoted_walls = [quote_plus(w) for w in walls]
    by_task: dict[str, list[str | None]] = {}
    looks: dict[str, tuple[str, str, str]] = {}
    for run in runs:
        i = column.get(run.data_time)
        if i is None:
            continue
        look = looks.get(run.state)
        if look is None:
            look = looks[run.state] = (state_class(run.state), str(escape(state_words(run.state))),
                                       str(escape(run.state)))
        by_task.setdefault(run.task_id, [None] * len(times))[i] = run.state
    out: list[str] = []
    for node in rows:
        name = str(escape(node.name))
        states = by_task.get(node.task_id)
        href = f"{escape(base)}?key={escape(quote_plus(node.task_id))}_"
        parts = [f'<tr><th class="task" scope="row">{name}</th>']
        for i, state in enumerate(states or [None] * len(times)):
            if state is None:
                parts.append(EMPTY_CELL)
                continue
            css, words, raw = looks[state]
            parts.append(f'<td><a class="cell {css}" href="{href}{quoted_walls[i]}" title="{name} · {walls[i]} · '
                         f'{words}" data-state="{raw}"></a></td>')
        parts.append("</tr>")
        out.append("".join(parts))
    return Markup("\n".join(out))


@pages.get("/p/{project_id}/workflows/{workflow_id}/grid")
def grid(v: View) -> Response:
    project_id, workflow_id = v.param("project_id"), v.param("workflow_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    flow = a.data("GetWorkflow", ProjectId=project_id, WorkflowId=workflow_id)
    try:
        columns_wanted = min(MAX_COLUMNS, max(1, int(v.arg("n") or DEFAULT_COLUMNS)))
    except ValueError:
        columns_wanted = DEFAULT_COLUMNS
    graph = workflow_graph(v, project_id, workflow_id, with_states=False)
    tasks = [n for n in graph.nodes if not n.external]
    names = {n.task_id: n.name for n in tasks}
    order = topological_order([n.task_id for n in tasks], graph.edges, names)
    times, runs = v.console.runs.grid(project_id, workflow_id, columns_wanted)
    by_id = {n.task_id: n for n in tasks}
    body = grid_body([by_id[t] for t in order], times, runs, v.url(f"/p/{project_id}/instance"))
    template = "_grid.html" if v.htmx else "grid.html"
    return v.render(template, project=project, workflow=flow, workflow_id=workflow_id,
                    columns=[format_wall(t) for t in times], body=body, has_rows=bool(order), n=columns_wanted)
