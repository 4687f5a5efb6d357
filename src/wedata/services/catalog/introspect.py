"""Reading a database source's metadata: one query per level (databases, schemas, tables,
columns), never one per table, on the source's pooled connection (its prod side).

How WeData's levels map onto each wire:

- **PostgreSQL wire** (POSTGRE, TDSQL_POSTGRE, GREENPLUM, TBASE, TCHOUSE_P): the database is the
  one the source's url names (a PostgreSQL connection sees one database; the others would each
  need their own connection); schemas are its schemas the source's user may use (``USAGE``),
  without ``pg_catalog``, ``information_schema``, ``pg_toast`` and temporary schemas; tables are
  the relations of those schemas: tables and partitioned tables (``TABLE``), views (``VIEW``),
  materialized views (``MATERIALIZED_VIEW``), foreign tables (``FOREIGN_TABLE``). The
  partitions of a partitioned table are not listed (its parent is), and the parent's partition
  key columns are ``IsPartition``. Owner and size (``pg_total_relation_size``) come from the
  catalog; descriptions are ``COMMENT ON``.
- **MySQL wire** (MYSQL, TENCENT_MYSQL, TDSQL_MYSQL, TiDB, DORIS, StarRocks, TCHOUSE_D): no
  schema level (ListSchema lists nothing, tables have ``SchemaName`` null). The databases are the
  one the url names, or, when it names none, every database the user sees but the system ones
  (``information_schema``, ``mysql``, ``performance_schema``, ``sys``). ``BASE TABLE`` (and
  MariaDB's ``SYSTEM VERSIONED``) is ``TABLE``, ``VIEW`` is ``VIEW``; sequences are not tables.
  CreateTime/UpdateTime are the server's own (converted to UTC with the session's offset) when
  it reports them; size is data + index length.

PostgreSQL reports no creation time: the catalog then shows when it first saw the table, and
UpdateTime when it last saw its definition change (services/catalog/store.py).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, text

from wedata.services.catalog.model import ColumnMeta, DatabaseMeta, SchemaMeta, Snapshot, TableMeta
from wedata.storage.catalog_tables import NAME_MAX

# Introspection queries are catalog reads; this bounds one that a busy server would hold.
STATEMENT_TIMEOUT_MS = 60_000

_PG_SCHEMAS_WHERE = """
    n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
    AND has_schema_privilege(n.oid, 'USAGE')
"""
_PG_RELATIONS_WHERE = f"c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition AND {_PG_SCHEMAS_WHERE}"
_PG_KINDS = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED_VIEW", "f": "FOREIGN_TABLE"}

PG_DATABASE = text("""
    SELECT d.datname AS name, sd.description, pg_database_size(d.oid) AS size
    FROM pg_database d
    LEFT JOIN pg_shdescription sd ON sd.objoid = d.oid AND sd.classoid = 'pg_database'::regclass
    WHERE d.datname = current_database()
""")
PG_SCHEMAS = text(f"SELECT n.nspname AS name FROM pg_namespace n WHERE {_PG_SCHEMAS_WHERE}")
PG_TABLES = text(f"""
    SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, ds.description,
           pg_get_userbyid(c.relowner) AS owner, pg_total_relation_size(c.oid) AS size
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = 0
    WHERE {_PG_RELATIONS_WHERE}
""")
PG_COLUMNS = text(f"""
    SELECT n.nspname AS schema, c.relname AS "table", a.attname AS name,
           format_type(a.atttypid, a.atttypmod) AS type,
           CASE WHEN a.atttypid IN (1042, 1043) AND a.atttypmod > 4 THEN a.atttypmod - 4 END AS length,
           ds.description,
           COALESCE(a.attnum = ANY (pt.partattrs::int2[]), false) AS is_partition
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
    LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass
                                AND ds.objsubid = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped AND {_PG_RELATIONS_WHERE}
    ORDER BY n.nspname, c.relname, a.attnum
""")

MYSQL_SYSTEM = ("information_schema", "mysql", "performance_schema", "sys")
_MYSQL_TYPES = {"BASE TABLE": "TABLE", "SYSTEM VERSIONED": "TABLE", "VIEW": "VIEW"}


def _fits(*names: str | None) -> bool:
    return all(n is None or len(n) <= NAME_MAX for n in names)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _group_columns(rows: Any, key_of: Any) -> dict[Any, tuple[ColumnMeta, ...]]:
    grouped: dict[Any, list[ColumnMeta]] = defaultdict(list)
    for r in rows:
        cols = grouped[key_of(r)]
        cols.append(ColumnMeta(r.name, r.type, int(r.length) if r.length is not None else None,
                               _text_or_none(r.description), len(cols), bool(r.is_partition)))
    return {k: tuple(v) for k, v in grouped.items()}


def read_postgres(engine: Engine) -> Snapshot:
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
        db = conn.execute(PG_DATABASE).one()
        schemas = [r.name for r in conn.execute(PG_SCHEMAS)]
        tables = conn.execute(PG_TABLES).all()
        columns = _group_columns(conn.execute(PG_COLUMNS), lambda r: (r.schema, r.table))
        conn.rollback()
    snap = Snapshot(databases=[DatabaseMeta(db.name, _text_or_none(db.description), None, db.size)])
    snap.schemas = [SchemaMeta(db.name, s) for s in sorted(schemas) if _fits(s)]
    snap.tables = [
        TableMeta(db.name, t.schema, t.name, _PG_KINDS[t.kind], _text_or_none(t.description), t.owner, None,
                  None if t.kind == "v" else t.size, columns=columns.get((t.schema, t.name), ()))
        for t in tables if _fits(t.schema, t.name)
    ]
    return snap


def read_mysql(engine: Engine, database: str | None) -> Snapshot:
    params: dict[str, Any]
    if database is not None:
        where, params = "= :db", {"db": database}
    else:
        where, params = "NOT IN :system", {"system": MYSQL_SYSTEM}

    def q(sql: str) -> Any:
        stmt = text(sql.replace("<WHERE>", where))
        return stmt.bindparams(bindparam("system", expanding=True)) if database is None else stmt

    with engine.connect() as conn:
        offset = conn.execute(text("SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW())")).scalar() or 0
        names = [r[0] for r in conn.execute(
            q("SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name <WHERE>"), params)]
        tables = conn.execute(q("""
            SELECT table_schema AS db, table_name AS name, table_type AS kind, table_comment AS description,
                   create_time AS created, update_time AS updated,
                   COALESCE(data_length, 0) + COALESCE(index_length, 0) AS size
            FROM information_schema.tables WHERE table_schema <WHERE>
        """), params).all()
        columns = _group_columns(conn.execute(q("""
            SELECT table_schema AS db, table_name AS "table", column_name AS name, column_type AS type,
                   character_maximum_length AS length, column_comment AS description,
                   0 AS is_partition
            FROM information_schema.columns WHERE table_schema <WHERE>
            ORDER BY table_schema, table_name, ordinal_position
        """.replace('"table"', "`table`")), params), lambda r: (r.db, r.table))
        conn.rollback()
    shift = timedelta(seconds=int(offset))
    sizes: dict[str, int] = defaultdict(int)
    snap = Snapshot()
    for t in tables:
        kind = _MYSQL_TYPES.get(t.kind)
        if kind is None or not _fits(t.db, t.name):
            continue
        sizes[t.db] += int(t.size or 0)
        description = _text_or_none(t.description)
        if kind == "VIEW" and description == "VIEW":  # MySQL's placeholder comment of a view
            description = None
        snap.tables.append(TableMeta(
            t.db, None, t.name, kind, description, None, None, int(t.size or 0) if kind == "TABLE" else None,
            t.created - shift if t.created is not None else None,
            t.updated - shift if t.updated is not None else None,
            columns.get((t.db, t.name), ()),
        ))
    snap.databases = [DatabaseMeta(n, None, None, sizes.get(n, 0)) for n in sorted(names) if _fits(n)]
    return snap
