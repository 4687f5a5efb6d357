"""Events (WeData 2021-08-20: RegisterEvent/RegisterDsEvent, TriggerEvent/TriggerDsEvent,
DescribeEvent, DescribeEventCases): the only way to release instances waiting in WAIT_EVENT,
since API 2025-08-06 can reference events but not fire them (spec §3.14, §6.23).

Matching and consumption rules are in scheduler/event_consume.py, the read side (DescribeEvent
listeners, DescribeEventCases filters) in views.py; answers are records (rows and the small
dataclasses here and in views.py) that actions/events/wire.py renders. The contract with the
engine and every decision is written up in docs/events.md. In short:

- An event is registered once per project (name unique: ``InvalidParameter.DuplicateName``).
  Names are letters, digits and ``_``, starting with a letter, at most 64 characters (WeData's
  RegisterEvent documents 20; the longer limit only accepts more).
- A trigger creates a *case* (CaseId) for one dimension (``yyyyMMdd`` for DAY, ``yyyyMMddHH``
  HOUR, ``yyyyMMddHHmm`` MIN, ``yyyyMMddHHmmss`` SECOND: the event's format, a valid time).
  It lives ``TimeToLive`` x ``TimeUnit`` from the trigger (no TimeToLive: it never expires).
- A SINGLE event's case is consumed by one waiting instance; a BROADCAST event's by every
  instance waiting for it (at most ``ValidConsumeCount`` of them when that is given). A
  listener declared SINGLE in a task's EventListenerList also takes a broadcast case for itself
  alone among SINGLE listeners (BROADCAST listeners still get it).
- Triggering releases the instances already waiting in the same transaction (their waits are
  met and their state re-evaluated), then wakes an in-process engine; instances planned later
  take still-open cases when they start waiting (scheduler/readiness.py).
- TriggerDsEvent is a batch: each list item succeeds or fails on its own and failures are
  reported in ``FailMessageList`` (Key ``<EventName>:<Dimension>``); one transaction for all.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select
from sqlalchemy.exc import IntegrityError

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.scheduler.api import Change, SchedulerApi, event_consume
from wedata.services.common import Paged, as_int, new_uuid, page, supported, zone_of
from wedata.services.errors import Duplicate, InvalidValue, NotFound, ServiceError
from wedata.services.events.views import (
    BROADCAST_TYPES,
    CASE_SORTS,
    EVENT_TYPES,
    SUB_TYPES,
    CaseItem,
    CaseQuery,
    EventDetail,
    case_condition,
    case_status,
    choice,
    listeners,
)
from wedata.storage import tables as T
from wedata.storage.db import Database
from wedata.storage.event_tables import event_cases, events

log = logging.getLogger(__name__)

EV, C = events, event_cases
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_STRPTIME = {"SECOND": "%Y%m%d%H%M%S", "MIN": "%Y%m%d%H%M", "HOUR": "%Y%m%d%H", "DAY": "%Y%m%d"}
_STEP = {"SECOND": timedelta(seconds=1), "MIN": timedelta(minutes=1), "HOUR": timedelta(hours=1),
         "DAY": timedelta(days=1)}  # fmt: skip
TIME_UNITS = {"SECONDS": timedelta(seconds=1), "MINUTES": timedelta(minutes=1), "HOURS": timedelta(hours=1),
              "DAYS": timedelta(days=1)}  # fmt: skip
MAX_CASES = 1000  # per trigger request
MAX_DESCRIBED_CASES = 100  # DescribeEvent lists the newest open cases, at most this many



def _text(value: str | None, field: str, max_len: int, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidValue(f"{field} must not be empty")
    if len(text) > max_len:
        raise InvalidValue(f"{field} must be at most {max_len} characters")
    return text


def check_name(value: str | None, field: str = "Name") -> str:
    name = (value or "").strip()
    if not NAME_RE.fullmatch(name):
        raise InvalidValue(
            f"{field} must be letters, digits and underscores, start with a letter and be at most "
            f"64 characters, got {value!r}"
        )
    return name


def parse_dimension(value: str | None, sub_type: str, field: str = "Dimension") -> tuple[str, datetime]:
    text = (value or "").strip()
    fmt = SUB_TYPES[sub_type]
    try:
        if len(text) != len(fmt) or not text.isdigit():
            raise ValueError
        at = datetime.strptime(text, _STRPTIME[sub_type])
    except ValueError:
        raise InvalidValue(f"{field} must be a {sub_type} dimension formatted {fmt}, got {value!r}") from None
    supported(at, field)
    return text, at


@dataclass(frozen=True, slots=True)
class RegisteredEvent:
    """RegisterDsEvent: the new ``events`` row and the name of its project."""

    event: Row[Any]
    project_name: str | None


@dataclass(frozen=True, slots=True)
class Failure:
    key: str  # ``<EventName>:<Dimension>`` (or ``:<Start>-<End>`` for a batch item)
    message: str


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """TriggerDsEvent: how many items were given and the ones that failed (each on its own)."""

    total: int
    failures: list[Failure]


@dataclass(frozen=True, slots=True)
class CaseSpec:
    """One validated case to fire."""

    key: str  # FailMessage.Key of the request item it comes from
    event: Row[Any]
    dimension: str
    description: str
    consumer_id: str | None
    case_id: str | None = None


class EventService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, scheduler: SchedulerApi) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.scheduler = scheduler

    # The engine's side of the contract (docs/events.md): satisfy waits from open cases.
    consume_waiting = staticmethod(event_consume.consume_waiting)

    # ------------------------------------------------------------------------------------------
    # Registration.

    def register(
        self,
        project_id: str,
        caller: Caller,
        *,
        name: str,
        sub_type: str,
        broadcast_type: str | None,
        time_unit: str,
        owner: str,
        event_type: str | None,
        dimension_format: str | None,
        time_to_live: int | str | None,
        ttl_required: bool,
        description: str | None,
        valid_consume_count: int | None,
    ) -> RegisteredEvent:
        """Register an event; returns it (RegisterDsEvent shows it)."""
        values: dict[str, Any] = {
            "name": check_name(name),
            "sub_type": choice(sub_type, "EventSubType", SUB_TYPES),
            "broadcast_type": choice(broadcast_type, "EventBroadcastType", BROADCAST_TYPES, "BROADCAST"),
            "time_unit": choice(time_unit, "TimeUnit", TIME_UNITS),
            "owner": _text(owner, "Owner", 64, required=True),
            "event_type": choice(event_type, "EventType", EVENT_TYPES, "TIME_SERIES"),
            "description": _text(description, "Description", 1024),
        }
        expected = SUB_TYPES[values["sub_type"]]
        if dimension_format and dimension_format.strip().lower() != expected.lower():
            raise InvalidValue(f"DimensionFormat must be {expected} for a {values['sub_type']} event, got {dimension_format!r}")
        values["dimension_format"] = expected
        ttl = as_int(time_to_live, "TimeToLive")
        if ttl is None and ttl_required:
            raise InvalidValue("TimeToLive must not be empty")
        if ttl is not None and ttl <= 0:
            raise InvalidValue(f"TimeToLive must be a positive integer, got {time_to_live!r}")
        values["time_to_live"] = ttl
        if valid_consume_count is not None and (valid_consume_count == 0 or valid_consume_count < -1):
            raise InvalidValue(f"ValidConsumeCount must be -1 (no limit) or at least 1, got {valid_consume_count}")
        values["valid_consume_count"] = valid_consume_count
        now = self.clock.now()
        duplicate = Duplicate(f"An event named {values['name']!r} already exists in the project.")
        try:
            with self.db.write() as conn:
                if conn.execute(
                    select(EV.c.id).where(EV.c.project_id == project_id, EV.c.name == values["name"])
                ).first() is not None:
                    raise duplicate
                conn.execute(
                    insert(EV).values(id=new_uuid().replace("-", ""), project_id=project_id,
                                      create_user_uin=caller.uin, created_at=now, **values)
                )
                row = self._event(conn, project_id, values["name"])
                project_name = conn.execute(
                    select(T.projects.c.display_name).where(T.projects.c.id == project_id)
                ).scalar()
        except IntegrityError:
            raise duplicate from None  # registered concurrently under the same name
        return RegisteredEvent(row, project_name)

    # ------------------------------------------------------------------------------------------
    # Triggering.

    def trigger_one(self, project_id: str, caller: Caller, name: str, dimension: str, description: str | None) -> None:
        """TriggerEvent: one case; an unknown event is ResourceNotFound, a bad dimension invalid."""
        now = self.clock.now()
        with self.db.write() as conn:
            spec = self._case_spec(conn, project_id, f"{name}:{dimension}", name, dimension, description, None)
            released = self._fire(conn, project_id, caller, [spec], now)
        self._notify(released)

    def trigger_batch(
        self,
        project_id: str,
        caller: Caller,
        cases: list[dict[str, Any]],
        batches: list[dict[str, Any]],
        zone: str | None,
    ) -> BatchOutcome:
        """TriggerDsEvent: every item on its own."""
        if zone:
            zone_of(zone)  # dimensions are data times in the listeners' own zones: only validated
        if not cases and not batches:
            raise InvalidValue("EventCaseList or EventBatchCaseList must hold at least one case")
        now = self.clock.now()
        failures: list[Failure] = []
        with self.db.write() as conn:
            specs: list[CaseSpec] = []
            seen_ids: set[str] = set()
            for item in cases:
                key = f"{item.get('Name') or ''}:{(item.get('Dimension') or '').strip()}"
                try:
                    spec = self._case_spec(conn, project_id, key, item.get("Name"), item.get("Dimension"),
                                           item.get("Description"), item.get("ConsumerId"), item.get("CaseId"))
                    if spec.case_id is not None and spec.case_id in seen_ids:
                        raise Duplicate(f"CaseId {spec.case_id} is given twice")
                    if spec.case_id is not None:
                        seen_ids.add(spec.case_id)
                    specs.append(spec)
                except ServiceError as err:
                    failures.append(Failure(key, err.message))
            for item in batches:
                key = f"{item.get('Name') or ''}:{(item.get('StartDimension') or '').strip()}-" \
                      f"{(item.get('EndDimension') or '').strip()}"
                try:
                    specs.extend(self._batch_specs(conn, project_id, key, item))
                except ServiceError as err:
                    failures.append(Failure(key, err.message))
            if len(specs) > MAX_CASES:
                raise InvalidValue(f"At most {MAX_CASES} event cases can be triggered in one request")
            released = self._fire(conn, project_id, caller, specs, now)
        self._notify(released)
        return BatchOutcome(len(cases) + len(batches), failures)

    def _event(self, conn: Connection, project_id: str, name: str | None) -> Row[Any]:
        if not (name or "").strip():
            raise InvalidValue("The event name must not be empty")
        row = conn.execute(
            select(EV).where(EV.c.project_id == project_id, EV.c.name == (name or "").strip())
        ).first()
        if row is None:
            raise NotFound(f"The event {name!r} does not exist in the project {project_id}.")
        return row

    def _consumer(self, conn: Connection, project_id: str, consumer_id: str | None) -> str | None:
        consumer = (consumer_id or "").strip() or None
        if consumer is not None and conn.execute(
            select(T.tasks.c.id).where(T.tasks.c.id == consumer, T.tasks.c.project_id == project_id)
        ).first() is None:
            raise NotFound(f"ConsumerId: the task {consumer} does not exist in the project {project_id}.")
        return consumer

    def _case_spec(
        self,
        conn: Connection,
        project_id: str,
        key: str,
        name: str | None,
        dimension: str | None,
        description: str | None,
        consumer_id: str | None,
        case_id: str | None = None,
    ) -> CaseSpec:
        event = self._event(conn, project_id, name)
        dim, _ = parse_dimension(dimension, event.sub_type)
        cid = (case_id or "").strip() or None
        if cid is not None:
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cid):
                raise InvalidValue(f"CaseId must be 1 to 64 letters, digits, '-' or '_', got {case_id!r}")
            if conn.execute(select(C.c.id).where(C.c.id == cid)).first() is not None:
                raise Duplicate(f"An event case with CaseId {cid} already exists.")
        return CaseSpec(key, event, dim, _text(description, "Description", 1024),
                        self._consumer(conn, project_id, consumer_id), cid)

    def _batch_specs(self, conn: Connection, project_id: str, key: str, item: dict[str, Any]) -> list[CaseSpec]:
        event = self._event(conn, project_id, item.get("Name"))
        sub = choice(item.get("EventSubType"), "EventSubType", SUB_TYPES, event.sub_type)
        if sub != event.sub_type:
            raise InvalidValue(f"EventSubType {sub} does not match the event's {event.sub_type}")
        _, start = parse_dimension(item.get("StartDimension"), sub, "StartDimension")
        _, end = parse_dimension(item.get("EndDimension"), sub, "EndDimension")
        if start > end:
            raise InvalidValue("StartDimension is after EndDimension")
        count = int((end - start) / _STEP[sub]) + 1
        if count > MAX_CASES:
            raise InvalidValue(f"The range holds {count} dimensions; at most {MAX_CASES} can be triggered at once")
        description = _text(item.get("Description"), "Description", 1024)
        consumer = self._consumer(conn, project_id, item.get("ConsumerId"))
        fmt = _STRPTIME[sub]
        return [
            CaseSpec(key, event, (start + n * _STEP[sub]).strftime(fmt), description, consumer)
            for n in range(count)
        ]

    def _fire(self, conn: Connection, project_id: str, caller: Caller, specs: list[CaseSpec], now: datetime) -> list[int]:
        """Insert the cases and release the instances waiting for them; returns those instances."""
        case_ids: list[str] = []
        for spec in specs:
            ev = spec.event
            case_id = spec.case_id or new_uuid().replace("-", "")
            ttl = ev.time_to_live
            if ev.broadcast_type == "SINGLE":
                limit = 1
            else:
                limit = ev.valid_consume_count if ev.valid_consume_count and ev.valid_consume_count > 0 else -1
            conn.execute(
                insert(C).values(
                    id=case_id,
                    event_id=ev.id,
                    project_id=project_id,
                    event_name=ev.name,
                    dimension=spec.dimension,
                    consumer_id=spec.consumer_id,
                    description=spec.description,
                    consume_limit=limit,
                    consumed_count=0,
                    single_taken=False,
                    create_user_uin=caller.uin,
                    triggered_at=now,
                    expires_at=None if ttl is None else now + ttl * TIME_UNITS[ev.time_unit],
                )
            )
            case_ids.append(case_id)
        released: list[int] = []
        for case_id in case_ids:
            released.extend(event_consume.release_for_case(conn, case_id, now))
        if released:
            # Imported here: only a release needs the engine's readiness rules.
            from wedata.scheduler.api import Tx, evaluate

            tx = Tx(conn, now, caller.uin[:64])
            evaluate(tx, released)
            tx.flush()
        log.info("event cases %s fired in project %s by %s; released instances %s",
                 case_ids, project_id, caller.uin, released)
        return released

    def _notify(self, released: list[int]) -> None:
        if released:
            self.scheduler.notify(Change.INSTANCES)

    # ------------------------------------------------------------------------------------------
    # Reads.

    def describe(self, project_id: str, name: str) -> EventDetail:
        """DescribeEvent: the event, its listeners and its newest open cases."""
        now = self.clock.now()
        with self.db.read() as conn:
            ev = self._event(conn, project_id, name)
            listening = listeners(conn, project_id, ev.name)
            cases = conn.execute(
                select(C)
                .where(C.c.event_id == ev.id, event_consume.case_open(now))
                .order_by(C.c.triggered_at.desc(), C.c.id)
                .limit(MAX_DESCRIBED_CASES)
            ).all()
        return EventDetail(ev, listening, list(cases))

    def list_cases(self, project_id: str, q: CaseQuery) -> Paged[CaseItem]:
        """DescribeEventCases: one page query + count."""
        pg = page(q.page_number, q.page_size, min_size=1, max_size=200)
        now = self.clock.now()
        cond = case_condition(project_id, q, now)
        sort = CASE_SORTS.get((q.sort_item or "CreateTime").strip().upper())
        if sort is None:
            raise InvalidValue(f"SortItem must be one of CreateTime, LogTimestamp, Dimension, got {q.sort_item!r}")
        direction = choice(q.sort_type, "SortType", ("ASC", "DESC"), "DESC")
        column = C.c[sort]
        joined = C.join(EV, EV.c.id == C.c.event_id)
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(joined).where(cond)).scalar_one()
            rows = conn.execute(
                select(C, EV.c.event_type, EV.c.sub_type, EV.c.broadcast_type, EV.c.time_to_live, EV.c.time_unit)
                .select_from(joined)
                .where(cond)
                .order_by(column.asc() if direction == "ASC" else column.desc(), C.c.id)
                .limit(pg.size)
                .offset(pg.offset)
            ).all()
        return Paged([CaseItem(r, case_status(r, now)) for r in rows], pg, int(total))
