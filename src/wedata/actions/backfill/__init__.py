"""Handlers of the backfill domain and its wire.py (records -> spec Structs).

The rules are in services/backfill/ (see its docstring); tests in tests/actions/backfill/.
"""
