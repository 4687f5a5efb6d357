"""Task dependencies through the official SDK: edges stored once and projected both ways,
downstream lists written from the upstream side, and every rule that keeps the graph sound."""

from __future__ import annotations

from typing import Any

import pytest

from tests.actions.tasks.test_tasks import MISSING_TASK, Space, create, full_task, get, new_space, sched_of
from tests.support import Api, ServerProcess

DE = "308335260676890624"  # the DataEngineer project role


def dep(task_id: str, main: str = "DAY", sub: str | None = "CURRENT_DAY", **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"TaskId": task_id, "MainCyclicConfig": main, **extra}
    if sub is not None:
        item["SubordinateCyclicConfig"] = sub
    return item


def set_upstream(api: Api, space: Space, task_id: str, *deps: dict[str, Any]) -> None:
    api.call("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": task_id,
        "NewSetting": {"TaskSchedulerConfiguration": {"UpstreamDependencyConfigList": list(deps)}},
    })


def patch_error(api: Api, space: Space, task_id: str, sched: dict[str, Any]) -> str:
    err = api.error("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": task_id, "NewSetting": {"TaskSchedulerConfiguration": sched},
    })
    return str(err.code)


def ups(api: Api, space: Space, task_id: str) -> list[str]:
    return [d["TaskId"] for d in sched_of(api, space, task_id)["UpstreamDependencyConfigList"]]


def downs(api: Api, space: Space, task_id: str) -> list[str]:
    sched = sched_of(api, space, task_id)
    assert sched["DownstreamDependencyConfigList"] == sched["DownStreamDependencyConfigList"]
    return [d["TaskId"] for d in sched["DownstreamDependencyConfigList"]]


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


def test_edges_are_projected_both_ways(api: Api, space: Space) -> None:
    a, b = create(api, space), create(api, space)
    c = create(api, space, sched={"UpstreamDependencyConfigList": [
        dep(a), dep(b, "RANGE_DAY", None, Offset="-1,0",
                    DependencyStrategy={"PollingNullStrategy": "EXECUTING",
                                        "TaskDependencyExecutingStrategies": ["PARENT_TIMEOUT", "NOT_EXIST"],
                                        "TaskDependencyExecutingTimeoutValue": 30})]})
    sched = sched_of(api, space, c)
    assert sched["UpstreamDependencyConfigList"] == [
        {"TaskId": a, "MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY", "Offset": None,
         "DependencyStrategy": {"PollingNullStrategy": "WAITING", "TaskDependencyExecutingStrategies": None,
                                "TaskDependencyExecutingTimeoutValue": None}},
        {"TaskId": b, "MainCyclicConfig": "RANGE_DAY", "SubordinateCyclicConfig": None, "Offset": "-1,0",
         "DependencyStrategy": {"PollingNullStrategy": "EXECUTING",
                                "TaskDependencyExecutingStrategies": ["PARENT_TIMEOUT", "NOT_EXIST"],
                                "TaskDependencyExecutingTimeoutValue": 30}},
    ]
    assert downs(api, space, a) == [c] and downs(api, space, b) == [c]
    assert sched_of(api, space, a)["DownstreamDependencyConfigList"][0]["MainCyclicConfig"] == "DAY"


def test_downstream_list_is_written_from_the_upstream_side(api: Api, space: Space) -> None:
    up, d1, d2 = create(api, space), create(api, space), create(api, space)
    api.call("SubmitTask", {"ProjectId": space.project, "TaskId": d1, "VersionRemark": "x"})
    name = get(api, space, up)["TaskBaseAttribute"]["TaskName"]
    task = full_task(name, DownstreamDependencyConfigList=[dep(d1), dep(d2, "DAY", "PREVIOUS_DAY")])
    api.call("UpdateTask", {"ProjectId": space.project, "TaskId": up, "Task": task})
    assert downs(api, space, up) == [d1, d2]
    assert ups(api, space, d2) == [up]
    assert sched_of(api, space, d2)["UpstreamDependencyConfigList"][0]["SubordinateCyclicConfig"] == "PREVIOUS_DAY"
    # The downstream tasks' definitions changed: each got a new saved version.
    base = get(api, space, d1)["TaskBaseAttribute"]
    assert (base["TaskLatestVersionNo"], base["Submit"], base["Status"]) == ("V2", False, "Y")
    # UpdateTask without a downstream list leaves the downstream edges alone ...
    api.call("UpdateTask", {"ProjectId": space.project, "TaskId": up, "Task": full_task(name)})
    assert downs(api, space, up) == [d1, d2]
    # ... the old spelling with an empty list removes them.
    api.call("UpdateTask", {"ProjectId": space.project, "TaskId": up,
                            "Task": full_task(name, DownStreamDependencyConfigList=[])})
    assert downs(api, space, up) == [] and ups(api, space, d1) == []
    assert get(api, space, d1)["TaskBaseAttribute"]["TaskLatestVersionNo"] == "V3"


def test_partial_update_upserts_and_removes_edges(api: Api, space: Space) -> None:
    a, b, c, d = (create(api, space) for _ in range(4))
    set_upstream(api, space, c, dep(a))
    set_upstream(api, space, c, dep(b), dep(a, "DAY", "PREVIOUS_DAY"))  # upsert by TaskId
    sched = sched_of(api, space, c)
    assert [(x["TaskId"], x["SubordinateCyclicConfig"]) for x in sched["UpstreamDependencyConfigList"]] == [
        (a, "PREVIOUS_DAY"), (b, "CURRENT_DAY"),
    ]
    api.call("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": c,
        "NewSetting": {"TaskSchedulerConfiguration": {"DownstreamDependencyConfigList": [dep(d)]}},
        "FieldToRemoveList": [f"TaskSchedulerConfiguration/UpstreamDependencyConfigList:{a}"],
    })
    assert ups(api, space, c) == [b] and ups(api, space, d) == [c] and downs(api, space, a) == []
    api.call("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": c,
        "FieldToRemoveList": [f"TaskSchedulerConfiguration/DownStreamDependencyConfigList:{d}"],
    })
    assert downs(api, space, c) == [] and ups(api, space, d) == []


def test_bad_dependencies_change_nothing(api: Api, space: Space) -> None:
    a, b, c = create(api, space), create(api, space), create(api, space)
    set_upstream(api, space, b, dep(a))
    set_upstream(api, space, c, dep(b))  # a <- b <- c
    before = {t: get(api, space, t) for t in (a, b, c)}
    bad: list[tuple[str, dict[str, Any]]] = [
        (a, {"UpstreamDependencyConfigList": [dep(MISSING_TASK)]}),
        (a, {"UpstreamDependencyConfigList": [dep(a)]}),  # itself
        (a, {"UpstreamDependencyConfigList": [dep(b)]}),  # closes a <- b
        (a, {"UpstreamDependencyConfigList": [dep(c)]}),  # closes a <- b <- c
        (c, {"DownstreamDependencyConfigList": [dep(a)]}),  # the same cycle, from the other side
        (a, {"DownstreamDependencyConfigList": [dep(a)]}),
        (a, {"UpstreamDependencyConfigList": [dep(b), dep(b)]}),
        (a, {"UpstreamDependencyConfigList": [dep(MISSING_TASK, "WEEKLY")]}),
        (a, {"UpstreamDependencyConfigList": [dep(MISSING_TASK, "DAY", "CURRENT_HOUR")]}),
        (c, {"UpstreamDependencyConfigList": [dep(a, "DAY", "CURRENT_DAY", Offset="-1,0")]}),
        (c, {"UpstreamDependencyConfigList": [dep(a, "RANGE_DAY", None)]}),  # RANGE needs an Offset
        (c, {"UpstreamDependencyConfigList": [dep(a, "LIST_HOUR", None, Offset="x")]}),
        (c, {"UpstreamDependencyConfigList": [dep(a, DependencyStrategy={"PollingNullStrategy": "MAYBE"})]}),
        (c, {"UpstreamDependencyConfigList": [dep(a, DependencyStrategy={
            "PollingNullStrategy": "WAITING", "TaskDependencyExecutingStrategies": ["NOT_EXIST"]})]}),
        (c, {"UpstreamDependencyConfigList": [dep(a, DependencyStrategy={
            "PollingNullStrategy": "EXECUTING", "TaskDependencyExecutingStrategies": ["PARENT_TIMEOUT"]})]}),
        (c, {"UpstreamDependencyConfigList": [dep(a, DependencyStrategy={
            "PollingNullStrategy": "EXECUTING", "TaskDependencyExecutingStrategies": ["WHENEVER"]})]}),
    ]
    for task_id, sched in bad:
        assert patch_error(api, space, task_id, sched) == "InvalidParameterValue", sched
    assert {t: get(api, space, t) for t in (a, b, c)} == before


def test_parameter_passing_needs_an_upstream_producer(api: Api, space: Space) -> None:
    producer = create(api, space, sched={"ParamTaskOutList": [{"ParamKey": "out", "ParamValue": "$[0][0]"}]})
    stranger = create(api, space, sched={"ParamTaskOutList": [{"ParamKey": "out", "ParamValue": "1"}]})
    in_param = {"ParamKey": "in", "ParamDesc": "p.producer.out", "FromTaskId": producer, "FromParamKey": "out"}
    consumer = create(api, space, sched={"UpstreamDependencyConfigList": [dep(producer)], "ParamTaskInList": [in_param]})
    before = get(api, space, consumer)
    assert before["TaskSchedulerConfiguration"]["ParamTaskInList"] == [{**in_param, "Type": None}]
    # The producer must be a direct upstream and declare the parameter.
    assert patch_error(api, space, consumer, {"ParamTaskInList": [{**in_param, "FromTaskId": stranger}]}) == (
        "InvalidParameterValue"
    )
    assert patch_error(api, space, consumer, {"ParamTaskInList": [{**in_param, "FromParamKey": "nope"}]}) == (
        "InvalidParameterValue"
    )
    # Neither side can silently break the reference.
    err = api.error("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": consumer,
        "FieldToRemoveList": [f"TaskSchedulerConfiguration/UpstreamDependencyConfigList:{producer}"],
    })
    assert err.code == "InvalidParameterValue"
    err = api.error("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": producer,
        "FieldToRemoveList": ["TaskSchedulerConfiguration/ParamTaskOutList:out"],
    })
    assert err.code == "InvalidParameterValue"
    err = api.error("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": producer,
        "NewSetting": {"TaskSchedulerConfiguration": {"DownstreamDependencyConfigList": []}},
        "FieldToRemoveList": [f"TaskSchedulerConfiguration/DownstreamDependencyConfigList:{consumer}"],
    })
    assert err.code == "InvalidParameterValue"
    assert get(api, space, consumer) == before


def test_allow_downstream_dependency(api: Api, space: Space) -> None:
    closed = create(api, space, sched={"AllowDownstreamDependency": 0})
    other = create(api, space)
    assert patch_error(api, space, other, {"UpstreamDependencyConfigList": [dep(closed)]}) == "InvalidParameterValue"
    assert patch_error(api, space, closed, {"DownstreamDependencyConfigList": [dep(other)]}) == "InvalidParameterValue"
    opened = create(api, space)
    set_upstream(api, space, other, dep(opened))
    assert patch_error(api, space, opened, {"AllowDownstreamDependency": 0}) == "InvalidParameterValue"
    assert ups(api, space, other) == [opened]


def test_cross_project_dependencies_need_membership(api: Api, space: Space, server: ServerProcess) -> None:
    elsewhere = new_space(api)
    foreign = create(api, elsewhere)
    local = create(api, space)
    set_upstream(api, space, local, dep(foreign))  # the administrator sees every project
    assert downs(api, elsewhere, foreign) == [local]
    user = server.new_user()
    api.call("CreateProjectMember", {"ProjectId": space.project, "UserUins": [user.uin], "RoleIds": [DE]})  # type: ignore[attr-defined]
    mine = create(user, space)
    err = user.error("UpdateTaskPartially", {
        "ProjectId": space.project, "TaskId": mine,
        "NewSetting": {"TaskSchedulerConfiguration": {"UpstreamDependencyConfigList": [dep(foreign)]}},
    })
    assert err.code == "InvalidParameterValue"
    assert ups(api, space, mine) == []
    base = get(api, space, mine)["TaskBaseAttribute"]
    assert base["CreateUserUin"] == base["OwnerUin"] == user.uin  # type: ignore[attr-defined]


def test_unified_workflow_schedule_rewrites_the_tasks(api: Api) -> None:
    space = new_space(api)
    b = create(api, space)
    a = create(api, space, sched={"RunPriorityType": 4, "UpstreamDependencyConfigList": [dep(b)]})
    schedule = {
        "ScheduleTimeZone": "UTC+8", "CycleType": "HOUR_CYCLE", "SelfDepend": "orderly",
        "StartTime": "2025-06-01 00:00:00", "EndTime": "2030-12-31 23:59:59", "CrontabExpression": "0 15 */2 * * ?",
        "ModifyCycleValue": "1", "MainCyclicConfig": "HOUR", "SubordinateCyclicConfig": "CURRENT_HOUR",
    }
    api.call("UpdateWorkflow", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                "WorkflowSchedulerConfiguration": schedule})
    for task_id in (a, b):
        data = get(api, space, task_id)
        sched = data["TaskSchedulerConfiguration"]
        assert (sched["CycleType"], sched["CrontabExpression"], sched["SelfDepend"]) == (
            "HOUR_CYCLE", "0 15 */2 * * ?", "orderly",
        )
        assert (sched["StartTime"], sched["EndTime"]) == ("2025-06-01 00:00:00", "2030-12-31 23:59:59")
        assert data["TaskBaseAttribute"]["TaskLatestVersionNo"] == "V2"
    assert sched_of(api, space, a)["RunPriorityType"] == 4  # the rest of the definition is kept
    (edge,) = sched_of(api, space, a)["UpstreamDependencyConfigList"]
    assert (edge["TaskId"], edge["MainCyclicConfig"], edge["SubordinateCyclicConfig"]) == (b, "HOUR", "CURRENT_HOUR")
