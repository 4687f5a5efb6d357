"""ListUpstreamTaskInstances / ListDownstreamTaskInstances through the official SDK, on SQLite and
PostgreSQL. The server's engine plans and runs a small dependency graph of one-off Shell tasks
(all on the data time 2025-01-01 00:00:00):

    A ──┬──> C
    B ──┘
    A ─────> D

so C has two direct upstream instances, A two direct downstream ones, and B and D one each.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.actions.instances.test_instances import ITEM_KEYS, Space, new_space, submit, wait_for
from tests.support import Api, ServerProcess, unique

ACTIONS = ("ListUpstreamTaskInstances", "ListDownstreamTaskInstances")
SAME_DAY = {"MainCyclicConfig": "DAY", "SubordinateCyclicConfig": "CURRENT_DAY"}


@pytest.fixture(scope="module")
def space(api: Api) -> Space:
    return new_space(api)


@pytest.fixture(scope="module")
def graph(api: Api, space: Space) -> dict[str, dict[str, Any]]:
    """The ListTaskInstances item of each of A, B, C, D once all four have completed."""
    a = submit(api, space, "echo a", name=unique("a"))
    b = submit(api, space, "echo b", name=unique("b"))
    c = submit(api, space, "echo c", name=unique("c"), sched={"UpstreamDependencyConfigList": [
        {"TaskId": a, **SAME_DAY}, {"TaskId": b, **SAME_DAY}]})
    d = submit(api, space, "echo d", name=unique("d"), sched={"UpstreamDependencyConfigList": [
        {"TaskId": a, **SAME_DAY}]})
    items = {}
    for name, task_id in (("C", c), ("D", d), ("A", a), ("B", b)):
        (items[name],) = wait_for(api, space, task_id, {"COMPLETED"})
    return items


def lineage(api: Api, space: Space, action: str, item: dict[str, Any], **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = api.data(action, {"ProjectId": space.project, "InstanceKey": item["InstanceKey"], **kw})
    return data


def keys(page: dict[str, Any]) -> list[str]:
    return [i["InstanceKey"] for i in page["Items"]]


def test_upstream_lists_the_direct_parents_as_full_instance_items(
    api: Api, space: Space, graph: dict[str, dict[str, Any]]
) -> None:
    page = lineage(api, space, "ListUpstreamTaskInstances", graph["C"])
    assert set(page) == {"TotalCount", "TotalPageNumber", "PageNumber", "PageSize", "Items"}
    assert (page["TotalCount"], page["TotalPageNumber"], page["PageNumber"], page["PageSize"]) == (2, 1, 1, 10)
    assert sorted(keys(page)) == sorted([graph["A"]["InstanceKey"], graph["B"]["InstanceKey"]])
    for item in page["Items"]:
        assert set(item) == ITEM_KEYS
    # Exactly the items ListTaskInstances shows for the same instances (one renderer).
    expected = {graph[n]["InstanceKey"]: graph[n] for n in ("A", "B")}
    assert {i["InstanceKey"]: i for i in page["Items"]} == expected
    d_up = lineage(api, space, "ListUpstreamTaskInstances", graph["D"])
    assert keys(d_up) == [graph["A"]["InstanceKey"]] and d_up["TotalCount"] == 1


def test_downstream_lists_the_direct_children(api: Api, space: Space, graph: dict[str, dict[str, Any]]) -> None:
    a_down = lineage(api, space, "ListDownstreamTaskInstances", graph["A"])
    assert (a_down["TotalCount"], a_down["TotalPageNumber"]) == (2, 1)
    assert {i["InstanceKey"]: i for i in a_down["Items"]} == {graph[n]["InstanceKey"]: graph[n] for n in ("C", "D")}
    b_down = lineage(api, space, "ListDownstreamTaskInstances", graph["B"])
    assert keys(b_down) == [graph["C"]["InstanceKey"]]


def test_roots_and_leaves_have_empty_pages(api: Api, space: Space, graph: dict[str, dict[str, Any]]) -> None:
    for action, name in (("ListUpstreamTaskInstances", "A"), ("ListUpstreamTaskInstances", "B"),
                         ("ListDownstreamTaskInstances", "C"), ("ListDownstreamTaskInstances", "D")):
        page = lineage(api, space, action, graph[name])
        assert (page["TotalCount"], page["TotalPageNumber"], page["PageNumber"], page["PageSize"], page["Items"]) == (
            0, 0, 1, 10, []), (action, name)


def test_paging_walks_every_item_once(api: Api, space: Space, graph: dict[str, dict[str, Any]]) -> None:
    for action, name in (("ListUpstreamTaskInstances", "C"), ("ListDownstreamTaskInstances", "A")):
        seen = []
        for number in (1, 2):
            page = lineage(api, space, action, graph[name], PageSize=1, PageNumber=number)
            assert (page["TotalCount"], page["TotalPageNumber"], page["PageNumber"], page["PageSize"]) == (
                2, 2, number, 1)
            seen += keys(page)
        full = keys(lineage(api, space, action, graph[name], PageSize=100))
        assert seen == full and len(set(full)) == 2
        past = lineage(api, space, action, graph[name], PageSize=1, PageNumber=3)
        assert (past["TotalCount"], past["Items"]) == (2, [])


def test_time_zone_shifts_wall_times_but_not_the_data_time(
    api: Api, space: Space, graph: dict[str, dict[str, Any]]
) -> None:
    for action, name, other in (("ListUpstreamTaskInstances", "D", "A"), ("ListDownstreamTaskInstances", "B", "C")):
        (item,) = lineage(api, space, action, graph[name], TimeZone="UTC+6")["Items"]
        detail = api.data("GetTaskInstance", {"ProjectId": space.project, "InstanceKey": graph[other]["InstanceKey"],
                                              "TimeZone": "UTC+6"})
        assert item == {k: detail[k] for k in ITEM_KEYS}
        assert item["CurRunDate"] == graph[other]["CurRunDate"] == "2025-01-01 00:00:00"
        assert item["StartTime"] != graph[other]["StartTime"]  # UTC+8 by default: two hours apart
        blank = lineage(api, space, action, graph[name], TimeZone="")["Items"]
        assert blank == [graph[other]]


@pytest.mark.parametrize("action", ACTIONS)
def test_bad_input(api: Api, space: Space, server: ServerProcess, graph: dict[str, dict[str, Any]],
                   action: str) -> None:
    key = graph["C"]["InstanceKey"]
    base = {"ProjectId": space.project, "InstanceKey": key}
    assert api.error(action, {"ProjectId": space.project}, raw=True).code == "MissingParameter"
    assert api.error(action, {"InstanceKey": key}, raw=True).code == "MissingParameter"
    assert api.error(action, {**base, "Extra": 1}, raw=True).code == "UnknownParameter"
    assert api.error(action, {**base, "InstanceKey": 7}, raw=True).code == "InvalidParameterValue"
    for bad in ({"PageSize": 0}, {"PageSize": 101}, {"PageNumber": 0}, {"PageSize": "many"},
                {"TimeZone": "Mars/Base"}, {"InstanceKey": "nonsense"}, {"InstanceKey": ""}):
        assert api.error(action, {**base, **bad}, raw=True).code == "InvalidParameterValue", bad
    missing = f"{graph['C']['TaskId']}_2024-01-01 00:00:00"
    assert api.error(action, {**base, "InstanceKey": missing}).code == "ResourceNotFound"
    assert api.error(action, {**base, "InstanceKey": f"99999999999999999_{key.split('_')[1]}"}).code == (
        "ResourceNotFound")
    other = new_space(api)
    assert api.error(action, {**base, "ProjectId": other.project}).code == "ResourceNotFound"
    assert api.error(action, {**base, "ProjectId": "1" * 19}).code == "ResourceNotFound"
    stranger = server.new_user()
    assert stranger.error(action, base).code == "UnauthorizedOperation.UserNotInProject"
    # The same reads still answer the same thing afterwards (reads change nothing).
    assert len(lineage(api, space, action, graph["C"] if action.startswith("ListUp") else graph["A"])["Items"]) == 2
