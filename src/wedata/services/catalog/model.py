"""What an introspection yields (a :class:`Snapshot` of one source), the sources the catalog
reads (:class:`Source`), and the one GUID rule.

GUIDs look like WeData's (``bONctN4uSTN9qL_im1kfYA``: 16 bytes, URL-safe base64, no padding) and
are *derived*: the UUID5 of (level, source key, database, schema, name) under a fixed namespace.
The same object of the same source therefore has the same GUID in every snapshot, after every
restart, on every API process, and even after the cache was wiped; a table dropped and created
again under the same name gets its old GUID back. Two sources reaching one physical table give
it two GUIDs (one per source), as WeData's catalog does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from wedata.storage.catalog_tables import LAKE_KEY

# Fixed forever: changing it changes every GUID.
_NAMESPACE = uuid.UUID("6f3b1f5e-2a57-5c1e-9d0a-7e3c0f4b8a21")
GUID_LENGTH = 22

LAKE_CATALOG = "DataLakeCatalog"  # WeData's name of the DLC catalog (TablePhysicalId examples)
LAKE_TYPE = "DLC"


def guid(level: str, key: str, *names: str | None) -> str:
    text = "\x1f".join((level, key, *(n or "" for n in names)))
    raw = uuid.uuid5(_NAMESPACE, text).bytes
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def database_guid(key: str, database: str) -> str:
    return guid("database", key, database)


def schema_guid(key: str, database: str, schema: str) -> str:
    return guid("schema", key, database, schema)


def table_guid(key: str, database: str, schema: str | None, table: str) -> str:
    return guid("table", key, database, schema, table)


@dataclass(frozen=True, slots=True)
class Source:
    """A source the catalog reads: a data source (``data_source_id``) or the built-in lake."""

    key: str
    data_source_id: int | None
    source_type: str  # the data source's Type; DLC for the lake
    label: str  # how messages name it

    @property
    def catalog_name(self) -> str | None:
        """WeData answers ``CatalogName`` null for a database source; the lake is DataLakeCatalog."""
        return LAKE_CATALOG if self.key == LAKE_KEY else None


LAKE = Source(LAKE_KEY, None, LAKE_TYPE, "the lake")


@dataclass(frozen=True, slots=True)
class ColumnMeta:
    name: str
    type: str
    length: int | None
    description: str | None
    position: int  # 0-based, as WeData's GetTableColumns example
    is_partition: bool = False

    def wire_row(self) -> list[object]:
        return [self.name, self.type, self.length, self.description, self.position, self.is_partition]


@dataclass(frozen=True, slots=True)
class TableMeta:
    database: str
    schema: str | None
    name: str
    table_type: str
    description: str | None = None
    owner: str | None = None
    location: str | None = None
    storage_size: int | None = None
    created_at: datetime | None = None  # as the source reports it (naive UTC), if it does
    updated_at: datetime | None = None
    columns: tuple[ColumnMeta, ...] = ()

    def fingerprint(self) -> str:
        """Of the definition (type, comment, columns): when it changes, UpdateTime moves."""
        body = [self.table_type, self.description, [c.wire_row() for c in self.columns]]
        return hashlib.sha256(json.dumps(body, default=str).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class DatabaseMeta:
    name: str
    description: str | None = None
    location: str | None = None
    storage_size: int | None = None


@dataclass(frozen=True, slots=True)
class SchemaMeta:
    database: str
    name: str


@dataclass(slots=True)
class Snapshot:
    databases: list[DatabaseMeta] = field(default_factory=list)
    schemas: list[SchemaMeta] = field(default_factory=list)
    tables: list[TableMeta] = field(default_factory=list)

    def digest(self) -> str:
        """Of everything stored: a refresh that finds the same digest rewrites nothing."""
        h = hashlib.sha256()
        for d in self.databases:
            h.update(json.dumps(["d", d.name, d.description, d.location, d.storage_size]).encode())
        for s in self.schemas:
            h.update(json.dumps(["s", s.database, s.name]).encode())
        for t in self.tables:
            h.update(json.dumps(["t", t.database, t.schema, t.name, t.owner, t.location, t.storage_size,
                                 str(t.created_at), str(t.updated_at), t.fingerprint()]).encode())
        return h.hexdigest()
