"""Projects (spec §1 A, B): projects and their members and roles, and the execution resource
groups bound to them.

Modules: projects.py (ProjectService: create/read/update/enable/delete, members, roles, the
membership check every project-scoped action goes through), roles.py (WeData's built-in roles),
checks.py (field rules), resource_groups.py (ResourceGroupService), group_specs.py (what a group
may be made of and what it adds up to), group_rights.py (who may bind a group to a project).
Tables: storage/tables.py (projects, project_members, project_member_roles, resource_groups,
resource_group_projects). Docs: README, docs/security.md (tenancy). Tests: tests/actions/projects/.
"""
