"""Events (WeData 2021-08-20, served on the same endpoint): RegisterEvent/RegisterDsEvent,
TriggerEvent/TriggerDsEvent, DescribeEvent, DescribeEventCases — the only way to release
instances waiting in WAIT_EVENT.

Modules: events.py (EventService), views.py (the read side). Which waiting instance consumes
which case is the engine's (scheduler/event_consume.py). Tables: storage/event_tables.py.
Docs: docs/events.md. Tests: tests/actions/events/.
"""
