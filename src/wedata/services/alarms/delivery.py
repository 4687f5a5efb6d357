"""Alarm delivery: a background worker that drains the durable outbox (``alarm_deliveries``).

The scheduler never waits for a webhook: a firing only inserts outbox rows in the engine's own
transaction (alarm_firing.py). This worker, a daemon thread of the server process, claims due
rows with a lease (so a second process on the same PostgreSQL database, or a restart, never loses
or double-claims a row while the lease holds), POSTs them concurrently, and records the outcome:

- 2xx: DELIVERED.
- timeout, connection error, 408/425/429 or 5xx: retried with exponential backoff
  (``backoff_base`` x 2^(attempt-1), capped at ``backoff_cap``), at most ``max_attempts``
  attempts, then FAILED.
- any other status (3xx: redirects are not followed; 4xx): FAILED at once (retrying will not help).
- due inside one of the group's quiet intervals (``NotificationFatigue.QuietIntervals``, UTC+8):
  SUPPRESSED, not sent.

Delivery is at least once: a worker that dies after the POST but before recording it leaves the
row leased; when the lease expires the row is sent again. Receivers can de-duplicate on the
``X-WeData-Alarm-Delivery`` header (the outbox row id).

Payloads: the HTTP channel (AlarmWay 6) gets the alarm as a JSON object (``payload_for``);
group robots (7 WeCom, 8 Feishu, 9 DingTalk, 10 Slack, 11 Teams) get a text message in the
shape each robot API accepts.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, or_, select, update

from wedata.clock import Clock
from wedata.scheduling.datatimes import format_wall, instance_key
from wedata.services.alarms import rules
from wedata.services.common import fmt_time, to_local
from wedata.services.workers import BackgroundWorker
from wedata.storage.alarm_tables import alarm_deliveries, alarm_messages
from wedata.storage.db import Database
from wedata.storage.health import outage_reason

log = logging.getLogger("wedata.alarms")

D, MSG = alarm_deliveries, alarm_messages
LEVEL_NAMES = {1: "normal", 2: "important", 3: "urgent"}
RETRYABLE_STATUS = frozenset({408, 425, 429})
MAX_RESPONSE = 64 * 1024


@dataclass(frozen=True)
class DeliverySettings:
    poll_interval: float = 1.0  # seconds between outbox polls (a wake() makes it look sooner)
    timeout: float = 5.0  # seconds per HTTP request (connect and each read)
    max_attempts: int = 6
    backoff_base: float = 5.0  # seconds before the 2nd attempt; doubles each time
    backoff_cap: float = 600.0
    concurrency: int = 4  # requests in flight at once
    batch: int = 50  # rows claimed per poll
    lease: float = 300.0  # seconds (clock time) a claimed row stays with its worker
    periodic_interval: float = 5.0  # seconds between calls of the periodic hook (overtime sweep)

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> DeliverySettings:
        """Overrides from ``Settings.extra`` keys ``alarm_<field>`` (e.g. ``alarm_timeout``)."""
        values = {name: type(getattr(cls, name))(extra[f"alarm_{name}"])
                  for name in cls.__dataclass_fields__ if f"alarm_{name}" in extra}  # fmt: skip
        return cls(**values)


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    retryable: bool
    status_code: int | None
    error: str | None


# ----------------------------------------------------------------------------------------------
# Payloads.


def payload_for(row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object the HTTP channel (AlarmWay 6) receives."""
    data_time = row["data_time"]
    return {
        "AlarmMessageId": row["message_id"],
        "AlarmRuleId": row["rule_id"],
        "AlarmRuleName": row["rule_name"],
        "AlarmType": row["alarm_type"],
        "AlarmLevel": row["alarm_level"],
        "AlarmTime": fmt_time(row["fired_at"]),  # UTC+8, as the API shows it
        "AlarmReason": row["reason"],
        "ProjectId": row["project_id"],
        "WorkflowId": row["workflow_id"],
        "TaskId": row["task_id"],
        "TaskName": row["task_name"],
        "InstanceKey": instance_key(row["task_id"], data_time) if row["task_id"] and data_time else None,
        "CurRunDate": format_wall(data_time) if data_time else None,
        "LifeRoundNum": row["life_round_num"],
        "AlarmRecipients": row["recipients"] or [],
        "CustomEmails": row["custom_emails"],
        "AlarmWay": row["alarm_way"],
        "NotifyRound": row["round"],
        "DeliveryId": row["id"],
    }


def text_for(row: Mapping[str, Any]) -> str:
    level = LEVEL_NAMES.get(row["alarm_level"], str(row["alarm_level"]))
    lines = [f"[WeData alarm · {level}] {row['rule_name']}", row["reason"]]
    if row["task_id"]:
        when = f", data time {format_wall(row['data_time'])}" if row["data_time"] else ""
        lines.append(f"Task {row['task_name'] or ''} ({row['task_id']}){when}")
    lines.append(f"Project {row['project_id']} · {fmt_time(row['fired_at'])} (UTC+8)")
    return "\n".join(lines)


def body_for(row: Mapping[str, Any]) -> dict[str, Any]:
    way = row["alarm_way"]
    if way == rules.HTTP_WAY:
        return payload_for(row)
    text = text_for(row)
    if way in ("7", "9"):  # WeCom and DingTalk group robots
        return {"msgtype": "text", "text": {"content": text}}
    if way == "8":  # Feishu / Lark
        return {"msg_type": "text", "content": {"text": text}}
    return {"text": text}  # Slack and Teams incoming webhooks


# ----------------------------------------------------------------------------------------------
# HTTP.


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a webhook that redirects is misconfigured; report it, do not follow


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def post_json(url: str, body: Mapping[str, Any], headers: Mapping[str, str], timeout: float) -> Outcome:
    """POST ``body`` as JSON; never raises."""
    data = json.dumps(body, ensure_ascii=False).encode()
    # Environment proxies apply to the outside world, never to loopback targets.
    proxies = urllib.request.ProxyHandler({}) if _is_loopback(urlsplit(url).hostname) else urllib.request.ProxyHandler()
    opener = urllib.request.build_opener(proxies, _NoRedirect)
    req = urllib.request.Request(
        url, data=data, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "wedata-server-alarms/1", **headers},
    )  # fmt: skip
    try:
        with opener.open(req, timeout=timeout) as resp:
            resp.read(MAX_RESPONSE)
            return Outcome(True, False, resp.status, None)
    except urllib.error.HTTPError as exc:
        code = exc.code
        retry = code >= 500 or code in RETRYABLE_STATUS
        return Outcome(False, retry, code, f"HTTP {code} {exc.reason}")
    except TimeoutError:
        return Outcome(False, True, None, f"timed out after {timeout:g} s")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return Outcome(False, True, None, f"timed out after {timeout:g} s")
        return Outcome(False, True, None, f"connection failed: {reason}")
    except (OSError, ValueError) as exc:  # reset connections, bad responses
        return Outcome(False, True, None, f"{type(exc).__name__}: {exc}")


# ----------------------------------------------------------------------------------------------
# Quiet hours.


def in_quiet_hours(quiet: list[Mapping[str, Any]] | None, now_utc: datetime) -> str | None:
    """The quiet interval ``now_utc`` falls in (UTC+8 wall time), shown, or None. An interval
    whose end is before its start runs past midnight into the next day."""
    if not quiet:
        return None
    local = to_local(now_utc)
    assert local is not None
    day, t = local.isoweekday(), local.strftime("%H:%M:%S")
    yesterday = 7 if day == 1 else day - 1
    for q in quiet:
        days, start, end = q.get("DaysOfWeek") or [], q.get("StartTime") or "", q.get("EndTime") or ""
        if start < end:
            hit = day in days and start <= t < end
        else:
            hit = (day in days and t >= start) or (yesterday in days and t < end)
        if hit:
            return f"{','.join(map(str, days))} {start}-{end}"
    return None


# ----------------------------------------------------------------------------------------------
# The worker.


class DeliveryWorker(BackgroundWorker):
    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: DeliverySettings | None = None,
        *,
        periodic: Callable[[], Any] | None = None,
        sender: Callable[[str, Mapping[str, Any], Mapping[str, str], float], Outcome] = post_json,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings or DeliverySettings()
        super().__init__("wedata-alarm-delivery", self.settings.poll_interval,
                         pool_size=max(1, self.settings.concurrency))
        self.health = db.health
        self.periodic = periodic
        self.sender = sender
        self.node = f"alarms:{uuid.uuid4().hex[:12]}"
        self._next_periodic = 0.0

    # -- the loop (BackgroundWorker) -----------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling. Rows being sent finish (bounded by the HTTP timeout); rows not yet sent
        stay in the outbox for the next start."""
        super().stop(timeout)

    def poll(self) -> bool:
        claimed = 0
        try:
            claimed = self.run_once()
        except Exception as exc:
            if outage_reason(exc) is not None:
                raise  # the loop reports it once per change of state (storage/health.py)
            self.report_failure(exc, "delivery poll")
        if self.periodic is not None and time.monotonic() >= self._next_periodic:
            self._next_periodic = time.monotonic() + self.settings.periodic_interval
            try:
                self.periodic()
            except Exception as exc:
                if outage_reason(exc) is not None:
                    raise
                self.report_failure(exc, "periodic check")
        return claimed >= self.settings.batch  # more is due: no pause

    def after_wake(self) -> None:
        # Woken by a firing inside a transaction that may not have committed yet.
        self.sleep(0.05)

    # -- one poll -------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim the due rows, send them (concurrently), record the outcomes. Returns how many
        rows were claimed."""
        rows = self._claim()
        if not rows:
            return 0
        pool = self.pool  # None when run_once is called without start(): send in this thread
        outcomes = [self._send(r) for r in rows] if pool is None else list(pool.map(self._send, rows))
        self._record(rows, outcomes)
        return len(rows)

    def _claim(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        token = f"{self.node}:{uuid.uuid4().hex[:8]}"
        with self.db.write() as conn:
            due = (
                select(D.c.id)
                .where(D.c.status == "PENDING", D.c.next_attempt_at <= now,
                       or_(D.c.lease_until.is_(None), D.c.lease_until < now))
                .order_by(D.c.next_attempt_at, D.c.id)
                .limit(self.settings.batch)
            )  # fmt: skip
            if conn.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            ids = list(conn.execute(due).scalars())
            if not ids:
                return []
            # Conditional on the lease still being free: two workers that read the same rows
            # cannot both claim one.
            conn.execute(
                update(D)
                .where(D.c.id.in_(ids), or_(D.c.lease_until.is_(None), D.c.lease_until < now))
                .values(lease_until=now + timedelta(seconds=self.settings.lease), claimed_by=token)
            )
            rows = conn.execute(
                select(D, MSG.c.project_id, MSG.c.rule_id, MSG.c.rule_name, MSG.c.alarm_type, MSG.c.alarm_level,
                       MSG.c.reason, MSG.c.task_id, MSG.c.task_name, MSG.c.workflow_id, MSG.c.data_time,
                       MSG.c.life_round_num, MSG.c.recipients, MSG.c.custom_emails, MSG.c.fired_at)
                .join(MSG, MSG.c.id == D.c.message_id)
                .where(D.c.claimed_by == token)
            ).mappings().all()  # fmt: skip
        return [dict(r) for r in rows]

    def _send(self, row: Mapping[str, Any]) -> Outcome:
        quiet = in_quiet_hours(row["quiet"], self.clock.now())
        if quiet:
            return Outcome(False, False, None, f"suppressed: quiet hours ({quiet}, UTC+8)")
        headers = {"X-WeData-Alarm-Delivery": str(row["id"]), "X-WeData-Alarm-Message": str(row["message_id"])}
        try:
            return self.sender(row["target"], body_for(row), headers, self.settings.timeout)
        except Exception as exc:  # a sender must not kill the worker
            return Outcome(False, True, None, f"{type(exc).__name__}: {exc}")

    def _backoff(self, attempts: int) -> float:
        return float(min(self.settings.backoff_cap, self.settings.backoff_base * 2 ** max(0, attempts - 1)))

    def _record(self, rows: list[dict[str, Any]], outcomes: list[Outcome]) -> None:
        now = self.clock.now()
        updates: list[dict[str, Any]] = []
        resent: list[dict[str, Any]] = []
        for row, out in zip(rows, outcomes, strict=True):
            suppressed = out.error is not None and out.error.startswith("suppressed:")
            attempts = row["attempts"] + (0 if suppressed else 1)
            if out.delivered:
                status, next_at = "DELIVERED", None
                if row["round"] > 1:
                    resent.append({"mid": row["message_id"], "at": now})
                log.info("alarm message %s delivered to %s (attempt %d)", row["message_id"], row["target"], attempts)
            elif suppressed:
                status, next_at = "SUPPRESSED", None
            elif out.retryable and attempts < self.settings.max_attempts:
                status, next_at = "PENDING", now + timedelta(seconds=self._backoff(attempts))
            else:
                status, next_at = "FAILED", None
            if not out.delivered and not suppressed:
                log.warning("alarm message %s to %s: attempt %d failed (%s)%s", row["message_id"], row["target"],
                            attempts, out.error, "; will retry" if status == "PENDING" else "; giving up")
            updates.append({
                "did": row["id"], "token": row["claimed_by"], "status": status, "attempts": attempts,
                "next_at": next_at, "code": out.status_code, "error": (out.error or None) and out.error[:2000],
                "delivered": now if out.delivered else None,
            })  # fmt: skip
        with self.db.write() as conn:
            conn.execute(
                update(D)
                .where(D.c.id == bindparam("did"), D.c.claimed_by == bindparam("token"))
                .values(status=bindparam("status"), attempts=bindparam("attempts"),
                        next_attempt_at=bindparam("next_at"), last_status_code=bindparam("code"),
                        last_error=bindparam("error"), delivered_at=bindparam("delivered"),
                        lease_until=None, claimed_by=None),
                updates,
            )  # fmt: skip
            if resent:
                # AlarmTime shows the latest time the alarm was sent.
                conn.execute(update(MSG).where(MSG.c.id == bindparam("mid")).values(alarm_time=bindparam("at")), resent)
