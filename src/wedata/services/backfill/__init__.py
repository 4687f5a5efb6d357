"""Data backfill plans (补录, spec §1 G): CreateDataBackfillPlan, GetDataBackfillPlan,
ListDataBackfillInstances, DeleteDataBackfillPlanAsync.

Modules: plans.py (BackfillService), build.py (the request validated, tasks resolved, data
times listed), create.py (the plan written in one transaction), release.py (the gate that
feeds the engine with parallelism and order), delete.py (the async delete). Tables:
storage/backfill_tables.py. Docs: docs/backfill.md. Tests: tests/actions/backfill/.
"""
