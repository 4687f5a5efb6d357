"""The grid of a workflow, as Airflow draws it: rows are the tasks in DAG order (upstream first),
columns the last N data times (oldest on the left), each cell the instance of that task and data
time, coloured by its state and linking to its instance panel.

The rows are the workflow's tasks (at most reads.MAX_TASKS) in DAG order, from two light queries
after GetWorkflow checked membership (the tasks' ids and names, and the dependency edges as id
pairs: ``services.tasks.lineage`` ``workflow_tasks``, ``workflow_links``); they are paged,
``PAGE_ROWS`` tasks a page unless ``?rows=`` says otherwise (``?page=``), with links to the other
pages. The cells of a page come from one query (the window — the newest N data times of the
whole workflow's instances, so every page has the same columns — and the page's tasks' instances
at them: ``services.instances.workflow_runs.grid``), where ListTaskInstances would page through
the whole history with OFFSET.

The table body is built here as one string (``grid_body``), not by the template: a grid of 300
tasks x 14 data times had 4,200 cells, and a template loop with a few expressions per cell cost
most of the page's time. Every piece of text in it goes through ``markupsafe.escape`` (the
autoescaping the templates use), each worked out once per task, data time or state.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote_plus

from markupsafe import Markup, escape
from starlette.responses import Response

from wedata.console.dag import Node, topological_order
from wedata.console.frame import Pages, View
from wedata.console.reads import MAX_TASKS
from wedata.console.render import state_class, state_words
from wedata.scheduling.walltime import format_wall
from wedata.services.instances.workflow_runs import GridWindow

pages = Pages()

DEFAULT_COLUMNS = 14
MAX_COLUMNS = 60
PAGE_ROWS = 100  # task rows a page by default (``?rows=``): a 300-task workflow is three pages
MAX_PAGE_ROWS = 500
EMPTY_CELL = '<td><span class="cell st-empty" title="no instance"></span></td>'


def grid_body(rows: Sequence[Node], window: GridWindow, base: str) -> Markup:
    """The ``<tr>`` of every task of ``rows``: its name, then one cell per data time of the window.
    What a cell's markup needs of its state (class, words) is worked out once per state, of its
    data time (the wall time, URL-quoted) once per column, of its task (name, link) once per row."""
    walls = [format_wall(t) for t in window.times]
    quoted_walls = [quote_plus(w) for w in walls]
    looks: dict[str, tuple[str, str, str]] = {}
    empty_row = EMPTY_CELL * len(walls)
    out: list[str] = []
    for node in rows:
        name = str(escape(node.name))
        states = window.states.get(node.task_id)
        if states is None:
            out.append(f'<tr><th class="task" scope="row">{name}</th>{empty_row}</tr>')
            continue
        href = f"{escape(base)}?key={escape(quote_plus(node.task_id))}_"
        parts = [f'<tr><th class="task" scope="row">{name}</th>']
        for i, state in enumerate(states):
            if state is None:
                parts.append(EMPTY_CELL)
                continue
            look = looks.get(state)
            if look is None:
                look = looks[state] = (state_class(state), str(escape(state_words(state))), str(escape(state)))
            css, words, raw = look
            parts.append(f'<td><a class="cell {css}" href="{href}{quoted_walls[i]}" title="{name} · {walls[i]} · '
                         f'{words}" data-state="{raw}"></a></td>')
        parts.append("</tr>")
        out.append("".join(parts))
    return Markup("\n".join(out))


def number(text: str | None, default: int, low: int, high: int) -> int:
    """A page's numeric query argument, clamped; anything but digits is the default."""
    try:
        return min(high, max(low, int(text or default)))
    except ValueError:
        return default


@pages.get("/p/{project_id}/workflows/{workflow_id}/grid")
def grid(v: View) -> Response:
    project_id, workflow_id = v.param("project_id"), v.param("workflow_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    flow = a.data("GetWorkflow", ProjectId=project_id, WorkflowId=workflow_id)
    columns_wanted = number(v.arg("n"), DEFAULT_COLUMNS, 1, MAX_COLUMNS)
    tasks = [Node(r.id, r.name or r.id, str(r.task_type_id))
             for r in v.console.edges.workflow_tasks(project_id, workflow_id, MAX_TASKS)]
    names = {n.task_id: n.name for n in tasks}
    order = topological_order([n.task_id for n in tasks], v.console.edges.workflow_links(project_id, workflow_id),
                              names)
    per_page = number(v.arg("rows"), PAGE_ROWS, 1, MAX_PAGE_ROWS)
    pages_count = max(1, -(-len(order) // per_page))
    page = number(v.arg("page"), 1, 1, pages_count)
    shown = order[(page - 1) * per_page:page * per_page]
    window = v.console.runs.grid(project_id, workflow_id, columns_wanted, shown)
    by_id = {n.task_id: n for n in tasks}
    body = grid_body([by_id[t] for t in shown], window, v.url(f"/p/{project_id}/instance"))
    template = "_grid.html" if v.htmx else "grid.html"
    return v.render(template, project=project, workflow=flow, workflow_id=workflow_id,
                    columns=[format_wall(t) for t in window.times], body=body, has_rows=bool(order), n=columns_wanted,
                    rows=per_page, page=page, pages=pages_count, first=(page - 1) * per_page + 1,
                    last=(page - 1) * per_page + len(shown), total=len(order))
