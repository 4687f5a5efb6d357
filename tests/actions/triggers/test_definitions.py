"""Trigger workflows and trigger tasks through the official SDK: CRUD, versions, submit, edges
inside one workflow, cycles refused, and the ScheduleMode rule both ways. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from tests.actions.standing import refuses_as_before_the_read
from tests.support import Api, ServerProcess, unique


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class Space:
    project: str
    workflow: str


def workflow_project(api: Api) -> str:
    return api.data("CreateProject", {"Project": {"ProjectName": unique("trg"), "DisplayName": "trg",
                                                  "ScheduleMode": "workflow"}})["ProjectId"]


def new_space(api: Api, params: dict[str, str] | None = None) -> Space:
    project = workflow_project(api)
    workflow = api.data("CreateTriggerWorkflow", {
        "ProjectId": project, "WorkflowName": unique("twf"), "ParentFolderPath": "/",
        "WorkflowParams": [{"ParamKey": k, "ParamValue": v} for k, v in (params or {}).items()],
    })["WorkflowId"]
    return Space(project, workflow)


def trigger_task(api: Api, space: Space, name: str, code: str, *, type_id: str = "35",
                 upstream: list[str] | None = None, retries: int = 0) -> str:
    return api.data("CreateTriggerTask", {
        "ProjectId": space.project,
        "TriggerTaskBaseAttribute": {"TaskName": unique(name), "TaskTypeId": type_id, "WorkflowId": space.workflow},
        "TriggerTaskConfiguration": {"CodeContent": b64(code)},
        "TriggerTaskSchedulerConfiguration": {"MaxRetryNumber": retries, "RetryWaitMinute": 1,
                                              "UpstreamDependencyConfigList": [{"TaskId": u} for u in upstream or []]},
    })["TaskId"]


def submit(api: Api, project: str, task: str) -> str:
    data = api.data("SubmitTriggerTask", {"ProjectId": project, "TaskId": task, "VersionRemark": "go"})
    assert data["Status"] is True
    return str(data["VersionId"])


def test_trigger_workflow_crud(api: Api) -> None:
    project = workflow_project(api)
    name = unique("twf")
    wid = api.data("CreateTriggerWorkflow", {
        "ProjectId": project, "WorkflowName": name, "ParentFolderPath": "/", "WorkflowDesc": "d",
        "WorkflowParams": [{"ParamKey": "region", "ParamValue": "gz"}],
        "TriggerWorkflowRunConfiguration": {"MaxConcurrentNum": 3, "QueuingMode": 1},
        "TriggerWorkflowSchedulerConfigurations": [{"TriggerMode": "TIME_TRIGGER", "ConfigMode": "CRON_EXPRESSION",
                                                    "CrontabExpression": "0 0 1 * * ? *", "TriggerId": "t1"}],
        "SchedulerStatus": "PAUSED", "TriggerMode": "TIME_TRIGGER",
    })["WorkflowId"]
    got = api.data("GetTriggerWorkflow", {"ProjectId": project, "WorkflowId": wid})
    assert got["WorkflowName"] == name and got["Path"] == f"/{name}" and got["WorkflowDesc"] == "d"
    assert got["WorkflowParams"] == [{"ParamKey": "region", "ParamValue": "gz"}]
    assert got["TriggerWorkflowRunConfiguration"] == {"MaxConcurrentNum": 3, "QueuingMode": 1}
    assert got["SchedulerStatus"] == "PAUSED" and got["TriggerMode"] == "TIME_TRIGGER"
    assert [t["TriggerId"] for t in got["TriggerWorkflowSchedulerConfigurations"]] == ["t1"]

    listed = api.data("ListTriggerWorkflows", {"ProjectId": project, "Keyword": name})
    assert listed["TotalCount"] == 1 and listed["Items"][0]["WorkflowId"] == wid
    assert listed["Items"][0]["CreateTime"].isdigit()  # epoch milliseconds

    assert api.data("UpdateTriggerWorkflow", {"ProjectId": project, "WorkflowId": wid, "WorkflowDesc": "d2",
                                              "SchedulerStatus": "ACTIVE"})["Status"] is True
    got = api.data("GetTriggerWorkflow", {"ProjectId": project, "WorkflowId": wid})
    assert got["WorkflowDesc"] == "d2" and got["SchedulerStatus"] == "ACTIVE" and got["WorkflowParams"]
    api.data("UpdateTriggerWorkflowPartially", {
        "ProjectId": project, "WorkflowId": wid,
        "NewSetting": {"WorkflowParams": [{"ParamKey": "day", "ParamValue": "1"}]},
        "FieldToRemoveList": ["WorkflowParams:region", "TriggerWorkflowSchedulerConfigurations:t1"]})
    got = api.data("GetTriggerWorkflow", {"ProjectId": project, "WorkflowId": wid})
    assert got["WorkflowParams"] == [{"ParamKey": "day", "ParamValue": "1"}]
    assert got["TriggerWorkflowSchedulerConfigurations"] == []
    # Out-of-range settings change nothing.
    err = api.error("UpdateTriggerWorkflow", {"ProjectId": project, "WorkflowId": wid,
                                              "TriggerWorkflowRunConfiguration": {"MaxConcurrentNum": 0}})
    assert err.code == "InvalidParameterValue" and "MaxConcurrentNum" in err.message
    assert api.data("GetTriggerWorkflow", {"ProjectId": project, "WorkflowId": wid})["WorkflowDesc"] == "d2"

    space = Space(project, wid)
    task = trigger_task(api, space, "t", "echo hi")
    assert api.error("DeleteTriggerWorkflow", {"ProjectId": project, "WorkflowId": wid}).code == "ResourceInUse"
    api.data("DeleteTriggerTask", {"ProjectId": project, "TaskId": task})
    assert api.data("DeleteTriggerWorkflow", {"ProjectId": project, "WorkflowId": wid})["Status"] is True
    assert api.error("GetTriggerWorkflow", {"ProjectId": project, "WorkflowId": wid}).code == "ResourceNotFound"


def test_get_trigger_task_refuses_before_it_says_what_is_missing(api: Api, server: ServerProcess) -> None:
    """GetTriggerTask is checked after its read, as GetTask (actions/registry.py
    ``standing_in_read``): the same refusals, in the same order, as a check made first."""
    space = new_space(api)
    task = trigger_task(api, space, "standing", "echo a")
    got = refuses_as_before_the_read(api, server, "GetTriggerTask", space.project, {"TaskId": task},
                                     [{"TaskId": "20000101000000000"}])
    assert got["TriggerTaskBaseAttribute"]["TaskId"] == task


def test_trigger_tasks_versions_submit_and_edges(api: Api) -> None:
    space = new_space(api)
    a = trigger_task(api, space, "a", "echo a")
    b = trigger_task(api, space, "b", "echo b", upstream=[a])
    got = api.data("GetTriggerTask", {"ProjectId": space.project, "TaskId": b})
    base = got["TriggerTaskBaseAttribute"]
    assert base["TaskId"] == b and base["WorkflowId"] == space.workflow and base["TaskLatestVersionNo"] == "V1"
    assert base["Submit"] is False and base["Status"] == "N"
    sched = got["TriggerTaskSchedulerConfiguration"]
    assert sched["UpstreamDependencyConfigList"] == [{"TaskId": a}]
    assert sched["DependencyTriggerPolicy"] == "ALL_SUCCESS" and sched["MaxRetryNumber"] == 0
    assert "CycleType" not in sched  # a trigger task has no schedule of its own
    code = api.data("GetTriggerTaskCode", {"ProjectId": space.project, "TaskId": b})
    assert base64.b64decode(code["CodeInfo"]).decode() == "echo b"

    up = api.data("ListUpstreamTriggerTasks", {"ProjectId": space.project, "TaskId": b})
    assert [i["TaskId"] for i in up["Items"]] == [a] and up["TotalCount"] == 1
    down = api.data("ListDownstreamTriggerTasks", {"ProjectId": space.project, "TaskId": a})
    assert [i["TaskId"] for i in down["Items"]] == [b]

    # Versions and submit exactly like periodic tasks.
    api.data("UpdateTriggerTaskPartially", {"ProjectId": space.project, "TaskId": b, "NewSetting": {
        "TriggerTaskConfiguration": {"CodeContent": b64("echo b2")}}})
    v = submit(api, space.project, b)
    base = api.data("GetTriggerTask", {"ProjectId": space.project, "TaskId": b})["TriggerTaskBaseAttribute"]
    assert base["TaskLatestVersionNo"] == "V2" and base["TaskLatestSubmitVersionNo"] == "V2" and base["Submit"] is True
    assert base["Status"] == "Y"
    detail = api.data("GetTriggerTaskVersion", {"ProjectId": space.project, "TaskId": b})
    assert detail["VersionId"] == v and detail["VersionNum"] == "V2"
    assert base64.b64decode(detail["Task"]["TriggerTaskConfiguration"]["CodeContent"]).decode() == "echo b2"
    saves = api.data("ListTriggerTaskVersions", {"ProjectId": space.project, "TaskId": b})
    assert [i["VersionNum"] for i in saves["Items"]] == ["V2", "V1"] and saves["PageCount"] == 2
    subs = api.data("ListTriggerTaskVersions", {"ProjectId": space.project, "TaskId": b, "TaskVersionType": "SUBMIT"})
    assert [i["VersionId"] for i in subs["Items"]] == [v] and subs["Items"][0]["UsedVersion"] is True

    listed = api.data("ListTriggerTasks", {"ProjectId": space.project, "WorkflowId": space.workflow})
    assert {i["TaskId"] for i in listed["Items"]} == {a, b} and listed["TotalCount"] == 2
    submitted = api.data("ListTriggerTasks", {"ProjectId": space.project, "Submit": True})
    assert [i["TaskId"] for i in submitted["Items"]] == [b]

    # A cycle is refused, and nothing changes.
    err = api.error("UpdateTriggerTaskPartially", {"ProjectId": space.project, "TaskId": a, "NewSetting": {
        "TriggerTaskSchedulerConfiguration": {"UpstreamDependencyConfigList": [{"TaskId": b}]}}})
    assert err.code == "InvalidParameterValue" and "cycle" in err.message.lower()
    assert api.data("ListUpstreamTriggerTasks", {"ProjectId": space.project, "TaskId": a})["Items"] == []
    # Edges stay inside the workflow.
    other = new_space(api)
    stranger = trigger_task(api, Space(space.project, api.data("CreateTriggerWorkflow", {
        "ProjectId": space.project, "WorkflowName": unique("twf2"), "ParentFolderPath": "/"})["WorkflowId"]), "s", "true")
    err = api.error("UpdateTriggerTask", {"ProjectId": space.project, "TaskId": a, "Task": {
        "TriggerTaskBaseAttribute": {"TaskName": unique("a"), "OwnerUin": "100000000001", "TaskDescription": ""},
        "TriggerTaskConfiguration": {}, "TriggerTaskSchedulerConfiguration": {
            "UpstreamDependencyConfigList": [{"TaskId": stranger}]}}})
    assert err.code == "InvalidParameterValue" and "workflow" in err.message
    assert other.project != space.project
    # Removing the edge through FieldToRemoveList (trigger section name).
    api.data("UpdateTriggerTaskPartially", {"ProjectId": space.project, "TaskId": b, "FieldToRemoveList": [
        f"TriggerTaskSchedulerConfiguration/UpstreamDependencyConfigList:{a}"]})
    assert api.data("ListUpstreamTriggerTasks", {"ProjectId": space.project, "TaskId": b})["Items"] == []
    # The production edge (submitted) still holds a, as for periodic tasks, until b is submitted.
    assert api.error("DeleteTriggerTask", {"ProjectId": space.project, "TaskId": a}).code == "ResourceInUse"
    submit(api, space.project, b)
    assert api.data("DeleteTriggerTask", {"ProjectId": space.project, "TaskId": a})["Status"] is True
    assert api.error("GetTriggerTask", {"ProjectId": space.project, "TaskId": a}).code == "ResourceNotFound"


def test_each_schedule_mode_has_its_own_actions(api: Api) -> None:
    space = new_space(api)
    trig = trigger_task(api, space, "t", "true")
    periodic = api.data("CreateProject", {"Project": {"ProjectName": unique("per"), "DisplayName": "per"}})["ProjectId"]
    # Trigger actions in a task-scheduling project.
    err = api.error("CreateTriggerWorkflow", {"ProjectId": periodic, "WorkflowName": unique("w"), "ParentFolderPath": "/"})
    assert err.code == "UnsupportedOperation" and "ScheduleMode" in err.message and "'task'" in err.message
    assert api.error("ListTriggerWorkflows", {"ProjectId": periodic}).code == "UnsupportedOperation"
    wf = api.data("CreateWorkflow", {"ProjectId": periodic, "WorkflowName": unique("w"), "ParentFolderPath": "/"})["WorkflowId"]
    err = api.error("CreateTriggerTask", {"ProjectId": periodic, "TriggerTaskBaseAttribute": {
        "TaskName": unique("x"), "TaskTypeId": "35", "WorkflowId": wf}, "TriggerTaskConfiguration": {},
        "TriggerTaskSchedulerConfiguration": {}})
    assert err.code == "UnsupportedOperation" and "ScheduleMode" in err.message
    # Periodic actions in a workflow-scheduling project.
    err = api.error("CreateWorkflow", {"ProjectId": space.project, "WorkflowName": unique("w"), "ParentFolderPath": "/"})
    assert err.code == "UnsupportedOperation" and "'workflow'" in err.message
    err = api.error("CreateTask", {"ProjectId": space.project, "TaskBaseAttribute": {
        "TaskName": unique("x"), "TaskTypeId": "35", "WorkflowId": space.workflow}, "TaskConfiguration": {},
        "TaskSchedulerConfiguration": {}})
    assert err.code == "UnsupportedOperation" and "ScheduleMode" in err.message
    for action in ("GetTask", "SubmitTask"):
        params = {"ProjectId": space.project, "TaskId": trig}
        if action == "SubmitTask":
            params["VersionRemark"] = "x"
        err = api.error(action, params)
        assert err.code == "UnsupportedOperation" and "TriggerTask" in err.message
    assert api.error("GetWorkflow", {"ProjectId": space.project, "WorkflowId": space.workflow}).code == "UnsupportedOperation"
    assert api.data("ListTasks", {"ProjectId": space.project})["TotalCount"] == 0
    # Nothing was created on the way.
    assert api.data("ListTriggerTasks", {"ProjectId": space.project})["TotalCount"] == 1
