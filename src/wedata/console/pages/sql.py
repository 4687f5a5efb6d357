"""Data sources and the SQL console.

- ``/p/{project}/datasources``: ListDataSources (every page, up to ``MAX_SOURCES``): each
  source's name, type, category and who made it; never its connection properties.
- ``/p/{project}/sql``: a data source (ListDataSources) and SQL; **Run** calls RunSQLScript ad
  hoc (the SQL sent as Base64, so no text is mistaken for it) and goes to the run.
- ``/p/{project}/sql/runs/{job}``: GetSQLRunResult: the run's status and message, and each
  statement's result as a table of text (every value escaped, NULL shown as such), reloaded
  every half second (htmx) until the run has ended.

A refused run shows the form again as typed with the action's code and message (next to the
SQL or the source when it names ``ScriptContent`` or ``DatasourceId``); nothing runs.
"""

from __future__ import annotations

import base64

from starlette.responses import Response

from wedata.console.client import ActionFailed
from wedata.console.frame import Pages, View
from wedata.console.reads import all_items

pages = Pages()

MAX_SOURCES = 500
ENDED = ("SUCCESS", "FAILED", "CANCELED", "TERMINATED")


def _sources(v: View, project_id: str) -> list[object]:
    items, _ = all_items(v.actions, "ListDataSources", page_size=100, max_items=MAX_SOURCES, ProjectId=project_id)
    return items


@pages.get("/p/{project_id}/datasources")
def datasources(v: View) -> Response:
    project_id = v.param("project_id")
    project = v.actions.data("GetProject", ProjectId=project_id)
    return v.render("datasources.html", project=project, sources=_sources(v, project_id))


def _form(v: View, project_id: str, values: dict[str, str], error: ActionFailed | None = None,
          status: int = 200) -> Response:
    project = v.actions.data("GetProject", ProjectId=project_id)
    field = None
    if error is not None:
        field = "ScriptContent" if "ScriptContent" in error.message else \
            "DatasourceId" if "Datasource" in error.message else None
    return v.render("sql.html", status=status, project=project, sources=_sources(v, project_id), values=values,
                    error=error, error_field=field)


@pages.get("/p/{project_id}/sql")
def sql_form(v: View) -> Response:
    return _form(v, v.param("project_id"), {"DatasourceId": v.arg("source"), "ScriptContent": ""})


@pages.post("/p/{project_id}/sql")
def run_sql(v: View) -> Response:
    project_id = v.param("project_id")
    values = {"DatasourceId": v.form.get("DatasourceId", "").strip(), "ScriptContent": v.form.get("ScriptContent", "")}
    content = values["ScriptContent"].replace("\r\n", "\n")
    try:
        job = v.actions.data("RunSQLScript", ProjectId=project_id,
                             ScriptContent=base64.b64encode(content.encode("utf-8")).decode("ascii") if content else None,
                             ScriptConfig={"DatasourceId": values["DatasourceId"] or None})
    except ActionFailed as err:
        return _form(v, project_id, values, err, status=403 if err.forbidden else 400)
    return v.redirect(f"/p/{project_id}/sql/runs/{job.job_id}")


@pages.get("/p/{project_id}/sql/runs/{job_id}")
def sql_run(v: View) -> Response:
    project_id, job_id = v.param("project_id"), v.param("job_id")
    result = v.actions.data("GetSQLRunResult", ProjectId=project_id, JobId=job_id)
    ended = str(result.status) in ENDED
    if v.htmx:
        return v.render("_sql_result.html", project_id=project_id, job_id=job_id, result=result, ended=ended)
    project = v.actions.data("GetProject", ProjectId=project_id)
    return v.render("sql_run.html", project=project, project_id=project_id, job_id=job_id, result=result, ended=ended)
