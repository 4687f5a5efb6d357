"""PostgreSQL restarts under a cluster (issue 14, "Faults"; docs/workers.md, "Faults"), on real
processes: an API-only server, two ``wedata scheduler`` processes and two ``wedata worker``
processes on a PRIVATE PostgreSQL cluster (tests/pgtemp.py; the shared one on 5432 is never
restarted) and a private Redis (tests/brokertemp.py).

60 remote tasks run on the two workers (8 at once): 58 of half a second, and 2 that write a
numbered line every 0.2 s until the test lets them end after the outage; in the middle PostgreSQL
is stopped for 5 s and started again. Nothing of ours is restarted: the same six processes (the
server, two schedulers, two workers) reconnect by themselves, every instance completes, each
exactly once (one run of its code, one execution, ``TotalRunNum`` 1), since the outage is
shorter than half the worker lease (20 s here): no worker gives its attempts up, none is
declared lost. The logs of the two attempts that ran through the outage are whole (the worker
keeps the chunks the database cannot take and sends them when it is back).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.actions.instances.test_instances import full_log, instances, new_space, submit
from tests.brokertemp import PrivateRedis, need, states
from tests.executors.celery_support import WorkerProcess, new_group, server_env
from tests.pgtemp import PrivatePostgres, available
from tests.support import ROOT, ServerProcess, wedata_cli
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cluster-faults")]

TASKS = 60
OUTAGE = 5.0
LEASE = "20"


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    need(available())
    pg = PrivatePostgres().start()
    try:
        yield pg
    finally:
        pg.destroy()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    need(PrivateRedis.available())
    broker = PrivateRedis().start()
    try:
        yield broker
    finally:
        broker.destroy()


def attempts(url: str) -> dict[str, list[tuple[int, str]]]:
    """Every execution of every instance, by task (one query)."""
    import psycopg

    out: dict[str, list[tuple[int, str]]] = {}
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        for task, try_no, state in conn.execute(
                "SELECT i.task_id, e.try_no, e.state FROM instance_executions e "
                "JOIN task_instances i ON i.id = e.instance_id ORDER BY e.id").fetchall():
            out.setdefault(task, []).append((try_no, state))
    return out


def test_a_postgresql_restart_under_two_schedulers_and_two_workers(
        private_pg: PrivatePostgres, private_redis: PrivateRedis, tmp_path: Path) -> None:
    url = private_pg.create_database("wedata")
    broker = private_redis.url(0)
    env = server_env(broker, WEDATA_WORKER_LEASE=LEASE, WEDATA_SCHEDULER="0")
    srv = ServerProcess(tmp_path / "home", url, env).start()
    schedulers: list[subprocess.Popen[bytes]] = []
    workers: list[WorkerProcess] = []
    marks = tmp_path / "marks"
    marks.mkdir()
    try:
        api = srv.admin()
        space = new_space(api)
        group = new_group(api)  # 8 at once: the two workers' slots
        senv = srv.env() | {"WEDATA_PLAN_INTERVAL": "0.2", "WEDATA_HEARTBEAT_INTERVAL": "1"}
        for n in range(2):
            with open(tmp_path / f"scheduler{n}.log", "wb") as log:
                schedulers.append(subprocess.Popen([*wedata_cli(), "scheduler"], env=senv, cwd=ROOT, stdout=log,
                                                   stderr=log, start_new_session=True))
        for n in range(2):
            workers.append(WorkerProcess(srv, tmp_path / f"w{n}", [group], broker, database_url=url,
                                         env={"WEDATA_WORKER_LEASE": LEASE}).start())
        # Two attempts write a numbered line every 0.2 s until the test lets them end: they run
        # through the outage, and their logs must come through whole.
        gate = tmp_path / "gate"
        ticking = (f"echo \"run $$\" >> {marks}/$WEDATA_TASK_ID\n"
                   f"i=0; while [ ! -e {gate} ]; do i=$((i+1)); echo tick $i; sleep 0.2; done; echo released")
        long = [submit(api, space, ticking, conf={"ResourceGroup": group}) for _ in range(2)]
        code = f"echo \"run $$\" >> {marks}/$WEDATA_TASK_ID\nsleep 0.5"
        tasks = long + [submit(api, space, code, conf={"ResourceGroup": group}) for _ in range(TASKS - 2)]
        wait_until(lambda: states(api, space.project).get("COMPLETED", 0), lambda n: n >= 8,
                   what="the run to be under way", patience=30, interval=0.2)

        before = states(api, space.project)
        private_pg.stop()
        down = time.monotonic()
        time.sleep(OUTAGE)
        private_pg.start()
        gate.touch()
        print(f"PostgreSQL down for {time.monotonic() - down:.1f} s; states before: {before}")
        assert before.get("COMPLETED", 0) < TASKS, "the run was over before the outage"

        final = wait_until(lambda: states(api, space.project), lambda s: s.get("COMPLETED", 0) == TASKS,
                           what=f"all {TASKS} instances to complete", patience=40, interval=0.3)
        assert final == {"COMPLETED": TASKS}, final
        # The same processes did it all: none of ours was restarted, none died.
        assert srv.proc is not None and srv.proc.poll() is None
        assert all(s.poll() is None for s in schedulers)
        assert all(w.proc is not None and w.proc.poll() is None for w in workers)
        # Each instance ran once: one run of its code, one execution.
        for task in tasks:
            assert len((marks / task).read_text().splitlines()) == 1, task
        recorded = attempts(url)
        assert {t: recorded.get(t) for t in tasks} == {t: [(1, "COMPLETE")] for t in tasks}
        # The logs of the attempts that ran through the outage lost no line: the chunks the
        # database could not take were kept and sent when it came back.
        for task in long:
            (item,) = instances(api, space, task)
            text, _ = full_log(api, space, item["InstanceKey"])
            ticks = [line for line in text.split("<br>") if line.startswith("tick ")]
            assert ticks == [f"tick {n}" for n in range(1, len(ticks) + 1)] and len(ticks) > OUTAGE / 0.2, text
            assert "released" in text.split("<br>")
        assert any("cannot stream its log to the database" in w.log() for w in workers)
        # Both schedulers and both workers saw the outage and came back by themselves.
        for w in workers:
            log = w.log()
            assert "database unreachable" in log and "database reachable again" in log, log[-3000:]
        for n in range(2):
            log = (tmp_path / f"scheduler{n}.log").read_text()
            assert "database unreachable" in log and "database reachable again after" in log, log[-3000:]
        # Every process is still in the cluster: a task submitted now runs too.
        after = submit(api, space, "echo after", conf={"ResourceGroup": group})
        wait_until(lambda: states(api, space.project).get("COMPLETED", 0), lambda n: n == TASKS + 1,
                   what=f"the task {after} submitted after the outage", patience=30)
    finally:
        for w in workers:
            w.stop()
        for s in schedulers:
            if s.poll() is None:
                s.send_signal(signal.SIGTERM)
                try:
                    s.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(s.pid, signal.SIGKILL)
                    s.wait(5)
        srv.stop()
