"""The catalog: the databases, schemas, tables and columns of the data sources and the lake,
introspected from the real databases and cached with stable GUIDs.

The domain owns the ``catalog_*`` tables (``storage/catalog_tables.py``, migration 0011) and the
six actions ListCatalog, ListDatabase, ListSchema, ListTable, GetTable and GetTableColumns. It
depends on datasources (whose sources, grants and connection properties it reads) and projects
(membership); the SQL work (tasks, scripts) sits above it and calls :meth:`CatalogService.mark_stale`
after a run that executed DDL.

Modules: ``catalog.py`` (the service), ``access.py`` (whose catalog a caller sees),
``introspect.py`` (PostgreSQL and MySQL wires), ``lakefile.py`` (the DuckDB lake and its
sharing with DLC runs), ``refresh.py`` (when and how a source is read again; the worker),
``store.py`` (the cache), ``model.py`` (snapshots, sources, GUIDs).

Decisions where WeData is silent:

- **Levels** (catalog → database → schema → table). The lake is the catalog
  ``DataLakeCatalog`` (WeData's DLC catalog); its databases are the DuckDB schemas of the lake
  file, with no schema level (``SchemaName`` null, like DLC's answers). A database source has no
  catalog (``CatalogName`` null, as in WeData's examples). PostgreSQL-wire sources have one
  database (the url's) and its schemas; MySQL-wire sources have databases and no schema level.
  Details in ``introspect.py`` and ``lakefile.py``. ListCatalog lists ``DataLakeCatalog``;
  catalogs have no children, so a ``ParentCatalogId`` other than ``"0"`` or empty lists nothing
  (WeData: "not supported yet"). ``CatalogName`` filters: ``DataLakeCatalog`` is the lake only,
  ``"0"`` or empty is every catalog (WeData's examples send ``"0"`` and answer sources without a
  catalog), any other name matches nothing.
- **GUIDs** are derived from (level, source, database, schema, name) (``model.py``): stable across
  refreshes, restarts and processes, 22 URL-safe base64 characters like WeData's.
- **Paging** as the spec says for these lists: ``PageNumber`` and ``PageSize`` required (the
  protocol answers ``MissingParameter``), ``PageSize`` 1 to 500, ``PageCount`` is the number of
  pages (api.json: "分页总页数"; WeData's examples show 0, the spec says compute it). Order:
  databases by name, schemas by database and name, tables by database, schema and name.
  ``Keyword`` is a case-insensitive substring of the name; ``DatabaseName``/``SchemaName`` are
  exact.
- **Who sees what** (``access.py``): the sources a project of the caller may use (owned or
  granted, as ``DataSourceService.require_use``) and the lake for any project member; a tenant
  administrator sees every source. An unknown ``DatasourceId`` is ``ResourceNotFound``, another
  project's ungranted source ``UnauthorizedOperation``, a source of a type the catalog does not
  read (HIVE, ORACLE, ...) ``UnsupportedOperation``; a GUID the caller may not see is
  ``ResourceNotFound``, as an unknown one.
- **Freshness** (``refresh.py``): a read refreshes, before answering, each source in its scope
  that was never read, was marked stale, or is older than ``WEDATA_CATALOG_MAX_AGE`` seconds
  (default 600). A read scoped to one source (``DatasourceId``, ``CatalogName``
  ``DataLakeCatalog``, a GUID) waits for it; an unscoped list waits at most 5 s and shows what
  was read by then. A source that cannot be read keeps its cached snapshot; with none, a scoped
  read answers ``FailedOperation`` with the driver's message (passwords scrubbed). The worker
  re-reads every catalogued source every ``WEDATA_CATALOG_REFRESH_INTERVAL`` seconds (default
  300; 0 turns it off). ``mark_stale(source_id)`` after DDL; ``refresh_source(source_id)`` reads
  at once. There is no refresh parameter in the API (the spec has none).
- **Times**: ``CreateTime``/``UpdateTime`` are ISO-8601 with the +08:00 offset, as WeData's
  catalog examples. MySQL's own times when it reports them; otherwise when the catalog first saw
  the table, and when it last saw its definition (type, comment, columns) change.
- **Columns**: ``Type`` as the database spells it (``character varying(64)``, ``varchar(64)``,
  ``decimal(10,2)``), ``Length`` the character length of character types (null otherwise),
  ``Position`` from 0 as in WeData's example, ``IsPartition`` for PostgreSQL partition keys. The
  spec has no nullability or primary-key fields, so none are shown.
- **Dev side**: the catalog reads a source's production connection.
"""
