"""Trigger firing tables (migration 0020_trigger_firing): what the time and file-arrival triggers
of trigger workflows have done, so that every fire happens once across restarts and processes.

Conventions as in tables.py: naive UTC instants, every constraint named.

- ``trigger_cursors``: one row per (workflow, trigger) the firing worker has seen. ``fingerprint``
  is a hash of the trigger's effective settings (mode, status, cron, zone, bounds, path ...): a
  change re-arms the trigger at that moment (``cursor_at``), so a time trigger never fires for
  moments before it was (re)configured or resumed. ``last_fire_at``: when the last file batch
  fired (TriggerMinimumInterval counts from it).
- ``trigger_fires``: one row per fire, unique on (workflow, trigger, ``fire_key``) — the UTC fire
  time of a time trigger, ``files:<first file row id>`` of a file batch. The row is inserted in
  the transaction that creates the run, so two processes (or a process restarted in the middle)
  cannot create two runs for one fire: the loser's transaction fails on the key and rolls back.
- ``trigger_files``: every file version a file-arrival trigger has seen, unique on (workflow,
  trigger, ``file_key`` = sha256 of path + size + mtime/etag); ``fire_id`` is the batch that
  consumed it (null: waiting for its batch). A file is named by one run only.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from wedata.storage.tables import BigId, metadata

trigger_cursors = Table(
    "trigger_cursors",
    metadata,
    Column("workflow_id", String(36), ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True),
    Column("trigger_id", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("cursor_at", DateTime, nullable=False),  # a time trigger's fires up to here are handled
    Column("last_fire_at", DateTime),  # the last file batch fired at
)

trigger_fires = Table(
    "trigger_fires",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workflow_id", String(36), ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("trigger_id", String(64), nullable=False),
    Column("fire_key", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # time | file
    Column("fire_at", DateTime, nullable=False),  # the fire time (time) / the batch's moment (file)
    Column("execution_id", String(36)),  # the run (null: none could be created, see note)
    Column("file_count", Integer),
    Column("note", Text),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("workflow_id", "trigger_id", "fire_key", name="uq_trigger_fires_key"),
)

trigger_files = Table(
    "trigger_files",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workflow_id", String(36), ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("trigger_id", String(64), nullable=False),
    Column("file_key", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("size", BigInteger),
    Column("signature", String(128), nullable=False),  # mtime or etag as the store reports it
    Column("seen_at", DateTime, nullable=False),
    Column("fire_id", BigId),  # trigger_fires.id of the batch that consumed it
    UniqueConstraint("workflow_id", "trigger_id", "file_key", name="uq_trigger_files_key"),
)
Index("ix_trigger_files_pending", trigger_files.c.workflow_id, trigger_files.c.trigger_id, trigger_files.c.fire_id)
