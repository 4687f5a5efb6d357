"""Code studio records -> spec Structs (the one place the code domain builds them)."""

from __future__ import annotations

from typing import Any

from wedata.services.code.grants import PrivilegeRow, ResultItem
from wedata.services.code.tree import FOLDER, Node
from wedata.services.common import Paged, fmt_time
from wedata.spec import models as M


def config(wire: dict[str, Any] | None) -> M.CodeFileConfig | None:
    if wire is None:
        return None
    session = wire.get("NotebookSessionInfo")
    return M.CodeFileConfig(
        params=wire.get("Params"),
        notebook_session_info=M.NotebookSessionInfo(
            notebook_session_id=session.get("NotebookSessionId"),
            notebook_session_name=session.get("NotebookSessionName"),
        ) if isinstance(session, dict) else None,
    )


def code_file(node: Node) -> M.CodeFile:
    return M.CodeFile(
        code_file_id=node.id,
        code_file_name=node.name,
        owner_uin=node.owner_uin,
        code_file_config=config(node.config),
        code_file_content=node.content,
        update_user_uin=node.update_user_uin,
        project_id=node.project_id,
        update_time=fmt_time(node.updated_at),
        create_time=fmt_time(node.created_at),
        access_scope=node.scope,
        path=node.path,
        parent_folder_path=node.parent_path,
        version_id=node.version_id,
    )


def folder_node(node: Node) -> M.CodeFolderNode:
    """A folder or file in a tree (GetCodeFolder, ListCodeFolderContents)."""
    is_folder = node.kind == FOLDER
    params = None if is_folder else ((node.config or {}).get("Params") or "")
    return M.CodeFolderNode(
        id=node.id,
        title=node.name,
        type=node.kind,
        is_leaf=not is_folder,
        params=params,
        access_scope=node.scope,
        path=node.path,
        owner_uin=node.owner_uin,
        create_user_uin=node.owner_uin,
        node_permission=node.permission,
        children=[folder_node(c) for c in node.children] if node.children is not None else None,
        parent_folder_path=node.parent_path,
    )


def results(items: list[ResultItem]) -> list[M.CodePermissionsResultItem]:
    return [M.CodePermissionsResultItem(item=i.item, result=i.result, reason=i.reason) for i in items]


def privilege_page(paged: Paged[PrivilegeRow]) -> M.ExploreFilePermissionsPage:
    return M.ExploreFilePermissionsPage(
        page_number=paged.page.number,
        page_size=paged.page.size,
        rows=[
            M.ExploreFilePrivilegeItem(
                privileges=r.privileges,
                role_type=r.role_type,
                role_id=r.role_id,
                resource=M.ExploreFileResource(resource_type=r.resource_type, resource_id=r.resource_id),
                delete_able=r.delete_able,
            )
            for r in paged.items
        ],
        total_count=paged.total,
        total_page_number=paged.total_pages,
    )
