"""The console's task editor, versions, members and resource-group pages in a real browser
(Chromium through Playwright) against a live server: create a task with code typed into the
highlighting editor, watch the schedule's words and next fire times follow the cron as it is
typed, a refused save shown next to its field with nothing saved, submit, edit again, compare
two versions; the members with their roles; a resource group's slots in use.

What the browser did is checked through the official SDK (GetTask, ListTaskVersions).
``WEDATA_CONSOLE_SCREENSHOTS=1`` writes docs/img/console-editor.png (the README shows it).
"""

from __future__ import annotations

import base64
import os
import re
from typing import Any

import pytest

from tests.console.conftest import sign_in
from tests.console.flows import VISITOR, Flow, add_member, new_project, new_workflow
from tests.support import ROOT, Api, ServerProcess, unique

pytestmark = pytest.mark.xdist_group("chromium")


@pytest.fixture(scope="module")
def flow(api: Api) -> Flow:
    project, name = new_project(api, "edit")
    return new_workflow(api, project, name)


def get_task(api: Api, flow: Flow, task_id: str) -> dict[str, Any]:
    return dict(api.data("GetTask", {"ProjectId": flow.project, "TaskId": task_id}))


def code_of(task: dict[str, Any]) -> str:
    return base64.b64decode(task["TaskConfiguration"]["CodeContent"]).decode()


def fires(page: Any) -> list[str]:
    return list(page.locator("#schedule-preview ol.fires li").all_inner_texts())


def type_cron(page: Any, cron: str) -> None:
    page.get_by_label("Cron (Quartz)").fill(cron)


def test_create_edit_submit_a_task_and_compare_its_versions(page: Any, api: Api, flow: Flow) -> None:
    sign_in(page)
    page.goto(f"/console/p/{flow.project}/workflows/{flow.workflow}")
    page.get_by_role("link", name="New task").click()
    page.wait_for_selector(".CodeMirror")
    name = unique("edited")
    page.get_by_label("Name").fill(name)
    page.locator("#f-TaskTypeId").select_option(label="Shell")
    page.locator(".CodeMirror").click()
    page.keyboard.type("echo <script>hello</script>\n")
    # Highlighted: CodeMirror's shell mode marks `echo` as a builtin.
    assert page.locator(".CodeMirror[data-mode='shell'] .cm-builtin", has_text="echo").count() == 1

    # The schedule in words and its next 10 fire times follow the cron as it is typed.
    type_cron(page, "0 30 0 * * ? *")
    page.locator("#schedule-preview .words", has_text="at 00:30 (UTC+8)").wait_for()
    assert page.locator("#schedule-preview .words").inner_text() == "Every day, at 00:30 (UTC+8)"
    times = fires(page)
    assert len(times) == 10 and all(t.endswith(" 00:30:00") for t in times)
    if os.environ.get("WEDATA_CONSOLE_SCREENSHOTS"):
        page.screenshot(path=str(ROOT / "docs" / "img" / "console-editor.png"), full_page=True)
    type_cron(page, "0 15 6 * * ? *")
    page.locator("#schedule-preview .words", has_text="at 06:15").wait_for()
    after = fires(page)
    assert len(after) == 10 and all(t.endswith(" 06:15:00") for t in after) and after != times
    type_cron(page, "0 61 0 * * ? *")
    page.locator("#schedule-preview .field-error[data-field='CrontabExpression']").wait_for()
    assert "minute" in page.locator("#schedule-preview .field-error").inner_text()

    # Saving the wrong cron: refused by CreateTask, shown next to the cron field, nothing made.
    before = api.data("ListTasks", {"ProjectId": flow.project, "WorkflowId": flow.workflow})["TotalCount"]
    page.get_by_role("button", name="Create").click()
    page.locator("#error-CrontabExpression").wait_for()
    assert "InvalidParameterValue" in page.locator("#error-CrontabExpression").inner_text()
    assert page.get_by_label("Name").input_value() == name  # the form as typed
    assert api.data("ListTasks", {"ProjectId": flow.project, "WorkflowId": flow.workflow})["TotalCount"] == before

    type_cron(page, "0 15 6 * * ? *")
    page.get_by_label("Retries").fill("2")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r".*/tasks/\d+/edit\?done=created"))
    task_id = re.search(r"/tasks/(\d+)/edit", page.url).group(1)  # type: ignore[union-attr]
    task = get_task(api, flow, task_id)
    assert task["TaskBaseAttribute"]["TaskName"] == name
    assert code_of(task).startswith("echo <script>hello</script>")
    assert task["TaskSchedulerConfiguration"]["CrontabExpression"] == "0 15 6 * * ? *"
    assert str(task["TaskSchedulerConfiguration"]["MaxRetryAttempts"]) == "2"
    # The code came back as text in the editor, not as markup.
    assert "<script>hello</script>" in page.locator(".CodeMirror").inner_text()
    assert page.locator(".CodeMirror script").count() == 0

    # A refused update (a retry count that is not a number) changes nothing.
    page.get_by_label("Retries").fill("many")
    page.get_by_role("button", name="Save").click()
    page.locator("#error-MaxRetryAttempts").wait_for()
    assert str(get_task(api, flow, task_id)["TaskSchedulerConfiguration"]["MaxRetryAttempts"]) == "2"

    page.get_by_label("Retries").fill("2")
    page.get_by_label("Version remark").fill("first release")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r".*done=submitted"))
    assert get_task(api, flow, task_id)["TaskBaseAttribute"]["Submit"] is True

    # Edit the code and save: a second SAVE version, and its diff with the first.
    page.locator(".CodeMirror").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("echo second line")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*done=saved"))
    assert code_of(get_task(api, flow, task_id)).rstrip().endswith("echo second line")
    versions = api.data("ListTaskVersions", {"ProjectId": flow.project, "TaskId": task_id})["Items"]
    assert len(versions) >= 2

    page.get_by_role("link", name="Versions").click()
    page.locator("table.versions").wait_for()
    assert page.locator("table.versions tr[data-kind='SUBMIT']").count() == 1
    code_diff = page.locator(".diff[data-diff='code']")
    assert code_diff.locator(".add", has_text="+echo second line").count() == 1
    assert code_diff.locator(".del").count() == 0
    # Comparing the first version with itself: no difference.
    first = page.locator("table.versions tr[data-kind='SAVE']").last
    first.locator("input[name=a]").check()
    first.locator("input[name=b]").check()
    page.get_by_role("button", name="Compare").click()
    page.get_by_text("No difference.").first.wait_for()
    assert page.locator(".diff").count() == 0


def test_members_with_their_roles_and_resource_groups_with_their_slots(
        page: Any, api: Api, server: ServerProcess, flow: Flow) -> None:
    visitor = server.new_user()
    add_member(api, flow.project, visitor.uin, VISITOR)  # type: ignore[attr-defined]
    group = api.data("CreateResourceGroup", {
        "Name": unique("rg"), "Type": {"ResourceGroupType": "Schedule", "Schedule": {"Specification": "s_test",
                                                                                     "Number": 2}},
        "AutoRenewEnabled": False, "PurchasePeriod": 1, "VpcId": "vpc-1", "SubNet": "subnet-1",
        "ResourceRegion": "ap-guangzhou", "AssociatedProjectId": flow.project})["ResourceGroupId"]
    sign_in(page)
    page.goto(f"/console/p/{flow.project}")
    page.get_by_role("link", name="Members").click()
    row = page.locator(f"table.members tr[data-uin='{visitor.uin}']")  # type: ignore[attr-defined]
    row.wait_for()
    assert row.locator(".roles .chip").all_inner_texts() == ["Visitor"]
    roles = api.data("ListProjectRoles", {"ProjectId": flow.project, "PageSize": 100})["Items"]
    assert page.locator("table.roles tbody tr").count() == len(roles) >= 4

    page.get_by_role("link", name="Resource groups").click()
    line = page.locator(f"table.groups tr[data-group='{group}']")
    line.wait_for()
    slots = api.data("GetResourceGroupMetrics", {"ResourceGroupId": group, "MetricType": "task"})
    expected = next(m["SnapshotValue"] for m in slots["MetricSnapshots"] if m["MetricName"] == "MaximumConcurrency")
    assert int(line.locator("td.slots").inner_text()) == expected > 0
    assert line.locator("td.running").inner_text() == "0"
    assert line.locator("meter").get_attribute("aria-label") == f"0 of {expected} slots in use"


def test_the_editor_screenshot_exists_for_the_readme() -> None:
    assert (ROOT / "docs" / "img" / "console-editor.png").stat().st_size > 10_000
