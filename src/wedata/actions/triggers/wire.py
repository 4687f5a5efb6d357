"""Trigger workflows, trigger tasks and runs on the wire: every step from a triggers-domain
record to a response Struct.

Trigger tasks are tasks (services/triggers/tasks.py): their record is the wire-shaped ``Task``
dict of services/tasks/snapshot.py, and the trigger Structs hold a subset of its sections'
fields under the same names, so :func:`_pick` keeps exactly the fields a trigger Struct has (a
dependency item is just ``{TaskId}``). Times of the trigger domain are epoch-millisecond strings
(spec §3.21); a run's durations are milliseconds as strings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Row

from wedata.scheduling.datatimes import instance_key
from wedata.services.common import Page, Paged
from wedata.services.tasks.lineage import DependencyView
from wedata.services.tasks.snapshot import base_attribute, version_no
from wedata.services.tasks.types import task_type_desc
from wedata.services.tasks.versions import VersionDetail, VersionItem
from wedata.services.triggers.ops import Dag
from wedata.services.triggers.progress import TASK_RUN_STATE
from wedata.services.triggers.workflows import TriggerWorkflow
from wedata.services.workflows.workflows import workflow_path
from wedata.spec import models as M

S = TypeVar("S")
_SECTIONS = (
    ("TriggerTaskBaseAttribute", "TaskBaseAttribute", M.TriggerTaskBaseAttribute),
    ("TriggerTaskConfiguration", "TaskConfiguration", M.TriggerTaskConfiguration),
    ("TriggerTaskSchedulerConfiguration", "TaskSchedulerConfiguration", M.TriggerTaskSchedulerConfiguration),
)


def _names(struct: type) -> list[str]:
    return [f.encode_name for f in msgspec.structs.fields(struct)]


def _pick(section: dict[str, Any], struct: type[S]) -> S:
    return msgspec.convert({n: section.get(n) for n in _names(struct)}, struct)


def ms(dt: datetime | None) -> str | None:
    """Epoch milliseconds (a string) of a naive UTC time."""
    return None if dt is None else str(int(dt.replace(tzinfo=UTC).timestamp() * 1000))


# ----------------------------------------------------------------------------------------------
# Trigger workflows.


def workflow_detail(w: TriggerWorkflow) -> M.TriggerWorkflowDetail:
    r = w.row
    return M.TriggerWorkflowDetail(
        workflow_name=r.name,
        owner_uin=r.owner_uin,
        create_user_uin=r.create_user_uin,
        workflow_params=[M.ParamInfo(param_key=p["ParamKey"], param_value=p["ParamValue"]) for p in r.params or []],
        trigger_workflow_scheduler_configurations=msgspec.convert(w.triggers, list[M.WorkflowTriggerConfig]),
        workflow_desc=r.description,
        path=workflow_path(r),
        bundle_id=r.bundle_id,
        bundle_info=r.bundle_info,
        general_task_params=msgspec.convert(w.general_task_params, list[M.WorkflowGeneralTaskParam]),
        scheduler_status=w.scheduler_status,
        trigger_workflow_run_configuration=msgspec.convert(w.run_config, M.WorkflowRunConfig) if w.run_config else None,
        trigger_mode=w.trigger_mode,
        execute_user_uin=w.execute_user_uin,
    )


def workflow_page(paged: Paged[TriggerWorkflow]) -> M.ListTriggerWorkflowInfo:
    return M.ListTriggerWorkflowInfo(
        items=[
            M.TriggerWorkflowInfo(
                workflow_id=w.row.id, workflow_name=w.row.name, owner_uin=w.row.owner_uin,
                create_time=ms(w.row.created_at), modify_time=ms(w.row.updated_at),
                update_user_uin=w.row.update_user_uin, workflow_desc=w.row.description,
                create_user_uin=w.row.create_user_uin, execute_user_uin=w.execute_user_uin,
            )
            for w in paged.items
        ],
        total_page_number=paged.total_pages,
        page_number=paged.page.number,
        page_size=paged.page.size,
        total_count=paged.total,
    )


# ----------------------------------------------------------------------------------------------
# Trigger tasks (the wire-shaped task record, cut to the trigger Structs).


def trigger_task(record: dict[str, Any]) -> M.TriggerTask:
    sections: dict[str, Any] = {}
    for trigger_name, task_name, struct in _SECTIONS:
        section = dict(record.get(task_name) or {})
        if "UpstreamDependencyConfigList" in section:
            section["UpstreamDependencyConfigList"] = [
                {"TaskId": d["TaskId"]} for d in section["UpstreamDependencyConfigList"] or []]
        sections[trigger_name] = _pick(section, struct)
    return M.TriggerTask(
        trigger_task_base_attribute=sections["TriggerTaskBaseAttribute"],
        trigger_task_configuration=sections["TriggerTaskConfiguration"],
        trigger_task_scheduler_configuration=sections["TriggerTaskSchedulerConfiguration"],
    )


def trigger_task_page(rows: list[Row[Any]], total: int, pg: Page) -> M.ListTriggerTaskInfo:
    return M.ListTriggerTaskInfo(
        items=[_pick(base_attribute(r), M.TriggerTaskBaseAttribute) for r in rows],
        page_number=pg.number, page_size=pg.size, total_count=total, total_page_number=pg.total_pages(total),
    )


def version_page(items: list[VersionItem], total: int, pg: Page) -> M.ListTriggerTaskVersions:
    return M.ListTriggerTaskVersions(
        items=[
            M.TriggerTaskVersion(
                create_time=ms(v.created_at), version_num=version_no(v.version_no), create_user_uin=v.create_user_uin,
                version_id=v.version_id, version_remark=v.remark, approve_status=v.approve_status, status=v.status,
                approve_user_uin=v.approve_user_uin, used_version=v.used,
            )
            for v in items
        ],
        total_count=total, total_page_number=pg.total_pages(total), page_count=len(items), page_size=pg.size,
        page_number=pg.number,
    )


def version_detail(v: VersionDetail) -> M.TriggerTaskVersionDetail:
    return M.TriggerTaskVersionDetail(
        create_time=ms(v.created_at), version_num=version_no(v.version_no), create_user_uin=v.create_user_uin,
        version_id=v.version_id, version_remark=v.remark, approve_status=v.approve_status,
        approve_time=ms(v.approved_at), approve_user_uin=v.approve_user_uin, task=trigger_task(v.task),
    )


def dependency_page(views: list[DependencyView], total: int, pg: Page) -> M.TriggerDependencyConfigPage:
    return M.TriggerDependencyConfigPage(
        total_count=total, total_page_number=pg.total_pages(total), page_number=pg.number, page_size=pg.size,
        items=[
            M.TriggerTaskDependDto(
                task_id=v.task_id, task_name=v.task_name, workflow_id=v.workflow_id, workflow_name=v.workflow_name,
                project_id=v.project_id, status=v.status, task_type_id=v.task_type_id, task_type_desc=v.task_type_desc,
                owner_uin=v.owner_uin,
            )
            for v in views
        ],
    )


# ----------------------------------------------------------------------------------------------
# Runs.


def _params_text(params: Any) -> str | None:
    return None if params is None else msgspec.json.encode(params).decode()


def _span(start: datetime | None, end: datetime | None) -> str | None:
    """Milliseconds from ``start`` to ``end`` as a string (None while either is unknown)."""
    return None if start is None or end is None else str(int((end - start).total_seconds() * 1000))


def run_brief(r: Row[Any]) -> M.TriggerWorkflowRunBrief:
    end = r.ended_at
    queued = r.queued_at or r.created_at
    return M.TriggerWorkflowRunBrief(
        project_id=r.project_id, workflow_name=r.workflow_name, workflow_id=r.workflow_id,
        execution_id=r.execution_id, trigger_type=r.trigger_type, create_time=ms(r.created_at),
        schedule_time=ms(r.created_at), execution_start_time=ms(r.started_at), execution_end_time=ms(end),
        execution_cost_time=None if r.cost_ms is None else str(r.cost_ms),
        queue_cost_time=_span(queued, r.admitted_at), pending_cost_time=_span(r.admitted_at or queued, r.started_at),
        execution_state=r.state, execute_user_uin=r.execute_user_uin, error_code_str=r.error_msg,
        workflow_params=_params_text(r.params), support_rerun=r.state in ("SUCCESS", "FAILED", "SKIP"),
        rerun_times=r.rerun_times or 0, selected_task_ids=r.selected_task_ids,
        pending_start_time=ms(r.admitted_at), queue_start_time=ms(queued),
        end_time=ms(end), planned_scheduling_time=ms(r.created_at),
        user_uin_in_charge=getattr(r, "owner_uin", None), associated_entity_exist=True,
        # A run started by a Run Workflow node (services/triggers/nodes.py) names it.
        parent_workflow_execution_id=getattr(r, "parent_workflow_execution_id", None),
        parent_task_execution_id=getattr(r, "parent_task_execution_id", None),
        parent_task_execution_name=getattr(r, "parent_task_execution_name", None),
    )


def run_page(paged: Paged[Row[Any]]) -> M.TriggerWorkflowRunResult:
    return M.TriggerWorkflowRunResult(
        total_count=paged.total, total_page_number=paged.total_pages, page_number=paged.page.number,
        page_size=paged.page.size, items=[run_brief(r) for r in paged.items],
    )


def _task_state(t: Row[Any]) -> str:
    return TASK_RUN_STATE.get(t.state, t.state)


def task_run(t: Row[Any], depends_on: list[str] | None = None) -> M.TriggerTaskRunBrief:
    cost = None if t.cost_ms is None else str(t.cost_ms)
    return M.TriggerTaskRunBrief(
        execution_id=t.execution_id, execution_state=_task_state(t), project_id=t.project_id,
        workflow_id=t.workflow_id, workflow_execution_id=t.workflow_execution_id, task_id=t.task_id,
        task_type=task_type_desc(t.task_type_id), task_version_id=t.version_id, trigger_type=t.trigger_type,
        resource_group=t.resource_group_id, error_code_str=t.error_msg or None, execute_user_uin=t.execute_user_uin,
        creater_uin=t.execute_user_uin, create_uin=t.execute_user_uin,
        # The engine instance that runs it: GetTaskInstanceLog / GetTaskInstance take this key.
        job_id=instance_key(t.task_id, t.data_time),
        create_time=ms(t.created_at), schedule_time=ms(t.scheduled_at), update_time=ms(t.updated_at),
        queue_start_time=ms(t.wait_since), pending_start_time=ms(t.created_at),
        execution_start_time=ms(t.started_at), execution_end_time=ms(t.ended_at), execution_time=cost,
        time_zone="Asia/Shanghai", timezone="Asia/Shanghai", depend_on_list=depends_on,
        run_params=_params_text(t.run_params), retry_times=max(0, (t.tries or 0) - 1),
        task_name=t.task_name, workflow_name=t.workflow_name, rerun_times=t.life_round_num,
        is_latest_execution=True, task_execution_state=_task_state(t), user_uin_in_charge=t.task_owner,
        task_type_id=t.task_type_id, workflow_params=_params_text(t.run_params),
        support_rerun=t.run_state in ("SUCCESS", "FAILED", "SKIP"),
        workflow_execution_state=t.run_state, execution_result=t.error_msg or None,
        dependency_trigger_policy=t.trigger_policy, associated_entity_exist=t.task_name is not None,
    )


def task_run_page(paged: Paged[Row[Any]]) -> M.ListTriggerTaskRunResult:
    return M.ListTriggerTaskRunResult(
        total_count=paged.total, total_page_number=paged.total_pages, page_number=paged.page.number,
        page_size=paged.page.size,
        items=[
            M.ListTriggerTaskRunBrief(
                execution_id=t.execution_id, workflow_id=t.workflow_id, workflow_execution_id=t.workflow_execution_id,
                task_id=t.task_id, trigger_type=t.trigger_type, execute_user_uin=t.execute_user_uin,
                schedule_time=ms(t.scheduled_at), execution_start_time=ms(t.started_at),
                execution_end_time=ms(t.ended_at), execution_time=None if t.cost_ms is None else str(t.cost_ms),
                retry_times=max(0, (t.tries or 0) - 1), error_code_str=t.error_msg or None, task_name=t.task_name,
                workflow_name=t.workflow_name, rerun_times=t.life_round_num, task_execution_state=_task_state(t),
                is_latest_execution=True,
            )
            for t in paged.items
        ],
    )


def run_detail(run: Row[Any], tasks: list[Row[Any]], depends: dict[str, list[str]]) -> M.TriggerWorkflowTaskRunDetailBrief:
    counts: dict[str, int] = {}
    for t in tasks:
        counts[_task_state(t)] = counts.get(_task_state(t), 0) + 1
    return M.TriggerWorkflowTaskRunDetailBrief(
        trigger_workflow_run=run_brief(run),
        trigger_task_runs=[task_run(t, depends.get(t.execution_id)) for t in tasks],
        biz_state_enum_infos=[M.BizStateEnumInfoBrief(label_key=k, label_value=k, count=n)
                              for k, n in sorted(counts.items())],
    )


# ----------------------------------------------------------------------------------------------
# Production (Ops) views.


def dag(d: Dag) -> M.TriggerTaskDAGBrief:
    tasks = []
    for x in d.tasks:
        r, run = x.row, x.run
        tasks.append(M.TriggerTaskBrief(
            project_id=r.project_id, project_name=r.project_name, workflow_id=r.workflow_id,
            workflow_name=r.workflow_name, task_id=r.id, task_name=r.name, task_type=task_type_desc(r.task_type_id),
            user_uin_in_charge=r.owner_uin, user_name_in_charge=r.owner_uin, folder_id=r.folder_id,
            folder_name=r.folder_name, task_type_id=r.task_type_id,
            execution_state=None if run is None else TASK_RUN_STATE.get(run.state, run.state),
            execution_start_time=None if run is None else ms(run.started_at),
            dependency_trigger_policy=x.policy, execute_user_uin=None, cycle_type=None,
        ))
    return M.TriggerTaskDAGBrief(trigger_tasks=tasks, trigger_task_links=[
        M.TriggerTaskLinkBrief(link_id=f"{up}_{down}", workflow_id=d.workflow_id, workflow_version_id=None,
                               upstream_task_id=up, downstream_task_id=down)
        for up, down in d.links
    ])


def ops_workflow_page(paged: Paged[Row[Any]]) -> M.TriggerWorkflowResult:
    items = []
    for r in paged.items:
        triggers = r.triggers or []
        items.append(M.TriggerWorkflowBrief(
            project_id=r.project_id, workflow_id=r.id, workflow_name=r.name, task_count=int(r.task_count),
            folder_id=r.folder_id, folder_name=r.folder_name,
            workflow_trigger_config=msgspec.convert(triggers[0], M.WorkflowTriggerConfig) if triggers else None,
            user_name_in_charge=r.owner_uin, user_uin_in_charge=r.owner_uin,
            workflow_params=_params_text(r.params or []), execute_user_uin=r.execute_user_uin,
        ))
    return M.TriggerWorkflowResult(total_count=paged.total, total_page_number=paged.total_pages,
                                   page_number=paged.page.number, page_size=paged.page.size, items=items)


def owners_updated(count: int) -> M.BatchOperationOpsDto:
    return M.BatchOperationOpsDto(success_count=count, failed_count=0, total_count=count, async_action_id=None)
