"""Handlers of the instances domain and its wire.py (records -> spec Structs).

The rules are in services/instances/ (see its docstring); tests in tests/actions/instances/.
"""
