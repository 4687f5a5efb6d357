"""The lineage vocabulary: node and process ids, the enums of the spec, and the records the
service hands the actions.

Node ids (``LineageNodeId``) look like WeData's (22 URL-safe base64 characters) and are derived,
like the catalog's GUIDs, from what they name: (platform, resource type, unique id) for a
resource, (``process``, platform, process type, process id) for a process.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row

# Fixed forever: changing it changes every node id.
_NAMESPACE = uuid.UUID("0c9e5d3a-4b1f-5e27-8a6d-2f4e9b7c1d35")

PLATFORMS = ("WEDATA", "THIRD")
RESOURCE_TYPES = ("TABLE", "METRIC", "MODEL", "SERVICE", "COLUMN")
DIRECTIONS = ("INPUT", "OUTPUT")
PROCESS_TYPES = ("SCHEDULE_TASK", "INTEGRATION_TASK", "THIRD_REPORT", "TABLE_MODEL", "MODEL_METRIC",
                 "METRIC_METRIC", "DATA_SERVICE", "SQL_SCRIPT")
PROCESS_SUB_TYPES = ("SQL_TASK", "INTEGRATED_STREAM", "INTEGRATED_OFFLINE", "SQL_SCRIPT")
WEDATA, THIRD = PLATFORMS
TABLE, COLUMN = "TABLE", "COLUMN"
TASK_PROCESS, SCRIPT_PROCESS = "SCHEDULE_TASK", "SQL_SCRIPT"
COLUMN_SEPARATOR = "::"  # a column's unique id: <table GUID>::<column name> (the spec's rule)


def _b64(text: str) -> str:
    raw = uuid.uuid5(_NAMESPACE, text).bytes
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def node_id(platform: str, resource_type: str, unique_id: str) -> str:
    return _b64("\x1f".join(("node", platform, resource_type, unique_id)))


def process_node_id(platform: str, process_type: str, process_id: str) -> str:
    return _b64("\x1f".join(("process", platform, process_type, process_id)))


def column_uid(table_guid: str, column: str) -> str:
    return f"{table_guid}{COLUMN_SEPARATOR}{column}"


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """A resource to store (written by the worker and RegisterLineage)."""

    platform: str
    resource_type: str
    unique_id: str
    name: str
    description: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    table_guid: str | None = None
    source_key: str | None = None

    @property
    def node_id(self) -> str:
        return node_id(self.platform, self.resource_type, self.unique_id)


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    platform: str
    process_type: str
    process_id: str
    sub_type: str | None = None
    properties: tuple[tuple[str, str], ...] = ()

    @property
    def node_id(self) -> str:
        return process_node_id(self.platform, self.process_type, self.process_id)


@dataclass(frozen=True, slots=True)
class Hop:
    """One item of ListLineage/ListColumnLineage: an edge of the reachable graph and its far
    end (the target going OUTPUT, the source going INPUT)."""

    node: Row[Any]  # lineage_nodes row of the far end
    source_node: str
    target_node: str
    source_unique_id: str
    target_unique_id: str
    depth: int
    upstream: int
    downstream: int
    processes: list[Row[Any]]


@dataclass(frozen=True, slots=True)
class Pair:
    """One item of ListProcessLineage: an edge the process produced."""

    source: Row[Any]
    target: Row[Any]
    processes: list[Row[Any]]
