"""Lineage records -> response Structs.

Times are ``yyyy-MM-dd HH:mm:ss`` in UTC+8, as WeData's lineage examples. A relation's
``SourceUniqueId``/``TargetUniqueId`` and ``RelationId`` (``<source>::<target>``) are lineage node
ids, as in WeData's examples; a resource's own ``ResourceUniqueId`` is the catalog GUID (a table)
or ``<table GUID>::<column>`` (a column).
"""

from __future__ import annotations

from typing import Any

from wedata.services.common import Paged, fmt_time
from wedata.services.lineage.lineage import HopPage
from wedata.services.lineage.model import Hop, Pair
from wedata.spec import models as M


def _props(value: Any) -> list[M.LineageProperty] | None:
    return [M.LineageProperty(name=str(k), value=str(v)) for k, v in value] if value else None


def resource(n: Any) -> M.LineageResource:
    return M.LineageResource(
        resource_unique_id=n.unique_id, resource_name=n.name, resource_type=n.resource_type,
        lineage_node_id=n.node_id, description=n.description, platform=n.platform,
        create_time=fmt_time(n.created_at), update_time=fmt_time(n.updated_at),
        resource_properties=_props(n.properties),
    )


def resouce(n: Any) -> M.LineageResouce:
    """The pair shape (the spec spells it ``LineageResouce``)."""
    return M.LineageResouce(
        resource_unique_id=n.unique_id, resource_type=n.resource_type, platform=n.platform,
        resource_name=n.name, description=n.description, create_time=fmt_time(n.created_at),
        update_time=fmt_time(n.updated_at), resource_properties=_props(n.properties), lineage_node_id=n.node_id,
    )


def process(p: Any) -> M.LineageProcess:
    return M.LineageProcess(process_id=p.process_id, process_type=p.process_type, platform=p.platform,
                            process_sub_type=p.sub_type, process_properties=_props(p.properties),
                            lineage_node_id=p.node_id)


def _processes(rows: list[Any]) -> list[M.LineageProcess]:
    seen: set[str] = set()
    out = []
    for p in rows:
        if p.node_id not in seen:
            seen.add(p.node_id)
            out.append(process(p))
    return out


def hop(h: Hop, column: str | None) -> M.LineageNodeInfo:
    relation = M.LineageRelation(relation_id=f"{h.source_node}::{h.target_node}", source_unique_id=h.source_node,
                                 target_unique_id=h.target_node, processes=_processes(h.processes))
    return M.LineageNodeInfo(resource=resource(h.node), relation=relation, down_stream_count=h.downstream,
                             up_stream_count=h.upstream, source_column_name=column,
                             column_name=h.node.name if column is not None else None)


def hop_page(page: HopPage) -> M.ListLineagePage:
    p = page.paged
    return M.ListLineagePage(items=[hop(h, page.column_name) for h in p.items], page_count=p.total_pages,
                             page_size=p.page.size, page_number=p.page.number, total_count=p.total)


def pair(p: Pair) -> M.LineagePair:
    return M.LineagePair(source=resouce(p.source), target=resouce(p.target), processes=_processes(p.processes))


def pair_page(p: Paged[Pair]) -> M.ListProcessLineagePage:
    return M.ListProcessLineagePage(items=[pair(x) for x in p.items], page_count=p.total_pages,
                                    page_size=p.page.size, page_number=p.page.number, total_count=p.total)
