"""Backfill benchmark: how fast a data backfill plan of 10,000 instances is enqueued and completed.

A real ``wedata server`` (API + engine + local executor) is started on a fresh database; ten
daily Shell tasks running ``true`` (SelfDepend parallel) are created and submitted through the
official SDK; then ONE CreateDataBackfillPlan covers 1,000 past days of each (10,000 instances,
none of which exists yet: every one is created with InstanceType 0), with RedefineParallelNum 4.

Measured end to end, from the moment the CreateDataBackfillPlan request is sent to the last
instance's end as the server stored it: instances per second (target >= 100). Also reported:
how long the create call itself took (enqueueing: instances, dependency edges, plan members,
the first release), the most plan instances ever RUNNING at once (from the transition history:
must never pass 4), and the time GetDataBackfillPlan took to report 100 %.

The default resource group gets 5 slots (``WEDATA_DEFAULT_SLOTS``): a plan may use every slot
but one (the one kept for the periodic schedule, docs/backfill.md), so parallelism 4 needs 5.

Usage: ``python tools/bench/backfill.py [--backend sqlite|postgres] [--instances 10000]
[--parallel 4] [--tasks 10]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import case, func, select  # noqa: E402

from tests.actions.instances.test_instances import b64, new_space  # noqa: E402
from tests.support import PG_URL, ServerProcess, create_pg_database, drop_pg_database, unique  # noqa: E402
from wedata.storage.backfill_tables import backfill_members  # noqa: E402
from wedata.storage.db import Database  # noqa: E402
from wedata.storage.engine_tables import instance_transitions, task_instances  # noqa: E402


def max_running(db: Database, plan_id: str) -> int:
    """The most plan instances RUNNING at once, replayed from the transition history."""
    T, BM = instance_transitions, backfill_members
    with db.read() as conn:
        rows = conn.execute(
            select(T.c.at, T.c.id, T.c.from_state, T.c.to_state)
            .join(BM, BM.c.instance_id == T.c.instance_id)
            .where(BM.c.plan_id == plan_id, (T.c.to_state == "RUNNING") | (T.c.from_state == "RUNNING"))
            .order_by(T.c.id)
        ).all()
    running = peak = 0
    for _at, _id, old, new in rows:
        if new == "RUNNING":
            running += 1
            peak = max(peak, running)
        elif old == "RUNNING":
            running -= 1
    return peak


def run(backend: str, instances: int, parallel: int, n_tasks: int) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    pg_name = url = None
    if backend == "postgres":
        pg_name = create_pg_database()
        url = f"{PG_URL}/{pg_name}"
    env = {"WEDATA_DEFAULT_SLOTS": str(parallel + 1), "WEDATA_ACCESS_LOG": "0", "WEDATA_LOG_LEVEL": "WARNING"}
    srv = ServerProcess(home, url, env).start()
    try:
        api = srv.admin()
        space = new_space(api)
        days = instances // n_tasks
        tasks = []
        for _ in range(n_tasks):
            tid = api.data("CreateTask", {
                "ProjectId": space.project,
                "TaskBaseAttribute": {"TaskName": unique("bf"), "TaskTypeId": "35", "WorkflowId": space.workflow},
                "TaskConfiguration": {"CodeContent": b64("true")},
                "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 0 * * ? *",
                                               "StartTime": "2000-01-01 00:00:00", "SelfDepend": "parallel",
                                               "MaxRetryNumber": 0},
            })["TaskId"]
            api.data("SubmitTask", {"ProjectId": space.project, "TaskId": tid, "VersionRemark": "bench"})
            tasks.append(tid)
        first = date(2020, 1, 1)
        last = first + timedelta(days=days - 1)
        t0 = time.perf_counter()
        wall0 = datetime.utcnow()
        plan_id = api.data("CreateDataBackfillPlan", {
            "ProjectId": space.project, "TaskIds": tasks, "RedefineParallelNum": parallel,
            "DataBackfillRangeList": [{"StartDate": first.isoformat(), "EndDate": last.isoformat()}],
        })["DataBackfillPlanId"]
        enqueue = time.perf_counter() - t0
        deadline = time.monotonic() + 900
        while True:
            plan = api.data("GetDataBackfillPlan", {"ProjectId": space.project, "DataBackfillPlanId": plan_id})
            if plan["CompletePercent"] == 100:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"not finished after 900 s: {plan['CompletePercent']} %")
            time.sleep(0.2)
        reported = time.perf_counter() - t0
        db = Database(url or f"sqlite:///{home / 'wedata.db'}")
        try:
            with db.read() as conn:
                BM, TI = backfill_members, task_instances
                n, ok, last_end = conn.execute(
                    select(func.count(), func.count(case((BM.c.final_state == "COMPLETED", 1))), func.max(TI.c.ended_at))
                    .select_from(BM.join(TI, TI.c.id == BM.c.instance_id)).where(BM.c.plan_id == plan_id)
                ).one()
            peak = max_running(db, plan_id)
        finally:
            db.dispose()
        elapsed = (last_end - wall0).total_seconds()
        return {"instances": n, "completed": ok, "enqueue_s": enqueue, "elapsed_s": elapsed, "reported_s": reported,
                "rate": n / elapsed, "peak_running": peak, "parallel": parallel, "success": plan["SuccessPercent"]}
    finally:
        srv.stop()
        if pg_name:
            drop_pg_database(pg_name)
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--instances", type=int, default=10_000)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--tasks", type=int, default=10)
    args = ap.parse_args()
    r = run(args.backend, args.instances, args.parallel, args.tasks)
    ok = "ok" if r["rate"] >= 100 else "UNDER TARGET"
    print(f"backfill [{args.backend}] {r['instances']} instances ({r['completed']} COMPLETED), parallelism "
          f"{r['parallel']}: {r['rate']:.0f} instances/s end to end (create -> last end {r['elapsed_s']:.1f} s), "
          f"target >= 100: {ok}; create call {r['enqueue_s']:.2f} s; GetDataBackfillPlan at 100 % after "
          f"{r['reported_s']:.1f} s; peak RUNNING {r['peak_running']} (limit {r['parallel']})")


if __name__ == "__main__":
    main()
