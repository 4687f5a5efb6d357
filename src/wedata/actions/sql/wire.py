"""SQL script records -> spec Structs (the one place the sql domain builds them)."""

from __future__ import annotations

from wedata.services.common import fmt_time
from wedata.services.sql.records import Run, RunResult, Statement, execution_id
from wedata.services.sql.tree import FOLDER, Node, shown_parent
from wedata.spec import models as M

SHOWN_CONTENT = 16 * 1024  # characters of a run's text a JobDto shows (ScriptContentTruncate)


def config(wire: dict[str, object] | None) -> M.SQLScriptConfig:
    wire = wire or {}
    return M.SQLScriptConfig(
        datasource_id=wire.get("DatasourceId"),  # type: ignore[arg-type]
        datasource_env=wire.get("DatasourceEnv"),  # type: ignore[arg-type]
        compute_resource=wire.get("ComputeResource"),  # type: ignore[arg-type]
        executor_group_id=wire.get("ExecutorGroupId"),  # type: ignore[arg-type]
        params=wire.get("Params"),  # type: ignore[arg-type]
        advance_config=wire.get("AdvanceConfig"),  # type: ignore[arg-type]
    )


def script(node: Node) -> M.SQLScript:
    from wedata.services.sql.content import encode

    return M.SQLScript(
        script_id=node.id,
        script_name=node.name,
        owner_uin=node.owner_uin,
        parent_folder_path=shown_parent(node.parent_path),
        script_config=config(node.config),
        script_content=encode(node.content or ""),
        update_user_uin=node.update_user_uin,
        project_id=node.project_id,
        update_time=fmt_time(node.updated_at),
        create_time=fmt_time(node.created_at),
        access_scope=node.scope,
        path=node.path,
    )


def folder_node(node: Node) -> M.SQLFolderNode:
    """A folder or script in a tree (GetSQLFolder, ListSQLFolderContents)."""
    is_folder = node.kind == FOLDER
    params = "" if is_folder else ((node.config or {}).get("Params") or "")
    return M.SQLFolderNode(
        id=node.id,
        name=node.name,
        type=node.kind,
        parent_folder_path=shown_parent(node.parent_path),
        is_leaf=not is_folder,
        params=str(params),
        access_scope=node.scope,
        path=node.path,
        create_user_uin=node.owner_uin,
        node_permission=node.permission,
        children=[folder_node(c) for c in node.children] if node.children is not None else None,
        owner_uin=node.owner_uin,
    )


def _shown(text: str) -> tuple[str, bool]:
    return (text[:SHOWN_CONTENT], True) if len(text) > SHOWN_CONTENT else (text, False)


def execution(run: Run, s: Statement) -> M.JobExecutionDto:
    row = run.row
    text, cut = _shown(s.sql)
    cost = s.cost_ms
    if cost is None and s.started_at is not None:
        cost = max(0, int(((s.ended_at or run.now) - s.started_at).total_seconds() * 1000))
    return M.JobExecutionDto(
        job_id=row.id,
        job_execution_id=execution_id(row.id, s.idx),
        job_execution_name=f"Result{s.idx}",
        script_content=text,
        status=s.status,
        create_time=fmt_time(row.created_at) or "",
        update_time=fmt_time(s.ended_at or s.started_at or row.created_at),
        end_time=fmt_time(s.ended_at),
        time_cost=cost,
        result_total_count=s.row_count if s.row_count is not None else (s.preview_count if s.columns else 0),
        result_preview_count=s.preview_count,
        result_effect_count=s.row_count if not s.columns and s.row_count is not None else 0,
        collecting_total_result=False,
        collected_preview_result=s.status in ("SUCCESS", "FAILED", "CANCELED"),
        script_content_truncate=cut,
    )


def job(run: Run) -> M.JobDto:
    row = run.row
    text, cut = _shown(row.content)
    return M.JobDto(
        job_id=row.id,
        job_name=row.job_name,
        job_type="EXECUTOR",
        script_id=row.script_id,
        job_execution_list=[execution(run, s) for s in run.statements] if run.statements is not None else None,
        script_content=text,
        status=row.status,
        create_time=fmt_time(row.created_at),
        update_time=fmt_time(row.ended_at or row.started_at or row.created_at),
        end_time=fmt_time(row.ended_at),
        owner_uin=row.owner_uin,
        user_uin=row.user_uin,
        time_cost=run.cost_ms,
        script_content_truncate=cut,
    )


def result(res: RunResult) -> M.SqlRunResult:
    run = res.run
    return M.SqlRunResult(
        job_id=run.row.id,
        status=run.row.status,
        status_message=res.message,
        cost_ms=run.cost_ms or 0,
        truncated=res.truncated,
        results=[
            M.SqlRunExecutionResult(
                job_execution_id=execution_id(run.row.id, s.idx),
                status=s.status,
                columns=[M.ResultColumnInfo(column_name=c["name"], column_type=c.get("type"))
                         for c in (s.columns or [])],
                rows=[M.SqlRunResultRow(values=list(r)) for r in (s.rows or [])],  # type: ignore[arg-type]
                total=len(s.rows or []),
                cost_ms=s.cost_ms,
                truncated=s.truncated,
            )
            for s in res.results
        ],
    )
