"""Dependency edges between tasks: stored once (``task_dependencies``), projected both ways.

An edge row is (side, task_id = downstream, upstream_task_id, config). ``side`` is ``dev`` for
the saved definitions and ``prod`` for the submitted ones: SubmitTask copies the task's dev
upstream edges to ``prod`` (replacing its previous prod edges), and the scheduler follows only
``prod`` edges. GetTask's ``UpstreamDependencyConfigList`` is the dev edges where
``task_id = me``; the ``Down(s)treamDependencyConfigList`` twins are the dev edges where
``upstream_task_id = me``. Writing a downstream list (UpdateTask*) writes those edges from the
upstream side; the downstream tasks' definitions change, so they get a new SAVE version too.

Rules (checked before anything is written):

- a dependency names an existing task of a live project the caller may see (the same project,
  or one the caller is a member of; tenant administrators see all), never the task itself;
- the dev graph stays acyclic (a breadth-first walk, one query per level);
- a task whose ``AllowDownstreamDependency`` is 0 cannot gain downstream edges;
- every ``ParamTaskInList`` entry reads a parameter declared in the ``ParamTaskOutList`` of
  one of the task's direct upstream tasks (spec §3.15: the producer must be an upstream).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from wedata.principal import Caller
from wedata.services.errors import InvalidValue
from wedata.storage import tables as T

DEV, PROD = "dev", "prod"
POLLING = ("WAITING", "EXECUTING")
EXECUTING_STRATEGIES = ("NOT_EXIST", "PARENT_EXPIRED", "PARENT_TIMEOUT")

Config = dict[str, Any]  # {MainCyclicConfig, SubordinateCyclicConfig, Offset, DependencyStrategy}


# --------------------------------------------------------------------------------------------
# Wire items <-> edge configs.


def normalize_dependencies(items: Iterable[dict[str, Any]] | None, field: str) -> dict[str, Config]:
    """DependencyTaskBrief items -> {TaskId: config}, validated (order kept)."""
    from wedata.scheduling.dependencies import MainCyclicConfig, SubordinateCyclicConfig, validate_dependency

    out: dict[str, Config] = {}
    for i, item in enumerate(items or []):
        at = f"{field}[{i}]"
        task_id = item.get("TaskId")
        if not isinstance(task_id, str) or not task_id.strip():
            raise InvalidValue(f"{at}.TaskId is required")
        task_id = task_id.strip()
        if task_id in out:
            raise InvalidValue(f"{field}: the task {task_id} appears twice")
        main_raw, sub_raw, offset = item.get("MainCyclicConfig"), item.get("SubordinateCyclicConfig"), item.get("Offset")
        try:
            main = MainCyclicConfig(str(main_raw or "").strip().upper())
        except ValueError:
            raise InvalidValue(f"{at}.MainCyclicConfig: unknown value {main_raw!r}") from None
        offset = offset.strip() if isinstance(offset, str) and offset.strip() else None
        if not main.is_custom and offset is not None:
            raise InvalidValue(f"{at}.Offset only applies to the RANGE_*/LIST_* modes, not {main.value}")
        try:
            validate_dependency(main, sub_raw or None, offset)
        except ValueError as exc:
            raise InvalidValue(f"{at}: {exc}") from None
        # Left None when not given: the scheduler applies the dimension's default (its first
        # subordinate value), so the stored edge says exactly what the client sent.
        sub = SubordinateCyclicConfig.parse(sub_raw).value if sub_raw and not main.is_custom else None
        out[task_id] = {
            "MainCyclicConfig": main.value,
            "SubordinateCyclicConfig": sub,
            "Offset": offset,
            "DependencyStrategy": _strategy(item.get("DependencyStrategy"), f"{at}.DependencyStrategy"),
        }
    return out


def _strategy(raw: dict[str, Any] | None, at: str) -> dict[str, Any]:
    raw = raw or {}
    polling = str(raw.get("PollingNullStrategy") or "WAITING").strip().upper()
    if polling not in POLLING:
        raise InvalidValue(f"{at}.PollingNullStrategy must be WAITING or EXECUTING, got {raw.get('PollingNullStrategy')!r}")
    strategies = raw.get("TaskDependencyExecutingStrategies")
    timeout = raw.get("TaskDependencyExecutingTimeoutValue")
    if polling == "WAITING":
        if strategies:
            raise InvalidValue(f"{at}.TaskDependencyExecutingStrategies only apply when PollingNullStrategy is EXECUTING")
        return {"PollingNullStrategy": polling, "TaskDependencyExecutingStrategies": None,
                "TaskDependencyExecutingTimeoutValue": None}
    values: list[str] = []
    for s in strategies or ["NOT_EXIST"]:
        text = str(s).strip().upper()
        if text not in EXECUTING_STRATEGIES:
            raise InvalidValue(f"{at}.TaskDependencyExecutingStrategies: unknown value {s!r}")
        if text not in values:
            values.append(text)
    if "PARENT_TIMEOUT" in values:
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
            raise InvalidValue(f"{at}.TaskDependencyExecutingTimeoutValue (minutes > 0) is required with PARENT_TIMEOUT")
    elif timeout is not None:
        raise InvalidValue(f"{at}.TaskDependencyExecutingTimeoutValue only applies with PARENT_TIMEOUT")
    return {"PollingNullStrategy": polling, "TaskDependencyExecutingStrategies": values,
            "TaskDependencyExecutingTimeoutValue": timeout}


def brief(task_id: str, config: Config) -> dict[str, Any]:
    """The DependencyTaskBrief wire dict of an edge, seen from the task it belongs to."""
    strategy = config.get("DependencyStrategy") or {}
    return {
        "TaskId": task_id,
        "MainCyclicConfig": config["MainCyclicConfig"],
        "SubordinateCyclicConfig": config.get("SubordinateCyclicConfig"),
        "Offset": config.get("Offset"),
        "DependencyStrategy": {
            "PollingNullStrategy": strategy.get("PollingNullStrategy"),
            "TaskDependencyExecutingStrategies": strategy.get("TaskDependencyExecutingStrategies"),
            "TaskDependencyExecutingTimeoutValue": strategy.get("TaskDependencyExecutingTimeoutValue"),
        },
    }


# --------------------------------------------------------------------------------------------
# Reading.

# What GetTask shows of an edge, in this order: the columns of ``_EDGES_OF_TASK`` and the
# elements of each item of ``edges_json``.
_SHOWN = ("task_id", "upstream_task_id", "main_cyclic_config", "subordinate_cyclic_config", "offset",
          "dependency_strategy")
_ORDER = ("created_at", "task_id", "upstream_task_id")


def _edges_of_task() -> Any:
    e = T.task_dependencies
    task: Any = bindparam("task_id")
    return (
        select(*(e.c[name] for name in _SHOWN))
        .where(e.c.side == bindparam("side"), or_(e.c.task_id == task, e.c.upstream_task_id == task))
        .order_by(*(e.c[name] for name in _ORDER))
    )


_EDGES_OF_TASK = _edges_of_task()  # built once: every GetTask on SQLite runs it


def edges_json(side: str, task_id: Any) -> Any:
    """PostgreSQL: a task's edges on ``side`` as one JSON array (of ``_SHOWN`` arrays, in
    ``load_edges``' order), a scalar subquery correlated to the column ``task_id``, labelled
    ``edges``: GetTask reads the task and its edges in one round trip (services/tasks/snapshot.py;
    ``edges_of`` reads them back)."""
    e = T.task_dependencies
    item = func.json_build_array(*(e.c[name] for name in _SHOWN))
    ordered = aggregate_order_by(item, *(e.c[name] for name in _ORDER))
    return (
        select(func.coalesce(func.json_agg(ordered), literal_column("'[]'::json")))
        .where(e.c.side == side, or_(e.c.task_id == task_id, e.c.upstream_task_id == task_id))
        .scalar_subquery()
        .label("edges")
    )


def split_edges(rows: Iterable[Sequence[Any]], task_id: str) -> tuple[dict[str, Config], dict[str, Config]]:
    """(upstream {upstream id: config}, downstream {downstream id: config}) of ``task_id``
    from its edges as ``_SHOWN`` tuples (rows of ``_EDGES_OF_TASK`` or items of ``edges_json``)."""
    up: dict[str, Config] = {}
    down: dict[str, Config] = {}
    for downstream, upstream, main, subordinate, offset, strategy in rows:
        config = {"MainCyclicConfig": main, "SubordinateCyclicConfig": subordinate, "Offset": offset,
                  "DependencyStrategy": strategy}
        if downstream == task_id:
            up[upstream] = config
        elif upstream == task_id:
            down[downstream] = config
    return up, down


def load_edges(conn: Connection, task_id: str, side: str = DEV) -> tuple[dict[str, Config], dict[str, Config]]:
    """(upstream {upstream id: config}, downstream {downstream id: config}) in one query."""
    return split_edges(conn.execute(_EDGES_OF_TASK, {"side": side, "task_id": task_id}).all(), task_id)


def edges_of(conn: Connection, row: Any, task_id: str, side: str = DEV) -> tuple[dict[str, Config], dict[str, Config]]:
    """``load_edges``, from the task's ``row`` when it carries them (``edges_json``, PostgreSQL),
    else with a query of its own (SQLite, where a statement costs no round trip)."""
    carried = getattr(row, "edges", None)
    return split_edges(carried, task_id) if carried is not None else load_edges(conn, task_id, side)


def dependents(conn: Connection, task_id: str) -> list[str]:
    """Tasks that depend on ``task_id`` on either side (dev or prod)."""
    e = T.task_dependencies
    rows = conn.execute(
        select(e.c.task_id).where(e.c.upstream_task_id == task_id, e.c.task_id != task_id).distinct()
    ).all()
    return sorted(r.task_id for r in rows)


# --------------------------------------------------------------------------------------------
# Checks.


def load_targets(conn: Connection, ids: Iterable[str], project_id: str, caller: Caller) -> dict[str, Any]:
    """The tasks named by dependencies, which must exist and be visible to the caller."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    t, p, m, w = T.tasks, T.projects, T.project_members, T.workflows
    rows = conn.execute(
        select(t.c.id, t.c.project_id, t.c.name, t.c.definition, t.c.workflow_id, w.c.workflow_type,
               m.c.user_uin.label("member"))
        .select_from(
            t.join(p, and_(p.c.id == t.c.project_id, p.c.deleted_at.is_(None)))
            .join(w, w.c.id == t.c.workflow_id)
            .outerjoin(
                m, and_(m.c.project_id == t.c.project_id, m.c.user_uin == caller.uin)
            )
        )
        .where(t.c.id.in_(wanted))
    ).all()
    found: dict[str, Any] = {
        r.id: r for r in rows if r.project_id == project_id or caller.is_admin or r.member is not None
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidValue(f"The dependency task(s) {', '.join(missing)} do not exist.")
    return found


def assert_acyclic(conn: Connection, me: str, upstream: Iterable[str], downstream: Iterable[str]) -> None:
    """Raise unless the dev graph, with ``me``'s final upstream and downstream sets, is acyclic.

    Any new cycle passes through ``me``: walk upstream from me's upstream tasks (ignoring the
    stored edges out of ``me``, which ``downstream`` replaces) and fail on reaching one of
    ``me``'s downstream tasks.
    """
    targets = set(downstream)
    frontier = set(upstream)
    if me in frontier or me in targets:
        raise InvalidValue(f"The task {me} cannot depend on itself.")
    seen: set[str] = set()
    e = T.task_dependencies
    while frontier:
        hit = frontier & targets
        if hit:
            raise InvalidValue(f"The dependency on {sorted(hit)[0]} would close a cycle through {me}.")
        seen |= frontier
        rows = conn.execute(
            select(e.c.upstream_task_id)
            .where(e.c.side == DEV, e.c.task_id.in_(sorted(frontier)), e.c.upstream_task_id != me)
            .distinct()
        ).all()
        frontier = {r.upstream_task_id for r in rows} - seen


def param_sources(definition: dict[str, Any] | None) -> set[str]:
    """The ParamTaskOutList keys a task's definition declares."""
    sched = (definition or {}).get("TaskSchedulerConfiguration") or {}
    return {p["ParamKey"] for p in sched.get("ParamTaskOutList") or []}


def check_in_params(task_id: str, in_params: list[dict[str, Any]] | None, upstream_out: dict[str, set[str]]) -> None:
    """Every input parameter reads a declared output parameter of a direct upstream task."""
    for item in in_params or []:
        source = item["FromTaskId"]
        if source not in upstream_out:
            raise InvalidValue(
                f"ParamTaskInList {item['ParamKey']!r}: the task {source} is not an upstream dependency of {task_id}."
            )
        if item["FromParamKey"] not in upstream_out[source]:
            raise InvalidValue(
                f"ParamTaskInList {item['ParamKey']!r}: the task {source} has no output parameter "
                f"{item['FromParamKey']!r}."
            )


# --------------------------------------------------------------------------------------------
# Writing.


def _values(task_id: str, upstream_id: str, config: Config, side: str, now: datetime) -> dict[str, Any]:
    return {
        "side": side,
        "task_id": task_id,
        "upstream_task_id": upstream_id,
        "main_cyclic_config": config["MainCyclicConfig"],
        "subordinate_cyclic_config": config.get("SubordinateCyclicConfig"),
        "offset": config.get("Offset"),
        "dependency_strategy": config.get("DependencyStrategy"),
        "created_at": now,
    }


def _sync(
    conn: Connection, pairs_now: dict[tuple[str, str], Config], pairs_new: dict[tuple[str, str], Config], now: datetime
) -> set[tuple[str, str]]:
    """Bring the dev edges ``pairs_now`` to ``pairs_new``; return the (task, upstream) pairs changed."""
    e = T.task_dependencies
    changed: set[tuple[str, str]] = set()
    for pair in pairs_now.keys() - pairs_new.keys():
        conn.execute(delete(e).where(e.c.side == DEV, e.c.task_id == pair[0], e.c.upstream_task_id == pair[1]))
        changed.add(pair)
    for pair, config in pairs_new.items():
        if pair not in pairs_now:
            conn.execute(insert(e).values(**_values(pair[0], pair[1], config, DEV, now)))
            changed.add(pair)
        elif pairs_now[pair] != config:
            values = _values(pair[0], pair[1], config, DEV, now)
            del values["created_at"]  # keep the edge's place in the list
            conn.execute(
                update(e).where(e.c.side == DEV, e.c.task_id == pair[0], e.c.upstream_task_id == pair[1]).values(**values)
            )
            changed.add(pair)
    return changed


def write_upstream(conn: Connection, me: str, current: dict[str, Config], final: dict[str, Config], now: datetime) -> None:
    _sync(conn, {(me, u): c for u, c in current.items()}, {(me, u): c for u, c in final.items()}, now)


def write_downstream(
    conn: Connection, me: str, current: dict[str, Config], final: dict[str, Config], now: datetime
) -> set[str]:
    """Write ``me``'s downstream edges; return the downstream tasks whose definition changed."""
    changed = _sync(conn, {(d, me): c for d, c in current.items()}, {(d, me): c for d, c in final.items()}, now)
    return {pair[0] for pair in changed}


def publish(conn: Connection, me: str, now: datetime, upstream: dict[str, Config] | None = None) -> None:
    """SubmitTask: the task's prod upstream edges become a copy of its dev upstream edges
    (``upstream``: those, when the caller read them in this transaction)."""
    e = T.task_dependencies
    up = upstream if upstream is not None else load_edges(conn, me, DEV)[0]
    conn.execute(delete(e).where(e.c.side == PROD, e.c.task_id == me))
    for upstream_id, config in up.items():
        conn.execute(insert(e).values(**_values(me, upstream_id, config, PROD, now)))


def delete_edges(conn: Connection, task_id: str) -> None:
    e = T.task_dependencies
    conn.execute(delete(e).where(or_(e.c.task_id == task_id, e.c.upstream_task_id == task_id)))
