"""Resource file tables (migration 0012_resources), on the shared ``metadata``.

``resource_folders``: a project's resource folder tree (the root ``/`` has no row).
``resource_files``: one registered file: its folder and name, where its bytes are (``store``
``local`` | ``s3``, ``bucket``, ``region``, ``remote_path`` = ``/`` + the object key) and what
they were when last registered or uploaded (``size``, ``sha256``): a run stages that content.
``resource_uploads``: what the upload route last wrote at an object path (size, hash, who), so
registering an uploaded object needs no second read of it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, String, Table, UniqueConstraint

from wedata.storage.tables import metadata

resource_folders = Table(
    "resource_folders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("path", String(1024), nullable=False),
    Column("parent_path", String(1024), nullable=False),
    Column("name", String(128), nullable=False),
    Column("creator_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "path"),
)
Index("ix_resource_folders_parent", resource_folders.c.project_id, resource_folders.c.parent_path)

resource_files = Table(
    "resource_files",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("folder_path", String(1024), nullable=False),
    Column("name", String(128), nullable=False),
    Column("store", String(8), nullable=False),  # local | s3
    Column("bucket", String(128), nullable=False),
    Column("region", String(64), nullable=False),
    Column("remote_path", String(1200), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("source_mode", String(16), nullable=False),  # UPLOAD_MODE (our upload route) | COS_MODE
    Column("bundle_id", String(128)),
    Column("bundle_info", String(256)),
    Column("creator_uin", String(32), nullable=False),
    Column("update_user_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "folder_path", "name"),
)
Index("ix_resource_files_remote", resource_files.c.project_id, resource_files.c.remote_path)

resource_uploads = Table(
    "resource_uploads",
    metadata,
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("store", String(8), nullable=False),
    Column("bucket", String(128), nullable=False),
    Column("remote_path", String(1200), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("uploader_uin", String(32), nullable=False),
    Column("uploaded_at", DateTime, nullable=False),
    UniqueConstraint("store", "bucket", "remote_path"),
)
