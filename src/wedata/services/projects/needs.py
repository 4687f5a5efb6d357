"""What an action needs: one of five requirements, derived from its name with explicit overrides.

Every action of every API version gets its requirement here, so an action added later (quality
rules, code files, ...) is classified by its name without anyone remembering to:

- ``read``: ``Get*``, ``List*``, ``Describe*``, ``Check*`` (and ``GetMy*Permission``): any member;
- ``operate`` (production): ``Rerun*``, ``Kill*``, ``SetSuccess*``, ``Pause*``, ``Stop*``,
  ``Start*``, ``Trigger*``; and any other change whose name says it acts on the operations
  centre (``*Ops*``), backfills (``*Backfill*``) or workflow runs (``*WorkflowRun*``);
- ``manage`` (the project itself, its members, roles and grants): ``Authorize*``, ``Revoke*``,
  ``Enable*``, ``Disable*``; names that hold ``Member``, ``Permissions`` or ``Privileges``; and
  changes whose object is the project (``*Project``: ``UpdateProject``, ``AddCalcEnginesToProject``,
  ``AssociateResourceGroupToProject``, ...);
- ``write`` (develop): every other change (``Create*``, ``Update*``, ``Delete*``, ``Submit*``,
  ``Modify*``, ``Register*``, ...).

``OVERRIDES`` corrects the few names that mislead. An action whose request has no ``ProjectId``
is ``service``: no project role applies, the service checks the resource the request names
(a data source's project, the catalog the caller sees, a resource group, the caller's own
projects) — the registry says so from the request type, not from the name.
"""

from __future__ import annotations

from enum import StrEnum


class Need(StrEnum):
    READ = "read"
    WRITE = "write"
    OPERATE = "operate"
    MANAGE = "manage"
    SERVICE = "service"  # no ProjectId: the service checks the resource the request names


_READ_PREFIXES = ("Get", "List", "Describe", "Check")
_OPERATE_PREFIXES = ("Rerun", "Kill", "SetSuccess", "Pause", "Stop", "Start", "Trigger")
_OPERATE_WORDS = ("Ops", "Backfill", "WorkflowRun")
_MANAGE_PREFIXES = ("Authorize", "Revoke", "Enable", "Disable")
_MANAGE_WORDS = ("Member", "Permissions", "Privileges")

# Names the rule would misread.
OVERRIDES: dict[str, Need] = {
    # Running and stopping one's own exploration SQL is development, not production.
    "RunSQLScript": Need.WRITE,
    "StopSQLScriptRun": Need.WRITE,
    # Code studio: any member; the node's own level decides (CAN_VIEW < CAN_RUN < CAN_EDIT <
    # CAN_MANAGE over the folder chain, services/code/access.py): a Visitor writes in their own
    # private folder, a grant lets someone edit one shared folder, an owner grants on their file.
    **{name: Need.READ for name in (
        "CreateCodeFile", "UpdateCodeFile", "DeleteCodeFile", "CreateCodeFolder", "UpdateCodeFolder",
        "DeleteCodeFolder", "CreateCodePermissions", "DeleteCodePermissions")},
}


def reads_only(action: str) -> bool:
    """Whether the action's name says it only reads (Get/List/Describe/Check): the API runs
    those in its readers' threads (protocol/endpoint.py), so they never queue behind writers."""
    return action.startswith(_READ_PREFIXES)


def need_of(action: str) -> Need:
    """The requirement the name of a project-scoped action implies."""
    if action in OVERRIDES:
        return OVERRIDES[action]
    if action.startswith(_READ_PREFIXES):
        return Need.READ
    if action.startswith(_OPERATE_PREFIXES):
        return Need.OPERATE
    if action.startswith(_MANAGE_PREFIXES) or any(w in action for w in _MANAGE_WORDS) or action.endswith("Project"):
        return Need.MANAGE
    if any(w in action for w in _OPERATE_WORDS):
        return Need.OPERATE
    return Need.WRITE
