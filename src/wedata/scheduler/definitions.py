"""A production task definition as the engine sees it, parsed once per submitted version.

The source is ``task_versions.snapshot`` of ``tasks.prod_version_id``: the Task dict exactly as
GetOpsTask returns it (TaskBaseAttribute, TaskConfiguration, TaskSchedulerConfiguration with wire
names; CodeContent plain text). Where the wire has a new name and a deprecated twin (RetryWait /
RetryWaitMinute ...) the new one wins, as the spec recommends (§6.1). Snapshots are immutable, so
parsed definitions are cached by version id; the cache is an optimisation, never the truth.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from wedata.scheduling.cycles import Schedule
from wedata.scheduling.selfdepend import SelfDepend

__all__ = ["DefinitionCache", "EventListener", "InParam", "TaskDef", "parse_definition"]


@dataclass(frozen=True, slots=True)
class InParam:
    key: str  # local name, used as ${key}
    from_task_id: str
    from_key: str


@dataclass(frozen=True, slots=True)
class EventListener:
    name: str
    sub_type: str  # SECOND | MIN | HOUR | DAY
    broadcast: str  # SINGLE | BROADCAST


@dataclass(frozen=True)
class TaskDef:
    task_id: str
    version_id: str
    name: str
    task_type_id: int
    workflow_id: str
    owner_uin: str
    code: str
    schedule: Schedule
    zone: str
    cycle_type: str
    self_depend: SelfDepend
    dry_run: bool
    priority: int
    retry_wait_minutes: int
    max_retries: int  # retries after the first attempt: TryLimit = max_retries + 1
    execution_ttl_minutes: int  # -1: none
    wait_ttl_minutes: int  # -1: none
    execution_ttl_strategy: str
    wait_ttl_strategy: str
    resource_group: str | None
    ext: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)  # TaskSchedulingParameterList
    out_params: Mapping[str, str] = field(default_factory=dict)  # ParamTaskOutList key -> definition
    in_params: tuple[InParam, ...] = ()
    events: tuple[EventListener, ...] = ()
    # SQL tasks: TaskConfiguration.SourceServiceId (the data source's Id) and DataCluster (a DLC
    # task's lake engine).
    source_service_id: str | None = None
    data_cluster: str | None = None
    # TaskSchedulerConfiguration.AllowRedoType (ALL | FAILURE | NONE): whether a backfill may run
    # an instance that has already ended again.
    allow_redo: str = "ALL"

    @property
    def try_limit(self) -> int:
        return self.max_retries + 1


def _int(value: Any, default: int) -> int:
    if value is None or value == "" or isinstance(value, bool):
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def _pick(sc: Mapping[str, Any], new: str, old: str, default: int) -> int:
    """The new field wins when present; else the deprecated twin; else the default."""
    if sc.get(new) not in (None, ""):
        return _int(sc.get(new), default)
    return _int(sc.get(old), default)


def _pairs(items: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        if isinstance(item, Mapping) and item.get("ParamKey") is not None:
            out[str(item["ParamKey"])] = "" if item.get("ParamValue") is None else str(item["ParamValue"])
    return out


def parse_definition(version_id: str, snapshot: Mapping[str, Any]) -> TaskDef:
    """Parse a snapshot; raises ValueError when its schedule cannot be planned."""
    base = snapshot.get("TaskBaseAttribute") or {}
    conf = snapshot.get("TaskConfiguration") or {}
    sc = snapshot.get("TaskSchedulerConfiguration") or {}
    ext = _pairs(conf.get("TaskExtConfigurationList"))
    zone = sc.get("ScheduleTimeZone") or "UTC+8"
    schedule = Schedule.from_strings(
        cycle_type=sc.get("CycleType") or "DAY_CYCLE",
        crontab_expression=sc.get("CrontabExpression") or None,
        zone=zone,
        start_time=sc.get("StartTime") or None,
        end_time=sc.get("EndTime") or None,
        execution_start=sc.get("ExecutionStartTime") or None,
        execution_end=sc.get("ExecutionEndTime") or None,
        minute_offset=_int(sc.get("MinuteOffset"), 0),
        init_strategy=sc.get("InitStrategy") or None,
    )
    wait_ttl_default = _int(ext.get("waitExecutionTotalTTL"), -1)
    in_params = tuple(
        InParam(str(p["ParamKey"]), str(p.get("FromTaskId") or ""), str(p.get("FromParamKey") or ""))
        for p in sc.get("ParamTaskInList") or []
        if isinstance(p, Mapping) and p.get("ParamKey") and (p.get("Type") or "TASK") == "TASK"
    )
    events = tuple(
        EventListener(str(e["EventName"]), str(e.get("EventSubType") or "DAY"), str(e.get("EventBroadcastType") or "BROADCAST"))
        for e in sc.get("EventListenerList") or []
        if isinstance(e, Mapping) and e.get("EventName")
    )
    priority = _pick(sc, "RunPriorityType", "RunPriority", 6)
    return TaskDef(
        task_id=str(base.get("TaskId") or ""),
        version_id=version_id,
        name=str(base.get("TaskName") or ""),
        task_type_id=_int(base.get("TaskTypeId"), 0),
        workflow_id=str(base.get("WorkflowId") or ""),
        owner_uin=str(base.get("OwnerUin") or ""),
        code=str(conf.get("CodeContent") or ""),
        schedule=schedule,
        zone=zone,
        cycle_type=schedule.cycle_type.value,
        self_depend=SelfDepend.parse(sc.get("SelfDepend")),
        dry_run=_pick(sc, "ScheduleType", "ScheduleRunType", 0) == 1,
        priority=priority if priority in (4, 5, 6) else 6,
        retry_wait_minutes=max(0, _pick(sc, "RetryWaitMinute", "RetryWait", 5)),
        max_retries=max(0, _pick(sc, "MaxRetryNumber", "MaxRetryAttempts", 4)),
        execution_ttl_minutes=_pick(sc, "ExecutionTTLMinute", "ExecutionTTL", -1),
        wait_ttl_minutes=_pick(sc, "WaitExecutionTotalTTLMinute", "WaitExecutionTotalTTL", wait_ttl_default),
        execution_ttl_strategy=(ext.get("executionTTLStrategy") or "fail").lower(),
        wait_ttl_strategy=(ext.get("waitExecutionTotalTTLStrategy") or "fail").lower(),
        resource_group=conf.get("ResourceGroup") or None,
        ext=ext,
        params=_pairs(conf.get("TaskSchedulingParameterList")),
        out_params=_pairs(sc.get("ParamTaskOutList")),
        in_params=in_params,
        events=events,
        source_service_id=str(conf.get("SourceServiceId") or "").strip() or None,
        data_cluster=str(conf.get("DataCluster") or "").strip() or None,
        allow_redo=_allow_redo(sc.get("AllowRedoType")),
    )


def _allow_redo(value: Any) -> str:
    allow = str(value or "ALL").upper()
    return allow if allow in ("ALL", "FAILURE", "NONE") else "ALL"


class DefinitionCache:
    """version_id -> TaskDef (or the planning error), bounded LRU, thread-safe."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[str, TaskDef | ValueError] = OrderedDict()
        self._lock = threading.Lock()

    def known(self, version_ids: Collection[str]) -> dict[str, TaskDef]:
        """The definitions among ``version_ids`` already here (a planning error is not one)."""
        with self._lock:
            found = {v: self._items[v] for v in version_ids if v in self._items}
            for v in found:
                self._items.move_to_end(v)
        return {v: d for v, d in found.items() if isinstance(d, TaskDef)}

    def put(self, version_id: str, tdef: TaskDef) -> None:
        """Keep a definition parsed elsewhere (the planner's batch read: the engine's first
        dispatch of the task then finds it here instead of reading it again)."""
        with self._lock:
            self._items[version_id] = tdef
            self._items.move_to_end(version_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, version_id: str, load: Any) -> TaskDef:
        """``load(version_id)`` returns the snapshot dict (or None) on a miss."""
        with self._lock:
            hit = self._items.get(version_id)
            if hit is not None:
                self._items.move_to_end(version_id)
        if hit is None:
            snapshot = load(version_id)
            try:
                if snapshot is None:
                    raise ValueError(f"task version {version_id} not found")
                hit = parse_definition(version_id, snapshot)
            except (ValueError, TypeError, KeyError) as exc:
                hit = ValueError(f"cannot plan version {version_id}: {exc}")
            with self._lock:
                self._items[version_id] = hit
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        if isinstance(hit, ValueError):
            raise hit
        return hit
