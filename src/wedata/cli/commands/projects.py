"""``wedata projects list|show|create|use``."""

from __future__ import annotations

import click

from wedata.cli.remote import remote
from wedata.cli.render import output_option

_STATUS = {0: "disabled", 1: "enabled", -3: "disabling", 2: "enabling"}  # Project.Status (spec 3.20)


@click.group()
def projects() -> None:
    """List, create and choose projects."""


@projects.command("list")
@click.option("--name", default=None, help="Only projects whose name contains this text.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1), help="At most this many projects.")
@output_option
def list_projects(name: str | None, limit: int, output: str) -> None:
    """List the projects (* marks the current one)."""
    from wedata.cli import render

    r = remote()
    params = {"ProjectName": name} if name else {}
    items = list(r.pages("ListProjects", params, limit=limit))
    if output == "json":
        render.print_json(items)
        return
    zone = render.display_zone()
    current = r.profile.project_id
    render.table(items, [
        ("", lambda p: "*" if p.get("ProjectId") == current else ""),
        ("PROJECT ID", "ProjectId"), ("NAME", "ProjectName"), ("DISPLAY NAME", "DisplayName"),
        ("STATUS", lambda p: _STATUS.get(p.get("Status"), p.get("Status"))),  # type: ignore[arg-type]
        ("OWNER", "ProjectOwnerUin"),
        (f"CREATED ({zone})", lambda p: render.shift(p.get("CreateTime"), zone)),
    ], empty="no projects (create one with `wedata projects create NAME`)")


@projects.command("show")
@click.argument("project", required=False)
@output_option
def show_project(project: str | None, output: str) -> None:
    """Show a project (default: the current one)."""
    from wedata.cli import render

    r = remote()
    data = r.data("GetProject", {"ProjectId": r.project(project)})
    if output == "json":
        render.print_json(data)
        return
    zone = render.display_zone()
    for label, value in (("ProjectId", data.get("ProjectId")), ("Name", data.get("ProjectName")),
                         ("DisplayName", data.get("DisplayName")), ("Description", data.get("Description")),
                         ("Status", _STATUS.get(data.get("Status"), data.get("Status"))),  # type: ignore[arg-type]
                         ("Owner", data.get("ProjectOwnerUin")), ("Model", data.get("ProjectModel")),
                         (f"Created ({zone})", render.shift(data.get("CreateTime"), zone))):
        click.echo(f"{label + ':':<22}{render.cell(value)}")


@projects.command("create")
@click.argument("name")
@click.option("--display-name", default=None, help="Display name (default: the name).")
@click.option("--description", default=None, help="Description.")
@click.option("--use/--no-use", "use_it", default=True, show_default=True,
              help="Make it the current project.")
def create_project(name: str, display_name: str | None, description: str | None, use_it: bool) -> None:
    """Create project NAME (a letter, then letters, digits and _); prints its ProjectId."""
    r = remote()
    project: dict[str, str] = {"ProjectName": name, "DisplayName": display_name or name}
    if description:
        project["Description"] = description
    project_id = r.data("CreateProject", {"Project": project})["ProjectId"]
    click.echo(project_id)
    if use_it:
        _use(project_id, name)


@projects.command("use")
@click.argument("project")
def use_project(project: str) -> None:
    """Make PROJECT (an id or a name) the current project of your profile."""
    r = remote()
    project_id = r.resolve_project(project)
    data = r.data("GetProject", {"ProjectId": project_id})
    _use(project_id, data.get("ProjectName") or project)


def _use(project_id: str, name: str) -> None:
    from wedata.cli.profile import load_file, profile_path, save_file

    path = profile_path()
    data = load_file(path)
    data["project_id"] = project_id
    save_file(data, path)
    click.echo(f"current project: {project_id} ({name})", err=True)
