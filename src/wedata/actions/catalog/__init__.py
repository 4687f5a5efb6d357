"""The catalog (WeData 2025-08-06: ListCatalog, ListDatabase, ListSchema, ListTable, GetTable,
GetTableColumns).

Rules: ``services/catalog/``. None of the six carries a ``ProjectId``: the service shows the
caller the catalog of the sources their projects may use.
"""
