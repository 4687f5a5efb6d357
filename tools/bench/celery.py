"""Remote workers benchmark: work flowing through the engine, the broker and ``wedata worker``.

Workloads (every task a Shell task running ``true`` in one remote resource group, a one-off
whose data time becomes eligible at one instant):

  chain   a chain of 50 (each depends on the previous), on 1 worker x 4 slots  (target <= 2 s)
  fanout  N independent tasks (``--tasks``, default 200; the issue's W1 figure is 2,000), on
          1 worker x 4 slots, then on 2 workers x 4 slots (the group has 8 slots): the speed-up
          of the second worker. With ``true`` the CPUs bound it (one engine, and on this machine
          2 CPUs shared by the engine, the workers, the broker, the database and the tasks);
          with ``--task-seconds 0.2`` (``sleep 0.2``) the workers' slots do

CPU per task (load-independent, unlike the elapsed times): the engine's (this process's CPU time
over the run), the workers' (their own CPU, and separately that of the processes they started:
wrapper and task), from /proc. Their sum bounds the rate on this machine whatever the number of
workers: ``ceiling = CPUs / (CPU seconds per task)``; the engine's alone bounds the rate of one
engine (its dispatch is one thread under the GIL) whatever the machines.

The tasks are written straight into a fresh database (as SubmitTask leaves them), an engine is
started in this process with the group remote (``WEDATA_REMOTE_GROUPS``), real ``wedata worker``
processes consume the group's queue, and the time is measured from the instant the tasks become
eligible to the last COMPLETED, from the engine's own timestamps. Per hop of the chain, the
time goes to: the engine's cycle (end, readiness, claim), the publish, the worker's claim (one
write), the spawn, the process, the worker's end record (one write), the end announcement and
the engine's read of it.

Usage: ``python tools/bench/celery.py [--backend sqlite|postgres] [--broker redis://...|amqp://...]
[--only chain,fanout] [--tasks 200] [--task-seconds 0] [--sandbox none|auto] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# This script's own directory is first on the path, and its name would hide the celery package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import event, func, insert, select  # noqa: E402

from tests.scheduler.helpers import World  # noqa: E402
from tests.support import PG_URL, clean_env, create_pg_database, drop_pg_database, wedata_cli  # noqa: E402
from wedata.clock import SystemClock, utcnow  # noqa: E402
from wedata.config import Settings  # noqa: E402
from wedata.scheduler.engine import OLTP_PLANS, Engine  # noqa: E402
from wedata.services.container import Services  # noqa: E402
from wedata.storage import tables as T  # noqa: E402
from wedata.storage.db import Database  # noqa: E402
from wedata.storage.engine_tables import instance_executions as E  # noqa: E402
from wedata.storage.engine_tables import task_instances as TI  # noqa: E402
from wedata.storage.migrate import upgrade  # noqa: E402
from wedata.storage.worker_tables import remote_runs as R  # noqa: E402
from wedata.storage.worker_tables import worker_nodes  # noqa: E402

EVERY_SECOND = "* * * * * ? *"


def wall(utc: Any) -> str:
    return (utc + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")


def count(db: Database, state: str | None = None) -> int:
    with db.read() as conn:
        q = select(func.count()).select_from(TI)
        if state:
            q = q.where(TI.c.state == state)
        return int(conn.execute(q).scalar_one())


def start_workers(n: int, url: str, broker: str, group: str, home: Path, sandbox: str) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(n):
        env = clean_env()
        env.update(WEDATA_HOME=str(home / f"worker{i}"), WEDATA_DATABASE_URL=url, WEDATA_BROKER_URL=broker,
                   WEDATA_SANDBOX=sandbox, WEDATA_ALLOW_UNISOLATED="1", WEDATA_LOG_LEVEL="WARNING",
                   PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]))
        log = open(home / f"worker{i}.log", "ab")  # noqa: SIM115
        procs.append(subprocess.Popen([*wedata_cli(), "worker", "--groups", group, "--slots", "4"], env=env,
                                      stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True))
    db = Database(url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for i, p in enumerate(procs):
            if p.poll() is not None:
                raise SystemExit(f"worker {i} exited: " + (home / f"worker{i}.log").read_text()[-2000:])
        with db.read() as conn:
            live = conn.execute(select(func.count()).select_from(worker_nodes)
                                .where(worker_nodes.c.stopped_at.is_(None))).scalar_one()
        if live >= n:
            break
        time.sleep(0.1)
    db.dispose()
    time.sleep(1.0)  # Celery connects to the broker after registering
    return procs


def cpu_of(pid: int) -> tuple[float, float]:
    """(own, children's) CPU seconds of a process, from /proc (children: those it has reaped)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def run(name: str, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix=f"bench-celery-{name}-", dir=args.keep))
    pg_name = create_pg_database() if args.backend == "postgres" else None
    url = f"{PG_URL}/{pg_name}" if pg_name else f"sqlite:///{home / 'wedata.db'}"
    db = Database(url)
    upgrade(db)
    procs: list[subprocess.Popen[bytes]] = []
    engine: Engine | None = None
    try:
        group = str(uuid.uuid4().int)[:20]
        now = utcnow()
        with db.write() as conn:
            conn.execute(insert(T.resource_groups).values(
                id=group, name="rg" + group, description="", group_type="Schedule", specification={}, region="r",
                vpc_id="v", subnet="s", max_concurrency=8, creator_uin="1", created_at=now, updated_at=now))
        procs = start_workers(workers, url, args.broker, group, home, args.sandbox)
        n = 50 if name == "chain" else args.tasks
        lead = args.lead if args.lead is not None else max(4.0, n / 100)  # writing and planning them
        eligible_at = (utcnow() + timedelta(seconds=lead)).replace(microsecond=0) + timedelta(seconds=1)
        w = World(db, now)
        ids: list[str] = []
        prev: list[str] = []
        command = f"sleep {args.task_seconds}" if name == "fanout" and args.task_seconds > 0 else "true"
        for _ in range(n):
            tid = w.task(command, cycle="ONEOFF_CYCLE", cron=EVERY_SECOND, start=wall(eligible_at), resource_group=group,
                         upstream=[(u, "DAY", "CURRENT_DAY") for u in prev], SelfDepend="parallel")
            ids.append(tid)
            if name == "chain":
                prev = [tid]
        settings = Settings(home=home, plan_interval=0.2, sweep_interval=30.0, sandbox=args.sandbox,
                            allow_unisolated=True, remote_groups=(group,), broker_url=args.broker)
        services = Services(db, settings, SystemClock())
        # The engine's process serves no API: its connections carry the plan settings, as in
        # `wedata scheduler` and the server's engine process (Database.engine_sessions).
        db.engine_sessions(OLTP_PLANS)
        engine = Engine(db, settings, SystemClock(), defs=services.scheduler.defs)
        services.scheduler.attach(engine)
        engine.start()
        probe = Database(url)  # the benchmark's own polls: not counted with the engine's statements
        while count(probe) < len(ids):
            if utcnow() >= eligible_at:
                raise SystemExit(f"{name}: planning did not finish before the eligible time; raise --lead")
            time.sleep(0.05)
        cpu0 = time.process_time(), [cpu_of(p.pid) for p in procs]
        statements = [0]  # the engine's (this process's) statements, each one round trip

        def counted(*_: Any) -> None:
            statements[0] += 1

        event.listen(db.engine, "before_cursor_execute", counted)
        deadline = time.monotonic() + lead + args.timeout
        while count(probe, "COMPLETED") < len(ids):
            if time.monotonic() > deadline:
                raise SystemExit(f"{name}: not finished; {count(probe, 'COMPLETED')} of {len(ids)} completed")
            time.sleep(0.2)
        cpu1 = time.process_time(), [cpu_of(p.pid) for p in procs]
        event.remove(db.engine, "before_cursor_execute", counted)
        probe.dispose()
        cpu = {"engine": cpu1[0] - cpu0[0],
               "workers": sum(b[0] - a[0] for a, b in zip(cpu0[1], cpu1[1], strict=True)),
               "tasks": sum(b[1] - a[1] for a, b in zip(cpu0[1], cpu1[1], strict=True))}
        with db.read() as conn:
            sched, last = conn.execute(select(func.min(TI.c.scheduled_at), func.max(TI.c.ended_at))).one()
            rows = conn.execute(select(E.c.started_at, R.c.started_at, R.c.ended_at, E.c.ended_at)
                                .join(R, R.c.execution_id == E.c.id).order_by(E.c.started_at)).all()
        return {"workload": name, "workers": workers, "tasks": len(ids), "elapsed_s": (last - sched).total_seconds(),
                "phases": phases(rows), "cpu_ms_per_task": {k: v * 1000 / len(ids) for k, v in cpu.items()},
                "engine_statements_per_task": statements[0] / len(ids)}
    finally:
        if engine is not None:
            engine.stop()
            services.scheduler.attach(None)  # and its backfill watchdog ends with it
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        db.dispose()
        if pg_name:
            drop_pg_database(pg_name)
        if args.keep is None:
            shutil.rmtree(home, ignore_errors=True)


def phases(rows: list[Any]) -> dict[str, float]:
    """Mean ms per attempt: claim -> a worker took it; worker took it -> worker recorded the end
    (spawn, process, log); recorded -> the engine ended it; and, along a chain, the engine's end
    of one attempt -> the claim of the next."""
    def ms(a: Any, b: Any) -> float:
        return (b - a).total_seconds() * 1000

    n = max(len(rows), 1)
    out = {"to_worker": sum(ms(r[0], r[1]) for r in rows) / n, "on_worker": sum(ms(r[1], r[2]) for r in rows) / n,
           "to_engine": sum(ms(r[2], r[3]) for r in rows) / n}
    gaps = [ms(a[3], b[0]) for a, b in zip(rows, rows[1:], strict=False)]
    out["end_to_next_claim"] = sum(gaps) / max(len(gaps), 1)
    return out


def median(name: str, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    runs = sorted((run(name, workers, args) for _ in range(args.repeat)), key=lambda r: r["elapsed_s"])
    if len(runs) > 1:
        print(f"  {name} x{workers} worker(s): runs " + ", ".join(f"{r['elapsed_s']:.3f}" for r in runs) + " s")
    return runs[len(runs) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--broker", default="redis://127.0.0.1:6379/8", help="Celery broker URL (redis:// or amqp://)")
    ap.add_argument("--only", default="chain,fanout")
    ap.add_argument("--tasks", type=int, default=200, help="tasks of the fan-out")
    ap.add_argument("--task-seconds", type=float, default=0.0,
                    help="fan-out tasks run `sleep S` instead of `true` (where the workers' slots, not the engine, bound it)")
    ap.add_argument("--lead", type=float, default=None,
                    help="seconds between start and eligibility (default: 4, or 1 per 100 tasks)")
    ap.add_argument("--sandbox", default="none", help="task isolation on the workers (WEDATA_SANDBOX)")
    ap.add_argument("--keep", default=None, help="make (and keep) the run directories here, for a look at the logs")
    ap.add_argument("--timeout", type=float, default=120, help="seconds a workload may take")
    ap.add_argument("--repeat", type=int, default=1, help="runs per workload; the median is reported")
    ap.add_argument("--workers", default="1,2", help="fan-out: the numbers of workers (4 slots each) to run it on")
    args = ap.parse_args()
    only = {n.strip() for n in args.only.split(",")}
    where = f"[{args.backend}, {args.broker.split(':')[0]}, sandbox {args.sandbox}]"
    print(f"{os.cpu_count()} CPUs; load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if "chain" in only:
        r = median("chain", 1, args)
        ok = "ok" if r["elapsed_s"] <= 2.0 else "OVER TARGET"
        print(f"chain {where} 50 tasks, 1 worker x 4 slots: {r['elapsed_s']:.3f} s eligible->last COMPLETED "
              f"({r['elapsed_s'] / 50 * 1000:.1f} ms per hop), target 2 s: {ok}")
        print("    per hop (mean ms): " + ", ".join(f"{k} {v:.1f}" for k, v in r["phases"].items()))
        print("    " + cpu_line(r))
    if "fanout" in only:
        what = f"sleep {args.task_seconds}" if args.task_seconds > 0 else "true"
        results = {n: median("fanout", n, args) for n in sorted({int(x) for x in args.workers.split(",")})}
        for n, r in results.items():
            print(f"fanout {where} {r['tasks']} tasks of `{what}`, {n} worker(s) x 4 slots: {r['elapsed_s']:.3f} s "
                  f"({r['tasks'] / r['elapsed_s']:.0f}/s)")
            print("    " + cpu_line(r))
        if 1 in results and 2 in results:
            print(f"    speed-up of the second worker: {results[1]['elapsed_s'] / results[2]['elapsed_s']:.2f}x")
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def cpu_line(r: dict[str, Any]) -> str:
    """CPU ms per task and the rates they allow: all of it on this machine's CPUs, and the
    engine's alone (one engine, whatever the number of workers and machines)."""
    c = r["cpu_ms_per_task"]
    total = sum(c.values())
    ncpu = os.cpu_count() or 1
    return (f"engine statements per task {r['engine_statements_per_task']:.1f}; CPU ms per task: engine {c['engine']:.1f}, workers {c['workers']:.1f}, their processes "
            f"{c['tasks']:.1f} (total {total:.1f}; brokers and PostgreSQL not counted): at most "
            f"{ncpu * 1000 / total:.0f}/s on {ncpu} CPUs, {1000 / c['engine']:.0f}/s for one engine")


if __name__ == "__main__":
    main()
