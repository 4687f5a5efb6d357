"""Workflows (spec §1 C): a task-scheduling project's workflows, their unified schedule and
parameters, and the workflow folder tree they are filed in.

Modules: workflows.py (WorkflowService). Folder name and path rules are services/folders.py,
shared with task folders. Tables: storage/tables.py (workflows, workflow_folders). Tests:
tests/actions/workflows/.
"""
