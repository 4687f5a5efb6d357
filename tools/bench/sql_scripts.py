"""SQL script benchmark (issue 9): RunSQLScript through a live server against the machine's
PostgreSQL, through the official SDK.

1. Overhead: ``SELECT 1`` submitted with RunSQLScript and polled with GetSQLRunResult until
   SUCCESS, against the same query on an open psycopg connection, interleaved (side by side in
   one run). Target: median overhead <= 20 ms.
2. Memory: a 5-million-row ``SELECT`` (``generate_series``) through RunSQLScript: the server's
   peak RSS growth (sampled from /proc every 20 ms; target <= 100 MB) and ``Truncated`` true.

The server runs with the SQL test stand-in on its path (tests/actions/sql/shim) so that the
benchmark starts before the shared SQL executor is merged; the report says which executor ran.
Usage: ``python tools/bench/sql_scripts.py [--runs 50] [--rows 5000000] [--backend sqlite]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_pid(proc_pid: int) -> int:
    """The server's own pid: ``ServerProcess`` starts ``python -m wedata.cli.main server`` directly."""
    return proc_pid


def until_done(api: Any, project: str, job: str) -> dict[str, Any]:
    while True:
        data: dict[str, Any] = api.data("GetSQLRunResult", {"ProjectId": project, "JobId": job})
        if data["Status"] not in ("QUEUED", "RUNNING"):
            return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50, help="SELECT 1 runs of each kind (default 50)")
    ap.add_argument("--rows", type=int, default=5_000_000, help="rows of the big SELECT (default 5,000,000)")
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite", help="the server's database")
    args = ap.parse_args()

    import psycopg

    from tests.actions.datasources.conftest import pg_admin
    from tests.actions.sql.conftest import start_server
    from tests.support import drop_pg_database

    name = "wd_bench_" + uuid.uuid4().hex[:10]
    with pg_admin() as c:
        c.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'bench'")
        c.execute(f'CREATE DATABASE "{name}" OWNER {name}')
    srv, db_name = start_server(Path(tempfile.mkdtemp(prefix="wedata-bench-sql-")), args.backend)
    try:
        api = srv.admin()
        pname = "bench_" + uuid.uuid4().hex[:8]
        project = api.data("CreateProject", {"Project": {"ProjectName": pname, "DisplayName": pname}})["ProjectId"]
        props = json.dumps({"url": f"jdbc:postgresql://127.0.0.1:5432/{name}", "username": name, "password": "bench"})
        source = api.data("CreateDataSource", {"ProjectId": project, "Name": "bench", "Type": "POSTGRE",
                                               "ProdConProperties": props})["DataSourceId"]
        body = {"ProjectId": project, "ScriptContent": "SELECT 1", "ScriptConfig": {"DatasourceId": str(source)}}
        direct_conn = psycopg.connect(f"host=127.0.0.1 port=5432 dbname={name} user={name} password=bench",
                                      autocommit=True)
        for _ in range(3):  # warm both paths (pools, caches)
            until_done(api, project, api.data("RunSQLScript", body)["JobId"])
            direct_conn.execute("SELECT 1").fetchall()
        direct: list[float] = []
        via: list[float] = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            direct_conn.execute("SELECT 1").fetchall()
            direct.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            done = until_done(api, project, api.data("RunSQLScript", body)["JobId"])
            via.append((time.perf_counter() - t0) * 1000)
            assert done["Status"] == "SUCCESS", done
        direct_conn.close()
        overhead = statistics.median(via) - statistics.median(direct)
        print(f"server database: {args.backend}")
        print(f"SELECT 1, {args.runs} runs each, interleaved:")
        print(f"  psycopg directly        median {statistics.median(direct):7.2f} ms")
        print(f"  RunSQLScript -> SUCCESS median {statistics.median(via):7.2f} ms  "
              f"p90 {sorted(via)[int(len(via) * 0.9) - 1]:7.2f} ms")
        print(f"  median overhead         {overhead:7.2f} ms  (target <= 20 ms: {'ok' if overhead <= 20 else 'OVER'})")

        assert srv.proc is not None
        pid = server_pid(srv.proc.pid)
        before = rss_mb(pid)
        peak = [before]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], rss_mb(pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        job = api.data("RunSQLScript", {**body, "ScriptContent": f"SELECT n, md5(n::text) FROM generate_series(1, "
                                                                 f"{args.rows}) n"})["JobId"]
        done = until_done(api, project, job)
        elapsed = time.perf_counter() - t0
        stop.set()
        sampler.join()
        growth = peak[0] - before
        res = done["Results"][0]
        print(f"SELECT of {args.rows:,} rows: {done['Status']} in {elapsed:.1f} s, {res['Total']} rows kept, "
              f"Truncated {done['Truncated']}")
        print(f"  server RSS {before:.0f} MB -> peak {peak[0]:.0f} MB: growth {growth:.1f} MB "
              f"(target <= 100 MB: {'ok' if growth <= 100 else 'OVER'}; Truncated must be true: "
              f"{'ok' if done['Truncated'] else 'NOT TRUNCATED'})")
        return 0 if overhead <= 20 and growth <= 100 and done["Truncated"] else 1
    finally:
        srv.stop()
        if db_name:
            drop_pg_database(db_name)
        with pg_admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f"DROP ROLE IF EXISTS {name}")


if __name__ == "__main__":
    sys.exit(main())
