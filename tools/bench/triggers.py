"""Workflow-run benchmark (issue 11): CreateTriggerWorkflowRun of a 50-task chain of ``true``
to SUCCESS, against the floor of the same work without a scheduler.

A live ``wedata server`` (SQLite, or PostgreSQL with ``--backend postgres``) gets a
workflow-scheduling project with one trigger workflow of N Shell tasks running ``true``, each
depending on the previous, all submitted. Measured through the official SDK: from sending
CreateTriggerWorkflowRun to GetTriggerWorkflowRun answering SUCCESS (polled every 10 ms), over
``--repeat`` runs (median and best). The floor, measured in the same run: N ``true`` processes
spawned one after another by bash (``for i in $(seq N); do /bin/true; done``). The target
(issue 11) is run <= floor + 1 s.

``--runs R`` (default 100; 0 skips it) adds the concurrency scenario: a 5-task workflow
(a -> b, c, d -> e, all ``true``) with MaxConcurrentNum ``--cap`` (default 10), R runs created
at once from 12 client threads. Measured: the total time from the first CreateTriggerWorkflowRun
to every run SUCCESS; the most runs seen PENDING or RUNNING by polling ListTriggerWorkflowRuns
meanwhile; and the most runs whose [ExecutionStartTime, ExecutionEndTime) overlap, from their
final records. Target (issue 11): never more than the cap, all SUCCESS, total <= 10 s.

Usage: ``python tools/bench/triggers.py [--backend sqlite|postgres] [--tasks 50] [--repeat 3]
[--runs 100] [--cap 10]``
"""

from __future__ import annotations

import argparse
import base64
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.support import PG_URL, Api, ServerProcess, create_pg_database, drop_pg_database, unique  # noqa: E402


def floor(n: int) -> float:
    start = time.perf_counter()
    subprocess.run(["bash", "-c", f"for i in $(seq {n}); do /bin/true; done"], check=True)
    return time.perf_counter() - start


def build(api: Api, n: int) -> tuple[str, str]:
    project = api.data("CreateProject", {"Project": {"ProjectName": unique("bench_trg"), "DisplayName": "bench",
                                                     "ScheduleMode": "workflow"}})["ProjectId"]
    workflow = api.data("CreateTriggerWorkflow", {"ProjectId": project, "WorkflowName": unique("chain"),
                                                  "ParentFolderPath": "/"})["WorkflowId"]
    previous: str | None = None
    for i in range(n):
        task = api.data("CreateTriggerTask", {
            "ProjectId": project,
            "TriggerTaskBaseAttribute": {"TaskName": unique(f"t{i}"), "TaskTypeId": "35", "WorkflowId": workflow},
            "TriggerTaskConfiguration": {"CodeContent": base64.b64encode(b"true").decode()},
            "TriggerTaskSchedulerConfiguration": {
                "MaxRetryNumber": 0, "UpstreamDependencyConfigList": [{"TaskId": previous}] if previous else []},
        })["TaskId"]
        api.data("SubmitTriggerTask", {"ProjectId": project, "TaskId": task, "VersionRemark": "bench"})
        previous = task
    return project, workflow


def one_run(api: Api, project: str, workflow: str) -> float:
    start = time.perf_counter()
    execution = api.data("CreateTriggerWorkflowRun", {"ProjectId": project, "WorkflowId": workflow})["WorkflowExecutionId"]
    while True:
        state = api.data("GetTriggerWorkflowRun", {"ProjectId": project, "WorkflowExecutionId": execution,
                                                   "Filters": [{"Name": "ExecutionState", "Values": ["FAILED"]}]})
        run_state = state["TriggerWorkflowRun"]["ExecutionState"]
        if run_state in ("SUCCESS", "FAILED", "SKIP"):
            elapsed = time.perf_counter() - start
            if run_state != "SUCCESS":
                raise SystemExit(f"run {execution} ended {run_state}")
            return elapsed
        time.sleep(0.01)


def build_diamond(api: Api, cap: int) -> tuple[str, str]:
    project = api.data("CreateProject", {"Project": {"ProjectName": unique("bench_cap"), "DisplayName": "bench",
                                                     "ScheduleMode": "workflow"}})["ProjectId"]
    workflow = api.data("CreateTriggerWorkflow", {
        "ProjectId": project, "WorkflowName": unique("diamond"), "ParentFolderPath": "/",
        "TriggerWorkflowRunConfiguration": {"MaxConcurrentNum": cap, "QueuingMode": 1}})["WorkflowId"]

    def task(name: str, ups: list[str]) -> str:
        tid = api.data("CreateTriggerTask", {
            "ProjectId": project,
            "TriggerTaskBaseAttribute": {"TaskName": unique(name), "TaskTypeId": "35", "WorkflowId": workflow},
            "TriggerTaskConfiguration": {"CodeContent": base64.b64encode(b"true").decode()},
            "TriggerTaskSchedulerConfiguration": {"MaxRetryNumber": 0,
                                                  "UpstreamDependencyConfigList": [{"TaskId": u} for u in ups]},
        })["TaskId"]
        api.data("SubmitTriggerTask", {"ProjectId": project, "TaskId": tid, "VersionRemark": "bench"})
        return str(tid)

    a = task("a", [])
    middle = [task(n, [a]) for n in ("b", "c", "d")]
    task("e", middle)
    return project, workflow


def all_runs(api: Api, project: str, workflow: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    number = 1
    while True:
        data = api.data("ListTriggerWorkflowRuns", {"ProjectId": project, "PageSize": 200, "PageNumber": number,
                                                    "Filters": [{"Name": "WorkflowId", "Values": [workflow]}]})
        items.extend(data["Items"])
        if number >= (data["TotalPageNumber"] or 1):
            return items
        number += 1


def concurrent_runs(api: Api, project: str, workflow: str, n: int) -> tuple[float, int, int]:
    """(total seconds, most live runs seen by polling, most overlapping runs from their records)."""
    start = time.perf_counter()
    with ThreadPoolExecutor(12) as pool:  # the server lets 16 requests of one key be in flight
        created = list(pool.map(lambda _: api.data("CreateTriggerWorkflowRun", {
            "ProjectId": project, "WorkflowId": workflow})["WorkflowExecutionId"], range(n)))
    seen = 0
    while True:
        runs = all_runs(api, project, workflow)
        states = [r["ExecutionState"] for r in runs if r["ExecutionId"] in set(created)]
        seen = max(seen, sum(1 for s in states if s in ("PENDING", "RUNNING")))
        if len(states) == n and all(s in ("SUCCESS", "FAILED", "SKIP") for s in states):
            total = time.perf_counter() - start
            break
        time.sleep(0.02)
    bad = [s for s in states if s != "SUCCESS"]
    if bad:
        raise SystemExit(f"{len(bad)} run(s) did not succeed: {sorted(set(bad))}")
    spans = [(int(r["ExecutionStartTime"]), int(r["ExecutionEndTime"])) for r in runs]
    overlap = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    return total, seen, overlap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", type=int, default=100, help="runs created at once (0: skip this scenario)")
    parser.add_argument("--cap", type=int, default=10, help="MaxConcurrentNum of that workflow")
    args = parser.parse_args()
    capped: tuple[float, int, int] | None = None
    pg_name = url = None
    if args.backend == "postgres":
        pg_name = create_pg_database()
        url = f"{PG_URL}/{pg_name}"
    with tempfile.TemporaryDirectory(prefix="wedata-bench-triggers-") as home:
        server = ServerProcess(Path(home), url).start()
        try:
            api = server.admin()
            project, workflow = build(api, args.tasks)
            runs = [one_run(api, project, workflow) for _ in range(args.repeat)]
            floors = [floor(args.tasks) for _ in range(args.repeat)]
            if args.runs:
                capped = concurrent_runs(api, *build_diamond(api, args.cap), args.runs)
        finally:
            server.stop()
            if pg_name:
                drop_pg_database(pg_name)
    f = min(floors)
    print(f"backend {args.backend}, chain of {args.tasks} `true` tasks, {args.repeat} runs")
    print(f"  floor (bash spawning {args.tasks} x true): best {f:.3f} s")
    print(f"  CreateTriggerWorkflowRun -> SUCCESS: median {statistics.median(runs):.3f} s, best {min(runs):.3f} s")
    print(f"  overhead over the floor: {min(runs) - f:.3f} s (target <= 1 s)")
    if capped is not None:
        total, seen, overlap = capped
        print(f"{args.runs} runs of a 5-task workflow created at once, MaxConcurrentNum {args.cap}: all SUCCESS")
        print(f"  total {total:.2f} s (target <= 10 s); most live runs polled {seen}, most overlapping {overlap}"
              f" (cap {args.cap})")
        if max(seen, overlap) > args.cap:
            raise SystemExit("the cap was exceeded")


if __name__ == "__main__":
    main()
