"""Remote workers' tables (migration 0012): worker nodes, remote runs, log chunks.

An attempt of a resource group configured as remote (``WEDATA_REMOTE_GROUPS``) runs on a
``wedata worker`` (executors/worker.py), reached through Celery. The database is where the
worker and the engine meet (docs/workers.md):

- ``worker_nodes``: one row per worker process; its heartbeat is how engines tell it is alive.
- ``remote_runs``: one row per attempt a worker took (the worker inserts it when it starts the
  attempt: the primary key is the claim, so two deliveries of one message never both run). The
  worker records the exit and the scanned outputs here; the engine reads them and makes the
  transition. Every write of the worker is fenced: ``WHERE worker_id = me AND state = 'running'``,
  so once the engine has declared the run lost (or killed before it started) nothing the
  worker writes lands any more.
- ``instance_log_chunks``: the log of a remote attempt, in order (``seq``), each chunk with its
  byte position in the attempt's log (``pos``, ``size``: bytes of the UTF-8 text), so
  GetTaskInstanceLog pages it by byte cursor as it pages a file.

Conventions as in tables.py: naive UTC instants, named constraints.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from wedata.storage.tables import BigId, metadata

worker_nodes = Table(
    "worker_nodes",
    metadata,
    Column("worker_id", String(64), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("groups", Text, nullable=False),  # comma-separated resource group ids it consumes
    Column("slots", Integer, nullable=False),
    Column("isolation", String(16)),  # executors/sandbox.py: bwrap+user | bwrap | user | none
    Column("started_at", DateTime, nullable=False),
    # The worker's own clock: engines only look whether it changes (docs/workers.md, liveness).
    Column("heartbeat_at", DateTime, nullable=False),
    Column("stopped_at", DateTime),
)

remote_runs = Table(
    "remote_runs",
    metadata,
    Column("execution_id", BigId, ForeignKey("instance_executions.id", ondelete="CASCADE"), primary_key=True),
    Column("token", String(32), nullable=False),  # the fencing token of the attempt's message
    Column("worker_id", String(64)),  # null: killed before any worker took it
    # running (a worker runs it) | ended (the worker recorded its exit) | lost (its worker died:
    # declared by an engine) | killed (killed before a worker took it: declared by an engine)
    Column("state", String(16), nullable=False),
    Column("started_at", DateTime),
    Column("ended_at", DateTime),
    Column("exit_code", Integer),
    Column("outputs", JSON),  # {"set_values": {...}, "result": "<last result line>"} (executors/outputs.py)
    Column("kill_requested_at", DateTime),
    Column("kill_grace", Float),
    Column("log_seq", Integer, nullable=False, default=0),  # chunks written so far (the next seq)
    Column("log_bytes", BigInteger, nullable=False, default=0),  # bytes of log written so far
)
Index("ix_remote_runs_worker_state", remote_runs.c.worker_id, remote_runs.c.state)

instance_log_chunks = Table(
    "instance_log_chunks",
    metadata,
    Column("execution_id", BigId, ForeignKey("instance_executions.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("pos", BigInteger, nullable=False),  # byte offset of this chunk in the attempt's log
    Column("size", Integer, nullable=False),  # bytes of ``text`` in UTF-8
    Column("text", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    PrimaryKeyConstraint("execution_id", "seq"),
)
