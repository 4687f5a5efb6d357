"""Trigger rules (DependencyTriggerPolicy) inside one workflow run, through the official SDK: each
row of the table in docs/triggers.md, with the skip propagation Airflow users expect.

One workflow holds the upstream kinds every row needs — ``ok`` (succeeds), ``bad`` (fails),
``skipped`` (ALL_FAILED after ``ok``: ends SKIP) and ``slow`` (succeeds after 3 s) — and, for
each policy, tasks downstream of chosen combinations; one run decides them all. SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.actions.triggers.test_definitions import Space, new_space, submit
from tests.actions.triggers.test_runs import finished, run
from tests.support import Api, unique

# (policy, upstream kinds, expected task-run state, whether it must start before ``slow`` ends)
ROWS: list[tuple[str, tuple[str, ...], str, bool]] = [
    ("ALL_SUCCESS", ("ok",), "SUCCESS", False),
    ("ALL_SUCCESS", ("ok", "skipped"), "SKIP", False),
    ("ALL_SUCCESS", ("ok", "bad"), "FAILED", False),
    ("ALL_FAILED", ("bad",), "SUCCESS", False),
    ("ALL_FAILED", ("bad", "ok"), "SKIP", False),
    ("ALL_DONE", ("ok", "bad", "skipped"), "SUCCESS", False),
    ("ALL_DONE_AT_LEAST_ONE_SUCCESS", ("ok", "bad"), "SUCCESS", False),
    ("ALL_DONE_AT_LEAST_ONE_SUCCESS", ("bad", "skipped"), "SKIP", False),
    ("ALL_SKIPPED", ("skipped",), "SUCCESS", False),
    ("ALL_SKIPPED", ("skipped", "ok"), "SKIP", False),
    ("ONE_FAILED", ("bad", "slow"), "SUCCESS", True),
    ("ONE_FAILED", ("ok", "skipped"), "SKIP", False),
    ("ONE_SUCCESS", ("ok", "slow"), "SUCCESS", True),
    ("ONE_SUCCESS", ("bad", "skipped"), "SKIP", False),
    ("ONE_DONE", ("bad", "slow"), "SUCCESS", True),
    ("ONE_DONE", ("skipped",), "SKIP", False),
    ("NONE_FAILED", ("ok", "skipped"), "SUCCESS", False),
    ("NONE_FAILED", ("ok", "bad"), "FAILED", False),
    ("ALL_DONE_NONE_FAILED_AT_LEAST_ONE_SUCCESS", ("ok", "skipped"), "SUCCESS", False),
    ("ALL_DONE_NONE_FAILED_AT_LEAST_ONE_SUCCESS", ("skipped",), "SKIP", False),
    ("ALL_DONE_NONE_FAILED_AT_LEAST_ONE_SUCCESS", ("ok", "bad"), "SKIP", False),
    ("NONE_SKIPPED", ("ok", "bad"), "SUCCESS", False),
    ("NONE_SKIPPED", ("ok", "skipped"), "SKIP", False),
    ("ALL_DONE_AT_LEAST_ONE_FAILED", ("ok", "bad"), "SUCCESS", False),
    ("ALL_DONE_AT_LEAST_ONE_FAILED", ("ok", "skipped"), "SKIP", False),
]


def task(api: Api, space: Space, name: str, code: str, upstream: list[str], policy: str = "ALL_SUCCESS") -> str:
    tid = str(api.data("CreateTriggerTask", {
        "ProjectId": space.project,
        "TriggerTaskBaseAttribute": {"TaskName": unique(name), "TaskTypeId": "35", "WorkflowId": space.workflow},
        "TriggerTaskConfiguration": {"CodeContent": base64.b64encode(code.encode()).decode()},
        "TriggerTaskSchedulerConfiguration": {"MaxRetryNumber": 0, "DependencyTriggerPolicy": policy,
                                              "UpstreamDependencyConfigList": [{"TaskId": u} for u in upstream]},
    })["TaskId"])
    submit(api, space.project, tid)
    return tid


@pytest.fixture(scope="module")
def outcome(api: Api) -> tuple[dict[str, str], dict[str, dict[str, Any]], dict[str, Any]]:
    space = new_space(api)
    names: dict[str, str] = {}
    names["ok"] = task(api, space, "ok", "true", [])
    names["bad"] = task(api, space, "bad", "exit 1", [])
    names["slow"] = task(api, space, "slow", "sleep 3", [])
    names["skipped"] = task(api, space, "skipped", "echo must-not-run", [names["ok"]], "ALL_FAILED")
    for i, (policy, ups, _, _) in enumerate(ROWS):
        names[f"row{i}"] = task(api, space, f"row{i}", "true", [names[u] for u in ups], policy)
    # Propagation: a skip walks down ALL_SUCCESS, ALL_DONE stops it; upstream-failed counts as
    # failed for ALL_FAILED.
    names["s1"] = task(api, space, "s1", "true", [names["skipped"]])
    names["s2"] = task(api, space, "s2", "true", [names["s1"]])
    names["s3"] = task(api, space, "s3", "true", [names["s2"]], "ALL_DONE")
    names["f1"] = task(api, space, "f1", "true", [names["bad"]])
    names["f2"] = task(api, space, "f2", "true", [names["f1"]])
    names["f3"] = task(api, space, "f3", "true", [names["f1"]], "ALL_FAILED")
    d = finished(api, space, run(api, space))
    by_task = {t["TaskId"]: t for t in d["TriggerTaskRuns"]}
    return names, by_task, d


@pytest.mark.parametrize("row", range(len(ROWS)), ids=[f"{p}-{'+'.join(u)}" for p, u, _, _ in ROWS])
def test_each_policy_row(outcome: Any, row: int) -> None:
    names, by_task, _ = outcome
    policy, _, expected, early = ROWS[row]
    tr = by_task[names[f"row{row}"]]
    assert tr["ExecutionState"] == expected, tr
    assert tr["DependencyTriggerPolicy"] == policy
    if expected == "SUCCESS":
        assert tr["ExecutionStartTime"] is not None
    else:  # decided without running, and says why
        assert tr["ExecutionStartTime"] is None
        word = "upstream failed" if expected == "FAILED" else "skipped"
        assert word in tr["ErrorCodeStr"] and policy in tr["ErrorCodeStr"], tr["ErrorCodeStr"]
    if early:  # ONE_*: it went as soon as its condition held, not when every upstream ended
        assert int(tr["ExecutionStartTime"]) < int(by_task[names["slow"]]["ExecutionEndTime"])


def test_sources_and_propagation(outcome: Any) -> None:
    names, by_task, d = outcome
    state = {k: by_task[v]["ExecutionState"] for k, v in names.items()}
    assert (state["ok"], state["bad"], state["slow"], state["skipped"]) == ("SUCCESS", "FAILED", "SUCCESS", "SKIP")
    assert by_task[names["skipped"]]["ExecutionStartTime"] is None
    # Under ALL_SUCCESS a skip propagates down the chain; ALL_DONE runs after it.
    assert (state["s1"], state["s2"], state["s3"]) == ("SKIP", "SKIP", "SUCCESS")
    # A failure makes its ALL_SUCCESS downstream upstream-failed, and on down; ALL_FAILED passes.
    assert (state["f1"], state["f2"], state["f3"]) == ("FAILED", "FAILED", "SUCCESS")
    assert "upstream failed" in by_task[names["f2"]]["ErrorCodeStr"]
    # The run failed (a task failed); it ended once every task run had.
    assert d["TriggerWorkflowRun"]["ExecutionState"] == "FAILED"
    counts = {b["LabelKey"]: b["Count"] for b in d["BizStateEnumInfos"]}
    assert sum(counts.values()) == len(names) and counts["SKIP"] >= 10
