"""Alarm rules made and changed in the browser (seen through the SDK), the delivery state of
alarm messages, the backfill form's instance-count preview, and the Gantt of a day, in a real
browser against a live server.

Everything else is made with the official SDK and run by the server's engine; the alarm
webhooks are received by a small HTTP server in this process (one URL answers 200, one 404).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.console.conftest import csrf_token, sign_in
from tests.console.flows import (
    ONEOFF,
    VISITOR,
    XSS_IMG,
    XSS_SCRIPT,
    Flow,
    add_member,
    add_task,
    new_project,
    new_workflow,
    wait_state,
)
from tests.support import Api, ServerProcess, unique
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("chromium")


class Receiver(BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Receiver.received.append(self.path)
        self.send_response(200 if self.path == "/ok" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def hooks() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@dataclass
class World:
    flow: Flow
    run_day: str  # the data date of the instances the engine ran


@pytest.fixture(scope="module")
def world(api: Api, hooks: str) -> World:
    project, name = new_project(api, "consalarm")
    flow = new_workflow(api, project, name)
    add_task(api, flow, "extract", "echo extracting; sleep 1; echo extracted")
    add_task(api, flow, "load", "echo loading", upstream=["extract"])
    boom = add_task(api, flow, "boom", "echo about to fail; exit 3", sched=ONEOFF, submit=False)
    api.data("CreateOpsAlarmRule", {
        "ProjectId": project, "AlarmRuleName": unique("delivery"), "MonitorObjectType": 1,
        "MonitorObjectIds": [boom], "AlarmTypes": ["failure"],
        "AlarmGroups": [{"AlarmWays": ["1", "6"], "AlarmRecipientType": 2,
                         "WebHooks": [{"AlarmWay": "6", "WebHooks": [f"{hooks}/ok", f"{hooks}/missing"]}]}],
    })  # fmt: skip
    api.data("SubmitTask", {"ProjectId": project, "TaskId": boom, "VersionRemark": "fails under the rule"})
    ran = wait_state(api, project, flow.tasks["extract"], {"COMPLETED"})
    wait_state(api, project, flow.tasks["load"], {"COMPLETED"})
    wait_state(api, project, boom, {"EXPIRED"})
    return World(flow, ran["CurRunDate"][:10])


def rule_ids(api: Api, project: str) -> list[str]:
    items = api.data("ListOpsAlarmRules", {"ProjectId": project, "PageSize": 200})["Items"] or []
    return [r["AlarmRuleId"] for r in items]


def get_rule(api: Api, project: str, rule: str) -> dict[str, Any]:
    return dict(api.data("GetOpsAlarmRule", {"ProjectId": project, "AlarmRuleId": rule}))


def test_a_rule_made_in_the_form_is_the_rule_the_sdk_reads(page: Any, api: Api, world: World) -> None:
    flow = world.flow
    sign_in(page)
    page.goto(f"/console/p/{flow.project}/alarms")
    page.get_by_role("link", name="New rule").click()
    name = unique("nightly") + XSS_IMG
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Description").fill(XSS_SCRIPT)
    page.get_by_label("Object ids").fill(f"{flow.tasks['extract']}, {flow.tasks['load']}")
    page.get_by_label("late (overtime)").check()
    page.get_by_label("Late when it").select_option("1")
    page.get_by_label("Minutes").fill("45")
    page.get_by_label("Level").select_option(label="urgent")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r".*/alarms\?keyword=[0-9a-f-]{36}$"))
    rule = page.url.rsplit("=", 1)[1]
    row = page.locator(f"table.alarm-rules tr[data-rule-id='{rule}']")
    assert name in row.inner_text() and XSS_SCRIPT in row.inner_text()  # text, not markup
    got = get_rule(api, flow.project, rule)
    assert got["AlarmRuleName"] == name and got["Description"] == XSS_SCRIPT
    assert got["MonitorObjectType"] == 1 and got["MonitorObjectIds"] == [flow.tasks["extract"], flow.tasks["load"]]
    assert got["AlarmTypes"] == ["failure", "overtime"] and got["AlarmLevel"] == 3
    timeout = got["AlarmRuleDetail"]["TimeOutExtInfo"][0]
    assert (timeout["RuleType"], timeout["Type"], timeout["Min"]) == (1, 1, 45)
    group = got["AlarmGroups"][0]
    assert group["AlarmWays"] == ["1"] and group["AlarmRecipientType"] == 2
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("main img, main script").count() == 0


def test_editing_a_rule_changes_what_the_form_shows_and_keeps_what_it_does_not(
        page: Any, api: Api, world: World, hooks: str) -> None:
    flow = world.flow
    quiet = [{"DaysOfWeek": [6, 7], "StartTime": "00:00:00", "EndTime": "06:00:00"}]
    rule = api.data("CreateOpsAlarmRule", {
        "ProjectId": flow.project, "AlarmRuleName": unique("edit"), "MonitorObjectType": 2,
        "MonitorObjectIds": [flow.workflow], "AlarmTypes": ["failure"], "AlarmLevel": 1,
        "AlarmRuleDetail": {"MonitorWhiteTasks": [{"MonitorObjectId": flow.workflow, "TaskIds": [flow.tasks["load"]]}]},
        "AlarmGroups": [
            {"AlarmWays": ["1"], "AlarmRecipientType": 1, "AlarmRecipientIds": ["100000000001"],
             "NotificationFatigue": {"NotifyCount": 2, "NotifyInterval": 10, "QuietIntervals": quiet}},
            {"AlarmWays": ["8"], "WebHooks": [{"AlarmWay": "8", "WebHooks": [f"{hooks}/ok"]}]},
        ],
    })["AlarmRuleId"]  # fmt: skip
    sign_in(page)
    page.goto(f"/console/p/{flow.project}/alarms?keyword={rule}")
    page.locator(f"tr[data-rule-id='{rule}']").get_by_role("link", name="Edit").click()
    assert page.get_by_label("Object ids").input_value() == flow.workflow  # the form shows the rule
    assert page.get_by_label("Watches").input_value() == "2"
    assert page.get_by_label("Recipient ids").input_value() == "100000000001"
    page.get_by_label("Level").select_option(label="important")
    page.get_by_label("HTTP", exact=True).check()
    page.get_by_label("Webhook URL").fill(f"{hooks}/ok")
    page.get_by_label("Notifications").fill("3")
    page.get_by_label("succeeded", exact=True).check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(rf".*/alarms\?keyword={rule}$"))
    got = get_rule(api, flow.project, rule)
    assert got["AlarmLevel"] == 2 and got["AlarmTypes"] == ["failure", "success"]
    first, second = got["AlarmGroups"]
    assert first["AlarmWays"] == ["1", "6"] and first["WebHooks"] == [{"AlarmWay": "6", "WebHooks": [f"{hooks}/ok"]}]
    assert first["NotificationFatigue"]["NotifyCount"] == 3 and first["NotificationFatigue"]["NotifyInterval"] == 10
    assert first["NotificationFatigue"]["QuietIntervals"] == quiet  # not in the form: kept
    assert second["AlarmWays"] == ["8"]  # the second group: kept
    assert got["AlarmRuleDetail"]["MonitorWhiteTasks"][0]["TaskIds"] == [flow.tasks["load"]]

    # Disable, enable, delete: each through the actions.
    row = page.locator(f"tr[data-rule-id='{rule}']")
    row.get_by_role("button", name="Disable").click()
    page.wait_for_url(re.compile(r".*/alarms$"))
    assert str(get_rule(api, flow.project, rule)["Status"]) == "0"
    page.goto(f"/console/p/{flow.project}/alarms?keyword={rule}")
    assert page.locator(f"tr[data-rule-id='{rule}'] td.status").inner_text() == "disabled"
    page.locator(f"tr[data-rule-id='{rule}']").get_by_role("button", name="Enable").click()
    page.wait_for_url(re.compile(r".*/alarms$"))
    assert str(get_rule(api, flow.project, rule)["Status"]) == "1"
    page.goto(f"/console/p/{flow.project}/alarms?keyword={rule}")
    page.locator(f"tr[data-rule-id='{rule}']").get_by_role("button", name="Delete").click()  # confirmed
    page.wait_for_url(re.compile(r".*/alarms$"))
    assert rule not in rule_ids(api, flow.project)


@pytest.mark.parametrize(("case", "field", "code"), [
    ("repeated name", "AlarmRuleName", "InvalidParameterValue.RuleNameRepeated"),
    ("group robot without a URL", "WebHook", "InvalidParameterValue"),
    ("unknown task", "MonitorObjectIds", "ResourceNotFound"),
    ("no alarm type", "AlarmTypes", "InvalidParameterValue"),
    ("notifications not a number", "NotifyCount", "InvalidParameterValue"),
])  # fmt: skip
def test_a_refused_rule_shows_the_error_by_its_field_and_saves_nothing(
        page: Any, api: Api, world: World, case: str, field: str, code: str) -> None:
    flow = world.flow
    taken = unique("taken")
    api.data("CreateOpsAlarmRule", {"ProjectId": flow.project, "AlarmRuleName": taken, "MonitorObjectIds": [
        flow.tasks["load"]], "AlarmTypes": ["failure"], "AlarmGroups": [{"AlarmRecipientType": 2}]})
    before = rule_ids(api, flow.project)
    sign_in(page)
    page.goto(f"/console/p/{flow.project}/alarms/new?task={flow.tasks['extract']}")
    name = taken if case == "repeated name" else unique("refused")
    page.get_by_label("Name", exact=True).fill(name)
    if case == "group robot without a URL":
        page.get_by_label("Feishu group").check()
    elif case == "unknown task":
        page.get_by_label("Object ids").fill("20250101000000000000")
    elif case == "no alarm type":
        page.get_by_label("failed", exact=True).uncheck()
    elif case == "notifications not a number":
        page.get_by_label("Notifications").fill("often")
    page.get_by_role("button", name="Create").click()
    error = page.locator(f"#error-{field}")
    error.wait_for()
    assert error.inner_text().startswith(code), error.inner_text()
    assert page.get_by_label("Name", exact=True).input_value() == name  # the form as typed
    assert rule_ids(api, flow.project) == before


def test_a_visitor_sees_no_rule_changes_and_is_refused_when_posting_anyway(
        browser: Any, server: ServerProcess, api: Api, world: World) -> None:
    flow = world.flow
    rule = api.data("CreateOpsAlarmRule", {"ProjectId": flow.project, "AlarmRuleName": unique("kept"),
                                           "MonitorObjectIds": [flow.tasks["load"]], "AlarmTypes": ["failure"],
                                           "AlarmGroups": [{"AlarmRecipientType": 2}]})["AlarmRuleId"]
    visitor = server.new_user()
    add_member(api, flow.project, visitor.uin, VISITOR)  # type: ignore[attr-defined]
    ctx = browser.new_context(base_url=f"http://{server.endpoint}")
    try:
        page = ctx.new_page()
        sign_in(page, visitor.secret_id, visitor.secret_key)
        page.goto(f"/console/p/{flow.project}/alarms")
        assert page.locator(f"tr[data-rule-id='{rule}']").count() == 1  # a read: shown
        assert page.get_by_role("link", name="New rule").count() == 0
        assert page.get_by_role("link", name="Edit").count() == 0
        assert page.get_by_role("button", name="Disable").count() == 0
        page.goto(f"/console/p/{flow.project}/alarms/rules/{rule}/edit")
        assert page.get_by_role("button", name="Save").count() == 0
        before = rule_ids(api, flow.project)
        token = csrf_token(page)
        for path, form in (("alarms", {"AlarmRuleName": unique("sneaky"), "MonitorObjectType": "1",
                                        "MonitorObjectIds": flow.tasks["load"], "type:failure": "on", "way:1": "on",
                                        "AlarmRecipientType": "2"}),
                           (f"alarms/rules/{rule}", {"AlarmRuleName": "renamed", "MonitorObjectType": "1",
                                                     "MonitorObjectIds": flow.tasks["load"], "type:failure": "on"}),
                           (f"alarms/rules/{rule}/status", {"Status": "0"}),
                           (f"alarms/rules/{rule}/delete", {})):
            answer = page.request.post(f"/console/p/{flow.project}/{path}", form={"csrf_token": token, **form})
            assert answer.status == 403 and "UnauthorizedOperation" in answer.text(), path
        assert rule_ids(api, flow.project) == before
        got = get_rule(api, flow.project, rule)
        assert str(got["Status"]) == "1" and got["AlarmRuleName"] != "renamed"
    finally:
        ctx.close()


def test_each_message_shows_its_delivery_per_channel_and_target(page: Any, api: Api, world: World,
                                                                 hooks: str) -> None:
    flow = world.flow
    wait_until(lambda: Receiver.received, lambda got: {"/ok", "/missing"} <= set(got),
               what="both webhooks called", patience=60, interval=0.3)
    sign_in(page)

    def delivered() -> dict[str, str]:
        page.goto(f"/console/p/{flow.project}/alarms/messages")
        row = page.locator("table.alarm-messages tbody tr[data-message-id]").first
        return {f"{li.get_attribute('data-way')} {li.locator('.target').all_text_contents()}": li.inner_text()
                for li in row.locator("ul.deliveries li[data-status]").all()}

    states = wait_until(delivered, lambda d: len(d) == 3 and not any("pending" in t for t in d.values()),
                        what="three final deliveries", patience=60, interval=0.5)
    assert "not sent" in states["email []"] and "channel not configured" in states["email []"]
    assert "sent" in states[f"HTTP ['{hooks}/ok']"] and "at " in states[f"HTTP ['{hooks}/ok']"]
    failed = states[f"HTTP ['{hooks}/missing']"]
    assert "failed" in failed and "HTTP 404" in failed


def test_the_backfill_preview_counts_what_the_plan_then_creates(page: Any, api: Api, world: World) -> None:
    flow = world.flow
    sign_in(page)
    page.goto(f"/console/p/{flow.project}/backfill/new?task={flow.tasks['extract']}")
    preview = page.locator("#backfill-preview")
    assert "Tick tasks and give both dates" in preview.inner_text()
    page.get_by_label("From date").fill("2025-02-01")
    page.get_by_label("To date").fill("2025-02-03")
    page.locator("#backfill-preview[data-count='3']").wait_for()  # updated as the form changes
    page.get_by_label("load").check()
    page.locator("#backfill-preview[data-count='6']").wait_for()
    page.get_by_label("To date").fill("2025-02-05")
    page.locator("#backfill-preview[data-count='10']").wait_for()
    assert "10 new, 0 run again" in preview.inner_text()
    page.get_by_label("Parallelism").fill("0")  # refused by the action's own rule
    page.locator("#backfill-preview .field-error[data-field='RedefineParallelNum']").wait_for()
    assert "RedefineParallelNum must be between 1 and 10000" in preview.inner_text()
    page.get_by_label("Parallelism").fill("2")
    page.locator("#backfill-preview[data-count='10']").wait_for()
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r".*/backfill/[0-9a-f-]{36}$"))
    plan = page.url.rsplit("/", 1)[1]
    made = sum(api.data("ListDataBackfillInstances", {"ProjectId": flow.project, "DataBackfillPlanId": plan,
                                                      "TaskId": task, "PageSize": 100})["TotalCount"]
               for task in (flow.tasks["extract"], flow.tasks["load"]))
    assert made == 10
    page.wait_for_selector("#plan[data-complete='100']", timeout=120_000)

    # Those data times again: they have run, so the preview says they would run again.
    page.goto(f"/console/p/{flow.project}/backfill/new?task={flow.tasks['load']}")
    page.get_by_label("From date").fill("2025-02-04")
    page.get_by_label("To date").fill("2025-02-06")
    page.locator("#backfill-preview[data-count='3']").wait_for()
    assert "1 new, 2 run again" in preview.inner_text()

    # The Gantt of one of those days shows the bars of the instances that ran.
    page.goto(f"/console/p/{flow.project}/gantt?day=2025-02-02&workflow={flow.workflow}")
    bars = page.locator("svg.day-gantt a.gantt-row")
    assert bars.count() == 2
    for task in ("extract", "load"):
        row = page.locator(f"svg.day-gantt a.gantt-row[data-task-id='{flow.tasks[task]}']")
        assert row.get_attribute("data-key") == f"{flow.tasks[task]}_2025-02-02 00:00:00"
        assert "st-ok" in (row.locator("rect.run").get_attribute("class") or "")
    e_bar = page.locator(f"a.gantt-row[data-task-id='{flow.tasks['extract']}'] rect.run")
    l_bar = page.locator(f"a.gantt-row[data-task-id='{flow.tasks['load']}'] rect.run")
    e_end = float(e_bar.get_attribute("x") or 0) + float(e_bar.get_attribute("width") or 0)
    assert float(l_bar.get_attribute("x") or 0) >= e_end - 1  # load waited for extract


def test_the_gantt_of_a_day_picks_its_day_and_links_each_instance(page: Any, api: Api, world: World) -> None:
    flow = world.flow
    sign_in(page)
    page.goto(f"/console/p/{flow.project}/workflows")
    page.get_by_role("link", name="Runs by day").click()
    page.get_by_label("Data date").fill(world.run_day)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(rf".*day={world.run_day}.*"))
    labels = page.locator("svg.day-gantt a.gantt-row text.label").all_text_contents()
    assert {"extract", "load"} <= set(labels)
    ran = page.locator(f"svg.day-gantt a.gantt-row[data-task-id='{flow.tasks['extract']}']")
    assert ran.locator("title").text_content().startswith("extract: succeeded")  # type: ignore[union-attr]
    assert ran.locator("rect.run").count() == 1
    table_ran = page.locator("table.gantt-table tr", has_text="extract").locator("td.ran").inner_text()
    assert float(table_ran.split()[0]) >= 1.0  # it slept a second
    page.get_by_role("link", name=re.compile("^extract$")).first.click()  # to the instance
    page.locator("#instance-state").wait_for()
    page.locator("#log").get_by_text("extracted").wait_for()
    # An empty day, and a day that is not a date.
    page.goto(f"/console/p/{flow.project}/gantt?day=2001-01-01")
    assert "No instance has a data time on 2001-01-01" in page.locator("main").inner_text()
    page.goto(f"/console/p/{flow.project}/gantt?day=yesterday")
    assert "not a date" in page.locator(".error").inner_text()


def test_the_new_pages_of_another_project_are_refused_by_the_actions(
        browser: Any, server: ServerProcess, world: World) -> None:
    flow = world.flow
    stranger = server.new_user()
    ctx = browser.new_context(base_url=f"http://{server.endpoint}")
    try:
        page = ctx.new_page()
        sign_in(page, stranger.secret_id, stranger.secret_key)
        for path in ("gantt", f"gantt?workflow={flow.workflow}", "alarms/new",
                     f"backfill/preview?task%3A{flow.tasks['load']}=on&StartDate=2025-02-01&EndDate=2025-02-01"):
            answer = page.goto(f"/console/p/{flow.project}/{path}")
            assert answer is not None and answer.status == 403, path
            assert "UnauthorizedOperation.UserNotInProject" in page.locator(".error").inner_text()
    finally:
        ctx.close()
