"""``wedata resources upload|list``: resource files (docs/files.md)."""

from __future__ import annotations

import hashlib
import os

import click

from wedata.cli.errors import CliError
from wedata.cli.remote import remote
from wedata.cli.render import output_option


@click.group()
def resources() -> None:
    """Upload and list resource files tasks can use."""


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            h.update(chunk)
    return h.hexdigest()


@resources.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--project", default=None, help="The project (default: the current one).")
@click.option("--folder", default="/", show_default=True, help="The resource folder (it must exist).")
@click.option("--name", default=None, help="The resource file's name (default: the file's name).")
@output_option
def upload(file: str, project: str | None, folder: str, name: str | None, output: str) -> None:
    """Upload FILE and register it as a resource file (a file of that name in the folder is
    replaced: the next runs of the tasks using it get the new content)."""
    from wedata.cli import render

    r = remote()
    project_id = r.project(project)
    name = name or os.path.basename(file)
    size = os.path.getsize(file)
    sha256 = _sha256(file)
    stored = r.client.upload(file, {"ProjectId": project_id, "FolderPath": folder, "Name": name, "Sha256": sha256},
                             sha256, size)
    existing = [f for f in r.data("ListResourceFiles", {"ProjectId": project_id, "ParentFolderPath": folder,
                                                        "ResourceName": name, "PageSize": 200}).get("Items") or []
                if f.get("ResourceName") == name]
    if existing:
        resource_id = existing[0]["ResourceId"]
        r.data("UpdateResourceFile", {"ProjectId": project_id, "ResourceId": resource_id,
                                      "ResourceFile": stored["RemotePath"]})
    else:
        resource_id = r.data("CreateResourceFile", {
            "ProjectId": project_id, "ResourceName": name, "BucketName": stored["BucketName"],
            "CosRegion": stored["CosRegion"], "ParentFolderPath": folder, "ResourceFile": stored["RemotePath"],
        })["ResourceId"]
    if stored.get("Sha256") != sha256:
        raise CliError("the server recorded another hash than the file's")
    result = {"ResourceId": resource_id, "RemotePath": stored["RemotePath"], "Size": stored["Size"],
              "Sha256": stored["Sha256"], "Replaced": bool(existing)}
    if output == "json":
        render.print_json(result)
        return
    verb = "replaced" if existing else "uploaded"
    click.echo(f"{verb} {name} ({size} bytes, sha256 {sha256}) as resource {resource_id} at {stored['RemotePath']}")


@resources.command("list")
@click.option("--project", default=None, help="The project (default: the current one).")
@click.option("--folder", default=None, help="Only the files of this folder.")
@output_option
def list_resources(project: str | None, folder: str | None, output: str) -> None:
    """List the resource files of a project."""
    from wedata.cli import render

    r = remote()
    params = {"ProjectId": r.project(project)}
    if folder:
        params["ParentFolderPath"] = folder
    items = list(r.pages("ListResourceFiles", params, limit=1000))
    if output == "json":
        render.print_json(items)
        return
    render.table(items, [("RESOURCE ID", "ResourceId"), ("NAME", "ResourceName"), ("PATH", "LocalPath"),
                         ("TYPE", "FileExtensionType")], empty="no resource files")
