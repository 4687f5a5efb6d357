"""Alarms (spec §1 H): rules, the messages they record when they fire, and their delivery.

CRUD and listing of rules and messages are here (answers are ``alarm_rules`` / ``alarm_messages``
rows, rendered by actions/alarms/wire.py); validation of the rule configuration is in rules.py,
matching and recording in firing.py, delivery in delivery.py. The whole contract, with every
decision, is written up in docs/alarms.md.

How the engine reaches the alarms (the interface other code uses):

- Instance outcomes: nothing to call. This service registers an observer of the transition
  function (``scheduler.observers.observe``); every ``Tx.flush()`` hands it the batch of state
  changes inside the engine's transaction, and the messages and outbox rows of the rules that
  fire are written in that same transaction (a SAVEPOINT isolates them: an alarm problem is
  logged and never rolls back a state change). Code outside the engine that learns of an
  outcome some other way calls :meth:`AlarmService.on_instance_event` with its own connection.
- Overtime (expected run time, finish time, wait time, cycle): :meth:`AlarmService.check_overtime`
  is a sweep; the delivery worker calls it every ``periodic_interval`` seconds. An engine sweep
  may call it too (it is idempotent).
- Delivery: :meth:`start_worker` / :meth:`stop_worker` (the composition root calls them); the
  worker never runs on the scheduler's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.scheduler.api import observe
from wedata.services.alarms import firing
from wedata.services.alarms import rules as rule_config
from wedata.services.alarms.delivery import DeliverySettings, DeliveryWorker
from wedata.services.common import Paged, as_int, new_uuid, page, parse_local, zone_of
from wedata.services.errors import Duplicate, InvalidValue, NotFound
from wedata.spec import models as M
from wedata.storage import tables as T
from wedata.storage.alarm_tables import alarm_messages, alarm_rule_objects, alarm_rules
from wedata.storage.db import Database
from wedata.storage.savepoints import savepoint

log = logging.getLogger("wedata.alarms")

R, RO, MSG = alarm_rules, alarm_rule_objects, alarm_messages
InstanceEvent = firing.InstanceEvent


class RuleNameRepeated(Duplicate):
    code = "InvalidParameterValue.RuleNameRepeated"


class RuleNotExist(NotFound):
    """An unknown alarm rule id (spec §5: ``InvalidParameter.RuleNotExist``)."""

    code = "InvalidParameter.RuleNotExist"


def _time_filter(value: str | None, zone: str | None, field: str) -> datetime | None:
    return parse_local(value, zone, field) if value not in (None, "") else None


def _range(lo: datetime | None, hi: datetime | None, field: str) -> None:
    if lo is not None and hi is not None and lo > hi:
        raise InvalidValue(f"{field}: the start is after the end")


def _message_time(value: int | str | None, zone: str | None, field: str) -> datetime | None:
    """ListAlarmMessages StartTime/EndTime: ``yyyy-MM-dd HH:mm:ss`` in TimeZone; epoch seconds
    or milliseconds are accepted too (the generated type allows a number)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime(1970, 1, 1) + timedelta(seconds=seconds)
        except OverflowError:
            raise InvalidValue(f"{field}: {value} is not a valid time") from None
    return parse_local(str(value), zone, field)


class AlarmService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.worker = DeliveryWorker(
            db, clock, DeliverySettings.from_extra(settings.extra), periodic=self.check_overtime
        )
        observe(db.engine, "alarms", self._on_transitions)

    # -- the engine-facing interface ------------------------------------------------------------

    def on_instance_event(self, conn: Connection, event: InstanceEvent) -> list[int]:
        """Record the messages of the rules this outcome fires, in the caller's transaction.
        Returns the new AlarmMessage ids (none when nothing fires or it already fired)."""
        return self.on_instance_events(conn, [event])

    def on_instance_events(self, conn: Connection, events: Sequence[InstanceEvent]) -> list[int]:
        ids = firing.fire_events(conn, events, self.clock.now())
        if ids:
            self.worker.wake()
        return ids

    def record(self, conn: Connection, firings: Sequence[firing.Firing]) -> list[int]:
        """Record firings made elsewhere (data quality checks, services/quality/checks.py) in the
        caller's transaction, and wake the delivery worker. Idempotent by dedupe key."""
        ids = firing.record(conn, firings)
        if ids:
            self.worker.wake()
        return ids

    def check_overtime(self, now: datetime | None = None) -> list[int]:
        """Record overtime alarms of the unfinished instances that are late now (idempotent)."""
        now = now or self.clock.now()
        with self.db.write() as conn:
            firings = firing.overtime_firings(conn, now)
            if not firings:
                return []
            known = firing.known_keys(conn, (f.dedupe_key for f in firings))
            ids = firing.record(conn, [f for f in firings if f.dedupe_key not in known])
        if ids:
            log.info("overtime alarm messages recorded: %s", ids)
            self.worker.wake()
        return ids

    def _on_transitions(self, conn: Connection, history: Sequence[Mapping[Any, Any]]) -> None:
        """The transition observer: runs inside the engine's transaction; must never raise."""
        if not any(firing.may_fire(h) for h in history):
            return
        try:
            # The matching is one read; a savepoint (one more round trip on PostgreSQL,
            # storage/savepoints.py, on every ending attempt) only guards the writes, when some
            # rule fires. A read that fails in the database fails the engine's cycle, which is
            # retried whole.
            events = firing.events_from_transitions(conn, history)
            if not events:
                return
            with savepoint(conn):
                ids = firing.record(conn, events)
        except Exception:
            log.exception("alarm matching failed; the state changes stand, no alarm was recorded")
            return
        if ids:
            log.info("alarm messages recorded: %s", ids)
            self.worker.wake()

    def start_worker(self) -> None:
        self.worker.start()

    def stop_worker(self) -> None:
        self.worker.stop()

    # -- rules ----------------------------------------------------------------------------------

    def _check_objects(self, conn: Connection, project_id: str, kind: int, ids: list[str],
                       detail: dict[str, Any]) -> None:  # fmt: skip
        """Every monitored object (and every whitelisted task) exists in the project."""
        if kind == rule_config.OBJECT_PROJECT:
            if ids != [project_id]:
                raise InvalidValue(f"MonitorObjectIds: a project rule monitors its own project {project_id}")
        else:
            table = T.tasks if kind == rule_config.OBJECT_TASK else T.workflows
            found = set(conn.execute(select(table.c.id).where(table.c.project_id == project_id,
                                                              table.c.id.in_(ids))).scalars())  # fmt: skip
            missing = [i for i in ids if i not in found]
            if missing:
                what = "task" if kind == rule_config.OBJECT_TASK else "workflow"
                raise NotFound(f"MonitorObjectIds: the {what} {missing[0]} does not exist in the project {project_id}")
        white = detail.get("MonitorWhiteTasks") or []
        task_ids: set[str] = set()
        for w in white:
            if w.get("MonitorObjectId") not in ids:
                raise InvalidValue(f"MonitorWhiteTasks: {w.get('MonitorObjectId')} is not a monitored object of the rule")
            task_ids.update(w.get("TaskIds") or [])
        if task_ids:
            found = set(conn.execute(select(T.tasks.c.id).where(T.tasks.c.project_id == project_id,
                                                                T.tasks.c.id.in_(sorted(task_ids)))).scalars())  # fmt: skip
            missing = sorted(task_ids - found)
            if missing:
                raise NotFound(f"MonitorWhiteTasks: the task {missing[0]} does not exist in the project {project_id}")

    def _check_name_free(self, conn: Connection, project_id: str, name: str, exclude: str | None = None) -> None:
        cond = and_(R.c.project_id == project_id, R.c.name == name)
        if exclude is not None:
            cond = and_(cond, R.c.id != exclude)
        if conn.execute(select(R.c.id).where(cond)).first() is not None:
            raise RuleNameRepeated(f"An alarm rule named {name!r} already exists in the project {project_id}.")

    @staticmethod
    def _objects(rule_id: str, project_id: str, kind: int, ids: list[str]) -> list[dict[str, Any]]:
        return [{"rule_id": rule_id, "project_id": project_id, "object_type": kind, "object_id": i} for i in ids]

    def create_rule(self, project_id: str, uin: str, req: M.CreateOpsAlarmRuleRequest) -> str:
        name = rule_config.check_rule_name(req.alarm_rule_name)
        kind = rule_config.check_object_type(req.monitor_object_type)
        ids = rule_config.check_object_ids(req.monitor_object_ids)
        types = rule_config.check_alarm_types(req.alarm_types)
        detail = rule_config.check_detail(req.alarm_rule_detail, types)
        groups = rule_config.check_groups(req.alarm_groups)
        level = rule_config.check_level(req.alarm_level)
        description = rule_config.check_description(req.description)
        rule_id = new_uuid()
        now = self.clock.now()
        try:
            with self.db.write() as conn:
                self._check_objects(conn, project_id, kind, ids, detail)
                self._check_name_free(conn, project_id, name)
                conn.execute(insert(R).values(
                    id=rule_id, project_id=project_id, name=name, description=description,
                    monitor_object_type=kind, monitor_object_ids=ids, alarm_types=types,
                    alarm_types_text=rule_config.types_text(types), alarm_level=level, status=1, detail=detail,
                    groups=groups, recipients_text=rule_config.recipients_text(groups), owner_uin=uin,
                    update_user_uin=uin, created_at=now, updated_at=now,
                ))  # fmt: skip
                conn.execute(insert(RO), self._objects(rule_id, project_id, kind, ids))
        except IntegrityError:
            # A concurrent CreateOpsAlarmRule took the name between the check and the insert.
            raise RuleNameRepeated(f"An alarm rule named {name!r} already exists in the project {project_id}.") from None
        return rule_id

    def _load(self, conn: Connection, project_id: str, rule_id: str, *, for_update: bool = False) -> Mapping[Any, Any]:
        stmt = select(R).where(R.c.project_id == project_id, R.c.id == rule_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).mappings().first()
        if row is None:
            raise RuleNotExist(f"The alarm rule {rule_id} does not exist in the project {project_id}.")
        return row

    def get_rule(self, project_id: str, rule_id: str) -> Mapping[Any, Any]:
        with self.db.read() as conn:
            return self._load(conn, project_id, rule_id)

    def update_rule(self, project_id: str, uin: str, req: M.UpdateOpsAlarmRuleRequest) -> None:
        """Only the fields given change; the result is validated as a whole."""
        try:
            with self.db.write() as conn:
                row = self._load(conn, project_id, req.alarm_rule_id, for_update=True)
                name = rule_config.check_rule_name(req.alarm_rule_name) if req.alarm_rule_name is not None else row["name"]
                kind = (rule_config.check_object_type(req.monitor_object_type) if req.monitor_object_type is not None
                        else row["monitor_object_type"])  # fmt: skip
                ids = (rule_config.check_object_ids(req.monitor_object_ids) if req.monitor_object_ids is not None
                       else list(row["monitor_object_ids"]))  # fmt: skip
                types = rule_config.check_alarm_types(req.alarm_types) if req.alarm_types is not None else list(row["alarm_types"])
                if req.alarm_rule_detail is not None:
                    detail = rule_config.check_detail(req.alarm_rule_detail, types)
                else:
                    detail = dict(row["detail"])
                    if rule_config.OVERTIME in types and not (detail.get("TimeOutExtInfo")
                                                     or detail.get("DataBackfillOrRerunTimeOutExtInfo")):  # fmt: skip
                        raise InvalidValue("an overtime alarm needs AlarmRuleDetail.TimeOutExtInfo or "
                                           "DataBackfillOrRerunTimeOutExtInfo")  # fmt: skip
                groups = rule_config.check_groups(req.alarm_groups) if req.alarm_groups is not None else list(row["groups"])
                level = rule_config.check_level(req.alarm_level, row["alarm_level"])
                status = rule_config.check_status(req.status) if req.status is not None else row["status"]
                description = (rule_config.check_description(req.description) if req.description is not None
                               else row["description"])  # fmt: skip
                self._check_objects(conn, project_id, kind, ids, detail)
                if name != row["name"]:
                    self._check_name_free(conn, project_id, name, exclude=row["id"])
                conn.execute(update(R).where(R.c.id == row["id"]).values(
                    name=name, description=description, monitor_object_type=kind, monitor_object_ids=ids,
                    alarm_types=types, alarm_types_text=rule_config.types_text(types), alarm_level=level, status=status,
                    detail=detail, groups=groups, recipients_text=rule_config.recipients_text(groups),
                    update_user_uin=uin, updated_at=self.clock.now(),
                ))  # fmt: skip
                if kind != row["monitor_object_type"] or ids != list(row["monitor_object_ids"]):
                    conn.execute(delete(RO).where(RO.c.rule_id == row["id"]))
                    conn.execute(insert(RO), self._objects(row["id"], project_id, kind, ids))
        except IntegrityError:
            raise RuleNameRepeated(f"An alarm rule named {req.alarm_rule_name!r} already exists.") from None

    def delete_rule(self, project_id: str, rule_id: str) -> None:
        """The rule goes; the messages it recorded stay (alarm history)."""
        with self.db.write() as conn:
            row = self._load(conn, project_id, rule_id, for_update=True)
            conn.execute(delete(RO).where(RO.c.rule_id == row["id"]))
            conn.execute(delete(R).where(R.c.id == row["id"]))

    def list_rules(self, req: M.ListOpsAlarmRulesRequest) -> Paged[Mapping[Any, Any]]:
        """The ``alarm_rules`` rows of the page: one query for the page, one for the count."""
        pg = page(req.page_number, req.page_size, default_size=20, min_size=1, max_size=200)
        cond: list[Any] = [R.c.project_id == req.project_id]
        if req.monitor_object_type is not None:
            if req.monitor_object_type not in (*rule_config.OBJECT_TYPES, 7):
                raise InvalidValue(f"MonitorObjectType must be 1, 2, 3 or 7, got {req.monitor_object_type}")
            cond.append(R.c.monitor_object_type == req.monitor_object_type)
        if req.alarm_type not in (None, ""):
            if req.alarm_type.strip() not in rule_config.ALL_TYPES:
                raise InvalidValue(f"AlarmType: unknown alarm type {req.alarm_type!r}")
            cond.append(R.c.alarm_types_text.contains("," + req.alarm_type.strip() + ",", autoescape=True))
        if req.alarm_level is not None:
            cond.append(R.c.alarm_level == rule_config.check_level(req.alarm_level))
        if req.alarm_recipient_id not in (None, ""):
            cond.append(R.c.recipients_text.contains("," + req.alarm_recipient_id.strip() + ",", autoescape=True))
        if req.keyword not in (None, ""):
            kw = req.keyword.strip()
            cond.append(or_(R.c.id == kw, R.c.name.contains(kw, autoescape=True)))
        if req.create_user_uin not in (None, ""):
            cond.append(R.c.owner_uin == req.create_user_uin.strip())
        for col, lo_text, hi_text, field in (
            (R.c.created_at, req.create_time_from, req.create_time_to, "CreateTime"),
            (R.c.updated_at, req.update_time_from, req.update_time_to, "UpdateTime"),
        ):
            lo = _time_filter(lo_text, None, f"{field}From")
            hi = _time_filter(hi_text, None, f"{field}To")
            _range(lo, hi, field)
            if lo is not None:
                cond.append(col >= lo)
            if hi is not None:
                cond.append(col <= hi + timedelta(microseconds=999_999))
        with self.db.read() as conn:
            if req.task_id not in (None, ""):
                cond.append(self._watches_task(conn, req.project_id, req.task_id.strip()))
            where = and_(*cond)
            total = conn.execute(select(func.count()).select_from(R).where(where)).scalar_one()
            rows = conn.execute(
                select(R).where(where).order_by(R.c.created_at.desc(), R.c.id.desc()).limit(pg.size).offset(pg.offset)
            ).mappings().all()
        return Paged(list(rows), pg, int(total))

    @staticmethod
    def _watches_task(conn: Connection, project_id: str, task_id: str) -> Any:
        """Rules that watch the task: directly, through its workflow, or through the project."""
        workflow_id = conn.execute(
            select(T.tasks.c.workflow_id).where(T.tasks.c.project_id == project_id, T.tasks.c.id == task_id)
        ).scalar()
        objects = [and_(RO.c.object_type == rule_config.OBJECT_TASK, RO.c.object_id == task_id)]
        if workflow_id is not None:
            objects += [and_(RO.c.object_type == rule_config.OBJECT_WORKFLOW, RO.c.object_id == workflow_id),
                        and_(RO.c.object_type == rule_config.OBJECT_PROJECT, RO.c.object_id == project_id)]  # fmt: skip
        return R.c.id.in_(select(RO.c.rule_id).where(RO.c.project_id == project_id, or_(*objects)))

    # -- messages -------------------------------------------------------------------------------

    def list_messages(self, req: M.ListAlarmMessagesRequest) -> Paged[Mapping[Any, Any]]:
        """The ``alarm_messages`` rows of the page (StartTime/EndTime read in TimeZone)."""
        pg = page(req.page_number, req.page_size, default_size=10, min_size=1, max_size=100)
        zone = req.time_zone or None
        if zone is not None:
            zone_of(zone)
        cond: list[Any] = [MSG.c.project_id == req.project_id]
        lo = _message_time(req.start_time, zone, "StartTime")
        hi = _message_time(req.end_time, zone, "EndTime")
        _range(lo, hi, "StartTime/EndTime")
        if lo is not None:
            cond.append(MSG.c.alarm_time >= lo)
        if hi is not None:
            cond.append(MSG.c.alarm_time <= hi + timedelta(microseconds=999_999))
        if req.alarm_level is not None:
            cond.append(MSG.c.alarm_level == rule_config.check_level(req.alarm_level))
        if req.alarm_recipient_id not in (None, ""):
            cond.append(MSG.c.recipients_text.contains("," + req.alarm_recipient_id.strip() + ",", autoescape=True))
        where = and_(*cond)
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(MSG).where(where)).scalar_one()
            rows = conn.execute(
                select(MSG).where(where).order_by(MSG.c.alarm_time.desc(), MSG.c.id.desc())
                .limit(pg.size).offset(pg.offset)
            ).mappings().all()  # fmt: skip
        return Paged(list(rows), pg, int(total))

    def get_message(self, project_id: str, message_id: int | str, zone: str | None) -> Mapping[Any, Any]:
        if zone:
            zone_of(zone)
        try:
            mid = as_int(message_id, "AlarmMessageId")
        except InvalidValue:
            mid = None  # not a number: no such message
        row = None
        if mid is not None and 0 < mid < 2**63:
            with self.db.read() as conn:
                row = conn.execute(
                    select(MSG).where(MSG.c.project_id == project_id, MSG.c.id == mid)
                ).mappings().first()
        if row is None:
            raise NotFound(f"The alarm message {message_id} does not exist in the project {project_id}.")
        return row

    def delivery_states(self, project_id: str, message_ids: Sequence[int]) -> dict[int, list[Mapping[Any, Any]]]:
        """The outbox rows of the messages (one query; the console's messages page shows their
        delivery state: the API's AlarmMessage has no field for it). Bound to the project through
        the messages; the caller has checked membership with ListAlarmMessages first."""
        from wedata.storage.alarm_tables import alarm_deliveries as D

        ids = [int(i) for i in message_ids][:200]
        out: dict[int, list[Mapping[Any, Any]]] = {i: [] for i in ids}
        if not ids:
            return out
        with self.db.read() as conn:
            rows = conn.execute(
                select(D.c.message_id, D.c.alarm_way, D.c.target, D.c.round, D.c.status, D.c.attempts,
                       D.c.next_attempt_at, D.c.last_status_code, D.c.last_error, D.c.delivered_at)
                .select_from(D.join(MSG, MSG.c.id == D.c.message_id))
                .where(D.c.message_id.in_(ids), MSG.c.project_id == project_id)
                .order_by(D.c.message_id, D.c.alarm_way, D.c.target, D.c.round)
            ).mappings().all()  # fmt: skip
        for r in rows:
            out[int(r["message_id"])].append(r)
        return out

    def deliveries(self, message_id: int) -> list[Mapping[Any, Any]]:
        """The outbox rows of a message (for operators and tests)."""
        from wedata.storage.alarm_tables import alarm_deliveries as D

        with self.db.read() as conn:
            return list(conn.execute(
                select(D).where(D.c.message_id == message_id).order_by(D.c.alarm_way, D.c.target, D.c.round)
            ).mappings().all())  # fmt: skip
