"""The console's backfill, alarm and chart pages in a real browser against a live server: a
backfill made in the form runs to 100 % and is listed, refused plans show the action's error by
the field and save nothing, a Visitor cannot start one; the alarm rules and the message a failed
run recorded; the Gantt of the workflow's run and a task's duration chart; XSS payloads stay text.

Everything is made with the official SDK and run by the server's engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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


@dataclass
class World:
    flow: Flow
    rule: str
    rule_name: str


@pytest.fixture(scope="module")
def world(api: Api) -> World:
    project, name = new_project(api, "consruns")
    flow = new_workflow(api, project, name)
    add_task(api, flow, "extract", "echo extracting; sleep 1; echo extracted")
    add_task(api, flow, "load", "echo loading", upstream=["extract"])
    boom = add_task(api, flow, "boom", "echo about to fail; exit 3", sched=ONEOFF, submit=False)
    rule_name = unique("rule") + XSS_IMG
    rule = api.data("CreateOpsAlarmRule", {
        "ProjectId": project, "AlarmRuleName": rule_name, "Description": XSS_SCRIPT, "MonitorObjectType": 1,
        "MonitorObjectIds": [flow.tasks["boom"]], "AlarmTypes": ["failure"], "AlarmLevel": 3,
        "AlarmGroups": [{"AlarmWays": ["1"], "AlarmRecipientType": 2}],
    })["AlarmRuleId"]  # fmt: skip
    api.data("SubmitTask", {"ProjectId": project, "TaskId": boom, "VersionRemark": "fails under the rule"})
    wait_state(api, project, flow.tasks["extract"], {"COMPLETED"})
    wait_state(api, project, flow.tasks["load"], {"COMPLETED"})
    wait_state(api, project, boom, {"EXPIRED"})
    wait_until(lambda: api.data("ListAlarmMessages", {"ProjectId": project, "PageSize": 10})["Items"],
               lambda items: bool(items), what="the failure's alarm message", patience=60, interval=0.3)
    return World(flow, str(rule), rule_name)


def plan_count(page: Any, project: str) -> int:
    page.goto(f"/console/p/{project}/backfill")
    return int(page.locator("table.plans tbody tr[data-plan-id]").count())


def test_a_backfill_made_in_the_form_runs_to_100_percent_and_is_listed(page: Any, api: Api, world: World) -> None:
    flow = world.flow
    sign_in(page)
    assert plan_count(page, flow.project) == 0
    page.get_by_role("link", name="New backfill").click()
    page.get_by_label("Workflow").select_option(label=flow.workflow_name)
    page.wait_for_selector("form.backfill")
    page.get_by_label("extract").check()
    page.get_by_label("load").check()
    page.get_by_label("From date").fill("2025-03-01")
    page.get_by_label("To date").fill("2025-03-03")
    page.get_by_label("Order").select_option("ORDER")
    page.get_by_label("Parallelism").fill("2")
    page.get_by_label("Name").fill("march " + XSS_SCRIPT)
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r".*/backfill/[0-9a-f-]{36}$"))
    plan_id = page.url.rsplit("/", 1)[1]
    assert page.locator("h1").inner_text().startswith("march " + XSS_SCRIPT)
    # The progress reloads itself until the plan is complete.
    page.wait_for_selector("#plan[data-complete='100']", timeout=90_000)
    assert page.locator("#plan .complete").inner_text() == "100 %"
    assert page.locator("#plan .success").inner_text() == "100 %"
    tables = page.locator("#plan table.members")
    assert tables.count() == 2
    for task in ("extract", "load"):
        rows = page.locator(f"#plan table.members[data-task-id='{flow.tasks[task]}'] tbody tr")
        assert rows.count() == 3
        assert {s.get_attribute("data-state") for s in rows.locator(".chip").all()} == {"COMPLETED"}
    # What the form asked for is what the API holds.
    plan = api.data("GetDataBackfillPlan", {"ProjectId": flow.project, "DataBackfillPlanId": plan_id})
    assert plan["RedefineParallelNum"] == 2 and plan["DataTimeOrder"] == "ORDER"
    assert sorted(plan["TaskIds"]) == sorted([flow.tasks["extract"], flow.tasks["load"]])
    assert plan["DataBackfillRangeList"][0]["StartDate"] == "2025-03-01"
    # The list shows it, complete.
    assert plan_count(page, flow.project) == 1
    row = page.locator(f"table.plans tr[data-plan-id='{plan_id}']")
    assert row.locator(".complete").inner_text() == "100 %"
    assert page.evaluate("typeof window.__xss") == "undefined"


@pytest.mark.parametrize(("fill", "field", "code"), [
    ({"From date": "2025-03-05", "To date": "2025-03-01"}, "StartDate", "InvalidParameterValue"),
    ({"From date": "2025-03-01", "To date": "2025-03-02", "Parallelism": "many"}, "RedefineParallelNum",
     "InvalidParameterValue"),
    ({"From date": "2025-03-01", "To date": "2025-03-02", "Parallelism": "0"}, "RedefineParallelNum",
     "InvalidParameterValue"),
    ({"From date": "2025-03-01", "To date": "2025-03-02", "tasks": False}, "TaskIds", "InvalidParameterValue"),
])  # fmt: skip
def test_a_refused_backfill_shows_the_error_by_its_field_and_saves_nothing(
        page: Any, api: Api, world: World, fill: dict[str, Any], field: str, code: str) -> None:
    flow, fill = world.flow, dict(fill)
    sign_in(page)
    before = plan_count(page, flow.project)
    page.goto(f"/console/p/{flow.project}/backfill/new?task={flow.tasks['load']}")
    assert page.get_by_label("load").is_checked()  # ?task= ticks it
    if fill.pop("tasks", True) is False:
        page.get_by_label("load").uncheck()
    for label, value in fill.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Create").click()
    error = page.locator(f"#error-{field}")
    error.wait_for()
    assert error.inner_text().startswith(code), error.inner_text()
    assert page.get_by_label("From date").input_value() == fill["From date"]  # the form as typed
    assert plan_count(page, flow.project) == before


def test_a_visitor_sees_no_create_button_and_is_refused_when_posting_anyway(
        browser: Any, server: ServerProcess, api: Api, world: World) -> None:
    flow = world.flow
    visitor = server.new_user()
    add_member(api, flow.project, visitor.uin, VISITOR)  # type: ignore[attr-defined]
    ctx = browser.new_context(base_url=f"http://{server.endpoint}")
    try:
        page = ctx.new_page()
        sign_in(page, visitor.secret_id, visitor.secret_key)
        before = plan_count(page, flow.project)
        assert page.get_by_role("link", name="New backfill").count() == 0
        page.goto(f"/console/p/{flow.project}/backfill/new?workflow={flow.workflow}")
        assert page.get_by_role("button", name="Create").count() == 0
        answer = page.request.post(f"/console/p/{flow.project}/backfill", form={
            "csrf_token": csrf_token(page), "WorkflowId": flow.workflow, f"task:{flow.tasks['load']}": "on",
            "StartDate": "2025-04-01", "EndDate": "2025-04-01"})
        assert answer.status == 403 and "UnauthorizedOperation" in answer.text()
        assert plan_count(page, flow.project) == before
        # The alarm pages are reads: a Visitor sees them.
        page.goto(f"/console/p/{flow.project}/alarms")
        assert page.locator(f"tr[data-rule-id='{world.rule}']").count() == 1
    finally:
        ctx.close()


def test_the_alarm_rules_and_the_message_a_failed_run_recorded(page: Any, api: Api, world: World) -> None:
    flow = world.flow
    sign_in(page)
    page.goto(f"/console/p/{flow.project}/alarms")
    row = page.locator(f"table.alarm-rules tr[data-rule-id='{world.rule}']")
    assert world.rule_name in row.inner_text()  # the <img> payload is text
    assert XSS_SCRIPT in row.inner_text()
    assert "failure" in row.inner_text() and "urgent" in row.inner_text() and "enabled" in row.inner_text()
    page.get_by_label("Rule").fill("no such rule")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*keyword=no"))
    assert page.locator("table.alarm-rules tr[data-rule-id]").count() == 0

    page.goto(f"/console/p/{flow.project}/alarms")
    page.get_by_role("link", name="Messages").click()
    page.wait_for_url(re.compile(r".*/alarms/messages$"))
    messages = page.locator("table.alarm-messages tbody tr[data-message-id]")
    assert messages.count() >= 1
    first = messages.first
    assert first.get_attribute("data-rule-id") == world.rule
    assert "boom" in first.inner_text() and "email" in first.inner_text()
    first.locator("a").click()  # the data time links to the instance
    page.locator("#instance-state").wait_for()
    page.locator("#log").get_by_text("about to fail").wait_for()
    # A filter the action refuses shows its error.
    page.goto(f"/console/p/{flow.project}/alarms/messages?level=9")
    assert "AlarmLevel" in page.locator(".error").inner_text()
    page.goto(f"/console/p/{flow.project}/alarms/messages?level=1")  # the message is urgent (3)
    assert page.locator("table.alarm-messages tbody tr[data-message-id]").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("main img, main script").count() == 0


def test_the_gantt_of_the_latest_run_and_a_task_duration_chart(page: Any, api: Api, world: World) -> None:
    flow = world.flow
    sign_in(page)
    page.goto(f"/console/p/{flow.project}/workflows/{flow.workflow}")
    page.get_by_role("link", name="Gantt").click()
    page.wait_for_selector("svg.gantt")
    rows = page.locator("svg.gantt g.gantt-row")
    names = page.locator("svg.gantt g.gantt-row text.label").all_text_contents()
    assert {"extract", "load"} <= set(names)
    assert rows.count() == len(names)
    extract = page.locator(f"svg.gantt g.gantt-row[data-task-id='{flow.tasks['extract']}']")
    load = page.locator(f"svg.gantt g.gantt-row[data-task-id='{flow.tasks['load']}']")
    assert extract.locator("title").text_content().startswith("extract: succeeded")  # type: ignore[union-attr]
    e_bar, l_bar = extract.locator("rect.run"), load.locator("rect.run")
    assert "st-ok" in (e_bar.get_attribute("class") or "")
    # load waited for extract: its bar starts at or after extract's end.
    e_end = float(e_bar.get_attribute("x") or 0) + float(e_bar.get_attribute("width") or 0)
    assert float(l_bar.get_attribute("x") or 0) >= e_end - 1
    data_time = page.locator(".data-time").inner_text()
    table = page.locator("table.gantt-table")
    ran = table.locator(f"tr[data-task-id='{flow.tasks['extract']}'] td.ran").inner_text()
    assert re.fullmatch(r"\d+\.\d s", ran) and float(ran.split()[0]) >= 1.0  # it slept a second

    table.get_by_role("link", name="extract").click()
    page.wait_for_selector("svg.durations")
    keys = [a.get_attribute("href") for a in page.locator("svg.durations a.duration").all()]
    instances = api.data("ListTaskInstances", {"ProjectId": flow.project, "Keyword": flow.tasks["extract"],
                                               "PageSize": 100})["Items"]
    assert len(keys) == len(instances) >= 1  # every instance of the task (fewer than 30)
    assert any(data_time.replace(" ", "+").replace(":", "%3A") in (k or "") for k in keys)
    durations = page.locator("table.durations-table td.ran").all_text_contents()
    assert any(re.fullmatch(r"\d+\.\d s", d) and float(d.split()[0]) >= 1.0 for d in durations)
    titles = page.locator("svg.durations a.duration title").all_text_contents()
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d: ", t) for t in titles)


def test_chart_pages_of_another_project_are_refused_by_the_actions(
        browser: Any, server: ServerProcess, api: Api, world: World) -> None:
    flow = world.flow
    stranger = server.new_user()
    ctx = browser.new_context(base_url=f"http://{server.endpoint}")
    try:
        page = ctx.new_page()
        sign_in(page, stranger.secret_id, stranger.secret_key)
        for path in (f"workflows/{flow.workflow}/gantt", f"tasks/{flow.tasks['extract']}/durations", "backfill",
                     "alarms", "alarms/messages"):
            answer = page.goto(f"/console/p/{flow.project}/{path}")
            assert answer is not None and answer.status == 403, path
            assert "UnauthorizedOperation.UserNotInProject" in page.locator(".error").inner_text()
    finally:
        ctx.close()
