"""Scheduler engine benchmark: how fast submitted work flows through plan -> ready -> run -> done.

Workloads (every task a Shell task running ``true``, a one-off whose single data time becomes
eligible at one instant, 4 slots):

  W1  200 independent tasks
  W2  a chain of 50 (each depends on the previous)
  W3  10 layers x 20, each task depending on every task of the layer before (3,600 edges)
  W4  100 workflows of 5 chained tasks

The tasks are written straight into a fresh database (as SubmitTask leaves them) with their
one-off time a few seconds ahead, an engine is started in this process, plans them, and waits
for that instant. Measured: from the instant they become eligible (their scheduled time) to the
last COMPLETED, from the timestamps the engine itself stored. "Where the time goes" is the
engine's own per-phase timing for the run.

Also: ``--idle`` the CPU of an idle ``wedata scheduler`` process with 10,000 tasks defined;
``--rss`` the resident memory of ``wedata server`` with 100,000 instances in its database.

``--statements`` also counts the statements the engine's thread sends from the first claim to
the end (a SQLAlchemy ``before_cursor_execute`` counter, ``BEGIN`` and ``COMMIT`` included): on
PostgreSQL each is a network round trip, so this is the load-independent cost of a hop.

Usage: ``python tools/bench/engine.py [--backend sqlite|postgres] [--only W1,W2] [--sandbox none|bwrap|auto]
[--statements] [--statement-times] [--history N] [--idle] [--rss]``

``--history N`` first writes N finished instances, each with an edge, as a server accumulates them:
the workloads then show whether a hop's statements find their rows by index or pass them all.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import event, false, func, insert, literal, select, true  # noqa: E402

from tests.scheduler.helpers import World  # noqa: E402
from tests.support import PG_URL, clean_env, create_pg_database, drop_pg_database, wedata_cli  # noqa: E402
from wedata.clock import SystemClock, utcnow  # noqa: E402
from wedata.config import Settings  # noqa: E402
from wedata.scheduler.engine import OLTP_PLANS, Engine  # noqa: E402
from wedata.services.container import Services  # noqa: E402
from wedata.storage.db import Database  # noqa: E402
from wedata.storage.engine_tables import instance_deps  # noqa: E402
from wedata.storage.engine_tables import task_instances as TI  # noqa: E402
from wedata.storage.migrate import upgrade  # noqa: E402

EVERY_SECOND = "* * * * * ? *"  # a one-off fires at its first cron fire from StartTime


class Backend:
    def __init__(self, kind: str, home: Path) -> None:
        self.kind, self.home, self.pg_name = kind, home, None
        if kind == "postgres":
            self.pg_name = create_pg_database()
            self.url = f"{PG_URL}/{self.pg_name}"
        else:
            self.url = f"sqlite:///{home / 'wedata.db'}"
        self.db = Database(self.url)
        upgrade(self.db)

    def close(self) -> None:
        self.db.dispose()
        if self.pg_name:
            drop_pg_database(self.pg_name)


def wall(utc: datetime) -> str:
    """UTC -> the tasks' UTC+8 wall time string."""
    return (utc + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")


def build(db: Database, name: str, start: str) -> list[str]:
    now = utcnow()
    ids: list[str] = []

    def task(w: World, ups: list[str]) -> str:
        tid = w.task("true", cycle="ONEOFF_CYCLE", cron=EVERY_SECOND, start=start,
                     upstream=[(u, "DAY", "CURRENT_DAY") for u in ups], SelfDepend="parallel")
        ids.append(tid)
        return tid

    if name == "W1":
        w = World(db, now)
        for _ in range(200):
            task(w, [])
    elif name == "W2":
        w = World(db, now)
        prev: list[str] = []
        for _ in range(50):
            prev = [task(w, prev)]
    elif name == "W3":
        w = World(db, now)
        layer: list[str] = []
        for _ in range(10):
            layer = [task(w, layer) for _ in range(20)]
    elif name == "W4":
        for _ in range(100):
            w = World(db, now)
            prev = []
            for _ in range(5):
                prev = [task(w, prev)]
    else:
        raise SystemExit(f"unknown workload {name}")
    return ids


def count(db: Database, state: str | None = None, tasks: list[str] | None = None) -> int:
    """Instances (in ``state``; of ``tasks``: the workload's, not the seeded history)."""
    with db.read() as conn:
        q = select(func.count()).select_from(TI)
        if state:
            q = q.where(TI.c.state == state)
        if tasks is not None:
            q = q.where(TI.c.task_id.in_(tasks))
        return int(conn.execute(q).scalar_one())


class StatementCounter:
    """Statements sent by the engine's thread while ``on`` (BEGIN and COMMIT included): all of
    them, and those of its cycles alone (ending, readiness, dispatch: the per-hop work; the rest
    is planning polls and heartbeats, which grow with the elapsed time, i.e. with the load)."""

    def __init__(self, db: Database, engine: Engine) -> None:
        self.db, self.on, self.n, self.in_cycles = db, False, 0, 0
        self._cycling = False
        self._events = [("before_cursor_execute", self._count), ("begin", self._count), ("commit", self._count)]
        for name, fn in self._events:
            event.listen(db.engine, name, fn)
        cycle = engine._cycle  # wrapped on this instance only, to know which statements are a cycle's

        def counted_cycle(*args: Any) -> Any:
            self._cycling = True
            try:
                return cycle(*args)
            finally:
                self._cycling = False

        engine._cycle = counted_cycle  # type: ignore[method-assign]

    def _count(self, *_: Any) -> None:
        if self.on and threading.current_thread().name == "wedata-engine":
            self.n += 1
            self.in_cycles += self._cycling

    def time_statements(self) -> None:
        """Also time each statement of the engine's cycles (execute to results, the round trip
        and the server's work; ``--statement-times``), by statement text."""
        self.times: dict[str, list[float]] = {}
        self._started = 0.0

        def before(*_: Any) -> None:
            if threading.current_thread().name == "wedata-engine":  # not the benchmark's own polls
                self._started = time.perf_counter()

        def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if self.on and self._cycling and threading.current_thread().name == "wedata-engine":
                key = " ".join(statement.split())[:110]
                self.times.setdefault(key, []).append(time.perf_counter() - self._started)

        self._events += [("before_cursor_execute", before), ("after_cursor_execute", after)]
        event.listen(self.db.engine, "before_cursor_execute", before)
        event.listen(self.db.engine, "after_cursor_execute", after)

    def report_times(self, tasks: int) -> None:
        rows = sorted(self.times.items(), key=lambda kv: -sum(kv[1]))
        total = sum(sum(v) for v in self.times.values())
        print(f"    statement time in cycles: {total * 1000:.0f} ms ({total * 1000 / tasks:.2f} ms per task); by text:")
        for text, ts in rows[:25]:
            print(f"      {sum(ts) * 1000:7.1f} ms {len(ts):5d}x {sum(ts) / len(ts) * 1000:6.3f} ms  {text}")

    def close(self) -> None:
        for name, fn in self._events:
            event.remove(self.db.engine, name, fn)


def run_workload(name: str, backend_kind: str, slots: int, lead: float, sandbox: str = "auto",
                 statements: bool = False, statement_times: bool = False, history: int = 0) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    backend = Backend(backend_kind, home)
    try:
        if history:
            seed_history(backend.db, history)
        eligible_at = (utcnow() + timedelta(seconds=lead)).replace(microsecond=0) + timedelta(seconds=1)
        t0 = time.perf_counter()
        ids = build(backend.db, name, wall(eligible_at))
        built = time.perf_counter() - t0
        # The tasks are written without credentials (no admin owner): unisolated runs allowed.
        settings = Settings(home=home, default_slots=slots, plan_interval=0.2, sweep_interval=30.0,
                            sandbox=sandbox, allow_unisolated=True)
        # The services register their transition observers (alarms, backfill) as in the server.
        services = Services(backend.db, settings, SystemClock())
        # The engine's process serves no API: its connections carry the plan settings, as in
        # `wedata scheduler` and the server's engine process (Database.engine_sessions).
        backend.db.engine_sessions(OLTP_PLANS)
        engine = Engine(backend.db, settings, SystemClock(), defs=services.scheduler.defs)
        services.scheduler.attach(engine)
        counter = StatementCounter(backend.db, engine) if statements or statement_times else None
        if counter is not None and statement_times:
            counter.time_statements()
        engine.start()
        try:
            t1 = time.perf_counter()
            while count(backend.db, tasks=ids) < len(ids):
                if utcnow() >= eligible_at:
                    raise SystemExit(f"{name}: planning did not finish before the eligible time; raise --lead")
                time.sleep(0.05)
            planned = time.perf_counter() - t1
            while utcnow() < eligible_at - timedelta(milliseconds=200):
                time.sleep(0.05)
            before = dict(engine.stats.timings)
            if counter is not None:
                counter.on = True
            cpu0 = time.process_time()
            deadline = time.monotonic() + 120
            while count(backend.db, "COMPLETED", ids) < len(ids):
                if time.monotonic() > deadline:
                    raise SystemExit(f"{name}: not finished after 120 s")
                time.sleep(0.2)  # the figures come from the engine's timestamps, not from this poll
            cpu = time.process_time() - cpu0
            spent = {k: v - before.get(k, 0.0) for k, v in engine.stats.timings.items()}
        finally:
            engine.stop()
            services.scheduler.attach(None)  # and its backfill watchdog ends with it
            if counter is not None:
                counter.close()
        with backend.db.read() as conn:
            sched, first, last = conn.execute(
                select(func.min(TI.c.scheduled_at), func.min(TI.c.started_at), func.max(TI.c.ended_at))
                .where(TI.c.task_id.in_(ids))
            ).one()
        elapsed = (last - sched).total_seconds()
        return {"workload": name, "tasks": len(ids), "elapsed_s": elapsed, "first_start_ms": (first - sched).total_seconds() * 1000,
                "build_s": built, "plan_s": planned, "cpu_s": cpu, "spent": spent,
                "statements": (counter.n, counter.in_cycles) if counter is not None else None,
                "counter": counter if statement_times else None}
    finally:
        backend.close()
        shutil.rmtree(home, ignore_errors=True)


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def idle_cpu(backend_kind: str, tasks: int, seconds: float) -> dict[str, Any]:
    """CPU share of an idle `wedata scheduler` with ``tasks`` daily tasks (instances tomorrow)."""
    home = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    backend = Backend(backend_kind, home)
    tomorrow = (utcnow() + timedelta(hours=8) + timedelta(days=1)).strftime("%Y-%m-%d 00:00:00")
    w = World(backend.db, utcnow())
    for _ in range(tasks):
        w.task("true", cycle="DAY_CYCLE", cron="0 0 0 * * ? *", start=tomorrow)
    env = clean_env()
    env.update(WEDATA_HOME=str(home), WEDATA_DATABASE_URL=backend.url)
    proc = subprocess.Popen([*wedata_cli(), "scheduler"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        deadline = time.monotonic() + 300
        while count(backend.db) < tasks and time.monotonic() < deadline:
            time.sleep(0.5)
        planned = count(backend.db)
        time.sleep(3)  # let the last planning iteration settle
        c0, t0 = _proc_cpu(proc.pid), time.monotonic()
        time.sleep(seconds)
        share = (_proc_cpu(proc.pid) - c0) / (time.monotonic() - t0) * 100
        return {"tasks": tasks, "instances": planned, "idle_cpu_percent": share, "rss_mb": _rss_mb(proc.pid)}
    finally:
        proc.terminate()
        proc.wait(10)
        backend.close()
        shutil.rmtree(home, ignore_errors=True)


def seed_history(db: Database, instances: int) -> str:
    """``instances`` finished instances (100 daily ones a task, of paused tasks the planner leaves
    alone), each with a met edge on itself: the history a server accumulates, which every
    statement of the engine must find its rows past. Returns the project id."""
    per_task = 100
    w = World(db, utcnow())
    now = utcnow()
    rows = []
    day0 = datetime(2024, 1, 1)
    for t in range(instances // per_task):
        tid = w.task("true", cycle="DAY_CYCLE", cron="0 0 0 * * ? *", start="2099-01-01 00:00:00", status="F")
        for d in range(per_task):
            dt = day0 + timedelta(days=d)
            rows.append({"task_id": tid, "data_time": dt, "project_id": w.project_id, "workflow_id": w.workflow_id,
                         "version_id": f"{tid}_{tid}", "instance_type": 1, "state": "COMPLETED",
                         "scheduled_at": dt - timedelta(hours=8), "priority": 6, "self_depend": "serial",
                         "dry_run": False, "cycle_type": "DAY_CYCLE", "task_type_id": 35, "life_round_num": 0,
                         "tries": 1, "try_limit": 5, "total_run_num": 1, "run_type": "PERIODIC", "started_at": now,
                         "ended_at": now, "cost_ms": 5, "skip_events": False, "row_version": 3, "created_at": now,
                         "updated_at": now})
        if len(rows) >= 5000 or t == instances // per_task - 1:
            with db.write() as conn:
                conn.execute(insert(TI), rows)
            rows = []
    D = instance_deps
    with db.write() as conn:
        conn.execute(insert(D).from_select(
            ["instance_id", "upstream_task_id", "upstream_data_time", "kind", "met", "on_missing", "on_failed"],
            select(TI.c.id, TI.c.task_id, TI.c.data_time, literal("self"), true(), false(), false())))
    return w.project_id


def server_rss(backend_kind: str, instances: int) -> dict[str, Any]:
    """RSS of `wedata server` (API + engine) over a database holding ``instances`` instances."""
    from tests.support import ServerProcess

    home = Path(tempfile.mkdtemp(prefix="bench-rss-"))
    backend = Backend(backend_kind, home)
    project_id = seed_history(backend.db, instances)
    backend.db.dispose()
    srv = ServerProcess(home, backend.url if backend_kind == "postgres" else None).start()
    try:
        api = srv.admin()
        time.sleep(3)
        listed = api.data("ListTaskInstances", {"ProjectId": project_id, "PageSize": 100})["TotalCount"]
        time.sleep(2)
        assert srv.proc is not None
        return {"instances": count(backend.db), "listed_total": listed, "server_rss_mb": _rss_mb(srv.proc.pid)}
    finally:
        srv.stop()
        backend.close()
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--only", default="W1,W2,W3,W4")
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--lead", type=float, default=4.0, help="seconds between start and eligibility")
    ap.add_argument("--sandbox", default="auto", help="task isolation (WEDATA_SANDBOX), e.g. none or bwrap")
    ap.add_argument("--repeat", type=int, default=1, help="runs per workload; the median is reported")
    ap.add_argument("--statements", action="store_true", help="count the engine thread's statements per task")
    ap.add_argument("--statement-times", action="store_true",
                    help="also time the statements of the engine's cycles, by text (where a hop's time goes)")
    ap.add_argument("--history", type=int, default=0,
                    help="finished instances (each with an edge) in the database before the workload")
    ap.add_argument("--idle", action="store_true", help="also measure idle CPU with 10,000 tasks")
    ap.add_argument("--idle-tasks", type=int, default=10_000)
    ap.add_argument("--rss", action="store_true", help="also measure server RSS with 100,000 instances")
    args = ap.parse_args()
    targets = {"W1": 2.0, "W2": 1.0, "W3": 3.0, "W4": 5.0}
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        runs = sorted((run_workload(name, args.backend, args.slots, args.lead, args.sandbox, args.statements,
                                  args.statement_times, args.history)
                      for _ in range(args.repeat)),
                      key=lambda x: x["elapsed_s"])
        r = runs[len(runs) // 2]
        if len(runs) > 1:
            times = ", ".join(f"{x['elapsed_s']:.3f}" for x in runs)
            print(f"{name}: runs {times} s (median below)")
        spent = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in sorted(r["spent"].items(), key=lambda kv: -kv[1]))
        hop = f" ({r['elapsed_s'] / r['tasks'] * 1000:.1f} ms per task)"
        ok = "ok" if r["elapsed_s"] <= targets[name] else "OVER TARGET"
        print(f"{name} [{args.backend}] {r['tasks']} tasks: {r['elapsed_s']:.3f} s eligible->last COMPLETED{hop}, "
              f"target {targets[name]} s: {ok}; first start after {r['first_start_ms']:.0f} ms; "
              f"engine-process CPU {r['cpu_s']:.2f} s; planning {r['plan_s']:.2f} s")
        print(f"    engine time: {spent}")
        if r["statements"] is not None:
            n, in_cycles = r["statements"]
            print(f"    statements on the engine thread: {in_cycles} in its cycles ({in_cycles / r['tasks']:.1f} per task), "
                  f"{n} in all ({n / r['tasks']:.1f} per task, planning polls and heartbeats included)")
        if r["counter"] is not None:
            r["counter"].report_times(r["tasks"])
    if args.idle:
        r = idle_cpu(args.backend, args.idle_tasks, 30.0)
        print(f"idle [{args.backend}] {r['tasks']} tasks, {r['instances']} planned instances: "
              f"scheduler CPU {r['idle_cpu_percent']:.2f} % (target < 2 %), RSS {r['rss_mb']:.0f} MB")
    if args.rss:
        r = server_rss(args.backend, 100_000)
        print(f"rss [{args.backend}] {r['instances']} instances (ListTaskInstances total {r['listed_total']}): "
              f"server RSS {r['server_rss_mb']:.0f} MB (target <= 300 MB)")


if __name__ == "__main__":
    main()
