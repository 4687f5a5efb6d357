"""Resource group specifications: the packages WeData sells (cpu, memory, slots per
specification code), what a group's ``Type`` may hold, and the capacity it adds up to.

Pure rules over the wire structures; ResourceGroupService (resource_groups.py) stores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wedata.services.errors import InvalidValue
from wedata.spec import models as M


@dataclass(frozen=True, slots=True)
class Spec:
    code: str
    cpu: int
    mem_gb: int
    disk_gb: int
    slots: int


def _specs(*specs: Spec) -> dict[str, Spec]:
    return {s.code: s for s in specs}


SCHEDULE_SPECS = _specs(
    Spec("s_test", 2, 4, 50, 4), Spec("s_small", 4, 8, 100, 8),
    Spec("s_medium", 8, 16, 100, 16), Spec("s_large", 16, 32, 200, 32),
)  # fmt: skip
DATA_SERVICE_SPECS = _specs(
    Spec("ds_t", 2, 4, 50, 4), Spec("ds_s", 4, 8, 100, 8),
    Spec("ds_m", 8, 16, 100, 16), Spec("ds_l", 16, 32, 200, 32),
)  # fmt: skip
REALTIME_SPECS = _specs(Spec("i32c", 16, 64, 100, 16))
OFFLINE_SPECS = _specs(Spec("integrated", 8, 16, 100, 8), Spec("i16", 8, 32, 100, 8))

# (ResourceGroupType, wire key of the part inside ResourceType / IntegrationResource) -> specs
PARTS: dict[tuple[str, str], dict[str, Spec]] = {
    ("Schedule", "Schedule"): SCHEDULE_SPECS,
    ("DataService", "DataService"): DATA_SERVICE_SPECS,
    ("Integration", "RealTimeDataSync"): REALTIME_SPECS,
    ("Integration", "OfflineDataSync"): OFFLINE_SPECS,
}
GROUP_TYPES = ("Schedule", "Integration", "DataService")
METRIC_TYPES = ("all", "task", "system")
TASK_METRICS = (
    "ConcurrencyUsage", "DevelopQueueTask", "DevelopRunningTask", "DevelopSchedulingTask", "MaximumConcurrency",
)  # fmt: skip
SYSTEM_METRICS = ("CpuCoreUsage", "CpuLoad", "DiskUsage", "DiskUsed", "MemoryLoad", "MemoryUsage")

NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
MAX_PACKAGES = 100
MAX_PERIOD_MONTHS = 120
MAX_TREND_POINTS = 1440
STATUS_RUNNING, STATUS_EXPIRED = 1, 9


@dataclass
class GroupLoad:
    """What the scheduler engine knows about a group: current counts and, optionally, trends
    (metric name -> [(epoch ms, value)]) for the requested window."""

    running: int = 0
    queued: int = 0
    scheduling: int = 0
    trends: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


# (group id, start ms, end ms, step ms) -> GroupLoad
MetricsSource = Callable[[str, int, int, int], GroupLoad]


def no_load(group_id: str, start_ms: int, end_ms: int, step_ms: int) -> GroupLoad:
    """The source until the scheduler engine provides one: nothing runs."""
    return GroupLoad()


def parts_of(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (part key, {"Specification", "Number"}) pairs of a stored ResourceType wire dict."""
    group_type = spec["ResourceGroupType"]
    if group_type == "Integration":
        integ = spec.get("Integration") or {}
        return [(k, integ[k]) for k in ("RealTimeDataSync", "OfflineDataSync") if integ.get(k)]
    return [(group_type, spec[group_type])]


def capacity(spec: dict[str, Any]) -> tuple[int, int, int, int]:
    """(cpu, mem GB, disk GB, concurrency) summed over the packages of a stored ResourceType."""
    cpu = mem = disk = slots = 0
    for key, part in parts_of(spec):
        s = PARTS[(spec["ResourceGroupType"], key)][part["Specification"]]
        n = int(part["Number"])
        cpu, mem, disk, slots = cpu + s.cpu * n, mem + s.mem_gb * n, disk + s.disk_gb * n, slots + s.slots * n
    return cpu, mem, disk, slots


def _check_part(group_type: str, key: str, part: M.ResourceGroupSpecification) -> dict[str, Any]:
    specs = PARTS[(group_type, key)]
    if part.specification not in specs:
        raise InvalidValue(
            f"Type.{key}.Specification must be one of {', '.join(specs)} for a {group_type} group, "
            f"got {part.specification!r}"
        )
    if not 1 <= part.number <= MAX_PACKAGES:
        raise InvalidValue(f"Type.{key}.Number must be between 1 and {MAX_PACKAGES}, got {part.number}")
    return {"Specification": part.specification, "Number": part.number}


def check_resource_type(rt: M.ResourceType) -> dict[str, Any]:
    """Validate a ResourceType and return its canonical wire dict (only the bought part)."""
    group_type = rt.resource_group_type
    if group_type not in GROUP_TYPES:
        raise InvalidValue(
            f"Type.ResourceGroupType must be one of {', '.join(GROUP_TYPES)}, got {group_type!r}"
        )
    given = {"Schedule": rt.schedule, "DataService": rt.data_service, "Integration": rt.integration}
    extra = [k for k, v in given.items() if v is not None and k != group_type]
    if extra:
        raise InvalidValue(f"A {group_type} group is bought alone; remove Type.{', Type.'.join(extra)}")
    out: dict[str, Any] = {"ResourceGroupType": group_type}
    if group_type == "Integration":
        integ = rt.integration
        if integ is None or (integ.real_time_data_sync is None and integ.offline_data_sync is None):
            raise InvalidValue(
                "An Integration group needs Type.Integration.RealTimeDataSync or .OfflineDataSync"
            )
        out["Integration"] = {
            key: _check_part(group_type, key, part)
            for key, part in (
                ("RealTimeDataSync", integ.real_time_data_sync),
                ("OfflineDataSync", integ.offline_data_sync),
            )
            if part is not None
        }
    else:
        part = given[group_type]
        if part is None:
            raise InvalidValue(f"A {group_type} group needs Type.{group_type}")
        assert isinstance(part, M.ResourceGroupSpecification)
        out[group_type] = _check_part(group_type, group_type, part)
    return out


