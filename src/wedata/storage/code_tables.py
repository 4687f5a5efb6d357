"""Code studio tables (migration 0017_code_files), on the shared ``metadata``.

``code_nodes`` holds the folders and files of code studio (one table: a folder and a file of one
folder share the name space, and ListCodeFolderContents reads a tree in one query). A node lives
in one tree of its project: the shared tree (``tree`` = ``""``) or its owner's private tree
(``tree`` = the owner's Uin, paths under ``/~``); paths are unique in their tree. A file's
``content`` is its text as saved (a notebook's ``.ipynb`` JSON), ``config`` the
``CodeFileConfig`` wire dict, ``version_id`` its latest submitted version (null until the first
submit).

``code_versions``: one submitted version of a file (UpdateCodeFile with SubmitAction), the
content and config it had; ``version_no`` counts from 1 per file.

``code_grants``: one privilege (CAN_VIEW, CAN_RUN, CAN_EDIT, CAN_MANAGE) on a shared node for a
user (``subject_type`` ``user``, ``subject_id`` a Uin) or a project role (``role``, a role id).
A grant on a folder holds for everything below it (services/code/access.py).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
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

code_nodes = Table(
    "code_nodes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(8), nullable=False),  # SHARED | PRIVATE
    Column("tree", String(32), nullable=False),  # "" (shared) or the owner's Uin (private)
    Column("kind", String(8), nullable=False),  # folder | script
    Column("path", String(1024), nullable=False),
    Column("parent_path", String(1024), nullable=False),
    Column("name", String(256), nullable=False),
    Column("owner_uin", String(32), nullable=False),
    Column("update_user_uin", String(32), nullable=False),
    Column("content", Text),  # files: the text as saved
    Column("config", JSON),  # files: the CodeFileConfig wire dict
    Column("version_id", String(36)),  # files: the latest submitted version
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "tree", "path"),
)
# ListCodeFolderContents reads the nodes of a tree below a path.
Index("ix_code_nodes_tree_parent", code_nodes.c.project_id, code_nodes.c.tree, code_nodes.c.parent_path)

code_versions = Table(
    "code_versions",
    metadata,
    Column("id", String(36), primary_key=True),  # the VersionId
    Column("file_id", String(36), ForeignKey("code_nodes.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("version_no", Integer, nullable=False),
    Column("content", Text, nullable=False),
    Column("config", JSON),
    Column("create_user_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("file_id", "version_no"),
)

code_grants = Table(
    "code_grants",
    metadata,
    Column("node_id", String(36), ForeignKey("code_nodes.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("subject_type", String(8), nullable=False),  # user | role
    Column("subject_id", String(32), nullable=False),  # a Uin or a project role id
    Column("privilege", String(16), nullable=False),  # CAN_VIEW | CAN_RUN | CAN_EDIT | CAN_MANAGE
    Column("granted_by", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    PrimaryKeyConstraint("node_id", "subject_type", "subject_id", "privilege"),
)
# The grants of one user or role in a project (a caller's permissions over a listing).
Index("ix_code_grants_subject", code_grants.c.project_id, code_grants.c.subject_type, code_grants.c.subject_id)
