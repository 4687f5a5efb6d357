"""Control-flow nodes of trigger workflows through the official SDK (docs/triggers.md,
"Control-flow nodes"): a Branch skips the unchosen path and a Merge joins; a For-each runs its
inner task once per item within its parallelism, each iteration with its own log; a Run
Workflow node waits for its child run; bad settings are refused when saved or submitted, and
what can only be known at run time fails the node with the reason in its log. SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from tests.actions.triggers.test_definitions import Space, new_space, submit
from tests.actions.triggers.test_ops import job_done, rerun
from tests.actions.triggers.test_runs import finished, log_of, run
from tests.support import Api, unique
from tests.waiting import wait_until


def node(api: Api, space: Space, name: str, type_id: int, *, code: str = "", ext: dict[str, str] | None = None,
         upstream: list[str] | None = None, policy: str = "ALL_SUCCESS", params: dict[str, str] | None = None,
         inputs: list[dict[str, str]] | None = None, outputs: dict[str, str] | None = None,
         go: bool = True) -> str:
    sched: dict[str, Any] = {"MaxRetryNumber": 0, "DependencyTriggerPolicy": policy,
                             "UpstreamDependencyConfigList": [{"TaskId": u} for u in upstream or []]}
    if inputs:
        sched["ParamTaskInList"] = inputs
    if outputs:
        sched["ParamTaskOutList"] = [{"ParamKey": k, "ParamValue": v} for k, v in outputs.items()]
    tid = str(api.data("CreateTriggerTask", {
        "ProjectId": space.project,
        "TriggerTaskBaseAttribute": {"TaskName": unique(name), "TaskTypeId": str(type_id), "WorkflowId": space.workflow},
        "TriggerTaskConfiguration": {
            "CodeContent": base64.b64encode(code.encode()).decode(),
            "TaskExtConfigurationList": [{"ParamKey": k, "ParamValue": v} for k, v in (ext or {}).items()],
            "TaskSchedulingParameterList": [{"ParamKey": k, "ParamValue": v} for k, v in (params or {}).items()],
        },
        "TriggerTaskSchedulerConfiguration": sched,
    })["TaskId"])
    if go:
        submit(api, space.project, tid)
    return tid


def by_task(d: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for t in d["TriggerTaskRuns"]:
        out.setdefault(t["TaskId"], []).append(t)
    return out


def branches(*pairs: tuple[str | None, list[str]]) -> dict[str, str]:
    return {"branch.conditions": json.dumps([{"Condition": c, "TaskIds": ids} for c, ids in pairs])}


def test_a_branch_follows_the_chosen_path_and_a_merge_joins(api: Api) -> None:
    """size (an upstream output, 7) > 5 chooses ``big``; ``small`` and its downstream are skipped;
    the region condition ("gz", a workflow parameter) also holds; the else path is not taken. The
    Merge (NONE_FAILED) joins and its downstream runs."""
    space = new_space(api, {"region": "gz"})
    src = node(api, space, "src", 35, code="echo '${setValue(size=7)}'", outputs={"size": "0"})
    br = node(api, space, "br", 130, upstream=[src], go=False,
              inputs=[{"ParamKey": "n", "FromTaskId": src, "FromParamKey": "size", "ParamDesc": "p.src.size"}],
              ext=branches(("${n} > 5", ["placeholder"])))
    big_id = node(api, space, "big", 35, code="echo big", upstream=[br])
    small_id = node(api, space, "small", 35, code="echo small-must-not-run", upstream=[br])
    after_small = node(api, space, "after_small", 35, code="echo must-not-run", upstream=[small_id])
    gz_id = node(api, space, "gz", 35, code="echo gz", upstream=[br])
    other_id = node(api, space, "other", 35, code="echo other", upstream=[br])
    api.data("UpdateTriggerTaskPartially", {"ProjectId": space.project, "TaskId": br, "NewSetting": {
        "TriggerTaskConfiguration": {"TaskExtConfigurationList": [{"ParamKey": k, "ParamValue": v} for k, v in branches(
            ("${n} > 5", [big_id]), ("${n} <= 5", [small_id]), ("${region} == 'gz'", [gz_id]),
            ("else", [other_id])).items()]}}})
    submit(api, space.project, br)
    merge = node(api, space, "merge", 131, upstream=[big_id, after_small, gz_id, other_id], policy="NONE_FAILED")
    last = node(api, space, "last", 35, code="echo joined", upstream=[merge])
    d = finished(api, space, run(api, space))
    runs = by_task(d)
    state = {t: r[0]["ExecutionState"] for t, r in runs.items()}
    assert d["TriggerWorkflowRun"]["ExecutionState"] == "SUCCESS", [(t["TaskName"], t["ExecutionState"], t["ErrorCodeStr"]) for t in d["TriggerTaskRuns"]]
    assert state[br] == state[big_id] == state[gz_id] == "SUCCESS"
    assert state[small_id] == state[after_small] == state[other_id] == "SKIP"
    assert "not chosen by the Branch node" in runs[small_id][0]["ErrorCodeStr"]
    assert runs[small_id][0]["ExecutionStartTime"] is None
    assert state[merge] == state[last] == "SUCCESS"
    text = log_of(api, space, runs[br][0])
    assert "'${n} > 5': true" in text and "'${n} <= 5': false" in text and f"following {big_id}" in text
    assert "joined" in log_of(api, space, runs[last][0])


def test_a_long_chain_of_merge_nodes_ends_in_one_go(api: Api, request: pytest.FixtureRequest) -> None:
    """Each node's end starts the next inside the same transaction: 130 of them (deeper than
    the interpreter's stack would allow, were each start nested in the previous one's). The
    nesting does not depend on the backend: SQLite only (creating 130 tasks is slow on
    PostgreSQL)."""
    if "postgres" in request.node.name:
        pytest.skip("backend-independent; run on SQLite")
    space = new_space(api)
    prev: list[str] = []
    for i in range(130):
        prev = [node(api, space, f"m{i}", 131, upstream=prev)]
    d = finished(api, space, run(api, space))
    assert d["TriggerWorkflowRun"]["ExecutionState"] == "SUCCESS"
    assert {t["ExecutionState"] for t in d["TriggerTaskRuns"]} == {"SUCCESS"} and len(d["TriggerTaskRuns"]) == 130


def test_for_each_runs_once_per_item_within_its_parallelism(api: Api) -> None:
    space = new_space(api, {"files": '["a.csv", "b.csv", "c.csv", "d.csv"]'})
    inner = node(api, space, "inner", 35, code="echo got ${item} at ${item_index}; sleep 1",
                 params={"item": "", "item_index": ""})
    loop = node(api, space, "loop", 137, ext={"foreach.items": "${files}", "foreach.taskId": inner,
                                              "foreach.parallelism": "2"})
    after = node(api, space, "after", 35, code="echo after", upstream=[loop])
    d = finished(api, space, run(api, space))
    runs = by_task(d)
    assert d["TriggerWorkflowRun"]["ExecutionState"] == "SUCCESS", [
        (t["TaskName"], t["ExecutionState"], t["ErrorCodeStr"]) for t in d["TriggerTaskRuns"]]
    assert runs[loop][0]["ExecutionState"] == runs[after][0]["ExecutionState"] == "SUCCESS"
    its = runs[inner]
    assert len(its) == 4 and all(t["ExecutionState"] == "SUCCESS" for t in its)
    assert len({t["JobId"] for t in its}) == 4
    logs = sorted(log_of(api, space, t) for t in its)
    for i, name in enumerate(["a.csv", "b.csv", "c.csv", "d.csv"]):
        assert sum(f"got {name} at {i}" in text for text in logs) == 1, logs
    # At most 2 at once: at every start, fewer than 2 others are running.
    spans = [(int(t["ExecutionStartTime"]), int(t["ExecutionEndTime"])) for t in its]
    for s, _ in spans:
        assert sum(1 for a, b in spans if a <= s < b) <= 2, spans
    # The node waited for them all.
    assert int(runs[loop][0]["ExecutionEndTime"]) >= max(b for _, b in spans)
    assert "4 item(s)" in log_of(api, space, runs[loop][0])


def test_a_rerun_of_a_for_each_runs_its_iterations_again_with_new_items(api: Api) -> None:
    space = new_space(api, {"files": "a,bad,c"})
    inner = node(api, space, "inner", 35, code='echo item=${item}; test "${item}" != bad', params={"item": ""})
    loop = node(api, space, "loop", 137, ext={"foreach.items": "${files}", "foreach.taskId": inner,
                                              "foreach.parallelism": "3"})
    execution = run(api, space)
    d = finished(api, space, execution)
    assert by_task(d)[loop][0]["ExecutionState"] == "FAILED"
    assert "1 of 3 iteration(s) failed" in by_task(d)[loop][0]["ErrorCodeStr"]
    assert sorted(t["ExecutionState"] for t in by_task(d)[inner]) == ["FAILED", "SUCCESS", "SUCCESS"]
    job = job_done(api, space, rerun(api, space, execution, ExecuteType="2", TaskIds=[loop],
                                     AdvancedParams=[{"ParamKey": "files", "ParamValue": "a,b,c"}]))
    assert job["Status"] == "SUCCESS", job
    d = finished(api, space, execution)
    runs = by_task(d)
    assert d["TriggerWorkflowRun"]["ExecutionState"] == "SUCCESS"
    assert runs[loop][0]["ExecutionState"] == "SUCCESS" and runs[loop][0]["RerunTimes"] == 1
    assert [t["RerunTimes"] for t in runs[inner]] == [1, 1, 1]
    assert sorted(log_of(api, space, t).count("item=b") for t in runs[inner]) == [0, 0, 1]


def test_a_for_each_over_a_non_list_fails_with_the_reason(api: Api) -> None:
    space = new_space(api, {"files": '{"not": "a list"}'})
    inner = node(api, space, "inner", 35, code="echo ${item}", params={"item": ""})
    loop = node(api, space, "loop", 137, ext={"foreach.items": "${files}", "foreach.taskId": inner})
    d = finished(api, space, run(api, space))
    tr = by_task(d)[loop][0]
    assert d["TriggerWorkflowRun"]["ExecutionState"] == "FAILED" and tr["ExecutionState"] == "FAILED"
    assert "is not a list" in tr["ErrorCodeStr"] and "is not a list" in log_of(api, space, tr)
    assert inner not in by_task(d)


def test_run_workflow_waits_for_its_child_run(api: Api) -> None:
    child = new_space(api, {"who": "nobody"})
    node(api, child, "c1", 35, code="sleep 1; echo child-ran-for ${who}")
    parent = Space(child.project, str(api.data("CreateTriggerWorkflow", {
        "ProjectId": child.project, "WorkflowName": unique("parent"), "ParentFolderPath": "/"})["WorkflowId"]))
    start = node(api, parent, "call", 140, ext={"workflow.id": child.workflow}, params={"who": "parent"})
    after = node(api, parent, "after", 35, code="echo after-child", upstream=[start])
    d = finished(api, parent, run(api, parent))
    runs = by_task(d)
    assert d["TriggerWorkflowRun"]["ExecutionState"] == "SUCCESS"
    kids = api.data("ListTriggerWorkflowRuns", {"ProjectId": child.project, "Filters": [
        {"Name": "WorkflowId", "Values": [child.workflow]}]})["Items"]
    assert len(kids) == 1 and kids[0]["ExecutionState"] == "SUCCESS"
    kid = finished(api, child, kids[0]["ExecutionId"])
    kid_run = kid["TriggerTaskRuns"][0]
    assert "child-ran-for parent" in log_of(api, child, kid_run)  # the node's parameter passed
    # The node ended after the child's task run, and its downstream after it.
    assert int(runs[start][0]["ExecutionEndTime"]) >= int(kid_run["ExecutionEndTime"])
    assert int(runs[after][0]["ExecutionStartTime"]) >= int(runs[start][0]["ExecutionEndTime"])
    assert kids[0]["ExecutionId"] in log_of(api, parent, runs[start][0])
    # The child run names the node and the run that started it.
    assert (kids[0]["ParentWorkflowExecutionId"], kids[0]["ParentTaskExecutionId"]) == (
        d["TriggerWorkflowRun"]["ExecutionId"], runs[start][0]["ExecutionId"])
    assert kid["TriggerWorkflowRun"]["ParentTaskExecutionName"].startswith("call_")
    assert d["TriggerWorkflowRun"]["ParentWorkflowExecutionId"] is None


def test_killing_the_parent_run_kills_the_child_run(api: Api) -> None:
    child = new_space(api)
    node(api, child, "slow", 35, code="sleep 60")
    parent = Space(child.project, str(api.data("CreateTriggerWorkflow", {
        "ProjectId": child.project, "WorkflowName": unique("parent"), "ParentFolderPath": "/"})["WorkflowId"]))
    start = node(api, parent, "call", 140, ext={"workflow.id": child.workflow})
    execution = run(api, parent)

    def child_runs() -> list[dict[str, Any]]:
        return list(api.data("ListTriggerTaskRuns", {"ProjectId": child.project, "Filters": [
            {"Name": "WorkflowId", "Values": [child.workflow]}]})["Items"])

    wait_until(child_runs, lambda items: any(t["TaskExecutionState"] == "RUNNING" for t in items),
               what="the child's task run to start")
    t0 = time.monotonic()
    killed = api.data("KillTriggerWorkflowRuns", {"ProjectId": parent.project, "WorkflowId": parent.workflow,
                                                  "WorkflowExecutionIdList": [execution]})
    assert killed is not None
    d = finished(api, parent, execution)
    assert by_task(d)[start][0]["ExecutionState"] == "FAILED"
    done = wait_until(child_runs, lambda items: all(t["TaskExecutionState"] == "FAILED" for t in items),
                      what="the child's task run to be killed")
    assert time.monotonic() - t0 < 30 and len(done) == 1


def test_a_failing_child_fails_the_run_workflow_node(api: Api) -> None:
    child = new_space(api)
    node(api, child, "boom", 35, code="exit 3")
    parent = Space(child.project, str(api.data("CreateTriggerWorkflow", {
        "ProjectId": child.project, "WorkflowName": unique("parent"), "ParentFolderPath": "/"})["WorkflowId"]))
    start = node(api, parent, "call", 140, ext={"workflow.id": child.workflow})
    d = finished(api, parent, run(api, parent))
    tr = by_task(d)[start][0]
    assert tr["ExecutionState"] == "FAILED" and "ended FAILED" in tr["ErrorCodeStr"]


def _refused(api: Api, space: Space, type_id: int, ext: dict[str, str], code: str, *words: str) -> None:
    before = api.data("ListTriggerTasks", {"ProjectId": space.project, "WorkflowId": space.workflow})["TotalCount"]
    err = api.error("CreateTriggerTask", {
        "ProjectId": space.project,
        "TriggerTaskBaseAttribute": {"TaskName": unique("bad"), "TaskTypeId": str(type_id), "WorkflowId": space.workflow},
        "TriggerTaskConfiguration": {"TaskExtConfigurationList": [{"ParamKey": k, "ParamValue": v}
                                                                  for k, v in ext.items()]},
        "TriggerTaskSchedulerConfiguration": {},
    })
    assert err.code == code, (err.code, err.message)
    for w in words:
        assert w in err.message, err.message
    after = api.data("ListTriggerTasks", {"ProjectId": space.project, "WorkflowId": space.workflow})["TotalCount"]
    assert after == before


def test_bad_settings_are_refused_when_saved(api: Api) -> None:
    space = new_space(api)
    inner = node(api, space, "inner", 35, code="echo hi")
    field = "TaskExtConfigurationList branch.conditions"
    _refused(api, space, 130, {}, "InvalidParameterValue", field, "required")
    _refused(api, space, 130, {"branch.conditions": "[{"}, "InvalidParameterValue", "not JSON")
    _refused(api, space, 130, branches(("${x} >> 1", [inner])), "InvalidParameterValue", "does not parse", "[0].Condition")
    _refused(api, space, 130, branches(("${x} == (", [inner])), "InvalidParameterValue", "does not parse")
    _refused(api, space, 130, {"branch.conditions": '[{"Condition": "1 == 1", "TaskIds": []}]'},
             "InvalidParameterValue", "TaskIds")
    _refused(api, space, 137, {"foreach.items": '{"a": 1}', "foreach.taskId": inner}, "InvalidParameterValue",
             "is not a list")
    _refused(api, space, 137, {"foreach.items": "a,b"}, "InvalidParameterValue", "foreach.taskId")
    _refused(api, space, 137, {"foreach.items": "a,b", "foreach.taskId": "nope"}, "InvalidParameterValue",
             "not in the workflow")
    _refused(api, space, 137, {"foreach.items": "a", "foreach.taskId": inner, "foreach.parallelism": "0"},
             "InvalidParameterValue", "foreach.parallelism")
    stray = node(api, space, "stray", 130, ext=branches(("1 == 1", ["no-such-task"])), go=False)
    err = api.error("SubmitTriggerTask", {"ProjectId": space.project, "TaskId": stray, "VersionRemark": "x"})
    assert err.code == "InvalidParameterValue" and "no-such-task" in err.message, err.message
    draft = node(api, space, "draft", 35, code="echo hi", go=False)
    loop = node(api, space, "loop", 137, ext={"foreach.items": "a", "foreach.taskId": draft}, go=False)
    err = api.error("SubmitTriggerTask", {"ProjectId": space.project, "TaskId": loop, "VersionRemark": "x"})
    assert err.code == "FailedOperation" and "never been submitted" in err.message, err.message
    _refused(api, space, 140, {}, "InvalidParameterValue", "workflow.id")
    _refused(api, space, 140, {"workflow.id": space.workflow}, "InvalidParameterValue", "its own workflow")
    _refused(api, space, 140, {"workflow.id": "no-such-workflow"}, "ResourceNotFound", "no-such-workflow")


def test_run_workflow_cycles_and_unsubmitted_targets_are_refused_at_submit(api: Api) -> None:
    a = new_space(api)
    b = Space(a.project, str(api.data("CreateTriggerWorkflow", {
        "ProjectId": a.project, "WorkflowName": unique("b"), "ParentFolderPath": "/"})["WorkflowId"]))
    node(api, a, "a1", 35, code="true")
    # b's node may be saved while a has a submitted task; a's node naming b (no submitted task) may
    # be saved but not submitted.
    a_calls_b = node(api, a, "a_calls_b", 140, ext={"workflow.id": b.workflow}, go=False)
    err = api.error("SubmitTriggerTask", {"ProjectId": a.project, "TaskId": a_calls_b, "VersionRemark": "x"})
    assert err.code == "FailedOperation" and "no submitted task" in err.message, err.message
    node(api, b, "b1", 35, code="true")
    submit(api, a.project, a_calls_b)
    # b -> a would close the loop a -> b -> a: refused when saved (drafts) and never submitted.
    err = api.error("CreateTriggerTask", {
        "ProjectId": a.project,
        "TriggerTaskBaseAttribute": {"TaskName": unique("b_calls_a"), "TaskTypeId": "140", "WorkflowId": b.workflow},
        "TriggerTaskConfiguration": {"TaskExtConfigurationList": [{"ParamKey": "workflow.id", "ParamValue": a.workflow}]},
        "TriggerTaskSchedulerConfiguration": {},
    })
    assert err.code == "InvalidParameterValue" and "would start its own workflow" in err.message, err.message
    assert a.workflow in err.message and b.workflow in err.message


def test_a_branch_naming_an_unknown_parameter_fails_with_the_reason(api: Api) -> None:
    """Submit cannot know a run's parameters (a trigger adds some): the run's node fails."""
    space = new_space(api)
    target = node(api, space, "t", 35, code="true")
    br = node(api, space, "br", 130, ext=branches(("${missing} == 1", [target])))
    d = finished(api, space, run(api, space))
    tr = by_task(d)[br][0]
    assert tr["ExecutionState"] == "FAILED" and "missing" in tr["ErrorCodeStr"]
    assert "not a parameter of the run" in log_of(api, space, tr)
