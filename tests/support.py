"""Test support: a real server process and the official SDK pointed at it."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.wedata.v20250806 import models
from tencentcloud.wedata.v20250806.wedata_client import WedataClient

from tests.zygote import ForkedProcess, Zygote

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("WEDATA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
ADMIN_ID = "AKIDTESTADMIN000000000000000000001"
ADMIN_KEY = "TESTADMINKEY0000000000000000001"
ADMIN_UIN = "100000000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_pair() -> int:
    """A port P such that P and P + 1 are free, below the kernel's ephemeral range (32768 and
    up on Linux). The port after one that ``free_port`` gave is in that range, so any outgoing
    connection of the suite (an SDK call, a PostgreSQL connection) may hold it as its local port
    at the moment a server binds it; below the range only another such pair can."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20_000, 32_000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no two free consecutive ports in 20000-32000")


# What each server, scheduler, engine child or worker of the suite keeps open of PostgreSQL's
# connections (a burst still opens more and closes them again). With the default (10 a process)
# the two lanes of `make test` ran the shared PostgreSQL out of its 100 connections. The suite's
# conftest.py puts it in its own environment, which every process it starts inherits
# (``clean_env``); a test (or the caller's environment) may set its own. The benchmarks under
# tools/bench/ import this module without the conftest: their processes keep what a deployment
# keeps. (With 3, an API process under load closed and reopened a connection every few requests,
# a new PostgreSQL backend each time: tools/bench/api.py measured that, not the server.)
TEST_PG_POOL_SIZE = "3"


def clean_env() -> dict[str, str]:
    """The caller's environment for a process of ours: without the *_proxy variables (the SDK
    honours them with a substring NO_PROXY check)."""
    return {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}


def wedata_cli() -> list[str]:
    return [sys.executable, "-m", "wedata.cli.main"]


@functools.cache
def bwrap_works() -> bool:
    if shutil.which("bwrap") is None:
        return False
    out = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
                          *([] if os.geteuid() == 0 else ["--unshare-user"]), "true"], capture_output=True)
    return out.returncode == 0


def harness_sandbox() -> dict[str, str]:
    """The isolation of the suite's ordinary servers and engines: none, unisolated runs allowed.
    The engine and ops tests talk to their tasks through the host: files under tmp_path and
    /tmp, and pids the tasks write with ``echo $$`` that the test then signals; inside a PID
    namespace ``$$`` is not a host pid (signalling it would hit an unrelated process).
    tests/executors/test_isolation.py tests the real modes end to end."""
    return {"WEDATA_SANDBOX": "none", "WEDATA_ALLOW_UNISOLATED": "1"}


@dataclass
class Api:
    """The official SDK client for one credential, plus a raw CommonClient for bad-input tests."""

    endpoint: str
    secret_id: str
    secret_key: str
    token: str | None = None
    profile_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cred = credential.Credential(self.secret_id, self.secret_key, self.token)
        http = HttpProfile(protocol="http", endpoint=self.endpoint, reqTimeout=30)
        kwargs = dict(self.profile_kwargs)
        unsigned = kwargs.pop("unsignedPayload", False)
        profile = ClientProfile(httpProfile=http, **kwargs)
        profile.unsignedPayload = unsigned  # an attribute, not a constructor argument
        self.client = WedataClient(cred, "ap-guangzhou", profile)
        self.common = CommonClient("wedata", "2025-08-06", cred, "ap-guangzhou", profile)

    def call(self, action: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call through the typed SDK: build the <Action>Request model, return the Response dict."""
        req = getattr(models, action + "Request")()
        req.from_json_string(json.dumps(params or {}))
        resp = getattr(self.client, action)(req)
        return json.loads(resp.to_json_string())

    def data(self, action: str, params: dict[str, Any] | None = None) -> Any:
        return self.call(action, params).get("Data")

    def raw(self, action: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send the params dict unchanged (extra or wrongly typed fields included)."""
        return self.common.call_json(action, params or {})["Response"]

    def error(self, action: str, params: dict[str, Any] | None = None, *, raw: bool = False) -> TencentCloudSDKException:
        try:
            self.raw(action, params) if raw else self.call(action, params)
        except TencentCloudSDKException as exc:
            return exc
        raise AssertionError(f"{action} succeeded but an error was expected")


@functools.cache
def zygote() -> Zygote:
    """This test process's zygote (tests/zygote.py), started at its first use."""
    return Zygote(sys.executable, str(ROOT), clean_env())


class ServerProcess:
    def __init__(
        self, home: Path, database_url: str | None = None, env: dict[str, str] | None = None, *,
        migrated: bool = True, forked: bool | None = None,
    ) -> None:
        """``migrated``: a server on SQLite whose home has no database yet starts on a copy of the
        suite's migrated template (``copy_migrated_sqlite``) instead of migrating an empty file;
        False lets it make and migrate its own, as on a new machine. (On PostgreSQL the caller
        makes the database: ``create_pg_database(migrated=True)`` for the same.)

        ``forked`` (default: as ``migrated``): the server is forked from the test process's
        zygote, which has imported it already (tests/zygote.py), instead of a new interpreter
        importing it (~1.3 s of CPU). False runs the command as a new machine would; tests that
        look at the server's process from outside (its /proc environ) need that."""
        self.home = home
        self.database_url = database_url
        self.migrated = migrated
        self.forked = migrated if forked is None else forked
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | ForkedProcess | None = None
        self.log_path = home / "server.log"

    def env(self) -> dict[str, str]:
        env = clean_env()
        env.update(
            WEDATA_HOME=str(self.home),
            WEDATA_SECRET_ID=ADMIN_ID,
            WEDATA_SECRET_KEY=ADMIN_KEY,
            WEDATA_ADMIN_UIN=ADMIN_UIN,
            WEDATA_RATE_LIMIT="0",
            PYTHONUNBUFFERED="1",
            **harness_sandbox(),
        )
        if self.database_url:
            env["WEDATA_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def start(self) -> ServerProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        database = self.home / "wedata.db"
        if self.migrated and self.database_url is None and not database.exists() and self._runs_as_us():
            copy_migrated_sqlite(database)
        if self.forked and self._runs_as_us():
            self.proc = zygote().spawn(["server", "--port", str(self.port)], self.env(), str(ROOT), str(self.log_path))
        else:
            log = open(self.log_path, "ab")  # noqa: SIM115 (the child process keeps writing to it)
            self.proc = subprocess.Popen(
                [*self.command(), "server", "--port", str(self.port)],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
                **self.popen_kwargs(),
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"http://{self.endpoint}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        os.killpg(self.proc.pid, signal.SIGKILL)  # never left running behind the failed test
        self.proc.wait(10)
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text()[-4000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def command(self) -> list[str]:
        """How to run `wedata` (a subclass may run it with another interpreter)."""
        return wedata_cli()

    def popen_kwargs(self) -> dict[str, Any]:
        """Extra subprocess arguments for the server and CLI (e.g. another OS user)."""
        return {}

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [*self.command(), *args], env=self.env(), capture_output=True, text=True, cwd=ROOT, timeout=60,
            **self.popen_kwargs(),
        )
        if out.returncode != 0:
            raise RuntimeError(f"wedata {' '.join(args)} failed: {out.stderr}")
        return out.stdout

    def admin(self) -> Api:
        return Api(self.endpoint, ADMIN_ID, ADMIN_KEY)

    def _runs_as_us(self) -> bool:
        """Whether the server is this interpreter's `wedata` as this OS user (not a subclass that
        runs it otherwise), so that files this process makes in its home are the server's own."""
        return not self.popen_kwargs() and self.command() == wedata_cli()

    def new_user(self, uin: str | None = None) -> Api:
        """A non-admin credential for a fresh user.

        Made by the code `wedata credentials create` runs (`CredentialStore.create`, on the
        server's database with its key file), called from this process: a CLI process per user
        cost ~0.55 s of CPU, and the suite makes hundreds of users. The command itself is tested
        in tests/cli. A server run as another OS user (a subclass with its own command) gets its
        users through the CLI, as that user."""
        uin = uin or str(200_000_000_000 + uuid.uuid4().int % 100_000_000_000)
        if not self._runs_as_us():
            out = self.cli("credentials", "create", "--uin", uin)
            fields = dict(line.split(":", 1) for line in out.strip().splitlines())
            secret_id, secret_key = fields["SecretId"].strip(), fields["SecretKey"].strip()
        else:
            secret_id, secret_key = self._create_credential(uin)
        api = Api(self.endpoint, secret_id, secret_key)
        api.uin = uin  # type: ignore[attr-defined]
        return api

    def _create_credential(self, uin: str) -> tuple[str, str]:
        """What `wedata credentials create` does, without the migration the server has run."""
        from wedata.config import Settings
        from wedata.storage.credentials import CredentialStore
        from wedata.storage.home import open_database

        settings = Settings.from_env(self.env())
        if not settings.key_path.is_file():  # open_database would make a new key file
            raise RuntimeError(f"no key file at {settings.key_path}: start the server before making users")
        db, box = open_database(settings, migrate=False)
        try:
            cred = CredentialStore(db, box).create(uin)
        finally:
            db.dispose()
        return cred.secret_id, cred.secret_key


def create_pg_database(*, migrated: bool = False) -> str:
    """A new PostgreSQL database of its own: empty, or (``migrated``) at the migrations' head,
    copied from the suite's template (see ``_pg_template``)."""

    name = "wedata_t_" + uuid.uuid4().hex[:12]
    template = f' TEMPLATE "{_pg_template()}"' if migrated else ""
    with _pg_admin() as c:
        c.execute(f'CREATE DATABASE "{name}"{template}{_in_tablespace()}')
    return name


def _pg_admin() -> Any:
    import psycopg

    return psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True)


# -- migrated databases without migrating each one ------------------------------------------------
# Migrating an empty database costs ~0.5 s of CPU on SQLite and ~1.2 s of wall on PostgreSQL, and
# the suite makes hundreds (each engine and service test, each test server). Those that only need
# a database at the head get a copy of one migrated once: a file copy on SQLite, CREATE DATABASE
# ... TEMPLATE on PostgreSQL. The copy is the migrated database itself, byte for byte on SQLite.
# What migrating an empty database does is tested where it is the subject (tests/storage, the
# session-wide servers of tests/conftest.py and the security tests, which start on empty homes).

MIGRATIONS = ROOT / "src" / "wedata" / "storage" / "migrations"


@functools.cache
def migrations_digest() -> str:
    """Names the templates: a change to any migration makes new ones."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*.py")):
        digest.update(path.relative_to(MIGRATIONS).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@functools.cache
def _sqlite_template() -> Path:
    """This process's migrated SQLite file (made at its first use, removed at exit)."""
    import atexit
    import tempfile

    from wedata.storage.db import Database
    from wedata.storage.migrate import upgrade

    folder = Path(tempfile.mkdtemp(prefix="wedata-template-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "wedata.db"
    db = Database(f"sqlite:///{path}")
    try:
        upgrade(db)
        with db.engine.connect() as conn:  # everything in the file itself, nothing in a WAL
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.dispose()
    for leftover in ("wedata.db-wal", "wedata.db-shm"):
        (folder / leftover).unlink(missing_ok=True)
    return path


def copy_migrated_sqlite(dest: Path) -> Path:
    """A migrated SQLite database at ``dest`` (a new file, 0600 as the server makes its own)."""
    if dest.exists():
        raise FileExistsError(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template(), dest)
    dest.chmod(0o600)
    return dest


@functools.cache
def _pg_template() -> str:
    """The migrated template database, shared by every process of the suite (and later runs of
    the same migrations): built under a name of its own, then renamed, so that processes racing to
    build it never see a half-migrated one. Connections to it are then refused: CREATE DATABASE
    ... TEMPLATE fails while anyone is connected to the template."""
    import psycopg

    from wedata.storage.db import Database
    from wedata.storage.migrate import upgrade

    digest = migrations_digest()
    space = _pg_tablespace()
    # A template in the memory tablespace is named after it (it is gone after a reboot, its name
    # with it); one on disk keeps the plain name.
    name = f"wedata_tpl_{digest}" + (f"_{space.removeprefix(MEMORY_TABLESPACE)}" if space else "")
    with _pg_admin() as c:
        if c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return name
        # Templates of other migrations (an older checkout's) are not needed by this run.
        for (stale,) in c.execute("SELECT datname FROM pg_database WHERE datname LIKE 'wedata\\_tpl\\_%%' "
                                  "AND datname NOT LIKE %s", (f"wedata\\_tpl\\_{digest}%",)).fetchall():
            with contextlib.suppress(psycopg.Error):
                c.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
        build = "wedata_tplbuild_" + uuid.uuid4().hex[:12]
        c.execute(f'CREATE DATABASE "{build}"{_in_tablespace()}')
    db = Database(f"{PG_URL}/{build}")
    try:
        upgrade(db)
    finally:
        db.dispose()
    with _pg_admin() as c:
        deadline = time.monotonic() + 30
        while True:
            try:
                c.execute(f'ALTER DATABASE "{build}" RENAME TO "{name}"')
                c.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
                break
            except psycopg.errors.DuplicateDatabase:  # another process built it first
                c.execute(f'DROP DATABASE IF EXISTS "{build}" WITH (FORCE)')
                break
            except psycopg.errors.ObjectInUse:  # our closed connections' backends still exiting
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    return name


# -- the suite's PostgreSQL databases in memory ---------------------------------------------------
# Creating a file on this machine's disk (ext4 in a VM) costs ~0.2-0.3 ms of kernel time, on
# tmpfs ~0.02 ms. CREATE DATABASE opens ~3,000 files for the migrated schema (~680 of them are
# created): ~1 s of PostgreSQL's CPU, 95 % of it in the kernel, where the same copy in a tablespace
# on /dev/shm takes 0.06 s; an empty database 0.33 s against 0.03 s. The suite makes well over a
# thousand, and they were the largest CPU cost of `make test` (process accounting: PostgreSQL's
# backends used 44 % of the CPU of a run of tests/actions/ops, tests/services and
# tests/actions/tasks, almost all of it system time). The suite's conftest.py asks for the memory
# tablespace (WEDATA_TEST_PG_MEMORY=1); the benchmarks under tools/bench/ do not load it, and
# measure databases on disk as a deployment has them. The write-ahead log stays on disk, so a
# PostgreSQL restart or crash (the fault tests) recovers these databases as any other; only a
# reboot empties /dev/shm, and the tablespace is named after the boot for that reason.
# Where it cannot be made (PostgreSQL on another machine, a user who cannot give the directory to
# PostgreSQL's OS user), the databases are made on disk, as before.

MEMORY_TABLESPACE = "wedata_mem_"
MEMORY_DIR = Path("/dev/shm")  # tmpfs on Linux


def memory_dir() -> Path | None:
    """Where the suite may keep files in memory (tmpfs), or None."""
    return MEMORY_DIR if os.access(MEMORY_DIR, os.W_OK) else None


@functools.cache
def _pg_tablespace() -> str | None:
    """The tablespace the suite's PostgreSQL databases are made in; None: the default one."""
    if os.environ.get("WEDATA_TEST_PG_MEMORY") != "1":
        return None
    try:
        return _memory_tablespace()
    except Exception as exc:
        print(f"tests/support.py: PostgreSQL test databases stay on disk ({type(exc).__name__}: {exc})",
              file=sys.stderr)
        return None


def _in_tablespace() -> str:
    space = _pg_tablespace()
    return f' TABLESPACE "{space}"' if space else ""


def _memory_tablespace() -> str:
    import psycopg

    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:12]
    name = MEMORY_TABLESPACE + boot
    location = MEMORY_DIR / f"wedata-pgspace-{boot}"
    with _pg_admin() as c:
        c.execute("SELECT pg_advisory_lock(hashtext('wedata-test-tablespace'))")  # one process makes it
        try:
            if c.execute("SELECT 1 FROM pg_tablespace WHERE spcname = %s", (name,)).fetchone():
                return name
            # PostgreSQL's OS user must own the location: the owner of its data directory, which
            # is only found here when the server runs on this machine.
            data_dir = Path(c.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
            owner = data_dir.stat()
            location.mkdir(mode=0o700, exist_ok=True)
            os.chown(location, owner.st_uid, owner.st_gid)
            c.execute(f"CREATE TABLESPACE \"{name}\" LOCATION '{location}'")
            # Those of earlier boots lost their files with /dev/shm: drop their databases and them.
            stale = c.execute("SELECT oid, spcname FROM pg_tablespace WHERE spcname LIKE %s AND spcname <> %s",
                              (MEMORY_TABLESPACE.replace("_", "\\_") + "%", name)).fetchall()
            for oid, space in stale:
                for (db,) in c.execute("SELECT datname FROM pg_database WHERE dattablespace = %s", (oid,)).fetchall():
                    with contextlib.suppress(psycopg.Error):
                        c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                with contextlib.suppress(psycopg.Error):
                    c.execute(f'DROP TABLESPACE "{space}"')
        finally:
            c.execute("SELECT pg_advisory_unlock(hashtext('wedata-test-tablespace'))")
    return name


def drop_pg_database(name: str) -> None:
    with _pg_admin() as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


MARIADB_HOST, MARIADB_PORT = "127.0.0.1", 3306


def mariadb_available() -> bool:
    try:
        with socket.create_connection((MARIADB_HOST, MARIADB_PORT), timeout=1):
            return True
    except OSError:
        return False


def mariadb_root() -> Any:
    """A PyMySQL connection as MariaDB's root (no password over 127.0.0.1 on this machine)."""
    import pymysql

    return pymysql.connect(host=MARIADB_HOST, port=MARIADB_PORT, user="root", autocommit=True)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def insert_raw_tasks(conn: Any, tasks: list[dict[str, Any]], *, project: str = "p1", workflow: str = "w1") -> None:
    """Rows straight into ``projects``, ``workflows`` and ``tasks`` (a project of task scheduling,
    one workflow), for storage tests that need task rows without the API: each dict gives a task's
    ``id`` and any column that differs from a plain saved Shell task."""
    from datetime import datetime

    from sqlalchemy import insert

    from wedata.storage import tables as T

    now = datetime(2026, 1, 1)
    conn.execute(insert(T.projects).values(
        id=project, name=project, display_name=project, description="", creator_uin="1", owner_uin="1", status=1,
        project_model="SIMPLE", schedule_mode="task", created_at=now, updated_at=now))
    conn.execute(insert(T.workflows).values(
        id=workflow, project_id=project, name=workflow, folder_path="/", workflow_type="cycle", description="",
        owner_uin="1", create_user_uin="1", update_user_uin="1", created_at=now, updated_at=now))
    conn.execute(insert(T.tasks), [{
        "project_id": project, "workflow_id": workflow, "name": t["id"], "task_type_id": 35, "owner_uin": "1",
        "description": "", "status": "N", "latest_version_no": 1, "cycle_type": "DAY_CYCLE", "create_user_uin": "1",
        "update_user_uin": "1", "definition": {}, "folder_path": None, "created_at": now, "updated_at": now, **t,
    } for t in tasks])
