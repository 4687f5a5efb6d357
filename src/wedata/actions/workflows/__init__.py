"""Handlers of the workflows domain and its wire.py (records -> spec Structs).

The rules are in services/workflows/ (see its docstring); tests in tests/actions/workflows/.
"""
