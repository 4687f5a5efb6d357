"""Task instances, read side (spec §1 F): GetTaskInstance, ListTaskInstances, logs, executions,
and the direct upstream/downstream instances of one instance.

The engine (scheduler/) writes instances; these services read them. Modules: instances.py
(InstanceService), query.py (the joined row, filters), logs.py (log pages, executions),
lineage.py (InstanceLineageService), records.py (what they return). Tables:
storage/engine_tables.py. Docs: docs/engine.md. Tests: tests/actions/instances/.
"""
