"""Data source tables (migration 0008_datasources), on the shared ``metadata``.

Conventions as in tables.py. A data source's connection properties are kept twice, per side
(prod, dev): ``*_properties`` is the JSON as GetDataSource shows it, every secret masked (so a
list never decrypts anything), and ``*_secret`` the complete JSON as the caller gave it,
encrypted by ``storage/secrets.py`` (``wdenc1:`` + Fernet token): the only copy of the
passwords. ``files_secret`` holds the ProdFileUpload/DevFileUpload contents (keystores,
keytabs, private keys), encrypted too; no answer returns them.

Ids are integers (WeData's ``Id`` is an integer) and never reused, even after a delete
(``sqlite_autoincrement``; PostgreSQL sequences never go back): a task that still names a deleted
source's id must not come to name a new one.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from wedata.storage.tables import BigId, metadata

data_sources = Table(
    "data_sources",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("display_name", String(64), nullable=False),
    Column("description", Text),
    Column("source_type", String(32), nullable=False),
    # DB (a user's source) or CLUSTER (a system source such as the built-in lake).
    Column("category", String(16), nullable=False, default="DB"),
    Column("prod_properties", Text, nullable=False),
    Column("prod_secret", Text, nullable=False),
    Column("dev_properties", Text),
    Column("dev_secret", Text),
    Column("files_secret", Text),
    Column("create_user_uin", String(32), nullable=False),
    Column("update_user_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "name"),
    sqlite_autoincrement=True,
)

# A grant lets another project (user_uin "") or one user of a project use a data source.
data_source_grants = Table(
    "data_source_grants",
    metadata,
    Column("data_source_id", BigId, ForeignKey("data_sources.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", String(19), nullable=False),
    Column("user_uin", String(32), nullable=False, default=""),
    Column("grantor_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    PrimaryKeyConstraint("data_source_id", "project_id", "user_uin"),
)
# ListDataSources and require_use look grants up from the project side.
Index("ix_data_source_grants_project", data_source_grants.c.project_id, data_source_grants.c.user_uin)
