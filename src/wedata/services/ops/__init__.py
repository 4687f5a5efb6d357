"""Operations on production (spec §1 E, §2.6-2.7): the Ops reads of submitted tasks and
workflows, task status (pause, stop, start, owner), kill and set success, rerun.

Asynchronous operations run as jobs (services/jobs.py, GetOpsAsyncJob). Modules:
task_reads.py, workflow_reads.py, task_status.py, instance_control.py, rerun.py, records.py.
Docs: docs/operations.md. Tests: tests/actions/ops/.
"""
