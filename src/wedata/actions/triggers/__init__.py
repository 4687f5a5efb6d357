"""Trigger workflows, trigger tasks and workflow runs (spec §1 I): definitions.py, runs.py;
every Struct is built in wire.py."""
