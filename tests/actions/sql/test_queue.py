"""The run queue: a resource group runs at most its concurrency of scripts at once, counted over
the group; the others wait QUEUED (and can be stopped there), and start as slots free up.

The package's servers run the default group with 2 slots (conftest.py); an ``s_test`` group has
4. Each data source's pool holds 5 connections, so the runs are spread over two sources."""

from __future__ import annotations

import time

import pytest

from tests.actions.sql.conftest import Db, create_source, new_project, result, run, wait_sleeping, wait_status
from tests.support import Api, unique
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def project(api: Api) -> str:
    return new_project(api)


def statuses(api: Api, project: str, jobs: list[str]) -> list[str]:
    return [result(api, project, j)["Status"] for j in jobs]


def settle(api: Api, project: str, jobs: list[str], running: int) -> list[str]:
    """Wait until ``running`` of the jobs run, and check it stays so for a while."""
    seen = wait_until(lambda: statuses(api, project, jobs), lambda s: s.count("RUNNING") == running,
                      what=f"{running} of the runs to be RUNNING")
    for _ in range(10):  # a second more: nothing else starts
        assert statuses(api, project, jobs).count("RUNNING") == running
        time.sleep(0.1)
    return seen


def stop_all(api: Api, project: str, jobs: list[str]) -> None:
    for job in jobs:
        if result(api, project, job)["Status"] in ("QUEUED", "RUNNING"):
            api.call("StopSQLScriptRun", {"ProjectId": project, "JobId": job})
    for job in jobs:
        assert wait_status(api, project, job)["Status"] == "CANCELED"


def test_the_default_group_runs_its_slots_and_queues_the_rest(api: Api, project: str, postgres: Db) -> None:
    source = create_source(api, project, postgres)
    jobs = [run(api, project, "select pg_sleep(60)", source)["JobId"] for _ in range(3)]
    try:
        seen = settle(api, project, jobs, 2)
        queued = jobs[seen.index("QUEUED")]
        got = result(api, project, queued)
        assert got["Results"] == [] and "queued" in got["StatusMessage"]
        # Stopped while queued: it never starts.
        api.call("StopSQLScriptRun", {"ProjectId": project, "JobId": queued})
        done = result(api, project, queued)
        assert done["Status"] == "CANCELED" and "before it started" in done["StatusMessage"]
        assert done["Results"][0]["Status"] == "CANCELED"
        # A slot freed by a stop goes to the next queued run.
        extra = run(api, project, "select 1", source)["JobId"]
        assert result(api, project, extra)["Status"] in ("QUEUED",)
        api.call("StopSQLScriptRun", {"ProjectId": project, "JobId": jobs[seen.index("RUNNING")]})
        assert wait_status(api, project, extra)["Status"] == "SUCCESS"
    finally:
        stop_all(api, project, jobs)
    wait_sleeping(postgres, False)


def test_a_group_runs_its_own_concurrency(api: Api, project: str, postgres: Db) -> None:
    group = str(api.data("CreateResourceGroup", {
        "Name": unique("rg"), "Type": {"ResourceGroupType": "Schedule", "Schedule": {"Specification": "s_test",
                                                                                    "Number": 1}},
        "AutoRenewEnabled": False, "PurchasePeriod": 1, "VpcId": "vpc-1", "SubNet": "subnet-1",
        "ResourceRegion": "ap-guangzhou",
    })["ResourceGroupId"])
    sources = [create_source(api, project, postgres) for _ in range(2)]
    in_group: list[str] = []
    jobs: list[str] = []
    try:
        for i in range(5):
            in_group.append(run(api, project, "select pg_sleep(60)", sources[i % 2], ExecutorGroupId=group)["JobId"])
        settle(api, project, in_group, 4)  # s_test: 4 at once
        # The default group is not held up by the full one.
        jobs.append(run(api, project, "select 1", sources[0])["JobId"])
        assert wait_status(api, project, jobs[0])["Status"] == "SUCCESS"
        assert statuses(api, project, in_group).count("QUEUED") == 1
    finally:
        stop_all(api, project, in_group)
    wait_sleeping(postgres, False)
