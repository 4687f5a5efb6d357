"""Data source records -> spec Structs (the one place the datasources domain builds them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from wedata.services.common import Paged, fmt_time
from wedata.services.datasources.datasources import RelatedProject
from wedata.services.datasources.grants import Grants
from wedata.spec import models as M


def source(row: Row[Any]) -> M.DataSource:
    """A data source as GetDataSource shows it: connection properties with their secrets masked."""
    return M.DataSource(
        project_id=row.project_id,
        id=row.id,
        type=row.source_type,
        name=row.name,
        display_name=row.display_name,
        description=row.description,
        project_name=row.project_name,
        create_user=row.create_user_uin,
        create_time=fmt_time(row.created_at),
        modify_user=row.update_user_uin,
        modify_time=fmt_time(row.updated_at),
        prod_con_properties=row.prod_properties,
        dev_con_properties=row.dev_properties,
        category=row.category,
    )


def source_page(paged: Paged[Row[Any]]) -> M.DataSourceInfo:
    return M.DataSourceInfo(
        page_number=paged.page.number,
        page_size=paged.page.size,
        items=[source(r) for r in paged.items],
        total_count=paged.total,
        total_page_number=paged.total_pages,
    )


def authority(grants: Grants) -> M.AuthInfo:
    return M.AuthInfo(auth_project_ids=grants.project_ids or None, auth_users=grants.users or None)


def _owners(text: str | None) -> list[str]:
    return [u for u in (text or "").replace(",", ";").split(";") if u]


def related(projects: list[RelatedProject]) -> list[M.DatasourceRelationTaskInfo]:
    return [
        M.DatasourceRelationTaskInfo(
            project_id=group.project_id,
            project_name=group.project_name,
            task_info=[M.RelateTask(
                task_type="DataDevelopment",
                task_num=len(group.tasks),
                task_list=[
                    M.BriefTask(task_id=t.id, task_name=t.name, create_time=fmt_time(t.created_at),
                                owner_uin_list=_owners(t.owner_uin))
                    for t in group.tasks
                ],
            )],
        )
        for group in projects
    ]
