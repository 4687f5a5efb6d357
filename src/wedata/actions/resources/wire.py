"""Resource records -> response Structs (the only place they are built)."""

from __future__ import annotations

from wedata.services.common import Paged
from wedata.services.resources.files import ResourceFile
from wedata.services.resources.folders import Folder
from wedata.services.resources.paths import extension, human_size, local_path
from wedata.spec import models as M


def resource_file(f: ResourceFile) -> M.ResourceFile:
    r = f.row
    return M.ResourceFile(
        project_id=r.project_id, resource_id=r.id, resource_name=r.name, local_path=local_path(r.folder_path, r.name),
        remote_path=r.remote_path, file_extension_type=extension(r.name), size=human_size(r.size),
        creator_user_uin=r.creator_uin, creator_user_name=f.creator_name, update_user_name=f.update_user_name,
        update_user_uin=r.update_user_uin, bucket_name=r.bucket, cos_region=r.region,
        resource_source_mode=r.source_mode, bundle_id=r.bundle_id, bundle_info=r.bundle_info,
    )


def file_page(paged: Paged[ResourceFile]) -> M.ResourceFilePage:
    return M.ResourceFilePage(
        items=[M.ResourceFileItem(resource_id=f.row.id, resource_name=f.row.name,
                                  file_extension_type=extension(f.row.name),
                                  local_path=local_path(f.row.folder_path, f.row.name)) for f in paged.items],
        total_page_number=paged.total_pages, total_count=paged.total, page_number=paged.page.number,
        page_size=paged.page.size,
    )


def folder_detail(f: Folder) -> M.ResourceFolderDetail:
    return M.ResourceFolderDetail(folder_id=f.id, create_user_uin=f.creator_uin, create_user_name=f.creator_name,
                                  folder_path=f.path, folder_name=f.name, parent_folder_path=f.parent_path,
                                  project_id=f.project_id)


def folder_page(paged: Paged[Folder]) -> M.ResourceFolderPage:
    return M.ResourceFolderPage(
        items=[M.ResourceFolder(folder_id=f.id, create_user_uin=f.creator_uin, create_user_name=f.creator_name,
                                folder_path=f.path, folder_name=f.name) for f in paged.items],
        total_page_number=paged.total_pages, total_count=paged.total, page_number=paged.page.number,
        page_size=paged.page.size,
    )
