"""Workflow permissions (CreateWorkflowPermissions, DeleteWorkflowPermissions,
ListWorkflowPermissions, GetMyWorkflowMaxPermission) and catalog privileges (AuthorizePrivileges,
RevokePrivileges, ListPermissions).

Rules: ``services/permissions/`` (decisions in the docstrings of workflows.py and catalog.py);
the check every action passes is the registry's (services/permissions/authorize.py); answers:
``wire.py``; docs/permissions.md.
"""
