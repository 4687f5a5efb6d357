"""Permission tables (migration 0018_permissions), on the shared ``metadata`` (services/permissions/).

Conventions as in tables.py.

- ``workflow_grants``: one row per (entity, target, permission) of CreateWorkflowPermissions. The
  entity is a workflow (``workflows.id``) or a workflow folder (``workflow_folders.id``) of the
  project, the target a user (its Uin) or a project role (its RoleId). Entities are polymorphic,
  so there is no foreign key to them: a grant on a deleted workflow or folder names an id that is
  never reused (UUIDs) and is never read again; the rows go with their project.
- ``catalog_grants``: one row per (resource, subject, privilege) of AuthorizePrivileges. A resource
  is a catalog, a schema or a table, stored by its three name parts (``schema_name`` and
  ``table_name`` empty above their level) so that one query finds every grant that covers a table
  (on it, its schema or its catalog). The subject is ``User`` (a Uin), ``Project`` (a ProjectId) or
  ``Role`` (``<ProjectId>.<RoleId>``).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, PrimaryKeyConstraint, String, Table

from wedata.storage.tables import metadata

workflow_grants = Table(
    "workflow_grants",
    metadata,
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("entity_type", String(16), nullable=False),  # folder | workflow
    Column("entity_id", String(36), nullable=False),
    Column("target_type", String(8), nullable=False),  # user | role
    Column("target_id", String(64), nullable=False),
    Column("permission", String(16), nullable=False),  # CAN_VIEW | CAN_RUN | CAN_EDIT | CAN_MANAGE
    Column("granted_by", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    PrimaryKeyConstraint("project_id", "entity_type", "entity_id", "target_type", "target_id", "permission"),
)
Index("ix_workflow_grants_entity", workflow_grants.c.entity_id)

catalog_grants = Table(
    "catalog_grants",
    metadata,
    Column("catalog_name", String(255), nullable=False),
    Column("schema_name", String(255), nullable=False),  # "" for a grant on a catalog
    Column("table_name", String(255), nullable=False),  # "" for a grant on a catalog or a schema
    Column("subject_type", String(16), nullable=False),  # User | Project | Role
    Column("subject_value", String(64), nullable=False),
    Column("privilege", String(32), nullable=False),
    Column("granted_by", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    PrimaryKeyConstraint("catalog_name", "schema_name", "table_name", "subject_type", "subject_value", "privilege"),
)
