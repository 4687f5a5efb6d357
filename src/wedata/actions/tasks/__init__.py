"""Handlers of the tasks domain and its wire.py (records -> spec Structs).

The rules are in services/tasks/ (see its docstring); tests in tests/actions/tasks/.
"""
