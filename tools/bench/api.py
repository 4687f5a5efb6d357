"""API benchmark: GetTask, GetTaskInstance and ListTasks through real signed HTTP against one server process.

Starts `wedata server` (SQLite, rate limit off) in a temporary home, creates a project with a
workflow and 1,000 tasks through the official SDK, then drives pre-signed TC3 requests with wrk
(a C load generator, so the 2 cores go to the server, not to Python-side load generation). Every
response body is checked for an `"Error"` key by wrk's Lua hook: errors are counted, not timed
as successes. Usage: `python tools/bench/api.py [--backend sqlite|postgres] [--tasks 1000] [--seconds 10]
[--connections 8]` (postgres: a scratch database on the local server, dropped at the end).

Each run also reports the CPU it cost per request: the server's process tree
(``server_cpu_ms``; ``server_system_cpu_ms`` of it in the kernel) and the PostgreSQL server's
processes (``postgres_cpu_ms``, shown whenever one runs here), read from /proc before and after. On a shared, noisy machine requests per second move run to run; the CPU a
request costs moves far less, so an A/B of the request path compares those.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.support import ADMIN_ID, ADMIN_KEY, PG_URL, ServerProcess, create_pg_database, drop_pg_database  # noqa: E402
from wedata.protocol.signing import tc3_signature  # noqa: E402

LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Host"] = "{host}"
wrk.headers["X-TC-Action"] = "{action}"
wrk.headers["X-TC-Version"] = "2025-08-06"
wrk.headers["X-TC-Timestamp"] = "{ts}"
wrk.headers["Authorization"] = "{auth}"
errors = 0
response = function(status, headers, body)
  if string.find(body, '"Error"', 1, true) then errors = errors + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("ERRORS %d\\n", errors))
  for _, p in pairs({{50, 90, 99}}) do
    io.write(string.format("P%d %.3f\\n", p, latency:percentile(p) / 1000.0))
  end
end
"""


def signed_lua(endpoint: str, action: str, params: dict, secret_id: str = ADMIN_ID, secret_key: str = ADMIN_KEY) -> str:
    body = json.dumps(params)
    ts = int(time.time())
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    sig = tc3_signature(
        secret_key=secret_key,
        method="POST",
        query="",
        headers={"content-type": "application/json", "host": endpoint},
        signed_headers=["content-type", "host"],
        payload_hash=hashlib.sha256(body.encode()).hexdigest(),
        timestamp=str(ts),
        date=date,
    )
    auth = (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/wedata/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={sig}"
    )
    return LUA.format(body=json.dumps(body), host=endpoint, action=action, ts=ts, auth=auth)


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_table() -> dict[int, tuple[str, int, float, float]]:
    """{pid: (command name, parent pid, user CPU seconds, system CPU seconds)} of every process,
    from /proc."""
    table: dict[int, tuple[str, int, float, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:  # gone meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry)] = (name, int(fields[1]), int(fields[11]) / _TICK, int(fields[12]) / _TICK)
    return table


def cpu_seconds(server_pid: int) -> tuple[float, float, dict[int, float]]:
    """CPU seconds used so far: the server's process tree (user, system), and each ``postgres``
    process's (by pid: one that ends between two readings must not count as negative)."""
    table = _proc_table()
    tree, grew = {server_pid}, True
    while grew:
        grew = False
        for pid, (_, ppid, _, _) in table.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    user = sum(table[p][2] for p in tree if p in table)
    system = sum(table[p][3] for p in tree if p in table)
    postgres = {pid: u + s for pid, (name, _, u, s) in table.items() if name == "postgres"}
    return user, system, postgres


def run_wrk(endpoint: str, action: str, params: dict, seconds: int, connections: int,
            credential: tuple[str, str] = (ADMIN_ID, ADMIN_KEY), server_pid: int | None = None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(signed_lua(endpoint, action, params, *credential))
        script = f.name
    before = cpu_seconds(server_pid) if server_pid else None
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script, f"http://{endpoint}/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    pct = {m.group(1): float(m.group(2)) for m in re.finditer(r"^P(\d+) ([\d.]+)$", out, re.M)}
    errors = int(re.search(r"^ERRORS (\d+)$", out, re.M).group(1))  # type: ignore[union-attr]
    result = {"action": action, "requests": total, "rps": rps, "p50_ms": pct["50"], "p90_ms": pct["90"],
              "p99_ms": pct["99"], "errors": errors}  # fmt: skip
    if before is not None and server_pid and total:
        after = cpu_seconds(server_pid)
        user, system = after[0] - before[0], after[1] - before[1]
        postgres = sum(cpu - before[2].get(pid, 0.0) for pid, cpu in after[2].items())
        result["server_cpu_ms"] = round((user + system) / total * 1000, 3)
        result["server_system_cpu_ms"] = round(system / total * 1000, 3)  # in the kernel: syscalls, switches
        if after[2]:  # a PostgreSQL server runs here (used by this server or not)
            result["postgres_cpu_ms"] = round(postgres / total * 1000, 3)
    return result


def one_instance(api: Any, project: str, task_id: str) -> str:
    """Submit the task and return the key of an instance the engine planned for it (a daily
    task's coming day: GetTaskInstance reads a row whatever its state)."""
    api.data("SubmitTask", {"ProjectId": project, "TaskId": task_id, "VersionRemark": "bench"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = api.data("ListTaskInstances", {"ProjectId": project, "TaskId": task_id})["Items"]
        if items:
            return str(items[0]["InstanceKey"])
        time.sleep(0.2)
    raise SystemExit("the engine planned no instance of the submitted task within 30 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--access-log", action="store_true", help="keep the per-request log line on")
    parser.add_argument("--caller", choices=("admin", "member"), default="admin",
                        help="sign as the tenant administrator, or as a DataEngineer member of the project "
                             "(the authorization check's full path)")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the server (repeatable), e.g. WEDATA_API_THREADS=4")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is required: apt-get install wrk", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="wedata-bench-"))
    env = {"WEDATA_ACCESS_LOG": "1" if args.access_log else "0"}
    env.update(item.split("=", 1) for item in args.server_env)
    db_name = create_pg_database() if args.backend == "postgres" else None
    if db_name:
        env["WEDATA_DATABASE_URL"] = f"{PG_URL}/{db_name}"
    server = ServerProcess(home, env=env).start()
    try:
        api = server.admin()
        project = api.data("CreateProject", {"Project": {"ProjectName": "bench", "DisplayName": "bench"}})["ProjectId"]
        wf = api.data("CreateWorkflow", {"ProjectId": project, "WorkflowName": "wf", "ParentFolderPath": "/"})
        workflow = wf["WorkflowId"]
        started = time.perf_counter()
        task_ids = []
        for i in range(args.tasks):
            task = api.data("CreateTask", {
                "ProjectId": project,
                "TaskBaseAttribute": {"TaskName": f"t{i:05d}", "TaskTypeId": "35", "WorkflowId": workflow},
                "TaskConfiguration": {"CodeContent": "ZWNobyBoaQo="},
                "TaskSchedulerConfiguration": {"CycleType": "DAY_CYCLE", "CrontabExpression": "0 0 1 * * ? *"},
            })  # fmt: skip
            task_ids.append(task["TaskId"])
        create_s = time.perf_counter() - started
        credential = (ADMIN_ID, ADMIN_KEY)
        if args.caller == "member":
            member = server.new_user()
            api.call("CreateProjectMember", {"ProjectId": project, "UserUins": [member.uin],  # type: ignore[attr-defined]
                                             "RoleIds": ["308335260676890624"]})  # DataEngineer
            credential = (member.secret_id, member.secret_key)
        instance_key = one_instance(api, project, task_ids[len(task_ids) // 2])
        results = [
            run_wrk(server.endpoint, "GetTask", {"ProjectId": project, "TaskId": task_ids[len(task_ids) // 2]},
                    args.seconds, args.connections, credential, server.proc.pid),
            run_wrk(server.endpoint, "GetTaskInstance", {"ProjectId": project, "InstanceKey": instance_key},
                    args.seconds, args.connections, credential, server.proc.pid),
            run_wrk(server.endpoint, "ListTasks", {"ProjectId": project, "PageNumber": 3, "PageSize": 10},
                    args.seconds, args.connections, credential, server.proc.pid),
            run_wrk(server.endpoint, "ListTasks", {"ProjectId": project, "PageNumber": 2, "PageSize": 100},
                    args.seconds, args.connections, credential, server.proc.pid),
        ]  # fmt: skip
        print(json.dumps({"backend": args.backend, "tasks": args.tasks, "create_tasks_per_s": round(args.tasks / create_s, 1),
                          "caller": args.caller, "connections": args.connections, "results": results},
                         indent=2))  # fmt: skip
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
        if db_name:
            drop_pg_database(db_name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
