"""Catalog records -> spec Structs (the one place the catalog domain builds them).

Catalog pages carry ``PageCount`` (the number of pages) where the other lists carry
``TotalPageNumber``; times are ISO-8601 with the offset, as WeData's catalog examples show.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from wedata.services.catalog.catalog import Located
from wedata.services.catalog.model import ColumnMeta
from wedata.services.common import Paged, fmt_iso
from wedata.spec import models as M


@lru_cache(maxsize=4096)
def _iso(dt: datetime) -> str | None:
    # A page's tables mostly share a few times (all first seen by one snapshot): render each once.
    return fmt_iso(dt)


def catalog_page(paged: Paged[str]) -> M.ListCatalogPage:
    return M.ListCatalogPage(
        items=[M.CatalogInfo(name=n) for n in paged.items], page_count=paged.total_pages,
        page_size=paged.page.size, page_number=paged.page.number, total_count=paged.total,
    )


def database(found: Located) -> M.DatabaseInfo:
    r, s = found.row, found.source
    return M.DatabaseInfo(
        guid=r.guid, name=r.name, catalog_name=s.catalog_name, description=r.description, location=r.location,
        storage_size=r.storage_size, datasource_id=s.data_source_id, datasource_type=s.source_type,
    )


def database_page(paged: Paged[Located]) -> M.ListDatabasePage:
    return M.ListDatabasePage(
        items=[database(d) for d in paged.items], page_count=paged.total_pages, page_size=paged.page.size,
        page_number=paged.page.number, total_count=paged.total,
    )


def schema_page(paged: Paged[Located]) -> M.ListSchemaPage:
    return M.ListSchemaPage(
        items=[M.SchemaInfo(guid=f.row.guid, name=f.row.name, database_name=f.row.database_name) for f in paged.items],
        page_count=paged.total_pages, page_size=paged.page.size, page_number=paged.page.number,
        total_count=paged.total,
    )


def table(found: Located) -> M.TableInfo:
    r, s = found.row, found.source
    return M.TableInfo(
        guid=r.guid, name=r.name, description=r.description, database_name=r.database_name,
        schema_name=r.schema_name, table_type=r.table_type, create_time=_iso(r.created_at),
        update_time=_iso(r.updated_at),
        technical_metadata=M.TechnicalMetadata(owner=r.owner, location=r.location, storage_size=r.storage_size),
        business_metadata=M.BusinessMetadata(tag_names=[]),
        catalog_name=s.catalog_name, datasource_id=s.data_source_id, datasource_type=s.source_type,
    )


def table_page(paged: Paged[Located]) -> M.ListTablePage:
    return M.ListTablePage(
        items=[table(t) for t in paged.items], page_count=paged.total_pages, page_size=paged.page.size,
        page_number=paged.page.number, total_count=paged.total,
    )


def column(c: ColumnMeta) -> M.ColumnInfo:
    return M.ColumnInfo(type=c.type, name=c.name, length=c.length, description=c.description, position=c.position,
                        is_partition=c.is_partition)
