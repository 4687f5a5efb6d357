"""Data sources: connections to the users' databases, their secrets, grants and references.

The domain owns the ``data_sources`` and ``data_source_grants`` tables
(``storage/datasource_tables.py``) and the nine actions CreateDataSource, GetDataSource,
UpdateDataSource, DeleteDataSource, ListDataSources, AuthorizeDataSource,
RevokeDataSourceAuthorization, DescribeDataSourceAuthority and GetDataSourceRelatedTasks. It
depends on projects only (``workflows | datasources`` in the domain contract): tasks, scripts
and the catalog come after it and call ``DataSourceService.require_use`` (may this project and
user use the source?) and ``DataSourceService.engine`` (the source's pooled SQLAlchemy engine).
Connections themselves are ``executors/sql/connections.py``.

Modules: ``datasources.py`` (the service), ``properties.py`` (types, names, ConProperties,
masking), ``access.py`` (who may do what), ``grants.py`` (grants), ``references.py`` (the
tasks that name a source).

Decisions where WeData is silent:

- **Ids** are integers from 1, never reused after a delete.
- **Names**: ``Name`` starts with a letter and holds letters, digits and ``_`` (at most 64),
  unique in its project (``InvalidParameter.DuplicateName``); it cannot change (UpdateDataSource
  has no Name). ``DisplayName`` (at most 64, no control characters) defaults to the Name, as in
  WeData's GetDataSource example; ``Description`` at most 1024 characters. ``Type`` is one of the
  types WeData's documentation lists, spelled exactly as there (``TiDB``, ``StarRocks``).
- **Connection properties** are a JSON object in a string, at most 64 KiB, no NUL anywhere.
  For the MySQL- and PostgreSQL-wire types (``executors/sql/connections.py``) ``url`` (JDBC, of
  the type's protocol) and ``username`` are required and ``password`` optional; the other keys
  WeData sends (``deployType``, ``region``, ``vpcId``, ...) are kept and shown, not used. Every
  other type is stored and listed with whatever properties it was given, untested; testing or
  running it answers ``UnsupportedOperation`` naming the type. A STANDARD project needs
  ``DevConProperties`` (WeData: "若项目为标准模式，则此字段必填"); without dev properties a
  source's dev side is its prod side.
- **Connection test**: CreateDataSource tests every side it is given, UpdateDataSource the sides
  whose properties it changes (a rename does not need the database up): connect + ``SELECT 1``
  within ``WEDATA_DATASOURCE_TEST_TIMEOUT`` seconds (default 5). A failure refuses the save with
  ``InvalidParameterValue`` (the properties are the parameter at fault), the message naming the
  field and carrying the driver's own message, e.g. ``ProdConProperties: the connection test
  failed: (1045) Access denied for user 'app'@'10.0.0.5' (using password: YES)``. Nothing is
  saved: the test runs before the write transaction, outside it (it may take the whole timeout).
- **Secrets**: the complete properties are stored only encrypted (``storage/secrets.py``); a
  second, masked copy is what Get/List show, so a list decrypts nothing. Secret keys and the mask
  (``********``, as WeData shows) are in ``properties.py``. An update that sends the mask back
  (a client that round-trips Get -> Update) keeps the stored secret. File uploads
  (``ProdFileUpload``/``DevFileUpload``: keystores, keytabs, keys) are stored encrypted and never
  returned (no answer has a field for them). No password reaches an answer, an error or a log line:
  driver messages are scrubbed (``connections.scrub``), JSON errors name a line and column only.
- **Visibility**: GetDataSource/ListDataSources in a project show its own sources and those
  granted to it or to the caller within it (newest first; ``Name``/``DisplayName`` filters are
  case-insensitive substrings, ``Type`` a list, ``Creator`` a Uin); ``ProjectId``/``ProjectName``
  of an item are the owning project's (ProjectName is its display name). Update/Delete act on a
  project's own sources only: another project's source is ``ResourceNotFound`` there.
- **Rights** (``access.py``): creating takes ProjectManager or DataEngineer; changing, deleting
  and granting take the source's creator or a project administrator; reading takes membership.
- **Delete** refuses (``ResourceInUse``, naming the tasks) while a task's *production*
  definition names the source (any task status: an offline task may be brought back without a
  new submission); a dev-only reference does not block (SubmitTask checks the source then).
  GetDataSourceRelatedTasks lists the tasks whose dev or production definition names it, one
  entry per project, ``TaskType`` ``DataDevelopment`` (the only kind of task here).
- **Concurrent updates** are fenced on ``updated_at``: the second of two racing updates gets
  ``FailedOperation`` and changes nothing. An update or delete disposes the source's pools.
"""
