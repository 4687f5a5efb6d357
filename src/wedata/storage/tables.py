"""The relational schema (SQLAlchemy Core). Alembic migrations under ``migrations/`` create it.

Conventions: every datetime column holds naive UTC; every constraint is named (Alembic batch
mode on SQLite needs names); ids are WeData's own formats, stored as strings; JSON columns hold
structured definitions in the shapes documented next to them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# Surrogate keys of high-volume tables. SQLite only auto-increments an ``INTEGER PRIMARY KEY``
# (the rowid alias), not BIGINT, so the type is INTEGER there and BIGINT elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")

credentials = Table(
    "credentials",
    metadata,
    Column("secret_id", String(64), primary_key=True),
    # Encrypted (storage/secrets.py): "wdenc1:" + Fernet token of at most 128 / 256 plain characters.
    Column("secret_key", String(512), nullable=False),
    Column("uin", String(32), nullable=False),
    Column("token", String(1024)),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("description", String(256), nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", String(19), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("display_name", String(64), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("creator_uin", String(32), nullable=False),
    Column("owner_uin", String(32), nullable=False),
    # 0 disabled, 1 enabled (WeData's Project.Status)
    Column("status", Integer, nullable=False, default=1),
    Column("project_model", String(16), nullable=False, default="SIMPLE"),
    Column("schedule_mode", String(16), nullable=False, default="task"),
    Column("dlc_info", JSON),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # Soft delete: a deleted project answers ResourceNotFound, its rows stay for audit.
    Column("deleted_at", DateTime),
)
Index("ix_projects_name_live", projects.c.name, unique=True, sqlite_where=projects.c.deleted_at.is_(None),
      postgresql_where=projects.c.deleted_at.is_(None))

project_members = Table(
    "project_members",
    metadata,
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("user_uin", String(32), nullable=False),
    Column("user_name", String(64), nullable=False, default=""),
    Column("is_creator", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
    PrimaryKeyConstraint("project_id", "user_uin"),
)

project_member_roles = Table(
    "project_member_roles",
    metadata,
    Column("project_id", String(19), nullable=False),
    Column("user_uin", String(32), nullable=False),
    Column("role_id", String(64), nullable=False),
    PrimaryKeyConstraint("project_id", "user_uin", "role_id"),
    # Roles go with the membership.
    ForeignKeyConstraint(
        ["project_id", "user_uin"], ["project_members.project_id", "project_members.user_uin"], ondelete="CASCADE"
    ),
)

resource_groups = Table(
    "resource_groups",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("group_type", String(16), nullable=False),  # Schedule | Integration | DataService
    Column("specification", JSON, nullable=False),  # the ResourceType wire object as given
    Column("region", String(64), nullable=False),
    Column("vpc_id", String(64), nullable=False),
    Column("subnet", String(64), nullable=False),
    Column("auto_renew", Boolean, nullable=False, default=False),
    Column("purchase_period", Integer, nullable=False, default=1),
    Column("tags", JSON),
    Column("status", Integer, nullable=False, default=1),
    # How many instances may run at once on this group (the scheduler's slots).
    Column("max_concurrency", Integer, nullable=False),
    Column("creator_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("name"),
)

resource_group_projects = Table(
    "resource_group_projects",
    metadata,
    Column("resource_group_id", String(20), ForeignKey("resource_groups.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    PrimaryKeyConstraint("resource_group_id", "project_id"),
)
# ListResourceGroups(ProjectIds) and the per-project lookups go from the project side.
Index("ix_resource_group_projects_project_id", resource_group_projects.c.project_id)

workflow_folders = Table(
    "workflow_folders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("path", String(1024), nullable=False),  # absolute, e.g. /a/b
    Column("parent_path", String(1024), nullable=False),  # /a ; "/" for a root child
    Column("name", String(256), nullable=False),
    Column("creator_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "path"),
)
# ListWorkflowFolders lists the direct children of one path.
Index("ix_workflow_folders_project_parent", workflow_folders.c.project_id, workflow_folders.c.parent_path)

workflows = Table(
    "workflows",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("folder_path", String(1024), nullable=False),
    Column("workflow_type", String(16), nullable=False, default="cycle"),
    Column("description", Text, nullable=False, default=""),
    Column("owner_uin", String(32), nullable=False),
    Column("create_user_uin", String(32), nullable=False),
    Column("update_user_uin", String(32), nullable=False),
    Column("params", JSON),  # [{"ParamKey", "ParamValue"}]
    Column("scheduler_config", JSON),  # WorkflowSchedulerConfiguration wire dict, or null
    Column("bundle_id", String(256)),
    Column("bundle_info", Text),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "name"),
)
Index("ix_workflows_project_folder", workflows.c.project_id, workflows.c.folder_path)

task_folders = Table(
    "task_folders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(19), nullable=False),
    Column("workflow_id", String(36), ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("folder_type", String(32), nullable=False),
    Column("path", String(1024), nullable=False),
    Column("parent_path", String(1024), nullable=False),
    Column("name", String(256), nullable=False),
    Column("creator_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("workflow_id", "folder_type", "path"),
)
# ListTaskFolders lists the direct children of one folder of one tree.
Index("ix_task_folders_tree_parent", task_folders.c.workflow_id, task_folders.c.folder_type, task_folders.c.parent_path)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(24), primary_key=True),
    Column("project_id", String(19), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("workflow_id", String(36), ForeignKey("workflows.id"), nullable=False),
    Column("name", String(256), nullable=False),
    # lower(name), computed by the database on every write of the name: TaskName searches it
    # (services/tasks/search.py) without lowering each name they check (0036_name_folded).
    Column("name_folded", Text, Computed("lower(name)")),
    Column("task_type_id", Integer, nullable=False),
    Column("owner_uin", String(32), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("folder_path", String(1024)),
    # N new, Y scheduling, F offline, O paused, T stopping, INVALID (task Status enum)
    Column("status", String(8), nullable=False, default="N"),
    Column("latest_version_no", Integer, nullable=False, default=1),
    Column("latest_submit_version_no", Integer),
    # The SUBMIT version the scheduler runs (task_versions.version_id), null until submitted.
    Column("prod_version_id", String(64)),
    # Dev-side definition: {"TaskConfiguration": {...}, "TaskSchedulerConfiguration": {...}} in
    # canonical wire form (new field names, CodeContent as plain text).
    Column("definition", JSON, nullable=False),
    # Denormalised from the definition for list filters.
    Column("cycle_type", String(32), nullable=False, default="DAY_CYCLE"),
    Column("resource_group_id", String(32)),
    Column("bundle_id", String(256)),  # TaskConfiguration.BundleId (ListTasks' BundleId filter)
    Column("create_user_uin", String(32), nullable=False),
    Column("update_user_uin", String(32), nullable=False),
    Column("update_user_name", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("last_ops_at", DateTime),
    Column("last_ops_user_name", String(64)),
    UniqueConstraint("project_id", "name"),
)
Index("ix_tasks_project_workflow", tasks.c.project_id, tasks.c.workflow_id)
# ListTasks' equality filters, each with the list's order (newest first): the count and the
# page's ids from the index alone; ModifyTime's range carries created_at (migration 0025_list_filters).
Index("ix_tasks_project_status", tasks.c.project_id, tasks.c.status, tasks.c.created_at, tasks.c.id)
Index("ix_tasks_project_bundle", tasks.c.project_id, tasks.c.bundle_id)
Index("ix_tasks_project_owner", tasks.c.project_id, tasks.c.owner_uin, tasks.c.created_at, tasks.c.id)
Index("ix_tasks_project_creator", tasks.c.project_id, tasks.c.create_user_uin, tasks.c.created_at, tasks.c.id)
Index("ix_tasks_project_type", tasks.c.project_id, tasks.c.task_type_id, tasks.c.created_at, tasks.c.id)
Index("ix_tasks_project_updated", tasks.c.project_id, tasks.c.updated_at, tasks.c.id, tasks.c.created_at)
# ListTasks pages a project's tasks newest first: the page's ids are an index-only walk
# (services/paging.py; the id added by migration 0024_scale_indexes). On PostgreSQL it carries the
# type and the lowered name, so a filter that keeps most tasks (TaskNodeTypeList, a common
# TaskName) is checked during that walk instead of on each row (migrations 0030_list_includes,
# 0036_name_folded).
Index("ix_tasks_project_created", tasks.c.project_id, tasks.c.created_at, tasks.c.id,
      postgresql_include=["task_type_id", "name_folded"])
# The planner's look for changed tasks (scheduler/planner.py ``changed``) compares every task's
# submitted version and status with its plan on each engine iteration: from this index alone,
# not from the wide rows (their definitions). Migration 0024_scale_indexes.
Index("ix_tasks_plan_state", tasks.c.id, tasks.c.prod_version_id, tasks.c.status, tasks.c.workflow_id)
# ListTasks' Submit filter: "the latest saved version is the submitted one" compares two columns
# of the row, which no ordinary index serves. The comparison is indexed as an expression, in the
# list's order (migration 0028_submit_indexes, which says what it gains), and
# services/tasks/queries.py filters on exactly this expression.
task_submitted = func.coalesce(tasks.c.latest_submit_version_no == tasks.c.latest_version_no, false())
# On PostgreSQL the two compared columns are included, so the expression is read from the index
# alone (migration 0029_folder_prefix).
Index("ix_tasks_project_submit", tasks.c.project_id, task_submitted, tasks.c.created_at, tasks.c.id,
      postgresql_include=["latest_submit_version_no", "latest_version_no"])

task_versions = Table(
    "task_versions",
    metadata,
    Column("version_id", String(64), primary_key=True),  # <TaskId>_<yyyyMMddHHmmssSSS>
    Column("task_id", String(24), ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),  # SAVE | SUBMIT
    Column("version_no", Integer, nullable=False),  # the N of VN (a SUBMIT records its SAVE's N)
    Column("remark", Text, nullable=False, default=""),
    Column("create_user_uin", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    # Full Task snapshot in canonical wire form (base attributes + definition).
    Column("snapshot", JSON, nullable=False),
    Column("status", String(8)),  # production status of a SUBMIT version
    Column("approve_status", String(32)),
    Column("approve_user_uin", String(32)),
    Column("approved_at", DateTime),
)
Index("ix_task_versions_task_kind", task_versions.c.task_id, task_versions.c.kind, task_versions.c.version_no)

# Dependency edges, stored once and projected both ways. ``side`` is "dev" (the saved definitions)
# or "prod" (the submitted ones the scheduler follows).
task_dependencies = Table(
    "task_dependencies",
    metadata,
    Column("side", String(4), nullable=False),
    Column("task_id", String(24), nullable=False),  # downstream
    Column("upstream_task_id", String(24), nullable=False),
    Column("main_cyclic_config", String(32), nullable=False),
    Column("subordinate_cyclic_config", String(64)),
    Column("offset", String(256)),
    Column("dependency_strategy", JSON),
    Column("created_at", DateTime, nullable=False),
    PrimaryKeyConstraint("side", "task_id", "upstream_task_id"),
)
Index("ix_task_dependencies_upstream", task_dependencies.c.side, task_dependencies.c.upstream_task_id)
