"""The vocabulary of catalog grants: resources, subjects, privileges (services/permissions/catalog.py
says what they mean)."""

from __future__ import annotations

from dataclasses import dataclass

from wedata.services.catalog.model import LAKE_CATALOG
from wedata.services.errors import InvalidValue, Unsupported

LEVEL_NAMES = ("Catalog", "Schema", "Table")
NAME_MAX = 255


@dataclass(frozen=True, slots=True)
class Privilege:
    name: str
    display_name: str
    description: str
    levels: tuple[str, ...]
    is_read: bool = False
    is_edit: bool = False
    is_manage: bool = False


_ALL = LEVEL_NAMES
PRIVILEGES: dict[str, Privilege] = {p.name: p for p in (
    Privilege("USE_CATALOG", "use catalog", "Use the catalog (recorded; not required by the SQL check)",
              ("Catalog",), is_read=True),
    Privilege("USE_SCHEMA", "use schema", "Use the schema (recorded; not required by the SQL check)",
              ("Catalog", "Schema"), is_read=True),
    Privilege("CREATE_SCHEMA", "create schema", "Create schemas in the catalog", ("Catalog",), is_edit=True),
    Privilege("CREATE_TABLE", "create table", "Create tables in the schema", ("Catalog", "Schema"), is_edit=True),
    Privilege("SELECT_TABLE", "select table", "Read the rows of the table", _ALL, is_read=True),
    Privilege("MODIFY_TABLE", "modify table", "Write, truncate, alter or drop the table", _ALL, is_edit=True),
    Privilege("MANAGE_GRANTS", "manage grants", "Grant and revoke privileges on the resource", _ALL,
              is_manage=True),
)}


@dataclass(frozen=True, slots=True)
class Res:
    level: str  # Catalog | Schema | Table
    catalog: str
    schema: str = ""
    table: str = ""

    @property
    def uri(self) -> str:
        return ".".join(p for p in (self.catalog, self.schema, self.table) if p)


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str  # User | Project | Role
    value: str


def parse_resource(resource_type: str | None, uri: str | None, field: str) -> Res:
    kind = (resource_type or "").strip().capitalize()
    if kind == "Metalake":
        raise Unsupported(f"{field}.ResourceType: Metalake grants are not supported here; grant on a catalog")
    if kind not in LEVEL_NAMES:
        raise InvalidValue(f"{field}.ResourceType must be Catalog, Schema or Table, got {resource_type!r}")
    parts = (uri or "").strip().split(".")
    depth = LEVEL_NAMES.index(kind) + 1
    if len(parts) != depth or any(not p or len(p) > NAME_MAX for p in parts):
        shape = ".".join(("<catalog>", "<schema>", "<table>")[:depth])
        raise InvalidValue(f"{field}.ResourceUri of a {kind} is {shape}, got {uri!r}")
    catalog = parts[0]
    if catalog != LAKE_CATALOG and not (catalog.isdigit() and len(catalog) <= 18):
        raise InvalidValue(f"{field}.ResourceUri: the catalog is {LAKE_CATALOG} or a data source Id, got {catalog!r}")
    return Res(kind, catalog, parts[1] if depth > 1 else "", parts[2] if depth > 2 else "")
