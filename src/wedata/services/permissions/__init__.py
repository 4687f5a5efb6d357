"""Permissions: the one authorization check of every action (authorize.py), workflow grants
(workflows.py), catalog privileges and the SQL table check (catalog.py, statements.py,
grants_model.py). What the project roles allow and what each action needs live one domain down,
in services/projects/access.py and needs.py, so that every domain can ask them. docs/permissions.md
is the user's page; its table of actions is generated from the registry (tools/gen_permissions.py).
"""
