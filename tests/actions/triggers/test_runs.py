"""Manual workflow runs through the official SDK (and tccli): a Shell + Python chain with
AdvancedParams, a subset, a failure ending the downstream task runs, a kill that really stops
the process, and bad input that creates nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import time
from typing import Any

from tests.actions.triggers.test_definitions import Space, new_space, submit, trigger_task
from tests.support import Api
from tests.waiting import wait_until

FINISHED = ("SUCCESS", "FAILED", "SKIP")


def run(api: Api, space: Space, **extra: Any) -> str:
    return str(api.data("CreateTriggerWorkflowRun", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                                     **extra})["WorkflowExecutionId"])


def detail(api: Api, space: Space, execution: str) -> dict[str, Any]:
    return dict(api.data("GetTriggerWorkflowRun", {"ProjectId": space.project, "WorkflowExecutionId": execution}))


def states(d: dict[str, Any]) -> tuple[str, dict[str, str]]:
    return d["TriggerWorkflowRun"]["ExecutionState"], {t["TaskId"]: t["ExecutionState"] for t in d["TriggerTaskRuns"]}


def finished(api: Api, space: Space, execution: str) -> dict[str, Any]:
    return wait_until(lambda: detail(api, space, execution),
                      lambda d: d["TriggerWorkflowRun"]["ExecutionState"] in FINISHED,
                      what=f"workflow run {execution} to finish", progress=states)


def log_of(api: Api, space: Space, task_run: dict[str, Any]) -> str:
    """The task run's log, read like an instance's (its JobId is its engine InstanceKey)."""
    text, cursor = [], None
    for _ in range(100):
        req = {"ProjectId": space.project, "InstanceKey": task_run["JobId"]}
        if cursor is not None:
            req["NextCursor"] = cursor
        data = api.data("GetTaskInstanceLog", req)
        text.append(data["LogInfo"] or "")
        cursor = data["NextCursor"]
        if cursor is None:
            break
    return "<br>".join(text)


def chain(api: Api) -> tuple[Space, list[str]]:
    space = new_space(api, {"region": "gz", "who": "nobody"})
    a = trigger_task(api, space, "a", "echo shell-region=${region} who=${who}")
    b = trigger_task(api, space, "b", "import sys\nprint('python-region=${region}', sys.version_info[0])",
                     type_id="30", upstream=[a])
    c = trigger_task(api, space, "c", "echo last", upstream=[b])
    for t in (a, b, c):
        submit(api, space.project, t)
    return space, [a, b, c]


def test_a_manual_run_of_a_shell_and_python_chain_succeeds_with_its_parameters(api: Api) -> None:
    space, (a, b, c) = chain(api)
    execution = run(api, space, AdvancedParams=[{"ParamKey": "region", "ParamValue": "sh"}])
    d = finished(api, space, execution)
    assert states(d) == ("SUCCESS", {a: "SUCCESS", b: "SUCCESS", c: "SUCCESS"})
    wr = d["TriggerWorkflowRun"]
    assert wr["ExecutionId"] == execution and wr["TriggerType"] == "ManualTrigger"
    assert int(wr["ExecutionEndTime"]) >= int(wr["ExecutionStartTime"]) >= int(wr["CreateTime"]) > 1_600_000_000_000
    runs = {t["TaskId"]: t for t in d["TriggerTaskRuns"]}
    assert runs[b]["DependOnList"] == [a] and runs[c]["DependOnList"] == [b] and runs[a]["DependOnList"] == []
    assert int(runs[b]["ExecutionStartTime"]) >= int(runs[a]["ExecutionEndTime"])
    assert "shell-region=sh who=nobody" in log_of(api, space, runs[a])
    assert "python-region=sh 3" in log_of(api, space, runs[b])
    # The task run on its own, and in the lists.
    one = api.data("GetTriggerTaskRun", {"ProjectId": space.project, "TaskExecutionId": runs[b]["ExecutionId"]})
    assert one["WorkflowExecutionId"] == execution and one["ExecutionState"] == "SUCCESS" and one["TaskId"] == b
    assert one["TaskVersionId"].startswith(b + "_")
    listed = api.data("ListTriggerTaskRuns", {"ProjectId": space.project, "Filters": [
        {"Name": "WorkflowExecutionId", "Values": [execution]}], "OrderFields": [{"Name": "ScheduleTime", "Direction": "ASC"}]})
    assert listed["TotalCount"] == 3 and {i["TaskId"] for i in listed["Items"]} == {a, b, c}
    runs_list = api.data("ListTriggerWorkflowRuns", {"ProjectId": space.project, "Filters": [
        {"Name": "WorkflowId", "Values": [space.workflow]}]})
    assert [i["ExecutionId"] for i in runs_list["Items"]] == [execution] and runs_list["Items"][0]["ExecutionState"] == "SUCCESS"
    # Without AdvancedParams the workflow's own value is used.
    d2 = finished(api, space, run(api, space))
    assert "shell-region=gz" in log_of(api, space, {t["TaskId"]: t for t in d2["TriggerTaskRuns"]}[a])
    newest = api.data("ListTriggerWorkflowRuns", {"ProjectId": space.project, "Filters": [
        {"Name": "WorkflowId", "Values": [space.workflow]}], "OrderFields": [{"Name": "CreateTime", "Direction": "DESC"}]})
    assert newest["TotalCount"] == 2 and newest["Items"][0]["ExecutionId"] == d2["TriggerWorkflowRun"]["ExecutionId"]


def test_a_subset_runs_only_the_chosen_tasks(api: Api) -> None:
    space, (a, b, c) = chain(api)
    execution = run(api, space, TaskIds=[b, c])
    d = finished(api, space, execution)
    assert states(d) == ("SUCCESS", {b: "SUCCESS", c: "SUCCESS"})
    assert d["TriggerWorkflowRun"]["SelectedTaskIds"] == [b, c]
    assert {t["TaskId"]: t["DependOnList"] for t in d["TriggerTaskRuns"]} == {b: [], c: [b]}


def test_a_failing_task_fails_the_run_and_its_downstream_never_runs(api: Api) -> None:
    space = new_space(api)
    a = trigger_task(api, space, "ok", "true")
    b = trigger_task(api, space, "bad", "echo about to fail; exit 3", upstream=[a])
    c = trigger_task(api, space, "after", "echo must-not-run", upstream=[b])
    d_ = trigger_task(api, space, "beside", "true", upstream=[a])
    for t in (a, b, c, d_):
        submit(api, space.project, t)
    d = finished(api, space, run(api, space))
    assert states(d) == ("FAILED", {a: "SUCCESS", b: "FAILED", c: "FAILED", d_: "SUCCESS"})
    after = {t["TaskId"]: t for t in d["TriggerTaskRuns"]}[c]
    assert "upstream failed" in after["ErrorCodeStr"] and after["ExecutionStartTime"] is None


def test_kill_stops_a_running_process(api: Api, tmp_path: Any) -> None:
    space = new_space(api)
    marker = tmp_path / "pid"
    sleeper = trigger_task(api, space, "sleep", f"echo $$ > {marker}; exec sleep 300")
    after = trigger_task(api, space, "after", "true", upstream=[sleeper])
    for t in (sleeper, after):
        submit(api, space.project, t)
    execution = run(api, space)
    wait_until(lambda: marker.exists() and marker.read_text().strip(), bool, what="the sleeper to start")
    pid = int(marker.read_text())
    os.kill(pid, 0)  # alive
    assert detail(api, space, execution)["TriggerWorkflowRun"]["ExecutionState"] == "RUNNING"
    killed = api.data("KillTriggerWorkflowRuns", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                                  "WorkflowExecutionIdList": [execution]})
    assert [k["ItemId"] for k in killed] == [execution] and killed[0]["OpStatus"] is True
    d = finished(api, space, execution)
    assert states(d) == ("FAILED", {sleeper: "FAILED", after: "FAILED"})

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(gone, bool, what=f"process {pid} to die", progress=lambda _: time.monotonic() // 5)
    # Killing a finished run is refused; All with nothing live kills nothing.
    err = api.error("KillTriggerWorkflowRuns", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                                "WorkflowExecutionIdList": [execution]})
    assert err.code == "FailedOperation" and "finished" in err.message
    assert api.data("KillTriggerWorkflowRuns", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                                "All": True}) == []


def test_bad_runs_are_refused_and_create_nothing(api: Api) -> None:
    space = new_space(api, {"region": "gz"})
    a = trigger_task(api, space, "a", "true")
    err = api.error("CreateTriggerWorkflowRun", {"ProjectId": space.project, "WorkflowId": space.workflow})
    assert err.code == "FailedOperation" and "submit" in err.message
    submit(api, space.project, a)
    b = trigger_task(api, space, "b", "true")
    other = new_space(api)
    stranger = trigger_task(api, other, "s", "true")
    cases = [
        ({"TaskIds": [stranger]}, "InvalidParameterValue", stranger),
        ({"TaskIds": [b]}, "FailedOperation", b),
        ({"AdvancedParams": [{"ParamKey": "nope", "ParamValue": "1"}]}, "InvalidParameterValue", "nope"),
        ({"WorkflowId": other.workflow}, "ResourceNotFound", other.workflow),
    ]
    for extra, code, named in cases:
        err = api.error("CreateTriggerWorkflowRun", {"ProjectId": space.project, "WorkflowId": space.workflow, **extra})
        assert err.code == code and named in err.message, (extra, err)
    assert api.data("ListTriggerWorkflowRuns", {"ProjectId": space.project})["TotalCount"] == 0
    assert api.data("ListTriggerTaskRuns", {"ProjectId": space.project})["TotalCount"] == 0
    err = api.error("ListTriggerWorkflowRuns", {"ProjectId": space.project, "Filters": [{"Name": "Colour", "Values": ["x"]}]})
    assert err.code == "InvalidParameterValue" and "Colour" in err.message
    err = api.error("GetTriggerWorkflowRun", {"ProjectId": space.project, "WorkflowExecutionId": "no-such-run"})
    assert err.code == "ResourceNotFound"
    err = api.error("KillTriggerWorkflowRuns", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                                "WorkflowExecutionIdList": ["no-such-run"]})
    assert err.code == "ResourceNotFound"
