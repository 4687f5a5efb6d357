"""The console in a real browser (Chromium through Playwright) against a live server, on SQLite
and PostgreSQL: sign in, the DAG with every task name, a failed run's log and its rerun, a
killed sleeper, a Visitor's read-only view, CSRF, and XSS payloads that stay text.

The runs are real: tasks made and submitted with the official SDK, run by the server's engine.
Screenshots for the README: ``WEDATA_CONSOLE_SCREENSHOTS=1`` writes docs/img/console-dag.png and
docs/img/console-grid.png from the flow this module builds.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
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
from tests.support import ROOT, Api, ServerProcess

pytestmark = pytest.mark.xdist_group("chromium")

SCREENSHOTS = ROOT / "docs" / "img"
TERMINAL = {"COMPLETED", "EXPIRED", "SKIP_RUNNING"}


@dataclass
class World:
    flow: Flow
    other_project: str  # a project the visitor is not a member of
    failed: dict[str, Any]  # the flaky task's failed instance
    xss: dict[str, Any]


@pytest.fixture(scope="module")
def world(api: Api, tmp_path_factory: pytest.TempPathFactory) -> World:
    marker = tmp_path_factory.mktemp("console") / "flaky-ran-once"
    project, name = new_project(api)
    flow = new_workflow(api, project, name)
    add_task(api, flow, "extract", "echo extracting rows; sleep 1; echo extracted")
    add_task(api, flow, "transform", "echo transforming", upstream=["extract"])
    add_task(api, flow, "load", "echo loading", upstream=["transform"])
    add_task(api, flow, "report", "echo reporting", upstream=["transform", "extract"])
    # Fails on its first run, succeeds when rerun (the marker file remembers the first).
    add_task(api, flow, "flaky", f"if [ -f {marker} ]; then echo second run ok; "
                                 f"else touch {marker}; echo first run fails; exit 1; fi")
    add_task(api, flow, XSS_IMG, f"echo '{XSS_SCRIPT}'; echo '<img src=x onerror=window.__xss=3>'",
             upstream=["extract"], description=XSS_SCRIPT)
    other, _ = new_project(api, "other")
    failed = wait_state(api, project, flow.tasks["flaky"], {"EXPIRED"})
    xss = wait_state(api, project, flow.tasks[XSS_IMG], {"COMPLETED"})
    for task in ("extract", "transform", "load", "report"):
        wait_state(api, project, flow.tasks[task], {"COMPLETED"})
    return World(flow, other, failed, xss)


def instance_url(project: str, key: str) -> str:
    from urllib.parse import quote

    return f"/console/p/{project}/instance?key={quote(key)}"


def state_of(api: Api, project: str, key: str) -> str:
    return str(api.data("GetTaskInstance", {"ProjectId": project, "InstanceKey": key})["InstanceState"])


# ------------------------------------------------------------------------------------------------


def test_a_browser_at_the_root_lands_on_the_sign_in_page_and_a_wrong_key_is_refused(page: Any, world: World) -> None:
    page.goto("/")
    assert page.url.endswith("/console/signin?next=/console/")
    page.get_by_label("SecretId").fill("AKIDTESTADMIN000000000000000000001")
    page.get_by_label("SecretKey").fill("not-the-key")
    started = time.monotonic()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#signin-error")
    assert time.monotonic() - started >= 1.0  # the brake against guessing
    assert page.locator("#signin-error").inner_text() == "The SecretId or SecretKey is wrong."
    assert "/console/signin" in page.url
    assert not any(c["name"] == "wedata_console" for c in page.context.cookies())

    sign_in(page)
    cookie = next(c for c in page.context.cookies() if c["name"] == "wedata_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert "TESTADMINKEY" not in cookie["value"]
    assert page.get_by_role("link", name=world.flow.project_name).is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/signin")
    page.goto("/console/projects")
    assert "/console/signin" in page.url


def test_the_dag_shows_every_task_by_name_coloured_by_its_latest_run(page: Any, world: World) -> None:
    flow = world.flow
    sign_in(page)
    page.get_by_role("link", name=flow.project_name).click()
    page.get_by_role("link", name=flow.workflow_name, exact=True).click()
    page.wait_for_selector("svg.dag[data-laid-out]")
    labels = page.locator("svg.dag g.node text.label").all_text_contents()
    assert sorted(labels) == sorted(flow.tasks)
    for name in flow.tasks:
        assert page.get_by_text(name, exact=True).first.is_visible()
    node = page.locator("svg.dag g.node", has=page.locator("text.label", has_text=re.compile("^flaky$")))
    assert "st-failed" in (node.get_attribute("class") or "")
    extract = page.locator("svg.dag g.node", has=page.locator("text.label", has_text=re.compile("^extract$")))
    assert "st-ok" in (extract.get_attribute("class") or "")
    # Laid out left to right: every edge goes rightwards.
    xs = {n.get_attribute("data-id"): n.bounding_box()["x"] for n in page.locator("svg.dag g.node").all()}
    assert xs[flow.tasks["extract"]] < xs[flow.tasks["transform"]] < xs[flow.tasks["load"]]
    assert page.locator("svg.dag path.edge").count() == 5

    extract.click()
    panel = page.locator("#task-panel")
    panel.wait_for()
    assert panel.locator("h2").inner_text() == "extract"
    assert "echo extracting rows" in panel.locator("pre.code").inner_text()
    assert "0 0 0 * * ? *" in panel.inner_text()

    if os.environ.get("WEDATA_CONSOLE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "console-dag.png"))
        page.get_by_role("link", name="Grid").click()
        page.wait_for_selector("table.grid")
        page.screenshot(path=str(SCREENSHOTS / "console-grid.png"))


def test_a_failed_instance_shows_its_log_and_a_rerun_turns_it_green(page: Any, api: Api, world: World) -> None:
    flow = world.flow
    key = world.failed["InstanceKey"]
    sign_in(page)
    page.goto(f"/console/p/{flow.project}/instances?state=EXPIRED&task=flaky")
    row = page.locator("table.instances tbody tr").filter(has_text="flaky")
    assert row.count() == 1
    row.get_by_role("link", name="flaky").click()
    page.wait_for_url(re.compile(r".*/instance\?key="))
    assert page.locator("#instance-state").get_attribute("data-state") == "EXPIRED"
    page.locator("#log").get_by_text("first run fails").wait_for()

    page.get_by_role("button", name="Rerun", exact=True).click()
    page.locator("#job .job-status").filter(has_text="SUCCESS").wait_for()
    page.locator("#instance-state[data-state='COMPLETED']").wait_for(timeout=60_000)
    page.locator("#log").get_by_text("second run ok").wait_for()
    assert state_of(api, flow.project, key) == "COMPLETED"

    page.goto(f"/console/p/{flow.project}/workflows/{flow.workflow}/grid")
    flaky_row = page.locator("table.grid tbody tr").filter(has=page.locator("th", has_text=re.compile("^flaky$")))
    cell = flaky_row.locator(f"a.cell[title*='{world.failed['CurRunDate']}']")
    assert cell.get_attribute("data-state") == "COMPLETED"
    assert "st-ok" in (cell.get_attribute("class") or "")


def test_the_grid_pages_its_rows_in_dag_order_with_the_same_columns(page: Any, world: World) -> None:
    flow = world.flow
    total = len(flow.tasks)  # other tests of this module may have added some
    per_page = total - 2
    sign_in(page)
    page.goto(f"/console/p/{flow.project}/workflows/{flow.workflow}/grid?rows={per_page}")
    pager = page.get_by_role("navigation", name="Pages of tasks")
    assert f"Tasks 1–{per_page} of {total}" in pager.inner_text()
    first = page.locator("table.grid tbody th.task").all_inner_texts()
    columns = page.locator("table.grid thead th.date").count()
    assert len(first) == per_page and columns >= 1

    pager.get_by_role("link", name="Next").click()
    page.wait_for_url(re.compile(r".*page=2"))
    pager = page.get_by_role("navigation", name="Pages of tasks")
    assert f"Tasks {per_page + 1}–{total} of {total}" in pager.inner_text()
    assert pager.get_by_role("link", name="Next").count() == 0
    second = page.locator("table.grid tbody th.task").all_inner_texts()
    assert len(second) == 2 and page.locator("table.grid thead th.date").count() == columns
    names = first + second
    assert sorted(names) == sorted(flow.tasks)  # every task once, over the two pages
    assert names.index("extract") < names.index("transform") < names.index("load")  # upstream first
    assert names.index("transform") < names.index("report")


def test_kill_a_running_sleeper_while_its_log_streams(page: Any, api: Api, world: World) -> None:
    flow = world.flow
    task_id = add_task(api, flow, "sleeper", "echo tick one; sleep 1; echo tick two; sleep 300", sched=ONEOFF)
    running = wait_state(api, flow.project, task_id, {"RUNNING"})
    sign_in(page)
    page.goto(instance_url(flow.project, running["InstanceKey"]))
    assert page.locator("#instance-state").get_attribute("data-state") == "RUNNING"
    log = page.locator("#log")
    log.get_by_text("tick one").wait_for()
    log.get_by_text("tick two").wait_for(timeout=10_000)  # appended while the page is open
    page.get_by_role("button", name="Kill").click()
    page.locator("#job .job-status").filter(has_text="SUCCESS").wait_for(timeout=60_000)
    page.locator("#instance-state[data-state='EXPIRED']").wait_for(timeout=30_000)
    assert state_of(api, flow.project, running["InstanceKey"]) == "EXPIRED"


def test_a_visitor_sees_no_operate_buttons_and_is_refused_when_posting_anyway(
        browser: Any, server: ServerProcess, api: Api, world: World) -> None:
    flow = world.flow
    visitor = server.new_user()
    add_member(api, flow.project, visitor.uin, VISITOR)  # type: ignore[attr-defined]
    ctx = browser.new_context(base_url=f"http://{server.endpoint}")
    try:
        page = ctx.new_page()
        page.on("dialog", lambda d: d.accept())
        sign_in(page, visitor.secret_id, visitor.secret_key)
        options = page.locator("#project-switch option").all_inner_texts()
        assert flow.project_name in options
        assert not any(o.startswith("other_") for o in options)  # only the visitor's own projects
        key = world.failed["InstanceKey"]
        page.goto(instance_url(flow.project, key))
        page.locator("#instance-state").wait_for()
        assert page.locator(".operate button").count() == 0
        before = state_of(api, flow.project, key)
        answer = page.request.post(f"/console/p/{flow.project}/instance/operate",
                                   form={"key": key, "operation": "set_success", "csrf_token": csrf_token(page)})
        assert answer.status == 403
        assert "UnauthorizedOperation" in answer.text()
        assert state_of(api, flow.project, key) == before
        # Another project's page, by its URL: refused by the actions themselves.
        page.goto(f"/console/p/{world.other_project}/workflows")
        assert "UnauthorizedOperation.UserNotInProject" in page.locator(".error").inner_text()
    finally:
        ctx.close()


def test_a_post_without_the_csrf_token_is_refused(page: Any, api: Api, world: World) -> None:
    flow = world.flow
    sign_in(page)
    key = world.xss["InstanceKey"]
    page.goto(instance_url(flow.project, key))
    before = state_of(api, flow.project, key)
    for form in ({"key": key, "operation": "rerun"}, {"key": key, "operation": "rerun", "csrf_token": "forged"}):
        answer = page.request.post(f"/console/p/{flow.project}/instance/operate", form=form)
        assert answer.status == 403 and "CSRF" in answer.text()
    assert state_of(api, flow.project, key) == before
    answer = page.request.post("/console/signout", form={})
    assert answer.status == 403
    page.goto("/console/projects")
    assert page.url.endswith("/console/projects")  # still signed in


def test_xss_payloads_in_a_task_name_a_description_and_a_log_stay_text(page: Any, world: World) -> None:
    flow = world.flow
    sign_in(page)
    page.goto(f"/console/p/{flow.project}/workflows/{flow.workflow}")
    page.wait_for_selector("svg.dag[data-laid-out]")
    assert page.locator("svg.dag text.label", has_text=XSS_IMG).count() == 1
    page.locator("svg.dag g.node", has=page.locator("text.label", has_text=XSS_IMG)).click()
    page.locator("#task-panel").wait_for()
    assert page.locator("#task-panel h2").inner_text() == XSS_IMG
    assert XSS_SCRIPT in page.locator("#task-panel").inner_text()
    page.goto(instance_url(flow.project, world.xss["InstanceKey"]))
    page.locator("#log").get_by_text(XSS_SCRIPT).wait_for()
    page.locator("#log").get_by_text("<img src=x onerror=window.__xss=3>").wait_for()
    assert page.locator("h1").first.inner_text().startswith(XSS_IMG)
    assert page.locator("#log img, #log script, #task-panel img, main img").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_screenshots_exist_for_the_readme() -> None:
    for name in ("console-dag.png", "console-grid.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000, Path(name)
