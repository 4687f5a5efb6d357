"""Lake engines bound to projects (AddCalcEnginesToProject; migration 0009_lake_engines), on the
shared ``metadata``.

A lake engine is a named DuckDB file beside the built-in lake (``executors/sql/contract.py``:
``lake_engine_path``). Engines are tenant-wide, as WeData's DLC engines are: several projects may
bind the same name and then share its file. One row per (project, engine): the binding, with
what WeData's ``DLCClusterInfo`` said of it (``DefaultDatabase`` is the schema unqualified names
mean on that engine).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, PrimaryKeyConstraint, String, Table

from wedata.storage.tables import metadata

project_lake_engines = Table(
    "project_lake_engines",
    metadata,
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("engine_name", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("default_database", String(128), nullable=False),
    Column("standard_mode_env_tag", String(16)),
    Column("access_account", String(16)),
    Column("sub_account_uin", String(32)),
    Column("create_user_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    PrimaryKeyConstraint("project_id", "engine_name"),
)
