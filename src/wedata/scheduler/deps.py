"""Instance-level dependency edges: which upstream instance keys a new instance waits for.

For each production dependency edge of the task (``task_dependencies`` side "prod") the
scheduling semantics (``scheduling.dependencies.upstream_data_times``) map the instance's data
time to upstream data times; ``orderly`` self-dependency adds the previous instance of the same
task (``scheduling.selfdepend.self_dependency``). Each becomes an ``instance_deps`` row whose
``met`` flag starts from the upstream instance's current state and is afterwards maintained by
the transition function.

Two cases have no upstream data times to name yet:

- the upstream task has never been submitted (no schedule): the edge is kept as ``pending``
  (a placeholder keyed on the downstream's own data time) and resolved when the upstream is
  planned (``Planner`` calls :func:`pending_instances`);
- the upstream schedule has no instance in the range (``NOT_EXIST``): with PollingNullStrategy
  EXECUTING + NOT_EXIST the edge is simply absent (nothing to wait for); with WAITING it is a
  ``missing`` placeholder that never completes by itself (spec §3.8: "keep waiting").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, insert, or_, select

from wedata.scheduler import states as instance_states
from wedata.scheduler.definitions import TaskDef
from wedata.scheduling.dependencies import upstream_data_times
from wedata.scheduling.selfdepend import self_dependency
from wedata.storage.bulk import in_values, pg_insert_many
from wedata.storage.engine_tables import instance_deps, task_instances
from wedata.storage.quality_tables import quality_holds
from wedata.storage.tables import task_dependencies, tasks

TI = task_instances
D = instance_deps
H = quality_holds
# Upstream states that satisfy an edge (a skipped upstream does not block its children).
SATISFYING = (instance_states.COMPLETED, instance_states.SKIP_RUNNING)


@dataclass(frozen=True, slots=True)
class Edge:
    upstream_task_id: str
    main: str
    subordinate: str | None
    offset: str | None
    executing: bool  # PollingNullStrategy EXECUTING
    on_missing: bool
    on_failed: bool
    timeout_minutes: int | None


def _edge(row: Mapping[Any, Any]) -> Edge:
    strategy = row["dependency_strategy"] or {}
    executing = str(strategy.get("PollingNullStrategy") or "WAITING").upper() == "EXECUTING"
    listed = {str(s).upper() for s in strategy.get("TaskDependencyExecutingStrategies") or []}
    if executing and not listed:
        listed = {"NOT_EXIST"}  # the documented default
    timeout = strategy.get("TaskDependencyExecutingTimeoutValue")
    return Edge(
        upstream_task_id=row["upstream_task_id"],
        main=row["main_cyclic_config"],
        subordinate=row["subordinate_cyclic_config"],
        offset=row["offset"],
        executing=executing,
        on_missing=executing and "NOT_EXIST" in listed,
        on_failed=executing and "PARENT_EXPIRED" in listed,
        timeout_minutes=int(timeout) if executing and "PARENT_TIMEOUT" in listed and timeout else None,
    )


def prod_edges(conn: Connection, task_ids: Iterable[str]) -> dict[str, list[Edge]]:
    ids = list(set(task_ids))
    out: dict[str, list[Edge]] = defaultdict(list)
    for i in range(0, len(ids), 500):
        rows = conn.execute(
            select(task_dependencies).where(
                task_dependencies.c.side == "prod", in_values(conn, task_dependencies.c.task_id, ids[i : i + 500])
            )
        ).mappings()
        for row in rows:
            if row["upstream_task_id"] != row["task_id"]:
                out[row["task_id"]].append(_edge(row))
    return out


def upstream_defs(
    conn: Connection, task_ids: Iterable[str], load: Callable[[str], TaskDef]
) -> dict[str, TaskDef | None]:
    """The production definition of each upstream task (None: never submitted / unplannable)."""
    ids = list(set(task_ids))
    out: dict[str, TaskDef | None] = dict.fromkeys(ids)
    for i in range(0, len(ids), 500):
        for tid, version in conn.execute(
            select(tasks.c.id, tasks.c.prod_version_id).where(in_values(conn, tasks.c.id, ids[i : i + 500]))
        ):
            if version:
                try:
                    out[tid] = load(version)
                except ValueError:
                    out[tid] = None
    return out


@dataclass(frozen=True, slots=True)
class NewInstance:
    task: TaskDef
    data_time: datetime


def compute_edges(
    conn: Connection,
    items: Sequence[NewInstance],
    load: Callable[[str], TaskDef],
    batch_times: Mapping[str, set[datetime]] | None = None,
) -> list[list[dict[str, Any]]]:
    """For each item, its dependency rows (without instance_id), ``met`` already computed."""
    edges = prod_edges(conn, {it.task.task_id for it in items})
    ups = upstream_defs(conn, {e.upstream_task_id for es in edges.values() for e in es}, load)
    wanted: dict[str, set[datetime]] = defaultdict(set)
    result: list[list[dict[str, Any]]] = []
    for it in items:
        rows: list[dict[str, Any]] = []
        for e in edges.get(it.task.task_id, ()):
            base = {
                "upstream_task_id": e.upstream_task_id,
                "on_missing": e.on_missing,
                "on_failed": e.on_failed,
                "timeout_minutes": e.timeout_minutes,
                "met": False,
            }
            up = ups.get(e.upstream_task_id)
            if up is None:
                rows.append({**base, "kind": "pending", "upstream_data_time": it.data_time})
                continue
            try:
                times = upstream_data_times(
                    it.task.cycle_type, it.data_time, up.schedule, e.main, e.subordinate, e.offset
                )
            except ValueError:
                times = []
            if not times:
                if not e.on_missing:
                    rows.append({**base, "kind": "missing", "upstream_data_time": it.data_time})
                continue
            for t in times:
                rows.append({**base, "kind": "task", "upstream_data_time": t})
                wanted[e.upstream_task_id].add(t)
        prev = self_dependency(it.task.self_depend, it.task.schedule, it.data_time)
        if prev is not None:
            own = batch_times.get(it.task.task_id, set()) if batch_times else set()
            rows.append(
                {
                    "upstream_task_id": it.task.task_id,
                    "upstream_data_time": prev,
                    "kind": "self",
                    "on_missing": False,
                    "on_failed": False,
                    "timeout_minutes": None,
                    "met": False,
                    "_needs_existing": prev not in own,
                }
            )
            wanted[it.task.task_id].add(prev)
        result.append(rows)
    states = upstream_states(conn, wanted)
    held = held_keys(conn, [k for k, st in states.items() if st in SATISFYING])
    for rows in result:
        keep = []
        for r in rows:
            key = (r["upstream_task_id"], r["upstream_data_time"])
            needs_existing = r.pop("_needs_existing", False)
            if r["kind"] == "self" and needs_existing and key not in states:
                # The previous instance was never planned (before the first planning window,
                # or removed): an orderly task does not wait for what will never exist.
                continue
            if r["kind"] in ("task", "self"):
                st = states.get(key)
                r["met"] = (st in SATISFYING and key not in held) or (st == instance_states.EXPIRED and r["on_failed"])
            keep.append(r)
        rows[:] = keep
    return result


def upstream_states(conn: Connection, wanted: Mapping[str, set[datetime]]) -> dict[tuple[str, datetime], str]:
    """Current states of the given upstream keys.

    Tasks wanting one data time are read together, many tasks per query; tasks wanting a range
    are read by range, one query for all the tasks wanting the same range (a batch of tasks
    planned for the same day, each on its upstream's hours).
    """
    out: dict[tuple[str, datetime], str] = {}
    narrow: dict[datetime, list[str]] = defaultdict(list)  # common lower bound -> tasks
    spans: dict[tuple[datetime, datetime], list[str]] = defaultdict(list)
    for task_id, times in wanted.items():
        if not times:
            continue
        lo, hi = min(times), max(times)
        (narrow[lo] if len(times) == 1 else spans[(lo, hi)]).append(task_id)
    for (lo, hi), ids in spans.items():
        for i in range(0, len(ids), 500):
            for tid, dt, state in conn.execute(
                select(TI.c.task_id, TI.c.data_time, TI.c.state).where(
                    in_values(conn, TI.c.task_id, ids[i : i + 500]), TI.c.data_time >= lo, TI.c.data_time <= hi)
            ):
                if dt in wanted[tid]:
                    out[(tid, dt)] = state
    for dt, ids in narrow.items():
        for i in range(0, len(ids), 500):
            for tid, state in conn.execute(
                select(TI.c.task_id, TI.c.state).where(in_values(conn, TI.c.task_id, ids[i : i + 500]), TI.c.data_time == dt)
            ):
                out[(tid, dt)] = state
    return out


def held_keys(conn: Connection, keys: Sequence[tuple[str, datetime]]) -> set[tuple[str, datetime]]:
    """The keys among ``keys`` held by a data-quality check (storage/quality_tables.py): an edge
    on one starts unmet although the upstream completed. One query per 500 tasks' keys; none
    when nothing is held anywhere (the usual case costs one probe)."""
    if not keys or conn.execute(select(H.c.task_id).limit(1)).first() is None:
        return set()
    out: set[tuple[str, datetime]] = set()
    tasks_of = sorted({k[0] for k in keys})
    for i in range(0, len(tasks_of), 500):
        for tid, dt in conn.execute(select(H.c.task_id, H.c.data_time).where(H.c.task_id.in_(tasks_of[i : i + 500]))):
            out.add((tid, dt))
    return out & set(keys)


def insert_edges(conn: Connection, instance_id: int, rows: Sequence[Mapping[Any, Any]], buf: list[dict[str, Any]]) -> None:
    seen: set[tuple[str, datetime]] = set()
    for r in rows:
        key = (r["upstream_task_id"], r["upstream_data_time"])
        if key in seen:
            continue
        seen.add(key)
        buf.append({**r, "instance_id": instance_id})


def flush_edges(conn: Connection, buf: list[dict[str, Any]]) -> None:
    if buf and pg_insert_many(conn, D, buf) is None:  # PostgreSQL: one statement (storage/bulk.py)
        for i in range(0, len(buf), 2000):
            conn.execute(insert(D), buf[i : i + 2000])
    buf.clear()


_GATE = D.alias("gate")


def _pending_query(placeholders_only: bool, upstream: Any = None) -> Any:
    kinds = D.c.kind == "pending" if placeholders_only else D.c.kind != "self"
    if upstream is None:
        upstream = D.c.upstream_task_id == bindparam("upstream")
    return (
        select(D.c.instance_id)
        .distinct()
        .join(TI, TI.c.id == D.c.instance_id)
        .where(upstream, kinds, TI.c.state.in_(instance_states.PENDING),
               TI.c.tries == 0,
               # Held by a data backfill plan (a "gate" edge): its edges are the plan's, adjusted
               # for CheckParentType (services/backfill/release.py); re-planning must not reset them.
               ~exists().where(_GATE.c.instance_id == D.c.instance_id, _GATE.c.kind == "gate"))
    )


# Built once: asked each time a task is (re)planned, e.g. after every submission.
_PENDING = {flag: _pending_query(flag) for flag in (False, True)}


def pending_instances(conn: Connection, upstream_task_id: str, *, placeholders_only: bool = False) -> list[int]:
    """Not-yet-started instances with an edge on ``upstream_task_id`` that may be stale: every
    such edge after the upstream changed its definition, only ``pending`` placeholders (mapped
    while it had no schedule) when it is planned for the first time."""
    rows = conn.execute(_PENDING[placeholders_only], {"upstream": upstream_task_id})
    return [r[0] for r in rows]


_PENDING_OF = _pending_query(True, D.c.upstream_task_id.in_(bindparam("upstreams", expanding=True)))


def pending_instances_of(conn: Connection, upstream_task_ids: Sequence[str]) -> list[int]:
    """:func:`pending_instances` with ``placeholders_only`` for many upstream tasks planned for
    the first time at once (their ``pending`` placeholders), in chunks of 500."""
    found: set[int] = set()
    ups = sorted(set(upstream_task_ids))
    for i in range(0, len(ups), 500):
        found.update(r[0] for r in conn.execute(_PENDING_OF, {"upstreams": ups[i : i + 500]}))
    return sorted(found)


def clear_edges(conn: Connection, instance_ids: Sequence[int]) -> None:
    for i in range(0, len(instance_ids), 500):
        conn.execute(delete(D).where(D.c.instance_id.in_(instance_ids[i : i + 500])))


def unmet_counts(conn: Connection, instance_ids: Sequence[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for i in range(0, len(instance_ids), 500):
        chunk = instance_ids[i : i + 500]
        from sqlalchemy import func

        for iid, n in conn.execute(
            select(D.c.instance_id, func.count()).where(D.c.instance_id.in_(chunk), D.c.met.is_(False)).group_by(D.c.instance_id)
        ):
            out[iid] = n
    return out


def bypassable(conn: Connection, instance_ids: Sequence[int], now: datetime) -> set[tuple[int, str, datetime]]:
    """Unmet edges that PollingNullStrategy EXECUTING lets pass now: the parent does not exist
    (NOT_EXIST) or has been waiting/running longer than the timeout (PARENT_TIMEOUT). A parent
    held by a data-quality check (ExecFailBlock) has run: its edge waits for the check, not for
    the parent, and no timeout lets it pass."""
    out: set[tuple[int, str, datetime]] = set()
    U = TI.alias("u")
    for i in range(0, len(instance_ids), 500):
        chunk = instance_ids[i : i + 500]
        rows = conn.execute(
            select(D.c.instance_id, D.c.upstream_task_id, D.c.upstream_data_time, D.c.on_missing,
                   D.c.timeout_minutes, D.c.kind, U.c.id, U.c.wait_since, U.c.created_at, H.c.task_id)
            .select_from(
                D.outerjoin(U, and_(U.c.task_id == D.c.upstream_task_id, U.c.data_time == D.c.upstream_data_time))
                .outerjoin(H, and_(H.c.task_id == D.c.upstream_task_id, H.c.data_time == D.c.upstream_data_time))
            )
            .where(
                D.c.instance_id.in_(chunk),
                D.c.met.is_(False),
                or_(D.c.on_missing.is_(True), D.c.timeout_minutes.is_not(None)),
            )
        ).all()
        for iid, utid, udt, on_missing, timeout, kind, uid, wait_since, created, held in rows:
            if held is not None:
                continue
            if uid is None:
                if on_missing and kind in ("task", "pending"):
                    out.add((iid, utid, udt))
                continue
            since = wait_since or created
            if timeout is not None and since is not None and (now - since).total_seconds() >= timeout * 60:
                out.add((iid, utid, udt))
    return out
