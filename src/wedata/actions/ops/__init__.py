"""Handlers of the ops domain and its wire.py (records -> spec Structs).

The rules are in services/ops/ (see its docstring); tests in tests/actions/ops/.
"""
