"""Events (WeData 2021-08-20 event actions; migration 0003_events), on the shared ``metadata``.

Conventions as in tables.py: instants are naive UTC, every constraint is named.

- ``events``: an event definition of a project (RegisterEvent / RegisterDsEvent), unique by name.
- ``event_cases``: one firing of an event for one dimension (TriggerEvent / TriggerDsEvent).
  ``expires_at`` is the trigger time plus the event's time-to-live (null: never expires);
  ``consume_limit`` how many listeners may consume the case (1 for a SINGLE event, -1 for no
  limit); ``single_taken`` whether a listener declared SINGLE has consumed it.
- ``event_consumptions``: which instance consumed which case (at most once per instance).

How cases are matched and consumed: scheduler/event_consume.py and docs/events.md.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from wedata.storage.tables import metadata

events = Table(
    "events",
    metadata,
    Column("id", String(32), primary_key=True),  # EventId: a UUID in hex
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("event_type", String(16), nullable=False),  # TIME_SERIES | GENERAL
    Column("sub_type", String(8), nullable=False),  # SECOND | MIN | HOUR | DAY
    Column("broadcast_type", String(16), nullable=False),  # SINGLE | BROADCAST
    Column("dimension_format", String(16), nullable=False),  # yyyyMMdd[HH[mm[ss]]]
    Column("time_to_live", Integer),  # null: cases never expire
    Column("time_unit", String(8), nullable=False),  # DAYS | HOURS | MINUTES | SECONDS
    Column("valid_consume_count", Integer),  # ValidConsumeCount as given (null: not given)
    Column("owner", String(64), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("create_user_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "name"),
)

event_cases = Table(
    "event_cases",
    metadata,
    Column("id", String(64), primary_key=True),  # CaseId
    Column("event_id", String(32), ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    # Denormalised from the event: matching a waiting instance is one indexed probe.
    Column("project_id", String(19), nullable=False),
    Column("event_name", String(64), nullable=False),
    Column("dimension", String(14), nullable=False),
    Column("consumer_id", String(24)),  # ConsumerId: only this task's instances may consume it
    Column("description", Text, nullable=False, default=""),
    Column("consume_limit", Integer, nullable=False),  # -1: any number of listeners
    Column("consumed_count", Integer, nullable=False, default=0),
    Column("single_taken", Boolean, nullable=False, default=False),
    Column("create_user_uin", String(32), nullable=False),
    Column("triggered_at", DateTime, nullable=False),
    Column("expires_at", DateTime),  # null: never expires
    Column("last_consumed_at", DateTime),
)
Index("ix_event_cases_match", event_cases.c.project_id, event_cases.c.event_name, event_cases.c.dimension)
Index("ix_event_cases_event_triggered", event_cases.c.event_id, event_cases.c.triggered_at)

event_consumptions = Table(
    "event_consumptions",
    metadata,
    Column("case_id", String(64), ForeignKey("event_cases.id", ondelete="CASCADE"), nullable=False),
    # The engine's task_instances.id; no foreign key, so that the consumption log outlives
    # instance clean-ups (as the instance history does).
    Column("instance_id", BigInteger, nullable=False),
    Column("task_id", String(24), nullable=False),
    Column("data_time", DateTime, nullable=False),  # the instance's data time (task's zone)
    Column("consumed_at", DateTime, nullable=False),
    PrimaryKeyConstraint("case_id", "instance_id"),
)
Index("ix_event_consumptions_instance", event_consumptions.c.instance_id)
