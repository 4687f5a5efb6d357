"""Handlers of the alarms domain and its wire.py (records -> spec Structs).

The rules are in services/alarms/ (see its docstring); tests in tests/actions/alarms/.
"""
