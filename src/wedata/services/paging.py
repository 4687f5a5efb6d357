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

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, func, select, union_all

from wedata.services.common import Page

# Up to this many rows in a range are sorted after the range is read (``ranged``; its index
# carries the list's order: 100,000 sorted in ~40 ms on PostgreSQL); a wider range is found
# quickly by walking the order.
SORT_RANGE_MAX = 200_000


def page_keys(
    conn: Connection,
    key: Any,
    where: Sequence[Any],
    order: Sequence[tuple[Any, bool]],
    pg: Page,
    total: int,
    *,
    ranged: bool = False,
) -> list[Any]:
    """The keys of page ``pg`` of ``total`` rows of ``key``'s table matching ``where``, in
    ``order`` ((column, descending) pairs; ``key`` itself is the last tie-breaker).

    ``ranged`` when the narrow condition is a range on another column than the order's
    (ListTaskInstances' StartTime with the default order by scheduled time): up to
    ``SORT_RANGE_MAX`` rows, the order is then given as ``COALESCE(c, c)``, which sorts the same but matches no index, so the database
    reads the range from its own index and sorts what it found, instead of walking the order's
    index and skipping, row by row, everything outside the range (every instance started after
    the day asked for: 335 ms for a day of a million instances, 17 ms this way)."""
    return keys_at(conn, key, where, order, pg.offset, pg.size, total, ranged=ranged)


def _nearer_end(start: int, size: int, total: int) -> tuple[int, int, bool]:
    """The rows [start, start + size) of ``total`` (start < total) as (size, offset, backwards):
    past the middle they are read from the other end, the order reversed, at ``offset`` from it.

    Read forward, the page keeps the size asked for: on PostgreSQL the count and the page are
    separate statements, each seeing the rows committed when it starts, so rows may have come
    since ``total`` was counted, and cutting the page at ``total`` would drop rows that are
    there (a backfill's instances listed while the planner added the task's newer ones)."""
    near = min(size, total - start)
    backwards = start > total - start - near  # nearer the end than the start
    return (near, total - start - near, True) if backwards else (size, start, False)


def keys_at(
    conn: Connection,
    key: Any,
    where: Sequence[Any],
    order: Sequence[tuple[Any, bool]],
    start: int,
    size: int,
    total: int,
    *,
    ranged: bool = False,
) -> list[Any]:
    """``page_keys`` for the ``size`` rows from position ``start`` (0-based) of ``total``."""
    if start >= total:
        return []
    size, offset, backwards = _nearer_end(start, size, total)
    columns = [*order, (key, order[-1][1] if order else False)]
    # Both SQLite and PostgreSQL sort NULLs as one end of the order (first ascending on SQLite,
    # last on PostgreSQL), so the reversed order is exactly the order read backwards.
    if ranged and total <= SORT_RANGE_MAX:
        columns = [(func.coalesce(c, c), desc) for c, desc in columns[:-1]] + columns[-1:]
    ordering = [c.desc() if desc != backwards else c.asc() for c, desc in columns]
    keys = [r[0] for r in conn.execute(select(key).where(*where).order_by(*ordering).limit(size).offset(offset))]
    return keys[::-1] if backwards else keys


def merged_keys(
    conn: Connection,
    key: Any,
    where: Sequence[Any],
    part: Any,
    values: Sequence[Any],
    column: Any,
    desc: bool,
    pg: Page,
    total: int,
) -> list[Any]:
    """``page_keys`` ordered by ``column`` for rows whose ``part`` is one of ``values`` (a few),
    read as one walk per value, merged. With an index on ``(part, column, key)`` each walk is in
    the list's order already, so the database merges them (PostgreSQL: Merge Append) and stops
    at the page, where ``part IN (values)`` made it read and sort every match: the middle page
    of a folder's 100,000 instances in 10 workflows sorted 100,000 (~120 ms), merged it reads
    50,000 index entries (docs/engine.md, "Eighth round"). Each walk is limited to the rows
    up to the page's end, which is what lets the database plan it as a merge."""
    if pg.offset >= total or not values:
        return []
    size, offset, backwards = _nearer_end(pg.offset, pg.size, total)
    down = desc != backwards
    order = [column.desc(), key.desc()] if down else [column.asc(), key.asc()]
    # Each walk a sub-select of its own (SQLite takes no ORDER BY or LIMIT on a UNION's member).
    walks = [select(key.label("k"), column.label("o")).where(*where, part == v).order_by(*order)
             .limit(offset + size).subquery() for v in values]
    merged = union_all(*(select(w.c.k, w.c.o) for w in walks)).subquery()
    outer = [merged.c.o.desc(), merged.c.k.desc()] if down else [merged.c.o.asc(), merged.c.k.asc()]
    keys = [r[0] for r in conn.execute(select(merged.c.k).order_by(*outer).limit(size).offset(offset))]
    return keys[::-1] if backwards else keys


def bucketed_keys(
    conn: Connection,
    key: Any,
    where: Sequence[Any],
    column: Any,
    desc: bool,
    buckets: Sequence[tuple[Any, int]],
    end_of: Callable[[Any], Any],
    pg: Page,
) -> list[Any]:
    """``page_keys`` ordered by ``column`` where the rows matching ``where`` are known to fall
    into ``buckets``: (start, rows) in ascending order, a bucket holding the rows whose ``column``
    is in [start, end_of(start)) (storage/instance_counts.py keeps instances per day and per cost
    band); a bucket whose start is None holds the rows where ``column`` is null and comes last,
    as PostgreSQL sorts nulls ascending (only PostgreSQL keeps the counts). The page is found
    among the buckets, then walked within the buckets it falls in: page 50,000 of a million
    instances walked 500,000 index entries, here at most a day's."""
    total = sum(n for _, n in buckets)
    if pg.offset >= total:
        return []
    end = min(pg.offset + pg.size, total)  # the page is positions [pg.offset, end)
    before = 0  # rows before the current bucket, in the list's order
    first = 0  # rows before the first bucket of the page
    spanned: list[tuple[Any, int]] = []
    for start, n in (reversed(buckets) if desc else buckets):
        if spanned or before + n > pg.offset:
            if not spanned:
                first = before
            spanned.append((start, n))
        before += n
        if before >= end:
            break
    # The spanned buckets as at most two walks in the list's order: the timed buckets, one range,
    # and the null one. One walk of "in the range OR null" could use no index range: the last page
    # ascending (the last day's end and the nulls) read every entry of the project (85 ms of 1M).
    days = [start for start, _ in spanned if start is not None]
    segments = []
    if days:
        segments.append(([*where, column >= min(days), column < end_of(max(days))],
                         sum(n for start, n in spanned if start is not None)))
    if len(days) < len(spanned):
        nulls = ([*where, column.is_(None)], sum(n for start, n in spanned if start is None))
        segments.insert(0 if desc else len(segments), nulls)  # nulls last ascending, first descending
    keys: list[Any] = []
    at, wanted = pg.offset - first, end - pg.offset  # the page within the spanned buckets
    for cond, rows in segments:
        if at < rows and wanted > 0:
            part = keys_at(conn, key, cond, [(column, desc)], at, wanted, rows)
            keys.extend(part)
            wanted -= len(part)
        at = max(0, at - rows)
    return keys
