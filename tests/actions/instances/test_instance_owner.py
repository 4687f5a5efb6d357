"""ListTaskInstances' OwnerUin through the official SDK, on SQLite and PostgreSQL: the filter
reads each instance's copy of its task's owner (storage/instance_owner.py), so every way an
owner changes must reach the instances already made, and every way an instance is made must
take the owner the task has at that moment: UpdateTask, UpdateOpsTasksOwner and
UpdateOpsTriggerTasksOwner; the planner, backfills and trigger workflow runs.
"""

from __future__ import annotations

from typing import Any

from tests.actions.backfill.test_backfill import create as create_backfill
from tests.actions.backfill.test_backfill import task as daily_task
from tests.actions.backfill.test_backfill import wait_plan
from tests.actions.instances.test_instances import Space, new_space, submit, wait_for
from tests.actions.triggers import test_definitions as trig
from tests.actions.triggers.test_runs import finished, run
from tests.support import ADMIN_UIN, Api
from tests.waiting import wait_until


def by_owner(api: Api, project: str, owner: str, **extra: Any) -> list[tuple[str, list[str]]]:
    """(InstanceKey, OwnerUinList) of every instance ``owner`` owns in the project, all pages."""
    out: list[tuple[str, list[str]]] = []
    page = 1
    while True:
        data = api.data("ListTaskInstances", {"ProjectId": project, "OwnerUin": owner, "PageSize": 2,
                                              "PageNumber": page, **extra})
        out += [(i["InstanceKey"], i["OwnerUinList"]) for i in data["Items"]]
        if page * 2 >= data["TotalCount"]:
            assert len(out) == data["TotalCount"]
            return out
        page += 1


def keys_of(api: Api, space: Space, task_id: str) -> set[str]:
    data = api.data("ListTaskInstances", {"ProjectId": space.project, "Keyword": task_id, "PageSize": 100})
    return {i["InstanceKey"] for i in data["Items"]}


def update_task(api: Api, space: Space, task_id: str, **base: str) -> None:
    """UpdateTask of the task's base attributes; what else UpdateTask requires is given as it is."""
    now = api.data("GetTask", {"ProjectId": space.project, "TaskId": task_id})
    api.data("UpdateTask", {"ProjectId": space.project, "TaskId": task_id, "Task": {
        "TaskBaseAttribute": {**{k: now["TaskBaseAttribute"][k] or "" for k in ("TaskName", "TaskDescription", "OwnerUin")},
                              **base},
        "TaskConfiguration": {"CodeContent": now["TaskConfiguration"]["CodeContent"]},
        "TaskSchedulerConfiguration": {"CycleType": now["TaskSchedulerConfiguration"]["CycleType"]}}})


def test_the_owner_filter_follows_every_change_of_a_task_owner(api: Api) -> None:
    space = new_space(api)
    mine, other = submit(api, space, "true"), submit(api, space, "true")
    wait_for(api, space, mine, {"COMPLETED"})
    wait_for(api, space, other, {"COMPLETED"})
    both = keys_of(api, space, mine) | keys_of(api, space, other)
    assert len(both) == 2
    assert {k for k, _ in by_owner(api, space.project, ADMIN_UIN)} == both

    # UpdateTask: the draft's owner is the task's owner; its instances follow at once.
    update_task(api, space, mine, OwnerUin="100000000501")
    assert by_owner(api, space.project, "100000000501") == [(k, ["100000000501"]) for k in keys_of(api, space, mine)]
    assert {k for k, _ in by_owner(api, space.project, ADMIN_UIN)} == keys_of(api, space, other)
    # Saving the task again without touching the owner changes nothing.
    update_task(api, space, mine, TaskDescription="again")
    assert len(by_owner(api, space.project, "100000000501")) == 1

    # UpdateOpsTasksOwner, on both tasks at once.
    assert api.data("UpdateOpsTasksOwner", {"ProjectId": space.project, "TaskIds": [mine, other],
                                            "OwnerUin": "100000000502"}) == {"Status": True}
    assert {k for k, _ in by_owner(api, space.project, "100000000502")} == both
    assert by_owner(api, space.project, "100000000501") == [] and by_owner(api, space.project, ADMIN_UIN) == []
    # The owner is one filter among the others: with a state that none has, nothing.
    assert by_owner(api, space.project, "100000000502", InstanceState="RUNNING") == []
    # Another project's instances are never listed, whoever owns them.
    assert by_owner(api, new_space(api).project, "100000000502") == []


def test_new_instances_take_the_owner_the_task_has_now(api: Api) -> None:
    """A periodic task whose owner changed after it was submitted: the backfill's new instances
    carry the new owner, not the one in the submitted version."""
    space = new_space(api)
    tid = daily_task(api, space)
    # Today's periodic instance(s), made by the planner with the creator as owner.
    planned = wait_until(lambda: keys_of(api, space, tid), bool, what=f"the planned instances of {tid}")
    assert {k for k, _ in by_owner(api, space.project, ADMIN_UIN)} == planned
    update_task(api, space, tid, OwnerUin="100000000503")
    plan = create_backfill(api, space, [tid], "2024-03-01", "2024-03-03")
    wait_plan(api, space, plan)
    owned = by_owner(api, space.project, "100000000503")
    assert {k for k, _ in owned} == keys_of(api, space, tid) and len(owned) == len(planned) + 3
    assert {tuple(o) for _, o in owned} == {("100000000503",)}
    assert by_owner(api, space.project, ADMIN_UIN) == []


def test_trigger_task_instances_follow_their_owner(api: Api) -> None:
    space = trig.new_space(api)
    first = trig.trigger_task(api, space, "a", "true")
    second = trig.trigger_task(api, space, "b", "true", upstream=[first])
    for t in (first, second):
        trig.submit(api, space.project, t)
    finished(api, space, run(api, space))
    made = by_owner(api, space.project, ADMIN_UIN)
    assert len(made) == 2
    got = api.data("UpdateOpsTriggerTasksOwner", {"ProjectId": space.project, "OwnerIds": ["1001", "1002"],
                                                  "TaskIds": [second]})
    assert got["SuccessCount"] == 1
    moved = by_owner(api, space.project, "1001;1002")
    assert [o for _, o in moved] == [["1001;1002"]] and moved[0][0].startswith(second)
    assert [k for k, _ in by_owner(api, space.project, ADMIN_UIN)] == [k for k, _ in made if k != moved[0][0]]
    # A run made after the change takes the new owner from the start.
    finished(api, space, run(api, space))
    assert len(by_owner(api, space.project, "1001;1002")) == 2
