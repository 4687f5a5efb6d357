"""A private PostgreSQL cluster for one test: ``initdb`` into a temporary directory, started on a
free port, stopped and started again at will.

For tests that take the database away (an outage): the shared PostgreSQL on 5432 serves other
tests in parallel and must never be restarted. As root, PostgreSQL refuses to run, so the cluster
belongs to the ``postgres`` OS user and every command runs through ``runuser``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support import free_port, memory_dir


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    return None


def available() -> str | None:
    """None when a private cluster can be made here, else why not."""
    for name in ("initdb", "pg_ctl"):
        if _binary(name) is None:
            return f"{name} was not found (PATH, /usr/lib/postgresql/*/bin)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is needed to run PostgreSQL as the postgres user"
    return None


class PrivatePostgres:
    def __init__(self, user: str = "postgres") -> None:
        # Under /dev/shm, else /tmp (not pytest's 0700 tmp_path): the postgres user must reach it.
        # In memory where it can be: initdb creates ~1,000 files, and a file's creation costs
        # ~0.2 ms of kernel time on the disks we run on against ~0.02 ms on tmpfs (tests/support.py).
        self.base = Path(tempfile.mkdtemp(prefix="wedata-pg-", dir=memory_dir()))
        self.data = self.base / "data"
        self.port = free_port()
        self.os_user = user if os.geteuid() == 0 else None
        self.log = self.base / "postgres.log"
        if self.os_user is not None:
            shutil.chown(self.base, self.os_user)
        self._run(_binary("initdb") or "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _run(self, *argv: str) -> None:
        cmd = list(argv) if self.os_user is None else ["runuser", "-u", self.os_user, "--", *argv]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.base)
        if out.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(argv)} failed: {out.stderr or out.stdout}\n{log}")

    def start(self) -> PrivatePostgres:
        opts = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self._run(_binary("pg_ctl") or "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w",
                  "-t", "60", "start")
        return self

    def stop(self) -> None:
        self._run(_binary("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url}/{name}"

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run(_binary("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)
