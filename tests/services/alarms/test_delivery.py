"""Alarm delivery against a real HTTP receiver on 127.0.0.1 and a real database (SQLite and
PostgreSQL): retries after a 500 and after a timeout, exponential backoff, giving up, channels
that are not configured, repetitions and quiet hours, the outbox surviving a restart or a dead
worker, the group-robot payloads, and the worker never blocking the code that fires alarms.

Outcomes are recorded through ``AlarmService.on_instance_event`` (the engine's path through the
transition observer is tested in test_alarm_firing.py and end to end in
tests/actions/alarms/test_alarms.py).
"""

from __future__ import annotations

import socket
import time
from datetime import datetime
from pathlib import Path

from tests.scheduler.helpers import World
from tests.services.alarms.support import (
    FakeClock,
    deliveries,
    event,
    fire,
    hook_group,
    messages,
    rule,
    service,
)
from tests.services.alarms.webhook import Receiver
from wedata.services.alarms.delivery import in_quiet_hours
from wedata.storage.db import Database

START = datetime(2025, 3, 3, 2, 0, 0)  # Monday 10:00 in UTC+8


def test_a_500_is_retried_with_backoff_then_delivered(db: Database, tmp_path: Path) -> None:
    clock = FakeClock(START)
    svc = service(db, clock, tmp_path)
    w = World(db, START)
    task = w.task()
    with Receiver(script=[(500, 0.0)]) as rx:
        rule_id = rule(svc, w, [task], groups=[hook_group(rx.url("/a"))], AlarmLevel=2)
        (mid,) = fire(svc, event(w, task, reason="exit code 3"))
        assert svc.worker.run_once() == 1
        (d,) = deliveries(db)
        assert (d["status"], d["attempts"], d["last_status_code"]) == ("PENDING", 1, 500)
        assert d["next_attempt_at"] == START.replace(second=10)  # backoff_base 10 s
        assert d["lease_until"] is None and "HTTP 500" in d["last_error"]
        assert svc.worker.run_once() == 0  # not due yet
        clock.advance(seconds=10)
        assert svc.worker.run_once() == 1
        (d,) = deliveries(db)
        assert (d["status"], d["attempts"], d["last_status_code"], d["delivered_at"]) == ("DELIVERED", 2, 200, clock.t)
        first, second = rx.received("/a")
    assert first.body == second.body
    assert first.headers["x-wedata-alarm-delivery"] == second.headers["x-wedata-alarm-delivery"] == str(d["id"])
    body = first.body
    assert body["AlarmMessageId"] == mid and body["AlarmRuleId"] == rule_id and body["AlarmType"] == "failure"
    assert body["AlarmLevel"] == 2 and body["TaskId"] == task and body["ProjectId"] == w.project_id
    assert body["InstanceKey"] == f"{task}_2025-03-01 00:00:00" and body["CurRunDate"] == "2025-03-01 00:00:00"
    assert body["AlarmTime"] == "2025-03-03 10:00:00" and "exit code 3" in body["AlarmReason"]
    assert (body["AlarmWay"], body["NotifyRound"], body["AlarmRecipients"]) == ("6", 1, ["1"])


def test_a_timeout_is_retried(db: Database, tmp_path: Path) -> None:
    clock = FakeClock(START)
    svc = service(db, clock, tmp_path, alarm_timeout=0.3)
    w = World(db, START)
    task = w.task()
    with Receiver(script=[(200, 3.0)]) as rx:
        rule(svc, w, [task], groups=[hook_group(rx.url("/slow"))])
        fire(svc, event(w, task))
        t0 = time.monotonic()
        svc.worker.run_once()
        assert time.monotonic() - t0 < 2.0  # the request was abandoned after the timeout, not the 3 s answer
        (d,) = deliveries(db)
        assert (d["status"], d["attempts"], d["last_status_code"]) == ("PENDING", 1, None)
        assert "timed out" in d["last_error"]
        clock.advance(seconds=10)
        svc.worker.run_once()
        assert deliveries(db)[0]["status"] == "DELIVERED"
        assert len(rx.received("/slow")) == 2


def test_permanent_errors_and_giving_up(db: Database, tmp_path: Path) -> None:
    clock = FakeClock(START)
    svc = service(db, clock, tmp_path)  # at most 3 attempts
    w = World(db, START)
    task = w.task()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/x"
    with Receiver(script=[(404, 0.0)]) as rx:
        rule(svc, w, [task], groups=[hook_group(rx.url("/missing")), hook_group(dead, way="6")])
        fire(svc, event(w, task))
        svc.worker.run_once()
        by_target = {d["target"]: d for d in deliveries(db)}
        gone = by_target[rx.url("/missing")]
        assert (gone["status"], gone["attempts"], gone["last_status_code"]) == ("FAILED", 1, 404)  # not retried
        refused = by_target[dead]
        assert (refused["status"], refused["attempts"]) == ("PENDING", 1)
        assert "connection failed" in refused["last_error"]
        # The wait doubles: 10 s after the first attempt, 20 s after the second.
        assert refused["next_attempt_at"] == START.replace(second=10)
        clock.t = refused["next_attempt_at"]
        svc.worker.run_once()
        refused = next(d for d in deliveries(db) if d["target"] == dead)
        assert (refused["status"], refused["attempts"]) == ("PENDING", 2)
        assert (refused["next_attempt_at"] - clock.t).total_seconds() == 20
        clock.t = refused["next_attempt_at"]
        svc.worker.run_once()
        refused = next(d for d in deliveries(db) if d["target"] == dead)
        assert (refused["status"], refused["attempts"], refused["next_attempt_at"]) == ("FAILED", 3, None)
        assert len(rx.received("/missing")) == 1


def test_channels_without_a_configuration_are_recorded_not_delivered(db: Database, tmp_path: Path) -> None:
    clock = FakeClock(START)
    svc = service(db, clock, tmp_path)
    w = World(db, START)
    task = w.task()
    rule(svc, w, [task], groups=[
        {"AlarmWays": ["1", "2", "3", "4", "5", "6"], "AlarmRecipientType": 1, "AlarmRecipientIds": ["42"],
         "CustomEmails": ["ops@example.com"]},
    ])  # fmt: skip
    (mid,) = fire(svc, event(w, task))
    rows = deliveries(db)
    assert [(d["alarm_way"], d["status"]) for d in rows] == [(w_, "NOT_DELIVERED") for w_ in "123456"]
    errors = {d["alarm_way"]: d["last_error"] for d in rows}
    assert errors["1"] == "not delivered: channel not configured (email)"
    assert errors["2"] == "not delivered: channel not configured (sms)"
    assert errors["6"].startswith("not delivered: channel not configured (http")
    assert svc.worker.run_once() == 0
    (msg,) = messages(db)
    assert msg["id"] == mid and msg["alarm_ways"] == list("123456") and msg["custom_emails"] == ["ops@example.com"]


def test_the_outbox_survives_a_restart_and_a_dead_worker(db: Database, tmp_path: Path) -> None:
    clock = FakeClock(START)
    w = World(db, START)
    task = w.task()
    with Receiver() as rx:
        first = service(db, clock, tmp_path)
        rule(first, w, [task], groups=[hook_group(rx.url("/r"))])
        fire(first, event(w, task), event(w, task, data_time=datetime(2025, 3, 2)))
        del first  # "crash" before anything was sent
        restarted = Database(db.url)
        try:
            second = service(restarted, clock, tmp_path, alarm_batch=1)
            # A worker claims one row and dies before sending it...
            assert len(second.worker._claim()) == 1
            assert second.worker.run_once() == 1  # ...the other row is still free
            assert second.worker.run_once() == 0  # the claimed one is leased
            assert [d["status"] for d in deliveries(db)].count("DELIVERED") == 1
            clock.advance(seconds=301)  # the lease (300 s) runs out
            assert second.worker.run_once() == 1
        finally:
            restarted.dispose()
        assert [d["status"] for d in deliveries(db)] == ["DELIVERED", "DELIVERED"]
        assert sorted(r.body["CurRunDate"] for r in rx.received("/r")) == ["2025-03-01 00:00:00", "2025-03-02 00:00:00"]


def test_group_robots_get_their_payload_shapes(db: Database, tmp_path: Path) -> None:
    clock = FakeClock(START)
    svc = service(db, clock, tmp_path)
    w = World(db, START)
    task = w.task()
    with Receiver() as rx:
        rule(svc, w, [task], groups=[hook_group(rx.url("/wecom"), "7"), hook_group(rx.url("/feishu"), "8"),
                                     hook_group(rx.url("/dingtalk"), "9"), hook_group(rx.url("/slack"), "10"),
                                     hook_group(rx.url("/teams"), "11")])  # fmt: skip
        fire(svc, event(w, task, reason="exit code 9"))
        assert svc.worker.run_once() == 5
        (wecom,), (feishu,), (ding,) = rx.received("/wecom"), rx.received("/feishu"), rx.received("/dingtalk")
        (slack,), (teams,) = rx.received("/slack"), rx.received("/teams")
    assert wecom.body["msgtype"] == "text" and "exit code 9" in wecom.body["text"]["content"]
    assert ding.body["msgtype"] == "text" and task in ding.body["text"]["content"]
    assert feishu.body["msg_type"] == "text" and "exit code 9" in feishu.body["content"]["text"]
    assert set(slack.body) == {"text"} and set(teams.body) == {"text"} and "failure" in slack.body["text"]


def test_repetitions_and_quiet_hours(db: Database, tmp_path: Path) -> None:
    clock = FakeClock(START)  # Monday 10:00 UTC+8
    svc = service(db, clock, tmp_path)
    w = World(db, START)
    task = w.task()
    with Receiver() as rx:
        fatigue = {"NotifyCount": 3, "NotifyInterval": 10,
                   "QuietIntervals": [{"DaysOfWeek": [1], "StartTime": "10:05:00", "EndTime": "10:15:00"}]}
        rule(svc, w, [task], groups=[hook_group(rx.url("/q"), NotificationFatigue=fatigue)])
        (mid,) = fire(svc, event(w, task))
        rows = deliveries(db)
        assert [(d["round"], d["next_attempt_at"]) for d in rows] == [
            (1, START), (2, START.replace(minute=10)), (3, START.replace(minute=20))]
        svc.worker.run_once()
        clock.advance(minutes=10)  # 10:10: inside the quiet interval
        svc.worker.run_once()
        clock.advance(minutes=10)  # 10:20: outside
        svc.worker.run_once()
        assert [d["status"] for d in deliveries(db)] == ["DELIVERED", "SUPPRESSED", "DELIVERED"]
        assert "quiet hours" in deliveries(db)[1]["last_error"]
        assert [r.body["NotifyRound"] for r in rx.received("/q")] == [1, 3]
    (msg,) = messages(db)
    assert msg["id"] == mid and msg["fired_at"] == START and msg["alarm_time"] == clock.t  # the latest sending


def test_quiet_intervals_across_midnight() -> None:
    overnight = [{"DaysOfWeek": [5], "StartTime": "22:00:00", "EndTime": "06:00:00"}]
    # Friday 23:00 and Saturday 05:00 in UTC+8 are quiet; Saturday 07:00 and Thursday 23:00 are not.
    assert in_quiet_hours(overnight, datetime(2025, 3, 7, 15, 0))
    assert in_quiet_hours(overnight, datetime(2025, 3, 7, 21, 0))
    assert not in_quiet_hours(overnight, datetime(2025, 3, 7, 23, 0))
    assert not in_quiet_hours(overnight, datetime(2025, 3, 6, 15, 0))
    assert not in_quiet_hours(None, datetime(2025, 3, 7, 15, 0))


def test_the_worker_never_blocks_the_code_that_fires(db: Database, tmp_path: Path) -> None:
    clock = FakeClock(START)
    svc = service(db, clock, tmp_path, alarm_timeout=10.0)
    w = World(db, START)
    task = w.task()
    # The POST is held 3 s: a fire that waited for it would take that long, so the bound below can be loose
    # enough for a loaded CI machine (a plain recording once took 0.52 s there) and still fail on blocking.
    with Receiver(script=[(200, 3.0)]) as rx:
        rule(svc, w, [task], groups=[hook_group(rx.url("/bg"))])
        svc.start_worker()
        svc.start_worker()  # idempotent
        try:
            t0 = time.monotonic()
            fire(svc, event(w, task))
            assert time.monotonic() - t0 < 1.5  # recording returns at once; the slow POST is elsewhere
            rx.wait_for(1, "/bg", timeout=10)
            deadline = time.monotonic() + 10
            while deliveries(db)[0]["status"] != "DELIVERED" and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            svc.stop_worker()
        assert deliveries(db)[0]["status"] == "DELIVERED"
        assert not svc.worker.running
