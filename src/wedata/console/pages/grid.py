"""The grid of a workflow, as Airflow draws it: rows are the tasks in DAG order (upstream first),
columns the last N data times (oldest on the left), each cell the instance of that task and data
time, coloured by its state and linking to its instance panel.

Read through the actions: the graph (reads.workflow_graph) for the rows and their order, and
ListTaskInstances of the workflow, newest data times first, page by page until N data times are
covered (at most ``MAX_PAGES`` pages of 100).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from wedata.console.dag import topological_order
from wedata.console.frame import Pages, View
from wedata.console.reads import workflow_graph

pages = Pages()

DEFAULT_COLUMNS = 14
MAX_COLUMNS = 60
MAX_PAGES = 30


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
    graph = workflow_graph(a, project_id, workflow_id, with_states=False)
    tasks = [n for n in graph.nodes if not n.external]
    names = {n.task_id: n.name for n in tasks}
    order = topological_order([n.task_id for n in tasks], graph.edges, names)
    cells: dict[tuple[str, str], Any] = {}
    dates: set[str] = set()
    for number in range(1, MAX_PAGES + 1):
        data = a.data("ListTaskInstances", ProjectId=project_id, WorkflowId=workflow_id, PageNumber=number,
                      PageSize=100, SortColumn="SCHEDULE_DATE", SortType="DESC")
        for item in data.items or []:
            if item.cur_run_date:
                dates.add(item.cur_run_date)
                cells.setdefault((item.task_id, item.cur_run_date), item)
        newest = sorted(dates, reverse=True)[:columns_wanted]
        if number >= (data.total_page_number or 1):
            break
        # Enough once the oldest wanted column is older than everything this page reached.
        last = (data.items or [None])[-1]
        if len(newest) >= columns_wanted and last is not None and (last.cur_run_date or "") < newest[-1]:
            break
    columns = sorted(sorted(dates, reverse=True)[:columns_wanted])
    rows = [(graph.node(t), [cells.get((t, d)) for d in columns]) for t in order]
    template = "_grid.html" if v.htmx else "grid.html"
    return v.render(template, project=project, workflow=flow, workflow_id=workflow_id, columns=columns, rows=rows,
                    n=columns_wanted)
