"""The TaskTypeId table (spec §3.18): display names and node categories.

A task's node category (``TaskNodeTypeList`` in ListTasks, ``TaskFolderType`` of its folder) is
implied by its type; WeData does not publish the mapping, so this one follows the console's
grouping of node types (spec §3.18 "plausible mapping"). Types the spec lists without a group
(Kettle, the legacy script and custom types) go where the console shows them: GENERAL, or EMR
for the Hive script.

``TaskTypeDesc`` follows the official examples where they exist (35 ``Shell``, 30 ``Python``,
132 ``Notebook探索``) and the SDK's English type names elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from wedata.services.errors import InvalidValue

__all__ = [
    "FOLDER_TYPES",
    "NODE_CATEGORIES",
    "NODE_TYPES",
    "TASK_TYPE_NAMES",
    "TaskType",
    "known_task_type",
    "node_category",
    "task_type_desc",
    "task_type_ids",
]

# TaskFolderType values (spec §3.20). ACROSS_WORKFLOWS holds cross-workflow placeholder nodes.
FOLDER_TYPES: tuple[str, ...] = (
    "ETL",
    "EMR",
    "DLC",
    "SETATS",
    "TDSQL",
    "TCHOUSE",
    "GENERAL",
    "TI_ONE",
    "ACROSS_WORKFLOWS",
)
# TaskNodeTypeList values (ListTasks): the folder types minus ACROSS_WORKFLOWS, plus two
# categories whose nodes (quality rules, indicators) are not tasks of this API.
NODE_CATEGORIES: tuple[str, ...] = (
    "ETL",
    "EMR",
    "DLC",
    "SETATS",
    "TDSQL",
    "TCHOUSE",
    "GENERAL",
    "DATA_QUALITY",
    "INDICATOR",
    "TI_ONE",
)


@dataclass(frozen=True, slots=True)
class TaskType:
    id: int
    desc: str
    category: str


_TYPES: dict[int, TaskType] = {
    t.id: t
    for t in (
        TaskType(20, "通用数据同步", "ETL"),
        TaskType(21, "JDBC SQL", "TDSQL"),
        TaskType(23, "TDSQL-PostgreSQL", "TDSQL"),
        TaskType(25, "ETLTaskType", "ETL"),
        TaskType(26, "OfflineSynchronization", "ETL"),
        TaskType(30, "Python", "GENERAL"),
        TaskType(31, "PySpark", "EMR"),
        TaskType(32, "DLC SQL", "DLC"),
        TaskType(33, "Impala", "EMR"),
        TaskType(34, "Hive SQL", "EMR"),
        TaskType(35, "Shell", "GENERAL"),
        TaskType(36, "Spark SQL", "EMR"),
        TaskType(38, "Shell Form Mode", "GENERAL"),
        TaskType(39, "Spark", "EMR"),
        TaskType(40, "TCHouse-P", "TCHOUSE"),
        TaskType(41, "Kettle", "GENERAL"),
        TaskType(42, "TCHouse-X", "TCHOUSE"),
        TaskType(43, "TCHouse-X SQL", "TCHOUSE"),
        TaskType(46, "DLC Spark", "DLC"),
        TaskType(47, "TiOne", "TI_ONE"),
        TaskType(48, "Trino", "EMR"),
        TaskType(50, "DLC PySpark", "DLC"),
        TaskType(70, "HiveSQL Script", "EMR"),
        TaskType(92, "MapReduce", "EMR"),
        TaskType(130, "Branch Node", "GENERAL"),
        TaskType(131, "Merged Node", "GENERAL"),
        TaskType(132, "Notebook探索", "GENERAL"),
        TaskType(133, "SSH", "GENERAL"),
        TaskType(134, "StarRocks", "EMR"),
        TaskType(137, "For-each", "GENERAL"),
        TaskType(138, "Setats SQL", "SETATS"),
        TaskType(139, "DLC Spark Streaming", "DLC"),
        TaskType(140, "Run Workflow", "GENERAL"),
        TaskType(1000, "自定义业务通用", "GENERAL"),
        TaskType(10000, "自定义业务通用", "GENERAL"),
        # The 2021 API's cross-workflow placeholder node.
        TaskType(-1, "跨工作流", "ACROSS_WORKFLOWS"),
    )
}

_IDS_BY_CATEGORY: dict[str, frozenset[int]] = {
    c: frozenset(t.id for t in _TYPES.values() if t.category == c) for c in (*FOLDER_TYPES, *NODE_CATEGORIES)
}


def known_task_type(task_type_id: int) -> bool:
    return task_type_id in _TYPES


def node_category(task_type_id: int) -> str:
    """``TaskTypeId`` -> its node category (``GENERAL`` for Shell and Python, ``DLC`` ...).

    Raises InvalidValue for an id outside the table (the caller's input was wrong).
    """
    t = _TYPES.get(task_type_id)
    if t is None:
        raise InvalidValue(f"TaskTypeId {task_type_id} is not a known task type.")
    return t.category


def task_type_desc(task_type_id: int | None) -> str | None:
    """The display name (``TaskTypeDesc``); None for an id outside the table."""
    t = _TYPES.get(task_type_id) if task_type_id is not None else None
    return t.desc if t else None


def task_type_ids(category: str) -> frozenset[int]:
    """The type ids of a node category; empty for DATA_QUALITY and INDICATOR (not tasks here)."""
    return _IDS_BY_CATEGORY.get(category, frozenset())


# Names other modules import: TaskTypeId -> display name (``TaskTypeDesc``), and the
# TaskNodeTypeList values under the name ListTasks uses.
TASK_TYPE_NAMES: dict[int, str] = {t.id: t.desc for t in _TYPES.values()}
NODE_TYPES: tuple[str, ...] = NODE_CATEGORIES
