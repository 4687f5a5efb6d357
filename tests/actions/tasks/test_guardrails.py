"""Guard rails at save and submit time (issue 16), through the official SDK on SQLite and
PostgreSQL: unknown ``${...}`` names and malformed time expressions are refused by SubmitTask
(naming each, with its line) and noted at save; ``$${...}`` is a literal ``${...}`` in Shell and
Python; a name that disappears after submission fails the run with its name, never renders as
""; UpdateTask keeps what a body leaves out (erasing the code or changing the cycle takes saying
so); a backfill range outside the tasks' StartTime/EndTime names them; AlarmTypes errors offer
only accepted types; a cron syntax error is called one.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest

from tests.actions.instances.test_instances import Space, b64, full_log, new_space, submit, wait_for
from tests.support import Api, unique

ONEOFF = {"CycleType": "ONEOFF_CYCLE", "StartTime": "2025-01-01 00:00:00"}


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


def create(api: Api, space: Space, code: str, *, type_id: str = "35", conf: dict[str, Any] | None = None,
           sched: dict[str, Any] | None = None) -> str:
    return str(api.data("CreateTask", {
        "ProjectId": space.project,
        "TaskBaseAttribute": {"TaskName": unique("g"), "TaskTypeId": type_id, "WorkflowId": space.workflow},
        "TaskConfiguration": {"CodeContent": b64(code), **(conf or {})},
        "TaskSchedulerConfiguration": {**ONEOFF, **(sched or {})},
    })["TaskId"])


def get(api: Api, space: Space, task_id: str) -> dict[str, Any]:
    data: dict[str, Any] = api.raw("GetTask", {"ProjectId": space.project, "TaskId": task_id})["Data"]
    return data


def versions(api: Api, space: Space, task_id: str) -> list[dict[str, Any]]:
    return list(api.data("ListTaskVersions", {"ProjectId": space.project, "TaskId": task_id,
                                              "TaskVersionType": "SAVE"})["Items"])


def submit_error(api: Api, space: Space, task_id: str) -> Any:
    return api.error("SubmitTask", {"ProjectId": space.project, "TaskId": task_id, "VersionRemark": "go"})


def code_of(task: dict[str, Any]) -> str:
    return base64.b64decode(task["TaskConfiguration"]["CodeContent"]).decode()


# ------------------------------------------------------------------------------------------------
# Parameters


@pytest.mark.parametrize("type_id", ["35", "30"])
def test_submit_refuses_unknown_parameters_and_malformed_time_expressions_naming_each(
    api: Api, space: Space, type_id: str
) -> None:
    code = "echo ${yyyyMMd}\necho fine ${yyyyMMdd}\necho ${nosuchparam}" if type_id == "35" else \
        'print("${yyyyMMd}")\nprint("${yyyyMMdd}")\nprint("${nosuchparam}")'
    task_id = create(api, space, code)
    before = get(api, space, task_id)
    err = submit_error(api, space, task_id)
    assert err.code == "InvalidParameterValue"
    assert err.message.startswith(
        "TaskConfiguration.CodeContent: malformed time expression ${yyyyMMd} (line 1); "
        "unknown parameter ${nosuchparam} (line 3)"), err.message
    assert "$${...}" in err.message  # how to write a literal ${
    # Nothing changed: not submitted, no SUBMIT version, no instance.
    assert get(api, space, task_id) == before
    assert before["TaskBaseAttribute"]["Status"] == "N"
    assert api.data("ListTaskInstances", {"ProjectId": space.project, "Keyword": task_id})["TotalCount"] == 0


def test_saving_such_code_warns_in_the_version_remark(api: Api, space: Space) -> None:
    task_id = create(api, space, "echo ${nosuchparam}")
    (v1,) = versions(api, space, task_id)
    assert v1["VersionRemark"].startswith("warning: TaskConfiguration.CodeContent: unknown parameter ${nosuchparam}")
    api.call("UpdateTaskPartially", {"ProjectId": space.project, "TaskId": task_id, "NewSetting": {
        "TaskConfiguration": {"TaskSchedulingParameterList": [{"ParamKey": "nosuchparam", "ParamValue": "x"}]}}})
    v2 = max(versions(api, space, task_id), key=lambda v: v["VersionNum"])
    assert v2["VersionNum"] == "V2" and v2["VersionRemark"] == ""  # fixed: no warning
    api.data("SubmitTask", {"ProjectId": space.project, "TaskId": task_id, "VersionRemark": "go"})


def test_names_the_task_can_see_are_accepted(api: Api, space: Space) -> None:
    wf = api.data("CreateWorkflow", {"ProjectId": space.project, "WorkflowName": unique("wf"),
                                     "ParentFolderPath": "/",
                                     "WorkflowParams": [{"ParamKey": "wfp", "ParamValue": "W"}]})["WorkflowId"]
    up = create(api, space, "echo '${setValue(rows=1)}'", sched={"ParamTaskOutList": [
        {"ParamKey": "rows", "ParamValue": "0"}]})
    code = ("x=1\nfor f in a b; do echo ${f}; done\necho ${x} ${HOME} ${1:-none} ${#x} ${WEDATA_TASK_ID}\n"
            "echo ${tp} ${wfp} ${inp} ${const} ${yyyy-MM-dd} $(yyyyMMdd) $${literal}\n"
            "echo '${setValue(const=${yyyyMMdd})}'")
    task_id = str(api.data("CreateTask", {
        "ProjectId": space.project,
        "TaskBaseAttribute": {"TaskName": unique("g"), "TaskTypeId": "35", "WorkflowId": wf},
        "TaskConfiguration": {"CodeContent": b64(code),
                              "TaskSchedulingParameterList": [{"ParamKey": "tp", "ParamValue": "${yyyyMMdd}"}]},
        "TaskSchedulerConfiguration": {
            **ONEOFF,
            "UpstreamDependencyConfigList": [{"TaskId": up, "MainCyclicConfig": "DAY",
                                              "SubordinateCyclicConfig": "CURRENT_DAY"}],
            "ParamTaskInList": [{"ParamKey": "inp", "FromTaskId": up, "FromParamKey": "rows", "ParamDesc": "rows"}],
            "ParamTaskOutList": [{"ParamKey": "const", "ParamValue": "c"},
                                 {"ParamKey": "sel", "ParamValue": "$[0][1]"}]},
    })["TaskId"])
    (v1,) = versions(api, space, task_id)
    assert v1["VersionRemark"] == ""
    api.data("SubmitTask", {"ProjectId": space.project, "TaskId": task_id, "VersionRemark": "go"})
    # An output defined by a selector has no value before the run: reading it is refused.
    api.call("UpdateTaskPartially", {"ProjectId": space.project, "TaskId": task_id, "NewSetting": {
        "TaskConfiguration": {"CodeContent": b64(code + "\necho ${sel}")}}})
    err = submit_error(api, space, task_id)
    assert "unknown parameter ${sel} (line 6)" in err.message and "selector $[0][1]" in err.message


@pytest.mark.parametrize(("type_id", "code", "expected"), [
    ("35", "echo '$${yyyyMMdd} $${nosuch} $$(HH)' ${yyyyMMdd}", "${yyyyMMdd} ${nosuch} $(HH) 20250101"),
    ("30", 'print("$${nosuch} $${yyyyMMdd} ${yyyyMMdd}")', "${nosuch} ${yyyyMMdd} 20250101"),
])
def test_an_escaped_dollar_brace_renders_literally(api: Api, space: Space, type_id: str, code: str,
                                                   expected: str) -> None:
    ext = {"TaskExtConfigurationList": [{"ParamKey": "python_sub_version", "ParamValue": "python3"}]}
    task_id = submit(api, space, code, type_id=type_id, conf=ext if type_id == "30" else None)
    (item,) = wait_for(api, space, task_id, {"COMPLETED", "EXPIRED"})
    data = api.data("GetTaskInstanceLog", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    assert item["InstanceState"] == "COMPLETED", data["LogInfo"]
    assert expected in data["LogInfo"].split("<br>")
    assert "$$" not in data["CodeContent"] and "${yyyyMMdd}" in data["CodeContent"]


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_a_parameter_gone_after_submission_fails_the_run_naming_it(api: Api, space: Space, tmp_path: Path) -> None:
    wf = api.data("CreateWorkflow", {"ProjectId": space.project, "WorkflowName": unique("wf"),
                                     "ParentFolderPath": "/",
                                     "WorkflowParams": [{"ParamKey": "region", "ParamValue": "eu"}]})["WorkflowId"]
    gate = tmp_path / "go"
    other = Space(space.project, wf)
    up = submit(api, other, f"while [ ! -e {gate} ]; do sleep 0.05; done")
    down = submit(api, other, "echo region=${region}", sched={"MaxRetryNumber": 0, "UpstreamDependencyConfigList": [
        {"TaskId": up, "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"}]})
    api.call("UpdateWorkflow", {"ProjectId": space.project, "WorkflowId": wf,
                                "WorkflowParams": [{"ParamKey": "zone", "ParamValue": "eu"}]})
    time.sleep(5.5)  # the engine caches a workflow's parameters for 5 s
    gate.touch()
    (item,) = wait_for(api, space, down, {"COMPLETED", "EXPIRED"})
    assert item["InstanceState"] == "EXPIRED", full_log(api, space, item["InstanceKey"])
    detail = api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": item["InstanceKey"]})
    assert "cannot render the task's code: unknown parameter ${region} (line 1)" in detail["JobErrorMsg"]
    log, _ = full_log(api, space, item["InstanceKey"])
    assert "unknown parameter ${region}" in log and "region=" not in log.replace("${region}", "")


# ------------------------------------------------------------------------------------------------
# UpdateTask: what is left out stays; erasing the code and changing the cycle take saying so


def update(api: Api, space: Space, task_id: str, conf: dict[str, Any], sched: dict[str, Any]) -> None:
    name = get(api, space, task_id)["TaskBaseAttribute"]["TaskName"]
    api.call("UpdateTask", {"ProjectId": space.project, "TaskId": task_id, "Task": {
        "TaskBaseAttribute": {"TaskName": name, "OwnerUin": "77", "TaskDescription": "d"},
        "TaskConfiguration": conf, "TaskSchedulerConfiguration": sched}})


def test_update_task_with_a_partial_body_keeps_code_cron_and_retries(api: Api, space: Space) -> None:
    task_id = create(api, space, "echo keep me", sched={
        "CycleType": "DAY_CYCLE", "CrontabExpression": "0 30 2 * * ? *", "MaxRetryNumber": 7, "RetryWaitMinute": 9})
    update(api, space, task_id, {}, {"RunPriorityType": 4})
    task = get(api, space, task_id)
    sched = task["TaskSchedulerConfiguration"]
    assert code_of(task) == "echo keep me"
    assert (sched["CycleType"], sched["CrontabExpression"]) == ("DAY_CYCLE", "0 30 2 * * ? *")
    assert (sched["MaxRetryNumber"], sched["RetryWaitMinute"], sched["RunPriorityType"]) == (7, 9, 4)
    assert task["TaskBaseAttribute"]["TaskLatestVersionNo"] == "V2"


def test_an_empty_scheduler_section_leaves_a_one_off_task_one_off(api: Api, space: Space) -> None:
    task_id = create(api, space, "echo once", sched={"StartTime": "2025-06-01 09:30:00"})
    before = get(api, space, task_id)["TaskSchedulerConfiguration"]
    update(api, space, task_id, {}, {})
    after = get(api, space, task_id)["TaskSchedulerConfiguration"]
    assert after == before and after["CycleType"] == "ONEOFF_CYCLE"


def test_changing_the_cycle_or_erasing_the_code_is_explicit(api: Api, space: Space) -> None:
    task_id = create(api, space, "echo code", sched={"StartTime": "2025-06-01 09:30:00"})
    update(api, space, task_id, {"CodeContent": b64("echo new")}, {"CycleType": "HOUR_CYCLE"})
    task = get(api, space, task_id)
    sched = task["TaskSchedulerConfiguration"]
    assert (sched["CycleType"], sched["CrontabExpression"]) == ("HOUR_CYCLE", "0 0 * * * ? *")  # derived anew
    assert code_of(task) == "echo new"
    update(api, space, task_id, {"CodeContent": ""}, {})
    task = get(api, space, task_id)
    assert code_of(task) == "" and task["TaskSchedulerConfiguration"]["CycleType"] == "HOUR_CYCLE"


# ------------------------------------------------------------------------------------------------
# Other guard rails


def test_a_backfill_range_before_the_start_time_names_it(api: Api, space: Space) -> None:
    task_id = create(api, space, "echo day", sched={"CycleType": "DAY_CYCLE", "StartTime": "2025-03-08 00:00:00"})
    api.data("SubmitTask", {"ProjectId": space.project, "TaskId": task_id, "VersionRemark": "go"})
    body = {"ProjectId": space.project, "TaskIds": [task_id],
            "DataBackfillRangeList": [{"StartDate": "2025-03-01", "EndDate": "2025-03-07"}]}
    err = api.error("CreateDataBackfillPlan", body)
    assert err.code == "InvalidParameterValue"
    assert f"the task {task_id} (" in err.message
    assert "StartTime 2025-03-08 00:00:00 and EndTime 2099-12-31 23:59:59 (UTC+8)" in err.message
    assert "end before its StartTime" in err.message
    body["DataBackfillRangeList"] = [{"StartDate": "2025-03-01", "EndDate": "2025-03-08"}]
    assert api.data("CreateDataBackfillPlan", body)["DataBackfillPlanId"]


def test_an_unknown_alarm_type_offers_only_accepted_types(api: Api, space: Space) -> None:
    from tests.actions.alarms.test_alarms import rule_params

    task_id = create(api, space, "echo hi")
    err = api.error("CreateOpsAlarmRule", rule_params(space, [task_id], AlarmTypes=["failed"]))
    assert err.code == "InvalidParameterValue"
    offered = err.message.split("expected one of ", 1)[1].split(", ")
    assert offered == ["failure", "overtime", "success", "backTrackingOrRerunSuccess", "backTrackingOrRerunFailure"]
    overtime = {"AlarmRuleDetail": {"Trigger": 1, "TimeOutExtInfo": [{"RuleType": 1, "Hour": 2}]}}
    for each in offered:  # every type offered is accepted
        api.data("CreateOpsAlarmRule", rule_params(space, [task_id], AlarmTypes=[each],
                                                   **(overtime if each == "overtime" else {})))


def test_a_cron_syntax_error_is_called_a_syntax_error(api: Api, space: Space) -> None:
    for cycle, expr in (("CRONTAB_CYCLE", "0 0 25 * * ? *"), ("DAY_CYCLE", "0 0 0 * *")):
        err = api.error("CreateTask", {
            "ProjectId": space.project,
            "TaskBaseAttribute": {"TaskName": unique("g"), "TaskTypeId": "35", "WorkflowId": space.workflow},
            "TaskConfiguration": {"CodeContent": b64("echo")},
            "TaskSchedulerConfiguration": {"CycleType": cycle, "CrontabExpression": expr}})
        assert err.code == "InvalidParameterValue"
        assert f"CrontabExpression {expr!r} has a syntax error: " in err.message, err.message
        assert "does not fit" not in err.message
