"""Operating workflow runs through the official SDK: RerunTriggerWorkflowRunAsync (normal and
advanced, through GetOpsAsyncJob), GetOpsTriggerWorkflow (coloured by a run),
ListOpsTriggerWorkflows, UpdateOpsTriggerTasksOwner, and their bad input. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.actions.triggers.test_definitions import Space, new_space, submit, trigger_task
from tests.actions.triggers.test_runs import detail, finished, log_of, run, states
from tests.support import Api, unique
from tests.waiting import wait_until


def rerun(api: Api, space: Space, execution: str, **extra: Any) -> str:
    return str(api.data("RerunTriggerWorkflowRunAsync", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                                         "WorkflowExecutionId": execution, **extra})["AsyncId"])


def job_done(api: Api, space: Space, async_id: str) -> dict[str, Any]:
    return wait_until(lambda: api.data("GetOpsAsyncJob", {"ProjectId": space.project, "AsyncId": async_id}),
                      lambda j: j["Status"] in ("SUCCESS", "FAIL", "PART_SUCCESS"), what=f"job {async_id}")


def test_rerun_of_the_failed_tasks_with_new_parameters_completes(api: Api) -> None:
    space = new_space(api, {"flag": "bad"})
    a = trigger_task(api, space, "a", "echo a-ran")
    b = trigger_task(api, space, "b", 'echo flag=${flag}; test "${flag}" = ok', upstream=[a])
    c = trigger_task(api, space, "c", "echo c-ran", upstream=[b])
    for t in (a, b, c):
        submit(api, space.project, t)
    execution = run(api, space)
    assert states(finished(api, space, execution)) == ("FAILED", {a: "SUCCESS", b: "FAILED", c: "FAILED"})
    failed = [t["TaskId"] for t in api.data("ListTriggerTaskRuns", {"ProjectId": space.project, "Filters": [
        {"Name": "WorkflowExecutionId", "Values": [execution]}, {"Name": "ExecutionState", "Values": ["FAILED"]}]})["Items"]]
    assert sorted(failed) == sorted([b, c])
    job = job_done(api, space, rerun(api, space, execution, ExecuteType="2", TaskIds=failed,
                                     AdvancedParams=[{"ParamKey": "flag", "ParamValue": "ok"}]))
    assert job["Status"] == "SUCCESS" and job["AsyncType"] == "RerunTriggerWorkflowRun"
    assert (job["TotalSubProcessCount"], job["SuccessSubProcessCount"]) == (1, 1)
    d = finished(api, space, execution)
    assert states(d) == ("SUCCESS", {a: "SUCCESS", b: "SUCCESS", c: "SUCCESS"})
    wr = d["TriggerWorkflowRun"]
    assert wr["RerunTimes"] == 1 and wr["SupportRerun"] is True and '"ok"' in wr["WorkflowParams"]
    by = {t["TaskId"]: t for t in d["TriggerTaskRuns"]}
    assert (by[a]["RerunTimes"], by[b]["RerunTimes"], by[c]["RerunTimes"]) == (0, 1, 1)  # a did not run again
    assert int(by[b]["ExecutionStartTime"]) > int(by[a]["ExecutionEndTime"])
    assert "flag=ok" in log_of(api, space, by[b])
    # ExecuteType 1: every task again, with the run's (now updated) parameters.
    job = job_done(api, space, rerun(api, space, execution, ExecuteType="1"))
    assert job["Status"] == "SUCCESS"
    d = finished(api, space, execution)
    by = {t["TaskId"]: t for t in d["TriggerTaskRuns"]}
    assert states(d)[0] == "SUCCESS" and d["TriggerWorkflowRun"]["RerunTimes"] == 2
    assert (by[a]["RerunTimes"], by[b]["RerunTimes"], by[c]["RerunTimes"]) == (1, 2, 2)


def test_bad_reruns_are_refused_and_change_nothing(api: Api, tmp_path: Path) -> None:
    space = new_space(api, {"flag": "x"})
    marker = tmp_path / "started"
    a = trigger_task(api, space, "a", "true")
    s = trigger_task(api, space, "s", f"touch {marker}; exec sleep 60")
    for t in (a, s):
        submit(api, space.project, t)
    done = run(api, space, TaskIds=[a])
    finished(api, space, done)
    live = run(api, space, TaskIds=[s])
    wait_until(marker.exists, bool, what="the sleeper to start")
    base = {"ProjectId": space.project, "WorkflowId": space.workflow, "WorkflowExecutionId": done}
    cases = [
        ({"WorkflowExecutionId": live, "ExecuteType": "1"}, "FailedOperation", live),
        ({"ExecuteType": "3"}, "InvalidParameterValue", "ExecuteType"),
        ({"ExecuteType": "1", "TaskIds": [a]}, "InvalidParameterValue", "ExecuteType 2"),
        ({"ExecuteType": "2", "TaskIds": [s]}, "InvalidParameterValue", s),
        ({"ExecuteType": "2", "AdvancedParams": [{"ParamKey": "nope", "ParamValue": "1"}]}, "InvalidParameterValue",
         "nope"),
        ({"ExecuteType": "2", "TaskIds": []}, "InvalidParameterValue", "TaskIds"),
        ({"WorkflowExecutionId": "no-such-run", "ExecuteType": "1"}, "ResourceNotFound", "no-such-run"),
        ({"WorkflowId": "no-such-workflow", "ExecuteType": "1"}, "ResourceNotFound", "no-such-workflow"),
        ({"ExecuteType": "1", "SchedulingResourceGroup": "rg"}, "UnsupportedOperation", "SchedulingResourceGroup"),
    ]
    for extra, code, named in cases:
        err = api.error("RerunTriggerWorkflowRunAsync", {**base, **extra})
        assert err.code == code and named in err.message, (extra, err.code, err.message)
    assert detail(api, space, done)["TriggerWorkflowRun"]["RerunTimes"] == 0
    assert detail(api, space, done)["TriggerWorkflowRun"]["ExecutionState"] == "SUCCESS"
    api.data("KillTriggerWorkflowRuns", {"ProjectId": space.project, "WorkflowId": space.workflow, "All": True})
    finished(api, space, live)


def test_the_production_dag_coloured_by_a_run(api: Api) -> None:
    space = new_space(api)
    a = trigger_task(api, space, "a", "true")
    b = trigger_task(api, space, "b", "exit 2", upstream=[a])
    c = trigger_task(api, space, "c", "true", upstream=[b])
    draft = trigger_task(api, space, "draft", "true", upstream=[a])  # never submitted: not in production
    for t in (a, b, c):
        submit(api, space.project, t)
    plain = api.data("GetOpsTriggerWorkflow", {"ProjectId": space.project, "WorkflowId": space.workflow})
    assert sorted(t["TaskId"] for t in plain["TriggerTasks"]) == sorted([a, b, c]) and draft not in str(plain)
    assert sorted((x["UpstreamTaskId"], x["DownstreamTaskId"]) for x in plain["TriggerTaskLinks"]) == sorted(
        [(a, b), (b, c)])
    assert all(t["ExecutionState"] is None and t["DependencyTriggerPolicy"] == "ALL_SUCCESS"
               for t in plain["TriggerTasks"])
    assert {t["WorkflowId"] for t in plain["TriggerTasks"]} == {space.workflow}
    execution = run(api, space, TaskIds=[a, b])
    finished(api, space, execution)
    coloured = api.data("GetOpsTriggerWorkflow", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                                  "WorkflowExecutionId": execution})
    by = {t["TaskId"]: t for t in coloured["TriggerTasks"]}
    assert (by[a]["ExecutionState"], by[b]["ExecutionState"], by[c]["ExecutionState"]) == ("SUCCESS", "FAILED", None)
    assert int(by[a]["ExecutionStartTime"]) > 1_600_000_000_000
    other = new_space(api)
    o = trigger_task(api, other, "o", "true")
    submit(api, other.project, o)
    foreign = run(api, other)
    for req, named in (({"WorkflowExecutionId": foreign}, foreign), ({"WorkflowId": other.workflow}, other.workflow)):
        err = api.error("GetOpsTriggerWorkflow", {"ProjectId": space.project, "WorkflowId": space.workflow, **req})
        assert err.code == "ResourceNotFound" and named in err.message


def test_list_ops_trigger_workflows_and_update_owners(api: Api) -> None:
    space = new_space(api)
    tag = unique("ops")
    names = {}
    spaces = []
    for n, count in (("one", 1), ("three", 3), ("none", 0)):
        name = f"{tag}_{n}"
        wid = api.data("CreateTriggerWorkflow", {"ProjectId": space.project, "WorkflowName": name,
                                                 "ParentFolderPath": "/", "WorkflowParams": [
                                                     {"ParamKey": "k", "ParamValue": n}]})["WorkflowId"]
        names[n] = wid
        s = Space(space.project, wid)
        spaces.append(s)
        for i in range(max(count, 1)):
            t = trigger_task(api, s, f"t{i}", "true")
            if count:
                submit(api, space.project, t)
    page = api.data("ListOpsTriggerWorkflows", {"ProjectId": space.project, "Filters": [
        {"Name": "Keyword", "Values": [tag.upper()]}], "OrderFields": [{"Name": "TaskCount", "Direction": "DESC"}]})
    assert page["TotalCount"] == 2  # the workflow with nothing submitted is not in production
    assert [(i["WorkflowId"], i["TaskCount"]) for i in page["Items"]] == [(names["three"], 3), (names["one"], 1)]
    assert page["Items"][0]["WorkflowParams"] == '[{"ParamKey":"k","ParamValue":"three"}]'
    asc = api.data("ListOpsTriggerWorkflows", {"ProjectId": space.project, "PageSize": 1, "Filters": [
        {"Name": "Keyword", "Values": [tag]}], "OrderFields": [{"Name": "TaskCount", "Direction": "ASC"}]})
    assert asc["TotalCount"] == 2 and asc["TotalPageNumber"] == 2 and [i["WorkflowId"] for i in asc["Items"]] == [names["one"]]
    by_id = api.data("ListOpsTriggerWorkflows", {"ProjectId": space.project, "Filters": [
        {"Name": "WorkflowId", "Values": [names["one"]]}]})
    assert [i["WorkflowName"] for i in by_id["Items"]] == [f"{tag}_one"]
    for bad in ({"Filters": [{"Name": "Colour", "Values": ["x"]}]}, {"OrderFields": [{"Name": "Size", "Direction": "ASC"}]}):
        err = api.error("ListOpsTriggerWorkflows", {"ProjectId": space.project, **bad})
        assert err.code == "InvalidParameterValue"
    # Owners: two users become the owners of the tasks of "three".
    tasks = [t["TaskId"] for t in api.data("ListTriggerTasks", {"ProjectId": space.project,
                                                                "WorkflowId": names["three"]})["Items"]]
    assert len(tasks) == 3
    got = api.data("UpdateOpsTriggerTasksOwner", {"ProjectId": space.project, "OwnerIds": ["1001", "1002"],
                                                  "TaskIds": tasks[:2]})
    assert (got["SuccessCount"], got["FailedCount"], got["TotalCount"]) == (2, 0, 2)
    owners = [api.data("GetTriggerTask", {"ProjectId": space.project, "TaskId": t})["TriggerTaskBaseAttribute"]["OwnerUin"]
              for t in tasks]
    assert owners[:2] == ["1001;1002", "1001;1002"] and owners[2] != "1001;1002"
    in_charge = api.data("ListOpsTriggerWorkflows", {"ProjectId": space.project, "Filters": [
        {"Name": "Keyword", "Values": [tag]}, {"Name": "InChargeUin", "Values": ["nobody-owns-this"]}]})
    assert in_charge["TotalCount"] == 0
    unsubmitted = [t["TaskId"] for t in api.data("ListTriggerTasks", {"ProjectId": space.project,
                                                                      "WorkflowId": names["none"]})["Items"]]
    for req, code, named in (
        ({"OwnerIds": ["9"], "TaskIds": [tasks[2], unsubmitted[0]]}, "ResourceNotFound", unsubmitted[0]),
        ({"OwnerIds": ["9"]}, "InvalidParameterValue", "TaskIds"),
        ({"OwnerIds": [], "TaskIds": [tasks[2]]}, "InvalidParameterValue", "OwnerIds"),
        ({"OwnerIds": ["x" * 20, "y" * 20], "TaskIds": [tasks[2]]}, "InvalidParameterValue", "32"),
    ):
        err = api.error("UpdateOpsTriggerTasksOwner", {"ProjectId": space.project, **req})
        assert err.code == code and named in err.message, (req, err.code, err.message)
    # Nothing changed by the refused requests (all or nothing).
    assert api.data("GetTriggerTask", {"ProjectId": space.project, "TaskId": tasks[2]})["TriggerTaskBaseAttribute"][
        "OwnerUin"] == owners[2]
