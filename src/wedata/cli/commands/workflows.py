"""``wedata workflows list|show|create``; ``show`` draws the workflow's DAG as an indented tree.

The tree is built from the tasks' dependencies (each task's UpstreamDependencyConfigList, as
GetTask returns it): a task with no upstream task in the workflow is a root; a task's children
are its downstream tasks in the workflow. A task with several upstream tasks appears under each
of them; below the first it is drawn in full, later ones say "(see above)". Upstream tasks of
other workflows are named beside the task.
"""

from __future__ import annotations

from typing import Any

import click

from wedata.cli.remote import project_option, remote
from wedata.cli.render import output_option


@click.group()
def workflows() -> None:
    """List, create and show workflows (with their DAG)."""


@workflows.command("list")
@project_option
@click.option("--keyword", default=None, help="Only workflows whose name contains this text.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1), help="At most this many workflows.")
@output_option
def list_workflows(project: str | None, keyword: str | None, limit: int, output: str) -> None:
    """List the workflows of the project."""
    from wedata.cli import render

    r = remote()
    params: dict[str, Any] = {"ProjectId": r.project(project)}
    if keyword:
        params["Keyword"] = keyword
    items = list(r.pages("ListWorkflows", params, limit=limit, min_size=10))
    if output == "json":
        render.print_json(items)
        return
    zone = render.display_zone()
    render.table(items, [
        ("WORKFLOW ID", "WorkflowId"), ("NAME", "WorkflowName"), ("TYPE", "WorkflowType"),
        ("OWNER", "OwnerUin"), (f"MODIFIED ({zone})", lambda w: render.shift(w.get("ModifyTime"), zone)),
    ], empty="no workflows (create one with `wedata workflows create NAME`)")


@workflows.command("create")
@click.argument("name")
@project_option
@click.option("--folder", default="/", show_default=True, help="Workflow folder path.")
@click.option("--description", default=None, help="Description.")
def create_workflow(name: str, project: str | None, folder: str, description: str | None) -> None:
    """Create a workflow; prints its WorkflowId."""
    r = remote()
    params: dict[str, Any] = {"ProjectId": r.project(project), "WorkflowName": name, "ParentFolderPath": folder}
    if description:
        params["WorkflowDesc"] = description
    click.echo(r.data("CreateWorkflow", params)["WorkflowId"])


def workflow_id(r: Any, project_id: str, ref: str) -> str:
    """A WorkflowId, or the id of the one workflow with that name."""
    import re

    if re.fullmatch(r"[0-9a-fA-F-]{36}", ref):
        return ref
    items = [w for w in r.pages("ListWorkflows", {"ProjectId": project_id, "Keyword": ref}, limit=1000, min_size=10)
             if w.get("WorkflowName") == ref]
    if len(items) != 1:
        from wedata.cli.errors import CliError

        what = "no workflow is" if not items else "several workflows are"
        raise CliError(f"{what} named {ref!r} in project {project_id}: pass the WorkflowId")
    return str(items[0]["WorkflowId"])


@workflows.command("show")
@click.argument("workflow")
@project_option
@output_option
def show_workflow(workflow: str, project: str | None, output: str) -> None:
    """Show WORKFLOW (an id or a name) and its tasks as a dependency tree."""
    from wedata.cli import render

    r = remote()
    project_id = r.project(project)
    wf_id = workflow_id(r, project_id, workflow)
    detail = r.data("GetWorkflow", {"ProjectId": project_id, "WorkflowId": wf_id})
    tasks = list(r.pages("ListTasks", {"ProjectId": project_id, "WorkflowId": wf_id}, limit=10_000,
                         page_size=200, min_size=10))
    upstream: dict[str, list[str]] = {}
    for t in tasks:
        full = r.data("GetTask", {"ProjectId": project_id, "TaskId": t["TaskId"]})
        deps = (full.get("TaskSchedulerConfiguration") or {}).get("UpstreamDependencyConfigList") or []
        upstream[t["TaskId"]] = [d["TaskId"] for d in deps if d.get("TaskId")]
    if output == "json":
        render.print_json({"Workflow": {**detail, "WorkflowId": wf_id},
                           "Tasks": [{**t, "UpstreamTaskIds": upstream[t["TaskId"]]} for t in tasks]})
        return
    click.echo(f"{detail.get('WorkflowName')}  ({wf_id}, project {project_id})")
    for line in tree_lines(tasks, upstream):
        click.echo(line)


def tree_lines(tasks: list[dict[str, Any]], upstream: dict[str, list[str]]) -> list[str]:
    by_id = {t["TaskId"]: t for t in tasks}
    children: dict[str, list[str]] = {tid: [] for tid in by_id}
    for tid, ups in upstream.items():
        for up in ups:
            if up in children:
                children[up].append(tid)
    roots = [tid for tid in by_id if not any(u in by_id for u in upstream.get(tid, []))]
    drawn: set[str] = set()
    lines: list[str] = []

    def label(tid: str) -> str:
        t = by_id[tid]
        outside = [u for u in upstream.get(tid, []) if u not in by_id]
        text = f"{t.get('TaskName')}  [{tid}] status {t.get('Status')}"
        if outside:
            text += f"  (also waits for task(s) of other workflows: {', '.join(outside)})"
        return text

    def walk(tid: str, prefix: str, last: bool, path: tuple[str, ...]) -> None:
        branch = "└── " if last else "├── "
        if tid in path:
            lines.append(f"{prefix}{branch}{by_id[tid].get('TaskName')}  [{tid}] (dependency cycle)")
            return
        if tid in drawn:
            lines.append(f"{prefix}{branch}{by_id[tid].get('TaskName')}  [{tid}] (see above)")
            return
        drawn.add(tid)
        lines.append(f"{prefix}{branch}{label(tid)}")
        kids = sorted(children[tid], key=lambda k: str(by_id[k].get("TaskName")))
        for i, kid in enumerate(kids):
            walk(kid, prefix + ("    " if last else "│   "), i == len(kids) - 1, (*path, tid))

    ordered = sorted(roots, key=lambda k: str(by_id[k].get("TaskName")))
    for i, root in enumerate(ordered):
        walk(root, "", i == len(ordered) - 1, ())
    for tid in by_id:  # tasks only reachable through a cycle
        if tid not in drawn:
            walk(tid, "", True, ())
    if not tasks:
        lines.append("(no tasks)")
    return lines
