"""Test support for remote workers: real ``wedata worker`` processes beside a real server."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, Api, ServerProcess, clean_env, harness_sandbox, unique, wedata_cli

REDIS_URL = "redis://127.0.0.1:6379/7"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
LEASE = "3"


def require_broker(port: int, name: str) -> None:
    """Fail loudly in CI when the broker is down, skip elsewhere."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return
    except OSError:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not reachable on 127.0.0.1:{port} (required in CI; .ci/run starts it)")
        pytest.skip(f"{name} is not reachable on 127.0.0.1:{port}")


def server_env(broker: str, **extra: str) -> dict[str, str]:
    return {"WEDATA_REMOTE_GROUPS": "*", "WEDATA_BROKER_URL": broker, "WEDATA_WORKER_LEASE": LEASE,
            "WEDATA_KILL_GRACE": "2", "WEDATA_PLAN_INTERVAL": "0.2", **extra}


class WorkerProcess:
    """``wedata worker`` for one server's database (its SQLite file, or ``database_url``), with a
    home of its own. ``prefix``: a command the worker runs under (e.g. ``faketime``)."""

    def __init__(self, server: ServerProcess, home: Path, groups: list[str], broker: str, slots: int = 4,
                 env: dict[str, str] | None = None, database_url: str | None = None,
                 prefix: list[str] | None = None) -> None:
        self.server = server
        self.database_url = database_url
        self.prefix = prefix or []
        self.home = home
        self.groups = groups
        self.broker = broker
        self.slots = slots
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = home.parent / f"{home.name}.log"

    @property
    def db_file(self) -> Path:
        return self.server.home / "wedata.db"

    def env(self) -> dict[str, str]:
        env = clean_env()
        env.update(WEDATA_HOME=str(self.home), WEDATA_DATABASE_URL=self.database_url or f"sqlite:///{self.db_file}",
                   WEDATA_BROKER_URL=self.broker, WEDATA_WORKER_LEASE=LEASE, WEDATA_HEARTBEAT_INTERVAL="0.5",
                   WEDATA_KILL_GRACE="2", PYTHONUNBUFFERED="1", **harness_sandbox())
        env.update(self.extra_env)
        return env

    def start(self) -> WorkerProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (the worker keeps writing to it)
        self.proc = subprocess.Popen(
            [*self.prefix, *wedata_cli(), "worker", "--groups", ",".join(self.groups), "--slots", str(self.slots)],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()[-4000:]}")
            if "ready." in self.log() and self.registered():
                return self
            time.sleep(0.1)
        # Never leave the worker behind the failed test: one that found its broker down kept
        # retrying (and holding its run directory) long after the suite had ended.
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        raise RuntimeError(f"worker did not start:\n{self.log()[-4000:]}")

    def registered(self) -> bool:
        assert self.proc is not None
        if self.database_url is not None:
            import psycopg

            with psycopg.connect(self.database_url.replace("postgresql+psycopg", "postgresql")) as pg:
                found = pg.execute("SELECT count(*) FROM worker_nodes WHERE pid = %s AND stopped_at IS NULL",
                                   (self.proc.pid,)).fetchone()
            return bool(found and found[0])
        with sqlite3.connect(self.db_file, timeout=30) as conn:
            row = conn.execute("SELECT count(*) FROM worker_nodes WHERE pid = ? AND stopped_at IS NULL",
                               (self.proc.pid,)).fetchone()
        return bool(row[0])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def new_group(api: Api, spec: str = "s_small") -> str:
    data = api.data("CreateResourceGroup", {
        "Name": unique("rg"), "Type": {"ResourceGroupType": "Schedule", "Schedule": {"Specification": spec, "Number": 1}},
        "AutoRenewEnabled": False, "PurchasePeriod": 1, "VpcId": "vpc-4t9mtwbv", "SubNet": "subnet-h2ga4dks",
        "ResourceRegion": "ap-guangzhou"})
    return str(data["ResourceGroupId"])


def executions(db_file: Path, key: str) -> list[dict[str, Any]]:
    """The attempts of an instance as the database has them (executor, state, exit code)."""
    task_id, when = key.split("_", 1)
    with sqlite3.connect(db_file, timeout=30) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT e.id, e.try_no, e.executor, e.state, e.exit_code, e.error_msg FROM instance_executions e "
            "JOIN task_instances i ON i.id = e.instance_id WHERE i.task_id = ? AND i.data_time = ? "
            "ORDER BY e.life_round_num, e.try_no", (task_id, when + ".000000")).fetchall()
    return [dict(r) for r in rows]


def holders(db_file: Path, attempts: list[int]) -> list[int | None]:
    """The pid of the worker that took each of ``attempts`` (None: none took it)."""
    if not attempts:
        return []
    with sqlite3.connect(db_file, timeout=30) as conn:
        rows = dict(conn.execute(
            "SELECT r.execution_id, w.pid FROM remote_runs r LEFT JOIN worker_nodes w ON w.worker_id = r.worker_id "
            f"WHERE r.execution_id IN ({','.join('?' * len(attempts))})", attempts).fetchall())
    return [rows.get(a) for a in attempts]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
