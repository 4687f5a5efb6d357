"""Tasks on the wire: every step from a tasks-domain record to a response Struct, in one place.

The services of the tasks domain (services/tasks/) return domain records: task rows, folder rows
(``TaskFolderRow``), lineage rows (``DependencyView``), version records (``VersionItem``,
``VersionDetail``) and plain values; the handlers in this package call a service and hand its
answer to one function here. Answers that carry no record (``Status: true``, a new id echoed
back) are built in the handler itself.

The exception: the task itself. Its definition is stored in wire shape and its version
snapshots are the ``Task`` dict the scheduler runs (services/tasks/snapshot.py says why), so for
GetTask, GetTaskVersion and the items of ListTasks the record already has the wire's names and
the step here is a single ``msgspec.convert`` to the generated Struct, validated on the way
(GetTask is the hottest read: no JSON round trip, no field-by-field copy).
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Row

from wedata.services.common import Page, fmt_time
from wedata.services.tasks.folders import ROOT, TaskFolderRow
from wedata.services.tasks.lineage import DependencyView
from wedata.services.tasks.snapshot import base_attribute, version_no
from wedata.services.tasks.versions import VersionDetail, VersionItem
from wedata.spec import models as M

# ----------------------------------------------------------------------------------------------
# Tasks (the wire-shaped task record).


def task(record: dict[str, Any]) -> M.Task:
    """GetTask: the wire-shaped task record (services/tasks/wire.render_task) as a Struct."""
    return msgspec.convert(record, M.Task)


def task_page(rows: list[Row[Any]], total: int, pg: Page) -> M.ListTaskInfo:
    """ListTasks: each row's TaskBaseAttribute, rendered as in GetTask (one renderer for both)."""
    return M.ListTaskInfo(
        items=msgspec.convert([base_attribute(r) for r in rows], list[M.TaskBaseAttribute]),
        page_number=pg.number,
        page_size=pg.size,
        total_count=total,
        total_page_number=pg.total_pages(total),
    )


def task_code(code: str, size: str) -> M.TaskCodeResult:
    return M.TaskCodeResult(code_info=code, code_file_size=size)


# ----------------------------------------------------------------------------------------------
# Versions.


def _version(v: VersionItem) -> M.TaskVersion:
    return M.TaskVersion(
        create_time=fmt_time(v.created_at),
        version_num=version_no(v.version_no),
        create_user_uin=v.create_user_uin,
        version_id=v.version_id,
        version_remark=v.remark,
        approve_status=v.approve_status,
        status=v.status,
        approve_user_uin=v.approve_user_uin,
        used_version=v.used,
    )


def version_page(items: list[VersionItem], total: int, pg: Page) -> M.ListTaskVersions:
    return M.ListTaskVersions(
        items=[_version(v) for v in items],
        total_count=total,
        total_page_number=pg.total_pages(total),
        page_count=len(items),
        page_size=pg.size,
        page_number=pg.number,
    )


def version_detail(v: VersionDetail) -> M.TaskVersionDetail:
    return M.TaskVersionDetail(
        create_time=fmt_time(v.created_at),
        version_num=version_no(v.version_no),
        create_user_uin=v.create_user_uin,
        version_id=v.version_id,
        version_remark=v.remark,
        approve_status=v.approve_status,
        approve_time=fmt_time(v.approved_at),
        task=task(v.task),
        approve_user_uin=v.approve_user_uin,
    )


# ----------------------------------------------------------------------------------------------
# Task folders.


def folder_detail(row: TaskFolderRow) -> M.TaskFolderDetail:
    return M.TaskFolderDetail(
        project_id=row.project_id,
        task_folder_id=row.id,
        task_folder_path=row.path,
        create_user_uin=row.creator_uin,
        # WeData shows the parent of a root child as "" (the GetTaskFolder example).
        parent_task_folder_path="" if row.parent_path == ROOT else row.parent_path,
        task_folder_name=row.name,
        workflow_id=row.workflow_id,
        task_folder_type=row.folder_type,
    )


def folder_page(rows: list[TaskFolderRow], total: int, pg: Page) -> M.TaskFolderPage:
    return M.TaskFolderPage(
        page_number=pg.number,
        page_size=pg.size,
        total_count=total,
        total_page_number=pg.total_pages(total),
        items=[
            M.TaskFolder(project_id=r.project_id, task_folder_id=r.id, task_folder_path=r.path, create_user_uin=r.creator_uin)
            for r in rows
        ],
    )


# ----------------------------------------------------------------------------------------------
# Dev-side lineage lists.


def _depend(v: DependencyView) -> M.TaskDependDto:
    return M.TaskDependDto(
        task_id=v.task_id,
        task_name=v.task_name,
        workflow_id=v.workflow_id,
        workflow_name=v.workflow_name,
        project_id=v.project_id,
        status=v.status,
        task_type_id=v.task_type_id,
        task_type_desc=v.task_type_desc,
        schedule_desc=v.schedule_desc,
        start_time=v.start_time,
        end_time=v.end_time,
        delay_time=v.delay_time,
        cycle_type=v.cycle_type,
        owner_uin=v.owner_uin,
        task_action=v.task_action,
        init_strategy=v.init_strategy,
        crontab_expression=v.crontab_expression,
    )


def dependency_page(views: list[DependencyView], total: int, pg: Page) -> M.DependencyConfigPage:
    return M.DependencyConfigPage(
        total_count=total,
        total_page_number=pg.total_pages(total),
        page_number=pg.number,
        page_size=pg.size,
        items=[_depend(v) for v in views],
    )
