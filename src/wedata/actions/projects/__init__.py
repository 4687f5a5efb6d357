"""Handlers of the projects domain and its wire.py (records -> spec Structs).

The rules are in services/projects/ (see its docstring); tests in tests/actions/projects/.
"""
