"""Lineage storage: writing nodes, processes and edges; the traversal query; the page reads.

The traversal is ONE recursive query (``WITH RECURSIVE``, SQLite and PostgreSQL alike): the
edges reachable from a node within ``depth`` hops in one direction, each with its shortest
distance, joined to the far end's node, with its direct up- and downstream counts and the total
(``COUNT(*) OVER ()``), cut to the page. The processes of the page's edges are one more query.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Row,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

from wedata.services.lineage.model import Hop, NodeRecord, Pair, ProcessRecord
from wedata.storage.db import insert_ignore
from wedata.storage.lineage_tables import lineage_edges, lineage_nodes, lineage_processes
from wedata.storage.rowkeys import rows_in

LN, LP, LE = lineage_nodes, lineage_processes, lineage_edges

_NODE_COLUMNS = ("node_id, platform, resource_type, unique_id, name, description, properties, table_guid, "
                 "source_key, created_at, updated_at")


def _props(pairs: tuple[tuple[str, str], ...]) -> list[list[str]] | None:
    return [list(p) for p in pairs] or None


def upsert_nodes(conn: Connection, nodes: Iterable[NodeRecord], now: datetime) -> None:
    by_id = {n.node_id: n for n in nodes}
    if not by_id:
        return
    ids = list(by_id)
    known: set[str] = set()
    for i in range(0, len(ids), 500):
        known.update(conn.execute(select(LN.c.node_id).where(LN.c.node_id.in_(ids[i:i + 500]))).scalars())
    fresh = [
        dict(node_id=k, platform=n.platform, resource_type=n.resource_type, unique_id=n.unique_id, name=n.name,
             description=n.description, properties=_props(n.properties), table_guid=n.table_guid,
             source_key=n.source_key, created_at=now, updated_at=now)
        for k, n in by_id.items() if k not in known
    ]
    if fresh:
        # Ignoring conflicts: the same node may be inserted at the same time by another writer
        # (RegisterLineage naming a table an automatic run is writing: a UniqueViolation there
        # lost the run's whole lineage).
        conn.execute(insert_ignore(conn, LN), fresh)
    for k in known:
        n = by_id[k]
        conn.execute(update(LN).where(LN.c.node_id == k, or_(
            LN.c.name != n.name, LN.c.description.is_distinct_from(n.description),
        )).values(name=n.name, description=n.description, properties=_props(n.properties), updated_at=now))


def upsert_process(conn: Connection, p: ProcessRecord, now: datetime) -> Row[Any]:
    """The process's row (created if new), locked for the caller's transaction."""
    row = conn.execute(select(LP).where(LP.c.node_id == p.node_id).with_for_update()).first()
    if row is None:
        conn.execute(insert(LP).values(node_id=p.node_id, platform=p.platform, process_type=p.process_type,
                                       process_id=p.process_id, sub_type=p.sub_type, properties=_props(p.properties),
                                       run_seq=None, created_at=now, updated_at=now))
        row = conn.execute(select(LP).where(LP.c.node_id == p.node_id)).one()
    return row


def replace_automatic(conn: Connection, process: ProcessRecord, run_seq: int, nodes: list[NodeRecord],
                      edges: set[tuple[str, str, str]], now: datetime) -> bool:  # fmt: skip
    """Replace the automatic edges of a process with ``edges`` ((source node, target node,
    level)); False (nothing written) when a later run of the process was applied already."""
    row = upsert_process(conn, process, now)
    if row.run_seq is not None and row.run_seq >= run_seq:
        return False
    conn.execute(update(LP).where(LP.c.node_id == process.node_id).values(
        run_seq=run_seq, updated_at=now, properties=_props(process.properties)))
    conn.execute(delete(LE).where(LE.c.process_node == process.node_id, LE.c.manual.is_(False)))
    upsert_nodes(conn, nodes, now)
    if edges:
        conn.execute(insert(LE), [dict(source_node=s, target_node=t, process_node=process.node_id, level=lv,
                                       manual=False, created_at=now) for s, t, lv in sorted(edges)])
    return True


def nodes_by_key(conn: Connection, keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], Row[Any]]:
    """Stored nodes by (platform, resource type, unique id)."""
    keys = list(keys)
    if not keys:
        return {}
    rows = conn.execute(select(LN).where(rows_in((LN.c.platform, LN.c.resource_type, LN.c.unique_id), keys, indexed=3))).all()
    return {(r.platform, r.resource_type, r.unique_id): r for r in rows}


def manual_edges(conn: Connection, triples: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Which (source, target, process) node triples exist as manual edges."""
    if not triples:
        return set()
    rows = conn.execute(select(LE.c.source_node, LE.c.target_node, LE.c.process_node).where(
        LE.c.manual.is_(True), rows_in((LE.c.source_node, LE.c.target_node, LE.c.process_node), triples, indexed=2))).all()
    return {(r[0], r[1], r[2]) for r in rows}


def edges_between(conn: Connection, pairs: list[tuple[str, str]], manual: bool) -> set[tuple[str, str]]:
    if not pairs:
        return set()
    rows = conn.execute(select(LE.c.source_node, LE.c.target_node).where(
        LE.c.manual.is_(manual), rows_in((LE.c.source_node, LE.c.target_node), pairs, indexed=2))).all()
    return {(r[0], r[1]) for r in rows}


def reachable(conn: Connection, start: str, direction: str, depth: int, *, visible_keys: list[str] | None,
              limit: int, offset: int) -> tuple[list[Hop], int]:  # fmt: skip
    """The page of edges reachable from ``start`` within ``depth`` hops (OUTPUT: downstream,
    INPUT: upstream), nearest first, and their total. ``visible_keys``: the catalog sources the
    caller sees (None: all); a WeData resource of another source is left out of the answer."""
    near, far = ("source_node", "target_node") if direction == "OUTPUT" else ("target_node", "source_node")
    hide = ""
    params: dict[str, Any] = {"start": start, "depth": depth, "limit": limit, "offset": offset}
    if visible_keys is not None:
        names = [f":vk{i}" for i in range(len(visible_keys))]
        params.update({f"vk{i}": k for i, k in enumerate(visible_keys)})
        hide = f" AND (n.source_key IS NULL{' OR n.source_key IN (' + ', '.join(names) + ')' if names else ''})"
    sql = f"""
WITH RECURSIVE reach(near, far, depth) AS (
    SELECT e.{near}, e.{far}, 1 FROM lineage_edges e WHERE e.{near} = :start
  UNION
    SELECT e.{near}, e.{far}, r.depth + 1 FROM lineage_edges e JOIN reach r ON e.{near} = r.far
    WHERE r.depth < :depth
), hops AS (
    SELECT near, far, MIN(depth) AS depth FROM reach GROUP BY near, far
)
SELECT h.near AS hop_near, h.far AS hop_far, h.depth AS hop_depth, m.unique_id AS near_uid,
       {', '.join('n.' + c.strip() for c in _NODE_COLUMNS.split(','))},
       (SELECT COUNT(DISTINCT u.source_node) FROM lineage_edges u WHERE u.target_node = n.node_id) AS up_count,
       (SELECT COUNT(DISTINCT d.target_node) FROM lineage_edges d WHERE d.source_node = n.node_id) AS down_count,
       COUNT(*) OVER () AS total
FROM hops h JOIN lineage_nodes n ON n.node_id = h.far JOIN lineage_nodes m ON m.node_id = h.near
WHERE 1 = 1{hide}
ORDER BY h.depth, n.name, n.node_id, m.name, h.near
LIMIT :limit OFFSET :offset"""
    typed = text(sql).columns(created_at=DateTime, updated_at=DateTime, properties=JSON)  # SQLite: typed back
    rows = conn.execute(typed, params).all()
    if rows:
        total = int(rows[0].total)
    elif offset:
        count = sql.split("SELECT h.near", 1)[0] + f"SELECT COUNT(*) FROM hops h JOIN lineage_nodes n " \
            f"ON n.node_id = h.far WHERE 1 = 1{hide}"
        total = int(conn.execute(text(count), params).scalar() or 0)
    else:
        total = 0
    pairs = [(r.hop_near, r.hop_far) if direction == "OUTPUT" else (r.hop_far, r.hop_near) for r in rows]
    procs = processes_of(conn, pairs)
    hops = []
    for r, (s, t) in zip(rows, pairs, strict=True):
        s_uid, t_uid = (r.near_uid, r.unique_id) if direction == "OUTPUT" else (r.unique_id, r.near_uid)
        hops.append(Hop(r, s, t, s_uid, t_uid, int(r.hop_depth), int(r.up_count), int(r.down_count),
                        procs.get((s, t), [])))
    return hops, total


def processes_of(conn: Connection, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], list[Row[Any]]]:
    if not pairs:
        return {}
    # source IN (...) AND target IN (...), then the exact pairs here: a row-value IN of pairs is
    # not served by an index on SQLite (a scan of every edge).
    wanted = set(pairs)
    rows = conn.execute(
        select(LE.c.source_node, LE.c.target_node, LE.c.manual, LP)
        .join(LP, LP.c.node_id == LE.c.process_node)
        .where(LE.c.source_node.in_(sorted({s for s, _ in wanted})), LE.c.target_node.in_(sorted({t for _, t in wanted})))
        .order_by(LE.c.source_node, LE.c.target_node, LP.c.process_type, LP.c.process_id)
    ).all()
    out: dict[tuple[str, str], list[Row[Any]]] = {}
    for r in rows:
        if (r.source_node, r.target_node) in wanted:
            out.setdefault((r.source_node, r.target_node), []).append(r)
    return out


def process_pairs(conn: Connection, process_node: str, limit: int, offset: int, *,
                  visible_keys: list[str] | None = None) -> tuple[list[Pair], int]:  # fmt: skip
    """The edges a process produced (tables first), a page of them and their total; with
    ``visible_keys``, only those whose WeData ends belong to those catalog sources."""
    S, T = LN.alias("s"), LN.alias("t")
    where = [LE.c.process_node == process_node]
    if visible_keys is not None:
        where += [or_(S.c.source_key.is_(None), S.c.source_key.in_(visible_keys)),
                  or_(T.c.source_key.is_(None), T.c.source_key.in_(visible_keys))]
    joined = LE.join(S, S.c.node_id == LE.c.source_node).join(T, T.c.node_id == LE.c.target_node)
    total = int(conn.execute(select(func.count()).select_from(joined).where(*where)).scalar() or 0)
    rows = conn.execute(
        select(LE.c.source_node, LE.c.target_node, LE.c.level).select_from(joined)
        .where(*where)
        .order_by(LE.c.level.desc(), S.c.name, T.c.name, LE.c.source_node, LE.c.target_node, LE.c.manual)
        .limit(limit).offset(offset)
    ).all()
    ids = {r.source_node for r in rows} | {r.target_node for r in rows}
    nodes = {n.node_id: n for n in conn.execute(select(LN).where(LN.c.node_id.in_(ids)))} if ids else {}
    procs = processes_of(conn, [(r.source_node, r.target_node) for r in rows])
    return [Pair(nodes[r.source_node], nodes[r.target_node], procs.get((r.source_node, r.target_node), []))
            for r in rows], total


def delete_manual(conn: Connection, triples: list[tuple[str, str, str]]) -> int:
    done = 0
    for s, t, p in triples:
        done += conn.execute(delete(LE).where(and_(LE.c.source_node == s, LE.c.target_node == t,
                                                   LE.c.process_node == p, LE.c.manual.is_(True)))).rowcount
    return done
