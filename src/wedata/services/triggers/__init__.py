"""Workflow-scheduling projects (spec §1 I, issue 11): trigger workflows, their tasks, and
workflow runs.

Modules: workflows.py (TriggerWorkflowService: CreateTriggerWorkflow ...; the workflow is a
``workflows`` row of type ``trigger`` created through WorkflowService, plus its trigger
settings), tasks.py (TriggerTaskService: the tasks of trigger workflows, a TaskService through
its extension points, so definitions, versions, submit and edges are the periodic code),
runs.py (CreateTriggerWorkflowRun, KillTriggerWorkflowRuns: one engine instance per task run),
progress.py (the observer that applies the trigger rules when a task run ends, keeps each
run's state and frees its slot), rules.py (DependencyTriggerPolicy: pass, skip, upstream
failed), concurrency.py (MaxConcurrentNum / QueuingMode: the gate, the queue, its expiry
worker), rerun.py (RerunTriggerWorkflowRunAsync, an async job), ops.py (GetOpsTriggerWorkflow,
ListOpsTriggerWorkflows, UpdateOpsTriggerTasksOwner), run_reads.py (GetTriggerWorkflowRun,
ListTriggerWorkflowRuns, GetTriggerTaskRun, ListTriggerTaskRuns), firing.py (the worker that
starts the runs of time and file-arrival triggers, with time_triggers.py, file_triggers.py,
trigger_config.py, watch.py, origin.py). Tables: storage/trigger_tables.py,
storage/trigger_firing_tables.py. Docs: docs/triggers.md. Tests:
tests/actions/triggers/.
"""
