"""Lineage: table- and column-level edges between resources, computed from the SQL that really
ran (SQL tasks, SQL scripts) and registered by callers (RegisterLineage/DeleteLineage), listed
upstream and downstream (ListLineage, ListColumnLineage) and per process (ListProcessLineage).

The domain owns the ``lineage_*`` tables (``storage/lineage_tables.py``, migration 0012). It
depends on the catalog (table GUIDs, columns, who sees which source, refreshing a source) and,
through it, on datasources; the SQL work (tasks in the engine, scripts in services/sql) hands
it raw material through a storage function (``storage.lineage_tables.record_run``) and so
imports nothing of it.

Modules: ``lineage.py`` (the service), ``automatic.py`` (the worker that parses runs),
``extract.py`` (pure sqlglot: one statement -> table and column edges), ``store.py`` (writes,
the recursive traversal), ``model.py`` (ids, enums, records).

Decisions where WeData is silent:

- **Where parsing happens**: not in the engine. The transaction that ends a successful SQL
  attempt inserts one ``lineage_runs`` row (the statements as they ran, the dialect, the
  connection's database); the script worker does the same after a successful run. A lineage
  worker in every server process (``BackgroundWorker``, 1 s) parses them. The engine's cost is
  one INSERT; a burst of runs of one process is parsed once (the newest wins).
- **Identity**: a WeData table is its catalog GUID (``services/catalog/model.py``: lineage and
  catalog agree); a column ``<table GUID>::<column>`` (api.json: "表ResourceUniqueId::字段名称");
  THIRD resources are whatever id the caller gives. ``LineageNodeId`` is derived (UUID5) from
  (platform, type, unique id); a relation's ``SourceUniqueId``/``TargetUniqueId`` are node ids
  and ``RelationId`` is ``<source node>::<target node>``, as in WeData's examples.
- **Processes**: a SQL task is ``SCHEDULE_TASK``/``SQL_TASK`` with its TaskId; a SQL script is
  ``SQL_SCRIPT`` with its ScriptId (an ad-hoc run is its own process). Each new successful run
  REPLACES the process's automatic edges (stale edges disappear when the SQL changes);
  registered edges (``manual``) are never touched by that. A Shell/Python task records nothing.
- **What resolves**: the statements are qualified against the catalog's columns of the tables
  they name (refreshed first when the catalog is due, e.g. after a CTAS), so ``SELECT *``, CTEs,
  subqueries, set operations, ``INSERT [OVERWRITE]``, ``CREATE TABLE|VIEW AS``, ``MERGE`` and
  ``UPDATE ... FROM`` give real columns. Column edges follow values (not filters or join keys).
  A table the catalog does not know (temporary, dropped in the same run) gives no edge; a
  statement sqlglot cannot parse is skipped. Both are said in the server log (``wedata.lineage``)
  and the run's note; the SQL run itself has succeeded regardless.
- **Traversal**: ``ListLineage``/``ListColumnLineage`` have no depth field; they follow
  ``WEDATA_LINEAGE_DEPTH`` hops (default 5, 1..20) in ONE recursive query. An item is an edge of
  the reachable graph: ``Resource`` its far end (the target going OUTPUT, the source going
  INPUT), ``Relation`` the edge with its processes, the far end's direct Up/DownStreamCount;
  nearest first, then by name. ``Platform`` names the platform of the requested resource; the
  walk follows automatic and registered edges alike.
- **Paging** as the catalog's: ``PageNumber``/``PageSize`` required, ``PageSize`` 1..500,
  ``PageCount`` the number of pages; a page past the end is empty with the right totals.
- **Who sees what**: none of the five actions has a ``ProjectId``. A caller must be a member of
  a project (or a tenant administrator); a WeData resource is visible when its catalog source
  is (``services/catalog/access.py``); a WeData resource of a source the caller may not see is
  ``ResourceNotFound`` as an unknown one, and is left out of traversal answers.
- **RegisterLineage**: every relation is checked before anything is written (one transaction):
  WeData resources must exist in the catalog (a column in its table), THIRD ones may be anything;
  at least one process each, with the spec's ``ProcessType`` values (plus ``SQL_SCRIPT``); the
  relations of one request may not form a cycle (a self-edge included). Registering an edge
  that exists is a no-op. **DeleteLineage** removes registered edges only: an edge computed
  from SQL is refused with ``InvalidParameterValue`` (change the SQL), an unknown one is
  ``ResourceNotFound``, and then nothing of the request is deleted.
"""
