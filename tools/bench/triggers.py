"""Workflow-run benchmark (issue 11): CreateTriggerWorkflowRun of a 50-task chain of ``true``
to SUCCESS, against the floor of the same work without a scheduler.

A live ``wedata server`` (SQLite, or PostgreSQL with ``--backend postgres``) gets a
workflow-scheduling project with one trigger workflow of N Shell tasks running ``true``, each
depending on the previous, all submitted. Measured through the official SDK: from sending
CreateTriggerWorkflowRun to GetTriggerWorkflowRun answering SUCCESS (polled every 10 ms), over
``--repeat`` runs (median and best). The floor, measured in the same run: N ``true`` processes
spawned one after another by bash (``for i in $(seq N); do /bin/true; done``). The target
(issue 11) is run <= floor + 1 s.

Usage: ``python tools/bench/triggers.py [--backend sqlite|postgres] [--tasks 50] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import base64
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
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
        finally:
            server.stop()
            if pg_name:
                drop_pg_database(pg_name)
    f = min(floors)
    print(f"backend {args.backend}, chain of {args.tasks} `true` tasks, {args.repeat} runs")
    print(f"  floor (bash spawning {args.tasks} x true): best {f:.3f} s")
    print(f"  CreateTriggerWorkflowRun -> SUCCESS: median {statistics.median(runs):.3f} s, best {min(runs):.3f} s")
    print(f"  overhead over the floor: {min(runs) - f:.3f} s (target <= 1 s)")


if __name__ == "__main__":
    main()
