"""Execution resource groups (WeData 2025-08-06 §1 B, §2.2).

A resource group is where instances run: the scheduler gives each group ``max_concurrency``
slots (Celery deployments map a group to a queue). Nothing is purchased here; the purchase
fields (VPC, subnet, region, period, auto-renew, tags) are validated and stored as given, and
``Region`` is shown as stored.

Specifications. WeData sells packages of a specification; ``Number`` packages make a group. The
per-package figures below are this server's choice (WeData's price pages name the tiers
test/basic/popular/professional without a machine table), chosen so that the smallest
scheduling package runs 4 instances at once like ``settings.default_slots``:

    spec        kind                      CPU  MemGB  DiskGB  concurrency per package
    s_test      Schedule                    2      4      50      4
    s_small     Schedule                    4      8     100      8
    s_medium    Schedule                    8     16     100     16
    s_large     Schedule                   16     32     200     32
    ds_t        DataService                 2      4      50      4
    ds_s        DataService                 4      8     100      8
    ds_m        DataService                 8     16     100     16
    ds_l        DataService                16     32     200     32
    i32c        Integration real-time      16     64     100     16   (16C64G in WeData's docs)
    integrated  Integration offline         8     16     100      8   (8C16G)
    i16         Integration offline         8     32     100      8   (8C32G)

A group's CpuNum/MemSize/DiskVolume/MaximumConcurrency are the sums over its packages.

Rules:
- ``Name`` starts with a letter, then letters, digits and ``_``, at most 64 characters; unique in
  the tenant (``InvalidParameter.DuplicateName``).
- ``Type`` holds exactly the part of its ``ResourceGroupType`` (``Schedule``, ``DataService``, or
  ``Integration`` with ``RealTimeDataSync`` and/or ``OfflineDataSync``); other parts, unknown
  spec codes or ``Number`` < 1 are ``InvalidParameterValue``.
- UpdateResourceGroup does one of: spec change (``Type``), renewal (``PurchasePeriod``, optionally
  with ``AutoRenewEnabled``) or package-count change (``Number``). Combining them, or sending
  none, is ``InvalidParameterValue``. A package-count change on an Integration group holding both
  real-time and offline packages is ambiguous and refused.
- Update and delete are for the group's creator and tenant administrators (else
  ``UnauthorizedOperation``). Binding a group to a project (CreateResourceGroup
  ``AssociatedProjectId``, Associate/Dissociate) changes the project's settings, so it needs a
  project administrator (see ``services/projects/projects.py``).
- Binding (AssociateResourceGroupToProject, CreateProject ``ResourceIds``) also hands the
  project the group's slots, so it needs rights on the group: its creator or a tenant
  administrator (``UnauthorizedOperation`` naming the group, nothing bound). WeData grants
  resource-group rights through CAM, and the 2025-08-06 API has no action to grant them, so the
  tenant administrator is the grant: they bind a group for a project they do not own. Dissociating
  needs only the project administrator (a project may always stop using a group).
- A group bound to any project cannot be deleted (``ResourceInUse``); a group that tasks of a
  project use cannot be dissociated from that project (``ResourceInUse``). Binding twice is a
  no-op; dissociating an unbound group is ``ResourceNotFound``.

Metrics: specification figures come from the table above; ``LifeCycle`` is the number of whole
days left of the purchased period (``created + PurchasePeriod months``, renewals extend it);
``Status`` is 1 (running), or 9 (expired) once that period is over without auto-renew. Load
figures come from ``metrics_source`` (the scheduler engine plugs its running/queued counts in
there; until then they are zeros). There is no machine monitoring, so the system metrics
(CPU, memory, disk) have a null value and an empty trend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.scheduling.datatimes import add_months
from wedata.services.common import Paged, as_int, like_pattern, new_resource_group_id, page
from wedata.services.errors import Duplicate, Forbidden, InUse, InvalidValue, NotFound
from wedata.services.projects.group_rights import require_group_use
from wedata.services.projects.group_specs import (
    GROUP_TYPES,
    MAX_PACKAGES,
    MAX_PERIOD_MONTHS,
    MAX_TREND_POINTS,
    METRIC_TYPES,
    NAME_PATTERN,
    PARTS,
    STATUS_EXPIRED,
    STATUS_RUNNING,
    SYSTEM_METRICS,
    TASK_METRICS,
    GroupLoad,
    MetricsSource,
    capacity,
    check_resource_type,
    no_load,
    parts_of,
)
from wedata.services.projects.projects import ProjectService
from wedata.spec import models as M
from wedata.storage import tables as T
from wedata.storage.db import Database


def _id(value: int | str, field: str = "Id") -> str:
    text = str(value).strip()
    if not text:
        raise InvalidValue(f"{field} must not be empty")
    return text


def _str_enum(value: int | str | None, field: str, allowed: Sequence[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise InvalidValue(f"{field} must be one of {', '.join(allowed)}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """A resource group's row and the live projects it is bound to (rows: id, name, display_name)."""

    row: Row[Any]
    projects: tuple[Row[Any], ...]


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    value: int | None
    trend: tuple[tuple[int, int], ...]  # (epoch ms, value)


@dataclass(frozen=True, slots=True)
class GroupMetrics:
    cpu: int
    memory_gb: int
    disk_gb: int
    days_left: int
    slots: int
    status: int
    snapshots: list[Metric]


class ResourceGroupService:
    def __init__(
        self, db: Database, clock: Clock, settings: Settings, projects: ProjectService | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.projects = projects or ProjectService(db, clock, settings)
        # The scheduler engine replaces this with its own view of running and queued instances.
        self.metrics_source: MetricsSource = no_load

    # ------------------------------------------------------------------------------------------
    # Create / update / delete.

    def create(self, caller: Caller, req: M.CreateResourceGroupRequest) -> str:
        if not NAME_PATTERN.fullmatch(req.name or ""):
            raise InvalidValue(
                "Name must start with a letter and hold only letters, digits and _ (at most 64 characters), "
                f"got {req.name!r}"
            )
        spec = check_resource_type(req.type)
        if not 1 <= req.purchase_period <= MAX_PERIOD_MONTHS:
            raise InvalidValue(f"PurchasePeriod must be between 1 and {MAX_PERIOD_MONTHS} months")
        for field_name, value in (
            ("VpcId", req.vpc_id),
            ("SubNet", req.sub_net),
            ("ResourceRegion", req.resource_region),
        ):
            if not value.strip():
                raise InvalidValue(f"{field_name} must not be empty")
            if len(value) > 64:
                raise InvalidValue(f"{field_name} must be at most 64 characters")
        tags = None
        if req.tags is not None:
            keys = [t.tag_key for t in req.tags]
            if any(not k.strip() for k in keys):
                raise InvalidValue("Tags: TagKey must not be empty")
            if len(set(keys)) != len(keys):
                raise InvalidValue("Tags: each TagKey may appear once")
            tags = [{"TagKey": t.tag_key, "TagValue": t.tag_value} for t in req.tags]
        description = req.description or ""
        if len(description) > 1024:
            raise InvalidValue("Description must be at most 1024 characters")
        now = self.clock.now()
        group_id = new_resource_group_id()
        try:
            with self.db.write() as conn:
                if req.associated_project_id is not None:
                    self.projects.require_admin(conn, req.associated_project_id, caller)
                if conn.execute(
                    select(T.resource_groups.c.id).where(T.resource_groups.c.name == req.name)
                ).first():
                    raise Duplicate(f"A resource group named {req.name!r} already exists.")
                conn.execute(
                    insert(T.resource_groups).values(
                        id=group_id,
                        name=req.name,
                        description=description,
                        group_type=spec["ResourceGroupType"],
                        specification=spec,
                        region=req.resource_region,
                        vpc_id=req.vpc_id,
                        subnet=req.sub_net,
                        auto_renew=req.auto_renew_enabled,
                        purchase_period=req.purchase_period,
                        tags=tags,
                        status=STATUS_RUNNING,
                        max_concurrency=capacity(spec)[3],
                        creator_uin=caller.uin,
                        created_at=now,
                        updated_at=now,
                    )
                )
                if req.associated_project_id is not None:
                    conn.execute(
                        insert(T.resource_group_projects).values(
                            resource_group_id=group_id, project_id=req.associated_project_id, created_at=now
                        )
                    )
        except IntegrityError:
            raise Duplicate(f"A resource group named {req.name!r} already exists.") from None
        return group_id

    def _load_for_change(self, conn: Connection, group_id: str, caller: Caller) -> Any:
        rg = T.resource_groups
        row = conn.execute(select(rg).where(rg.c.id == group_id).with_for_update()).first()
        if row is None:
            raise NotFound(f"The resource group {group_id} does not exist.")
        if not (caller.is_admin or row.creator_uin == caller.uin):
            raise Forbidden(
                f"Only the creator of the resource group {group_id} or a tenant administrator may change it."
            )
        return row

    def update(self, caller: Caller, req: M.UpdateResourceGroupRequest) -> None:
        group_id = _id(req.id)
        changes = [
            name
            for name, v in (
                ("Type", req.type),
                ("PurchasePeriod", req.purchase_period),
                ("Number", req.number),
            )
            if v is not None
        ]
        if len(changes) > 1:
            raise InvalidValue(
                f"{' and '.join(changes)} cannot be changed in one call: a spec change, a renewal and a "
                "package-count change are separate operations"
            )
        if not changes:
            raise InvalidValue("Nothing to change: give Type, PurchasePeriod or Number")
        if req.auto_renew_enabled is not None and req.purchase_period is None:
            raise InvalidValue("AutoRenewEnabled takes effect only together with PurchasePeriod")
        with self.db.write() as conn:
            row = self._load_for_change(conn, group_id, caller)
            spec: dict[str, Any] = dict(row.specification)
            values: dict[str, Any] = {}
            if req.type is not None:
                self._change_spec(spec, req.type)
            elif req.number is not None:
                self._change_number(spec, req.number)
            else:
                assert req.purchase_period is not None
                if not 1 <= req.purchase_period <= MAX_PERIOD_MONTHS:
                    raise InvalidValue(f"PurchasePeriod must be between 1 and {MAX_PERIOD_MONTHS} months")
                values["purchase_period"] = row.purchase_period + req.purchase_period
                if req.auto_renew_enabled is not None:
                    values["auto_renew"] = req.auto_renew_enabled
            values.update(specification=spec, max_concurrency=capacity(spec)[3], updated_at=self.clock.now())
            conn.execute(update(T.resource_groups).where(T.resource_groups.c.id == group_id).values(**values))

    @staticmethod
    def _change_spec(spec: dict[str, Any], new: int | str) -> None:
        group_type = spec["ResourceGroupType"]
        key = next(
            (
                k
                for (t, k), specs in PARTS.items()
                if t == group_type and isinstance(new, str) and new in specs
            ),
            None,
        )
        if key is None:
            allowed = [code for (t, _), specs in PARTS.items() if t == group_type for code in specs]
            raise InvalidValue(
                f"Type must be a {group_type} specification ({', '.join(allowed)}); the group type cannot change, "
                f"got {new!r}"
            )
        if group_type == "Integration":
            integ = dict(spec.get("Integration") or {})
            if key not in integ:
                raise InvalidValue(f"The group has no {key} packages to change to {new}")
            integ[key] = {**integ[key], "Specification": new}
            spec["Integration"] = integ
        else:
            spec[key] = {**spec[key], "Specification": new}

    @staticmethod
    def _change_number(spec: dict[str, Any], number: M.ResourceNumber) -> None:
        kind = _str_enum(number.type, "Number.Type", ("ADD", "DELETE"))
        if kind is None:
            raise InvalidValue("Number.Type must be ADD or DELETE")
        if number.quantity is None or number.quantity < 1:
            raise InvalidValue("Number.Quantity must be at least 1")
        parts = parts_of(spec)
        if len(parts) != 1:
            raise InvalidValue(
                "The group holds real-time and offline packages; a package-count change is ambiguous"
            )
        key, part = parts[0]
        count = int(part["Number"]) + (number.quantity if kind == "ADD" else -number.quantity)
        if not 1 <= count <= MAX_PACKAGES:
            raise InvalidValue(
                f"The group would hold {count} packages; it must hold between 1 and {MAX_PACKAGES}"
            )
        new_part = {**part, "Number": count}
        if spec["ResourceGroupType"] == "Integration":
            spec["Integration"] = {**spec["Integration"], key: new_part}
        else:
            spec[key] = new_part

    def delete(self, caller: Caller, group_id: int | str) -> None:
        gid = _id(group_id)
        link = T.resource_group_projects
        with self.db.write() as conn:
            self._load_for_change(conn, gid, caller)
            bound = (
                conn.execute(
                    select(link.c.project_id)
                    .where(link.c.resource_group_id == gid)
                    .order_by(link.c.project_id)
                )
                .scalars()
                .all()
            )
            if bound:
                raise InUse(
                    f"The resource group {gid} is bound to the project(s) {', '.join(bound)}; dissociate it first."
                )
            conn.execute(delete(T.resource_groups).where(T.resource_groups.c.id == gid))

    # ------------------------------------------------------------------------------------------
    # Project bindings.

    def associate(self, caller: Caller, group_id: str, project_id: str) -> None:
        link = T.resource_group_projects
        with self.db.write() as conn:
            self.projects.require_admin(conn, project_id, caller)
            require_group_use(conn, [group_id], caller)
            bound = conn.execute(
                select(link.c.project_id).where(
                    link.c.resource_group_id == group_id, link.c.project_id == project_id
                )
            ).first()
            if bound is None:
                conn.execute(
                    insert(link).values(
                        resource_group_id=group_id, project_id=project_id, created_at=self.clock.now()
                    )
                )

    def dissociate(self, caller: Caller, group_id: str, project_id: str) -> None:
        link, tasks = T.resource_group_projects, T.tasks
        with self.db.write() as conn:
            self.projects.require_admin(conn, project_id, caller)
            self._require_group(conn, group_id)
            bound = conn.execute(
                select(link.c.project_id).where(
                    link.c.resource_group_id == group_id, link.c.project_id == project_id
                )
            ).first()
            if bound is None:
                raise NotFound(f"The resource group {group_id} is not bound to the project {project_id}.")
            used = conn.execute(
                select(func.count())
                .select_from(tasks)
                .where(tasks.c.project_id == project_id, tasks.c.resource_group_id == group_id)
            ).scalar_one()
            if used:
                raise InUse(
                    f"{used} task(s) of the project {project_id} run on the resource group {group_id}."
                )
            conn.execute(
                delete(link).where(link.c.resource_group_id == group_id, link.c.project_id == project_id)
            )

    def _require_group(self, conn: Connection, group_id: str) -> None:
        if (
            conn.execute(select(T.resource_groups.c.id).where(T.resource_groups.c.id == group_id)).first()
            is None
        ):
            raise NotFound(f"The resource group {group_id} does not exist.")

    # ------------------------------------------------------------------------------------------
    # Reads.

    def list(self, req: M.ListResourceGroupsRequest) -> Paged[GroupRecord]:
        pg = page(req.page_number, req.page_size)
        rg, link, p = T.resource_groups, T.resource_group_projects, T.projects
        cond: list[ColumnElement[bool]] = []
        group_type = _str_enum(req.type, "Type", GROUP_TYPES)
        if group_type is not None:
            cond.append(rg.c.group_type == group_type)
        if req.id is not None:
            cond.append(rg.c.id == _id(req.id))
        if req.name:
            cond.append(func.lower(rg.c.name).like(like_pattern(req.name), escape="\\"))
        if req.project_ids:
            cond.append(
                rg.c.id.in_(select(link.c.resource_group_id).where(link.c.project_id.in_(req.project_ids)))
            )
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(rg).where(*cond)).scalar_one()
            rows = conn.execute(
                select(rg)
                .where(*cond)
                .order_by(rg.c.created_at.desc(), rg.c.id.desc())
                .limit(pg.size)
                .offset(pg.offset)
            ).all()
            bindings: dict[str, list[Any]] = {}
            if rows:
                for b in conn.execute(
                    select(link.c.resource_group_id, p.c.id, p.c.name, p.c.display_name)
                    .join(p, p.c.id == link.c.project_id)
                    .where(link.c.resource_group_id.in_([r.id for r in rows]), p.c.deleted_at.is_(None))
                    .order_by(link.c.created_at, p.c.id)
                ):
                    bindings.setdefault(b.resource_group_id, []).append(b)
        return Paged([GroupRecord(r, tuple(bindings.get(r.id, []))) for r in rows], pg, total)

    def metrics(self, req: M.GetResourceGroupMetricsRequest) -> GroupMetrics:
        group_id = _id(req.resource_group_id, "ResourceGroupId")
        metric_type = req.metric_type or "all"
        if metric_type not in METRIC_TYPES:
            raise InvalidValue(f"MetricType must be one of {', '.join(METRIC_TYPES)}, got {metric_type!r}")
        granularity = 1 if req.granularity is None else req.granularity
        if granularity < 1:
            raise InvalidValue(f"Granularity must be at least 1 minute, got {granularity}")
        now = self.clock.now()
        now_ms = int((now - datetime(1970, 1, 1)).total_seconds() * 1000)
        end_ms = as_int(req.end_time, "EndTime", now_ms)
        assert end_ms is not None
        start_ms = as_int(req.start_time, "StartTime", end_ms - 3_600_000)
        assert start_ms is not None
        if start_ms < 0 or end_ms < 0:
            raise InvalidValue("StartTime and EndTime are epoch milliseconds and cannot be negative")
        if start_ms > end_ms:
            raise InvalidValue(f"StartTime {start_ms} is after EndTime {end_ms}")
        step_ms = granularity * 60_000
        if (end_ms - start_ms) // step_ms > MAX_TREND_POINTS:
            raise InvalidValue(
                f"The window holds more than {MAX_TREND_POINTS} points at {granularity} minute(s); "
                "shorten it or raise Granularity"
            )
        with self.db.read() as conn:
            row = conn.execute(select(T.resource_groups).where(T.resource_groups.c.id == group_id)).first()
        if row is None:
            raise NotFound(f"The resource group {group_id} does not exist.")
        cpu, mem, disk, slots = capacity(row.specification)
        expires = add_months(row.created_at, row.purchase_period)
        days_left = max(0, (expires - now) // timedelta(days=1))
        status = STATUS_EXPIRED if now >= expires and not row.auto_renew else row.status
        load = self.metrics_source(group_id, start_ms, end_ms, step_ms)
        snapshots: list[Metric] = []
        if metric_type in ("all", "task"):
            values = {
                "ConcurrencyUsage": (load.running * 100) // slots if slots else 0,
                "DevelopQueueTask": load.queued,
                "DevelopRunningTask": load.running,
                "DevelopSchedulingTask": load.scheduling,
                "MaximumConcurrency": slots,
            }
            snapshots += [self._metric(name, values[name], load, start_ms, end_ms) for name in TASK_METRICS]
        if metric_type in ("all", "system"):
            snapshots += [self._metric(name, None, load, start_ms, end_ms) for name in SYSTEM_METRICS]
        return GroupMetrics(cpu=cpu, memory_gb=mem, disk_gb=disk, days_left=days_left, slots=slots,
                            status=status, snapshots=snapshots)

    @staticmethod
    def _metric(name: str, value: int | None, load: GroupLoad, start_ms: int, end_ms: int) -> Metric:
        trend = tuple((ts, v) for ts, v in load.trends.get(name, []) if start_ms <= ts <= end_ms)
        return Metric(name, value, trend)
