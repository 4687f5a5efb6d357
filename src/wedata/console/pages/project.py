"""A project's people and capacity: its members with their roles, its resource groups with the
slots in use.

- ``/p/{project}/members``: ListProjectMembers (every page, up to ``MAX_MEMBERS``) with each
  member's roles, and ListProjectRoles, the roles a member can hold.
- ``/p/{project}/groups``: ListResourceGroups bound to the project, and for each group
  GetResourceGroupMetrics (MetricType ``task``): its slots (MaximumConcurrency), the instances
  running in them and those queued. A group whose metrics the caller may not read shows the
  action's error in its row; the page still renders.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from wedata.console.frame import Pages, View
from wedata.console.reads import all_items

pages = Pages()

MAX_MEMBERS = 1000
MAX_GROUPS = 100


@pages.get("/p/{project_id}/members")
def members(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    people, truncated = all_items(a, "ListProjectMembers", page_size=100, max_items=MAX_MEMBERS, ProjectId=project_id)
    roles, _ = all_items(a, "ListProjectRoles", page_size=100, max_items=100, ProjectId=project_id)
    return v.render("members.html", project=project, members=people, roles=roles, truncated=truncated)


def _snapshot(metrics: Any) -> dict[str, int | None]:
    return {m.metric_name: m.snapshot_value for m in (metrics.metric_snapshots or []) if m.metric_name}


@pages.get("/p/{project_id}/groups")
def groups(v: View) -> Response:
    project_id = v.param("project_id")
    a = v.actions
    project = a.data("GetProject", ProjectId=project_id)
    found, _ = all_items(a, "ListResourceGroups", page_size=100, max_items=MAX_GROUPS, ProjectIds=[project_id])
    rows = []
    for group in found:
        metrics, error = a.try_data("GetResourceGroupMetrics", ResourceGroupId=str(group.id), MetricType="task")
        values = _snapshot(metrics) if metrics else {}
        slots = values.get("MaximumConcurrency") or 0
        running = values.get("DevelopRunningTask") or 0
        rows.append({"group": group, "error": error, "slots": slots, "running": running,
                     "queued": values.get("DevelopQueueTask") or 0,
                     "percent": min(100, running * 100 // slots) if slots else 0})
    return v.render("groups.html", project=project, rows=rows)
