"""The one authorization check every action passes (the registry calls :meth:`Authorizer.check`
before the handler; the console and the CLI reach the same handlers).

1. The action's requirement (``services/projects/needs.py``: read / write / operate / manage,
   from its name with explicit overrides; ``service`` when the request has no ``ProjectId``).
2. The caller's standing in the request's project: ONE query (project, membership, roles),
   kept for the rest of the request in the per-request cache the registry hands in (a handler
   that needs it again, e.g. GetMyWorkflowMaxPermission, reads it there). There is no cache
   across requests, so a grant or role change is seen by the very next request; an action that
   changes grants drops the entry of its own request.
3. Writes and grant management that name a workflow, a workflow folder or a task (found in the
   request by :func:`write_target`) are decided with the workflow grants of the chain
   (services/permissions/workflows.py): a protected workflow needs ``CAN_EDIT`` (``CAN_MANAGE``
   to manage its grants), and a grant lets a member whose roles do not write edit it.
4. Everything else: the roles (services/projects/access.py). Owners and tenant administrators
   always pass.
"""

from __future__ import annotations

from typing import Any

from wedata.principal import Caller
from wedata.services.errors import Forbidden
from wedata.services.permissions.workflows import WorkflowGrants
from wedata.services.projects.access import NEED_TEXT, Access, ProjectAccess
from wedata.services.projects.needs import Need
from wedata.storage.db import Database

ACCESS_CACHE = "access"  # the key of the per-request cache in RequestContext.extras


def write_target(action: str, req: Any) -> tuple[str, str] | None:
    """What a write names in the workflow tree: (``workflow`` | ``folder`` | ``folder_path`` |
    ``task``, key), or None."""
    if action.endswith("WorkflowPermissions"):
        return (str(req.entity_type), str(req.entity_id))
    if "WorkflowFolder" in action or action in ("CreateWorkflow", "CreateTriggerWorkflow"):
        folder_id = getattr(req, "folder_id", None)
        if folder_id:
            return ("folder", folder_id)
        path = getattr(req, "parent_folder_path", None)
        return ("folder_path", path) if path else None
    if "Workflow" in action or "Task" in action:
        workflow_id = getattr(req, "workflow_id", None)
        if workflow_id:
            return ("workflow", workflow_id)
        for attr in ("task_base_attribute", "trigger_task_base_attribute"):
            base = getattr(req, attr, None)
            if base is not None and getattr(base, "workflow_id", None):
                return ("workflow", base.workflow_id)
        task_id = getattr(req, "task_id", None)
        if task_id:
            return ("task", str(task_id))
    return None


class Authorizer:
    def __init__(self, db: Database, access: ProjectAccess, workflow_grants: WorkflowGrants) -> None:
        self.db = db
        self.access = access
        self.workflow_grants = workflow_grants

    def standing(self, project_id: str, caller: Caller, cache: dict[str, Any]) -> Access:
        """The caller's standing in the project, read once per request."""
        entries: dict[str, Access] = cache.setdefault(ACCESS_CACHE, {})
        found = entries.get(project_id)
        if found is None:
            found = entries[project_id] = self.access.access(project_id, caller)
        return found

    @staticmethod
    def remember(access: Access | None, cache: dict[str, Any]) -> None:
        """Keep a standing the handler's own statement read (``ProjectAccess.standing_of``) for
        the registry's check of this request, which then costs no query."""
        if access is not None:
            cache.setdefault(ACCESS_CACHE, {})[access.project_id] = access

    @staticmethod
    def forget(cache: dict[str, Any]) -> None:
        cache.pop(ACCESS_CACHE, None)

    def check(self, action: str, need: Need, project_id: str, caller: Caller, req: Any,
              cache: dict[str, Any]) -> Access:
        access = self.standing(project_id, caller, cache)
        if access.member and access.workflow_grants and need in (Need.WRITE, Need.MANAGE) and not (
                access.superuser or access.allows(Need.MANAGE)):
            key = write_target(action, req)
            if key is not None:
                with self.db.read() as conn:
                    entity = WorkflowGrants.target(conn, project_id, *key)
                    missing = None if entity is None else self.workflow_grants.decide(conn, access, need, entity)
                if entity is not None:
                    if missing is not None:
                        raise Forbidden(f"The user {access.uin} lacks the {NEED_TEXT[need]} permission in the "
                                        f"project {project_id} that {action} needs: {missing}.")
                    return access
        ProjectAccess.require(access, need, action)
        return access
