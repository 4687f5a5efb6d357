"""Who may bind a resource group to a project (AssociateResourceGroupToProject, CreateProject
``ResourceIds``): the group's creator or a tenant administrator. The decision and its reasons
are in ``resource_groups.py`` (module docstring) and docs/security.md."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from wedata.principal import Caller
from wedata.services.errors import Forbidden, NotFound
from wedata.storage import tables as T


def require_group_use(conn: Connection, group_ids: Sequence[str], caller: Caller) -> None:
    """The groups exist (``NotFound``) and the caller may bind them (else ``Forbidden``, naming them)."""
    rg = T.resource_groups
    creators = {
        r.id: r.creator_uin for r in conn.execute(select(rg.c.id, rg.c.creator_uin).where(rg.c.id.in_(group_ids)))
    }
    missing = [g for g in group_ids if g not in creators]
    if missing:
        raise NotFound(f"The resource group(s) {', '.join(missing)} do not exist.")
    if caller.is_admin:
        return
    refused = [g for g in group_ids if creators[g] != caller.uin]
    if refused:
        raise Forbidden(
            f"The user {caller.uin} has no right to use the resource group(s) {', '.join(refused)}: only a "
            "group's creator or a tenant administrator may bind it to a project."
        )
