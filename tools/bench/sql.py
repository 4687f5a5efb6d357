"""SQL benchmark: how fast SQL work flows, one function per scenario.

Scenarios:

  chain          a chain of N SQL tasks (JDBC SQL, type 21) on a PostgreSQL data source, each
                 ``INSERT INTO chain SELECT max(step) + 1 FROM chain`` depending on the one
                 before, all one-offs whose data time becomes eligible at one instant; measured
                 from that instant to the last COMPLETED, from the engine's own timestamps
                 (target for 20: <= 2 s).
  chain_process  the same chain, each task a Shell task running the same INSERT from a Python
                 subprocess (``python -c "import psycopg; ..."``): what the chain would cost if
                 each SQL attempt were its own process (the design the SQL executor rejected,
                 executors/sql_tasks.py).

The tasks are written straight into a fresh database (as SubmitTask leaves them), the data
source through the data-source service (encrypted password, connection test), and an engine is
started in this process with the services' SQL resolver, as ``wedata server`` does.
The engine's own database is ``--backend`` (sqlite or postgres); the data source is a scratch
PostgreSQL database on 127.0.0.1:5432 either way.

Usage: ``python tools/bench/sql.py [--scenario chain] [--backend sqlite|postgres] [--tasks 20] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import func, select, update  # noqa: E402

from tests.scheduler.helpers import World  # noqa: E402
from tests.support import PG_URL, create_pg_database, drop_pg_database  # noqa: E402
from tools.bench.engine import EVERY_SECOND, Backend, count, wall  # noqa: E402
from wedata.clock import SystemClock, utcnow  # noqa: E402
from wedata.config import Settings  # noqa: E402
from wedata.principal import Caller  # noqa: E402
from wedata.scheduler.engine import OLTP_PLANS, Engine  # noqa: E402
from wedata.services.container import Services  # noqa: E402
from wedata.spec import models as M  # noqa: E402
from wedata.storage import tables as T  # noqa: E402
from wedata.storage.engine_tables import task_instances as TI  # noqa: E402

ADMIN = Caller("bench", "1", is_admin=True)


def _pg_source(services: Services, project_id: str, db_name: str) -> int:
    host_url = PG_URL.split("@", 1)[1]  # e.g. 127.0.0.1:5432
    user = PG_URL.split("//", 1)[1].split("@", 1)[0]
    props = {"url": f"jdbc:postgresql://{host_url}/{db_name}", "username": user, "password": "bench-pw"}
    return services.datasources.create(ADMIN, M.CreateDataSourceRequest(
        project_id=project_id, name="bench_pg", type="POSTGRE", prod_con_properties=json.dumps(props)))


def _with_source(world: World, task_id: str, source_id: int) -> None:
    """Name the data source in the submitted snapshot (World writes Shell-shaped snapshots)."""
    with world.db.write() as conn:
        v = T.task_versions
        snap = conn.execute(select(v.c.snapshot).where(v.c.task_id == task_id)).scalar_one()
        snap = {**snap, "TaskConfiguration": {**snap["TaskConfiguration"], "SourceServiceId": str(source_id)}}
        conn.execute(update(v).where(v.c.task_id == task_id).values(snapshot=snap))


def bench_chain(backend_kind: str, tasks: int = 20, lead: float = 6.0, *, process: bool = False) -> dict[str, Any]:
    """A chain of ``tasks`` INSERT ... SELECT tasks on PostgreSQL: eligibility to last COMPLETED.
    ``process``: Shell tasks running the statement from a Python subprocess instead."""
    import psycopg

    home = Path(tempfile.mkdtemp(prefix="bench-sql-chain-"))
    backend = Backend(backend_kind, home)
    source_db = create_pg_database()
    admin_url = PG_URL.replace("postgresql+psycopg", "postgresql")
    try:
        with psycopg.connect(f"{admin_url}/{source_db}", autocommit=True) as c:
            c.execute("CREATE TABLE chain (step int)")
            c.execute("INSERT INTO chain VALUES (0)")
        settings = Settings(home=home, default_slots=4, plan_interval=0.2, sweep_interval=30.0, sandbox="none",
                            allow_unisolated=True)
        services = Services(backend.db, settings, SystemClock())
        world = World(backend.db, utcnow())
        source_id = _pg_source(services, world.project_id, source_db)
        eligible_at = (utcnow() + timedelta(seconds=lead)).replace(microsecond=0) + timedelta(seconds=1)
        ids: list[str] = []
        prev: list[str] = []
        insert = "INSERT INTO chain SELECT max(step) + 1 FROM chain"
        code = f"{sys.executable} -c \"import psycopg; psycopg.connect('{admin_url}/{source_db}', " \
               f"autocommit=True).execute('{insert}')\"" if process else insert
        for _ in range(tasks):
            tid = world.task(code, type_id=35 if process else 21, cycle="ONEOFF_CYCLE",
                             cron=EVERY_SECOND, start=wall(eligible_at),
                             upstream=[(u, "DAY", "CURRENT_DAY") for u in prev], SelfDepend="parallel")
            if not process:
                _with_source(world, tid, source_id)
            ids.append(tid)
            prev = [tid]
        # The engine's process serves no API: its connections carry the plan settings, as in
        # `wedata scheduler` and the server's engine process (Database.engine_sessions).
        backend.db.engine_sessions(OLTP_PLANS)
        engine = Engine(backend.db, settings, SystemClock(), defs=services.scheduler.defs,
                        sql_resolver=services.sql_targets)
        services.scheduler.attach(engine)
        engine.start()
        try:
            while count(backend.db) < len(ids):
                if utcnow() >= eligible_at:
                    raise SystemExit("chain: planning did not finish before the eligible time; raise --lead")
                time.sleep(0.05)
            deadline = time.monotonic() + lead + 120
            while count(backend.db, "COMPLETED") < len(ids):
                if time.monotonic() > deadline or count(backend.db, "EXPIRED"):
                    raise SystemExit("chain: not finished (or an attempt failed); see the instance logs in " + str(home))
                time.sleep(0.1)
        finally:
            engine.stop()
            services.scheduler.attach(None)  # and its backfill watchdog ends with it
            services.datasources.pools.close()
        with backend.db.read() as conn:
            sched, last = conn.execute(select(func.min(TI.c.scheduled_at), func.max(TI.c.ended_at))).one()
        with psycopg.connect(f"{admin_url}/{source_db}") as c:
            steps = c.execute("SELECT max(step) FROM chain").fetchone()
        assert steps is not None and steps[0] == tasks, f"the chain wrote {steps}, not {tasks} steps"
        elapsed = (last - sched).total_seconds()
        return {"scenario": "chain_process" if process else "chain", "backend": backend_kind, "tasks": tasks, "elapsed_s": round(elapsed, 3),
                "per_hop_ms": round(elapsed * 1000 / tasks, 1)}
    finally:
        backend.close()
        drop_pg_database(source_db)
        shutil.rmtree(home, ignore_errors=True)


def bench_chain_process(backend_kind: str, tasks: int = 20) -> dict[str, Any]:
    return bench_chain(backend_kind, tasks, process=True)


SCENARIOS: dict[str, Callable[..., dict[str, Any]]] = {"chain": bench_chain, "chain_process": bench_chain_process}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), action="append",
                        help="run only these scenarios (default: all)")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite",
                        help="the engine's own database")
    parser.add_argument("--tasks", type=int, default=20, help="length of the chain")
    parser.add_argument("--repeat", type=int, default=1, help="runs per scenario; the median is reported")
    args = parser.parse_args(argv)
    for name in args.scenario or sorted(SCENARIOS):
        runs = [SCENARIOS[name](args.backend, tasks=args.tasks) for _ in range(args.repeat)]
        for r in runs:
            print(json.dumps(r))
        if len(runs) > 1:
            times = [r["elapsed_s"] for r in runs]
            print(f"{name} ({args.backend}): median {statistics.median(times):.3f} s, best {min(times):.3f} s "
                  f"over {len(runs)} runs")


if __name__ == "__main__":
    main()
