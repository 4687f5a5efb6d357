"""Workflows: the folder tree of a project, each workflow's DAG, and the task panel.

- ``/p/{project}/workflows``: folders (ListWorkflowFolders, level by level from ``/``) with their
  workflows (ListWorkflows by ParentFolderPath).
- ``/p/{project}/workflows/{workflow}``: the DAG. Nodes are SVG ``<text>`` rendered here (real
  text: find-in-page, screen readers and tests reach every task name); static/console.js lays
  them out left to right with the vendored dagre, draws the edges, and adds zoom, pan and
  search. A node is coloured by its task's latest instance (reads.workflow_graph). Upstream
  tasks of other workflows are drawn dashed, with their workflow's name.
- ``/p/{project}/tasks/{task}``: the task panel (GetTask: base attributes, schedule, upstream
  dependencies, code read-only; the task's recent instances, read in one query after GetTask
  checked membership), a fragment for htmx or a page.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from wedata.console.client import ActionFailed
from wedata.console.frame import Pages, View
from wedata.console.reads import all_items, cell, workflow_graph

pages = Pages()

MAX_FOLDERS = 200
RECENT = 10


def folder_tree(v: View, project_id: str) -> list[dict[str, Any]]:
    """Depth-first: each folder (path, depth) with its workflows; the root ``/`` first."""
    a = v.actions
    out: list[dict[str, Any]] = []
    stack = [("/", 0)]
    while stack and len(out) < MAX_FOLDERS:
        path, depth = stack.pop()
        workflows, _ = all_items(a, "ListWorkflows", page_size=200, max_items=1000, ProjectId=project_id,
                                 ParentFolderPath=path)
        folders, _ = all_items(a, "ListWorkflowFolders", page_size=200, max_items=MAX_FOLDERS, ProjectId=project_id,
                               ParentFolderPath=path)
        name = path.rsplit("/", 1)[-1] or "/"
        out.append({"path": path, "name": name, "depth": depth,
                    "workflows": sorted(workflows, key=lambda w: (w.workflow_name or "").lower())})
        for folder in sorted(folders, key=lambda f: f.folder_path or "", reverse=True):
            if folder.folder_path:
                stack.append((folder.folder_path, depth + 1))
    return out


@pages.get("/p/{project_id}")
def project_home(v: View) -> Response:
    return v.redirect(f"/p/{v.param('project_id')}/workflows")


@pages.get("/p/{project_id}/workflows")
def workflows(v: View) -> Response:
    project_id = v.param("project_id")
    project = v.actions.data("GetProject", ProjectId=project_id)
    return v.render("workflows.html", project=project, tree=folder_tree(v, project_id))


@pages.get("/p/{project_id}/workflows/{workflow_id}")
def workflow(v: View) -> Response:
    project_id, workflow_id = v.param("project_id"), v.param("workflow_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    flow = a.data("GetWorkflow", ProjectId=project_id, WorkflowId=workflow_id)
    graph = workflow_graph(v, project_id, workflow_id)
    return v.render("workflow.html", project=project, workflow=flow, workflow_id=workflow_id, graph=graph,
                    selected=v.arg("task"))


@pages.get("/p/{project_id}/workflows/{workflow_id}/dag")
def workflow_dag(v: View) -> Response:
    """The DAG alone (the htmx refresh of the colours)."""
    project_id, workflow_id = v.param("project_id"), v.param("workflow_id")
    v.actions.data("GetWorkflow", ProjectId=project_id, WorkflowId=workflow_id)  # membership
    graph = workflow_graph(v, project_id, workflow_id)
    return v.render("_dag.html", project_id=project_id, workflow_id=workflow_id, graph=graph)


@pages.get("/p/{project_id}/tasks/{task_id}")
def task_panel(v: View) -> Response:
    project_id, task_id = v.param("project_id"), v.param("task_id")
    a = v.actions
    task = a.data("GetTask", ProjectId=project_id, TaskId=task_id)
    # After GetTask checked membership: one indexed read (ListTaskInstances has no TaskId
    # filter; its Keyword is a contains-match over every instance of the project).
    items = [cell(r) for r in v.console.runs.recent(project_id, task_id, RECENT)]
    try:
        upstream, _ = all_items(a, "ListUpstreamTasks", page_size=200, max_items=200, ProjectId=project_id,
                                TaskId=task_id)
    except ActionFailed:
        upstream = []
    template = "_task_panel.html" if v.htmx else "task.html"
    return v.render(template, project_id=project_id, task=task, instances=items,
                    upstream=upstream)
