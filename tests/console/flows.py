"""Projects, workflows and runs for the console's browser tests, made through the official SDK
(the console then shows what the API made)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from tests.support import Api, unique
from tests.waiting import wait_until

VISITOR = "308335260945326080"  # services/projects/roles.py
DATA_ENGINEER = "308335260676890624"
# A task name cannot hold "/" (services/folders.py), so the <script> payload goes into the
# description and the log; the name carries an <img onerror> one.
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = "<img src=x onerror=window.__xss=2>"
DAILY = {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 0 * * ? *", "StartTime": "2025-01-01 00:00:00",
         "MaxRetryNumber": 0}
ONEOFF = {"CycleType": "ONEOFF_CYCLE", "StartTime": "2025-01-01 00:00:00", "MaxRetryNumber": 0}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class Flow:
    project: str
    project_name: str
    workflow: str
    workflow_name: str
    tasks: dict[str, str] = field(default_factory=dict)  # name -> task id


def new_project(api: Api, prefix: str = "cons") -> tuple[str, str]:
    name = unique(prefix)
    project = api.data("CreateProject", {"Project": {"ProjectName": name, "DisplayName": name[:32]}})["ProjectId"]
    return project, name


def new_workflow(api: Api, project: str, project_name: str) -> Flow:
    name = unique("wf")
    workflow = api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": name, "ParentFolderPath": "/"})[
        "WorkflowId"]
    return Flow(project, project_name, workflow, name)


def add_task(api: Api, flow: Flow, name: str, code: str, *, upstream: tuple[str, ...] | list[str] = (), sched: dict[str, Any] | None = None,
             submit: bool = True, description: str | None = None) -> str:
    deps = [{"TaskId": flow.tasks[u], "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"}
            for u in upstream]
    task_id: str = api.data("CreateTask", {
        "ProjectId": flow.project,
        "TaskBaseAttribute": {"TaskName": name, "TaskTypeId": "35", "WorkflowId": flow.workflow,
                              **({"TaskDescription": description} if description else {})},
        "TaskConfiguration": {"CodeContent": b64(code)},
        "TaskSchedulerConfiguration": {**(sched or DAILY), **({"UpstreamDependencyConfigList": deps} if deps else {})},
    })["TaskId"]
    flow.tasks[name] = task_id
    if submit:
        api.data("SubmitTask", {"ProjectId": flow.project, "TaskId": task_id, "VersionRemark": "console test"})
    return task_id


def instances(api: Api, project: str, task_id: str) -> list[dict[str, Any]]:
    return list(api.data("ListTaskInstances", {"ProjectId": project, "Keyword": task_id, "PageSize": 100})["Items"])


def wait_state(api: Api, project: str, task_id: str, states: set[str], timeout: float = 60) -> dict[str, Any]:
    items = wait_until(lambda: instances(api, project, task_id),
                       lambda items: any(i["InstanceState"] in states for i in items),
                       what=f"an instance of {task_id} in {sorted(states)}", patience=timeout, interval=0.2,
                       progress=lambda items: sorted((i["CurRunDate"], i["InstanceState"]) for i in items))
    return next(i for i in items if i["InstanceState"] in states)


def add_member(api: Api, project: str, uin: str, role: str) -> None:
    api.call("CreateProjectMember", {"ProjectId": project, "UserUins": [uin], "RoleIds": [role]})

