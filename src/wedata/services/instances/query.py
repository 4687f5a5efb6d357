"""Reading task instances: the joined row and the ListTaskInstances filters.

One page is three queries: a COUNT and the page's ids, both on ``task_instances`` alone (the
owner is the instance's copy of its task's; the filters on the task's name and on the
workflow's folder are semi-joins, so no row is
joined to be counted or skipped; services/paging.py cuts deep pages from the nearer end), then the
page's rows joined with the task, its workflow, the workflow's folder and the resource group. Times are stored in UTC; the request's
``TimeZone`` (default UTC+8) reads the time filters here and renders the rows in
actions/instances/wire.py, where ``CurRunDate`` and ``InstanceKey`` stay in the task's own zone,
as WeData shows them (spec §6.5).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select

from wedata.scheduler.api import states
from wedata.scheduling.cycletypes import CycleType
from wedata.scheduling.datatimes import parse_instance_key
from wedata.services.common import Page, Paged, as_int, page, parse_local, zone_of
from wedata.services.errors import InvalidValue, NotFound
from wedata.services.paging import bucketed_keys, keys_at, merged_keys, page_keys
from wedata.services.projects.access import standing_columns
from wedata.services.tasks import search
from wedata.spec import models as M
from wedata.storage import instance_counts
from wedata.storage import tables as T
from wedata.storage.db import planned_each_time
from wedata.storage.engine_tables import task_instances

TI = task_instances
SORT_COLUMNS = {
    "SCHEDULE_DATE": TI.c.scheduled_at,
    "START_TIME": TI.c.started_at,
    "END_TIME": TI.c.ended_at,
    "COST_TIME": TI.c.cost_ms,
}


def _base_query() -> Select[Any]:
    wf, fo, rg = T.workflows, T.workflow_folders, T.resource_groups
    return (
        select(
            TI,
            T.tasks.c.name.label("task_name"),
            wf.c.name.label("workflow_name"),
            fo.c.id.label("folder_id"),
            fo.c.name.label("folder_name"),
            rg.c.name.label("group_name"),
        )
        .select_from(
            TI.outerjoin(T.tasks, T.tasks.c.id == TI.c.task_id)
            .outerjoin(wf, wf.c.id == TI.c.workflow_id)
            .outerjoin(fo, and_(fo.c.project_id == TI.c.project_id, fo.c.path == wf.c.folder_path))
            .outerjoin(rg, rg.c.id == TI.c.resource_group_id)
        )
    )


# Built once (a Select is immutable: every .where() makes a new one); building the 30 columns and
# four joins cost more CPU than SQLite spends running a list's page.
_BASE = _base_query()


def base_query() -> Select[Any]:
    """Instances with their task's name and owner, workflow, folder and resource group names."""
    return _BASE


# A list's page of rows by id, one statement per sort column and direction, built once.
_PAGE_ROWS = {
    (name, desc): _BASE.where(TI.c.id.in_(bindparam("ids", expanding=True))).order_by(
        column.desc() if desc else column.asc(), TI.c.id.desc() if desc else TI.c.id.asc())
    for name, column in SORT_COLUMNS.items() for desc in (True, False)
}


def parse_key(key: str) -> tuple[str, Any]:
    try:
        return parse_instance_key(key)
    except ValueError as exc:
        raise InvalidValue(f"InstanceKey: {exc}") from None


# One instance by its key, and the same with the caller's standing in the project (bound ``uin``;
# services/projects/access.py ``standing_columns``: GetTaskInstance's check costs no statement).
# Built once, as every hot read is.
_BY_KEY = _BASE.where(TI.c.project_id == bindparam("project_id"), TI.c.task_id == bindparam("task_id"),
                      TI.c.data_time == bindparam("data_time"))
_BY_KEY_WITH_STANDING = _BY_KEY.add_columns(*standing_columns())


def load_instance(conn: Any, project_id: str, key: str, *, uin: str | None = None) -> Mapping[Any, Any]:
    """The joined row of one instance; with ``uin``, it also carries that caller's standing."""
    task_id, data_time = parse_key(key)
    params = {"project_id": project_id, "task_id": task_id, "data_time": data_time}
    if uin is not None:
        params["uin"] = uin
    row = conn.execute(_BY_KEY if uin is None else _BY_KEY_WITH_STANDING, params).mappings().first()
    if row is None:
        raise NotFound(f"The task instance {key} does not exist in the project {project_id}.")
    return row


def check_zone(zone: str | None) -> str | None:
    if zone is not None and zone.strip() == "":
        return None
    if zone is not None:
        zone_of(zone)  # raises InvalidValue for an unknown zone
    return zone


def _time_range(cond: list[Any], column: Any, lo: str | None, hi: str | None, zone: str | None,
                name: str) -> list[tuple[Any, Any]]:
    """Adds the range's conditions to ``cond``; returns each paired with the same test written on
    ``COALESCE(column, column)``, which no index serves (``_window_keys``)."""
    start = parse_local(lo, zone, f"{name}From") if lo else None
    end = parse_local(hi, zone, f"{name}To") if hi else None
    if start is not None and end is not None and start > end:
        raise InvalidValue(f"{name}From {lo} is after {name}To {hi}")
    tested = func.coalesce(column, column)
    unindexed = []
    if start is not None:
        unindexed.append((column >= start, tested >= start))
    if end is not None:
        unindexed.append((column < end + timedelta(seconds=1), tested < end + timedelta(seconds=1)))
    cond.extend(indexed for indexed, _ in unindexed)
    return unindexed


# Up to this many tasks matched by Keyword go into the instances' statements as a
# literal list; more stay a sub-select.
LITERAL_TASK_IDS = 1000


def _task_ids(conn: Any, matching: Any, extra: list[str]) -> tuple[Any, bool]:
    """The condition "the instance's task is one of ``matching`` (a select of task ids) or of
    ``extra``", and whether it is a literal list. The ids are read first: a sub-select OR'ed with
    a list can use no index at all, a literal list is an index range per task."""
    ids = conn.execute(matching.limit(LITERAL_TASK_IDS + 1)).scalars().all()
    if len(ids) > LITERAL_TASK_IDS:
        return (or_(TI.c.task_id.in_(matching), TI.c.task_id.in_(extra)) if extra else TI.c.task_id.in_(matching)), False
    return TI.c.task_id.in_(sorted(set(ids) | set(extra))), True


# A folder of up to this many workflows is read as one walk per workflow, merged (paging.py
# merged_keys); a bigger one stays a sub-select.
MERGED_WORKFLOWS = 50


@dataclass
class Filters:
    cond: list[Any]  # conditions on ``task_instances`` alone
    equal: dict[str, Any] = field(default_factory=dict)  # the equality filters the running counts answer
    workflows: list[str] | None = None  # FolderId's workflows, when few (a literal list)
    # The StartTime and LastUpdateTime ranges' conditions (in ``cond``), each with the same test
    # written so that no index serves it (_window_keys).
    tested: list[tuple[Any, Any]] = field(default_factory=list)


def list_filters(conn: Any, req: M.ListTaskInstancesRequest, zone: str | None) -> Filters:
    """Conditions on ``task_instances`` alone (the tasks matched by Keyword and the folder's
    workflows read first, see ``_task_ids``); ``equal`` gets the equality filters on the
    columns storage/instance_counts.py counts."""
    cond: list[Any] = [TI.c.project_id == req.project_id]
    out = Filters(cond)
    equal = out.equal
    tasks = T.tasks
    by_task = False
    if req.keyword:
        words = [w.strip() for w in req.keyword.split(",") if w.strip()]
        if words:
            # The fuzzy match (case-insensitive, as ListTasks' TaskName) runs over the project's
            # tasks (names and ids), not over every instance; an instance of a deleted task is
            # still found by its exact task id.
            named = select(tasks.c.id).where(tasks.c.project_id == req.project_id, or_(*[
                or_(search.name_contains(w), search.contains_folded(tasks.c.id, w)) for w in words]))
            condition, literal = _task_ids(conn, named, words)
            cond.append(condition)
            by_task = by_task or literal
    if req.instance_type is not None:
        if req.instance_type not in (0, 1, 2):
            raise InvalidValue(f"InstanceType must be 0, 1 or 2, got {req.instance_type}")
        cond.append(TI.c.instance_type == req.instance_type)
        equal["instance_type"] = req.instance_type
    if req.instance_state:
        try:
            equal["state"] = states.parse_state(req.instance_state)
            cond.append(TI.c.state == equal["state"])
        except ValueError as exc:
            raise InvalidValue(str(exc)) from None
    type_id = as_int(req.task_type_id, "TaskTypeId")
    if type_id is not None:
        cond.append(TI.c.task_type_id == type_id)
        equal["task_type_id"] = type_id
    if req.cycle_type is not None and str(req.cycle_type).strip():
        try:
            equal["cycle_type"] = CycleType.parse(req.cycle_type).value
            cond.append(TI.c.cycle_type == equal["cycle_type"])
        except ValueError as exc:
            raise InvalidValue(str(exc)) from None
    if req.owner_uin:
        # The instance's copy of its task's owner (storage/instance_owner.py), with an index of
        # its own: the count and any page of an owner's instances read that index alone.
        cond.append(TI.c.owner_uin == req.owner_uin)
    if req.folder_id:
        wf, fo = T.workflows, T.workflow_folders
        in_folder = (select(wf.c.id).join(fo, and_(fo.c.project_id == wf.c.project_id, fo.c.path == wf.c.folder_path))
                     .where(fo.c.id == req.folder_id, fo.c.project_id == req.project_id))
        ids = conn.execute(in_folder.order_by(wf.c.id).limit(MERGED_WORKFLOWS + 1)).scalars().all()
        if len(ids) > MERGED_WORKFLOWS:
            cond.append(TI.c.workflow_id.in_(in_folder))
        else:
            cond.append(TI.c.workflow_id.in_(ids))
            out.workflows = list(ids)
    if req.workflow_id:
        cond.append(TI.c.workflow_id == req.workflow_id)
    if req.executor_group_id:
        cond.append(TI.c.resource_group_id == req.executor_group_id)
    _time_range(cond, TI.c.scheduled_at, req.schedule_time_from, req.schedule_time_to, zone, "ScheduleTime")
    out.tested = [
        *_time_range(cond, TI.c.started_at, req.start_time_from, req.start_time_to, zone, "StartTime"),
        *_time_range(cond, TI.c.updated_at, req.last_update_time_from, req.last_update_time_to, zone, "LastUpdateTime")]
    if by_task:
        # A literal list of tasks is the narrow condition: its index is (task_id, state). Without
        # statistics SQLite prefers any index led by project_id (the sort indexes of
        # 0024_scale_indexes) and passes every instance of the project: a task's failed runs
        # in a project of 100,000 instances took 270 ms, 1 ms this way. COALESCE(x, x) is x
        # but no indexed column.
        cond[0] = func.coalesce(TI.c.project_id, TI.c.project_id) == req.project_id
    return out


# The request's filters the running counts cannot answer (storage/instance_counts.py): with any of
# them, the rows are counted. Derived from the spec's fields, so a field added later counts rows.
_UNCOUNTED = tuple(sorted(
    set(M.ListTaskInstancesRequest.__struct_fields__)
    - {"project_id", "page_number", "page_size", "time_zone", "sort_column", "sort_type",
       "instance_type", "instance_state", "task_type_id", "cycle_type"}))


# The sort columns whose day the running counts keep: a deep page is walked within its day.
DAY_OF = {"SCHEDULE_DATE": "scheduled_day", "START_TIME": "started_day", "END_TIME": "ended_day"}
_ONE_DAY = timedelta(days=1)


def _day_end(day: Any) -> Any:
    return day + _ONE_DAY


def _band_end(first: int) -> int:
    return instance_counts.cost_band(first)[1]


@dataclass
class Counted:
    """How many instances match, per bucket of the sort column (a UTC day, or a cost band), from
    the running counts; ``end_of`` gives a bucket's end from its start."""

    buckets: list[tuple[Any, int]]
    end_of: Callable[[Any], Any]


def _counted(conn: Any, req: M.ListTaskInstancesRequest, equal: dict[str, Any], sort_name: str) -> Counted | None:
    """The running counts (storage/instance_counts.py) by the sort column's buckets (by scheduled
    day for a column they do not keep); None where they do not answer (SQLite, or a filter on
    another column than the counted ones)."""
    if any(getattr(req, name) for name in _UNCOUNTED):
        return None
    if sort_name == "COST_TIME":
        bands = instance_counts.by_cost(conn, req.project_id, equal)
        return None if bands is None else Counted(list(bands), _band_end)
    days = instance_counts.by_day(conn, req.project_id, equal, DAY_OF.get(sort_name, "scheduled_day"))
    return None if days is None else Counted(days, _day_end)


# A StartTime or LastUpdateTime range in the default order is walked in the order's index within
# the range's window of scheduled times (``_window_keys``) when it matches more than this many
# instances (fewer sort in a few ms) and the window holds at most WINDOW_FACTOR times as many.
WINDOW_MIN = 5000
WINDOW_FACTOR = 3
# The ranges the walk is for, and those it tests from ix_task_instances_project_scheduled (0035).
_WALKED_RANGES = ("start_time_from", "start_time_to", "last_update_time_from", "last_update_time_to")
_TESTED_RANGES = ("schedule_time_from", "schedule_time_to", *_WALKED_RANGES)
# Filters the walk cannot test from that index alone.
_NOT_IN_WINDOW = tuple(name for name in _UNCOUNTED if name not in _TESTED_RANGES)


def _walks_window(conn: Any, req: M.ListTaskInstancesRequest, sort_name: str) -> bool:
    return (conn.dialect.name == "postgresql" and sort_name == "SCHEDULE_DATE"
            and any(getattr(req, name) for name in _WALKED_RANGES)
            and not any(getattr(req, name) for name in _NOT_IN_WINDOW))


def _window_keys(conn: Any, project_id: str, filters: Filters, window: tuple[Any, Any], desc: bool, pg: Page,
                 total: int) -> list[Any] | None:
    """The page of a StartTime or LastUpdateTime range in the default order, walked in
    (project, scheduled_at, id) between the range's first and last scheduled time, each entry's
    start, last update and counted columns tested from the index alone (0035_scheduled_window):
    the middle page of a day's 100,000 instances walks 50,000 entries instead of sorting them
    (docs/engine.md, "Ninth round"). None where sorting the range is the cheaper way: a small
    range, or a window holding many more instances than the range (the running counts by
    scheduled day bound how many entries the walk may pass)."""
    first, last = window
    if total <= WINDOW_MIN or first is None:
        return None
    days = instance_counts.by_day(conn, project_id, {}) or []
    low, high = (t.replace(hour=0, minute=0, second=0, microsecond=0) for t in window)
    if sum(n for day, n in days if day is not None and low <= day <= high) > WINDOW_FACTOR * total:
        return None
    # The ranges are tested on each entry, written so that no index serves them: PostgreSQL would
    # otherwise sort the range for a deep page, as it estimates few of the window's entries pass.
    kept = [c for c in filters.cond if not any(c is indexed for indexed, _ in filters.tested)]
    within = [*kept, *(test for _, test in filters.tested), TI.c.scheduled_at >= first, TI.c.scheduled_at <= last]
    return keys_at(conn, TI.c.id, within, [(TI.c.scheduled_at, desc)], pg.offset, pg.size, total)


def list_instances(conn: Any, req: M.ListTaskInstancesRequest) -> Paged[Any]:
    # The count and the page's keys are planned for their values; the page's rows by id are not:
    # their plan (the ids' primary key, five tables joined) is the same for any values, and planning
    # that join on every page cost the mixed load ~10 % of its throughput (docs/engine.md).
    with planned_each_time(conn):
        ids, pg, total, order = _page_ids(conn, req)
    if not ids:
        return Paged([], pg, total)
    rows = conn.execute(_PAGE_ROWS[order], {"ids": ids}).mappings().all()
    return Paged(list(rows), pg, total)


def _page_ids(conn: Any, req: M.ListTaskInstancesRequest) -> tuple[list[Any], Page, int, tuple[str, bool]]:
    """The page's instance ids, the page, the total and the order (sort column, descending)."""
    zone = check_zone(req.time_zone)
    pg = page(req.page_number, req.page_size, default_size=10, min_size=1, max_size=100)
    sort_name = (req.sort_column or "SCHEDULE_DATE").strip().upper()
    column = SORT_COLUMNS.get(sort_name)
    if column is None:
        raise InvalidValue(f"SortColumn must be one of {', '.join(SORT_COLUMNS)}, got {req.sort_column!r}")
    direction = (req.sort_type or "DESC").strip().upper()
    if direction not in ("ASC", "DESC"):
        raise InvalidValue(f"SortType must be ASC or DESC, got {req.sort_type!r}")
    filters = list_filters(conn, req, zone)
    cond = filters.cond
    # FolderId alone: the page merges one walk per workflow of the folder, and the count reads
    # their index. The workflows, read in the project, hold only the project's instances: without
    # the project's condition both read (workflow, scheduled_at, id) alone. With another filter
    # the database chooses (the state's index, led by the project, may be the narrower one).
    alone = not filters.equal and not any(getattr(req, name) for name in _UNCOUNTED if name != "folder_id")
    merged = filters.workflows if alone else None
    if merged is not None:
        cond = cond[1:]
    desc = direction == "DESC"
    counted = _counted(conn, req, filters.equal, sort_name)
    # Every join of base_query is an outer join to at most one row: the count and the page's ids
    # are the instances' own.
    window = None
    if counted is not None:
        total = sum(n for _, n in counted.buckets)
    elif _walks_window(conn, req, sort_name):
        # The range's count and its window of scheduled times, in one read of the range's index.
        row = conn.execute(select(func.count(), func.min(TI.c.scheduled_at), func.max(TI.c.scheduled_at))
                           .select_from(TI).where(*cond)).one()
        total, window = int(row[0]), (row[1], row[2])
    else:
        total = int(conn.execute(select(func.count()).select_from(TI).where(*cond)).scalar_one())
    ranged = {TI.c.scheduled_at: req.schedule_time_from or req.schedule_time_to,
              TI.c.started_at: req.start_time_from or req.start_time_to,
              TI.c.updated_at: req.last_update_time_from or req.last_update_time_to}
    # A time range on another column than the order's is read first and sorted (paging.py).
    other_range = any(given for c, given in ranged.items() if c is not column)
    if counted is not None:
        ids = bucketed_keys(conn, TI.c.id, cond, column, desc, counted.buckets, counted.end_of, pg)
    elif merged is not None:
        ids = merged_keys(conn, TI.c.id, cond, TI.c.workflow_id, merged, column, desc, pg, total)
    elif window is not None and (walked := _window_keys(conn, req.project_id, filters, window, desc, pg,
                                                         total)) is not None:
        ids = walked
    else:
        ids = page_keys(conn, TI.c.id, cond, [(column, desc)], pg, total, ranged=other_range)
    return ids, pg, total, (sort_name, desc)
