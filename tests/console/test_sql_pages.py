"""The console's data sources and SQL pages in a real browser against a live server: a source
made through the SDK is listed, SQL run on it (the machine's PostgreSQL) shows its rows as text,
a failed statement its database message, refused runs the action's error by the field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.actions.datasources.conftest import Db, postgres
from tests.console.conftest import sign_in
from tests.console.flows import XSS_IMG, XSS_SCRIPT, new_project
from tests.support import Api, ServerProcess, unique

pytestmark = pytest.mark.xdist_group("chromium")
__all__ = ["postgres"]


@pytest.fixture(scope="module")
def source(api: Api, postgres: Db) -> tuple[str, str, str]:  # noqa: F811 - the fixture imported above
    project, name = new_project(api, "conssql")
    source_name = unique("pg")
    source_id = api.data("CreateDataSource", {"ProjectId": project, "Name": source_name, "Type": "POSTGRE",
                                              "Description": XSS_SCRIPT, "ProdConProperties": postgres.props()})[
        "DataSourceId"]
    return project, str(source_id), source_name


def run(page: Any, sql: str) -> Any:
    page.get_by_label("SQL").fill(sql)
    page.get_by_role("button", name="Run").click()
    page.wait_for_url(re.compile(r".*/sql/runs/\w+$"))
    result = page.locator("#sql-result")
    page.wait_for_selector("#sql-result:is([data-status='SUCCESS'], [data-status='FAILED'], [data-status='CANCELED'])")
    return result


def test_sql_on_a_data_source_shows_its_rows_as_text(page: Any, source: tuple[str, str, str]) -> None:
    project, source_id, source_name = source
    sign_in(page)
    page.goto(f"/console/p/{project}/datasources")
    row = page.locator(f"table.datasources tr[data-source-id='{source_id}']")
    assert source_name in row.inner_text() and "POSTGRE" in row.inner_text()
    assert XSS_SCRIPT in row.inner_text()  # the description, as text
    assert "password" not in page.locator("main").inner_text().lower()
    row.get_by_role("link", name="Query").click()
    assert page.get_by_label("Data source").input_value() == source_id
    result = run(page, f"select '{XSS_IMG}' as \"<i>col</i>\", null as nothing, 42 as answer\n"
                       "union all select 'plain', 'x', 7 order by answer;\nselect 'second' as s")
    assert result.get_attribute("data-status") == "SUCCESS"
    tables = result.locator("table.sql-rows")
    assert tables.count() == 2
    assert tables.first.locator("thead th").all_inner_texts() == ["<i>col</i>", "nothing", "answer"]
    rows = [r.locator("td").all_inner_texts() for r in tables.first.locator("tbody tr").all()]
    assert rows == [["plain", "x", "7"], [XSS_IMG, "NULL", "42"]]
    assert tables.first.locator("td.null").count() == 1
    assert tables.nth(1).locator("tbody td").all_inner_texts() == ["second"]
    assert page.locator("main img, main i, main script").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_a_failed_statement_shows_the_database_message(page: Any, source: tuple[str, str, str]) -> None:
    project, source_id, _ = source
    sign_in(page)
    page.goto(f"/console/p/{project}/sql?source={source_id}")
    result = run(page, "select 1 as one; selec 2")
    assert result.get_attribute("data-status") == "FAILED"
    assert "statement 2 of 2 failed" in result.locator(".status-message").inner_text()
    assert result.locator("table.sql-rows tbody td").all_inner_texts() == ["1"]  # the first kept its rows


@pytest.mark.parametrize(("sql", "pick", "field", "code"), [
    ("", True, "ScriptContent", "MissingParameter"),
    ("select 1", False, "DatasourceId", "MissingParameter"),
    ("select ${nope}", True, "ScriptContent", "InvalidParameterValue"),
])  # fmt: skip
def test_a_refused_run_shows_the_action_error_and_runs_nothing(
        page: Any, api: Api, source: tuple[str, str, str], sql: str, pick: bool, field: str, code: str) -> None:
    project, source_id, _ = source
    sign_in(page)
    page.goto(f"/console/p/{project}/sql" + (f"?source={source_id}" if pick else ""))
    page.get_by_label("SQL").fill(sql)
    page.get_by_role("button", name="Run").click()
    error = page.locator(f"#error-{field}" if field else "main p.error")
    error.wait_for()
    assert error.inner_text().startswith(code), error.inner_text()
    assert "/sql/runs/" not in page.url
    assert page.get_by_label("SQL").input_value() == sql  # the form as typed


def test_another_projects_sources_and_sql_are_refused(
        browser: Any, server: ServerProcess, source: tuple[str, str, str]) -> None:
    project, _, _ = source
    stranger = server.new_user()
    ctx = browser.new_context(base_url=f"http://{server.endpoint}")
    try:
        page = ctx.new_page()
        sign_in(page, stranger.secret_id, stranger.secret_key)
        for path in ("datasources", "sql"):
            answer = page.goto(f"/console/p/{project}/{path}")
            assert answer is not None and answer.status == 403, path
            assert "UnauthorizedOperation" in page.locator(".error").inner_text()
    finally:
        ctx.close()
