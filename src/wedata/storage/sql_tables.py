"""SQL script tables (migration 0010_sql_scripts), on the shared ``metadata``.

Conventions as in tables.py. ``sql_nodes`` holds both folders and scripts of data exploration
(one table: a folder and a script of one folder share the name space, and ListSQLFolderContents
reads a tree in one query). A node lives in one tree of its project: the shared tree
(``tree`` = ``""``) or one user's private tree (``tree`` = the owner's Uin); paths are unique in
their tree. A script's ``content`` is the decoded text; ``config`` the ``SQLScriptConfig`` wire
dict as saved.

``sql_runs`` is one RunSQLScript (the JobId) and ``sql_run_statements`` its statements (the
JobExecutions), whose result previews (``columns``, ``rows``: JSON, every cell a string or
null) are written as each statement ends and deleted when the results expire. A run's
``runner_id``/``heartbeat_at`` say which server process executes it (services/sql/queue.py).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
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

sql_nodes = Table(
    "sql_nodes",
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
    Column("content", Text),  # scripts: the text, decoded
    Column("config", JSON),  # scripts: the SQLScriptConfig wire dict
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "tree", "path"),
)
# ListSQLFolderContents reads the nodes of a tree below a path.
Index("ix_sql_nodes_tree_parent", sql_nodes.c.project_id, sql_nodes.c.tree, sql_nodes.c.parent_path)

sql_runs = Table(
    "sql_runs",
    metadata,
    Column("id", String(24), primary_key=True),  # the JobId
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("script_id", String(64), nullable=False),  # a saved script's id, or "adhoc-<uuid>"
    Column("adhoc", Boolean, nullable=False, default=False),
    Column("job_name", String(256), nullable=False),
    Column("scope", String(8), nullable=False),  # who sees it: SHARED (members) | PRIVATE (user_uin)
    Column("user_uin", String(32), nullable=False),  # who ran it
    Column("owner_uin", String(32), nullable=False),  # the script's owner (the user for ad-hoc runs)
    Column("data_source_id", BigInteger, nullable=False),
    Column("side", String(8), nullable=False),  # prod | dev
    Column("compute_resource", String(64)),
    Column("resource_group_id", String(32), nullable=False, default=""),  # "" = the default group
    Column("content", Text, nullable=False),  # the rendered text that runs
    Column("params", Text),  # RunSQLScript.Params, decoded (kept, not used)
    Column("status", String(16), nullable=False),  # QUEUED RUNNING SUCCESS FAILED CANCELED
    Column("message", Text),  # why it failed or was stopped
    Column("truncated", Boolean, nullable=False, default=False),
    Column("stop_requested_by", String(32)),
    Column("runner_id", String(128)),
    Column("heartbeat_at", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime),
    Column("ended_at", DateTime),
    Column("results_purged", Boolean, nullable=False, default=False),
)
# The queue: QUEUED runs oldest first; RUNNING ones by runner.
Index("ix_sql_runs_status_created", sql_runs.c.status, sql_runs.c.created_at)
# ListSQLScriptRuns: the runs of one script, newest first.
Index("ix_sql_runs_script", sql_runs.c.project_id, sql_runs.c.script_id, sql_runs.c.created_at)
# The expiry sweep.
Index("ix_sql_runs_ended", sql_runs.c.ended_at)

sql_run_statements = Table(
    "sql_run_statements",
    metadata,
    Column("run_id", String(24), ForeignKey("sql_runs.id", ondelete="CASCADE"), nullable=False),
    Column("idx", Integer, nullable=False),  # 1-based, in the order the statements run
    Column("sql", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("columns", JSON),  # [{"name": ..., "type": ...}] of a result set; null otherwise
    Column("rows", Text),  # JSON [[cell, ...], ...], at most the limits; null once expired
    Column("row_count", BigInteger),  # rows affected, or rows the result set had (as reported)
    Column("preview_count", Integer, nullable=False, default=0),
    Column("truncated", Boolean, nullable=False, default=False),
    Column("cost_ms", Integer),
    Column("error", Text),
    Column("started_at", DateTime),
    Column("ended_at", DateTime),
    PrimaryKeyConstraint("run_id", "idx"),
)
