"""When alarm rules fire, on a real database (SQLite and PostgreSQL): matching by task, workflow
and project, disabled rules, the Trigger choices, rerun/backfill alarm types, whitelisted tasks,
idempotence; the engine's path (the transition function's observer, inside its transaction);
and the overtime sweep (run time, finish time, wait time, cycle, average run time).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.scheduler.helpers import World
from tests.services.alarms.support import FakeClock, event, fire, instance, messages, rule, service
from wedata.scheduler import states
from wedata.scheduler.transitions import Tx, transition
from wedata.services.alarms import firing as alarm_firing
from wedata.storage.db import Database
from wedata.storage.engine_tables import task_instances

START = datetime(2025, 3, 3, 2, 0, 0)  # Monday 10:00 in UTC+8


def fired(db: Database) -> set[tuple[str, str]]:
    return {(m["rule_id"], m["alarm_type"]) for m in messages(db)}


def test_rules_match_by_task_workflow_and_project(db: Database, tmp_path: Path) -> None:
    svc = service(db, FakeClock(START), tmp_path)
    w = World(db, START)
    task, other = w.task(), w.task()
    by_task = rule(svc, w, [task, other])
    by_workflow = rule(svc, w, [w.workflow_id], kind=2)
    by_project = rule(svc, w, [w.project_id], kind=3, types=("success", "failure"))
    disabled = rule(svc, w, [w.project_id], kind=3)
    svc.update_rule(w.project_id, "1", _update(w, disabled, Status=0))
    rule(svc, w, [other])
    success_only = rule(svc, w, [task], types=("success",))
    elsewhere = World(db, START)
    rule(svc, elsewhere, [elsewhere.project_id], kind=3)

    ids = fire(svc, event(w, task, reason="exit code 2"))
    assert fired(db) == {(by_task, "failure"), (by_workflow, "failure"), (by_project, "failure")}
    assert len(ids) == 3
    msg = messages(db)[0]
    assert msg["task_id"] == task and msg["data_time"] == datetime(2025, 3, 1) and msg["fired_at"] == START
    assert msg["reason"] == "failure: the instance failed (EXPIRED) after 1 of 1 tries: exit code 2"
    fire(svc, event(w, task, "success", started_at=START, ended_at=START + timedelta(seconds=7)))
    success = {m["rule_id"]: m for m in messages(db) if m["alarm_type"] == "success"}
    assert set(success) == {by_project, success_only}
    assert success[by_project]["reason"] == "success: the instance succeeded in 7 s"
    # The same outcome again (a replayed batch) records nothing new.
    assert fire(svc, event(w, task, reason="exit code 2")) == []
    assert len(messages(db)) == 5


def _update(w: World, rule_id: str, **fields: Any) -> Any:
    import msgspec

    from wedata.spec import models as M

    return msgspec.convert({"ProjectId": w.project_id, "AlarmRuleId": rule_id, **fields}, M.UpdateOpsAlarmRuleRequest)


def test_trigger_first_failure_or_after_all_retries(db: Database, tmp_path: Path) -> None:
    svc = service(db, FakeClock(START), tmp_path)
    w = World(db, START)
    task = w.task()
    first = rule(svc, w, [task], AlarmRuleDetail={"Trigger": 1})
    final = rule(svc, w, [task])  # Trigger 2 by default
    day = datetime(2025, 3, 1)
    # Attempt 1 of 3 fails (FAILED_RETRY): only "first failure" fires.
    fire(svc, event(w, task, final=False, first_failure=True, tries=1, try_limit=3, data_time=day))
    assert fired(db) == {(first, "failure")}
    assert "attempt 1 of 3 of the instance failed; a retry follows" in messages(db)[0]["reason"]
    # Attempt 3 of 3 fails (EXPIRED): only "after all retries" fires.
    fire(svc, event(w, task, final=True, first_failure=False, tries=3, try_limit=3, data_time=day))
    assert fired(db) == {(first, "failure"), (final, "failure")}
    # A task without retries fails once: both fire (for another data time).
    fire(svc, event(w, task, final=True, first_failure=True, data_time=day + timedelta(days=1)))
    assert len(messages(db)) == 4


def test_reruns_and_backfills_have_their_own_types(db: Database, tmp_path: Path) -> None:
    svc = service(db, FakeClock(START), tmp_path)
    w = World(db, START)
    task = w.task()
    plain = rule(svc, w, [task], types=("failure", "success"))
    rerun = rule(svc, w, [task], types=("backTrackingOrRerunFailure", "backTrackingOrRerunSuccess"))
    # DataBackfillOrRerunTrigger defaults to 1 (first failure): a rerun's first failed attempt fires.
    fire(svc, event(w, task, run_type="RERUN", final=False, tries=1, try_limit=2, life_round_num=1))
    fire(svc, event(w, task, "success", run_type="ADDITION", life_round_num=2))
    fire(svc, event(w, task, "success", run_type="PERIODIC", life_round_num=0))
    assert fired(db) == {(rerun, "backTrackingOrRerunFailure"), (rerun, "backTrackingOrRerunSuccess"),
                         (plain, "success")}  # fmt: skip
    reasons = sorted(m["reason"] for m in messages(db))
    assert any(r.startswith("backTrackingOrRerunSuccess: the backfill execution succeeded") for r in reasons)
    assert any("of the rerun failed" in r for r in reasons)


def test_whitelisted_tasks_are_exempt_from_workflow_rules(db: Database, tmp_path: Path) -> None:
    svc = service(db, FakeClock(START), tmp_path)
    w = World(db, START)
    quiet, loud = w.task(), w.task()
    rule(svc, w, [w.workflow_id], kind=2,
         AlarmRuleDetail={"MonitorWhiteTasks": [{"MonitorObjectId": w.workflow_id, "TaskIds": [quiet]}]})
    direct = rule(svc, w, [quiet])  # a rule on the task itself is not affected by the whitelist
    fire(svc, event(w, quiet), event(w, loud))
    assert sorted((m["task_id"], m["rule_id"] == direct) for m in messages(db)) == sorted(
        [(quiet, True), (loud, False)])


def test_recipients_of_a_message(db: Database, tmp_path: Path) -> None:
    svc = service(db, FakeClock(START), tmp_path)
    w = World(db, START)
    task = w.task()
    rule(svc, w, [task], groups=[
        {"AlarmWays": ["1"], "AlarmRecipientType": 2},
        {"AlarmWays": ["2", "1"], "AlarmRecipientType": 1, "AlarmRecipientIds": ["7", "8"], "CustomEmails": ["a@b.cd"]},
        {"AlarmWays": ["5"], "AlarmRecipientType": 3, "AlarmRecipientIds": ["roster9"]},
    ])  # fmt: skip
    fire(svc, event(w, task, owner_uin="11;12"))
    (m,) = messages(db)
    assert m["recipients"] == ["11", "12", "7", "8", "roster9"] and m["recipients_text"] == ",11,12,7,8,roster9,"
    assert m["alarm_ways"] == ["1", "2", "5"] and m["custom_emails"] == ["a@b.cd"]


# ----------------------------------------------------------------------------------------------
# The engine's path: the observer of the transition function.


def _running(db: Database, w: World, task: str, day: datetime, **values: Any) -> dict[str, Any]:
    iid = instance(db, w, task, states.RUNNING, data_time=day, scheduled_at=START, started_at=START, tries=1,
                   try_limit=1, **values)  # fmt: skip
    with db.read() as conn:
        return dict(conn.execute(select(task_instances).where(task_instances.c.id == iid)).mappings().one())


def test_a_transition_records_its_alarm_in_the_same_transaction(db: Database, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    svc = service(db, FakeClock(START), tmp_path)
    w = World(db, START)
    task = w.task()
    rule_id = rule(svc, w, [w.workflow_id], kind=2, types=("failure", "success"))
    inst = _running(db, w, task, datetime(2025, 3, 1))
    with db.write() as conn:
        tx = Tx(conn, START, "scheduler:test")
        transition(tx, inst, states.EXPIRED, "exit code 4", {"ended_at": START, "error_msg": "exit code 4"})
        tx.flush()
    (m,) = messages(db)
    assert (m["rule_id"], m["alarm_type"], m["instance_id"], m["task_id"]) == (rule_id, "failure", inst["id"], task)
    assert m["reason"].endswith(": exit code 4") and m["fired_at"] == START

    # A state change that rolls back takes its alarm with it.
    other = _running(db, w, task, datetime(2025, 3, 2))
    with pytest.raises(RuntimeError), db.write() as conn:
        tx = Tx(conn, START, "scheduler:test")
        transition(tx, other, states.COMPLETED, "attempt succeeded", {"ended_at": START})
        tx.flush()
        raise RuntimeError("the engine's transaction fails later")
    assert len(messages(db)) == 1

    # An alarm problem never undoes a state change: it is logged, the change commits.
    def broken(*_args: Any) -> list[int]:
        raise ValueError("alarm bug")

    original = alarm_firing.record
    alarm_firing.record = broken  # type: ignore[assignment]
    try:
        with caplog.at_level(logging.ERROR, "wedata.alarms"), db.write() as conn:
            tx = Tx(conn, START, "scheduler:test")
            assert transition(tx, other, states.COMPLETED, "attempt succeeded", {"ended_at": START})
            tx.flush()
    finally:
        alarm_firing.record = original  # type: ignore[assignment]
    assert "alarm matching failed" in caplog.text
    with db.read() as conn:
        assert conn.execute(select(task_instances.c.state).where(task_instances.c.id == other["id"])).scalar() == states.COMPLETED
    assert len(messages(db)) == 1


def test_the_observer_ignores_changes_that_are_not_outcomes(db: Database, tmp_path: Path) -> None:
    svc = service(db, FakeClock(START), tmp_path)
    w = World(db, START)
    task = w.task()
    rule(svc, w, [task], types=("failure", "success"))
    iid = instance(db, w, task, states.WAIT_RUN, data_time=datetime(2025, 3, 1), scheduled_at=START)
    with db.read() as conn:
        inst = dict(conn.execute(select(task_instances).where(task_instances.c.id == iid)).mappings().one())
    with db.write() as conn:
        tx = Tx(conn, START, "1")
        transition(tx, inst, states.COMPLETED, "set to success by hand")  # not an executed success
        tx.flush()
    assert messages(db) == []


def test_an_instance_that_expires_without_running_is_a_failure(db: Database, tmp_path: Path) -> None:
    svc = service(db, FakeClock(START), tmp_path)
    w = World(db, START)
    task = w.task()
    first = rule(svc, w, [task], AlarmRuleDetail={"Trigger": 1})
    final = rule(svc, w, [task])
    iid = instance(db, w, task, states.WAIT_UPSTREAM, data_time=datetime(2025, 3, 1), scheduled_at=START)
    with db.read() as conn:
        inst = dict(conn.execute(select(task_instances).where(task_instances.c.id == iid)).mappings().one())
    with db.write() as conn:
        tx = Tx(conn, START, "scheduler:test")
        transition(tx, inst, states.EXPIRED, "waited longer than WaitExecutionTotalTTL")
        tx.flush()
    assert fired(db) == {(first, "failure"), (final, "failure")}
    assert {m["reason"] for m in messages(db)} == {
        "failure: the instance failed (EXPIRED) without running: waited longer than WaitExecutionTotalTTL"}


# ----------------------------------------------------------------------------------------------
# Overtime.


def test_overtime_sweep(db: Database, tmp_path: Path) -> None:
    now = START  # Monday 2025-03-03 10:00 UTC+8
    clock = FakeClock(now)
    svc = service(db, clock, tmp_path)
    w = World(db, now)
    runner, waiter, late, cyclic, averaged, fine = (w.task() for _ in range(6))

    def timeout_rule(task: str, *entries: dict[str, Any], rerun: bool = False) -> str:
        key = "DataBackfillOrRerunTimeOutExtInfo" if rerun else "TimeOutExtInfo"
        return rule(svc, w, [task], types=("overtime",), AlarmRuleDetail={key: list(entries)})

    day = datetime(2025, 3, 3)
    ago = now - timedelta(minutes=20)
    instance(db, w, runner, states.RUNNING, data_time=day, scheduled_at=ago, started_at=ago)
    r_run = timeout_rule(runner, {"RuleType": 1, "Min": 10})
    timeout_rule(runner, {"RuleType": 1, "Min": 30})  # not yet
    instance(db, w, waiter, states.WAIT_UPSTREAM, data_time=day, scheduled_at=now - timedelta(minutes=40),
             wait_since=now - timedelta(minutes=45))
    r_wait = timeout_rule(waiter, {"RuleType": 3, "Min": 30})
    # Expected to finish by 09:30 (UTC+8) on the day it was scheduled (01:00 UTC+8 = 17:00 UTC).
    instance(db, w, late, states.WAIT_RUN, data_time=day, scheduled_at=datetime(2025, 3, 2, 17, 0))
    r_late = timeout_rule(late, {"RuleType": 2, "Hour": 9, "Min": 30})
    timeout_rule(late, {"RuleType": 2, "Hour": 11, "Min": 0})  # not yet
    timeout_rule(late, {"RuleType": 2, "Hour": 10, "Min": 30, "ScheduleTimeZone": "UTC+7"})  # 11:30 in UTC+8: not yet
    # Still running when the next instance of its cycle was due.
    instance(db, w, cyclic, states.RUNNING, data_time=day - timedelta(days=1), scheduled_at=now - timedelta(days=1),
             started_at=now - timedelta(hours=1))
    instance(db, w, cyclic, states.WAIT_RUN, data_time=day, scheduled_at=now - timedelta(minutes=1))
    r_cycle = timeout_rule(cyclic, {"RuleType": 4})
    # Average run time: earlier runs took 60 s, this one has run 5 minutes.
    for d in (1, 2):
        instance(db, w, averaged, states.COMPLETED, data_time=day - timedelta(days=d), scheduled_at=now - timedelta(days=d),
                 cost_ms=60_000)
    instance(db, w, averaged, states.RUNNING, data_time=day, scheduled_at=now, started_at=now - timedelta(minutes=5))
    r_avg = timeout_rule(averaged, {"RuleType": 1, "Type": 2})
    # A rerun is judged by the rerun limits only.
    instance(db, w, fine, states.RUNNING, data_time=day, scheduled_at=ago, started_at=ago, run_type="RERUN",
             life_round_num=1)
    timeout_rule(fine, {"RuleType": 1, "Min": 10})
    r_rerun = timeout_rule(fine, {"RuleType": 1, "Min": 15}, rerun=True)

    ids = svc.check_overtime()
    got = {m["rule_id"]: m for m in messages(db)}
    assert set(got) == {r_run, r_wait, r_late, r_cycle, r_avg, r_rerun} and len(ids) == 6
    assert got[r_run]["reason"] == "overtime: the instance is running for 20 min, more than the expected 10 min"
    assert got[r_wait]["reason"].startswith("overtime: the instance is waiting (WAIT_UPSTREAM) for 40 min")
    assert "expected time 2025-03-03 09:30 (UTC+8)" in got[r_late]["reason"]
    assert "not finished within its cycle" in got[r_cycle]["reason"]
    assert "more than the expected 1 min" in got[r_avg]["reason"]
    assert got[r_rerun]["reason"].startswith("overtime: the rerun is running") and got[r_rerun]["life_round_num"] == 1
    # Once per instance, life round and rule type: the next sweeps record nothing new.
    assert svc.check_overtime() == []
    clock.advance(minutes=11)  # ...until another limit is passed (the 30 min run-time rule now)
    assert len(svc.check_overtime()) == 1 and len(messages(db)) == 7


def test_the_engine_reads_the_rules_only_for_attempts_an_enabled_rule_watches(db: Database, tmp_path: Path) -> None:
    """The engine reads, with the attempts it ends, whether an enabled rule watches each instance
    (the ``alarm_watched`` hint of the history rows): for an attempt no enabled rule watches, the
    observer sends no read of its own; one that is watched still fires, by task, workflow or
    project."""
    from tests.scheduler.helpers import fast_clock, running_engine, settings_for, statements, utc

    clock = fast_clock(utc("2025-03-01 02:00:00"))
    svc = service(db, FakeClock(START), tmp_path)
    w = World(db, clock.now())
    quiet = w.task("true")
    disabled = rule(svc, w, [quiet], types=("failure", "success"))
    svc.update_rule(w.project_id, "1", _update(w, disabled, Status=0))

    def rule_reads(sent: list[str]) -> list[str]:
        return [s for s in sent if "AS rule_id" in s]

    with running_engine(db, settings_for(tmp_path / "a"), clock):
        with statements(db, "wedata-engine") as sent:
            w.wait_states(quiet, {"COMPLETED"})
        assert rule_reads(sent) == [] and messages(db) == []
        # Then tasks that enabled rules watch (each rule made before its task is planned): by
        # the workflow, and by the project.
        by_workflow, by_project = World(db, clock.now()), World(db, clock.now())
        rule(svc, by_workflow, [by_workflow.workflow_id], kind=2, types=("failure",))
        project_rule = rule(svc, by_project, [by_project.project_id], kind=3, types=("success",))
        watched = by_workflow.task("exit 3", MaxRetryNumber=0)
        in_project = by_project.task("true")
        with statements(db, "wedata-engine") as sent:
            by_workflow.wait_states(watched, {"EXPIRED"})
            by_project.wait_states(in_project, {"COMPLETED"})
    assert rule_reads(sent)
    got = {(m["task_id"], m["alarm_type"]) for m in messages(db)}
    assert got == {(watched, "failure"), (in_project, "success")}
    assert {m["rule_id"] for m in messages(db) if m["task_id"] == in_project} == {project_rule}
