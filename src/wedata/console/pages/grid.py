"""The grid of a workflow, as Airflow draws it: rows are the tasks in DAG order (upstream first),
columns the last N data times (oldest on the left), each cell the instance of that task and data
time, coloured by its state and linking to its instance panel.

The rows and their order come from the graph (reads.workflow_graph, after GetWorkflow checked
membership); the cells from one query for the window (the newest N data times of
the workflow's instances and every instance at them: ``services.instances.workflow_runs.grid``),
where ListTaskInstances would page through the whole history with OFFSET.
"""

from __future__ import annotations

from starlette.responses import Response

from wedata.console.dag import topological_order
from wedata.console.frame import Pages, View
from wedata.console.reads import cells, workflow_graph
from wedata.scheduling.walltime import format_wall

pages = Pages()

DEFAULT_COLUMNS = 14
MAX_COLUMNS = 60


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
    columns = [format_wall(t) for t in times]
    by_cell = {(c.task_id, c.cur_run_date): c for c in cells(runs, v.url(f"/p/{project_id}/instance"))}
    by_id = {n.task_id: n for n in tasks}
    rows = [(by_id[t], [by_cell.get((t, d)) for d in columns]) for t in order]
    template = "_grid.html" if v.htmx else "grid.html"
    return v.render(template, project=project, workflow=flow, workflow_id=workflow_id, columns=columns, rows=rows,
                    n=columns_wanted)
