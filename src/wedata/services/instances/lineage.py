"""Instance lineage: the direct upstream and downstream instances of one instance
(ListUpstreamTaskInstances / ListDownstreamTaskInstances, spec §1 F, §2.7).

The edges are the engine's ``instance_deps`` rows (one per downstream instance and upstream
key). Only edges that name a real instance key count: ``task`` edges (task dependencies,
including workflow self-dependency across tasks) and ``self`` edges (orderly self-dependency,
workflow self-dependency on the task itself), which WeData's instance DAG also shows as parents.
Placeholders are left out: ``pending`` (the upstream was never planned; its data time is the
downstream's own, not a key), ``missing`` (no upstream instance exists for that time) and the
backfill ``gate`` (a pseudo task). An edge whose upstream instance does not exist (yet) lists
nothing, since there is no instance to show.

One query per page plus one COUNT, over ``instance_query.base_query`` so the rows are those of
ListTaskInstances and actions/instances/wire.py renders them as its items (times in the
request's ``TimeZone``, ``CurRunDate`` and ``InstanceKey`` in the task's own zone, §6.5).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select

from wedata.clock import Clock
from wedata.config import Settings
from wedata.services.common import Paged, page
from wedata.services.instances import query as instance_query
from wedata.storage.db import Database
from wedata.storage.engine_tables import instance_deps, task_instances

TI, D = task_instances, instance_deps
# Edge kinds that name an actual upstream instance key (see the module docstring).
REAL_EDGES = ("task", "self", "trigger")  # trigger: inside a workflow run


class InstanceLineageService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def upstream(
        self, project_id: str, key: str, zone: str | None, number: int | str | None, size: int | str | None
    ) -> Paged[Any]:
        return self._page(project_id, key, zone, number, size, upstream=True)

    def downstream(
        self, project_id: str, key: str, zone: str | None, number: int | str | None, size: int | str | None
    ) -> Paged[Any]:
        return self._page(project_id, key, zone, number, size, upstream=False)

    def _page(
        self, project_id: str, key: str, zone: str | None, number: int | str | None, size: int | str | None,
        *, upstream: bool,
    ) -> Paged[Any]:
        # Validate everything before touching the database, as the other instance reads do.
        instance_query.check_zone(zone)
        pg = page(number, size, default_size=10, min_size=1, max_size=100)
        with self.db.read() as conn:
            me = instance_query.load_instance(conn, project_id, key)
            if upstream:
                # Edges leaving this instance, joined to the instance each one names.
                edge = and_(D.c.instance_id == me["id"], D.c.kind.in_(REAL_EDGES),
                            D.c.upstream_task_id == TI.c.task_id, D.c.upstream_data_time == TI.c.data_time)
            else:
                # Edges naming this instance's key (ix_instance_deps_upstream), from their owners.
                edge = and_(D.c.upstream_task_id == me["task_id"], D.c.upstream_data_time == me["data_time"],
                            D.c.kind.in_(REAL_EDGES), D.c.instance_id == TI.c.id)
            # (task, data time) is unique per instance and per edge, so the join adds no duplicates.
            rows = conn.execute(
                instance_query.base_query().join(D, edge)
                .order_by(TI.c.data_time.asc(), TI.c.task_id.asc(), TI.c.id.asc())
                .limit(pg.size).offset(pg.offset)
            ).mappings().all()
            total = conn.execute(select(func.count()).select_from(TI).join(D, edge)).scalar_one()
        return Paged(list(rows), pg, total)
