"""MaxConcurrentNum and QueuingMode through the official SDK: runs created at once never overlap
beyond the cap and start in queue order; QueuingMode 0 skips; a run queued longer than 48 hours
(on a scaled clock) is skipped with the reason; a queued run can be killed. SQLite and
PostgreSQL (the expiry on SQLite only)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.actions.triggers.test_definitions import Space, submit, trigger_task, workflow_project
from tests.actions.triggers.test_runs import FINISHED, detail, finished, run
from tests.support import Api, ServerProcess, unique
from tests.waiting import wait_until


def capped_space(api: Api, cap: int, mode: int) -> Space:
    project = workflow_project(api)
    workflow = api.data("CreateTriggerWorkflow", {
        "ProjectId": project, "WorkflowName": unique("cap"), "ParentFolderPath": "/",
        "TriggerWorkflowRunConfiguration": {"MaxConcurrentNum": cap, "QueuingMode": mode},
    })["WorkflowId"]
    return Space(project, workflow)


def runs_of(api: Api, space: Space) -> list[dict[str, Any]]:
    return list(api.data("ListTriggerWorkflowRuns", {"ProjectId": space.project, "PageSize": 100, "Filters": [
        {"Name": "WorkflowId", "Values": [space.workflow]}]})["Items"])


def test_runs_created_at_once_respect_the_cap_and_start_in_order(api: Api) -> None:
    space = capped_space(api, 2, 1)
    a = trigger_task(api, space, "a", "sleep 0.3")
    b = trigger_task(api, space, "b", "true", upstream=[a])
    for t in (a, b):
        submit(api, space.project, t)
    with ThreadPoolExecutor(8) as pool:
        executions = list(pool.map(lambda _: run(api, space), range(8)))
    # Right after creation, at most 2 are let through and the rest wait in the queue.
    first = {r["ExecutionId"]: r["ExecutionState"] for r in runs_of(api, space)}
    assert sum(1 for s in first.values() if s in ("PENDING", "RUNNING")) <= 2
    assert sum(1 for s in first.values() if s == "QUEUED") >= 4, first
    ends = [finished(api, space, e) for e in executions]
    assert all(d["TriggerWorkflowRun"]["ExecutionState"] == "SUCCESS" for d in ends)
    spans = [(int(d["TriggerWorkflowRun"]["ExecutionStartTime"]), int(d["TriggerWorkflowRun"]["ExecutionEndTime"]))
             for d in ends]
    for start, _ in spans:  # never more than 2 executing at any instant
        assert sum(1 for s, e in spans if s <= start < e) <= 2
    # Admitted in queue order: by the run's data time (in its task runs' JobId), which follows
    # creation, the admission times (PendingStartTime) never go back.
    by_data_time = sorted(ends, key=lambda d: min(t["JobId"].split("_", 1)[1] for t in d["TriggerTaskRuns"]))
    admitted = [int(d["TriggerWorkflowRun"]["PendingStartTime"]) for d in by_data_time]
    assert admitted == sorted(admitted)
    queued = [int(d["TriggerWorkflowRun"]["QueueCostTime"]) for d in ends]
    assert max(queued) >= 300 and all(q >= 0 for q in queued)


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_queuing_mode_0_skips_a_run_over_the_cap_and_a_queued_run_can_be_killed(api: Api) -> None:
    space = capped_space(api, 1, 0)
    t = trigger_task(api, space, "slow", "sleep 1.5")
    submit(api, space.project, t)
    first = run(api, space)
    second = run(api, space)
    d2 = detail(api, space, second)
    assert d2["TriggerWorkflowRun"]["ExecutionState"] == "SKIP"
    assert "MaxConcurrentNum" in d2["TriggerWorkflowRun"]["ErrorCodeStr"]
    assert [x["ExecutionState"] for x in d2["TriggerTaskRuns"]] == ["SKIP"]
    assert d2["TriggerTaskRuns"][0]["ExecutionStartTime"] is None
    assert finished(api, space, first)["TriggerWorkflowRun"]["ExecutionState"] == "SUCCESS"
    # The slot is free again: the next run goes.
    assert finished(api, space, run(api, space))["TriggerWorkflowRun"]["ExecutionState"] == "SUCCESS"
    # QueuingMode 1: a queued run waits, and KillTriggerWorkflowRuns Pending ends it without running.
    api.data("UpdateTriggerWorkflowPartially", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                                "NewSetting": {"TriggerWorkflowRunConfiguration":
                                                               {"MaxConcurrentNum": 1, "QueuingMode": 1}}})
    holder, waiting = run(api, space), run(api, space)
    assert detail(api, space, waiting)["TriggerWorkflowRun"]["ExecutionState"] == "QUEUED"
    wait_until(lambda: detail(api, space, holder)["TriggerWorkflowRun"]["ExecutionState"], lambda s: s == "RUNNING",
               what="the holder to start")  # (a PENDING holder would be killed by Pending too)
    killed = api.data("KillTriggerWorkflowRuns", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                                  "Pending": True})
    assert [k["ItemId"] for k in killed] == [waiting]
    dw = finished(api, space, waiting)
    assert dw["TriggerWorkflowRun"]["ExecutionState"] == "FAILED"
    assert dw["TriggerTaskRuns"][0]["ExecutionStartTime"] is None
    assert finished(api, space, holder)["TriggerWorkflowRun"]["ExecutionState"] == "SUCCESS"


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server whose clock runs 36 000 times faster: 48 hours pass in under 5 s."""
    srv = ServerProcess(Path(tmp_path_factory.mktemp("trg-scaled")), None, {"WEDATA_CLOCK_FACTOR": "36000"}).start()
    yield srv.admin()
    srv.stop()


@pytest.mark.slow  # mostly waiting on real time (tools/ci/run-suite.sh)
def test_a_run_queued_longer_than_48_hours_is_skipped(scaled: Api, tmp_path: Path) -> None:
    api = scaled
    space = capped_space(api, 1, 1)
    marker = tmp_path / "started"
    t = trigger_task(api, space, "holder", f"touch {marker}; exec sleep 60")
    submit(api, space.project, t)
    holder = run(api, space)
    waiting = run(api, space)
    assert detail(api, space, waiting)["TriggerWorkflowRun"]["ExecutionState"] == "QUEUED"
    d = wait_until(lambda: detail(api, space, waiting), lambda x: x["TriggerWorkflowRun"]["ExecutionState"] in FINISHED,
                   what="the queued run to expire", patience=30)
    assert d["TriggerWorkflowRun"]["ExecutionState"] == "SKIP"
    assert "48 hours" in d["TriggerWorkflowRun"]["ErrorCodeStr"]
    assert [x["ExecutionState"] for x in d["TriggerTaskRuns"]] == ["SKIP"]
    # The holder was never disturbed; clean up.
    assert detail(api, space, holder)["TriggerWorkflowRun"]["ExecutionState"] == "RUNNING" and marker.exists()
    api.data("KillTriggerWorkflowRuns", {"ProjectId": space.project, "WorkflowId": space.workflow, "All": True})
    assert finished(api, space, holder)["TriggerWorkflowRun"]["ExecutionState"] == "FAILED"
