"""The console's catalog, lineage, data quality and trigger-workflow pages in a real browser
against a live server: what the SDK made (tables in the machine's PostgreSQL, an SQL run's
lineage and a registered edge, a monitoring task checked after a task run, a trigger workflow
run) shows as text; a non-member is refused (403) by the actions; names carrying XSS payloads
stay text."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from playwright.sync_api import expect
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.actions.datasources.conftest import Db, postgres
from tests.console.conftest import sign_in
from tests.console.flows import ONEOFF, XSS_IMG, XSS_SCRIPT, add_task, new_project, new_workflow
from tests.support import Api, ServerProcess, unique
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("chromium")
__all__ = ["postgres"]

PG_ENGINE = 64  # docs/quality.md: a PostgreSQL-wire source's SourceEngineTypes bit
FINISHED = ("SUCCESS", "FAILED", "SKIP")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def pg(db: Db) -> psycopg.Connection[Any]:
    return psycopg.connect(host="127.0.0.1", user=db.username, password=db.password, dbname=db.url.rsplit("/", 1)[1],
                           autocommit=True)


@dataclass
class World:
    project: str
    source: str
    database: str
    orders: str  # public.<orders>, 3 rows, one without a customer
    evil: str  # sales."<img ...>": a table named with an XSS payload
    summary: str  # sales.<summary>, filled from orders by an SQL run
    guids: dict[str, str]
    dashboard: str  # the THIRD resource registered downstream of the summary
    group: int
    group_name: str
    rules: dict[str, str]  # "pass" / "triggered" -> rule name
    report: str  # sales.<report>, written by the SQL task
    sql_task: str


def table_guid(api: Api, source: str, name: str) -> str:
    def find() -> list[dict[str, Any]]:
        data = api.data("ListTable", {"PageNumber": 1, "PageSize": 50, "DatasourceId": source})
        return [t for t in data["Items"] if t["Name"] == name]

    (item,) = wait_until(find, bool, what=f"the catalog to list {name}", patience=30)
    return str(item["Guid"])


@pytest.fixture(scope="module")
def world(api: Api, postgres: Db) -> World:  # noqa: F811 - the fixture imported above
    project, _ = new_project(api, "consdom")
    source = str(api.data("CreateDataSource", {"ProjectId": project, "Name": unique("pg"), "Type": "POSTGRE",
                                               "ProdConProperties": postgres.props()})["DataSourceId"])
    orders, summary = unique("orders").lower(), unique("summary").lower()
    with pg(postgres) as c:
        c.execute(f"CREATE TABLE {orders} (id int PRIMARY KEY, customer varchar(40), amount numeric(10,2))")
        c.execute(f"COMMENT ON TABLE {orders} IS '{XSS_SCRIPT}'")
        c.execute(f"COMMENT ON COLUMN {orders}.customer IS 'who ordered {XSS_IMG}'")
        c.execute(f"INSERT INTO {orders} VALUES (1, 'a', 10), (2, NULL, 20), (3, 'b', 30)")
        c.execute("CREATE SCHEMA IF NOT EXISTS sales")
        c.execute(f"CREATE TABLE sales.{summary} (customer varchar(40), total numeric(12,2))")
        c.execute(f'CREATE TABLE IF NOT EXISTS sales."{XSS_IMG}" (x int)')  # the database is shared by both backends' worlds
        report = unique("report").lower()
        c.execute(f"CREATE TABLE sales.{report} (customer varchar(40))")
    database = postgres.url.rsplit("/", 1)[1]
    guids = {name: table_guid(api, source, name) for name in (orders, summary, XSS_IMG, report)}

    # Lineage: an ad-hoc SQL run (orders -> summary), and a registered BI edge out of the summary.
    job = api.data("RunSQLScript", {"ProjectId": project, "ScriptConfig": {"DatasourceId": source}, "ScriptContent": b64(
        f"INSERT INTO sales.{summary} SELECT customer, sum(amount) FROM {orders} GROUP BY customer")})["JobId"]
    run = wait_until(lambda: api.data("GetSQLRunResult", {"ProjectId": project, "JobId": job}),
                     lambda r: r["Status"] in ("SUCCESS", "FAILED"), what="the SQL run", patience=30)
    assert run["Status"] == "SUCCESS", run  # a failed run has no lineage to wait for below
    dashboard = f"board {XSS_IMG}"
    api.data("RegisterLineage", {"Relations": [{
        "Source": {"ResourceUniqueId": guids[summary], "ResourceType": "TABLE", "Platform": "WEDATA"},
        "Target": {"ResourceUniqueId": unique("bi"), "ResourceType": "TABLE", "Platform": "THIRD",
                   "ResourceName": dashboard},
        "Processes": [{"ProcessId": "bi-sync", "ProcessType": "THIRD_REPORT", "Platform": "THIRD"}]}]})
    wait_until(lambda: api.data("ListLineage", {"ResourceUniqueId": guids[summary], "ResourceType": "TABLE",
                                                "Direction": "INPUT", "PageNumber": 1, "PageSize": 10,
                                                "Platform": "WEDATA"})["Items"],
               bool, what="the SQL run's lineage", patience=30)

    # Data quality: a monitoring task attached to a task that runs once, with a passing rule
    # (row count, triggers when < 1) and a triggered one (null customers, triggers when > 0).
    flow = new_workflow(api, project, "consdom")
    task = add_task(api, flow, "checked", "sleep 5; echo loaded", sched=ONEOFF)
    group_name = unique("grp") + " " + XSS_IMG
    group = api.data("CreateQualityRuleGroup", {"ProjectId": project, "RuleGroupExecStrategyBOList": [{
        "MonitorType": 2, "ExecutorGroupId": "default", "RuleGroupName": group_name, "DatabaseName": database,
        "SchemaName": "public", "DatasourceId": source, "TableName": orders,
        "Tasks": [{"WorkflowId": flow.workflow, "TaskId": task, "TaskName": "checked"}]}]})["RuleGroupResultList"][0]["Id"]
    rules = {"pass": unique("rows"), "triggered": unique("nulls") + " " + XSS_SCRIPT}

    def rule(name: str, template: int, op: str, value: str, column: str | None = None) -> dict[str, Any]:
        return {"Name": name, "Type": 1, "RuleGroupId": group, "DatasourceId": source, "DatabaseName": database,
                "SchemaName": "public", "TableName": orders, "RuleTemplateId": template, "AlarmLevel": 2,
                "SourceEngineTypes": [PG_ENGINE], "ConditionType": 1,
                "SourceObjectDataTypeName": "table" if column is None else "string",
                "SourceObjectValue": column or orders,
                "CompareRule": {"Items": [{"CompareType": 1, "Operator": op, "ValueList": [{"ValueType": 3, "Value": value}]}]}}

    made = api.data("CreateQualityRule", {"ProjectId": project, "CreateRuleScene": 1, "RuleBOList": [
        rule(rules["pass"], 1, "<", "1"), rule(rules["triggered"], 2, ">", "0", "customer")]})
    assert made["SuccessCount"] == 2, made
    wait_until(lambda: api.data("ListQualityRuleGroupExecResultsByPage", {"ProjectId": project, "PageSize": 10})["Items"],
               bool, what="the check after the task run", patience=60)
    # A SQL task (runs once): its process lineage, orders -> report.
    sql_task = api.data("CreateTask", {
        "ProjectId": project,
        "TaskBaseAttribute": {"TaskName": "load report", "TaskTypeId": "21", "WorkflowId": flow.workflow},
        "TaskConfiguration": {"CodeContent": b64(f"INSERT INTO sales.{report} SELECT customer FROM {orders}"),
                              "SourceServiceId": source},
        "TaskSchedulerConfiguration": ONEOFF})["TaskId"]
    api.data("SubmitTask", {"ProjectId": project, "TaskId": sql_task, "VersionRemark": "go"})
    return World(project, source, database, orders, XSS_IMG, summary, guids, dashboard, int(group), group_name, rules,
                 report, sql_task)


@dataclass
class Triggers:
    project: str
    workflow: str
    workflow_name: str
    execution: str
    tasks: dict[str, str]  # name -> id


@pytest.fixture(scope="module")
def triggers(api: Api) -> Triggers:
    project = api.data("CreateProject", {"Project": {"ProjectName": unique("constrg"), "DisplayName": "constrg",
                                                     "ScheduleMode": "workflow"}})["ProjectId"]
    name = unique("twf") + XSS_IMG
    workflow = api.data("CreateTriggerWorkflow", {"ProjectId": project, "WorkflowName": name, "ParentFolderPath": "/",
                                                  "WorkflowDesc": XSS_SCRIPT})["WorkflowId"]
    tasks: dict[str, str] = {}
    for task_name, code, upstream in (("extract " + XSS_IMG, "echo extracted", None), ("load", "echo loading-now; exit 3", "extract"),
                                      ("report", "echo never", "load")):
        ups = [{"TaskId": tasks[upstream]}] if upstream else []
        tasks[task_name.split(" ")[0]] = api.data("CreateTriggerTask", {
            "ProjectId": project,
            "TriggerTaskBaseAttribute": {"TaskName": task_name, "TaskTypeId": "35", "WorkflowId": workflow},
            "TriggerTaskConfiguration": {"CodeContent": b64(code)},
            "TriggerTaskSchedulerConfiguration": {"MaxRetryNumber": 0, "UpstreamDependencyConfigList": ups}})["TaskId"]
    for task_id in tasks.values():
        api.data("SubmitTriggerTask", {"ProjectId": project, "TaskId": task_id, "VersionRemark": "go"})
    execution = api.data("CreateTriggerWorkflowRun", {"ProjectId": project, "WorkflowId": workflow})["WorkflowExecutionId"]
    wait_until(lambda: api.data("GetTriggerWorkflowRun", {"ProjectId": project, "WorkflowExecutionId": execution}),
               lambda d: d["TriggerWorkflowRun"]["ExecutionState"] in FINISHED, what="the run to finish", patience=60)
    return Triggers(project, workflow, name, execution, tasks)


def no_xss(page: Any) -> None:
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_the_catalog_browser_walks_source_database_schema_table_and_columns(page: Any, world: World) -> None:
    sign_in(page)
    page.goto(f"/console/p/{world.project}/catalog")
    assert page.locator("tr[data-catalog='DataLakeCatalog']").count() == 1
    page.locator(f"tr[data-source-id='{world.source}'] a").click()
    page.locator(f"table.catalog-databases tr[data-name='{world.database}'] a").click()
    schemas = page.locator("table.catalog-schemas tbody")
    # A click starts a navigation; reads do not wait for it (a loaded machine read the old page).
    expect(schemas.locator("tr[data-name='sales']")).to_have_count(1, timeout=30_000)
    assert {"public", "sales"} <= set(schemas.locator("tr").evaluate_all("rs => rs.map(r => r.dataset.name)"))
    page.locator("table.catalog-schemas tr[data-name='sales'] a").click()
    expect(page.locator("table.catalog-tables tbody")).to_contain_text(world.summary, timeout=30_000)
    tables = page.locator("table.catalog-tables tbody td:first-child").all_inner_texts()
    assert XSS_IMG in tables and world.summary in tables  # the payload as a name, as text
    no_xss(page)
    # Search and paging: the keyword is the action's Keyword.
    page.get_by_label("Name contains").fill(world.summary[-6:])
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**keyword=*")
    assert page.locator("table.catalog-tables tbody td:first-child").all_inner_texts() == [world.summary]
    assert "1 in all" in page.locator(".pager").inner_text()
    # The orders table (public): its properties and columns, comments as text.
    page.goto(f"/console/p/{world.project}/catalog/tables/{world.guids[world.orders]}")
    assert page.locator("h1.table-name").inner_text().startswith(world.orders)
    assert page.locator("dd.table-description").inner_text() == XSS_SCRIPT
    cols = [r.locator("td").all_inner_texts() for r in page.locator("table.catalog-columns tbody tr").all()]
    assert [c[1] for c in cols] == ["id", "customer", "amount"]
    assert cols[1][2] == "character varying(40)" and cols[1][5] == f"who ordered {XSS_IMG}"
    assert cols[2][2] == "numeric(10,2)"
    no_xss(page)


def test_the_lineage_graph_draws_upstream_and_downstream_names_as_text(page: Any, world: World) -> None:
    sign_in(page)
    page.goto(f"/console/p/{world.project}/catalog/tables/{world.guids[world.summary]}")
    page.get_by_role("link", name="Lineage").first.click()
    page.wait_for_selector("svg.lineage[data-laid-out]")  # dagre laid it out in the browser
    labels = page.locator("svg.lineage g.node text.label").all_text_contents()
    assert any(label.endswith(world.summary) for label in labels)  # the table itself
    up = page.locator("svg.lineage g.node.lin-up text.label").all_text_contents()
    down = page.locator("svg.lineage g.node.lin-down text.label").all_text_contents()
    assert [u.rsplit(".", 1)[-1] for u in up] == [world.orders]
    assert down == [world.dashboard]  # a THIRD resource named with a payload: text
    assert page.locator("svg.lineage path.edge[d]").count() == 2  # both edges drawn
    edges = page.locator("table.lineage-edges").inner_text()
    assert "SQL_SCRIPT" in edges and "THIRD_REPORT" in edges
    no_xss(page)
    # Depth 1 from the orders table: the summary, not the dashboard behind it; depth 2 adds it.
    page.goto(f"/console/p/{world.project}/lineage?table={world.guids[world.orders]}&depth=1")
    page.wait_for_selector("svg.lineage[data-laid-out]")
    near = page.locator("svg.lineage g.node.lin-down text.label").all_text_contents()
    assert any(n.endswith(world.summary) for n in near) and world.dashboard not in near  # (and the report, once run)
    page.get_by_label("Depth (hops)").select_option("2")
    page.wait_for_url("**depth=2*")
    page.wait_for_selector("svg.lineage[data-laid-out]")
    assert world.dashboard in page.locator("svg.lineage g.node.lin-down text.label").all_text_contents()
    # A click on a table's node opens that table's lineage.
    page.locator("svg.lineage g.node.lin-down[data-href]", has_text=world.summary).click()
    page.wait_for_url(f"**table={world.guids[world.summary]}")


def test_a_sql_tasks_lineage_shows_the_tables_it_read_and_wrote(page: Any, api: Api, world: World) -> None:
    def pairs() -> list[Any]:
        try:
            return list(api.data("ListProcessLineage", {"ProcessId": world.sql_task, "ProcessType": "SCHEDULE_TASK",
                                                        "PageNumber": 1, "PageSize": 10, "Platform": "WEDATA"})["Items"])
        except TencentCloudSDKException:  # ResourceNotFound until the task ran and its SQL was parsed
            return []

    wait_until(pairs, bool, what="the SQL task's lineage", patience=60)
    sign_in(page)
    page.goto(f"/console/p/{world.project}/lineage?table={world.guids[world.report]}")
    page.wait_for_selector("svg.lineage[data-laid-out]")
    page.locator("table.lineage-edges").get_by_role("link", name=f"task load report ({world.sql_task})").click()
    page.wait_for_url(f"**task={world.sql_task}")
    assert page.locator("h1").inner_text().startswith("load report")
    page.wait_for_selector("svg.lineage[data-laid-out]")
    labels = {n.get_attribute("class").split()[-1]: n.locator("text.label").text_content()
              for n in page.locator("svg.lineage g.node").all()}
    assert labels["lin-up"].endswith(world.orders) and labels["lin-down"].endswith(world.report)


def test_quality_pages_show_the_groups_rules_and_each_runs_verdicts(page: Any, world: World) -> None:
    sign_in(page)
    page.goto(f"/console/p/{world.project}/quality")
    row = page.locator(f"table.quality-groups tr[data-group-id='{world.group}']")
    assert world.group_name in row.inner_text() and world.orders in row.inner_text()
    assert "after production tasks" in row.inner_text() and "checked" in row.inner_text()
    latest = page.locator("table.quality-execs tr.quality-exec").first
    assert latest.get_attribute("data-status") == "4" and "abnormal" in latest.inner_text()
    no_xss(page)
    row.get_by_role("link").click()
    assert page.locator("h1.group-name").inner_text() == world.group_name
    rules = page.locator("table.quality-rules").inner_text()
    assert world.rules["pass"] in rules and world.rules["triggered"] in rules
    assert "triggers when value > 0" in rules and "triggers when value < 1" in rules
    verdicts = {r.locator("td").nth(1).inner_text().split("\n")[0]: (r.get_attribute("data-verdict"),
                                                                       r.locator(".rule-value").inner_text())
                for r in page.locator("table.quality-execs tr.quality-rule-result").all()}
    assert verdicts[world.rules["pass"]] == ("1", "3")  # 3 rows: passes
    assert verdicts[world.rules["triggered"]] == ("2", "1")  # 1 customer missing: triggered
    assert "after a task run" in page.locator("tr.quality-exec").first.inner_text()
    no_xss(page)
    page.locator("tr.quality-exec a.checked-instance").first.click()  # the task run that was checked
    page.wait_for_url("**/instance?key=*")
    assert page.locator("main h1").inner_text().startswith("checked")
    # Not page.wait_for_function: a string predicate polled after the first check is eval'd in the
    # page, which the console's CSP (script-src 'self') refuses; expect() polls from Playwright.
    expect(page.locator("#log")).to_contain_text("loaded", timeout=30_000)


def test_trigger_workflow_pages_show_the_runs_and_each_task_runs_state(page: Any, triggers: Triggers) -> None:
    t = triggers
    sign_in(page)
    page.goto(f"/console/p/{t.project}/trigger-workflows")
    row = page.locator(f"table.trigger-workflows tr[data-workflow-id='{t.workflow}']")
    assert t.workflow_name in row.inner_text() and XSS_SCRIPT in row.inner_text()
    assert page.locator(f"table.trigger-runs tr[data-execution-id='{t.execution}']").get_attribute("data-state") == "FAILED"
    no_xss(page)
    row.get_by_role("link").click()
    assert page.locator("h1.workflow-name").inner_text() == t.workflow_name
    page.get_by_label("State").select_option("SUCCESS")
    page.wait_for_url("**state=SUCCESS*")
    assert page.locator("table.trigger-runs tbody tr td.empty").count() == 1  # no successful run
    page.get_by_label("State").select_option("FAILED")
    page.wait_for_url("**state=FAILED*")
    page.locator(f"tr[data-execution-id='{t.execution}'] a").first.click()
    page.wait_for_selector("#trigger-run[data-state='FAILED']")
    states = {r.get_attribute("data-task-id"): r.get_attribute("data-state")
              for r in page.locator("table.trigger-task-runs tbody tr").all()}
    assert states == {t.tasks["extract"]: "SUCCESS", t.tasks["load"]: "FAILED", t.tasks["report"]: "FAILED"}
    report = page.locator(f"tr[data-task-id='{t.tasks['report']}']").inner_text()
    assert "load" in report and "upstream failed" in report
    assert f"extract {XSS_IMG}" in page.locator(f"tr[data-task-id='{t.tasks['extract']}']").inner_text()
    no_xss(page)
    # A task run is an engine instance: its page shows its log.
    page.locator(f"tr[data-task-id='{t.tasks['load']}']").get_by_role("link", name="Instance and log").click()
    page.wait_for_url("**/instance?key=*")
    expect(page.locator("#log")).to_contain_text("loading-now", timeout=30_000)


def test_an_open_run_page_follows_the_run_until_it_ends(page: Any, api: Api, triggers: Triggers) -> None:
    t = triggers
    workflow = api.data("CreateTriggerWorkflow", {"ProjectId": t.project, "WorkflowName": unique("slow"),
                                                  "ParentFolderPath": "/"})["WorkflowId"]
    task = api.data("CreateTriggerTask", {
        "ProjectId": t.project, "TriggerTaskBaseAttribute": {"TaskName": "slow", "TaskTypeId": "35", "WorkflowId": workflow},
        "TriggerTaskConfiguration": {"CodeContent": b64("sleep 10; echo done")},
        "TriggerTaskSchedulerConfiguration": {"MaxRetryNumber": 0}})["TaskId"]
    api.data("SubmitTriggerTask", {"ProjectId": t.project, "TaskId": task, "VersionRemark": "go"})
    sign_in(page)
    execution = api.data("CreateTriggerWorkflowRun", {"ProjectId": t.project, "WorkflowId": workflow})["WorkflowExecutionId"]
    page.goto(f"/console/p/{t.project}/trigger-runs/{execution}")
    first = page.locator("#trigger-run").get_attribute("data-state")
    assert first in ("QUEUED", "PENDING", "RUNNING"), first
    page.wait_for_selector("#trigger-run[data-state='SUCCESS']", timeout=60_000)  # reloaded by htmx, no navigation
    assert page.locator(f"tr[data-task-id='{task}']").get_attribute("data-state") == "SUCCESS"
    assert page.url.endswith(f"/trigger-runs/{execution}")
    assert page.locator("#trigger-run[hx-trigger]").count() == 0  # a finished run stops reloading


def test_a_non_member_is_refused_on_every_page(browser: Any, server: ServerProcess, world: World,
                                                triggers: Triggers) -> None:
    stranger = server.new_user()
    ctx = browser.new_context(base_url=f"http://{server.endpoint}")
    try:
        page = ctx.new_page()
        sign_in(page, stranger.secret_id, stranger.secret_key)
        paths = [f"/p/{world.project}/catalog", f"/p/{world.project}/catalog/databases?source={world.source}",
                 f"/p/{world.project}/catalog/tables?source={world.source}&database={world.database}&schema=sales",
                 f"/p/{world.project}/catalog/tables/{world.guids[world.orders]}",
                 f"/p/{world.project}/lineage?table={world.guids[world.summary]}", f"/p/{world.project}/quality",
                 f"/p/{world.project}/quality/groups/{world.group}", f"/p/{triggers.project}/trigger-workflows",
                 f"/p/{triggers.project}/trigger-workflows/{triggers.workflow}",
                 f"/p/{triggers.project}/trigger-runs/{triggers.execution}"]
        for path in paths:
            answer = page.goto("/console" + path)
            assert answer is not None and answer.status == 403, path
            assert "UnauthorizedOperation" in page.locator(".error").inner_text(), path
            assert world.orders not in page.content() and triggers.workflow_name not in page.content()
    finally:
        ctx.close()


def test_pages_of_the_other_schedule_mode_show_the_actions_error(page: Any, world: World) -> None:
    """A task-scheduling project has no trigger workflows: UnsupportedOperation, on the page."""
    sign_in(page)
    answer = page.goto(f"/console/p/{world.project}/trigger-workflows")
    assert answer is not None and answer.status == 200
    assert page.locator("main .error").inner_text().startswith("UnsupportedOperation")
