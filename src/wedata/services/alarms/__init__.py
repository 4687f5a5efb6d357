"""Alarms (spec §1 H): rules, the messages they record when they fire, and their delivery.

Modules: alarms.py (AlarmService), rules.py (validation and normalisation of rule
configuration), firing.py (matching instance outcomes and overdue instances against rules),
delivery.py (the webhook outbox worker). Tables: storage/alarm_tables.py. Docs:
docs/alarms.md. Tests: tests/actions/alarms/, tests/services/alarms/.
"""
