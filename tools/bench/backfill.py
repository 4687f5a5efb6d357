"""Backfill benchmark: how fast a data backfill plan is enqueued and completed.

A real ``wedata server`` (API + engine + local executor) is started on a fresh database; daily
Shell tasks doing nothing but echo bash's own clock (SelfDepend parallel) are created and
submitted through the official SDK; then ONE CreateDataBackfillPlan covers past days of each
(none of the instances exists yet: every one is created with InstanceType 0), with
RedefineParallelNum 4. Two cases (``--case``):

  spread    ten tasks x 1,000 days (10,000 instances): the engine's batches fill up (target
            >= 250 instances/s on PostgreSQL, issue 14)
  daily400  one task x 400 days: each run's own overhead dominates (target >= 150/s)

Measured end to end, from the moment the CreateDataBackfillPlan request is sent to the last
instance's end as the server stored it: instances per second. Also reported: how long the
create call itself took (enqueueing: instances, dependency edges, plan members, the first
release), the most plan instances ever RUNNING at once (from the transition history: must never
pass 4), the time GetDataBackfillPlan took to report 100 %, and where a run's time goes, from
the runs' own timestamps (median over the runs):

  claim -> command      the claim (the attempt's ``started_at``, the claiming cycle's time) to
                        the command's first instruction (``$EPOCHREALTIME``, a bash builtin, so
                        no extra process): the rest of the claiming cycle, its commit, the spawn,
                        the sandbox's set-up and bash's start-up (``--sandbox none`` vs the
                        default separates the sandbox)
  command -> end        to the end as recorded (``ended_at``: the time of the cycle that
                        recorded it): bash's exit, the sandbox's tear-down, the wrapper writing
                        the exit code, the exit noticed (pidfd) and the engine starting a cycle
  end -> footer         to the log footer's write (the log file's mtime: after the ending cycle
                        committed): the ending cycle itself (the transition, the backfill
                        release, the dispatch of the next run, the commit) and the spawns after it
  period per slot       ``started_at`` of a slot's next run minus this one's: the whole turn

The default resource group gets 5 slots (``WEDATA_DEFAULT_SLOTS``): a plan may use every slot
but one (the one kept for the periodic schedule, docs/backfill.md), so parallelism 4 needs 5.

Usage: ``python tools/bench/backfill.py [--backend sqlite|postgres] [--case all|spread|daily400]
[--instances N --tasks N] [--parallel 4] [--sandbox none|bwrap|auto]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
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
from wedata.storage.engine_tables import instance_executions, instance_transitions, task_instances  # noqa: E402

CASES = {"spread": (10_000, 10), "daily400": (400, 1)}  # (instances, tasks)
TARGETS = {"spread": {"postgres": 250, "sqlite": 100}, "daily400": {"postgres": 150, "sqlite": 150}}
# Bash's own clock at the command's first instruction: a builtin, so a run is still one bash.
CODE = "echo $EPOCHREALTIME"


def breakdown(db: Database, plan_id: str) -> dict[str, float]:
    """Where a run's time went, from the runs' own timestamps (module docstring): medians in ms."""
    E, TI, BM = instance_executions, task_instances, backfill_members
    with db.read() as conn:
        rows = conn.execute(
            select(E.c.started_at, E.c.ended_at, E.c.log_path)
            .join(TI, TI.c.id == E.c.instance_id).join(BM, BM.c.instance_id == TI.c.id)
            .where(BM.c.plan_id == plan_id).order_by(E.c.started_at, E.c.id)
        ).all()
    to_cmd, to_end, to_footer = [], [], []
    epoch = datetime(1970, 1, 1)
    for started, ended, path in rows:
        try:
            text = Path(path).read_text().split()
            footer = epoch + timedelta(seconds=os.stat(path).st_mtime)
        except OSError:
            continue
        stamps = [w for w in text if w.replace(".", "", 1).isdigit() and "." in w and len(w) > 12]
        if not stamps or ended is None:
            continue
        cmd = epoch + timedelta(seconds=float(stamps[-1]))
        to_cmd.append((cmd - started).total_seconds() * 1000)
        to_end.append((ended - cmd).total_seconds() * 1000)
        to_footer.append((footer - ended).total_seconds() * 1000)
    # The turn of a slot: with P slots busy, the k-th claim follows the (k-P)-th one.
    starts = [r[0] for r in rows]
    med = statistics.median
    return {"claim_to_command": med(to_cmd) if to_cmd else float("nan"),
            "command_to_end": med(to_end) if to_end else float("nan"),
            "end_to_footer": med(to_footer) if to_footer else float("nan"),
            "first_claim": (starts[0] if starts else epoch), "starts": starts}  # type: ignore[dict-item]


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


def run(backend: str, instances: int, parallel: int, n_tasks: int, sandbox: str | None = None) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    pg_name = url = None
    if backend == "postgres":
        pg_name = create_pg_database()
        url = f"{PG_URL}/{pg_name}"
    env = {"WEDATA_DEFAULT_SLOTS": str(parallel + 1), "WEDATA_ACCESS_LOG": "0", "WEDATA_LOG_LEVEL": "WARNING"}
    if sandbox is not None:
        env.update(WEDATA_SANDBOX=sandbox, WEDATA_ALLOW_UNISOLATED="1")
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
                "TaskConfiguration": {"CodeContent": b64(CODE)},
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
            parts = breakdown(db, plan_id)
        finally:
            db.dispose()
        elapsed = (last_end - wall0).total_seconds()
        starts = parts.pop("starts")
        turns = [(b - a).total_seconds() * 1000 for a, b in zip(starts, starts[parallel:], strict=False)]
        parts["slot_period"] = statistics.median(turns) if turns else float("nan")
        parts["first_claim_s"] = (parts.pop("first_claim") - wall0).total_seconds()
        return {"instances": n, "completed": ok, "enqueue_s": enqueue, "elapsed_s": elapsed, "reported_s": reported,
                "rate": n / elapsed, "peak_running": peak, "parallel": parallel, "success": plan["SuccessPercent"],
                "parts": parts}
    finally:
        srv.stop()
        if pg_name:
            drop_pg_database(pg_name)
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--case", choices=["all", *CASES], default="all")
    ap.add_argument("--instances", type=int, help="instead of the case's (with --tasks)")
    ap.add_argument("--tasks", type=int)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--sandbox", help="task isolation (WEDATA_SANDBOX), e.g. none; default: the server's")
    args = ap.parse_args()
    for case_name in (list(CASES) if args.case == "all" else [args.case]):
        instances, n_tasks = CASES[case_name]
        if args.instances:
            instances, n_tasks, case_name = args.instances, args.tasks or n_tasks, "custom"
        r = run(args.backend, instances, args.parallel, n_tasks, args.sandbox)
        target = TARGETS.get(case_name, TARGETS["spread"])[args.backend]
        ok = "ok" if r["rate"] >= target else "UNDER TARGET"
        p = r["parts"]
        print(f"backfill {case_name} [{args.backend}, sandbox {args.sandbox or 'default'}] {r['instances']} instances "
              f"({r['completed']} COMPLETED), parallelism {r['parallel']}: {r['rate']:.0f} instances/s end to end "
              f"(create -> last end {r['elapsed_s']:.1f} s), target >= {target}: {ok}; create call "
              f"{r['enqueue_s']:.2f} s; first claim after {p['first_claim_s']:.2f} s; GetDataBackfillPlan at 100 % "
              f"after {r['reported_s']:.1f} s; peak RUNNING {r['peak_running']} (limit {r['parallel']})")
        print(f"    a run (median ms): claim -> command {p['claim_to_command']:.1f}, command -> end recorded "
              f"{p['command_to_end']:.1f}, end -> footer written {p['end_to_footer']:.1f}; period per slot "
              f"{p['slot_period']:.1f}")


if __name__ == "__main__":
    main()
