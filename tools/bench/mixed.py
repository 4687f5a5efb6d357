"""Mixed-load benchmark: many official-SDK clients against one `wedata server` while its engine runs.

Issue 15, item 4 ("no client can slow the others"). One `wedata server` process (API + engine +
local executor) on SQLite or PostgreSQL, with its default limits (20 requests/s per credential
and action, 16 in flight per credential). Setup, through the SDK: a project and a workflow,
``--clients`` users, each with ITS OWN credential (`wedata credentials create`) and the
DataEngineer role (32 independent clients, not one credential shared by 32 threads: sharing one
would make the benchmark measure the per-credential rate limit, which is WeData's documented
20 requests/s per action), each with a few tasks of its own; and ``--scheduled`` Shell tasks
(`true`, every minute from now, submitted) that the engine keeps planning and running during
the measurement (``--clock-factor`` speeds the server's clock: at 2 every task fires every 30 s).

Submitting the scheduled tasks makes the engine plan their hour at once (about 60 instances a
task, a one-time burst); the scenarios start once the planned count stops growing (``--settle``),
so they measure the engine running the tasks, as the targets say, not that burst.

Scenarios (client latency = the SDK call as the client sees it, signing and HTTP included):

  mixed   ``--clients`` clients in a loop for ``--seconds``: GetTask 30 %, ListTasks 20 %,
          ListTaskInstances 15 %, UpdateTask 15 %, CreateTask 10 %, SubmitTask 10 %.
          Targets: >= 300 req/s, p99 <= 250 ms, 0 errors.
  flood   ``--getters`` clients calling GetTask ``--getter-rate`` times a second each (under the
          per-credential limit) for ``--flood-seconds``, first alone, then while
          one more client (its own credential) sends CreateDataBackfillPlan with 10,000 unknown
          TaskIds back to back (each refused: LimitExceeded, or RequestLimitExceeded
          past 20/s, counted as the flood's expected answers). Target: GetTask p99 <= 30 ms under the flood.

The clients are threads spread over ``--procs`` processes (the SDK is synchronous, and 32 threads
in one interpreter would measure the client's own GIL); all share this machine with the server.
Usage: ``python tools/bench/mixed.py [--backend sqlite|postgres] [--seconds 30] [--clients 32]``
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.support import (  # noqa: E402
    PG_URL,
    Api,
    ServerProcess,
    create_pg_database,
    drop_pg_database,
    unique,
)

DATA_ENGINEER = "308335260676890624"
MIX = [("GetTask", 30), ("ListTasks", 20), ("ListTaskInstances", 15), ("UpdateTask", 15), ("CreateTask", 10),
       ("SubmitTask", 10)]  # fmt: skip
# The flood's expected answers: the plan limit (LimitExceeded, checked before any lookup) or the
# rate/in-flight limits (RequestLimitExceeded).
FLOOD_CODES = {"LimitExceeded", "InvalidParameterValue", "RequestLimitExceeded"}


@dataclass
class Client:
    endpoint: str
    secret_id: str
    secret_key: str
    uin: str
    project: str
    workflow: str
    tasks: list[str]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def task_body(c: Client, name: str, *, scheduled: bool = False) -> dict[str, Any]:
    if scheduled:
        # Every minute from now on (UTC), running `true`, for the next hour of the server's clock:
        # without an EndTime the planner would plan each task through tomorrow (its horizon),
        # ~2,500 instances a task, and ListTaskInstances would measure a 500,000-row table.
        now = datetime.now(UTC)
        sched = {"CycleType": "MINUTE_CYCLE", "CrontabExpression": "0 * * * * ? *", "ScheduleTimeZone": "UTC+0",
                 "StartTime": now.strftime("%Y-%m-%d %H:%M:%S"),
                 "EndTime": (now + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
                 "SelfDepend": "parallel", "MaxRetryNumber": 0}  # fmt: skip
    else:  # never fires while the benchmark runs
        sched = {
            "CycleType": "DAY_CYCLE",
            "CrontabExpression": "0 0 1 * * ? *",
            "StartTime": "2099-01-01 00:00:00",
        }
    return {
        "TaskBaseAttribute": {"TaskName": name, "TaskTypeId": "35", "WorkflowId": c.workflow, "OwnerUin": c.uin,
                              "TaskDescription": "bench"},
        "TaskConfiguration": {"CodeContent": b64("true"), "TaskSchedulingParameterList": []},
        "TaskSchedulerConfiguration": sched,
    }  # fmt: skip


def api_of(c: Client) -> Api:
    return Api(c.endpoint, c.secret_id, c.secret_key)


def one_call(api: Api, c: Client, op: str, rnd: random.Random) -> None:
    p = c.project
    if op == "GetTask":
        api.call("GetTask", {"ProjectId": p, "TaskId": rnd.choice(c.tasks)})
    elif op == "ListTasks":
        api.call("ListTasks", {"ProjectId": p, "PageNumber": rnd.randint(1, 5), "PageSize": 10})
    elif op == "ListTaskInstances":
        api.call("ListTaskInstances", {"ProjectId": p, "PageNumber": 1, "PageSize": 10})
    elif op == "UpdateTask":
        i = rnd.randrange(len(c.tasks))
        body = task_body(c, f"{c.uin}_{i}")
        body["TaskBaseAttribute"].pop("TaskTypeId")
        body["TaskBaseAttribute"].pop("WorkflowId")
        body["TaskBaseAttribute"]["TaskDescription"] = f"bench {rnd.random()}"
        api.call("UpdateTask", {"ProjectId": p, "TaskId": c.tasks[i], "Task": body})
    elif op == "CreateTask":
        api.call("CreateTask", {"ProjectId": p, **task_body(c, unique("mix"))})
    elif op == "SubmitTask":
        api.call("SubmitTask", {"ProjectId": p, "TaskId": rnd.choice(c.tasks), "VersionRemark": "bench"})
    elif op == "GetTaskOnly":
        api.call("GetTask", {"ProjectId": p, "TaskId": c.tasks[0]})
    elif op == "Flood":
        ids = [f"9{i:016d}" for i in range(10_000)]
        api.raw("CreateDataBackfillPlan", {"ProjectId": p, "TaskIds": ids,
                                           "DataBackfillRangeList": [{"StartDate": "2025-01-01", "EndDate": "2025-01-01"}]})  # fmt: skip
    else:
        raise ValueError(op)


def client_loop(
    c: Client, ops: list[str], start_at: float, stop_at: float, seed: int, rate: float = 0.0
) -> list[tuple[str, float, str]]:
    """Call until ``stop_at`` (time.time()), at most ``rate`` calls/s when set (0: back to back);
    returns (op, seconds, error code or "")."""
    api = api_of(c)
    rnd = random.Random(seed)
    out: list[tuple[str, float, str]] = []
    while time.time() < start_at:
        time.sleep(0.005)
    # Paced clients start at a random phase of their period: from one common start they would
    # all send at the same instants (16 requests at once every 67 ms), a herd real clients do not
    # form, and GetTask's latency would measure that herd's queue, not the server.
    next_at = time.time() + (rnd.random() / rate if rate else 0.0)
    while time.time() < stop_at:
        if rate:
            next_at += 1.0 / rate
            time.sleep(max(0.0, next_at - time.time()))
        op = rnd.choice(ops)
        t0 = time.perf_counter()
        code = ""
        try:
            one_call(api, c, op, rnd)
        except Exception as exc:  # noqa: BLE001 (every failure is counted, none hidden)
            code = getattr(exc, "code", None) or type(exc).__name__
        out.append((op, time.perf_counter() - t0, code))
    return out


CPU = "__cpu__"  # a record carrying a client process's CPU seconds
last_client_cpu = 0.0  # percent of one core used by the client processes of the last run
Spec = tuple[Client, list[str], int, float]  # client, operations, seed, calls/s (0: back to back)


def proc_main(args: tuple[list[Spec], float, float]) -> list[tuple[str, float, str]]:
    specs, start_at, stop_at = args
    cpu0 = time.process_time()
    with ThreadPoolExecutor(len(specs)) as pool:
        futures = [
            pool.submit(client_loop, c, ops, start_at, stop_at, seed, rate) for c, ops, seed, rate in specs
        ]
        records = [r for f in futures for r in f.result()]
    return [*records, (CPU, time.process_time() - cpu0, "")]


def run_clients(specs: list[Spec], seconds: float, procs: int,
                alone: Sequence[Spec] = ()) -> tuple[list[Any], float]:
    """``specs`` spread over ``procs`` processes; each client of ``alone`` in a process of its own
    (the flooder: its SDK encodes and signs 200 kB a call, and would hold the GIL of the getters
    sharing its interpreter, so their latency would measure the client, not the server)."""
    groups = [specs[i::procs] for i in range(procs) if specs[i::procs]] + [[s] for s in alone]
    start_at = time.time() + 2.0  # every process imported and ready
    stop_at = start_at + seconds
    with mp.get_context("fork").Pool(len(groups)) as pool:
        parts = pool.map(proc_main, [(g, start_at, stop_at) for g in groups])
    records = [r for p in parts for r in p]
    global last_client_cpu
    last_client_cpu = sum(r[1] for r in records if r[0] == CPU) / seconds * 100
    return [r for r in records if r[0] != CPU], seconds


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))] * 1000


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_engine_pid(pid: int) -> int | None:
    """The engine process of `wedata server` (its child running Python), if it has one."""
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        if "python" in Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace"):
            return int(child)
    return None


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of ``pid`` (not of its children, e.g. task runs), by native
    thread id."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended in between
            continue
        out[task.name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def thread_names(pid: int) -> dict[str, str]:
    """Native thread id -> Python thread name (``py-spy dump``; ids alone without py-spy). The
    pool threads' numbers are dropped, so ``wedata-api`` sums the handler threads."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    try:
        dump = subprocess.run([py_spy, "dump", "-p", str(pid)], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return {}
    names = {}
    for line in dump.splitlines():  # Thread 6356 (idle): "wedata-api_1"
        if line.startswith("Thread ") and '"' in line:
            names[line.split()[1]] = line.split('"')[1].rstrip("0123456789").rstrip("_-")
    return names


def row(
    label: str,
    records: list[tuple[str, float, str]],
    seconds: float,
    ok_codes: set[str] | frozenset[str] = frozenset(),
) -> list[str]:
    lat = [r[1] for r in records]
    errors = [r[2] for r in records if r[2] and r[2] not in ok_codes]
    return [label, str(len(records)), f"{len(records) / seconds:.0f}", f"{pct(lat, 50):.1f}", f"{pct(lat, 95):.1f}",
            f"{pct(lat, 99):.1f}", f"{max(lat) * 1000 if lat else 0:.0f}", str(len(errors))]  # fmt: skip


def table(title: str, rows: list[list[str]]) -> None:
    head = ["", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print(f"\n{title}")
    for r in [head, *rows]:
        print("  " + "  ".join(v.ljust(widths[0]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(r)))


def error_summary(records: list[tuple[str, float, str]], ok: set[str] | frozenset[str] = frozenset()) -> str:
    counts: dict[str, int] = {}
    for op, _, code in records:
        if code and code not in ok:
            counts[f"{op}:{code}"] = counts.get(f"{op}:{code}", 0) + 1
    return ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())) or "none"


def setup(server: ServerProcess, n: int, scheduled: int, own_tasks: int) -> list[Client]:
    admin = server.admin()
    project = admin.data(
        "CreateProject", {"Project": {"ProjectName": unique("mix"), "DisplayName": "mixed"}}
    )["ProjectId"]
    workflow = admin.data(
        "CreateWorkflow", {"ProjectId": project, "WorkflowName": "wf", "ParentFolderPath": "/"}
    )["WorkflowId"]
    uins = [str(400_000_000_000 + i) for i in range(n)]
    with ThreadPoolExecutor(4) as pool:  # each `wedata credentials create` is a short process
        users = list(pool.map(server.new_user, uins))
    admin.call("CreateProjectMember", {"ProjectId": project, "UserUins": uins, "RoleIds": [DATA_ENGINEER]})
    clients = [
        Client(server.endpoint, u.secret_id, u.secret_key, uin, project, workflow, [])
        for u, uin in zip(users, uins, strict=True)
    ]

    def prepare(k: int) -> None:
        c = clients[k]
        api = api_of(c)
        for i in range(own_tasks):
            c.tasks.append(
                api.data("CreateTask", {"ProjectId": project, **task_body(c, f"{c.uin}_{i}")})["TaskId"]
            )
        for j in range(k, scheduled, n):  # this client's share of the scheduled tasks
            tid = api.data(
                "CreateTask", {"ProjectId": project, **task_body(c, f"sched_{j}", scheduled=True)}
            )["TaskId"]
            api.call("SubmitTask", {"ProjectId": project, "TaskId": tid, "VersionRemark": "scheduled"})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(prepare, range(n)))
    return clients


def instance_count(admin: Api, project: str) -> int:
    return int(admin.data("ListTaskInstances", {"ProjectId": project, "PageSize": 1})["TotalCount"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--procs", type=int, default=4, help="client processes (the clients are threads in them)")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--scheduled", type=int, default=200, help="every-minute Shell tasks the engine runs")
    ap.add_argument(
        "--clock-factor", type=float, default=2.0, help="server clock speed (2: every task fires every 30 s)"
    )
    ap.add_argument("--getters", type=int, default=16)
    ap.add_argument(
        "--getter-rate",
        type=float,
        default=15.0,
        help="GetTask calls/s of each getter (under the 20/s per-credential limit)",
    )
    ap.add_argument("--flood-seconds", type=float, default=15.0)
    ap.add_argument("--scenario", choices=["both", "mixed", "flood"], default="both")
    ap.add_argument(
        "--api-threads", type=int, default=None, help="WEDATA_API_THREADS for the server (default: its own)"
    )
    ap.add_argument(
        "--py-spy", metavar="FILE", help="record the server with py-spy (collapsed stacks) during mixed"
    )
    ap.add_argument("--py-spy-all", dest="py_spy_gil", action="store_false",
                    help="with --py-spy: sample every thread that is not idle (default: only the GIL holder, "
                         "i.e. where the server's one core goes)")
    ap.add_argument("--settle", type=float, default=300.0,
                    help="wait up to this many seconds for the initial planning burst to end (0: measure at once)")
    ap.add_argument("--engine-process", action="store_true",
                    help="run the engine as its own `wedata scheduler` process beside `wedata server --no-scheduler`")
    ap.add_argument("--server-log", metavar="FILE", help="keep the server's log here (with --server-env "
                    "WEDATA_ACCESS_LOG=1 it has each request's server-side duration)")
    ap.add_argument("--server-env", action="append", default=[], help="extra NAME=VALUE for the server")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="wedata-mixed-"))
    db_name = create_pg_database() if args.backend == "postgres" else None
    url = f"{PG_URL}/{db_name}" if db_name else None
    env = {"WEDATA_ACCESS_LOG": "0", "WEDATA_RATE_LIMIT": "20", "WEDATA_CLOCK_FACTOR": str(args.clock_factor)}
    if args.api_threads is not None:
        env["WEDATA_API_THREADS"] = str(args.api_threads)
    env.update(dict(kv.split("=", 1) for kv in args.server_env))
    if args.engine_process:
        env["WEDATA_SCHEDULER"] = "0"
    server = ServerProcess(home, url, env=env).start()
    engine_proc = None
    if args.engine_process:
        engine_env = {**server.env(), "WEDATA_SCHEDULER": "1"}
        engine_proc = subprocess.Popen([sys.executable, "-m", "wedata.cli.main", "scheduler"], env=engine_env,
                                       stdout=subprocess.DEVNULL, stderr=open(home / "scheduler.log", "ab"))  # noqa: SIM115
    try:
        t0 = time.perf_counter()
        clients = setup(server, max(args.clients, args.getters + 1), args.scheduled, own_tasks=5)
        admin = server.admin()
        project = clients[0].project
        print(
            f"[{args.backend}] setup: {len(clients)} credentials/users, {args.scheduled} scheduled tasks, "
            f"{5 * len(clients)} client tasks in {time.perf_counter() - t0:.0f} s; server env {json.dumps(env)}"
        )
        assert server.proc is not None
        if args.settle:
            # Submitting the scheduled tasks makes the engine plan their hour at once (~60
            # instances a task): a one-time burst. The targets are for the engine *running* them.
            t1, last = time.perf_counter(), -1
            while time.perf_counter() - t1 < args.settle:
                now_count = instance_count(admin, project)
                if now_count == last:
                    break
                last = now_count
                time.sleep(3)
            print(f"[{args.backend}] planning settled at {last} instances after {time.perf_counter() - t1:.0f} s")
        ops = [op for op, w in MIX for _ in range(w)]
        if args.scenario in ("both", "mixed"):
            before, cpu0 = instance_count(admin, project), cpu_seconds(server.proc.pid)
            threads0 = thread_cpu(server.proc.pid)
            # The engine's process: `--engine-process`'s `wedata scheduler`, or the server's own
            # engine process (WEDATA_ENGINE=process, the default), its Python child.
            engine_pid = engine_proc.pid if engine_proc is not None else server_engine_pid(server.proc.pid)
            engine_cpu0 = cpu_seconds(engine_pid) if engine_pid is not None else 0.0
            specs: list[Spec] = [(c, ops, i, 0.0) for i, c in enumerate(clients[: args.clients])]
            spy = None
            if args.py_spy:  # pip install py-spy (not a project dependency)
                py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
                spy = subprocess.Popen([py_spy, "record", "-p", str(server.proc.pid), "-d", str(int(args.seconds)),
                                        "-r", "200", "--threads", *(["--gil"] if args.py_spy_gil else []), "-f", "raw", "-o", args.py_spy, "--nonblocking"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            records, seconds = run_clients(specs, args.seconds, args.procs)
            cpu = cpu_seconds(server.proc.pid) - cpu0
            engine_cpu = 0.0
            if engine_pid is not None:
                engine_cpu = cpu_seconds(engine_pid) - engine_cpu0
                print(f"  the engine's own process: {engine_cpu / args.seconds * 100:.0f} % of a core")
            threads1 = thread_cpu(server.proc.pid)
            names = thread_names(server.proc.pid)
            per_thread: dict[str, float] = {}
            for tid, v in threads1.items():
                name = names.get(tid, f"thread {tid}")
                per_thread[name] = per_thread.get(name, 0.0) + v - threads0.get(tid, 0.0)
            if spy is not None:
                spy.wait(60)
            after = instance_count(admin, project)
            rows = [row("all", records, seconds)]
            rows += [row(op, [r for r in records if r[0] == op], seconds) for op, _ in MIX]
            table(
                f"mixed [{args.backend}]: {args.clients} SDK clients, {seconds:.0f} s, server CPU "
                f"{(cpu + engine_cpu) / seconds * 100:.0f} % ({(cpu + engine_cpu) / max(1, len(records)) * 1000:.2f} ms a request, engine included), clients' CPU {last_client_cpu:.0f} %, engine instances {before} -> {after} (targets: >= 300 req/s, "
                f"p99 <= 250 ms, 0 errors)",
                rows,
            )
            print(f"  errors: {error_summary(records)}")
            busy = sorted(((v, k) for k, v in per_thread.items() if v > 0.05), reverse=True)
            print("  server CPU by thread (% of one core): "
                  + ", ".join(f"{k} {v / seconds * 100:.0f}" for v, k in busy))
        if args.scenario in ("both", "flood"):
            getters: list[Spec] = [
                (c, ["GetTaskOnly"], i, args.getter_rate) for i, c in enumerate(clients[: args.getters])
            ]
            alone, s1 = run_clients(getters, args.flood_seconds, min(args.procs, len(getters)))
            flooder: Spec = (clients[args.getters], ["Flood"], 999, 0.0)
            mixed, s2 = run_clients(getters, args.flood_seconds, min(args.procs, len(getters)), [flooder])
            under = [r for r in mixed if r[0] == "GetTaskOnly"]
            flood = [r for r in mixed if r[0] == "Flood"]
            table(f"flood [{args.backend}]: GetTask from {args.getters} clients x {args.getter_rate:g}/s, alone and while one client floods "
                  "CreateDataBackfillPlan with 10,000 unknown TaskIds (target: GetTask p99 <= 30 ms)", [
                      row("GetTask alone", alone, s1), row("GetTask under flood", under, s2),
                      row("flood requests", flood, s2, FLOOD_CODES)])  # fmt: skip
            codes = sorted({r[2] for r in flood})
            print(f"  flood answers: {codes}; GetTask errors: {error_summary(alone + under)}")
    finally:
        if engine_proc is not None:
            engine_proc.terminate()
            engine_proc.wait(30)
        server.stop()
        if args.server_log:
            shutil.copy(server.log_path, args.server_log)
        if db_name:
            drop_pg_database(db_name)
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
