"""SQL scripts of data exploration (WeData 2025-08-06: CreateSQLScript ... ListSQLScriptRuns).

Rules: ``services/sql/`` (decisions in its ``__init__.py``); answers: ``wire.py``.
"""
