"""Instance records -> WeData Structs: the one place this domain builds its answers.

Times are stored in UTC and shown in the request's ``TimeZone`` (default UTC+8, already checked
by the service: ``check_zone``); ``CurRunDate`` and ``InstanceKey`` stay in the task's own zone,
as WeData shows them (spec §6.5). A RUNNING instance has no ``EndTime``. Log text is joined with
``<br>`` as in WeData's example.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wedata.scheduler.api import states
from wedata.scheduling.datatimes import format_wall, instance_key
from wedata.services.common import Paged, fmt_time
from wedata.services.instances.records import Executions, LogPage, Phase
from wedata.services.tasks.types import TASK_TYPE_NAMES
from wedata.spec import models as M


def _common(row: Mapping[Any, Any], zone: str | None) -> dict[str, Any]:
    started, ended = row["started_at"], row["ended_at"]
    return {
        "project_id": row["project_id"],
        "instance_key": instance_key(row["task_id"], row["data_time"]),
        "folder_id": row["folder_id"],
        "folder_name": row["folder_name"],
        "workflow_id": row["workflow_id"],
        "workflow_name": row["workflow_name"],
        "task_id": row["task_id"],
        "task_name": row["task_name"],
        "cur_run_date": format_wall(row["data_time"]),
        "instance_state": row["state"],
        "instance_type": row["instance_type"],
        "owner_uin_list": [row["owner_uin"]] if row["owner_uin"] else [],
        "total_run_num": row["total_run_num"],
        "task_type": TASK_TYPE_NAMES.get(row["task_type_id"]),
        "task_type_id": row["task_type_id"],
        "cycle_type": row["cycle_type"],
        "try_limit": row["try_limit"],
        "tries": row["tries"],
        "start_time": fmt_time(started, zone),
        "end_time": fmt_time(ended, zone) if row["state"] != states.RUNNING else None,
        "cost_time": row["cost_ms"],
        "scheduler_time": fmt_time(row["scheduled_at"], zone),
        "last_update_time": fmt_time(row["updated_at"], zone),
        "executor_group_id": row["resource_group_id"],
        "executor_group_name": row["group_name"],
    }


def instance_item(row: Mapping[Any, Any], zone: str | None) -> M.TaskInstance:
    """An instance as ListTaskInstances and the instance lineage lists show it."""
    return M.TaskInstance(**_common(row, zone))


def instance_detail(row: Mapping[Any, Any], zone: str | None) -> M.TaskInstanceDetail:
    return M.TaskInstanceDetail(**_common(row, zone), job_error_msg=row["error_msg"] or "")


def instance_page(pg: Paged[Any], zone: str | None) -> M.TaskInstancePage:
    return M.TaskInstancePage(
        total_count=pg.total,
        total_page_number=pg.page.total_pages(pg.total),
        page_number=pg.page.number,
        page_size=pg.page.size,
        items=[instance_item(r, zone) for r in pg.items],
    )


def instance_log(log: LogPage) -> M.InstanceLog:
    inst = log.instance
    return M.InstanceLog(
        instance_key=instance_key(inst["task_id"], inst["data_time"]),
        project_id=inst["project_id"],
        code_content="<br>".join(log.code.splitlines()) if log.code is not None else None,
        log_info="<br>".join(log.lines),
        next_cursor=None if log.next_cursor is None else str(log.next_cursor),
    )


def _phase(p: Phase, zone: str | None) -> M.InstanceExecutionPhase:
    return M.InstanceExecutionPhase(start_time=fmt_time(p.start, zone), detail_state=p.detail_state,
                                    end_time=fmt_time(p.end, zone))


def executions(ex: Executions, zone: str | None) -> M.TaskInstanceExecutions:
    key = instance_key(ex.instance["task_id"], ex.instance["data_time"])
    return M.TaskInstanceExecutions(
        total_count=ex.total,
        total_page_number=ex.page.total_pages(ex.total),
        items=[
            M.InstanceExecution(
                instance_key=key, life_round_num=e.life_round_num, instance_state=e.state,
                run_type=e.run_type, tries=e.tries, execution_phase_list=[_phase(p, zone) for p in e.phases],
                cost_time=e.cost_ms,
            )
            for e in ex.items
        ],
        page_number=ex.page.number,
        page_size=ex.page.size,
    )
