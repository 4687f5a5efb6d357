"""Task folders (spec §2.4 "Task folders"): CreateTaskFolder, GetTaskFolder, ListTaskFolders,
UpdateTaskFolder, DeleteTaskFolder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.registry import action
from wedata.actions.tasks import wire
from wedata.protocol.context import RequestContext
from wedata.services.common import page
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateTaskFolder")
def create_task_folder(
    services: Services, ctx: RequestContext, req: M.CreateTaskFolderRequest
) -> M.CreateTaskFolderResponse:
    folder_id = services.task_folders.create(
        req.project_id,
        req.workflow_id,
        req.task_folder_type,
        req.parent_task_folder_path,
        req.task_folder_name,
        ctx.caller.uin,
    )
    return M.CreateTaskFolderResponse(data=M.CreateTaskFolderResult(task_folder_id=folder_id))


@action("GetTaskFolder")
def get_task_folder(services: Services, ctx: RequestContext, req: M.GetTaskFolderRequest) -> M.GetTaskFolderResponse:
    row = services.task_folders.get(req.project_id, req.workflow_id, req.task_folder_id)
    return M.GetTaskFolderResponse(data=wire.folder_detail(row))


@action("ListTaskFolders")
def list_task_folders(
    services: Services, ctx: RequestContext, req: M.ListTaskFoldersRequest
) -> M.ListTaskFoldersResponse:
    # Folder lists page like the other dev-side lists: 10..200 per page (spec §3.22).
    pg = page(req.page_number, req.page_size, min_size=10)
    rows, total = services.task_folders.list_children(
        req.project_id, req.workflow_id, req.task_folder_type, req.parent_task_folder_path, pg
    )
    return M.ListTaskFoldersResponse(data=wire.folder_page(rows, total, pg))


@action("UpdateTaskFolder")
def update_task_folder(
    services: Services, ctx: RequestContext, req: M.UpdateTaskFolderRequest
) -> M.UpdateTaskFolderResponse:
    services.task_folders.rename(req.project_id, req.workflow_id, req.task_folder_id, req.task_folder_name)
    return M.UpdateTaskFolderResponse(data=M.UpdateTaskFolderResult(status=True))


@action("DeleteTaskFolder")
def delete_task_folder(
    services: Services, ctx: RequestContext, req: M.DeleteTaskFolderRequest
) -> M.DeleteTaskFolderResponse:
    services.task_folders.delete(req.project_id, req.workflow_id, req.task_folder_id)
    return M.DeleteTaskFolderResponse(data=M.DeleteTaskFolderResult(status=True))
