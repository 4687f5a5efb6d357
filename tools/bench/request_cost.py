"""Server-side cost per request of the actions of the mixed-load benchmark (tools/bench/mixed.py).

Load-independent figures for issue 15 item 4: for each action of the mix, the SQL statements one
request sends (and which statement texts repeat within one request) and the CPU milliseconds the
request's thread spends (``time.thread_time``: decoding, authorization, handler, encoding; not
signing or HTTP, which run on the event loop and cost the same on every backend).

In process, no HTTP: it builds the server's runtime (``app.build_runtime``) on PostgreSQL or
SQLite, sets up what mixed.py sets up (a project, a workflow, ``--users`` DataEngineer members
with 5 tasks each, ``--scheduled`` submitted every-minute tasks) by calling the action routes
with the callers' identities, then calls each action ``--repeat`` times through the same path a
handler thread runs (``ApiEndpoint._serve``). Statements are counted with SQLAlchemy's
``before_cursor_execute`` event, for the calling thread only. ``--engine`` also runs the engine
(as ``wedata server`` does), so ListTaskInstances reads planned instances; its statements run on
other threads and are not counted.

Usage: ``python tools/bench/request_cost.py [--backend postgres|sqlite] [--repeat 200] [--show GetTask]``
(``--show`` prints the statements of one request of that action).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import event  # noqa: E402

from tests.support import PG_URL  # noqa: E402
from wedata.app import Runtime, build_runtime, start_engine, stop_engine  # noqa: E402
from wedata.config import Settings  # noqa: E402
from wedata.principal import Caller  # noqa: E402
from wedata.protocol.context import RequestContext  # noqa: E402
from wedata.protocol.errors import ApiError  # noqa: E402
from wedata.protocol.params import decode_json  # noqa: E402
from wedata.spec import VERSION  # noqa: E402

sys.path.insert(0, str(ROOT / "tools" / "bench"))
from mixed import DATA_ENGINEER, MIX, Client, task_body  # noqa: E402


class StatementLog:
    """The statements sent by one thread while ``on`` is set."""

    def __init__(self) -> None:
        self.thread: int | None = None
        self.statements: list[str] = []
        self.started = 0.0
        # normalised statement text -> thread CPU seconds from before to after its execution
        # (the driver's execute and SQLite's work on this thread; not the fetch of the rows)
        self.cpu: Counter[str] = Counter()

    def listen(self, engine: Any, *, timing: bool = False) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if self.thread == threading.get_ident():
                self.statements.append(statement)
                if timing:
                    self.started = time.thread_time()

        if not timing:
            return

        @event.listens_for(engine, "after_cursor_execute")
        def _done(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if self.thread == threading.get_ident():
                self.cpu[normalise(statement)] += time.thread_time() - self.started


class InProcess:
    def __init__(self, runtime: Runtime, log: StatementLog) -> None:
        self.runtime = runtime
        self.routes = runtime.endpoint.versions[VERSION].routes
        self.log = log

    def call(self, caller: Caller, action: str, params: dict[str, Any]) -> tuple[dict[str, Any], list[str], float]:
        """(answer, statements, thread CPU seconds) of one request."""
        route = self.routes[action]
        body = json.dumps(params).encode()
        ctx = RequestContext(action=action, version=VERSION, request_id=str(uuid.uuid4()), caller=caller)
        self.log.thread, self.log.statements = threading.get_ident(), []
        cpu0 = time.thread_time()
        try:
            payload = self.runtime.endpoint._serve(route, ctx, lambda: decode_json(body, route.request_type))
        except ApiError as err:
            raise RuntimeError(f"{action}: {err.code} {err.message}") from None
        finally:
            cpu = time.thread_time() - cpu0
            self.log.thread = None
        return json.loads(payload)["Response"], self.log.statements, cpu

    def data(self, caller: Caller, action: str, params: dict[str, Any]) -> Any:
        return self.call(caller, action, params)[0].get("Data")


def request_params(op: str, c: Client, rnd: random.Random) -> tuple[str, dict[str, Any]]:
    """The same requests mixed.py's clients send."""
    p = c.project
    if op == "GetTask":
        return op, {"ProjectId": p, "TaskId": rnd.choice(c.tasks)}
    if op == "ListTasks":
        return op, {"ProjectId": p, "PageNumber": rnd.randint(1, 5), "PageSize": 10}
    if op == "ListTaskInstances":
        return op, {"ProjectId": p, "PageNumber": 1, "PageSize": 10}
    if op == "UpdateTask":
        i = rnd.randrange(len(c.tasks))
        body = task_body(c, f"{c.uin}_{i}")
        body["TaskBaseAttribute"].pop("TaskTypeId")
        body["TaskBaseAttribute"].pop("WorkflowId")
        body["TaskBaseAttribute"]["TaskDescription"] = f"bench {rnd.random()}"
        return op, {"ProjectId": p, "TaskId": c.tasks[i], "Task": body}
    if op == "CreateTask":
        return op, {"ProjectId": p, **task_body(c, f"mix_{uuid.uuid4().hex[:12]}")}
    if op == "SubmitTask":
        return op, {"ProjectId": p, "TaskId": rnd.choice(c.tasks), "VersionRemark": "bench"}
    raise ValueError(op)


def setup(api: InProcess, users: int, scheduled: int) -> list[tuple[Caller, Client]]:
    admin = Caller("admin", "100000000001", is_admin=True)
    project = api.data(admin, "CreateProject", {"Project": {"ProjectName": f"cost_{uuid.uuid4().hex[:8]}",
                                                            "DisplayName": "cost"}})["ProjectId"]  # fmt: skip
    workflow = api.data(admin, "CreateWorkflow", {"ProjectId": project, "WorkflowName": "wf",
                                                  "ParentFolderPath": "/"})["WorkflowId"]  # fmt: skip
    uins = [str(400_000_000_000 + i) for i in range(users)]
    api.call(admin, "CreateProjectMember", {"ProjectId": project, "UserUins": uins, "RoleIds": [DATA_ENGINEER]})
    out = []
    for k, uin in enumerate(uins):
        caller = Caller(f"id{uin}", uin)
        c = Client("", "", "", uin, project, workflow, [])
        for i in range(5):
            c.tasks.append(api.data(caller, "CreateTask", {"ProjectId": project, **task_body(c, f"{uin}_{i}")})["TaskId"])
        for j in range(k, scheduled, users):
            tid = api.data(caller, "CreateTask", {"ProjectId": project,
                                                  **task_body(c, f"sched_{j}", scheduled=True)})["TaskId"]  # fmt: skip
            api.call(caller, "SubmitTask", {"ProjectId": project, "TaskId": tid, "VersionRemark": "scheduled"})
        out.append((caller, c))
    return out


def engine_thread_cost(engine: Any, api: InProcess, clients: list[tuple[Caller, Client]], rnd: random.Random) -> None:
    """Each SubmitTask wakes the in-process engine to plan that task: its thread's CPU (user +
    system, /proc) per submission, the submissions 20 ms apart so each is planned on its own."""
    stat = Path(f"/proc/self/task/{engine._thread.native_id}/stat")

    def cpu() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    n, iterations0, cpu0 = 300, engine.stats.iterations, cpu()
    for _ in range(n):
        caller, c = rnd.choice(clients)
        api.call(caller, *request_params("SubmitTask", c, rnd))
        time.sleep(0.02)
    time.sleep(1)
    print(f"  engine thread: {(cpu() - cpu0) / n * 1000:.2f} ms of CPU a SubmitTask "
          f"({engine.stats.iterations - iterations0} iterations for {n} submissions)")


def normalise(statement: str) -> str:
    return " ".join(statement.split())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--scheduled", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=200, help="requests per action")
    ap.add_argument("--engine", action="store_true", help="run the engine too (instances get planned)")
    ap.add_argument("--show", action="append", default=[], help="print the statements of one request of ACTION")
    ap.add_argument("--submit-engine-cost", action="store_true",
                    help="with --engine: the engine thread's CPU for planning each SubmitTask (300 of them)")
    ap.add_argument("--statement-cpu", action="store_true",
                    help="per action, the statements taking the most CPU in the driver (execution)")
    ap.add_argument("--db-prefix", default="hmixed_cost", help="PostgreSQL database name prefix")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="wedata-cost-"))
    db_name = None
    url = None
    if args.backend == "postgres":
        import psycopg

        admin_url = PG_URL.replace("postgresql+psycopg", "postgresql") + "/postgres"
        db_name = f"{args.db_prefix}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin_url, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{db_name}"')
        url = f"{PG_URL}/{db_name}"
    settings = Settings(home=home, database_url=url, rate_limit=0)
    runtime = build_runtime(settings)
    log = StatementLog()
    log.listen(runtime.db.engine, timing=args.statement_cpu)
    api = InProcess(runtime, log)
    try:
        clients = setup(api, args.users, args.scheduled)
        if args.engine:
            start_engine(runtime)
            time.sleep(10)
        rnd = random.Random(1)
        print(f"[{args.backend}] {args.users} members, {args.scheduled} scheduled tasks, {args.repeat} requests "
              f"per action (statements and CPU of the handler thread)")  # fmt: skip
        print(f"  {'action':<18} {'stmts/req':>9} {'CPU ms/req (median)':>20} {'mean':>7}  repeated texts in one request")
        for op, _ in MIX:
            for _ in range(20):  # warm caches (compiled statements, prepared statements)
                caller, c = rnd.choice(clients)
                api.call(caller, *request_params(op, c, rnd))
            counts, cpus = [], []
            log.cpu.clear()
            repeats: Counter[str] = Counter()
            for _ in range(args.repeat):
                caller, c = rnd.choice(clients)
                _, statements, cpu = api.call(caller, *request_params(op, c, rnd))
                counts.append(len(statements))
                cpus.append(cpu * 1000)
                for text, n in Counter(normalise(s) for s in statements).items():
                    if n > 1:
                        repeats[text[:60]] += 1
            dup = "; ".join(f"{t}... in {n}" for t, n in repeats.most_common(3)) or "-"
            print(f"  {op:<18} {statistics.mean(counts):>9.2f} {statistics.median(cpus):>20.2f} "
                  f"{statistics.mean(cpus):>7.2f}  {dup}")  # fmt: skip
            if args.statement_cpu:
                for text, sec in log.cpu.most_common(4):
                    print(f"      {sec / args.repeat * 1000:6.3f} ms  {text[:150]}")
        if args.submit_engine_cost and runtime.engine is not None:
            engine_thread_cost(runtime.engine, api, clients, rnd)
        for op in args.show:
            caller, c = rnd.choice(clients)
            _, statements, _ = api.call(caller, *request_params(op, c, rnd))
            print(f"\n{op}: {len(statements)} statements")
            for s in statements:
                print("  -", normalise(s)[:300])
    finally:
        stop_engine(runtime)
        runtime.endpoint.close()
        runtime.db.dispose()
        if db_name:
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
