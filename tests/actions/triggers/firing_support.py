"""Helpers of the trigger firing tests: trigger settings, the runs of a workflow, their data times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.actions.triggers.test_definitions import Space, new_space, submit, trigger_task
from tests.actions.triggers.test_runs import log_of
from tests.support import Api

EVERY_MINUTE = "0 * * * * ? *"


def time_trigger(cron: str = EVERY_MINUTE, **extra: Any) -> dict[str, Any]:
    return {"TriggerId": "clock", "TriggerMode": "TIME_TRIGGER", "ConfigMode": "CRON_EXPRESSION",
            "CrontabExpression": cron, "ScheduleTimeZone": "Asia/Shanghai", **extra}


def file_trigger(path: str, **extra: Any) -> dict[str, Any]:
    return {"TriggerId": "files", "TriggerMode": "FILE_ARRIVAL", "FileArrivalPath": path, **extra}


def set_triggers(api: Api, space: Space, *triggers: dict[str, Any], mode: str | None = None,
                 status: str = "ACTIVE") -> None:
    body: dict[str, Any] = {"ProjectId": space.project, "WorkflowId": space.workflow, "SchedulerStatus": status,
                            "TriggerWorkflowSchedulerConfigurations": list(triggers)}
    if mode:
        body["TriggerMode"] = mode
    assert api.data("UpdateTriggerWorkflow", body)["Status"] is True


def pause(api: Api, space: Space, status: str = "PAUSED") -> None:
    api.data("UpdateTriggerWorkflowPartially", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                                "NewSetting": {"SchedulerStatus": status}})


def workflow_with_task(api: Api, code: str = "echo fired", params: dict[str, str] | None = None) -> tuple[Space, str]:
    space = new_space(api, params)
    task = trigger_task(api, space, "t", code)
    submit(api, space.project, task)
    return space, task


def runs(api: Api, space: Space) -> list[dict[str, Any]]:
    """Every run of the workflow, oldest first."""
    items: list[dict[str, Any]] = []
    for number in range(1, 50):
        data = api.data("ListTriggerWorkflowRuns", {
            "ProjectId": space.project, "Filters": [{"Name": "WorkflowId", "Values": [space.workflow]}],
            "OrderFields": [{"Name": "CreateTime", "Direction": "ASC"}], "PageNumber": number, "PageSize": 100})
        items.extend(data["Items"])
        if len(items) >= data["TotalCount"]:
            break
    return items


def detail(api: Api, space: Space, execution: str) -> dict[str, Any]:
    return dict(api.data("GetTriggerWorkflowRun", {"ProjectId": space.project, "WorkflowExecutionId": execution}))


def data_time(api: Api, space: Space, execution: str) -> datetime:
    """The run's data time (UTC+8 wall): the tail of its task runs' InstanceKey."""
    (task_run,) = detail(api, space, execution)["TriggerTaskRuns"]
    return datetime.strptime(task_run["JobId"].split("_", 1)[1], "%Y-%m-%d %H:%M:%S")


def log_text(api: Api, space: Space, execution: str) -> str:
    (task_run,) = detail(api, space, execution)["TriggerTaskRuns"]
    return log_of(api, space, task_run)
