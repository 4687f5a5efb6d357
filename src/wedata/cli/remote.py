"""What the commands that talk to a server share: the signed client built from the profile, the
current project, names resolved to ids, and waiting for an async ops job.

A TASK argument is a TaskId or, if it is not all digits, a task name of the project (it must
name exactly one task). A PROJECT is a ProjectId or a project name. An INSTANCE_KEY is
``<TaskId>_<yyyy-MM-dd HH:mm:ss>`` as the API shows it (a ``T`` between date and time is accepted,
so no quoting is needed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import click

from wedata.cli.client import ApiError, Client
from wedata.cli.errors import CliError
from wedata.cli.profile import Profile, resolve

project_option = click.option(
    "-p", "--project", "project", default=None, metavar="PROJECT",
    help="Project id or name (default: the one chosen with `wedata projects use`, or $WEDATA_PROJECT).",
)

JOB_DONE = ("SUCCESS", "FAIL", "PART_SUCCESS")


class Remote:
    """One CLI invocation's view of the server."""

    def __init__(self, profile: Profile | None = None) -> None:
        self.profile = profile or resolve()
        self._client: Client | None = None
        self._projects: dict[str, str] = {}

    @property
    def client(self) -> Client:
        if self._client is None:
            endpoint, sid, key = self.profile.require_server()
            self._client = Client(endpoint, sid, key, self.profile.token)
        return self._client

    def call(self, action: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.client.call(action, params)

    def data(self, action: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.data(action, params)

    # ------------------------------------------------------------------------------ projects

    def project(self, given: str | None = None) -> str:
        self.profile.require_server()
        ref = given or self.profile.project_id
        if not ref:
            raise CliError("no project chosen: run `wedata projects use PROJECT` or pass --project")
        if ref not in self._projects:
            self._projects[ref] = self.resolve_project(ref)
        return self._projects[ref]

    def resolve_project(self, ref: str) -> str:
        if ref.isdigit():
            return ref
        items = self.data("ListProjects", {"ProjectName": ref, "PageSize": 100})["Items"] or []
        matches = [p for p in items if ref in (p.get("ProjectName"), p.get("DisplayName"))]
        if not matches:
            raise CliError(f"ResourceNotFound: no project is named {ref!r} (see `wedata projects list`)")
        if len(matches) > 1:
            ids = ", ".join(p["ProjectId"] for p in matches)
            raise CliError(f"several projects are named {ref!r} ({ids}): pass the ProjectId")
        return str(matches[0]["ProjectId"])

    # ------------------------------------------------------------------------------ tasks

    def task_id(self, project: str, ref: str) -> str:
        if ref.isdigit():
            return ref
        matches = [t for t in self.pages("ListTasks", {"ProjectId": project, "TaskName": ref}, limit=1000)
                   if t.get("TaskName") == ref]
        if not matches:
            raise CliError(f"ResourceNotFound: no task is named {ref!r} in project {project} "
                           "(see `wedata tasks list`)")
        if len(matches) > 1:
            ids = ", ".join(t["TaskId"] for t in matches)
            raise CliError(f"several tasks are named {ref!r} ({ids}): pass the TaskId")
        return str(matches[0]["TaskId"])

    def pages(self, action: str, params: dict[str, Any], *, limit: int, page_size: int = 100,
              min_size: int = 1) -> Iterator[dict[str, Any]]:
        """Items of a paged list, page after page, at most ``limit`` of them."""
        number, seen = 1, 0
        size = max(min_size, min(page_size, limit))
        while seen < limit:
            data = self.data(action, {**params, "PageNumber": number, "PageSize": size})
            items = data.get("Items") or []
            yield from items[: limit - seen]
            seen += len(items)
            total = data.get("TotalCount") or 0
            if not items or number * size >= total:
                return
            number += 1

    # ------------------------------------------------------------------------------ async jobs

    def wait_job(self, project: str, async_id: str, *, interval: float = 0.3) -> dict[str, Any]:
        """Poll GetOpsAsyncJob until the job is done; its detail."""
        while True:
            job: dict[str, Any] = self.data("GetOpsAsyncJob", {"ProjectId": project, "AsyncId": async_id})
            if job.get("Status") in JOB_DONE:
                return job
            time.sleep(interval)


def remote() -> Remote:
    """The Remote of this invocation (built once, on first use)."""
    root = click.get_current_context().find_root()
    if "wedata.remote" not in root.meta:
        root.meta["wedata.remote"] = Remote()
    value: Remote = root.meta["wedata.remote"]
    return value


def instance_key(text: str) -> str:
    """Accept ``TASK_2025-01-01T00:00:00`` for ``TASK_2025-01-01 00:00:00``."""
    key = text.strip()
    head, sep, tail = key.rpartition("_")
    if sep and "T" in tail and len(tail) == 19:
        key = f"{head}_{tail.replace('T', ' ')}"
    return key


def job_line(job: dict[str, Any], what: str) -> str:
    ok, total = job.get("SuccessSubProcessCount") or 0, job.get("TotalSubProcessCount") or 0
    line = f"{what}: {job.get('Status')} ({ok} of {total} succeeded)"
    if job.get("ErrorDesc"):
        line += f": {job['ErrorDesc']}"
    return line


def finish_job(job: dict[str, Any], what: str) -> None:
    """Print the job's outcome; exit 1 unless every item succeeded."""
    line = job_line(job, what)
    if job.get("Status") != "SUCCESS":
        raise CliError(line)
    click.echo(line)


__all__ = ["ApiError", "Remote", "finish_job", "instance_key", "project_option", "remote"]
