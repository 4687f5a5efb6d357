"""Handlers of the events domain and its wire.py (records -> spec Structs).

The rules are in services/events/ (see its docstring); tests in tests/actions/events/.
"""
