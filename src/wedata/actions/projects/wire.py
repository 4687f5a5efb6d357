"""Projects domain -> wire: the one place where its records become spec Structs.

Services of the domain (services/projects/) return rows and small records; the handlers in this
package call them and render the answer here. Times are stored in UTC; Project.CreateTime and
members' CreateTime are ISO-8601 with offset in UTC+8, as WeData shows them.
"""

from __future__ import annotations

from typing import Any

from wedata.services.common import Paged, fmt_iso
from wedata.services.projects.projects import Member
from wedata.services.projects.resource_groups import GroupMetrics, GroupRecord, Metric
from wedata.services.projects.roles import Role
from wedata.spec import models as M

# -- projects -------------------------------------------------------------------------------------


def project(row: Any) -> M.Project:
    return M.Project(
        project_id=row.id,
        project_name=row.name,
        display_name=row.display_name,
        description=row.description or None,
        create_time=fmt_iso(row.created_at),
        creator_uin=row.creator_uin,
        project_owner_uin=row.owner_uin,
        status=row.status,
        display_status="ENABLED" if row.status == 1 else "UNABLED",
        project_model=row.project_model,
        workspace_ext=[M.WorkspaceExt(key="scheduleMode", value=row.schedule_mode)],
    )


def project_page(paged: Paged[Any]) -> M.ProjectBrief:
    return M.ProjectBrief(
        page_number=paged.page.number,
        page_size=paged.page.size,
        items=[project(r) for r in paged.items],
        total_count=paged.total,
        total_page_number=paged.total_pages,
    )


# -- members and roles ----------------------------------------------------------------------------


def role(r: Role) -> M.SystemRole:
    return M.SystemRole(
        role_id=r.role_id, role_name=r.role_name, role_display_name=r.display_name, description=r.description
    )


def member(m: Member) -> M.ProjectUserRole:
    row = m.row
    return M.ProjectUserRole(
        app_id=None,
        root_account_id=None,
        user_uin=row.user_uin,
        user_name=row.user_name or row.user_uin,
        display_name=row.user_name or row.user_uin,
        roles=[role(r) for r in m.roles],
        is_creator=bool(row.is_creator),
        create_time=fmt_iso(row.created_at),
        is_project_owner=row.user_uin == row.owner_uin,
        phone_num=None,
        email=None,
    )


def member_page(paged: Paged[Member]) -> M.ProjectUsersBrief:
    return M.ProjectUsersBrief(
        items=[member(m) for m in paged.items],
        page_size=paged.page.size,
        page_number=paged.page.number,
        total_count=paged.total,
        total_page_number=paged.total_pages,
    )


def role_page(paged: Paged[Role]) -> M.PageRoles:
    return M.PageRoles(
        items=[role(r) for r in paged.items],
        page_number=paged.page.number,
        page_size=paged.page.size,
        total_count=paged.total,
        total_page_number=paged.total_pages,
    )


# -- resource groups ------------------------------------------------------------------------------


def resource_group(g: GroupRecord) -> M.ExecutorResourceGroupInfo:
    r = g.row
    return M.ExecutorResourceGroupInfo(
        id=r.id,
        name=r.name,
        description=r.description or None,
        resource_group_type=r.group_type,
        associate_projects=[
            M.BindProject(project_id=b.id, project_name=b.name, project_display_name=b.display_name)
            for b in g.projects
        ],
        region=r.region,
        vpc_id=r.vpc_id,
        sub_net=r.subnet,
        auto_renew_enabled=bool(r.auto_renew),
    )


def resource_group_page(paged: Paged[GroupRecord]) -> M.ExecutorResourceGroupData:
    return M.ExecutorResourceGroupData(
        items=[resource_group(g) for g in paged.items],
        total_count=paged.total,
        page_number=paged.page.number,
        page_size=paged.page.size,
        total_page_number=paged.total_pages,
    )


def metric(m: Metric) -> M.MetricData:
    return M.MetricData(
        metric_name=m.name,
        snapshot_value=m.value,
        trend_list=[M.TrendData(timestamp=ts, value=v) for ts, v in m.trend],
    )


def group_metrics(g: GroupMetrics) -> M.ResourceGroupMetrics:
    return M.ResourceGroupMetrics(
        cpu_num=g.cpu,
        disk_volume=g.disk_gb,
        mem_size=g.memory_gb,
        life_cycle=g.days_left,
        maximum_concurrency=g.slots,
        status=g.status,
        metric_snapshots=[metric(m) for m in g.snapshots],
    )
