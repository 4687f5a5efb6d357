"""When alarm rules fire: matching instance outcomes and overdue instances against the rules,
and recording the messages and their deliveries (the outbox) in the caller's transaction.

Two ways in:

- :func:`fire_events` for :class:`InstanceEvent` values (an attempt or instance ended). The
  engine does not call it directly: every state change goes through the one transition function,
  whose ``Tx.flush()`` hands the batch of changes to the observer the alarm service registered
  (:func:`events_from_transitions` turns those changes into events, loading the instances and the
  rules that watch them in ONE joined query, so a batch without matching rules costs one query).
- :func:`overtime_firings` for the periodic sweep: one query over the unfinished, due instances
  watched by enabled overtime rules.

A firing is idempotent: ``alarm_messages.dedupe_key`` is (rule, task, data time, life round, what),
and messages are inserted with ON CONFLICT DO NOTHING, so a replayed batch or a sweep that sees a
late instance again records nothing new. Rules and decisions: docs/alarms.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from wedata.scheduler.api import states
from wedata.scheduling.timezones import wall_to_utc
from wedata.services.alarms import rules as rule_config
from wedata.services.common import to_local, zone_of
from wedata.storage import tables as T
from wedata.storage.alarm_tables import (
    alarm_deliveries,
    alarm_messages,
    alarm_rule_objects,
    alarm_rules,
    rule_watches,
)
from wedata.storage.engine_tables import task_instances

TI, RO, R, MSG, D = task_instances, alarm_rule_objects, alarm_rules, alarm_messages, alarm_deliveries

# Executions that belong to a rerun or a backfill (InstanceExecution.RunType, spec §3.10): their
# outcomes are the backTrackingOrRerun* alarms, everything else the plain failure/success ones.
RERUN_RUN_TYPES = frozenset({"RERUN", "ADDITION", "RERUN_MANUAL_TRIGGER", "RERUN_SKIP_RUN", "ADDITION_SKIP_RUN"})
OUTCOMES = ("success", "failure", "overtime")
ACTIVE_STATES = (states.WAIT_EVENT, states.WAIT_UPSTREAM, states.WAIT_RUN, states.RUNNING, states.FAILED_RETRY)
NOT_CONFIGURED = "not delivered: channel not configured"
MAX_REASON = 2000


@dataclass(frozen=True)
class InstanceEvent:
    """One outcome of an instance execution, as alarm rules see it.

    ``outcome`` is ``success`` (an attempt ran and succeeded), ``failure`` (an attempt failed, or
    the instance ended failed without running: timeout, kill, force-fail) or ``overtime`` (made
    by the overtime sweep). For a failure, ``final`` says the instance ended (EXPIRED: no retry
    follows) and ``first_failure`` that no earlier attempt of this execution round failed; the
    rule's ``Trigger`` (1 first failure, 2 after all retries) chooses between them. ``run_type``
    (the round's RunType) sends RERUN/ADDITION executions to the backTrackingOrRerun* types.
    ``data_time`` is the instance data time (CurRunDate, wall time in the task's zone).
    """

    project_id: str
    task_id: str
    workflow_id: str
    data_time: datetime
    outcome: str
    run_type: str = "PERIODIC"
    final: bool = True
    first_failure: bool = True
    instance_id: int | None = None
    life_round_num: int = 0
    tries: int = 1
    try_limit: int = 1
    started_at: datetime | None = None  # UTC
    ended_at: datetime | None = None  # UTC
    reason: str = ""
    task_name: str | None = None
    owner_uin: str | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"InstanceEvent.outcome must be one of {OUTCOMES}, got {self.outcome!r}")

    @property
    def rerun_or_backfill(self) -> bool:
        return self.run_type in RERUN_RUN_TYPES


@dataclass(frozen=True)
class Firing:
    rule: Mapping[Any, Any]  # an alarm_rules row
    event: InstanceEvent
    alarm_type: str
    dedupe_key: str
    reason: str
    at: datetime  # UTC


# ----------------------------------------------------------------------------------------------
# Matching.


def _object_match() -> Any:
    """The join condition "this rule object watches this instance" (task, workflow or project)."""
    return rule_watches(TI)


RULE_COLUMNS = (
    R.c.id.label("rule_id"),
    R.c.name.label("rule_name"),
    R.c.alarm_types,
    R.c.alarm_level,
    R.c.detail,
    R.c.groups,
    RO.c.object_id.label("matched_object"),
)


def _rule(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("rule_id", "rule_name", "alarm_types", "alarm_level", "detail", "groups",
                                "matched_object")}  # fmt: skip


def _label(ev: InstanceEvent) -> str:
    if ev.run_type.startswith("ADDITION"):
        return "the backfill execution"
    if ev.rerun_or_backfill:
        return "the rerun"
    return "the instance"


def _seconds(ev: InstanceEvent) -> str:
    if ev.started_at and ev.ended_at:
        return f" in {max(0, int((ev.ended_at - ev.started_at).total_seconds()))} s"
    return ""


def _key(rule_id: str, ev: InstanceEvent, what: str) -> str:
    return f"{rule_id}:{ev.task_id}:{ev.data_time:%Y%m%d%H%M%S}:{ev.life_round_num}:{what}"


def firings_for(ev: InstanceEvent, rule: Mapping[Any, Any], at: datetime) -> list[Firing]:
    """What this rule says about this success or failure (overtime is decided by the sweep)."""
    detail = rule["detail"] or {}
    matched = rule.get("matched_object")
    if matched != ev.task_id and (matched, ev.task_id) in rule_config.white_task_ids(detail):
        return []  # MonitorWhiteTasks: the task is exempt from this workflow/project rule
    types = rule["alarm_types"] or []
    rerun = ev.rerun_or_backfill
    if ev.outcome == "failure":
        kind = rule_config.RERUN_FAILURE if rerun else rule_config.FAILURE
        if kind not in types:
            return []
        if rerun:
            trigger = detail.get("DataBackfillOrRerunTrigger") or rule_config.DEFAULT_RERUN_TRIGGER
        else:
            trigger = detail.get("Trigger") or rule_config.DEFAULT_TRIGGER
        if (trigger == 1 and not ev.first_failure) or (trigger == 2 and not ev.final):
            return []
        if ev.final and ev.tries <= 0:
            text = f"{kind}: {_label(ev)} failed (EXPIRED) without running"
        elif ev.final:
            text = f"{kind}: {_label(ev)} failed (EXPIRED) after {ev.tries} of {ev.try_limit} tries"
        else:
            text = f"{kind}: attempt {ev.tries} of {ev.try_limit} of {_label(ev)} failed; a retry follows"
        reason = text + (f": {ev.reason}" if ev.reason else "")
    elif ev.outcome == "success":
        kind = rule_config.RERUN_SUCCESS if rerun else rule_config.SUCCESS
        if kind not in types:
            return []
        reason = f"{kind}: {_label(ev)} succeeded{_seconds(ev)}"
    else:
        return []
    return [Firing(rule, ev, kind, _key(rule["rule_id"], ev, kind), reason[:MAX_REASON], at)]


def rules_for_event(conn: Connection, ev: InstanceEvent) -> list[dict[str, Any]]:
    """The enabled rules watching the event's task, workflow or project (one query)."""
    cond = or_(
        and_(RO.c.object_type == rule_config.OBJECT_TASK, RO.c.object_id == ev.task_id),
        and_(RO.c.object_type == rule_config.OBJECT_WORKFLOW, RO.c.object_id == ev.workflow_id),
        and_(RO.c.object_type == rule_config.OBJECT_PROJECT, RO.c.object_id == ev.project_id),
    )
    rows = conn.execute(
        select(*RULE_COLUMNS)
        .select_from(RO.join(R, R.c.id == RO.c.rule_id))
        .where(RO.c.project_id == ev.project_id, cond, R.c.status == 1)
    ).mappings()
    return [_rule(r) for r in rows]


def fire_events(conn: Connection, events: Sequence[InstanceEvent], at: datetime) -> list[int]:
    """Match each event against its rules and record what fires; returns new message ids."""
    firings: list[Firing] = []
    for ev in events:
        for rule in rules_for_event(conn, ev):
            firings.extend(firings_for(ev, rule, at))
    return record(conn, firings)


def outcome_of(change: Mapping[Any, Any]) -> tuple[str, bool, bool] | None:
    """(outcome, final, first_failure) of one transition-history entry, or None."""
    to_state, from_state, tries = change["to_state"], change.get("from_state"), change.get("tries") or 0
    if to_state == states.COMPLETED and from_state == states.RUNNING:
        return "success", True, False  # an attempt ran and succeeded (not set-success, not a dry run)
    if to_state == states.FAILED_RETRY:
        return "failure", False, tries <= 1
    if to_state == states.EXPIRED:
        # Earlier failures in this round exist iff an attempt failed before (tries > 1 means a
        # retry happened) or the instance sat in FAILED_RETRY.
        return "failure", True, tries <= 1 and from_state != states.FAILED_RETRY
    return None


# Built once: the observer runs on the engine's hot path (one call per flush with an outcome).
_WATCHED_INSTANCES = (
    select(
        TI.c.id, TI.c.project_id, TI.c.task_id, TI.c.workflow_id, TI.c.data_time, TI.c.run_type,
        TI.c.try_limit, TI.c.started_at, TI.c.ended_at,
        T.tasks.c.name.label("task_name"), T.tasks.c.owner_uin, *RULE_COLUMNS,
    )
    .select_from(TI.join(RO, _object_match()).join(R, R.c.id == RO.c.rule_id).outerjoin(T.tasks, T.tasks.c.id == TI.c.task_id))
    .where(TI.c.id.in_(bindparam("ids", expanding=True)), R.c.status == 1)
)


def may_fire(change: Mapping[Any, Any]) -> bool:
    """Whether a transition-history entry has an outcome that some rule may be watching: not
    when the engine read, with the instance, that no enabled rule watches it (the
    ``alarm_watched`` hint of Tx's history rows; None, or absent: not known, read the rules)."""
    return change.get("alarm_watched") is not False and outcome_of(change) is not None


def events_from_transitions(conn: Connection, history: Sequence[Mapping[Any, Any]]) -> list[Firing]:
    """The firings of a batch of instance_transitions rows (``Tx.history``), one query."""
    changes = [(h, o) for h in history if may_fire(h) and (o := outcome_of(h)) is not None]
    if not changes:
        return []
    ids = sorted({h["instance_id"] for h, _ in changes})
    rows = conn.execute(_WATCHED_INSTANCES, {"ids": ids}).mappings().all()
    by_instance: dict[int, list[Mapping[Any, Any]]] = {}
    for row in rows:
        by_instance.setdefault(row["id"], []).append(row)
    firings: list[Firing] = []
    for h, (outcome, final, first) in changes:
        for r in by_instance.get(h["instance_id"], []):
            ev = InstanceEvent(
                project_id=r["project_id"], task_id=r["task_id"], workflow_id=r["workflow_id"],
                data_time=r["data_time"], outcome=outcome, run_type=r["run_type"], final=final,
                first_failure=first, instance_id=r["id"], life_round_num=h.get("life_round_num") or 0,
                tries=h.get("tries") or 0, try_limit=r["try_limit"], started_at=r["started_at"],
                ended_at=r["ended_at"], reason=(h.get("reason") or "") if outcome == "failure" else "",
                task_name=r["task_name"], owner_uin=r["owner_uin"],
            )  # fmt: skip
            firings.extend(firings_for(ev, _rule(r), h.get("at") or r["ended_at"] or datetime.min))
    return firings


# ----------------------------------------------------------------------------------------------
# Overtime.


def _minutes(m: float) -> str:
    return f"{m:.0f} min" if m >= 1 else f"{m * 60:.0f} s"


def _expected_finish(entry: Mapping[Any, Any], scheduled_at: datetime) -> tuple[datetime, str]:
    """The first wall time Hour:Min (in the entry's zone, UTC+8 by default) at or after the
    instance's scheduled time, as UTC, and how to show it."""
    zone_name = entry.get("ScheduleTimeZone") or "UTC+8"
    zone = zone_of(zone_name)
    wall = to_local(scheduled_at, zone_name)
    assert wall is not None
    hour, minute = entry.get("Hour") or 0, entry.get("Min") or 0
    target = wall.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target < wall:
        target += timedelta(days=1)
    return wall_to_utc(target, zone).replace(tzinfo=None), f"{target:%Y-%m-%d %H:%M} ({zone_name})"  # type: ignore[arg-type]


def _overdue(entry: Mapping[Any, Any], r: Mapping[Any, Any], now: datetime, averages: Mapping[str, float]) -> str | None:
    """Why this instance breaks this TimeOutExtInfo entry now, or None."""
    rule_type, state = entry.get("RuleType"), r["state"]
    if rule_type == rule_config.RUN_DURATION:
        if state != states.RUNNING or r["started_at"] is None:
            return None
        if entry.get("Type") == rule_config.AVERAGE:
            if r["task_id"] not in averages:
                return None  # no completed run to average yet
            limit = averages[r["task_id"]] / 60.0
        else:
            limit = rule_config.threshold_minutes_of(entry.get("Hour"), entry.get("Min"))
        ran = (now - r["started_at"]).total_seconds() / 60.0
        if ran > limit:
            return f"running for {_minutes(ran)}, more than the expected {_minutes(limit)}"
    elif rule_type == rule_config.FINISH_TIME:
        due, shown = _expected_finish(entry, r["scheduled_at"])
        if now >= due:
            return f"not finished by the expected time {shown}; state {state}"
    elif rule_type == rule_config.WAIT_TIME:
        if state not in states.WAITING:
            return None
        since = max(r["scheduled_at"], r["wait_since"] or r["scheduled_at"])
        waited = (now - since).total_seconds() / 60.0
        limit = rule_config.threshold_minutes_of(entry.get("Hour"), entry.get("Min"))
        if waited > limit:
            return f"waiting ({state}) for {_minutes(waited)}, more than the expected {_minutes(limit)}"
    elif rule_type == rule_config.WITHIN_CYCLE and r["next_scheduled"] is not None and r["next_scheduled"] <= now:
        return f"not finished within its cycle (the next instance was due); state {state}"
    return None


def overtime_firings(conn: Connection, now: datetime) -> list[Firing]:
    """Unfinished, due instances that break an enabled overtime rule (one query, plus one for
    average run times when a rule uses them)."""
    N = TI.alias("next_instance")
    next_scheduled = (
        select(func.min(N.c.scheduled_at))
        .where(N.c.task_id == TI.c.task_id, N.c.data_time > TI.c.data_time)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            TI.c.id, TI.c.project_id, TI.c.task_id, TI.c.workflow_id, TI.c.data_time, TI.c.run_type,
            TI.c.state, TI.c.scheduled_at, TI.c.started_at, TI.c.wait_since, TI.c.life_round_num,
            TI.c.tries, TI.c.try_limit, T.tasks.c.name.label("task_name"), T.tasks.c.owner_uin,
            next_scheduled.label("next_scheduled"), *RULE_COLUMNS,
        )
        .select_from(TI.join(RO, _object_match()).join(R, R.c.id == RO.c.rule_id).outerjoin(T.tasks, T.tasks.c.id == TI.c.task_id))
        .where(
            TI.c.state.in_(ACTIVE_STATES),
            TI.c.scheduled_at <= now,
            R.c.status == 1,
            R.c.alarm_types_text.contains("," + rule_config.OVERTIME + ","),
        )
    ).mappings().all()
    if not rows:
        return []
    averages = _average_seconds(conn, {r["task_id"] for r in rows if _uses_average(r)})
    firings: list[Firing] = []
    for r in rows:
        rule = _rule(r)
        detail = rule["detail"] or {}
        if (r["matched_object"], r["task_id"]) in rule_config.white_task_ids(detail) and r["matched_object"] != r["task_id"]:
            continue
        ev = InstanceEvent(
            project_id=r["project_id"], task_id=r["task_id"], workflow_id=r["workflow_id"],
            data_time=r["data_time"], outcome="overtime", run_type=r["run_type"], instance_id=r["id"],
            life_round_num=r["life_round_num"], tries=r["tries"], try_limit=r["try_limit"],
            started_at=r["started_at"], task_name=r["task_name"], owner_uin=r["owner_uin"],
        )  # fmt: skip
        key = "DataBackfillOrRerunTimeOutExtInfo" if ev.rerun_or_backfill else "TimeOutExtInfo"
        for entry in detail.get(key) or []:
            why = _overdue(entry, r, now, averages)
            if why:
                what = f"{rule_config.OVERTIME}{entry.get('RuleType')}"
                reason = f"{rule_config.OVERTIME}: {_label(ev)} is {why}"
                firings.append(Firing(rule, replace(ev, reason=why), rule_config.OVERTIME, _key(rule["rule_id"], ev, what),
                                      reason[:MAX_REASON], now))
    return firings


def _uses_average(r: Mapping[Any, Any]) -> bool:
    detail = r["detail"] or {}
    entries = [*(detail.get("TimeOutExtInfo") or []), *(detail.get("DataBackfillOrRerunTimeOutExtInfo") or [])]
    return any(e.get("Type") == rule_config.AVERAGE for e in entries)


def _average_seconds(conn: Connection, task_ids: set[str]) -> dict[str, float]:
    """Average run time (s) of each task's completed, executed instances."""
    if not task_ids:
        return {}
    rows = conn.execute(
        select(TI.c.task_id, func.avg(TI.c.cost_ms))
        .where(TI.c.task_id.in_(sorted(task_ids)), TI.c.state == states.COMPLETED, TI.c.dry_run.is_(False),
               TI.c.cost_ms.is_not(None))
        .group_by(TI.c.task_id)
    ).all()
    return {tid: float(avg) / 1000.0 for tid, avg in rows if avg is not None}


def known_keys(conn: Connection, keys: Iterable[str]) -> set[str]:
    wanted = sorted(set(keys))
    found: set[str] = set()
    for i in range(0, len(wanted), 500):
        found.update(conn.execute(select(MSG.c.dedupe_key).where(MSG.c.dedupe_key.in_(wanted[i : i + 500]))).scalars())
    return found


# ----------------------------------------------------------------------------------------------
# Recording: messages and the outbox.


def _owners(owner_uin: str | None) -> list[str]:
    return [o for o in (owner_uin or "").replace(",", ";").split(";") if o.strip()]


def _message_row(f: Firing) -> dict[str, Any]:
    ways: list[str] = []
    recipients: list[str] = []
    emails: list[str] = []
    any_emails = False
    for g in f.rule["groups"] or []:
        ways.extend(w for w in g.get("AlarmWays") or [] if w not in ways)
        ids = _owners(f.event.owner_uin) if g.get("AlarmRecipientType") == 2 else g.get("AlarmRecipientIds") or []
        recipients.extend(r for r in ids if r not in recipients)
        if g.get("CustomEmails") is not None:
            any_emails = True
            emails.extend(e for e in g["CustomEmails"] if e not in emails)
    ev = f.event
    return {
        "project_id": ev.project_id, "rule_id": f.rule["rule_id"], "rule_name": f.rule["rule_name"],
        "alarm_type": f.alarm_type, "alarm_level": f.rule["alarm_level"], "reason": f.reason,
        "task_id": ev.task_id, "task_name": ev.task_name, "workflow_id": ev.workflow_id,
        "instance_id": ev.instance_id, "data_time": ev.data_time, "life_round_num": ev.life_round_num,
        "alarm_ways": ways, "recipients": recipients,
        "recipients_text": "," + ",".join(recipients) + "," if recipients else "",
        "custom_emails": emails if any_emails else None, "fired_at": f.at, "alarm_time": f.at,
        "dedupe_key": f.dedupe_key,
    }  # fmt: skip


def not_configured(way: str) -> str:
    if way == rule_config.HTTP_WAY:
        return f"{NOT_CONFIGURED} (http: the rule gives no WebHooks URL for AlarmWay 6)"
    return f"{NOT_CONFIGURED} ({rule_config.WAY_NAMES.get(way, way)})"


def plan_deliveries(message_id: int, groups: Sequence[Mapping[Any, Any]], at: datetime) -> list[dict[str, Any]]:
    """The outbox rows of one message: each webhook URL NotifyCount times, NotifyInterval apart;
    one NOT_DELIVERED row for each channel this server cannot deliver."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str, int]] = set()

    def add(way: str, target: str, rnd: int, **values: Any) -> None:
        if (way, target, rnd) in seen:
            return
        seen.add((way, target, rnd))
        rows.append({"message_id": message_id, "alarm_way": way, "target": target, "round": rnd, "attempts": 0,
                     "created_at": at, "next_attempt_at": None, "quiet": None, "last_error": None, **values})

    for g in groups:
        fatigue = g.get("NotificationFatigue") or {}
        count = fatigue.get("NotifyCount") or rule_config.DEFAULT_NOTIFY_COUNT
        interval = fatigue.get("NotifyInterval") or rule_config.DEFAULT_NOTIFY_INTERVAL
        quiet = fatigue.get("QuietIntervals") or None
        hooks = {h["AlarmWay"]: h.get("WebHooks") or [] for h in g.get("WebHooks") or []}
        for way in g.get("AlarmWays") or []:
            urls = hooks.get(way) if way in rule_config.WEBHOOK_WAYS else None
            if not urls:
                add(way, "", 1, status="NOT_DELIVERED", last_error=not_configured(way))
                continue
            for url in urls:
                for rnd in range(1, count + 1):
                    add(way, url, rnd, status="PENDING", quiet=quiet,
                        next_attempt_at=at + timedelta(minutes=interval * (rnd - 1)))
    return rows


def _insert(conn: Connection, table: Any) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def record(conn: Connection, firings: Sequence[Firing]) -> list[int]:
    """Insert the messages that are new (by dedupe key) and their deliveries; returns their ids."""
    if not firings:
        return []
    unique: dict[str, Firing] = {}
    for f in firings:
        unique.setdefault(f.dedupe_key, f)
    rows = [_message_row(f) for f in unique.values()]
    inserted = conn.execute(
        _insert(conn, MSG).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(MSG.c.id, MSG.c.dedupe_key),
        rows,
    ).all()
    deliveries: list[dict[str, Any]] = []
    for message_id, key in inserted:
        f = unique[key]
        deliveries.extend(plan_deliveries(message_id, f.rule["groups"] or [], f.at))
    if deliveries:
        conn.execute(D.insert(), deliveries)
    return [i for i, _ in inserted]
