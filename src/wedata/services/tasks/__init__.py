"""Dev-side tasks (spec §1 D, §2.4-2.5): definitions, versions (SAVE and SUBMIT), dependency
edges, task folders and the dev-side lineage lists.

Modules: tasks.py (TaskService), definition.py (the stored definition: defaults, validation),
patch.py (UpdateTaskPartially), queries.py (ListTasks filters), types.py (TaskTypeId table),
unified.py (a workflow's schedule applied to its tasks), versions.py, snapshot.py (the
wire-shaped task record: the documented exception of the wire convention), edges.py (edges
stored once, projected both ways), folders.py (TaskFolderService), lineage.py
(ListUpstreamTasks/ListDownstreamTasks), schedule_desc.py. Tables: storage/tables.py (tasks,
task_versions, task_dependencies, task_folders). Tests: tests/actions/tasks/.
"""
