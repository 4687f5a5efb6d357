"""Lineage (WeData 2025-08-06: RegisterLineage, DeleteLineage, ListLineage, ListColumnLineage,
ListProcessLineage).

Rules: ``services/lineage/``. None of the five carries a ``ProjectId``: the service shows a
caller the lineage of the catalog resources they may see.
"""
