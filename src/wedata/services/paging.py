"""Deep pages of big lists (ListTasks, ListTaskInstances) at the cost of an index walk.

The list actions page by number, so a page is LIMIT/OFFSET. Joining every skipped row to its
task, workflow and group before skipping it made page 5,000 of a million instances cost seconds.
Here the page's keys are cut first, from the one table the filters touch, in the order
``(sort column, key)``: with an index on ``(project_id, sort column, key)`` that is an
index-only walk. Past the middle the walk starts at the other end (the order reversed, the page
read backwards), so the deepest page costs no more than the middle one. The caller then reads
the page's rows, joined, by key. docs/engine.md ("At scale") has the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from wedata.services.common import Page


def page_keys(
    conn: Connection,
    key: Any,
    where: Sequence[Any],
    order: Sequence[tuple[Any, bool]],
    pg: Page,
    total: int,
) -> list[Any]:
    """The keys of page ``pg`` of ``total`` rows of ``key``'s table matching ``where``, in
    ``order`` ((column, descending) pairs; ``key`` itself is the last tie-breaker)."""
    if pg.offset >= total:
        return []
    size = min(pg.size, total - pg.offset)
    columns = [*order, (key, order[-1][1] if order else False)]
    backwards = pg.offset > total - pg.offset - size  # nearer the end than the start
    offset = total - pg.offset - size if backwards else pg.offset
    # Both SQLite and PostgreSQL sort NULLs as one end of the order (first ascending on SQLite,
    # last on PostgreSQL), so the reversed order is exactly the order read backwards.
    ordering = [c.desc() if desc != backwards else c.asc() for c, desc in columns]
    keys = [r[0] for r in conn.execute(select(key).where(*where).order_by(*ordering).limit(size).offset(offset))]
    return keys[::-1] if backwards else keys
